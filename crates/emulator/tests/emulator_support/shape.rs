//! Shape comparison of an answer with a fixture file, by the API's XML-to-JSON mapping rule: same
//! root element and namespace, same element and attribute names (values may differ). Included by
//! the test files that need it with `#[path]`.

use std::collections::BTreeSet;

use emulator::http::{Response, xml_to_json};
use serde_json::Value;

fn paths(v: &Value, path: &str, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}/{k}")
                };
                out.insert(p.clone());
                paths(x, &p, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| paths(x, path, out)),
        _ => {}
    }
}

/// Root element local name and its default namespace.
fn root(text: &str) -> (String, String) {
    let start = text
        .match_indices('<')
        .map(|(i, _)| i)
        .find(|i| !text[i + 1..].starts_with('?') && !text[i + 1..].starts_with('!'))
        .unwrap();
    let tag: String = text[start + 1..]
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != '>' && *c != '/')
        .collect();
    let local = tag.rsplit(':').next().unwrap().to_string();
    let prefix = tag
        .split_once(':')
        .map(|(p, _)| format!("xmlns:{p}=\""))
        .unwrap_or("xmlns=\"".into());
    let head = &text[start..text[start..].find('>').unwrap() + start];
    let ns = head
        .find(&prefix)
        .map(|i| {
            head[i + prefix.len()..]
                .split('"')
                .next()
                .unwrap()
                .to_string()
        })
        .unwrap_or_default();
    (local, ns)
}

/// Problems between the answer and the fixture `dir/file`: root, namespace, names (`ignore`d
/// names are left out: values the fixture has that this answer need not, e.g. optional elements).
pub fn shape(dir: &str, file: &str, r: &Response, ignore: &[&str]) -> Vec<String> {
    let text = std::fs::read_to_string(format!("{dir}{file}")).unwrap();
    let mut problems = Vec::new();
    if root(&text) != root(&r.body) {
        problems.push(format!(
            "{file}: root {:?} vs fixture {:?}",
            root(&r.body),
            root(&text)
        ));
    }
    let (mut want, mut got) = (BTreeSet::new(), BTreeSet::new());
    paths(&xml_to_json(&text).unwrap(), "", &mut want);
    paths(
        &r.xml()
            .unwrap_or_else(|e| panic!("{file}: {e}: {}", r.body)),
        "",
        &mut got,
    );
    let skip = |p: &String| ignore.iter().any(|i| p.split('/').any(|s| s == *i));
    for p in want.difference(&got).filter(|p| !skip(p)) {
        problems.push(format!("{file}: missing {p}"));
    }
    for p in got.difference(&want).filter(|p| !skip(p)) {
        problems.push(format!("{file}: extra {p}"));
    }
    problems
}
