//! The loading context shared by the loaders of each part of a plan: the file, the warnings so far,
//! the token sites to check at the end, and the helpers that read scalars and lists and place
//! errors at their file:line:column.

use std::collections::BTreeMap;

use crate::error::{LoadError, Warning};
use crate::model::SourcePos;
use crate::yaml::{MNode, MValue};

/// A string of the plan that may hold tokens, with where it was written and what it belongs to.
pub(crate) struct Site {
    pub line: usize,
    pub column: usize,
    pub block: bool,
    pub text: String,
    pub scope: Scope,
}

/// What a text belongs to (decides which tokens make sense there).
#[derive(Clone)]
pub(crate) enum Scope {
    /// Plan, location or blueprint information: no node.
    General { location: Option<usize> },
    /// A node's settings.
    Node { location: usize, node: String },
    /// A balancer's information.
    Balancer { location: usize },
}

/// Loading state: the file name, warnings so far, and token sites to check at the end.
pub(crate) struct Cx<'a> {
    pub file: &'a str,
    pub warnings: Vec<Warning>,
    pub sites: Vec<Site>,
    /// Index of the location being loaded.
    pub next_location: usize,
    /// Nodes declared so far, ranges expanded (capped by `node::MAX_PLAN_NODES`).
    pub node_count: usize,
    /// The plan text after the parameter pre-pass (to place tokens).
    pub text: &'a str,
    /// Parameters used but not declared, with their message (see `params::Prepared::unknown`).
    pub unknown_params: &'a BTreeMap<String, String>,
}

impl Cx<'_> {
    pub fn pos(&self, n: &MNode) -> SourcePos {
        SourcePos {
            file: self.file.to_string(),
            line: n.line,
            column: n.column,
        }
    }

    pub fn err(&self, n: &MNode, message: impl Into<String>) -> LoadError {
        LoadError::at(self.pos(n), message)
    }

    /// Why a `{{ parameter.X }}` token is still in a value: not declared, or declared without value.
    pub fn parameter_problem(&self, name: &str) -> String {
        self.unknown_params
            .get(name)
            .cloned()
            .unwrap_or_else(|| crate::params::no_value(name))
    }

    pub fn warn(&mut self, n: &MNode, message: impl Into<String>) {
        let w = Warning {
            pos: self.pos(n),
            message: message.into(),
        };
        self.warnings.push(w);
    }

    /// Warns about keys of `map` not in `known` (`what` names the place, like "node 'redis01'").
    pub fn check_keys(&mut self, map: &MNode, known: &[&str], what: &str) {
        let Some(entries) = map.as_map() else { return };
        for (k, _) in entries {
            let key = k.scalar_text().unwrap_or_default();
            if known.contains(&key.as_str()) {
                continue;
            }
            let hint = match known.iter().find(|c| close(c, &key)) {
                Some(c) => format!("; did you mean '{c}'?"),
                None => format!(" (known keys: {})", known.join(", ")),
            };
            self.warn(k, format!("unknown key '{key}' in {what} is ignored{hint}"));
        }
    }

    /// Records the string scalars under `n` that hold tokens.
    pub fn collect_sites(&mut self, n: &MNode, scope: &Scope) {
        match &n.value {
            MValue::Str { text, block } if text.contains("{{") => self.sites.push(Site {
                line: n.line,
                column: n.column,
                block: *block,
                text: text.clone(),
                scope: scope.clone(),
            }),
            MValue::Seq(items) => items.iter().for_each(|i| self.collect_sites(i, scope)),
            MValue::Map(entries) => entries.iter().for_each(|(k, v)| {
                self.collect_sites(k, scope);
                self.collect_sites(v, scope);
            }),
            _ => {}
        }
    }

    /// A required-or-optional scalar as text; an error if it is a list or a mapping.
    pub fn text(&self, n: &MNode, what: &str) -> Result<String, LoadError> {
        match &n.value {
            MValue::Seq(_) | MValue::Map(_) => Err(self.err(
                n,
                format!("{what} must be a single value, not {}", n.kind_name()),
            )),
            _ => {
                let text = n.scalar_text().unwrap_or_default();
                if let Some(name) = leftover_parameter(&text) {
                    return Err(self.err(n, self.parameter_problem(&name)));
                }
                Ok(text)
            }
        }
    }

    /// A list of strings (a single string gives one item).
    pub fn string_list(&self, n: &MNode, what: &str) -> Result<Vec<(String, MNode)>, LoadError> {
        match &n.value {
            MValue::Null => Ok(Vec::new()),
            MValue::Seq(items) => items
                .iter()
                .map(|i| {
                    let t = self.text(i, &format!("each item of {what}"))?;
                    Ok((t, i.clone()))
                })
                .collect(),
            _ => Ok(vec![(self.text(n, what)?, n.clone())]),
        }
    }
}

/// Whether two key names are within two edits of each other (for "did you mean").
fn close(a: &str, b: &str) -> bool {
    let (a, b): (Vec<char>, Vec<char>) = (
        a.to_lowercase().chars().collect(),
        b.to_lowercase().chars().collect(),
    );
    if a.len().abs_diff(b.len()) > 2 {
        return false;
    }
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()] <= 2
}

/// Sorted, comma-separated names for messages, at most 20.
pub(crate) fn list_names<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    let mut v: Vec<&str> = names.into_iter().collect();
    v.sort_unstable();
    v.dedup();
    let more = v.len().saturating_sub(20);
    v.truncate(20);
    let mut s = if v.is_empty() {
        "none".to_string()
    } else {
        v.join(", ")
    };
    if more > 0 {
        s.push_str(&format!(" and {more} more"));
    }
    s
}

/// Blueprint groups of a location: group name -> blueprint names.
pub(crate) type Aliases = BTreeMap<String, Vec<String>>;

/// The name of a `{{ parameter.X }}` token still in `text` (a declared parameter without a value).
pub(crate) fn leftover_parameter(text: &str) -> Option<String> {
    if !text.contains("{{") {
        return None;
    }
    crate::scan::tags(text)
        .into_iter()
        .find_map(|(t, _)| t.strip_prefix("parameter.").map(|n| n.trim().to_string()))
}
