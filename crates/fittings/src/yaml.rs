//! A YAML tree that remembers where each value was written (line and column), built from the
//! `yaml-rust2` event parser. Anchors and aliases are resolved; plain scalars are typed with the YAML 1.1
//! rules PyYAML used for the original plans (`yes`/`no` are booleans, `010` stays an integer).

use std::collections::HashMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// A YAML value with the position where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct MNode {
    /// The value.
    pub value: MValue,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

/// The kinds of YAML values.
#[derive(Debug, Clone, PartialEq)]
pub enum MValue {
    /// `~`, `null` or nothing.
    Null,
    /// `true`, `yes`, `on` ... .
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A string; `block` is true for `|` and `>` scalars (their text starts on the next line).
    Str {
        /// The text.
        text: String,
        /// Literal or folded block scalar.
        block: bool,
    },
    /// A sequence.
    Seq(Vec<MNode>),
    /// A mapping, in document order.
    Map(Vec<(MNode, MNode)>),
}

/// A YAML syntax error with its position.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntaxError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What the parser says.
    pub message: String,
}

impl MNode {
    /// A null node at a position.
    pub fn null(line: usize, column: usize) -> MNode {
        MNode {
            value: MValue::Null,
            line,
            column,
        }
    }

    /// The text of a string scalar.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            MValue::Str { text, .. } => Some(text),
            _ => None,
        }
    }

    /// The entries of a mapping.
    pub fn as_map(&self) -> Option<&[(MNode, MNode)]> {
        match &self.value {
            MValue::Map(m) => Some(m),
            _ => None,
        }
    }

    /// Looks a key up in a mapping (keys compared as text).
    pub fn get(&self, key: &str) -> Option<&MNode> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.scalar_text().as_deref() == Some(key))
            .map(|(_, v)| v)
    }

    /// The key node of an entry of a mapping (for positions of warnings about a key).
    pub fn get_key(&self, key: &str) -> Option<&MNode> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.scalar_text().as_deref() == Some(key))
            .map(|(k, _)| k)
    }

    /// Whether this is null.
    pub fn is_null(&self) -> bool {
        matches!(self.value, MValue::Null)
    }

    /// A scalar rendered as text (`4` for an integer, `true` for a boolean); `None` for collections.
    pub fn scalar_text(&self) -> Option<String> {
        match &self.value {
            MValue::Null => Some(String::new()),
            MValue::Bool(b) => Some(b.to_string()),
            MValue::Int(i) => Some(i.to_string()),
            MValue::Float(f) => Some(f.to_string()),
            MValue::Str { text, .. } => Some(text.clone()),
            _ => None,
        }
    }

    /// A short name of the value's kind for error messages.
    pub fn kind_name(&self) -> &'static str {
        match self.value {
            MValue::Null => "nothing",
            MValue::Bool(_) => "a boolean",
            MValue::Int(_) => "an integer",
            MValue::Float(_) => "a number",
            MValue::Str { .. } => "a string",
            MValue::Seq(_) => "a list",
            MValue::Map(_) => "a mapping",
        }
    }

    /// Converts to a `serde_yaml::Value` (positions dropped).
    pub fn to_value(&self) -> serde_yaml::Value {
        use serde_yaml::Value;
        match &self.value {
            MValue::Null => Value::Null,
            MValue::Bool(b) => Value::Bool(*b),
            MValue::Int(i) => Value::Number((*i).into()),
            MValue::Float(f) => Value::Number((*f).into()),
            MValue::Str { text, .. } => Value::String(text.clone()),
            MValue::Seq(items) => Value::Sequence(items.iter().map(MNode::to_value).collect()),
            MValue::Map(entries) => {
                let mut m = serde_yaml::Mapping::with_capacity(entries.len());
                for (k, v) in entries {
                    m.insert(k.to_value(), v.to_value());
                }
                Value::Mapping(m)
            }
        }
    }
}

/// Parses a (multi-document) YAML text. Empty documents are dropped; a duplicate key keeps the last
/// value, as PyYAML did.
pub fn parse_documents(text: &str) -> Result<Vec<MNode>, SyntaxError> {
    parse_documents_checked(text).map(|(docs, _)| docs)
}

/// How deep mappings and sequences may nest (plans need about 15 levels; far deeper is hostile).
pub const MAX_DEPTH: usize = 100;

/// How many values YAML aliases may copy in all (a "billion laughs" plan stops here, fast).
pub const MAX_ALIAS_VALUES: usize = 100_000;

