//! The token dialect itself: what a token means ([`classify`] into a [`TokenKind`]) and its expansion
//! ([`expand_str`], [`expand_value`]) against any [`TokenContext`]; plus the user-data rendering.

use crate::scan;

/// Shown for tokens that are not part of the dialect.
pub(crate) const UNKNOWN_HINT: &str = "not a plumbery token; known forms: node.private|ipv6|public|id|name, \
NODE.private|ipv6|public, LOC::NODE.ipv6, location.id|country, X.secret, secret.X, uuid.X, rsa_public.X, \
rsa_private.X, rsa_public.local, environment.VAR, credentials.name|password, shared.user|secret, \
plumbery.version, http(s)://URL";

/// What a token refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenKind {
    /// `parameter.X` (normally replaced by the pre-pass).
    Parameter(String),
    /// A fact of a node: `node.private`, `redis01.ipv6`, `EU6::queen.private` ...
    Node {
        /// Which node.
        node: NodeSel,
        /// Which fact.
        fact: NodeFact,
    },
    /// `location.id` or `location.country`.
    Location(LocationFact),
    /// `plumbery.version`.
    Version,
    /// `shared.user` (`root`) or `shared.secret` (`SHARED_SECRET`).
    Shared(SharedFact),
    /// `credentials.name` / `name.credentials` (MCP_USERNAME), `credentials.password` (MCP_PASSWORD).
    Credentials(CredentialFact),
    /// `environment.VAR`.
    Environment(String),
    /// `secret.X` / `X.secret`, maybe with `.md5`, `.sha1` or `.sha256`; `id` is the stored name.
    Secret {
        /// Stored name (the token without the digest suffix, as written: `master.secret`).
        id: String,
        /// Digest applied to the value.
        digest: Option<Digest>,
    },
    /// `uuid.X` / `X.uuid`, maybe with a digest suffix.
    Uuid {
        /// Stored name (`uuid.X` or `X.uuid` as written).
        id: String,
        /// Digest applied to the value.
        digest: Option<Digest>,
    },
    /// `rsa_public.X` / `X.rsa_public`: the OpenSSH public key of the pair named X.
    RsaPublic(String),
    /// `rsa_private.X` / `X.rsa_private`: the private key of the pair named X.
    RsaPrivate(String),
    /// `rsa_public.local` / `local.rsa_public`: the user's own public key.
    LocalPublicKey,
    /// `http(s)://...`: the body of a GET, persisted as a secret.
    Url(String),
    /// `balancer.name`, `balancer.ip`, `balancer.port` (only in `balancers[].information`).
    Balancer(String),
    /// Not a plumbery token.
    Unknown,
}

/// A node designated by a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeSel {
    /// `node.*`: the node whose settings are being expanded.
    This,
    /// Another node (or this one, by name).
    Named {
        /// Region, for `region::LOC::node`.
        region: Option<String>,
        /// Location, for `LOC::node`; `None`: the current location.
        location: Option<String>,
        /// Node name.
        name: String,
        /// Whether the token was a bare name (`{{ mongo_config01 }}`), which means `.private`.
        bare: bool,
    },
}

/// A fact of a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeFact {
    /// First private IPv4 (also the bare `node` and bare names).
    Private,
    /// IPv6 address.
    Ipv6,
    /// Public IPv4 (NAT), when it has one.
    Public,
    /// Cloud id.
    Id,
    /// Name.
    Name,
    /// Private IPv4 with `.` replaced by `-`.
    PrivateHost,
}

/// `location.*` facts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocationFact {
    /// `location.id`.
    Id,
    /// `location.country`.
    Country,
}

/// `shared.*` facts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SharedFact {
    /// `shared.user`: `root`.
    User,
    /// `shared.secret`: `SHARED_SECRET`.
    Secret,
}

/// `credentials.*` facts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialFact {
    /// MCP_USERNAME.
    Name,
    /// MCP_PASSWORD.
    Password,
}

/// Digest suffixes of secret-like tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Digest {
    /// `.md5`.
    Md5,
    /// `.sha1`.
    Sha1,
    /// `.sha256`.
    Sha256,
}

