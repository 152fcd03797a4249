//! [`FactsContext`]: the ready-made [`TokenContext`] the engine and bootstrap fill with what the cloud
//! knows (node addresses and ids) and a [`SecretSource`]: the plan's secret store, URL answers, the
//! shared root password and the cloud credentials, which the plan language never reads itself.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::dialect::{
    CredentialFact, LocationFact, NodeFact, NodeSel, SharedFact, TokenContext, TokenError,
    TokenKind, UNKNOWN_HINT,
};

/// What token expansion needs from outside the plan. `fittings` has no secret store, no network and
/// reads no `MCP_*` or `SHARED_SECRET` variable: its caller answers (the engine implements it over the
/// plan's `secrets::Store`, `cloud::http_get`, `secrets::shared_secret` and `cloud::Env`). Errors are the
/// message shown after the token.
pub trait SecretSource {
    /// `X.secret`, `secret.X`, `uuid.X`: the plan's secret `name`, generated on first use.
    fn secret(&self, name: &str) -> Result<String, String>;
    /// `rsa_public.X` / `rsa_private.X`: the plan's key pair `name` (public, private), generated on first use.
    fn key_pair(&self, name: &str) -> Result<(String, String), String>;
    /// `{{ https://... }}`: the trimmed answer of the URL, fetched once and remembered with the plan.
    fn url(&self, url: &str) -> Result<String, String>;
    /// `shared.secret`: the shared root password (`SHARED_SECRET`), if set.
    fn shared_secret(&self) -> Option<String>;
    /// `credentials.name`: the cloud user name (`MCP_USERNAME`), if set.
    fn cloud_user(&self) -> Option<String>;
    /// `credentials.password`: the cloud password (`MCP_PASSWORD`), if set.
    fn cloud_password(&self) -> Option<String>;
}

/// What the cloud knows about one node.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeFacts {
    /// Cloud id.
    pub id: Option<String>,
    /// First private IPv4.
    pub private: Option<String>,
    /// IPv6 address.
    pub ipv6: Option<String>,
    /// Public IPv4 (NAT), if it has one.
    pub public: Option<String>,
}

/// Facts of a load balancer listener, for `{{ balancer.name/ip/port }}`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BalancerFacts {
    /// Listener name.
    pub name: String,
    /// Virtual IP.
    pub ip: String,
    /// Port.
    pub port: String,
}

/// A [`TokenContext`] over known facts and a secret store.
pub struct FactsContext<'a> {
    /// The current location (`EU6`).
    pub location_id: String,
    /// Its country, if known (`location.country`).
    pub location_country: Option<String>,
    /// The node whose settings are expanded (`node.*`); `None` for plan, location or blueprint text.
    pub this_node: Option<String>,
    /// Known nodes by (location id, node name).
    pub nodes: &'a BTreeMap<(String, String), NodeFacts>,
    /// The plan's secrets, URL answers, shared secret and credentials.
    pub secrets: &'a dyn SecretSource,
    /// Text of the user's public key for `rsa_public.local` (see [`local_public_key`]).
    pub local_public_key: Option<String>,
    /// The listener, inside `balancers[].information`.
    pub balancer: Option<BalancerFacts>,
    /// Environment for `environment.VAR`, `credentials.*` and `shared.secret`; `None`: the process's.
    pub environment: Option<&'a BTreeMap<String, String>>,
}

impl FactsContext<'_> {
    fn node_names(&self, location: &str) -> String {
        let names: Vec<&str> = self
            .nodes
            .keys()
            .filter(|(l, _)| l == location)
            .map(|(_, n)| n.as_str())
            .take(20)
            .collect();
        if names.is_empty() {
            "none".into()
        } else {
            names.join(", ")
        }
    }
}

fn fail(token: &str, reason: impl Into<String>) -> TokenError {
    TokenError {
        token: token.to_string(),
        reason: reason.into(),
    }
}

fn secret_err(token: &str, e: String) -> TokenError {
    fail(token, e)
}

impl FactsContext<'_> {
    fn env(&self, token: &str, var: &str, hint: &str) -> Result<Option<String>, TokenError> {
        let value = match self.environment {
            Some(map) => map.get(var).cloned(),
            None => std::env::var(var).ok(),
        };
        not_set(token, var, hint, value)
    }

    /// A value the [`SecretSource`] gives (`None`: the process's), or the test map when there is one.
    fn given(
        &self,
        token: &str,
        var: &str,
        hint: &str,
        from_source: impl FnOnce(&dyn SecretSource) -> Option<String>,
    ) -> Result<Option<String>, TokenError> {
        let value = match self.environment {
            Some(map) => map.get(var).cloned(),
            None => from_source(self.secrets),
        };
        not_set(token, var, hint, value)
    }
}

fn not_set(
    token: &str,
    var: &str,
    hint: &str,
    value: Option<String>,
) -> Result<Option<String>, TokenError> {
    value.map(Some).ok_or_else(|| {
        fail(
            token,
            format!("the environment variable {var} is not set; {hint}"),
        )
    })
}

