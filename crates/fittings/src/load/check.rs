//! Whole-plan checks made once every location is loaded: node names are unique per location, and
//! every token can be resolved by someone (now, at deploy, or from the secret store).

use std::collections::{BTreeMap, BTreeSet};

use super::cx::{Cx, Scope, Site, list_names};
use crate::error::{LoadError, Warning};
use crate::fields::MAX_RULE_NAME_CHARS;
use crate::model::{Blueprint, Glue, Location, SourcePos, firewall_rule_name};
use crate::names::accept_rule_name;
use crate::scan;
use crate::tokens::{NodeFact, NodeSel, TokenKind, classify};

/// Two nodes with the same name in one location would be one server in the cloud.
pub(super) fn check_names(locations: &[Location]) -> Result<(), LoadError> {
    let mut seen: BTreeMap<(&str, &str), &SourcePos> = BTreeMap::new();
    for loc in locations {
        for bp in &loc.blueprints {
            for node in &bp.nodes {
                if let Some(first) =
                    seen.insert((loc.location_id.as_str(), node.name.as_str()), &node.pos)
                {
                    return Err(LoadError::at(
                        node.pos.clone(),
                        format!(
                            "node '{}' is declared twice in {} (first at line {}); node names must be unique in a location",
                            node.name, loc.location_id, first.line
                        ),
                    ));
                }
            }
        }
    }
    Ok(())
}

/// VLANs of one network domain must not overlap (the API refuses the second one), and a VLAN named
/// in several blueprints must have one subnet.
pub(super) fn check_networks(locations: &[Location]) -> Result<(), LoadError> {
    for loc in locations {
        let local: Vec<&Blueprint> = loc
            .blueprints
            .iter()
            .filter(|b| b.ethernet.name.location.is_none())
            .collect();
        for (i, b) in local.iter().enumerate() {
            for a in &local[..i] {
                if a.domain.name != b.domain.name {
                    continue;
                }
                let (ea, eb) = (&a.ethernet, &b.ethernet);
                let message = if ea.name == eb.name {
                    if ea.subnet == eb.subnet {
                        continue;
                    }
                    format!(
                        "VLAN '{}' of blueprint '{}' has subnet {}, but blueprint '{}' (line {}) gives it {}; one VLAN has one subnet",
                        eb.name, b.name, eb.subnet, a.name, a.pos.line, ea.subnet
                    )
                } else if ea.subnet.contains(&eb.subnet.network())
                    || eb.subnet.contains(&ea.subnet.network())
                {
                    format!(
                        "subnet {} of VLAN '{}' (blueprint '{}') overlaps subnet {} of VLAN '{}' (blueprint '{}', line {}) in network domain '{}'; give each VLAN its own range",
                        eb.subnet,
                        eb.name,
                        b.name,
                        ea.subnet,
                        ea.name,
                        a.name,
                        a.pos.line,
                        b.domain.name
                    )
                } else {
                    continue;
                };
                return Err(LoadError::at(b.pos.clone(), message));
            }
        }
    }
    Ok(())
}

/// Firewall rule names derived from node names and networks must fit the API's 60 characters.
/// Firewall rule names the API would refuse: an error, except a warning for the accept rule of a
/// network in another location, whose name carries the location (the original logged the API's
/// refusal and went on; the corpus plan mysql master-slave names its networks so).
pub(super) fn check_rule_names(
    locations: &[Location],
    warnings: &mut Vec<Warning>,
) -> Result<(), LoadError> {
    let too_long = |rule: &str, pos: &SourcePos, from: &str| {
        LoadError::at(
            pos.clone(),
            format!(
                "the firewall rule name '{rule}' made from {from} has {} characters; the API takes at most {MAX_RULE_NAME_CHARS}: use a shorter name",
                rule.chars().count()
            ),
        )
    };
    for bp in locations.iter().flat_map(|l| &l.blueprints) {
        for source in &bp.ethernet.accept {
            let rule = accept_rule_name(source, &bp.ethernet.name, true);
            if rule.chars().count() > MAX_RULE_NAME_CHARS {
                let e = too_long(&rule, &bp.pos, &format!("'accept: {source}'"));
                if source.location.is_none() {
                    return Err(e);
                }
                warnings.push(Warning {
                    pos: bp.pos.clone(),
                    message: format!("{}; that rule will fail and the rest is built", e.message),
                });
            }
        }
        for node in &bp.nodes {
            for glue in &node.glue {
                let Glue::Internet { ports } = glue else {
                    continue;
                };
                for port in ports {
                    let rule = firewall_rule_name(&node.name, port);
                    if rule.chars().count() > MAX_RULE_NAME_CHARS {
                        return Err(too_long(&rule, &node.pos, &format!("node '{}'", node.name)));
                    }
                }
            }
        }
    }
    Ok(())
}

