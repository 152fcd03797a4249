//! Rendering a plan for people (an indented summary) and for programs (JSON).

use std::fmt::Write;

use serde::Serialize;

use fittings::{Glue, Ipv4Quota, Node, Plan, Warning};

/// The JSON document printed by `validate --json` and by `-s --json`.
#[derive(Serialize)]
pub struct PlanReport<'a> {
    /// The expanded plan (parameters replaced, defaults merged, ranges expanded).
    #[serde(flatten)]
    pub plan: &'a Plan,
    /// Warnings found while loading.
    pub warnings: &'a [Warning],
}

/// Renders a plan as an indented summary.
pub fn human_plan(plan: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Plan {}", plan.origin);
    if !plan.settings.parameter_values.is_empty() {
        let params: Vec<String> = plan
            .settings
            .parameter_values
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let _ = writeln!(out, "  parameters: {}", params.join(", "));
    }
    for loc in &plan.locations {
        let region = loc.region_id.as_deref().unwrap_or("region unknown");
        let _ = writeln!(out, "Location {} ({region})", loc.location_id);
        for bp in &loc.blueprints {
            let _ = writeln!(out, "  Blueprint {}", bp.name);
            let d = &bp.domain;
            let ipv4 = match d.ipv4 {
                Ipv4Quota::Count(n) => n.to_string(),
                Ipv4Quota::Auto => "auto".into(),
                Ipv4Quota::Transient => "transient".into(),
            };
            let _ = writeln!(
                out,
                "    domain {} ({}, public IPv4: {ipv4})",
                d.name,
                d.service.api_name().to_lowercase()
            );
            let e = &bp.ethernet;
            let _ = writeln!(
                out,
                "    ethernet {} {}{}",
                e.name,
                e.subnet,
                if e.destroy_never {
                    " (destroy: never)"
                } else {
                    ""
                }
            );
            for a in &e.accept {
                let _ = writeln!(out, "      accept {a}");
            }
            for b in &bp.balancers {
                let _ = writeln!(out, "    balancer {} {}:{}", b.name, b.protocol, b.port);
            }
            for node in &bp.nodes {
                let _ = writeln!(out, "    node {}", node_line(node));
                if let Some(cc) = node.cloud_config.as_ref().and_then(|c| c.as_mapping()) {
                    let keys: Vec<&str> = cc.keys().filter_map(|k| k.as_str()).collect();
                    let _ = writeln!(out, "      cloud-config: {}", keys.join(", "));
                }
            }
        }
    }
    out
}

fn node_line(node: &Node) -> String {
    let mut parts = vec![node.name.clone()];
    if let Some(a) = &node.appliance {
        parts.push(format!("appliance '{a}'"));
    }
    if let Some(c) = &node.cpu {
        parts.push(format!("cpu {}", c.count));
    }
    if let Some(m) = node.memory_gb {
        parts.push(format!("memory {m} GB"));
    }
    if let Some(m) = node.monitoring {
        parts.push(format!("monitoring {}", m.api_name().to_lowercase()));
    }
    let glue: Vec<String> = node.glue.iter().map(Glue::to_string).collect();
    if !glue.is_empty() {
        parts.push(format!("glue: {}", glue.join(", ")));
    }
    parts.join(", ")
}

/// Prints warnings on standard error.
pub fn print_warnings(warnings: &[Warning]) {
    for w in warnings {
        eprintln!("{w}");
    }
}
