//! Blueprints of a facility: the list and its aliases, then each blueprint's domain, ethernet,
//! balancers, pool and nodes.

use std::net::Ipv4Addr;

use super::cx::{Aliases, Cx, Scope};
use super::merge::merge;
use crate::error::LoadError;
use crate::fields::{check_api_name, parse_subnet};
use crate::model::{
    Balancer, Blueprint, Domain, Ethernet, Ipv4Quota, NetworkRef, Pool, ServicePlan,
};
use crate::params::lines;
use crate::yaml::{MNode, MValue};

impl Cx<'_> {
    pub(super) fn blueprints(
        &mut self,
        list: &MNode,
        defaults: &MNode,
        location: usize,
    ) -> Result<(Vec<Blueprint>, Aliases), LoadError> {
        let MValue::Seq(items) = &list.value else {
            return Err(self.err(list, "'blueprints' must be a list such as '- web: {domain: ..., ethernet: ..., nodes: ...}'"));
        };
        let mut blueprints: Vec<Blueprint> = Vec::new();
        let mut aliases = Aliases::new();
        for item in items {
            let Some(entries) = item.as_map() else {
                return Err(self.err(
                    item,
                    format!(
                        "each blueprint must be written '- NAME: {{...}}', not {}",
                        item.kind_name()
                    ),
                ));
            };
            for (k, v) in entries {
                let name = self.text(k, "a blueprint name")?;
                if blueprints.iter().any(|b| b.name == name) || aliases.contains_key(&name) {
                    return Err(self.err(
                        k,
                        format!("blueprint '{name}' is defined twice in this location; rename one"),
                    ));
                }
                match &v.value {
                    MValue::Map(_) => {
                        blueprints.push(self.blueprint(&name, k, v, defaults, location)?)
                    }
                    MValue::Str { text, .. } => {
                        aliases.insert(name, text.split_whitespace().map(str::to_string).collect());
                    }
                    _ => {
                        return Err(self.err(v, format!("blueprint '{name}' must be a mapping (domain, ethernet, nodes) or a list of blueprint names")));
                    }
                }
            }
        }
        for (alias, names) in &aliases {
            for n in names {
                if !blueprints.iter().any(|b| &b.name == n) && !aliases.contains_key(n) {
                    return Err(self.err(list, format!("blueprint group '{alias}' names '{n}', which this location does not define")));
                }
            }
        }
        Ok((blueprints, aliases))
    }

    fn blueprint(
        &mut self,
        name: &str,
        key: &MNode,
        bp: &MNode,
        defaults: &MNode,
        location: usize,
    ) -> Result<Blueprint, LoadError> {
        const KNOWN: &[&str] = &[
            "domain",
            "ethernet",
            "nodes",
            "information",
            "balancers",
            "pool",
            "listeners",
            "multicloud",
        ];
        let what = format!("blueprint '{name}'");
        self.check_keys(bp, KNOWN, &what);
        if let Some(m) = bp.get_key("multicloud") {
            self.warn(
                m,
                "'multicloud' (Terraform) is not supported and is ignored",
            );
        }
        let domain = self.domain(name, key, bp, defaults)?;
        let ethernet = self.ethernet(name, key, bp, defaults)?;
        let information = match bp.get("information") {
            Some(i) => {
                self.collect_sites(
                    i,
                    &Scope::General {
                        location: Some(location),
                    },
                );
                lines(i)
            }
            None => Vec::new(),
        };
        let (mut balancers, _) = match bp.get("balancers") {
            Some(b) => self.balancers(b, location, false)?,
            None => (Vec::new(), None),
        };
        // `listeners:` (the schema's spelling, in 3 corpus plans): the same listeners, each with
        // an optional pool `algorithm` (the first one given sets the pool's when no `pool:` does).
        let (listeners, algorithm) = match bp.get("listeners") {
            Some(l) => self.balancers(l, location, true)?,
            None => (Vec::new(), None),
        };
        balancers.extend(listeners);
        let mut pool = bp.get("pool").map(|p| self.pool(p)).transpose()?;
        if pool.is_none()
            && let Some(algorithm) = algorithm
        {
            pool = Some(Pool {
                algorithm,
                description: String::new(),
            });
        }
        let nodes = match bp.get("nodes") {
            Some(n) => self.nodes(n, defaults, &ethernet, location)?,
            None => Vec::new(),
        };
        Ok(Blueprint {
            name: name.to_string(),
            domain,
            ethernet,
            nodes,
            balancers,
            pool,
            information,
            pos: self.pos(key),
        })
    }

    /// `defaults.<part>` merged under `bp.<part>`; an error when neither exists.
    fn part(
        &self,
        part: &str,
        name: &str,
        key: &MNode,
        bp: &MNode,
        defaults: &MNode,
    ) -> Result<MNode, LoadError> {
        let own = bp.get(part);
        let merged = match (defaults.get(part).filter(|d| !d.is_null()), own) {
            (Some(d), Some(o)) => merge(d, o),
            (Some(d), None) => d.clone(),
            (None, Some(o)) => o.clone(),
            (None, None) => {
                return Err(self.err(
                    key,
                    format!("blueprint '{name}' has no '{part}': add '{part}: {{name: ..., ...}}'"),
                ));
            }
        };
        if merged.as_map().is_none() {
            return Err(self.err(
                own.unwrap_or(&merged),
                format!(
                    "'{part}' of blueprint '{name}' must be a mapping, not {}",
                    merged.kind_name()
                ),
            ));
        }
        Ok(merged)
    }

    fn domain(
        &mut self,
        name: &str,
        key: &MNode,
        bp: &MNode,
        defaults: &MNode,
    ) -> Result<Domain, LoadError> {
        let d = self.part("domain", name, key, bp, defaults)?;
        self.check_keys(
            &d,
            &["name", "description", "service", "ipv4"],
            &format!("the domain of blueprint '{name}'"),
        );
        let domain_name = match d.get("name").filter(|n| !n.is_null()) {
            Some(n) => {
                let text = self.text(n, "the domain name")?;
                check_api_name("domain name", &text).map_err(|m| self.err(n, m))?;
                text
            }
            None => {
                return Err(self.err(
                    &d,
                    format!("the domain of blueprint '{name}' has no 'name'"),
                ));
            }
        };
        let description = d
            .get("description")
            .map(|n| self.text(n, "the domain description"))
            .transpose()?
            .unwrap_or_default();
        let service = match d.get("service") {
            None => ServicePlan::Essentials,
            Some(s) => match self.text(s, "'service'")?.to_ascii_lowercase().as_str() {
                "essentials" => ServicePlan::Essentials,
                "advanced" => ServicePlan::Advanced,
                other => {
                    return Err(self.err(
                        s,
                        format!("service '{other}' is not known: use essentials or advanced"),
                    ));
                }
            },
        };
        let quota = d
            .get("ipv4")
            .or_else(|| defaults.get("ipv4"))
            .filter(|n| !n.is_null());
        let ipv4 = match quota {
            None => Ipv4Quota::Count(2),
            Some(q) => match &q.value {
                MValue::Int(i) if (2..=128).contains(i) => Ipv4Quota::Count(*i as u32),
                MValue::Str { text, .. } if text == "auto" => Ipv4Quota::Auto,
                MValue::Str { text, .. } if text == "transient" => Ipv4Quota::Transient,
                _ => {
                    let shown = q.scalar_text().unwrap_or_else(|| q.kind_name().to_string());
                    return Err(self.err(q, format!("ipv4 '{shown}' is not valid: use a number from 2 to 128, auto or transient")));
                }
            },
        };
        Ok(Domain {
            name: domain_name,
            description,
            service,
            ipv4,
        })
    }

    fn ethernet(
        &mut self,
        name: &str,
        key: &MNode,
        bp: &MNode,
        defaults: &MNode,
    ) -> Result<Ethernet, LoadError> {
        let e = self.part("ethernet", name, key, bp, defaults)?;
        self.check_keys(
            &e,
            &[
                "name",
                "subnet",
                "description",
                "accept",
                "reserved",
                "destroy",
            ],
            &format!("the ethernet of blueprint '{name}'"),
        );
        let net_name = match e.get("name").filter(|n| !n.is_null()) {
            Some(n) => {
                let text = self.text(n, "the network name")?;
                check_api_name("network name", &text).map_err(|m| self.err(n, m))?;
                NetworkRef::parse(&text).ok_or_else(|| self.err(n, format!("network name '{text}' is not valid: write NAME, LOC::NAME or REGION::LOC::NAME")))?
            }
            None => {
                return Err(self.err(
                    &e,
                    format!("the ethernet of blueprint '{name}' has no 'name'"),
                ));
            }
        };
        let (subnet, addressing) = match e.get("subnet").filter(|n| !n.is_null()) {
            Some(s) => parse_subnet(&self.text(s, "'subnet'")?).map_err(|m| self.err(s, m))?,
            None if net_name.location.is_some() => ("0.0.0.0/24".parse().expect("valid"), Default::default()),
            None => return Err(self.err(&e, format!("the ethernet of blueprint '{name}' has no 'subnet' (for example 'subnet: 10.0.0.0')"))),
        };
        let description = e
            .get("description")
            .map(|n| self.text(n, "the network description"))
            .transpose()?
            .unwrap_or_default();
        let mut accept = Vec::new();
        if let Some(a) = e.get("accept") {
            for item in accept_items(a) {
                // A source naming a parameter the plan does not declare (the mysql master-slave
                // plan of the corpus) is skipped, as the original skipped sources it could not find.
                let raw = item.scalar_text().unwrap_or_default();
                if let Some(name) = super::cx::leftover_parameter(&raw)
                    && self.unknown_params.contains_key(&name)
                {
                    self.warn(&item, format!("'accept: {raw}' names no network (parameter '{name}' is not declared); this source is skipped"));
                    continue;
                }
                let text = self.text(&item, "each item of 'accept'")?;
                accept.push(NetworkRef::parse(&text).ok_or_else(|| self.err(&item, format!("'{text}' is not a network name: write NAME, LOC::NAME or REGION::LOC::NAME")))?);
            }
        }
        let mut reserved = Vec::new();
        if let Some(r) = e.get("reserved") {
            for (text, item) in self.string_list(r, "'reserved'")? {
                let addr: Ipv4Addr = text.trim().parse().map_err(|_| {
                    self.err(
                        &item,
                        format!("reserved address '{text}' is not an IPv4 address"),
                    )
                })?;
                if !subnet.contains(&addr) {
                    return Err(self.err(
                        &item,
                        format!("reserved address {addr} is outside the subnet {subnet}"),
                    ));
                }
                reserved.push(addr);
            }
        }
        let destroy_never = self.never(e.get("destroy"))?;
        Ok(Ethernet {
            name: net_name,
            subnet,
            addressing,
            description,
            accept,
            reserved,
            destroy_never,
        })
    }

    /// `destroy: never` (the only value).
    pub(super) fn never(&self, n: Option<&MNode>) -> Result<bool, LoadError> {
        match n {
            None => Ok(false),
            Some(n) if n.as_str() == Some("never") => Ok(true),
            Some(n) => Err(self.err(n, "'destroy' only accepts 'never'")),
        }
    }

    /// `balancers:` (or `listeners:` with `algorithm`): the listeners, and the first algorithm.
    fn balancers(
        &mut self,
        list: &MNode,
        location: usize,
        with_algorithm: bool,
    ) -> Result<(Vec<Balancer>, Option<String>), LoadError> {
        let MValue::Seq(items) = &list.value else {
            return Err(self.err(
                list,
                "'balancers' must be a list such as '- http: {port: 80}'",
            ));
        };
        let mut out = Vec::new();
        let mut algorithm = None;
        for item in items {
            let Some(entries) = item.as_map() else {
                return Err(self.err(
                    item,
                    "each balancer must be written '- NAME: {protocol: http, port: 80}'",
                ));
            };
            for (k, v) in entries {
                let name = self.text(k, "a balancer name")?;
                let keys: &[&str] = if with_algorithm {
                    &["protocol", "port", "address", "information", "algorithm"]
                } else {
                    &["protocol", "port", "address", "information"]
                };
                self.check_keys(v, keys, &format!("balancer '{name}'"));
                if with_algorithm
                    && algorithm.is_none()
                    && let Some(a) = v.get("algorithm")
                {
                    algorithm = Some(self.algorithm(a)?);
                }
                let protocol = match v.get("protocol") {
                    Some(p) => {
                        let p = self.text(p, "'protocol'")?.to_ascii_lowercase();
                        if !["http", "https", "tcp", "udp"].contains(&p.as_str()) {
                            return Err(self.err(v.get("protocol").unwrap_or(v), format!("balancer protocol '{p}' is not known: use http, https, tcp or udp")));
                        }
                        p
                    }
                    None => "http".to_string(),
                };
                let port = match v.get("port") {
                    Some(MNode {
                        value: MValue::Int(p),
                        ..
                    }) if (1..=65535).contains(p) => *p as u16,
                    Some(p) => {
                        return Err(self.err(p, "a balancer port must be a number from 1 to 65535"));
                    }
                    None => 80,
                };
                let address =
                    match v.get("address") {
                        Some(a) => Some(self.text(a, "'address'")?.parse().map_err(|_| {
                            self.err(a, "a balancer address must be an IPv4 address")
                        })?),
                        None => None,
                    };
                let information = match v.get("information") {
                    Some(i) => {
                        self.collect_sites(i, &Scope::Balancer { location });
                        lines(i)
                    }
                    None => Vec::new(),
                };
                out.push(Balancer {
                    name,
                    protocol,
                    port,
                    address,
                    information,
                });
            }
        }
        Ok((out, algorithm))
    }

    fn pool(&mut self, p: &MNode) -> Result<Pool, LoadError> {
        self.check_keys(p, &["algorithm", "description"], "'pool'");
        let algorithm = match p.get("algorithm") {
            Some(a) => self.algorithm(a)?,
            None => "round_robin".to_string(),
        };
        let description = p
            .get("description")
            .map(|d| self.text(d, "'description'"))
            .transpose()?
            .unwrap_or_default();
        Ok(Pool {
            algorithm,
            description,
        })
    }

    /// A pool algorithm (`round_robin`, `least_connections`, ...).
    fn algorithm(&mut self, a: &MNode) -> Result<String, LoadError> {
        const ALGORITHMS: &[&str] = &[
            "random",
            "round_robin",
            "least_connections",
            "weighted_round_robin",
            "weighted_least_connections",
            "shortest_response",
            "persistent_ip",
        ];
        let text = self.text(a, "'algorithm'")?;
        if !ALGORITHMS.contains(&text.as_str()) {
            return Err(self.err(
                a,
                format!(
                    "pool algorithm '{text}' is not known: use one of {}",
                    ALGORITHMS.join(", ")
                ),
            ));
        }
        Ok(text)
    }
}

/// The items of an `accept:` value (a single string gives one item).
fn accept_items(a: &MNode) -> Vec<MNode> {
    match &a.value {
        MValue::Null => Vec::new(),
        MValue::Seq(items) => items.clone(),
        _ => vec![a.clone()],
    }
}