/// Same as [`parse_documents`], also returning the duplicate keys found (as positioned notes).
///
/// Hostile input fails fast with a positioned error: nesting deeper than [`MAX_DEPTH`], aliases that
/// would copy more than [`MAX_ALIAS_VALUES`] values, and language tags such as `!!python/object`.
pub fn parse_documents_checked(text: &str) -> Result<(Vec<MNode>, Vec<SyntaxError>), SyntaxError> {
    let mut builder = Builder::default();
    let mut parser = Parser::new_from_str(text);
    // events are pulled one by one (the parser's own `load` recurses once per nesting level)
    loop {
        let (event, mark) = parser.next_token().map_err(|e| SyntaxError {
            line: e.marker().line(),
            column: e.marker().col() + 1,
            message: e.info().to_string(),
        })?;
        if event == Event::StreamEnd {
            break;
        }
        builder.on_event(event, mark);
        if let Some(error) = builder.error.take() {
            return Err(error);
        }
    }
    let docs = builder.docs.into_iter().filter(|d| !d.is_null()).collect();
    Ok((docs, builder.duplicates))
}

/// Tags of the YAML core schema; any other tag (`!!python/object/apply:os.system`, `!custom`) is refused.
fn check_tag(tag: Option<&Tag>) -> Result<(), String> {
    const CORE: &[&str] = &[
        "str",
        "int",
        "float",
        "bool",
        "null",
        "seq",
        "map",
        "binary",
        "timestamp",
        "merge",
    ];
    match tag {
        None => Ok(()),
        Some(t) if t.handle == "tag:yaml.org,2002:" && CORE.contains(&t.suffix.as_str()) => Ok(()),
        Some(t) if t.handle == "!" && t.suffix.is_empty() => Ok(()),
        Some(t) => {
            let shown = match t.handle.as_str() {
                "tag:yaml.org,2002:" => format!("!!{}", t.suffix),
                h => format!("{h}{}", t.suffix),
            };
            Err(format!(
                "the tag '{shown}' is not supported: a plan is plain YAML (only the core tags such as !!str)"
            ))
        }
    }
}

/// The number of values in a tree (to charge alias copies against [`MAX_ALIAS_VALUES`]).
fn size(node: &MNode) -> usize {
    match &node.value {
        MValue::Seq(items) => 1 + items.iter().map(size).sum::<usize>(),
        MValue::Map(entries) => {
            1 + entries
                .iter()
                .map(|(k, v)| size(k) + size(v))
                .sum::<usize>()
        }
        _ => 1,
    }
}

enum Frame {
    Seq(MNode, usize),
    Map(MNode, usize, Option<MNode>),
}

#[derive(Default)]
struct Builder {
    docs: Vec<MNode>,
    stack: Vec<Frame>,
    anchors: HashMap<usize, (MNode, usize)>,
    duplicates: Vec<SyntaxError>,
    /// Values copied by aliases so far.
    alias_values: usize,
    /// The first hostile construct met; the caller stops at once.
    error: Option<SyntaxError>,
}

impl Builder {
    fn push_value(&mut self, node: MNode) {
        match self.stack.last_mut() {
            None => self.docs.push(node),
            Some(Frame::Seq(seq, _)) => {
                if let MValue::Seq(items) = &mut seq.value {
                    items.push(node);
                }
            }
            Some(Frame::Map(map, _, pending)) => match pending.take() {
                None => *pending = Some(node),
                Some(key) => {
                    if let MValue::Map(entries) = &mut map.value {
                        let dup = entries
                            .iter_mut()
                            .find(|(k, _)| key.scalar_text().is_some() && k.value == key.value);
                        match dup {
                            Some((_, old)) => {
                                self.duplicates.push(SyntaxError {
                                    line: key.line,
                                    column: key.column,
                                    message: format!(
                                        "duplicate key '{}' in the same mapping: the last value wins",
                                        key.scalar_text().unwrap_or_default()
                                    ),
                                });
                                *old = node;
                            }
                            None => entries.push((key, node)),
                        }
                    }
                }
            },
        }
    }
}

impl Builder {
    fn fail(&mut self, line: usize, column: usize, message: String) {
        self.error.get_or_insert(SyntaxError {
            line,
            column,
            message,
        });
    }

