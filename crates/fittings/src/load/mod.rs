//! Loading a plan: pre-pass, YAML documents, settings and facilities, then blueprints and nodes
//! (see `blueprint` and `node`), then the token check (`check`).

mod blueprint;
mod capacity;
mod check;
mod cx;
mod merge;
mod node;

use super::error::{LoadError, Warning};
use super::model::{ActionSpec, Location, Plan, Settings, SourcePos};
use super::params::{self, Parameters, lines};
use super::source::PlanSource;
use super::yaml::{self, MNode, MValue};
use cx::{Cx, Scope};

/// Most nodes one plan may declare, ranges expanded (a hostile `node[1..9999]` repeated stops here).
pub const MAX_PLAN_NODES: usize = 10_000;

/// Reads, parses and checks a plan. Returns the plan and the warnings (unknown keys, ignored settings).
pub fn load(source: &PlanSource, params: &Parameters) -> Result<(Plan, Vec<Warning>), LoadError> {
    let text = source.read()?;
    load_text(&text.name, &text.text, params)
}

/// Same as [`load`] for a plan already in memory; `file` names it in messages.
pub fn load_text(
    file: &str,
    raw: &str,
    params: &Parameters,
) -> Result<(Plan, Vec<Warning>), LoadError> {
    // a UTF-8 byte order mark (saved by some Windows editors) is not part of the first key
    let raw = raw.strip_prefix('\u{feff}').unwrap_or(raw);
    refuse_control_characters(file, raw)?;
    let prepared = params::prepass(file, raw, params)?;
    let mut cx = Cx {
        file,
        warnings: prepared.warnings,
        sites: Vec::new(),
        next_location: 0,
        node_count: 0,
        text: &prepared.text,
        unknown_params: &prepared.unknown,
    };
    let docs = cx.documents()?;
    let (settings_doc, facility_docs) = if docs.len() > 1 {
        (Some(&docs[0]), &docs[1..])
    } else {
        (None, &docs[..])
    };
    let empty = MNode {
        value: MValue::Map(Vec::new()),
        line: 1,
        column: 1,
    };
    let settings_doc = settings_doc.unwrap_or(&empty);
    let mut settings = cx.settings(settings_doc)?;
    settings.parameters = prepared.specs;
    settings.parameter_values = prepared.values;
    let defaults = settings_doc
        .get("defaults")
        .cloned()
        .unwrap_or_else(|| MNode::null(1, 1));
    if !defaults.is_null() && defaults.as_map().is_none() {
        return Err(cx.err(&defaults, "'defaults' must be a mapping"));
    }
    settings.defaults = defaults.to_value();
    let mut locations = Vec::new();
    for (index, doc) in facility_docs.iter().enumerate() {
        cx.next_location = index;
        locations.push(cx.location(doc, &defaults)?);
    }
    cx.check_default_blueprints(&defaults, &locations)?;
    check_plan(&mut cx, &locations)?;
    log_loaded(file, &locations, cx.warnings.len());
    let plan = Plan {
        origin: file.to_string(),
        settings,
        locations,
    };
    Ok((plan, without_repeats(cx.warnings)))
}

/// The whole-plan checks, in order, once every location is loaded; the first failure is the error.
fn check_plan(cx: &mut Cx<'_>, locations: &[Location]) -> Result<(), LoadError> {
    check::check_names(locations)?;
    check::check_networks(locations)?;
    capacity::check_vlan_capacity(locations)?;
    capacity::check_public_ipv4(locations)?;
    check::check_rule_names(locations, &mut cx.warnings)?;
    check::check_tokens(cx, locations)
}

/// Logs (at debug level) the size of a loaded plan.
fn log_loaded(file: &str, locations: &[Location], warnings: usize) {
    tracing::debug!(
        file,
        locations = locations.len(),
        nodes = locations
            .iter()
            .flat_map(|l| &l.blueprints)
            .map(|b| b.nodes.len())
            .sum::<usize>(),
        warnings,
        "plan loaded"
    );
}

/// Keeps the first of warnings that repeat (same line, column and message), in order.
fn without_repeats(mut warnings: Vec<Warning>) -> Vec<Warning> {
    // a node class is checked once per node that uses it: keep each warning once
    let mut seen = std::collections::HashSet::new();
    warnings.retain(|w| seen.insert((w.pos.line, w.pos.column, w.message.clone())));
    warnings
}