impl TokenContext for FactsContext<'_> {
    fn resolve(&self, token: &str, kind: &TokenKind) -> Result<Option<String>, TokenError> {
        match kind {
            TokenKind::Parameter(_) => Err(fail(
                token,
                "parameters are replaced when the plan is loaded; this one was not declared",
            )),
            TokenKind::Node { node, fact } => self.node(token, node, *fact),
            TokenKind::Location(LocationFact::Id) => Ok(Some(self.location_id.clone())),
            TokenKind::Location(LocationFact::Country) => match &self.location_country {
                Some(c) => Ok(Some(c.clone())),
                None => Err(fail(
                    token,
                    format!("the country of {} is not known yet", self.location_id),
                )),
            },
            TokenKind::Version => Ok(Some(env!("CARGO_PKG_VERSION").to_string())),
            TokenKind::Shared(SharedFact::User) => Ok(Some("root".into())),
            TokenKind::Shared(SharedFact::Secret) => self.given(
                token,
                "SHARED_SECRET",
                "set it to the root password of new nodes",
                |s| s.shared_secret(),
            ),
            TokenKind::Credentials(CredentialFact::Name) => self.given(
                token,
                "MCP_USERNAME",
                "set it to your cloud user name",
                |s| s.cloud_user(),
            ),
            TokenKind::Credentials(CredentialFact::Password) => self.given(
                token,
                "MCP_PASSWORD",
                "set it to your cloud password",
                |s| s.cloud_password(),
            ),
            TokenKind::Environment(var) => self.env(token, var, "set it before running plumbery"),
            TokenKind::Secret { id, digest } | TokenKind::Uuid { id, digest } => {
                let value = self.secrets.secret(id).map_err(|e| secret_err(token, e))?;
                Ok(Some(match digest {
                    Some(d) => d.apply(&value),
                    None => value,
                }))
            }
            TokenKind::RsaPublic(name) => Ok(Some(
                self.secrets
                    .key_pair(name)
                    .map_err(|e| secret_err(token, e))?
                    .0,
            )),
            TokenKind::RsaPrivate(name) if name == "local" => Err(fail(
                token,
                "plumbery never sends your own private key; use rsa_private.NAME for a generated pair",
            )),
            TokenKind::RsaPrivate(name) => Ok(Some(
                self.secrets
                    .key_pair(name)
                    .map_err(|e| secret_err(token, e))?
                    .1,
            )),
            TokenKind::LocalPublicKey => match &self.local_public_key {
                Some(k) => Ok(Some(k.clone())),
                None => Err(fail(
                    token,
                    "no local SSH public key found: set SHARED_KEY to a .pub file, or run ssh-keygen -t rsa -b 4096",
                )),
            },
            TokenKind::Url(url) => {
                let value = self.secrets.url(url).map_err(|e| secret_err(token, e))?;
                Ok(Some(value))
            }
            TokenKind::Balancer(field) => match &self.balancer {
                Some(b) => Ok(Some(match field.as_str() {
                    "name" => b.name.clone(),
                    "ip" => b.ip.clone(),
                    _ => b.port.clone(),
                })),
                None => Err(fail(
                    token,
                    "balancer tokens only work in the information of a balancer",
                )),
            },
            TokenKind::Unknown => Err(fail(token, UNKNOWN_HINT)),
        }
    }
}

impl FactsContext<'_> {
    fn node(
        &self,
        token: &str,
        sel: &NodeSel,
        fact: NodeFact,
    ) -> Result<Option<String>, TokenError> {
        let (location, name, this, bare) = match sel {
            NodeSel::This => match &self.this_node {
                Some(n) => (self.location_id.clone(), n.clone(), true, false),
                None => {
                    return Err(fail(
                        token,
                        "node tokens only work in the settings of a node",
                    ));
                }
            },
            NodeSel::Named {
                location,
                name,
                bare,
                ..
            } => {
                let loc = location.clone().unwrap_or_else(|| self.location_id.clone());
                let this =
                    self.this_node.as_deref() == Some(name.as_str()) && loc == self.location_id;
                (loc, name.clone(), this, *bare)
            }
        };
        if fact == NodeFact::Name {
            return Ok(Some(name));
        }
        let Some(facts) = self.nodes.get(&(location.clone(), name.clone())) else {
            if bare {
                return Ok(None);
            }
            return Err(fail(
                token,
                format!(
                    "no node '{name}' is known in {location} (known: {})",
                    self.node_names(&location)
                ),
            ));
        };
        let missing = |what: &str| {
            fail(
                token,
                format!("node '{name}' has no {what} yet (is it deployed?)"),
            )
        };
        let value = match fact {
            NodeFact::Private => facts
                .private
                .clone()
                .ok_or_else(|| missing("private address"))?,
            NodeFact::PrivateHost => facts
                .private
                .clone()
                .ok_or_else(|| missing("private address"))?
                .replace('.', "-"),
            NodeFact::Ipv6 => facts.ipv6.clone().ok_or_else(|| missing("IPv6 address"))?,
            NodeFact::Id => facts.id.clone().ok_or_else(|| missing("id"))?,
            NodeFact::Public => match (&facts.public, this) {
                (Some(p), _) => p.clone(),
                (None, false) => String::new(),
                (None, true) => {
                    return Err(fail(
                        token,
                        format!(
                            "node '{name}' has no public address: add 'glue: - internet 22' to it"
                        ),
                    ));
                }
            },
            NodeFact::Name => unreachable!("handled above"),
        };
        Ok(Some(value))
    }
}

