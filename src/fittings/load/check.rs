//! Whole-plan checks made once every location is loaded: node names are unique per location, and
//! every token can be resolved by someone (now, at deploy, or from the secret store).

use std::collections::{BTreeMap, BTreeSet};

use super::{Cx, Scope, Site, list_names};
use crate::fittings::error::{LoadError, Warning};
use crate::fittings::model::{Glue, Location, SourcePos};
use crate::fittings::scan;
use crate::fittings::tokens::{NodeFact, NodeSel, TokenKind, classify};

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
            let problem = judge(&token, &site.scope, locations, &by_location, &public);
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
        TokenKind::Parameter(name) => Some((true, crate::fittings::params::no_value(&name))),
        TokenKind::Node {
            node: NodeSel::This,
            fact,
        } => match scope {
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
        },
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
            let loc_id = match (&location, here) {
                (Some(l), _) => l.clone(),
                (None, Some(i)) => locations[i].location_id.clone(),
                (None, None) => {
                    return (!by_location
                        .values()
                        .any(|names| names.contains(name.as_str())))
                    .then(|| {
                        (
                            !bare,
                            format!("unknown token {shown}: no node '{name}' in this plan"),
                        )
                    });
                }
            };
            let Some(names) = by_location.get(loc_id.as_str()) else {
                return Some((
                    false,
                    format!(
                        "{shown}: location {loc_id} is not in this plan; the node will be looked up in the cloud at deploy time"
                    ),
                ));
            };
            if names.contains(name.as_str()) {
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
            format!(
                "unknown token {shown}: {}",
                crate::fittings::tokens::UNKNOWN_HINT
            ),
        )),
        _ => None,
    }
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