impl Cx<'_> {
    /// Parses the plan's YAML documents, warning about duplicate keys; an error if there are none.
    fn documents(&mut self) -> Result<Vec<MNode>, LoadError> {
        let file = self.file;
        let (docs, duplicates) = yaml::parse_documents_checked(self.text).map_err(|e| {
            LoadError::at(
                SourcePos {
                    file: file.to_string(),
                    line: e.line,
                    column: e.column,
                },
                format!("this is not valid YAML: {}", e.message),
            )
        })?;
        for d in duplicates {
            let pos = SourcePos {
                file: file.to_string(),
                line: d.line,
                column: d.column,
            };
            self.warnings.push(Warning {
                pos,
                message: d.message,
            });
        }
        if docs.is_empty() {
            return Err(LoadError::plain(format!(
                "{file}: the plan is empty; it needs at least one document with 'locationId' and 'blueprints'"
            )));
        }
        Ok(docs)
    }

    /// `defaults.blueprints` may name only blueprints that some location defines.
    fn check_default_blueprints(
        &self,
        defaults: &MNode,
        locations: &[Location],
    ) -> Result<(), LoadError> {
        let Some(at) = defaults.get("blueprints") else {
            return Ok(());
        };
        let named = locations.first().and_then(|l| l.default_blueprints.clone());
        for name in named.unwrap_or_default() {
            let known = locations.iter().any(|l| {
                l.blueprints.iter().any(|b| b.name == name) || l.aliases.contains_key(&name)
            });
            if !known {
                return Err(self.err(
                    at,
                    format!("'defaults.blueprints' names '{name}', a blueprint no location defines: remove it or define it"),
                ));
            }
        }
        Ok(())
    }

    fn settings(&mut self, doc: &MNode) -> Result<Settings, LoadError> {
        if doc.as_map().is_none() {
            return Err(self.err(
                doc,
                format!(
                    "the first document must be a mapping of settings, not {}",
                    doc.kind_name()
                ),
            ));
        }
        const KNOWN: &[&str] = &[
            "information",
            "links",
            "parameters",
            "defaults",
            "keys",
            "actions",
            "buildPolisher",
            "safeMode",
            "polishers",
        ];
        self.check_keys(doc, KNOWN, "the settings document");
        let mut s = Settings {
            build_polisher: "configure".into(),
            ..Settings::default()
        };
        if let Some(i) = doc.get("information") {
            s.information = lines(i);
            self.collect_sites(i, &Scope::General { location: None });
        }
        if let Some(links) = doc.get("links").and_then(MNode::as_map) {
            for (k, v) in links {
                s.links.insert(
                    k.scalar_text().unwrap_or_default(),
                    v.scalar_text().unwrap_or_default(),
                );
            }
        }
        if let Some(keys) = doc.get("keys") {
            for (key, item) in self.string_list(keys, "'keys'")? {
                if !expand_home(&key).is_file() {
                    self.warn(
                        &item,
                        format!("SSH key file '{key}' does not exist on this machine"),
                    );
                }
                s.keys.push(key);
            }
        }
        if let Some(actions) = doc.get("actions") {
            s.actions = self.actions(actions)?;
        }
        if let Some(p) = doc.get_key("polishers") {
            self.warn(p, "'polishers' is an old name that the original ignored; write 'actions:' to declare polishers");
        }
        if let Some(b) = doc.get("buildPolisher") {
            s.build_polisher = self.text(b, "'buildPolisher'")?;
        }
        if let Some(m) = doc.get("safeMode") {
            s.safe_mode = match m.value {
                MValue::Bool(b) => b,
                _ => return Err(self.err(m, "'safeMode' must be true or false")),
            };
        }
        Ok(s)
    }

    fn actions(&self, n: &MNode) -> Result<Vec<ActionSpec>, LoadError> {
        let MValue::Seq(items) = &n.value else {
            return Err(self.err(
                n,
                "'actions' must be a list such as '- information: {output: info.yaml}'",
            ));
        };
        let mut out = Vec::new();
        for item in items {
            match &item.value {
                MValue::Str { text, .. } => out.push(ActionSpec {
                    name: text.clone(),
                    settings: serde_yaml::Value::Null,
                }),
                MValue::Map(entries) => {
                    for (k, v) in entries {
                        out.push(ActionSpec {
                            name: k.scalar_text().unwrap_or_default(),
                            settings: v.to_value(),
                        });
                    }
                }
                _ => {
                    return Err(self.err(
                        item,
                        "each action must be a polisher name or '- name: {settings}'",
                    ));
                }
            }
        }
        Ok(out)
    }

    fn location(&mut self, doc: &MNode, defaults: &MNode) -> Result<Location, LoadError> {
        if doc.as_map().is_none() {
            return Err(self.err(
                doc,
                format!(
                    "a facility document must be a mapping, not {}",
                    doc.kind_name()
                ),
            ));
        }
        const KNOWN: &[&str] = &[
            "locationId",
            "regionId",
            "apiHost",
            "blueprints",
            "basement",
            "prepare",
            "information",
        ];
        self.check_keys(doc, KNOWN, "a facility document");
        let setting = |key: &str| {
            doc.get(key)
                .or_else(|| defaults.get(key))
                .filter(|n| !n.is_null())
        };
        let location_id = match setting("locationId") {
            Some(n) => self.text(n, "'locationId'")?,
            None => {
                return Err(self.err(doc, "this facility document has no 'locationId': add one, for example 'locationId: EU6'"));
            }
        };
        if location_id.trim().is_empty() {
            return Err(self.err(
                setting("locationId").unwrap_or(doc),
                "'locationId' is empty: name a data centre such as EU6",
            ));
        }
        let region_id = setting("regionId")
            .map(|n| self.text(n, "'regionId'"))
            .transpose()?;
        let api_host = setting("apiHost")
            .map(|n| self.text(n, "'apiHost'"))
            .transpose()?;
        let basement = match setting("basement") {
            Some(n) => self
                .text(n, "'basement'")?
                .split_whitespace()
                .map(str::to_string)
                .collect(),
            None => Vec::new(),
        };
        let beachheads = self.beachheads(setting("prepare"))?;
        let index = self.next_location;
        let information = match doc.get("information") {
            Some(i) => {
                self.collect_sites(
                    i,
                    &Scope::General {
                        location: Some(index),
                    },
                );
                lines(i)
            }
            None => Vec::new(),
        };
        let default_blueprints = self.default_blueprints(defaults)?;
        let blueprints_node = doc.get("blueprints").filter(|n| !n.is_null()).or_else(|| {
            defaults
                .get("blueprints")
                .filter(|n| matches!(n.value, MValue::Seq(_)))
        });
        let Some(blueprints_node) = blueprints_node else {
            return Err(self.err(doc, format!("location {location_id} has no 'blueprints': add a list such as '- web: {{domain: ..., ethernet: ..., nodes: ...}}'")));
        };
        let (blueprints, aliases) = self.blueprints(blueprints_node, defaults, index)?;
        for name in &basement {
            if !blueprints.iter().any(|b| &b.name == name) {
                let at = setting("basement").unwrap_or(doc);
                return Err(self.err(
                    at,
                    format!(
                        "'basement' names blueprint '{name}', which this location does not define"
                    ),
                ));
            }
        }
        Ok(Location {
            location_id,
            region_id,
            api_host,
            basement,
            blueprints,
            aliases,
            beachheads,
            information,
            default_blueprints,
            pos: self.pos(doc),
        })
    }

    /// A facility's `prepare: [- beachhead: ADDRESS]`.
    fn beachheads(&mut self, prepare: Option<&MNode>) -> Result<Vec<String>, LoadError> {
        let mut beachheads = Vec::new();
        if let Some(p) = prepare {
            for item in match &p.value {
                MValue::Seq(items) => items.as_slice(),
                _ => {
                    return Err(self.err(
                        p,
                        "'prepare' must be a list such as '- beachhead: 10.1.2.3'",
                    ));
                }
            } {
                match item.get("beachhead") {
                    Some(b) => beachheads.push(self.text(b, "'beachhead'")?),
                    None => self.warn(item, "only 'beachhead: ADDRESS' is understood in a facility 'prepare' list; this item is ignored"),
                }
            }
        }
        Ok(beachheads)
    }

    /// `defaults.blueprints` when it is a string (see below).
    fn default_blueprints(&self, defaults: &MNode) -> Result<Option<Vec<String>>, LoadError> {
        // `defaults.blueprints` as a string narrows "all blueprints" (the original's
        // facility.py:442); as a list it is the blueprints of documents that have none.
        let default_blueprints = match defaults.get("blueprints").map(|n| &n.value) {
            Some(MValue::Seq(_)) | None => None,
            Some(_) => {
                let n = defaults.get("blueprints").expect("just matched");
                Some(
                    self.text(n, "'defaults.blueprints'")?
                        .split_whitespace()
                        .map(str::to_string)
                        .collect::<Vec<_>>(),
                )
            }
        };
        Ok(default_blueprints)
    }
}

