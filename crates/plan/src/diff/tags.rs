//! Tags in the diff: a tag key of the organisation for each `#hashtag` the plan's nodes carry that
//! does not exist yet, and on each server the keys it lacks (no value), once it is ready. Tags go
//! with their server; the keys, the organisation's vocabulary, are kept.

use std::collections::{BTreeMap, BTreeSet};

use super::outcome::Diff;
use crate::desired::{Desired, WantNode};
use crate::inventory::{Inventory, Server};
use crate::steps::Step;

/// Build: the `CreateTagKey` steps of the keys the plan's nodes need and the organisation lacks.
pub(super) fn build_keys(
    want: &Desired,
    have: &Inventory,
    d: &mut Diff,
) -> BTreeMap<String, usize> {
    let needed: BTreeSet<&str> = want
        .nodes
        .iter()
        .flat_map(|n| &n.tags)
        .map(String::as_str)
        .collect();
    needed
        .into_iter()
        .filter(|k| !have.tag_keys.iter().any(|x| x == k))
        .map(|k| {
            let step = d.plan.add(Step::CreateTagKey { key: k.to_string() }, []);
            (k.to_string(), step)
        })
        .collect()
}

/// Build: the `ApplyTags` step of node `n` when its server lacks some of its tags (after `ready`
/// and the creation of those keys).
pub(super) fn build(
    n: &WantNode,
    server: Option<&Server>,
    ready: Option<usize>,
    keys: &BTreeMap<String, usize>,
    d: &mut Diff,
) {
    let missing: Vec<String> = n
        .tags
        .iter()
        .filter(|t| !server.is_some_and(|s| s.tags.contains(t)))
        .cloned()
        .collect();
    if missing.is_empty() {
        return;
    }
    let after: Vec<Option<usize>> = missing.iter().map(|t| keys.get(t).copied()).collect();
    d.plan.add(
        Step::ApplyTags {
            domain: n.domain.clone(),
            node: n.name.clone(),
            tags: missing,
        },
        after.into_iter().chain([ready]),
    );
}