/// Checks every token of the plan.
pub(super) fn check_tokens(cx: &mut Cx<'_>, locations: &[Location]) -> Result<(), LoadError> {
    let mut by_location: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for loc in locations {
        let names = by_location.entry(loc.location_id.as_str()).or_default();
        for bp in &loc.blueprints {
            names.extend(bp.nodes.iter().map(|n| n.name.as_str()));
        }
    }
    let public: BTreeSet<(usize, &str)> = locations
        .iter()
        .enumerate()
        .flat_map(|(i, loc)| {
            loc.blueprints.iter().flat_map(move |bp| {
                bp.nodes
                    .iter()
                    .filter(|n| n.glue.iter().any(|g| matches!(g, Glue::Internet { .. })))
                    .map(move |n| (i, n.name.as_str()))
            })
        })
        .collect();
    let sites = std::mem::take(&mut cx.sites);
    let lines: Vec<&str> = cx.text.lines().collect();
    let mut warned: BTreeSet<(usize, usize, String)> = BTreeSet::new();
    for site in &sites {
        for (token, offset) in scan::tags(&site.text) {
            let problem = judge(&token, &site.scope, locations, &by_location, &public).map(
                |(is_error, message)| match token.strip_prefix("parameter.") {
                    Some(name) => (is_error, cx.parameter_problem(name.trim())),
                    None => (is_error, message),
                },
            );
            let Some((is_error, message)) = problem else {
                continue;
            };
            let (line, column) = locate(site, offset, &token, &lines);
            let pos = SourcePos {
                file: cx.file.to_string(),
                line,
                column,
            };
            if is_error {
                return Err(LoadError::at(pos, message));
            }
            if warned.insert((line, column, message.clone())) {
                cx.warnings.push(Warning { pos, message });
            }
        }
    }
    Ok(())
}

/// `None` when the token is fine; else (is it an error, message).
fn judge(
    token: &str,
    scope: &Scope,
    locations: &[Location],
    by_location: &BTreeMap<&str, BTreeSet<&str>>,
    public: &BTreeSet<(usize, &str)>,
) -> Option<(bool, String)> {
    let shown = format!("'{{{{ {token} }}}}'");
    let here = match scope {
        Scope::General { location } => *location,
        Scope::Node { location, .. } | Scope::Balancer { location } => Some(*location),
    };
    match classify(token) {
        TokenKind::Parameter(name) => Some((true, crate::params::no_value(&name))),
        TokenKind::Node {
            node: NodeSel::This,
            fact,
        } => judge_this_node(&shown, fact, scope, public),
        TokenKind::Node {
            node:
                NodeSel::Named {
                    location,
                    name,
                    bare,
                    ..
                },
            ..
        } => {
            let loc_id = match (location, here) {
                (Some(l), _) => l,
                (None, Some(i)) => locations[i].location_id.clone(),
                (None, None) => return judge_node_anywhere(&shown, &name, bare, by_location),
            };
            judge_node_in(&shown, &loc_id, &name, bare, by_location)
        }
        TokenKind::Balancer(_) if !matches!(scope, Scope::Balancer { .. }) => Some((
            true,
            format!(
                "unknown token {shown}: balancer tokens only work in the information of a balancer"
            ),
        )),
        TokenKind::RsaPrivate(name) if name == "local" => Some((
            true,
            format!(
                "unknown token {shown}: plumbery never sends your own private key; use rsa_private.NAME for a generated pair"
            ),
        )),
        TokenKind::Unknown => Some((
            true,
            format!("unknown token {shown}: {}", crate::tokens::UNKNOWN_HINT),
        )),
        _ => None,
    }
}

/// Judges a `node.*` token: only in a node's settings, and `node.public` wants a public address.
fn judge_this_node(
    shown: &str,
    fact: NodeFact,
    scope: &Scope,
    public: &BTreeSet<(usize, &str)>,
) -> Option<(bool, String)> {
    match scope {
        Scope::Node { location, node } => {
            if fact == NodeFact::Public && !public.contains(&(*location, node.as_str())) {
                return Some((
                    false,
                    format!(
                        "{shown} in node '{node}', which has no 'glue: - internet ...': it will have no public address"
                    ),
                ));
            }
            None
        }
        _ => Some((
            true,
            format!("unknown token {shown}: node tokens only work in the settings of a node"),
        )),
    }
}

/// Judges a token naming node `name` outside any location: fine if some location has that node.
fn judge_node_anywhere(
    shown: &str,
    name: &str,
    bare: bool,
    by_location: &BTreeMap<&str, BTreeSet<&str>>,
) -> Option<(bool, String)> {
    (!by_location.values().any(|names| names.contains(name))).then(|| {
        (
            !bare,
            format!("unknown token {shown}: no node '{name}' in this plan"),
        )
    })
}