impl Digest {
    /// Hex digest of `value`.
    pub fn apply(self, value: &str) -> String {
        use sha2::Digest as _;
        match self {
            Digest::Md5 => hex::encode(md5::Md5::digest(value.as_bytes())),
            Digest::Sha1 => hex::encode(sha1::Sha1::digest(value.as_bytes())),
            Digest::Sha256 => hex::encode(sha2::Sha256::digest(value.as_bytes())),
        }
    }
}

fn node_fact(suffix: &str) -> Option<NodeFact> {
    Some(match suffix {
        "private" => NodeFact::Private,
        "ipv6" => NodeFact::Ipv6,
        "public" => NodeFact::Public,
        "id" => NodeFact::Id,
        "name" => NodeFact::Name,
        "private_host" => NodeFact::PrivateHost,
        _ => return None,
    })
}

/// Says what a token (the text between `{{` and `}}`, trimmed) refers to.
pub fn classify(token: &str) -> TokenKind {
    let t = token.trim();
    if let Some(kind) = fixed_kind(t) {
        return kind;
    }
    if t.contains(char::is_whitespace) || t.is_empty() {
        return TokenKind::Unknown;
    }
    let (body, digest) = split_digest(t);
    if let Some(kind) = stored_kind(body, digest) {
        return kind;
    }
    if digest.is_some() {
        return TokenKind::Unknown;
    }
    if let Some(kind) = rsa_kind(t) {
        return kind;
    }
    if let Some(suffix) = t.strip_prefix("node.") {
        return match node_fact(suffix) {
            Some(fact) => TokenKind::Node {
                node: NodeSel::This,
                fact,
            },
            None => TokenKind::Unknown,
        };
    }
    named_node_kind(t)
}

/// A URL, `parameter.X`, `environment.VAR` or one of the tokens spelt out in full (`node`, `location.id` ...).
fn fixed_kind(t: &str) -> Option<TokenKind> {
    if t.starts_with("http://") || t.starts_with("https://") {
        return Some(TokenKind::Url(t.to_string()));
    }
    if let Some(name) = t.strip_prefix("parameter.") {
        return Some(TokenKind::Parameter(name.to_string()));
    }
    if let Some(var) = t.strip_prefix("environment.") {
        return Some(TokenKind::Environment(var.to_string()));
    }
    Some(match t {
        "plumbery.version" => TokenKind::Version,
        "shared.user" => TokenKind::Shared(SharedFact::User),
        "shared.secret" => TokenKind::Shared(SharedFact::Secret),
        "credentials.name" | "name.credentials" => TokenKind::Credentials(CredentialFact::Name),
        "credentials.password" | "password.credentials" => {
            TokenKind::Credentials(CredentialFact::Password)
        }
        "location.id" => TokenKind::Location(LocationFact::Id),
        "location.country" => TokenKind::Location(LocationFact::Country),
        "balancer.name" | "balancer.ip" | "balancer.port" => {
            TokenKind::Balancer(t[9..].to_string())
        }
        "node" => TokenKind::Node {
            node: NodeSel::This,
            fact: NodeFact::Private,
        },
        "rsa_public.local" | "local.rsa_public" => TokenKind::LocalPublicKey,
        _ => return None,
    })
}

/// Splits a `.md5`, `.sha1` or `.sha256` suffix off a token: (the rest, its digest).
fn split_digest(t: &str) -> (&str, Option<Digest>) {
    match t.rsplit_once('.') {
        Some((b, "md5")) => (b, Some(Digest::Md5)),
        Some((b, "sha1")) => (b, Some(Digest::Sha1)),
        Some((b, "sha256")) => (b, Some(Digest::Sha256)),
        _ => (t, None),
    }
}

