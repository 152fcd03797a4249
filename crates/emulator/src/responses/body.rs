//! Request bodies in either wire form (XML or JSON, chosen by `Content-Type`), turned into one JSON
//! tree by the API's mapping rule, and typed field access whose errors are `INVALID_INPUT_DATA`
//! naming the field.

use quick_xml::events::Event;
use serde_json::{Map, Value};

use crate::errors::{ApiError, ApiResult};

/// Largest request body accepted, in bytes.
pub const MAX_BODY: usize = 256 * 1024;

/// Parses `bytes` as JSON when `content_type` says so (or the body starts with `{`), else as XML whose
/// root element must be `root`. Returns the fields of the root object.
pub fn parse(content_type: &str, bytes: &[u8], root: &str) -> ApiResult<Map<String, Value>> {
    if bytes.len() > MAX_BODY {
        return Err(ApiError::invalid(
            "body",
            format!("request body exceeds {MAX_BODY} bytes"),
        ));
    }
    let text =
        std::str::from_utf8(bytes).map_err(|_| ApiError::invalid("body", "not valid UTF-8"))?;
    let trimmed = text.trim_start();
    if trimmed.is_empty() {
        return Err(ApiError::invalid(
            "body",
            format!("a {root} request body is required"),
        ));
    }
    let json = content_type.contains("json")
        || (!content_type.contains("xml") && trimmed.starts_with('{'));
    if json {
        match serde_json::from_str::<Value>(trimmed) {
            Ok(Value::Object(m)) => Ok(m),
            Ok(_) => Err(ApiError::invalid("body", "a JSON object is required")),
            Err(e) => Err(ApiError::invalid("body", format!("malformed JSON: {e}"))),
        }
    } else {
        let (name, value) = xml_to_value(trimmed)?;
        if name != root {
            return Err(ApiError::invalid(
                "body",
                format!("root element must be {root}, not {name}"),
            ));
        }
        match value {
            Value::Object(m) => Ok(m),
            _ => Ok(Map::new()),
        }
    }
}

