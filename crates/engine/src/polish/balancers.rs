//! What is known of each load balancer listener of the plan (its name, port and the address it
//! answers on), and the lines `information` prints for it: "About '<listener>':", its address and
//! port, then the balancer's own `information` lines with `{{ balancer.name/ip/port }}` expanded.

use serde::Serialize;

use fittings::Plan;
use fittings::tokens::{self, LocationFact, TokenContext, TokenError, TokenKind};
use plan::{Desired, Inventory};

/// A listener as `information` and the report show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListenerFacts {
    /// The listener's name in the cloud (`http.web.eu6.balancer`).
    pub name: String,
    /// The balancer's label in the plan (`http`).
    pub label: String,
    /// Blueprint.
    pub blueprint: String,
    /// Location.
    pub location_id: String,
    /// API protocol.
    pub protocol: String,
    /// Port.
    pub port: u16,
    /// The address it answers on, once it exists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// Pool name.
    pub pool: String,
}

/// Facts of every listener of the desired state, from the inventory.
pub fn listener_facts(want: &Desired, have: &Inventory) -> Vec<ListenerFacts> {
    want.balancers
        .iter()
        .flat_map(|b| {
            let inv = have.domain(&b.domain);
            b.listeners.iter().map(move |l| ListenerFacts {
                name: l.name.clone(),
                label: l.label.clone(),
                blueprint: b.blueprint.clone(),
                location_id: want.location_id.clone(),
                protocol: l.protocol.clone(),
                port: l.port,
                address: inv
                    .and_then(|i| i.listener(&l.name))
                    .and_then(|x| x.ip.as_ref())
                    .map(|ip| ip.trim().to_string()),
                pool: b.pool.clone(),
            })
        })
        .collect()
}

/// Resolves `balancer.*` and `location.id` in a balancer's information lines.
struct ListenerTokens<'a>(&'a ListenerFacts);

impl TokenContext for ListenerTokens<'_> {
    fn resolve(&self, token: &str, kind: &TokenKind) -> Result<Option<String>, TokenError> {
        let l = self.0;
        match kind {
            TokenKind::Balancer(field) => match field.as_str() {
                "name" => Ok(Some(l.name.clone())),
                "port" => Ok(Some(l.port.to_string())),
                _ => l.address.clone().map(Some).ok_or_else(|| TokenError {
                    token: token.to_string(),
                    reason: format!("listener {} has no address yet", l.name),
                }),
            },
            TokenKind::Location(LocationFact::Id) => Ok(Some(l.location_id.clone())),
            _ => Ok(None),
        }
    }
}

/// The `information` lines of the listeners.
pub fn information(plan: &Plan, listeners: &[&ListenerFacts]) -> String {
    let mut out = String::new();
    for l in listeners {
        out.push_str(&format!("About '{}' ({}):\n", l.name, l.location_id));
        match &l.address {
            Some(a) => out.push_str(&format!("  listener: {} {a}:{}\n", l.protocol, l.port)),
            None => out.push_str("  listener: not created\n"),
        }
        let lines = plan
            .locations
            .iter()
            .filter(|x| x.location_id == l.location_id)
            .flat_map(|x| &x.blueprints)
            .filter(|b| b.name == l.blueprint)
            .flat_map(|b| &b.balancers)
            .find(|b| b.name == l.label)
            .map(|b| b.information.clone())
            .unwrap_or_default();
        for line in lines {
            let text = match tokens::expand_str(&line, &ListenerTokens(l)) {
                Ok(s) => s,
                Err(e) => format!("{line}  ({e})"),
            };
            out.push_str(&format!("  {text}\n"));
        }
    }
    out
}