/// YAML allows no control characters but tab, line feed, carriage return and NEL; the parser would
/// silently stop at a NUL byte and drop the rest of the plan, so any of them is an error here.
fn refuse_control_characters(file: &str, raw: &str) -> Result<(), LoadError> {
    let Some((offset, c)) = raw
        .char_indices()
        .find(|(_, c)| c.is_control() && !matches!(c, '\t' | '\n' | '\r' | '\u{85}'))
    else {
        return Ok(());
    };
    let (line, column) = crate::scan::LineIndex::new(raw).position(offset);
    let column = 1 + raw[offset + 1 - column..offset].chars().count();
    Err(LoadError::at(
        SourcePos {
            file: file.to_string(),
            line,
            column,
        },
        format!(
            "the plan holds the control character U+{:04X}, which YAML does not allow; remove it",
            u32::from(c)
        ),
    ))
}

/// `~/x` as `$HOME/x`.
fn expand_home(path: &str) -> std::path::PathBuf {
    match (path.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => std::path::PathBuf::from(home).join(rest),
        _ => std::path::PathBuf::from(path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_byte_order_mark_is_skipped() {
        let text = "\u{feff}locationId: EU6\nblueprints: []\n";
        let (plan, _) = load_text("p.yaml", text, &Parameters::new()).unwrap();
        assert_eq!(plan.locations[0].location_id, "EU6");
    }

    #[test]
    fn control_characters_are_refused_where_they_are() {
        let err = load_text(
            "p.yaml",
            "locationId: EU6\nblueprints: [é\u{0}]\n",
            &Parameters::new(),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "p.yaml:2:15: the plan holds the control character U+0000, which YAML does not allow; remove it"
        );
    }
}
