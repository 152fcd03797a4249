//! Nodes of a blueprint: node classes (`default:`), the defaults merge, cloud-config merge, typed
//! settings and name ranges.

use super::MAX_PLAN_NODES;
use super::cx::{Cx, Scope, list_names};
use super::merge::{merge, without};
use crate::error::LoadError;
use crate::fields::{
    check_api_name, expand_range, is_valid_node_name, parse_cpu, parse_disk, parse_glue,
};
use crate::model::{Backup, BackupClient, Ethernet, Monitoring, Node, PrepareStep};
use crate::params::lines;
use crate::yaml::{MNode, MValue};

const KNOWN: &[&str] = &[
    "default",
    "appliance",
    "cpu",
    "memory",
    "disks",
    "glue",
    "monitoring",
    "backup",
    "description",
    "information",
    "running",
    "destroy",
    "cloud-config",
    "prepare",
    "windows",
];

impl Cx<'_> {
    pub(super) fn nodes(
        &mut self,
        list: &MNode,
        defaults: &MNode,
        ethernet: &Ethernet,
        location: usize,
    ) -> Result<Vec<Node>, LoadError> {
        let MValue::Seq(items) = &list.value else {
            return Err(self.err(
                list,
                "'nodes' must be a list such as '- web01: {appliance: Ubuntu}'",
            ));
        };
        let mut out = Vec::new();
        for item in items {
            let entries = match &item.value {
                MValue::Map(entries) => entries,
                MValue::Str { text, .. } => {
                    return Err(self.err(item, format!("node '{text}' must be written as a mapping key: '- {text}:' (with a colon)")));
                }
                _ => {
                    return Err(self.err(
                        item,
                        format!(
                            "each node must be written '- NAME: {{...}}', not {}",
                            item.kind_name()
                        ),
                    ));
                }
            };
            for (k, v) in entries {
                let label = self.text(k, "a node name")?;
                if v.as_map().is_none() && !v.is_null() {
                    return Err(self.err(
                        v,
                        format!(
                            "the settings of node '{label}' must be a mapping, not {}",
                            v.kind_name()
                        ),
                    ));
                }
                let names = expand_range(&label).map_err(|m| self.err(k, m))?;
                self.node_count += names.len();
                if self.node_count > MAX_PLAN_NODES {
                    return Err(self.err(
                        k,
                        format!("the plan declares more than {MAX_PLAN_NODES} nodes; split it into several plans"),
                    ));
                }
                for name in [names.first(), names.last()].into_iter().flatten() {
                    check_api_name("node name", name).map_err(|m| self.err(k, m))?;
                }
                let template = self.node(&label, k, v, defaults, ethernet)?;
                if let Some(bad) = names.iter().find(|n| !is_valid_node_name(n)) {
                    self.warn(
                        k,
                        format!("node name '{bad}' is not a valid host name (letters, digits and '-', at most 63)"),
                    );
                }
                for name in names {
                    let mut node = template.clone();
                    node.name = name;
                    out.push(node);
                }
                let merged_sites = self.node_sites(v, defaults);
                for name in out
                    .iter()
                    .rev()
                    .take_while(|n| n.label == label)
                    .map(|n| n.name.clone())
                    .collect::<Vec<_>>()
                {
                    let scope = Scope::Node {
                        location,
                        node: name,
                    };
                    for s in &merged_sites {
                        self.collect_sites(s, &scope);
                    }
                }
            }
        }
        Ok(out)
    }

    /// The parts of a node (with its class and the defaults) whose strings may hold tokens.
    fn node_sites(&self, v: &MNode, defaults: &MNode) -> Vec<MNode> {
        let mut sites = Vec::new();
        let class = v
            .get("default")
            .and_then(MNode::as_str)
            .and_then(|c| defaults.get(c));
        for source in [
            defaults.get("cloud-config"),
            class.and_then(|c| c.get("cloud-config")),
            v.get("cloud-config"),
        ] {
            sites.extend(source.cloned());
        }
        for src in [class, Some(v)].into_iter().flatten() {
            for key in ["information", "prepare", "description"] {
                sites.extend(src.get(key).cloned());
            }
        }
        sites
    }

    fn node(
        &mut self,
        label: &str,
        key: &MNode,
        own: &MNode,
        defaults: &MNode,
        ethernet: &Ethernet,
    ) -> Result<Node, LoadError> {
        let own = if own.is_null() {
            MNode {
                value: MValue::Map(Vec::new()),
                line: key.line,
                column: key.column,
            }
        } else {
            own.clone()
        };
        let (class_name, class) = self.node_class(label, key, &own, defaults)?;
        let what = format!("node '{label}'");
        if class_name.is_some() {
            self.check_keys(
                &class,
                KNOWN,
                &format!("node class '{}'", class_name.as_deref().unwrap_or_default()),
            );
        }
        self.check_keys(&own, KNOWN, &what);
        let settings = merge(
            &without(&class, &["cloud-config"]),
            &without(&own, &["cloud-config"]),
        );
        let cloud_config = self.node_cloud_config(label, key, defaults, &class, &own)?;
        let get = |k: &str| settings.get(k).filter(|n| !n.is_null());
        let appliance = get("appliance")
            .map(|a| self.text(a, "'appliance'"))
            .transpose()?;
        let cpu = get("cpu")
            .map(|c| parse_cpu(&self.text(c, "'cpu'")?).map_err(|m| self.err(c, m)))
            .transpose()?;
        let memory_gb = self.memory(get("memory"))?;
        let disks = self.disks(label, get("disks"))?;
        let glue = self.glue(get("glue"), ethernet)?;
        let monitoring = self.monitoring(get("monitoring"))?;
        let backup = get("backup").map(|b| self.backup(b)).transpose()?;
        let description = get("description")
            .map(|d| self.text(d, "'description'"))
            .transpose()?
            .unwrap_or_default();
        let hashtags = description
            .split_whitespace()
            .filter_map(|w| w.strip_prefix('#'))
            .filter(|t| !t.is_empty() && *t != "plumbery")
            .map(str::to_string)
            .collect();
        let information = get("information").map(lines).unwrap_or_default();
        let running_always = match get("running") {
            None => false,
            Some(r) if r.as_str() == Some("always") => true,
            Some(r) => return Err(self.err(r, "'running' only accepts 'always'")),
        };
        let destroy_never = self.never(get("destroy"))?;
        let prepare = self.prepare_steps(get("prepare"))?;
        let windows = get("windows").map(MNode::to_value);
        Ok(Node {
            name: label.to_string(),
            label: label.to_string(),
            appliance,
            cpu,
            memory_gb,
            disks,
            glue,
            monitoring,
            backup,
            description,
            hashtags,
            information,
            running_always,
            destroy_never,
            cloud_config,
            prepare,
            windows,
            class: class_name,
            pos: self.pos(key),
        })
    }

    /// The node's class (`default: NAME`, looked up in the blueprint's `defaults`), or an empty one.
    fn node_class(
        &self,
        label: &str,
        key: &MNode,
        own: &MNode,
        defaults: &MNode,
    ) -> Result<(Option<String>, MNode), LoadError> {
        let class_name = match own.get("default") {
            Some(c) => Some(self.text(c, "'default'")?),
            None => None,
        };
        let empty = MNode {
            value: MValue::Map(Vec::new()),
            line: key.line,
            column: key.column,
        };
        let class = match &class_name {
            Some(c) => match defaults.get(c) {
                Some(m) if m.as_map().is_some() => m.clone(),
                _ => {
                    let classes: Vec<&str> = defaults
                        .as_map()
                        .unwrap_or_default()
                        .iter()
                        .filter(|(_, v)| v.as_map().is_some())
                        .filter_map(|(k, _)| k.as_str())
                        .filter(|k| !["domain", "ethernet", "cloud-config"].contains(k))
                        .collect();
                    return Err(self.err(
                        own.get("default").unwrap_or(key),
                        format!("node '{label}' uses class '{c}', which 'defaults' does not define (classes: {})", list_names(classes)),
                    ));
                }
            },
            None => empty.clone(),
        };
        Ok((class_name, class))
    }

    /// The node's cloud-config: the defaults', then its class's, then its own, merged.
    fn node_cloud_config(
        &self,
        label: &str,
        key: &MNode,
        defaults: &MNode,
        class: &MNode,
        own: &MNode,
    ) -> Result<Option<serde_yaml::Value>, LoadError> {
        let cc = [
            defaults.get("cloud-config"),
            class.get("cloud-config"),
            own.get("cloud-config"),
        ]
        .into_iter()
        .flatten()
        .fold(MNode::null(key.line, key.column), |acc, part| {
            if acc.is_null() {
                part.clone()
            } else {
                merge(&acc, part)
            }
        });
        let cloud_config = match &cc.value {
            MValue::Null => None,
            MValue::Map(entries) if entries.is_empty() => None,
            MValue::Map(_) => Some(cc.to_value()),
            _ => {
                return Err(self.err(
                    &cc,
                    format!(
                        "the cloud-config of node '{label}' must be a mapping, not {}",
                        cc.kind_name()
                    ),
                ));
            }
        };
        Ok(cloud_config)
    }

    /// `memory`: GB from 1 to 256.
    fn memory(&self, m: Option<&MNode>) -> Result<Option<u32>, LoadError> {
        let memory_gb = match m {
            None => None,
            Some(m) => match self.text(m, "'memory'")?.trim().parse::<u32>() {
                Ok(gb) if (1..=256).contains(&gb) => Some(gb),
                _ => {
                    let shown = m.scalar_text().unwrap_or_default();
                    return Err(self.err(
                        m,
                        format!("memory '{shown}' is not valid: give a number of GB from 1 to 256"),
                    ));
                }
            },
        };
        Ok(memory_gb)
    }

    /// `disks`: each SCSI id once.
    fn disks(&self, label: &str, d: Option<&MNode>) -> Result<Vec<crate::model::Disk>, LoadError> {
        let mut disks = Vec::new();
        if let Some(d) = d {
            for (text, item) in self.string_list(d, "'disks'")? {
                let disk = parse_disk(&text).map_err(|m| self.err(&item, m))?;
                if disks
                    .iter()
                    .any(|x: &crate::model::Disk| x.scsi_id == disk.scsi_id)
                {
                    return Err(self.err(
                        &item,
                        format!("disk id {} is given twice in node '{label}'", disk.scsi_id),
                    ));
                }
                disks.push(disk);
            }
        }
        Ok(disks)
    }

    /// `glue`: NICs and internet access.
    fn glue(
        &self,
        g: Option<&MNode>,
        ethernet: &Ethernet,
    ) -> Result<Vec<crate::model::Glue>, LoadError> {
        let mut glue = Vec::new();
        if let Some(g) = g {
            for (text, item) in self.string_list(g, "'glue'")? {
                glue.push(
                    parse_glue(&text, &ethernet.name.name, &ethernet.subnet)
                        .map_err(|m| self.err(&item, m))?,
                );
            }
        }
        Ok(glue)
    }

    /// `monitoring`: essentials or advanced.
    fn monitoring(&self, m: Option<&MNode>) -> Result<Option<Monitoring>, LoadError> {
        let monitoring = match m {
            None => None,
            Some(m) => Some(
                match self.text(m, "'monitoring'")?.to_ascii_lowercase().as_str() {
                    "essentials" => Monitoring::Essentials,
                    "advanced" => Monitoring::Advanced,
                    other => {
                        return Err(self.err(
                            m,
                            format!(
                                "monitoring '{other}' is not known: use essentials or advanced"
                            ),
                        ));
                    }
                },
            ),
        };
        Ok(monitoring)
    }

    /// `prepare`: the steps run over SSH.
    fn prepare_steps(&self, p: Option<&MNode>) -> Result<Vec<PrepareStep>, LoadError> {
        let mut prepare = Vec::new();
        if let Some(p) = p {
            for (text, item) in self.string_list(p, "'prepare'")? {
                prepare.push(prepare_step(&text).map_err(|m| self.err(&item, m))?);
            }
        }
        Ok(prepare)
    }

    fn backup(&mut self, b: &MNode) -> Result<Backup, LoadError> {
        const PLANS: &[&str] = &["essentials", "advanced", "enterprise"];
        let plan_of = |cx: &Self, n: &MNode| -> Result<String, LoadError> {
            let p = cx.text(n, "the backup plan")?.to_ascii_lowercase();
            if PLANS.contains(&p.as_str()) {
                Ok(p)
            } else {
                Err(cx.err(
                    n,
                    format!(
                        "backup plan '{p}' is not known: use essentials, advanced or enterprise"
                    ),
                ))
            }
        };
        if b.as_map().is_none() {
            return Ok(Backup {
                plan: plan_of(self, b)?,
                email: None,
                clients: Vec::new(),
            });
        }
        self.check_keys(b, &["plan", "email", "clients"], "'backup'");
        let plan = match b.get("plan") {
            Some(p) => plan_of(self, p)?,
            None => {
                return Err(self.err(
                    b,
                    "'backup' needs a 'plan' (essentials, advanced or enterprise)",
                ));
            }
        };
        let email = b
            .get("email")
            .map(|e| self.text(e, "'email'"))
            .transpose()?;
        let mut clients = Vec::new();
        if let Some(MNode {
            value: MValue::Seq(items),
            ..
        }) = b.get("clients")
        {
            for c in items {
                self.check_keys(
                    c,
                    &[
                        "type",
                        "storagePolicy",
                        "schedulePolicy",
                        "trigger",
                        "email",
                    ],
                    "a backup client",
                );
                let field = |k: &str, default: &str| -> Result<String, LoadError> {
                    c.get(k)
                        .map(|v| self.text(v, k))
                        .transpose()
                        .map(|v| v.unwrap_or_else(|| default.to_string()))
                };
                clients.push(BackupClient {
                    kind: field("type", "filesystem")?,
                    storage_policy: field("storagePolicy", "14 Day Storage Policy")?,
                    schedule_policy: field("schedulePolicy", "12AM - 6AM")?,
                    trigger: field("trigger", "ON_FAILURE")?,
                    email: c
                        .get("email")
                        .map(|e| self.text(e, "'email'"))
                        .transpose()?,
                });
            }
        }
        Ok(Backup {
            plan,
            email,
            clients,
        })
    }
}