/// A stored value: `secret.X` / `X.secret` or `uuid.X` / `X.uuid` (`body` without its digest suffix).
fn stored_kind(body: &str, digest: Option<Digest>) -> Option<TokenKind> {
    let (a, b) = body.split_once('.')?;
    if b.contains('.') {
        return None;
    }
    if a == "secret" || b == "secret" {
        return Some(TokenKind::Secret {
            id: body.to_string(),
            digest,
        });
    }
    if a == "uuid" || b == "uuid" {
        return Some(TokenKind::Uuid {
            id: body.to_string(),
            digest,
        });
    }
    None
}

/// A key of a generated pair: `rsa_public.X` / `X.rsa_public` or `rsa_private.X` / `X.rsa_private`.
fn rsa_kind(t: &str) -> Option<TokenKind> {
    match t.split_once('.')? {
        ("rsa_public", x) | (x, "rsa_public") if !x.is_empty() => {
            Some(TokenKind::RsaPublic(x.to_string()))
        }
        ("rsa_private", x) | (x, "rsa_private") if !x.is_empty() => {
            Some(TokenKind::RsaPrivate(x.to_string()))
        }
        _ => None,
    }
}

/// A fact of a node named in the token: `[region::][LOC::]name[.fact]`, else [`TokenKind::Unknown`].
fn named_node_kind(t: &str) -> TokenKind {
    let parts: Vec<&str> = t.split("::").collect();
    if parts.len() > 3 || parts.iter().any(|p| p.is_empty()) {
        return TokenKind::Unknown;
    }
    let last = parts[parts.len() - 1];
    let (name, fact, bare) = match last.rsplit_once('.') {
        Some((n, f)) => match node_fact(f) {
            Some(fact) => (n, fact, false),
            None => return TokenKind::Unknown,
        },
        None => (last, NodeFact::Private, true),
    };
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return TokenKind::Unknown;
    }
    let (region, location) = match parts.len() {
        3 => (Some(parts[0].to_string()), Some(parts[1].to_string())),
        2 => (None, Some(parts[0].to_string())),
        _ => (None, None),
    };
    TokenKind::Node {
        node: NodeSel::Named {
            region,
            location,
            name: name.to_string(),
            bare,
        },
        fact,
    }
}

/// A token that could not be expanded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot expand '{{{{ {token} }}}}': {reason}")]
pub struct TokenError {
    /// The token, as written between the braces.
    pub token: String,
    /// Why, and what was available.
    pub reason: String,
}

/// What token expansion needs to know: node facts, the location, secrets, keys, credentials.
///
/// [`FactsContext`](super::FactsContext) implements it for the engine and bootstrap; tests may implement it directly.
pub trait TokenContext {
    /// Resolves one token to its value. `Ok(None)` leaves it as written (only for bare words that are
    /// not node names, such as an Ansible `{{ playbook_dir }}`); an error names what is missing.
    fn resolve(&self, token: &str, kind: &TokenKind) -> Result<Option<String>, TokenError>;
}

/// Expands every token of `text`, innermost first.
pub fn expand_str(text: &str, ctx: &dyn TokenContext) -> Result<String, TokenError> {
    scan::rewrite(text, |token, _| ctx.resolve(token, &classify(token)))
}

/// Expands tokens inside every string scalar (keys included) of a YAML value.
pub fn expand_value(
    value: &serde_yaml::Value,
    ctx: &dyn TokenContext,
) -> Result<serde_yaml::Value, TokenError> {
    use serde_yaml::Value;
    Ok(match value {
        Value::String(s) => Value::String(expand_str(s, ctx)?),
        Value::Sequence(items) => Value::Sequence(
            items
                .iter()
                .map(|v| expand_value(v, ctx))
                .collect::<Result<_, _>>()?,
        ),
        Value::Mapping(map) => {
            let mut out = serde_yaml::Mapping::with_capacity(map.len());
            for (k, v) in map {
                out.insert(expand_value(k, ctx)?, expand_value(v, ctx)?);
            }
            Value::Mapping(out)
        }
        Value::Tagged(t) => Value::Tagged(Box::new(serde_yaml::value::TaggedValue {
            tag: t.tag.clone(),
            value: expand_value(&t.value, ctx)?,
        })),
        other => other.clone(),
    })
}