/// Converts an XML document to (root local name, JSON value) by the API's mapping rule.
pub fn xml_to_value(text: &str) -> ApiResult<(String, Value)> {
    let bad = |e: &dyn std::fmt::Display| ApiError::invalid("body", format!("malformed XML: {e}"));
    let mut reader = quick_xml::Reader::from_str(text);
    // (local name, attributes and children, text)
    let mut stack: Vec<(String, Map<String, Value>, String)> = Vec::new();
    let mut root: Option<(String, Value)> = None;
    loop {
        let ev = reader.read_event().map_err(|e| bad(&e))?;
        match ev {
            Event::Start(e) | Event::Empty(e) if root.is_some() => {
                let _ = e;
                return Err(bad(&"content after the root element"));
            }
            Event::Start(e) => {
                stack.push(open(&e).map_err(|m| bad(&m))?);
                if stack.len() > 32 {
                    return Err(bad(&"nested too deeply"));
                }
            }
            Event::Empty(e) => {
                let el = open(&e).map_err(|m| bad(&m))?;
                finish(el, &mut stack, &mut root);
            }
            Event::End(_) => {
                let el = stack.pop().ok_or_else(|| bad(&"unbalanced end tag"))?;
                finish(el, &mut stack, &mut root);
            }
            Event::Text(t) => {
                if let Some(top) = stack.last_mut() {
                    top.2.push_str(&t.xml10_content());
                } else if !t.xml10_content().trim().is_empty() {
                    return Err(bad(&"text outside the root element"));
                }
            }
            Event::CData(t) => {
                if let Some(top) = stack.last_mut() {
                    top.2.push_str(&t.xml10_content());
                }
            }
            Event::GeneralRef(r) => {
                if let Some(top) = stack.last_mut() {
                    let name = r.xml10_content();
                    let entity = format!("&{name};");
                    let s = quick_xml::escape::unescape(&entity).map_err(|e| bad(&e))?;
                    top.2.push_str(&s);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !stack.is_empty() {
        return Err(bad(&"unexpected end of document"));
    }
    root.ok_or_else(|| bad(&"no root element"))
}

fn open(
    e: &quick_xml::events::BytesStart<'_>,
) -> Result<(String, Map<String, Value>, String), String> {
    let name = e.local_name().as_ref().to_string();
    let mut map = Map::new();
    for a in e.attributes() {
        let a = a.map_err(|e| e.to_string())?;
        let key = a.key;
        if key.as_ref() == "xmlns" || key.as_ref().starts_with("xmlns:") {
            continue;
        }
        let k = key.local_name().as_ref().to_string();
        let v = a
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|e| e.to_string())?
            .into_owned();
        map.insert(k, Value::String(v));
    }
    Ok((name, map, String::new()))
}

fn finish(
    (name, mut map, text): (String, Map<String, Value>, String),
    stack: &mut [(String, Map<String, Value>, String)],
    root: &mut Option<(String, Value)>,
) {
    let value = if map.is_empty() {
        Value::String(text.trim().to_string())
    } else {
        if !text.trim().is_empty() {
            map.insert("value".into(), Value::String(text.trim().to_string()));
        }
        Value::Object(map)
    };
    match stack.last_mut() {
        Some(parent) => match parent.1.get_mut(&name) {
            Some(Value::Array(a)) => a.push(value),
            Some(existing) => {
                let first = existing.take();
                *existing = Value::Array(vec![first, value]);
            }
            None => {
                parent.1.insert(name, value);
            }
        },
        None => *root = Some((name, value)),
    }
}

/// Typed access to the fields of a request object; errors name the full field path.
#[derive(Debug, Clone, Copy)]
pub struct Fields<'a> {
    map: &'a Map<String, Value>,
    prefix: &'a str,
}

impl<'a> Fields<'a> {
    /// Fields of a top-level request object.
    pub fn new(map: &'a Map<String, Value>) -> Self {
        Fields { map, prefix: "" }
    }

    fn path(&self, name: &str) -> String {
        if self.prefix.is_empty() {
            name.to_string()
        } else {
            format!("{}.{name}", self.prefix)
        }
    }

    /// Whether the field is present (and not null).
    pub fn has(&self, name: &str) -> bool {
        self.map.get(name).is_some_and(|v| !v.is_null())
    }

    /// An optional string (numbers are accepted as their decimal text).
    pub fn str_opt(&self, name: &str) -> ApiResult<Option<String>> {
        match self.map.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(Value::Bool(b)) => Ok(Some(b.to_string())),
            Some(_) => Err(ApiError::invalid(&self.path(name), "must be a string")),
        }
    }

    /// A required, non-empty string.
    pub fn str_req(&self, name: &str) -> ApiResult<String> {
        match self.str_opt(name)? {
            Some(s) if !s.trim().is_empty() => Ok(s),
            Some(_) => Err(ApiError::invalid(&self.path(name), "must not be empty")),
            None => Err(ApiError::invalid(&self.path(name), "is required")),
        }
    }

    /// A required, non-empty string when `required` (a create), else empty (an edit, where the
    /// field cannot change).
    pub fn str_req_if(&self, required: bool, name: &str) -> ApiResult<String> {
        if required {
            self.str_req(name)
        } else {
            Ok(String::new())
        }
    }

    /// An optional boolean (`true`/`false`, any case, or a JSON boolean).
    pub fn bool_opt(&self, name: &str) -> ApiResult<Option<bool>> {
        match self.map.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(_) => Err(ApiError::invalid(&self.path(name), "must be true or false")),
        }
    }

    /// A required boolean.
    pub fn bool_req(&self, name: &str) -> ApiResult<bool> {
        self.bool_opt(name)?
            .ok_or_else(|| ApiError::invalid(&self.path(name), "is required"))
    }

    /// An optional integer within `min..=max`.
    pub fn int_opt(&self, name: &str, min: i64, max: i64) -> ApiResult<Option<i64>> {
        let v = match self.map.get(name) {
            None | Some(Value::Null) => return Ok(None),
            Some(Value::Number(n)) => n.as_i64(),
            Some(Value::String(s)) => s.trim().parse::<i64>().ok(),
            Some(_) => None,
        };
        match v {
            Some(i) if (min..=max).contains(&i) => Ok(Some(i)),
            Some(i) => Err(ApiError::invalid(
                &self.path(name),
                format!("{i} is not within {min}..{max}"),
            )),
            None => Err(ApiError::invalid(&self.path(name), "must be an integer")),
        }
    }

    /// A required integer within `min..=max`.
    pub fn int_req(&self, name: &str, min: i64, max: i64) -> ApiResult<i64> {
        self.int_opt(name, min, max)?
            .ok_or_else(|| ApiError::invalid(&self.path(name), "is required"))
    }

    /// An optional nested object; its fields' errors carry `name` in their path.
    pub fn obj_opt(&self, name: &'a str) -> ApiResult<Option<Fields<'a>>> {
        match self.map.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Object(m)) => Ok(Some(Fields {
                map: m,
                prefix: name,
            })),
            // `<primaryNic/>` with no content arrives as an empty string.
            Some(Value::String(s)) if s.is_empty() => Ok(Some(Fields {
                map: empty(),
                prefix: name,
            })),
            Some(_) => Err(ApiError::invalid(&self.path(name), "must be an object")),
        }
    }

    /// A required nested object.
    pub fn obj_req(&self, name: &'a str) -> ApiResult<Fields<'a>> {
        self.obj_opt(name)?
            .ok_or_else(|| ApiError::invalid(&self.path(name), "is required"))
    }

    /// A repeated nested object (an array, or a single object in XML), possibly absent.
    pub fn list(&self, name: &'a str) -> ApiResult<Vec<Fields<'a>>> {
        match self.map.get(name) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Object(m)) => Ok(vec![Fields {
                map: m,
                prefix: name,
            }]),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| match v {
                    Value::Object(m) => Ok(Fields {
                        map: m,
                        prefix: name,
                    }),
                    _ => Err(ApiError::invalid(name, "items must be objects")),
                })
                .collect(),
            Some(_) => Err(ApiError::invalid(
                &self.path(name),
                "must be a list of objects",
            )),
        }
    }

    /// An optional string that may be explicitly nil (`<x xsi:nil="true"/>` or JSON `null`):
    /// `None` when absent, `Some(None)` when nil, `Some(Some(s))` otherwise.
    pub fn str_nil(&self, name: &str) -> ApiResult<Option<Option<String>>> {
        match self.map.get(name) {
            None => Ok(None),
            Some(Value::Null) => Ok(Some(None)),
            Some(Value::Object(m)) if m.get("nil").and_then(Value::as_str) == Some("true") => {
                Ok(Some(None))
            }
            _ => self.str_opt(name).map(Some),
        }
    }

    /// A repeated text element (an array, or one value in XML), possibly absent; nil items and
    /// empty strings are left out.
    pub fn strs(&self, name: &str) -> ApiResult<Vec<String>> {
        let items: Vec<&Value> = match self.map.get(name) {
            None | Some(Value::Null) => return Ok(Vec::new()),
            Some(Value::Array(a)) => a.iter().collect(),
            Some(v) => vec![v],
        };
        let mut out = Vec::new();
        for v in items {
            match v {
                Value::String(s) if !s.trim().is_empty() => out.push(s.trim().to_string()),
                Value::String(_) | Value::Null | Value::Object(_) => {}
                Value::Number(n) => out.push(n.to_string()),
                _ => return Err(ApiError::invalid(&self.path(name), "must be strings")),
            }
        }
        Ok(out)
    }

    /// The `id` of an action body (`<startServer id="..."/>` or `{"id": "..."}`).
    pub fn id(&self) -> ApiResult<String> {
        self.str_req("id")
    }
}

