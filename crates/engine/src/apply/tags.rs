//! Tags, applied: a tag key is created after observing it by name (a lost answer or
//! NAME_NOT_UNIQUE, e.g. another location of the run creating it, leads to the key found); tags are
//! applied to a server by key name, which the API takes again without harm.

use cloud::CloudResult;

use super::context::ExecContext;
use super::converge::observe_or_create;

/// CreateTagKey: creates the key (no value required, not on reports, described `#plumbery`).
pub(super) async fn create_key(ctx: &ExecContext, key: &str) -> CloudResult<()> {
    let c = &ctx.client;
    observe_or_create(
        key,
        || async move {
            let keys = c.list_tag_keys(&[("name", key)]).await?;
            Ok(keys.into_iter().find(|k| k.name == key).map(|k| k.id))
        },
        || c.create_tag_key(key, "#plumbery"),
    )
    .await
    .map(drop)
}

/// ApplyTags: applies the keys (no value) to the node's server.
pub(super) async fn apply(
    ctx: &ExecContext,
    domain: &str,
    node: &str,
    tags: &[String],
) -> CloudResult<()> {
    let id = ctx.server_id(domain, node)?;
    let keys: Vec<(&str, Option<&str>)> = tags.iter().map(|t| (t.as_str(), None)).collect();
    ctx.client.apply_tags("SERVER", &id, &keys).await
}