/// Judges a token naming node `name` of location `loc_id` against the nodes that location declares.
fn judge_node_in(
    shown: &str,
    loc_id: &str,
    name: &str,
    bare: bool,
    by_location: &BTreeMap<&str, BTreeSet<&str>>,
) -> Option<(bool, String)> {
    let Some(names) = by_location.get(loc_id) else {
        return Some((
            false,
            format!(
                "{shown}: location {loc_id} is not in this plan; the node will be looked up in the cloud at deploy time"
            ),
        ));
    };
    if names.contains(name) {
        return None;
    }
    if bare {
        return Some((
            false,
            format!(
                "{shown} is not a plumbery token (no node '{name}' in {loc_id}); it is left as written"
            ),
        ));
    }
    Some((
        true,
        format!(
            "unknown token {shown}: no node '{name}' in {loc_id} (nodes: {})",
            list_names(names.iter().copied())
        ),
    ))
}

/// Line and column of a token found at `offset` of a site's text.
fn locate(site: &Site, offset: usize, token: &str, lines: &[&str]) -> (usize, usize) {
    let newlines = site.text[..offset].matches('\n').count();
    let guess = site.line + usize::from(site.block) + newlines;
    let find = |line: usize, from: usize| -> Option<usize> {
        let text = lines.get(line.checked_sub(1)?)?;
        let start = text.get(from..)?.find(token)? + from;
        Some(text[..start].rfind("{{").unwrap_or(start) + 1)
    };
    let from_col = |line: usize| {
        if line == site.line {
            site.column.saturating_sub(1)
        } else {
            0
        }
    };
    if let Some(col) = find(guess, from_col(guess)) {
        return (guess, col);
    }
    for line in site.line..site.line + 400 {
        if let Some(col) = find(line, from_col(line)) {
            return (line, col);
        }
    }
    (site.line, site.column)
}

#[cfg(test)]
mod tests {
    use crate::{Parameters, load_text};

    fn plan(blueprints: &str) -> String {
        format!("locationId: EU6\nblueprints:\n{blueprints}")
    }

    fn bp(name: &str, domain: &str, vlan: &str, subnet: &str) -> String {
        format!(
            "  - {name}:\n      domain: {{name: {domain}}}\n      ethernet: {{name: {vlan}, subnet: '{subnet}'}}\n"
        )
    }

    fn load(text: &str) -> Result<(), String> {
        load_text("p.yaml", text, &Parameters::new())
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn overlapping_vlans_in_one_domain_are_refused() {
        let err = load(&plan(&format!(
            "{}{}",
            bp("a", "D", "n1", "10.0.0.0/16"),
            bp("b", "D", "n2", "10.0.8.0/24")
        )))
        .unwrap_err();
        assert!(
            err.starts_with("p.yaml:6:5: subnet 10.0.8.0/24 of VLAN 'n2' (blueprint 'b') overlaps subnet 10.0.0.0/16"),
            "{err}"
        );
        // other domains may reuse a range; one VLAN shared by two blueprints is fine
        load(&plan(&format!(
            "{}{}{}",
            bp("a", "D", "n1", "10.0.0.0/16"),
            bp("b", "E", "n2", "10.0.8.0/24"),
            bp("c", "D", "n1", "10.0.0.0/16")
        )))
        .unwrap();
        let err = load(&plan(&format!(
            "{}{}",
            bp("a", "D", "n1", "10.0.0.0"),
            bp("b", "D", "n1", "10.0.1.0")
        )))
        .unwrap_err();
        assert!(err.contains("one VLAN has one subnet"), "{err}");
    }

    #[test]
    fn rule_names_must_fit_the_api() {
        let long = "n".repeat(45);
        let text = plan(&format!(
            "{}      nodes:\n        - {long}:\n            glue: [internet 22]\n",
            bp("a", "D", "n1", "10.0.0.0")
        ));
        let err = load(&text).unwrap_err();
        assert!(
            err.contains("has 63 characters; the API takes at most 60"),
            "{err}"
        );
        let text = plan(&format!(
            "{}      nodes:\n        - {long}:\n            glue: [primary .11]\n",
            bp("a", "D", "n1", "10.0.0.0")
        ));
        load(&text).unwrap();
    }

    #[test]
    fn plans_have_at_most_10000_nodes() {
        let mut nodes = String::from("      nodes:\n");
        for i in 0..3 {
            nodes.push_str(&format!("        - n{i}x[1..4000]:\n"));
        }
        let err = load(&plan(&format!("{}{nodes}", bp("a", "D", "n1", "10.0.0.0")))).unwrap_err();
        assert!(err.contains("more than 10000 nodes"), "{err}");
    }
}
