//! Narrowing a plan to the blueprints and locations named on the command line.

use super::model::{Blueprint, Location, Node, Plan};

impl Plan {
    /// The part of the plan an action should touch: locations whose `locationId` or `apiHost` is in
    /// `locations` (all when empty), and in them the blueprints named in `blueprints`, group aliases
    /// expanded (all when empty). Names that match nothing are an error that lists the choices.
    pub fn select(&self, blueprints: &[String], locations: &[String]) -> Result<Plan, String> {
        let mut out = self.clone();
        if !locations.is_empty() {
            for l in locations {
                let known = self
                    .locations
                    .iter()
                    .any(|loc| &loc.location_id == l || loc.api_host.as_ref() == Some(l));
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
            out.locations.retain(|loc| {
                locations
                    .iter()
                    .any(|l| &loc.location_id == l || loc.api_host.as_ref() == Some(l))
            });
        }
        if blueprints.is_empty() {
            return Ok(out);
        }
        let mut wanted: Vec<String> = Vec::new();
        for name in blueprints {
            let mut found = false;
            for loc in &out.locations {
                if loc.blueprints.iter().any(|b| &b.name == name) {
                    found = true;
                    wanted.push(name.clone());
                }
                if let Some(group) = loc.aliases.get(name) {
                    found = true;
                    wanted.extend(group.iter().cloned());
                }
            }
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
        for loc in &mut out.locations {
            loc.blueprints.retain(|b| wanted.contains(&b.name));
        }
        out.locations.retain(|l| !l.blueprints.is_empty());
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use crate::fittings::{Parameters, load_text};

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
    use crate::fittings::{Parameters, load_text};

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
