//! Narrowing a plan to the blueprints and locations named on the command line.

use std::collections::BTreeSet;

use super::model::{Blueprint, Location, Node, Plan};

/// Keeps in each location the blueprints `filter` selects; drops locations left with none.
fn narrow(plan: &mut Plan, filter: &[String]) {
    for loc in &mut plan.locations {
        let keep: BTreeSet<String> = loc
            .select_blueprints(filter)
            .iter()
            .map(|b| b.name.clone())
            .collect();
        loc.blueprints.retain(|b| keep.contains(&b.name));
    }
    plan.locations.retain(|l| !l.blueprints.is_empty());
}

impl Location {
    /// True when `name` is this location's `locationId` (any case) or its `apiHost`.
    pub fn is_named(&self, name: &str) -> bool {
        name.eq_ignore_ascii_case(&self.location_id) || self.api_host.as_deref() == Some(name)
    }

    /// True when the location matches an `@LOCATION` filter; an empty filter matches all.
    pub fn selected_by(&self, filter: &[String]) -> bool {
        filter.is_empty() || filter.iter().any(|f| self.is_named(f))
    }

    /// The blueprints a filter of blueprint or group names selects here, in plan order; an empty
    /// filter means what `defaults.blueprints` says (all blueprints when it says nothing).
    pub fn select_blueprints(&self, filter: &[String]) -> Vec<&Blueprint> {
        let names: BTreeSet<String> = if filter.is_empty() {
            self.all_blueprints().into_iter().collect()
        } else {
            filter
                .iter()
                .flat_map(|f| match self.aliases.get(f) {
                    Some(group) => group.clone(),
                    None => vec![f.clone()],
                })
                .collect()
        };
        self.blueprints
            .iter()
            .filter(|b| names.contains(&b.name))
            .collect()
    }
}

impl Plan {
    /// The part of the plan an action should touch: locations whose `locationId` or `apiHost` is in
    /// `locations` (all when empty), and in them the blueprints named in `blueprints`, group aliases
    /// expanded (all when empty). Names that match nothing are an error that lists the choices.
    pub fn select(&self, blueprints: &[String], locations: &[String]) -> Result<Plan, String> {
        let mut out = self.clone();
        if !locations.is_empty() {
            for l in locations {
                let known = self.locations.iter().any(|loc| loc.is_named(l));
                if !known {
                    let ids: Vec<&str> = self
                        .locations
                        .iter()
                        .map(|l| l.location_id.as_str())
                        .collect();
                    return Err(format!(
                        "no location '{l}' in this plan (locations: {})",
                        ids.join(", ")
                    ));
                }
            }
            out.locations.retain(|loc| loc.selected_by(locations));
        }
        for name in blueprints {
            let found = out.locations.iter().any(|loc| {
                loc.blueprints.iter().any(|b| &b.name == name) || loc.aliases.contains_key(name)
            });
            if !found {
                let mut names: Vec<&str> = out
                    .locations
                    .iter()
                    .flat_map(|l| {
                        l.blueprints
                            .iter()
                            .map(|b| b.name.as_str())
                            .chain(l.aliases.keys().map(String::as_str))
                    })
                    .collect();
                names.sort_unstable();
                names.dedup();
                return Err(format!(
                    "no blueprint '{name}' in this plan (blueprints: {})",
                    names.join(", ")
                ));
            }
        }
        narrow(&mut out, blueprints);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use crate::{Parameters, load_text};

    const PLAN: &str = "---\nlocationId: EU6\nblueprints:\n  - web:\n      domain: {name: D}\n      ethernet: {name: N, subnet: 10.0.0.0}\n      nodes: [{w1: {}}]\n  - db:\n      domain: {name: D}\n      ethernet: {name: N, subnet: 10.0.0.0}\n      nodes: [{d1: {}}]\n  - all: web db\n";

    #[test]
    fn selects_blueprints_aliases_and_locations() {
        let (plan, _) = load_text("p.yaml", PLAN, &Parameters::new()).unwrap();
        assert_eq!(
            plan.select(&["db".into()], &[]).unwrap().locations[0]
                .blueprints
                .len(),
            1
        );
        assert_eq!(
            plan.select(&["all".into()], &[]).unwrap().locations[0]
                .blueprints
                .len(),
            2
        );
        assert_eq!(
            plan.select(&[], &["EU6".into()]).unwrap().locations.len(),
            1
        );
        assert_eq!(
            plan.select(&["x".into()], &[]).unwrap_err(),
            "no blueprint 'x' in this plan (blueprints: all, db, web)"
        );
        assert_eq!(
            plan.select(&[], &["NA9".into()]).unwrap_err(),
            "no location 'NA9' in this plan (locations: EU6)"
        );
    }

    const NARROWED: &str = "---\ndefaults:\n  blueprints: front\n---\nlocationId: EU6\nblueprints:\n  - web:\n      domain: {name: D}\n      ethernet: {name: N, subnet: 10.0.0.0}\n      nodes: [{w1: {}}]\n  - db:\n      domain: {name: D}\n      ethernet: {name: N, subnet: 10.0.0.0}\n      nodes: [{d1: {}}]\n  - front: web\n---\nlocationId: EU7\nblueprints:\n  - db:\n      domain: {name: D}\n      ethernet: {name: N, subnet: 10.0.0.0}\n      nodes: [{d2: {}}]\n";

    #[test]
    fn defaults_blueprints_narrows_all() {
        let (plan, _) = load_text("p.yaml", NARROWED, &Parameters::new()).unwrap();
        // No name on the command line: only what defaults.blueprints names (alias expanded); a
        // location left with nothing is left out.
        let all = plan.select(&[], &[]).unwrap();
        assert_eq!(all.locations.len(), 1);
        let names: Vec<&str> = all.locations[0]
            .blueprints
            .iter()
            .map(|b| b.name.as_str())
            .collect();
        assert_eq!(names, ["web"]);
        // A name on the command line still reaches any blueprint.
        let db = plan.select(&["db".into()], &[]).unwrap();
        assert_eq!(db.locations.len(), 2);
        // The engine's own selection agrees.
        let eu7 = &plan.locations[1];
        assert!(eu7.select_blueprints(&[]).is_empty());
        assert_eq!(eu7.select_blueprints(&["db".into()]).len(), 1);
    }

    #[test]
    fn defaults_blueprints_must_name_something() {
        let text = NARROWED.replace("blueprints: front", "blueprints: front bakc");
        let err = load_text("p.yaml", &text, &Parameters::new())
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("p.yaml:3:"), "{err}");
        assert!(err.contains("'bakc'"), "{err}");
    }
}

