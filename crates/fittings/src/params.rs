//! Parameters: the `-p` values, the plan's `parameters:` declarations, and the pre-pass that replaces
//! every `{{ parameter.X }}` in the raw text before the YAML is parsed (so a value may carry YAML).

use std::collections::BTreeMap;
use std::path::Path;

use super::error::{LoadError, Warning};
use super::model::{ParameterSpec, SourcePos};
use super::scan::{self, LineIndex};
use super::yaml::{self, MNode, MValue};

/// Parameter values given on the command line: name -> value (later `-p` wins).
pub type Parameters = BTreeMap<String, String>;

/// Adds one `-p` argument to `params`: `KEY=VALUE` (the value may contain `=`), or the path of a YAML
/// file holding a mapping of parameters.
pub fn add_cli_parameter(arg: &str, params: &mut Parameters) -> Result<(), LoadError> {
    if let Some((key, value)) = arg.split_once('=') {
        let key = key.trim();
        if key.is_empty() {
            return Err(LoadError::plain(format!(
                "-p {arg}: the parameter name is empty; write -p NAME=VALUE"
            )));
        }
        params.insert(key.to_string(), value.to_string());
        return Ok(());
    }
    let path = Path::new(arg);
    let text = std::fs::read_to_string(path).map_err(|e| {
        LoadError::plain(format!(
            "-p {arg}: not NAME=VALUE, and the parameters file cannot be read ({e}); write -p NAME=VALUE or -p FILE.yaml"
        ))
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let docs = yaml::parse_documents(text).map_err(|e| {
        LoadError::at(
            SourcePos {
                file: arg.to_string(),
                line: e.line,
                column: e.column,
            },
            format!("this parameters file is not valid YAML: {}", e.message),
        )
    })?;
    let Some(doc) = docs.first() else {
        return Ok(());
    };
    let Some(entries) = doc.as_map() else {
        return Err(LoadError::at(
            SourcePos {
                file: arg.to_string(),
                line: doc.line,
                column: doc.column,
            },
            "a parameters file must be a mapping of NAME: VALUE",
        ));
    };
    for (k, v) in entries {
        let (Some(name), Some(value)) = (k.scalar_text(), v.scalar_text()) else {
            return Err(LoadError::at(
                SourcePos {
                    file: arg.to_string(),
                    line: v.line,
                    column: v.column,
                },
                "a parameter value must be a single value (text or number), not a list or a mapping",
            ));
        };
        params.insert(name, value);
    }
    Ok(())
}

/// The result of the pre-pass.
#[derive(Debug)]
pub struct Prepared {
    /// The plan text with every `{{ parameter.X }}` replaced.
    pub text: String,
    /// Declared parameters.
    pub specs: BTreeMap<String, ParameterSpec>,
    /// Value of each parameter.
    pub values: BTreeMap<String, String>,
    /// Warnings (a parameter without default, a `-p` name the plan does not declare).
    pub warnings: Vec<Warning>,
    /// Parameters the plan uses but does not declare, with the message that explains each: their
    /// tokens are left as written (an error later only where a value is required).
    pub unknown: BTreeMap<String, String>,
}

/// Reads the declarations of the first chunk of `raw` (up to the first `\n---`), settles the values,
/// then replaces `{{ parameter.X }}` tokens in the whole text, nested ones included.
pub fn prepass(file: &str, raw: &str, given: &Parameters) -> Result<Prepared, LoadError> {
    let pos = |line, column| SourcePos {
        file: file.to_string(),
        line,
        column,
    };
    let mut warnings = Vec::new();
    let mut specs = BTreeMap::new();
    let mut values = BTreeMap::new();
    // The declarations are in the first chunk (up to a "\n---") holding a document; a chunk of only
    // comments does not count (the original stopped at the first chunk with a newline).
    let first = raw
        .split("\n---")
        .filter(|c| c.contains('\n'))
        .find_map(|c| {
            yaml::parse_documents(c)
                .ok()
                .and_then(|d| d.into_iter().next())
        });
    if let Some(decls) = first.as_ref().and_then(|d| d.get("parameters")) {
        let entries = decls.as_map().ok_or_else(|| {
            LoadError::at(
                pos(decls.line, decls.column),
                "'parameters' must be a mapping of NAME: {information, type, default}",
            )
        })?;
        for (k, v) in entries {
            let name = k.scalar_text().unwrap_or_default();
            let (spec, default_pos) = parse_spec(&name, v, &pos)?;
            match (given.get(&name), &spec.default) {
                (Some(value), _) => {
                    if let Err(msg) = check_range(&name, &spec.kind, value) {
                        return Err(LoadError::plain(format!("-p {name}={value}: {msg}")));
                    }
                    values.insert(name.clone(), value.clone());
                }
                (None, Some(default)) => {
                    if let Err(msg) = check_range(&name, &spec.kind, default) {
                        let (line, column) = default_pos.unwrap_or((k.line, k.column));
                        warnings.push(Warning {
                            pos: pos(line, column),
                            message: format!("the default {msg}"),
                        });
                    }
                    values.insert(name.clone(), default.clone());
                }
                (None, None) => warnings.push(Warning {
                    pos: pos(k.line, k.column),
                    message: format!("{}; its tokens stay unexpanded", no_value(&name)),
                }),
            }
            specs.insert(name.clone(), spec);
        }
    }
    for name in given.keys() {
        if !specs.contains_key(name) {
            warnings.push(Warning {
                pos: pos(1, 1),
                message: format!(
                    "parameter '{name}' given with -p is not declared by this plan; it is ignored"
                ),
            });
        }
    }
    let index = LineIndex::new(raw);
    let mut unknown = BTreeMap::new();
    let text = scan::rewrite(raw, |token, offset| {
        let Some(name) = token.strip_prefix("parameter.") else {
            return Ok(None);
        };
        if let Some(value) = values.get(name.trim()) {
            return Ok(Some(value.clone()));
        }
        if specs.contains_key(name.trim()) {
            return Ok(None);
        }
        // The original refused these (KeyError); plumbery leaves the token as written, as the
        // original did for every other unknown token, and says where it is.
        let (line, column) = index.position(offset);
        let message = unknown_parameter(token, name.trim(), &specs);
        warnings.push(Warning {
            pos: pos(line, column),
            message: format!("{message}; it is left as written"),
        });
        unknown.insert(name.trim().to_string(), message);
        Ok::<_, LoadError>(None)
    })?;
    Ok(Prepared {
        text,
        specs,
        values,
        warnings,
        unknown,
    })
}

/// The message for a declared parameter that has no value.
pub(crate) fn no_value(name: &str) -> String {
    format!(
        "parameter '{name}' has no default value and was not given: give one with -p {name}=VALUE"
    )
}

fn unknown_parameter(token: &str, name: &str, specs: &BTreeMap<String, ParameterSpec>) -> String {
    let declared: Vec<&str> = specs.keys().map(String::as_str).collect();
    let mut msg =
        format!("unknown token '{{{{ {token} }}}}': the plan declares no parameter '{name}'");
    if let Some(close) = declared.iter().find(|d| d.eq_ignore_ascii_case(name)) {
        msg.push_str(&format!(
            " (names are case-sensitive: did you mean 'parameter.{close}'?)"
        ));
    }
    if declared.is_empty() {
        msg.push_str("; declare it under 'parameters:' in the first document");
    } else {
        msg.push_str(&format!("; declared parameters: {}", declared.join(", ")));
    }
    msg
}

type PosFn<'a> = dyn Fn(usize, usize) -> SourcePos + 'a;

fn parse_spec(
    name: &str,
    v: &MNode,
    pos: &PosFn<'_>,
) -> Result<(ParameterSpec, Option<(usize, usize)>), LoadError> {
    if v.as_map().is_none() {
        return Err(LoadError::at(
            pos(v.line, v.column),
            format!(
                "parameter '{name}' must be a mapping with 'information', 'type' and 'default'"
            ),
        ));
    }
    let information = match v.get("information") {
        Some(i) => lines(i),
        None => {
            return Err(LoadError::at(
                pos(v.line, v.column),
                format!(
                    "parameter '{name}' has no 'information': add a line that says what it is for"
                ),
            ));
        }
    };
    let kind = match v.get("type") {
        Some(MNode {
            value: MValue::Seq(items),
            ..
        }) => {
            let inner: Vec<String> = items.iter().filter_map(MNode::scalar_text).collect();
            format!("[{}]", inner.join(", "))
        }
        Some(t) => t.scalar_text().unwrap_or_default(),
        None => {
            return Err(LoadError::at(
                pos(v.line, v.column),
                format!("parameter '{name}' has no 'type' (for example 'type: str')"),
            ));
        }
    };
    let default = v.get("default").filter(|d| !d.is_null());
    let default_pos = default.map(|d| (d.line, d.column));
    let default = match default {
        Some(d) => Some(d.scalar_text().ok_or_else(|| {
            LoadError::at(
                pos(d.line, d.column),
                format!("the default of parameter '{name}' must be a single value"),
            )
        })?),
        None => None,
    };
    Ok((
        ParameterSpec {
            information,
            kind,
            default,
        },
        default_pos,
    ))
}

fn check_range(name: &str, kind: &str, value: &str) -> Result<(), String> {
    let Some(range) = kind.strip_prefix('[').and_then(|k| k.strip_suffix(']')) else {
        return Ok(());
    };
    let Some((low, high)) = range.split_once("..") else {
        return Ok(());
    };
    let (Ok(low), Ok(high)) = (low.trim().parse::<i64>(), high.trim().parse::<i64>()) else {
        return Ok(());
    };
    match value.trim().parse::<i64>() {
        Ok(v) if (low..=high).contains(&v) => Ok(()),
        _ => Err(format!(
            "parameter '{name}' is '{value}', which is not a whole number in {low}..{high}"
        )),
    }
}

/// A list of lines from a string (split on newlines) or a list of scalars.
pub(crate) fn lines(node: &MNode) -> Vec<String> {
    match &node.value {
        MValue::Seq(items) => items.iter().filter_map(MNode::scalar_text).collect(),
        MValue::Null => Vec::new(),
        _ => node
            .scalar_text()
            .map(|t| t.lines().map(str::to_string).collect())
            .unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLAN: &str = "parameters:\n  loc:\n    information: [where]\n    type: locations.list\n    default: EU6\n  size:\n    information: [how many]\n    type: [4..32]\n    default: 8\n---\nlocationId: \"{{ parameter.loc }}\"\nx: {{ {{ parameter.loc }}::n.ipv6 }}\n";

    #[test]
    fn defaults_and_overrides() {
        let p = prepass("f.yaml", PLAN, &Parameters::new()).unwrap();
        assert!(p.text.contains("locationId: \"EU6\""));
        assert!(p.text.contains("{{ EU6::n.ipv6 }}"));
        let mut given = Parameters::new();
        given.insert("loc".into(), "NA12".into());
        let p = prepass("f.yaml", PLAN, &given).unwrap();
        assert_eq!(p.values["loc"], "NA12");
        assert_eq!(p.specs["size"].kind, "[4..32]");
    }

    #[test]
    fn unknown_parameter_names_line_and_choices() {
        let plan = PLAN.replace("{{ parameter.loc }}\"", "{{ parameter.LOC }}\"");
        let p = prepass("f.yaml", &plan, &Parameters::new()).unwrap();
        assert_eq!(
            p.warnings.last().unwrap().to_string(),
            "f.yaml:11:14: warning: unknown token '{{ parameter.LOC }}': the plan declares no parameter 'LOC' (names are case-sensitive: did you mean 'parameter.loc'?); declared parameters: loc, size; it is left as written"
        );
        assert!(p.text.contains("{{ parameter.LOC }}"), "left as written");
        assert!(p.unknown["LOC"].starts_with("unknown token"));
    }

    #[test]
    fn range_types_are_checked() {
        let mut given = Parameters::new();
        given.insert("size".into(), "64".into());
        let err = prepass("f.yaml", PLAN, &given).unwrap_err();
        assert_eq!(
            err.to_string(),
            "-p size=64: parameter 'size' is '64', which is not a whole number in 4..32"
        );
        let plan = PLAN.replace("default: 8", "default: 2");
        let p = prepass("f.yaml", &plan, &Parameters::new()).unwrap();
        assert_eq!(
            p.warnings[0].to_string(),
            "f.yaml:9:14: warning: the default parameter 'size' is '2', which is not a whole number in 4..32"
        );
    }

    #[test]
    fn cli_parameters() {
        let mut p = Parameters::new();
        add_cli_parameter("a=b=c", &mut p).unwrap();
        assert_eq!(p["a"], "b=c");
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("p.yaml");
        std::fs::write(&f, "a: 1\nb: two\n").unwrap();
        add_cli_parameter(f.to_str().unwrap(), &mut p).unwrap();
        assert_eq!((p["a"].as_str(), p["b"].as_str()), ("1", "two"));
        assert!(add_cli_parameter("/nonexistent.yaml", &mut p).is_err());
    }
}