/// One `prepare:` line: `run SCRIPT [ARGS]`, `run_raw ...`, `put FILE [DEST]`, `put_raw ...`, or text.
fn prepare_step(text: &str) -> Result<PrepareStep, String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let raw = matches!(words.first(), Some(&"run_raw") | Some(&"put_raw"));
    match words.first().copied() {
        Some("run") | Some("run_raw") => match words.get(1) {
            Some(script) => Ok(PrepareStep::Run {
                script: script.to_string(),
                args: words[2..].iter().map(|s| s.to_string()).collect(),
                raw,
            }),
            None => Err(format!(
                "'{text}' names no script: write 'run SCRIPT [ARGS]'"
            )),
        },
        Some("put") | Some("put_raw") => match words.get(1) {
            Some(file) if words.len() <= 3 => Ok(PrepareStep::Put {
                file: file.to_string(),
                dest: words.get(2).map(|s| s.to_string()),
                raw,
            }),
            Some(_) => Err(format!(
                "'{text}' has too many words: write 'put FILE [DESTINATION]'"
            )),
            None => Err(format!(
                "'{text}' names no file: write 'put FILE [DESTINATION]'"
            )),
        },
        _ => Ok(PrepareStep::Echo {
            text: text
                .trim()
                .strip_prefix("echo ")
                .unwrap_or(text.trim())
                .to_string(),
        }),
    }
}