impl Plan {
    /// Every node with its location and blueprint, in plan order.
    pub fn nodes(&self) -> impl Iterator<Item = (&Location, &Blueprint, &Node)> {
        self.locations.iter().flat_map(|l| {
            l.blueprints
                .iter()
                .flat_map(move |b| b.nodes.iter().map(move |n| (l, b, n)))
        })
    }
}

impl Location {
    /// The names "all blueprints" means here: every blueprint, or those `defaults.blueprints`
    /// names (aliases expanded; names this location does not define are left out).
    pub fn all_blueprints(&self) -> Vec<String> {
        let Some(names) = &self.default_blueprints else {
            return self.blueprints.iter().map(|b| b.name.clone()).collect();
        };
        let mut out = Vec::new();
        for n in names {
            match self.aliases.get(n) {
                Some(group) => out.extend(group.iter().cloned()),
                None => out.push(n.clone()),
            }
        }
        out.retain(|n| self.blueprints.iter().any(|b| &b.name == n));
        out
    }

    /// A blueprint by name.
    pub fn blueprint(&self, name: &str) -> Option<&Blueprint> {
        self.blueprints.iter().find(|b| b.name == name)
    }

    /// Blueprints in build order: those of `basement` first (in basement order), then the others in
    /// plan order. Stop, wipe and destroy use the reverse.
    pub fn build_order(&self) -> Vec<&Blueprint> {
        let mut order: Vec<&Blueprint> = self
            .basement
            .iter()
            .filter_map(|n| self.blueprint(n))
            .collect();
        order.extend(
            self.blueprints
                .iter()
                .filter(|b| !self.basement.contains(&b.name)),
        );
        order
    }
}

#[cfg(test)]
mod order_tests {
    use crate::{Parameters, load_text};

    #[test]
    fn basement_first_and_node_walk() {
        let plan = "---\nlocationId: EU6\nbasement: db\nblueprints:\n  - web:\n      domain: {name: D}\n      ethernet: {name: N, subnet: 10.0.0.0}\n      nodes:\n        - w[1..2]: {}\n  - db:\n      domain: {name: D}\n      ethernet: {name: N, subnet: 10.0.0.0}\n      nodes: [{d1: {}}]\n";
        let (plan, _) = load_text("p.yaml", plan, &Parameters::new()).unwrap();
        let order: Vec<&str> = plan.locations[0]
            .build_order()
            .iter()
            .map(|b| b.name.as_str())
            .collect();
        assert_eq!(order, ["db", "web"]);
        let nodes: Vec<&str> = plan.nodes().map(|(_, _, n)| n.name.as_str()).collect();
        assert_eq!(nodes, ["w1", "w2", "d1"]);
    }
}