fn empty() -> &'static Map<String, Value> {
    static EMPTY: once_cell::sync::Lazy<Map<String, Value>> = once_cell::sync::Lazy::new(Map::new);
    &EMPTY
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_and_json_bodies_give_the_same_fields() {
        let xml = r#"<deployServer xmlns="urn:didata.com:api:cloud:types"><name>a &amp; b</name><start>true</start>
            <cpu count="2" speed="STANDARD"/><networkInfo networkDomainId="d"><primaryNic><vlanId>v</vlanId></primaryNic>
            <additionalNic><vlanId>x</vlanId></additionalNic><additionalNic><privateIpv4>10.0.0.5</privateIpv4></additionalNic>
            </networkInfo></deployServer>"#;
        let json = r#"{"name":"a & b","start":true,"cpu":{"count":2,"speed":"STANDARD"},
            "networkInfo":{"networkDomainId":"d","primaryNic":{"vlanId":"v"},
            "additionalNic":[{"vlanId":"x"},{"privateIpv4":"10.0.0.5"}]}}"#;
        for (ct, body) in [("application/xml", xml), ("application/json", json)] {
            let m = parse(ct, body.as_bytes(), "deployServer").unwrap();
            let f = Fields::new(&m);
            assert_eq!(f.str_req("name").unwrap(), "a & b");
            assert!(f.bool_req("start").unwrap());
            assert_eq!(
                f.obj_req("cpu").unwrap().int_req("count", 1, 32).unwrap(),
                2
            );
            let ni = f.obj_req("networkInfo").unwrap();
            assert_eq!(ni.str_req("networkDomainId").unwrap(), "d");
            assert_eq!(
                ni.obj_req("primaryNic").unwrap().str_req("vlanId").unwrap(),
                "v"
            );
            assert_eq!(ni.list("additionalNic").unwrap().len(), 2);
        }
    }

    #[test]
    fn errors_name_the_field() {
        let m = parse(
            "application/json",
            br#"{"networkInfo":{"primaryNic":{}}}"#,
            "deployServer",
        )
        .unwrap();
        let f = Fields::new(&m);
        let e = f
            .obj_req("networkInfo")
            .unwrap()
            .str_req("networkDomainId")
            .unwrap_err();
        assert!(
            e.message.starts_with("networkInfo.networkDomainId"),
            "{}",
            e.message
        );
        assert!(
            parse(
                "application/xml",
                b"<deployServer><name>x</deployServer>",
                "deployServer"
            )
            .is_err()
        );
        assert!(parse("application/xml", b"<other/>", "deployServer").is_err());
        assert!(parse("application/json", b"[1]", "x").is_err());
        assert!(parse("application/json", b"", "x").is_err());
        let big = vec![b' '; MAX_BODY + 1];
        assert!(parse("application/json", &big, "x").is_err());
        let m = parse(
            "",
            br#"<deleteServer xmlns="urn:didata.com:api:cloud:types" id="abc"/>"#,
            "deleteServer",
        )
        .unwrap();
        assert_eq!(Fields::new(&m).id().unwrap(), "abc");
    }
}