/// Lists the tokens of a text (outermost first, inner tags still in their text).
pub fn tokens_in(text: &str) -> Vec<String> {
    scan::tags(text).into_iter().map(|(t, _)| t).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(location: Option<&str>, name: &str, bare: bool) -> NodeSel {
        NodeSel::Named {
            region: None,
            location: location.map(str::to_string),
            name: name.into(),
            bare,
        }
    }

    #[test]
    fn families() {
        assert_eq!(
            classify("node.public"),
            TokenKind::Node {
                node: NodeSel::This,
                fact: NodeFact::Public
            }
        );
        assert_eq!(
            classify("redis01.private"),
            TokenKind::Node {
                node: named(None, "redis01", false),
                fact: NodeFact::Private
            }
        );
        assert_eq!(
            classify("mongo_config01"),
            TokenKind::Node {
                node: named(None, "mongo_config01", true),
                fact: NodeFact::Private
            }
        );
        assert_eq!(
            classify("NA9::bee-NA9.ipv6"),
            TokenKind::Node {
                node: named(Some("NA9"), "bee-NA9", false),
                fact: NodeFact::Ipv6
            }
        );
        assert!(matches!(
            classify("dd-ap::AP5::logstash-AP5.ipv6"),
            TokenKind::Node {
                node: NodeSel::Named {
                    region: Some(_),
                    ..
                },
                ..
            }
        ));
        assert_eq!(
            classify("master.secret"),
            TokenKind::Secret {
                id: "master.secret".into(),
                digest: None
            }
        );
        assert_eq!(
            classify("secret.key.sha256"),
            TokenKind::Secret {
                id: "secret.key".into(),
                digest: Some(Digest::Sha256)
            }
        );
        assert_eq!(
            classify("uuid.x.md5"),
            TokenKind::Uuid {
                id: "uuid.x".into(),
                digest: Some(Digest::Md5)
            }
        );
        assert_eq!(
            classify("key.rsa_public"),
            TokenKind::RsaPublic("key".into())
        );
        assert_eq!(
            classify("rsa_private.key"),
            TokenKind::RsaPrivate("key".into())
        );
        assert_eq!(classify("rsa_public.local"), TokenKind::LocalPublicKey);
        assert_eq!(
            classify("https://discovery.etcd.io/new"),
            TokenKind::Url("https://discovery.etcd.io/new".into())
        );
        assert_eq!(
            classify("environment.HOME"),
            TokenKind::Environment("HOME".into())
        );
        assert_eq!(
            classify("credentials.name"),
            TokenKind::Credentials(CredentialFact::Name)
        );
        assert_eq!(classify("plumbery.version"), TokenKind::Version);
        assert_eq!(classify("redis01.color"), TokenKind::Unknown);
        assert_eq!(classify("a b"), TokenKind::Unknown);
        assert_eq!(classify("node.size"), TokenKind::Unknown);
    }

    #[test]
    fn digests() {
        assert_eq!(Digest::Md5.apply("abc"), "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(
            Digest::Sha1.apply("abc"),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
    }
}

/// Renders an (expanded) cloud-config as NoCloud user-data: `#cloud-config` then YAML that quotes
/// whatever needs quoting (values holding `: `, leading `-`, `yes`/`no` ...), unlike the original.
pub fn render_user_data(cloud_config: &serde_yaml::Value) -> Result<String, serde_yaml::Error> {
    Ok(format!(
        "#cloud-config\n{}",
        serde_yaml::to_string(cloud_config)?
    ))
}

#[cfg(test)]
mod render_tests {
    use super::render_user_data;

    #[test]
    fn user_data_round_trips_tricky_strings() {
        let value: serde_yaml::Value = serde_yaml::from_str(
            "runcmd: ['echo a: b', '- x', 'yes', \"it's\", \"line1\\nline2\"]\nn: '010'\n",
        )
        .unwrap();
        let text = render_user_data(&value).unwrap();
        assert!(text.starts_with("#cloud-config\n"));
        let back: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
        assert_eq!(back, value);
    }
}