    fn remember(&mut self, anchor: usize, node: &MNode) {
        if anchor > 0 {
            self.anchors.insert(anchor, (node.clone(), size(node)));
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        let (line, column) = (mark.line(), mark.col() + 1);
        let tag = match &ev {
            Event::Scalar(_, _, _, tag)
            | Event::SequenceStart(_, tag)
            | Event::MappingStart(_, tag) => tag.as_ref(),
            _ => None,
        };
        if let Err(message) = check_tag(tag) {
            return self.fail(line, column, message);
        }
        if matches!(ev, Event::SequenceStart(..) | Event::MappingStart(..))
            && self.stack.len() >= MAX_DEPTH
        {
            return self.fail(
                line,
                column,
                format!("lists and mappings are nested more than {MAX_DEPTH} levels deep"),
            );
        }
        match ev {
            Event::Scalar(text, style, anchor, tag) => {
                let node = MNode {
                    value: resolve_scalar(text, style, tag.as_ref()),
                    line,
                    column,
                };
                self.remember(anchor, &node);
                self.push_value(node);
            }
            Event::Alias(id) => {
                let copied = self.anchors.get(&id).map_or(1, |(_, n)| *n);
                self.alias_values = self.alias_values.saturating_add(copied);
                if self.alias_values > MAX_ALIAS_VALUES {
                    return self.fail(
                        line,
                        column,
                        format!(
                            "aliases (*name) would copy more than {MAX_ALIAS_VALUES} values: this looks like a 'billion laughs' plan"
                        ),
                    );
                }
                let node = match self.anchors.get(&id) {
                    Some((n, _)) => n.clone(),
                    None => MNode::null(line, column),
                };
                self.push_value(node);
            }
            Event::SequenceStart(anchor, _) => {
                self.stack.push(Frame::Seq(
                    MNode {
                        value: MValue::Seq(Vec::new()),
                        line,
                        column,
                    },
                    anchor,
                ));
            }
            Event::MappingStart(anchor, _) => {
                self.stack.push(Frame::Map(
                    MNode {
                        value: MValue::Map(Vec::new()),
                        line,
                        column,
                    },
                    anchor,
                    None,
                ));
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let (mut node, anchor) = match self.stack.pop() {
                    Some(Frame::Seq(n, a)) => (n, a),
                    Some(Frame::Map(n, a, _)) => (n, a),
                    None => return,
                };
                // a block mapping's start mark points past its first key: use the first key instead
                if let MValue::Map(entries) = &node.value
                    && let Some((k, _)) = entries.first()
                {
                    (node.line, node.column) = (k.line, k.column);
                }
                self.remember(anchor, &node);
                let node = merge_keys(node);
                self.push_value(node);
            }
            _ => {}
        }
    }
}

/// Applies YAML merge keys (`<<: *anchor`): entries of the merged mapping(s) not already present.
fn merge_keys(node: MNode) -> MNode {
    let MValue::Map(entries) = &node.value else {
        return node;
    };
    if !entries.iter().any(|(k, _)| k.as_str() == Some("<<")) {
        return node;
    }
    let MNode {
        value: MValue::Map(entries),
        line,
        column,
    } = node
    else {
        unreachable!()
    };
    let mut own = Vec::new();
    let mut merged = Vec::new();
    for (k, v) in entries {
        if k.as_str() == Some("<<") {
            match v.value {
                MValue::Map(m) => merged.extend(m),
                MValue::Seq(items) => {
                    for item in items {
                        if let MValue::Map(m) = item.value {
                            merged.extend(m);
                        }
                    }
                }
                _ => {}
            }
        } else {
            own.push((k, v));
        }
    }
    for (k, v) in merged {
        if !own.iter().any(|(ok, _)| ok.value == k.value) {
            own.push((k, v));
        }
    }
    MNode {
        value: MValue::Map(own),
        line,
        column,
    }
}

fn resolve_scalar(text: String, style: TScalarStyle, tag: Option<&Tag>) -> MValue {
    let block = matches!(style, TScalarStyle::Literal | TScalarStyle::Folded);
    if tag.is_some_and(|t| t.suffix == "str") {
        return MValue::Str { text, block };
    }
    if style != TScalarStyle::Plain {
        return MValue::Str { text, block };
    }
    match text.as_str() {
        "" | "~" | "null" | "Null" | "NULL" => return MValue::Null,
        "true" | "True" | "TRUE" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" => {
            return MValue::Bool(true);
        }
        "false" | "False" | "FALSE" | "no" | "No" | "NO" | "off" | "Off" | "OFF" => {
            return MValue::Bool(false);
        }
        _ => {}
    }
    if let Some(i) = parse_int(&text) {
        return MValue::Int(i);
    }
    if looks_like_float(&text)
        && let Ok(f) = text.replace('_', "").parse::<f64>()
    {
        return MValue::Float(f);
    }
    MValue::Str { text, block: false }
}