/// The user's public key text for `rsa_public.local`: `SHARED_KEY` (a .pub file), then the plan's `keys:`
/// (`.pub` files), then `~/.ssh/id_rsa.pub`, `~/.ssh/id_ed25519.pub`, `~/.ssh/id_ecdsa.pub`.
pub fn local_public_key(plan_keys: &[String]) -> Option<String> {
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(k) = std::env::var_os("SHARED_KEY") {
        candidates.push(PathBuf::from(k));
    }
    for k in plan_keys {
        let path = match k.strip_prefix("~/") {
            Some(rest) => home.join(rest),
            None => PathBuf::from(k),
        };
        candidates.push(path);
    }
    for name in ["id_rsa.pub", "id_ed25519.pub", "id_ecdsa.pub"] {
        candidates.push(home.join(".ssh").join(name));
    }
    candidates.into_iter().find_map(|p| {
        let text = std::fs::read_to_string(p).ok()?;
        let text = text.trim().to_string();
        (!text.is_empty()).then_some(text)
    })
}

#[cfg(test)]
mod tests {
    use super::super::dialect::expand_str;
    use super::*;
    use std::cell::RefCell;

    /// Secrets kept in memory, generated as a counter.
    #[derive(Default)]
    struct Memory(RefCell<BTreeMap<String, String>>);

    impl SecretSource for Memory {
        fn secret(&self, name: &str) -> Result<String, String> {
            let mut map = self.0.borrow_mut();
            let next = format!("generated-{}", map.len());
            Ok(map.entry(name.to_string()).or_insert(next).clone())
        }
        fn key_pair(&self, name: &str) -> Result<(String, String), String> {
            Ok((format!("ssh-rsa {name}"), format!("private {name}")))
        }
        fn url(&self, url: &str) -> Result<String, String> {
            Err(format!("no network in tests ({url})"))
        }
        fn shared_secret(&self) -> Option<String> {
            None
        }
        fn cloud_user(&self) -> Option<String> {
            None
        }
        fn cloud_password(&self) -> Option<String> {
            None
        }
    }

    #[test]
    fn expands_node_facts_and_secrets() {
        let store = Memory::default();
        let mut nodes = BTreeMap::new();
        let f = |p: &str| NodeFacts {
            private: Some(p.into()),
            ipv6: Some("2001:db8::1".into()),
            ..Default::default()
        };
        nodes.insert(("NA12".to_string(), "redis01".to_string()), f("10.0.0.11"));
        nodes.insert(("NA12".to_string(), "redis02".to_string()), f("10.0.0.12"));
        nodes.insert(("EU6".to_string(), "queen".to_string()), f("10.1.0.5"));
        let ctx = FactsContext {
            location_id: "NA12".into(),
            location_country: None,
            this_node: Some("redis02".into()),
            nodes: &nodes,
            secrets: &store,
            local_public_key: None,
            balancer: None,
            environment: None,
        };
        let out = expand_str("replicaof {{ redis01.private }} 6379 from {{ node.private_host }} {{ EU6::queen.ipv6 }}", &ctx).unwrap();
        assert_eq!(out, "replicaof 10.0.0.11 6379 from 10-0-0-12 2001:db8::1");
        let pass = expand_str("{{ master.secret }}", &ctx).unwrap();
        assert_eq!(expand_str("{{ master.secret }}", &ctx).unwrap(), pass);
        assert_eq!(
            expand_str("{{ master.secret.md5 }}", &ctx).unwrap(),
            super::super::dialect::Digest::Md5.apply(&pass)
        );
        assert_eq!(expand_str("{{ redis01.public }}", &ctx).unwrap(), "");
        let err = expand_str("{{ node.public }}", &ctx).unwrap_err();
        assert!(err.to_string().contains("glue"), "{err}");
        let err = expand_str("{{ redis09.private }}", &ctx).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot expand '{{ redis09.private }}': no node 'redis09' is known in NA12 (known: redis01, redis02)"
        );
        assert_eq!(
            expand_str("{{ playbook_dir }}/x", &ctx).unwrap(),
            "{{ playbook_dir }}/x"
        );
        assert!(expand_str("{{ rsa_public.local }}", &ctx).is_err());
        assert!(!err.to_string().contains(&pass));
    }
}