fn parse_int(text: &str) -> Option<i64> {
    let (neg, digits) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let value = if let Some(hex) = digits.strip_prefix("0x") {
        i64::from_str_radix(&hex.replace('_', ""), 16).ok()?
    } else if let Some(oct) = digits.strip_prefix("0o") {
        i64::from_str_radix(&oct.replace('_', ""), 8).ok()?
    } else if !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit() || b == b'_')
        && digits.as_bytes()[0].is_ascii_digit()
    {
        digits.replace('_', "").parse::<i64>().ok()?
    } else {
        return None;
    };
    Some(if neg { -value } else { value })
}

fn looks_like_float(text: &str) -> bool {
    let t = text.trim_start_matches(['-', '+']);
    let mut dots = 0;
    for (i, c) in t.char_indices() {
        match c {
            '0'..='9' | '_' => {}
            '.' => dots += 1,
            'e' | 'E' => {
                return dots == 1
                    && t[i + 1..]
                        .trim_start_matches(['-', '+'])
                        .bytes()
                        .all(|b| b.is_ascii_digit());
            }
            _ => return false,
        }
    }
    dots == 1 && t.len() > 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based() {
        let docs = parse_documents("a: 1\nb:\n  c: yes\n").unwrap();
        let b = docs[0].get("b").unwrap();
        let c = b.get("c").unwrap();
        assert_eq!((c.line, c.column), (3, 6));
        assert_eq!(c.value, MValue::Bool(true));
        assert_eq!(docs[0].get("a").unwrap().value, MValue::Int(1));
    }

    #[test]
    fn anchors_and_aliases_and_merge_keys() {
        let docs = parse_documents("x: &d {name: a}\ny: *d\nz:\n  <<: *d\n  more: 2\n").unwrap();
        assert_eq!(
            docs[0].get("y").unwrap().get("name").unwrap().as_str(),
            Some("a")
        );
        assert_eq!(
            docs[0].get("z").unwrap().get("name").unwrap().as_str(),
            Some("a")
        );
    }

    #[test]
    fn multi_documents_and_scalars() {
        let docs = parse_documents("---\na: 2.4\n---\nb: 10.0.0.1\nc: '4'\n---\n").unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0].get("a").unwrap().value, MValue::Float(2.4));
        assert_eq!(docs[1].get("b").unwrap().as_str(), Some("10.0.0.1"));
        assert_eq!(docs[1].get("c").unwrap().as_str(), Some("4"));
    }

    #[test]
    fn syntax_errors_have_positions() {
        let err = parse_documents("a: 1\nb: [1, 2\n").unwrap_err();
        assert!(err.line >= 2, "{err:?}");
        let (docs, dups) = parse_documents_checked("a: 1\na: 2\n").unwrap();
        assert_eq!(docs[0].get("a").unwrap().value, MValue::Int(2));
        assert_eq!(dups[0].line, 2);
    }

    #[test]
    fn billion_laughs_stop_early() {
        let mut text = String::from("a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        for (prev, name) in ["a", "b", "c", "d", "e", "f", "g", "h"]
            .iter()
            .zip(["b", "c", "d", "e", "f", "g", "h", "i"])
        {
            let refs = vec![format!("*{prev}"); 9].join(", ");
            text.push_str(&format!("{name}: &{name} [{refs}]\n"));
        }
        let err = parse_documents(&text).unwrap_err();
        assert!(err.message.contains("billion laughs"), "{err:?}");
        assert!(err.line > 1);
        // a few aliases are fine
        assert!(parse_documents("a: &a [1, 2]\nb: [*a, *a]\n").is_ok());
    }

    #[test]
    fn deep_nesting_and_language_tags_are_refused() {
        let deep: String = (0..500)
            .map(|i| format!("{}k:\n", "  ".repeat(i)))
            .collect();
        let err = parse_documents(&deep).unwrap_err();
        assert!(err.message.contains("nested more than"), "{err:?}");
        assert_eq!(err.line, MAX_DEPTH + 1);
        let err = parse_documents("a: !!python/object/apply:os.system [ls]\n").unwrap_err();
        assert!(
            err.message.contains("'!!python/object/apply:os.system'"),
            "{err:?}"
        );
        assert!(parse_documents("a: !custom x\n").is_err());
        let ok = parse_documents("a: !!str 010\n").unwrap();
        assert_eq!(ok[0].get("a").unwrap().as_str(), Some("010"));
    }
}
