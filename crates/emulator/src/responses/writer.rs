//! One streaming writer that renders the same description as XML (namespace
//! `urn:didata.com:api:cloud:types`) or JSON, following the API's mapping rule: attributes and child
//! elements both become JSON properties, repeated elements become arrays named with the singular name,
//! `true`/`false` and numbers become JSON booleans and numbers.

use std::fmt::Write as _;

/// The CloudControl 2.x XML namespace.
pub const TYPES_NS: &str = "urn:didata.com:api:cloud:types";

/// Wire format of a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// XML (the default).
    Xml,
    /// JSON (when `Accept` asks for `application/json`).
    Json,
}

impl Format {
    /// The `Content-Type` to answer with.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Xml => "application/xml; charset=utf-8",
            Format::Json => "application/json",
        }
    }
}

#[derive(Debug)]
struct Frame {
    name: &'static str,
    list: bool,
    first: bool,
}

/// Streaming XML/JSON writer. Call `open`, then `attr_*`, then children (`text_*`, `open`, lists),
/// then `close`. Lists (`begin_list`/`end_list`) are invisible in XML and arrays in JSON.
#[derive(Debug)]
pub struct Out {
    fmt: Format,
    buf: String,
    stack: Vec<Frame>,
    tag_open: bool,
}

/// A scalar value for an attribute or a text element.
#[derive(Debug, Clone, Copy)]
pub enum V<'a> {
    /// A string.
    S(&'a str),
    /// An integer.
    I(i64),
    /// A boolean.
    B(bool),
}

impl Out {
    /// A writer for `fmt` with some capacity reserved.
    pub fn new(fmt: Format, capacity: usize) -> Self {
        let mut buf = String::with_capacity(capacity);
        if fmt == Format::Xml {
            buf.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n");
        }
        Out {
            fmt,
            buf,
            stack: Vec::with_capacity(8),
            tag_open: false,
        }
    }

    /// Opens the root element with the types namespace.
    pub fn root(&mut self, name: &'static str) {
        self.open(name);
        if self.fmt == Format::Xml {
            self.buf.push_str(" xmlns=\"");
            self.buf.push_str(TYPES_NS);
            self.buf.push('"');
        }
    }

    /// Finishes and returns the document.
    pub fn finish(mut self) -> String {
        while !self.stack.is_empty() {
            if self.stack.last().is_some_and(|f| f.list) {
                self.end_list();
            } else {
                self.close();
            }
        }
        self.buf
    }

    fn end_tag_open(&mut self) {
        if self.tag_open {
            self.buf.push('>');
            self.tag_open = false;
        }
    }

    fn key(&mut self, name: &str) {
        if let Some(top) = self.stack.last_mut() {
            if !top.first {
                self.buf.push(',');
            }
            top.first = false;
            if !top.list {
                self.buf.push('"');
                self.buf.push_str(name);
                self.buf.push_str("\":");
            }
        }
    }

    /// Opens an element (an object in JSON).
    pub fn open(&mut self, name: &'static str) {
        match self.fmt {
            Format::Xml => {
                self.end_tag_open();
                self.buf.push('<');
                self.buf.push_str(name);
                self.tag_open = true;
            }
            Format::Json => {
                self.key(name);
                self.buf.push('{');
            }
        }
        self.stack.push(Frame {
            name,
            list: false,
            first: true,
        });
    }

    /// Closes the innermost element.
    pub fn close(&mut self) {
        let frame = self.stack.pop().expect("close without open");
        match self.fmt {
            Format::Xml => {
                if self.tag_open {
                    self.buf.push_str("/>");
                    self.tag_open = false;
                } else {
                    self.buf.push_str("</");
                    self.buf.push_str(frame.name);
                    self.buf.push('>');
                }
            }
            Format::Json => self.buf.push('}'),
        }
    }

    /// Starts a repeated element (a JSON array named `name`).
    pub fn begin_list(&mut self, name: &'static str) {
        if self.fmt == Format::Json {
            self.key(name);
            self.buf.push('[');
            self.stack.push(Frame {
                name,
                list: true,
                first: true,
            });
        }
    }

    /// Ends the list begun last.
    pub fn end_list(&mut self) {
        if self.fmt == Format::Json {
            self.stack.pop();
            self.buf.push(']');
        }
    }

    /// An attribute of the element just opened (a property in JSON).
    pub fn attr(&mut self, name: &str, v: V<'_>) {
        match self.fmt {
            Format::Xml => {
                debug_assert!(self.tag_open, "attribute {name} after content");
                self.buf.push(' ');
                self.buf.push_str(name);
                self.buf.push_str("=\"");
                self.xml_value(v);
                self.buf.push('"');
            }
            Format::Json => {
                self.key(name);
                self.json_value(v);
            }
        }
    }

    /// A string attribute.
    pub fn attr_s(&mut self, name: &str, v: &str) {
        self.attr(name, V::S(v));
    }
    /// An integer attribute.
    pub fn attr_i(&mut self, name: &str, v: i64) {
        self.attr(name, V::I(v));
    }
    /// A boolean attribute.
    pub fn attr_b(&mut self, name: &str, v: bool) {
        self.attr(name, V::B(v));
    }

    /// A child element holding only text (a scalar property in JSON).
    pub fn text(&mut self, name: &str, v: V<'_>) {
        match self.fmt {
            Format::Xml => {
                self.end_tag_open();
                self.buf.push('<');
                self.buf.push_str(name);
                self.buf.push('>');
                self.xml_value(v);
                self.buf.push_str("</");
                self.buf.push_str(name);
                self.buf.push('>');
            }
            Format::Json => {
                self.key(name);
                self.json_value(v);
            }
        }
    }

    /// A string text element.
    pub fn text_s(&mut self, name: &str, v: &str) {
        self.text(name, V::S(v));
    }
    /// An integer text element.
    pub fn text_i(&mut self, name: &str, v: i64) {
        self.text(name, V::I(v));
    }
    /// A boolean text element.
    pub fn text_b(&mut self, name: &str, v: bool) {
        self.text(name, V::B(v));
    }

    /// Inside an open element, its text content (XML) or a `value` property (JSON).
    pub fn inner_text(&mut self, v: &str) {
        match self.fmt {
            Format::Xml => {
                self.end_tag_open();
                escape_xml(&mut self.buf, v);
            }
            Format::Json => {
                self.key("value");
                self.json_value(V::S(v));
            }
        }
    }

    fn xml_value(&mut self, v: V<'_>) {
        match v {
            V::S(s) => escape_xml(&mut self.buf, s),
            V::I(i) => {
                let _ = write!(self.buf, "{i}");
            }
            V::B(b) => self.buf.push_str(if b { "true" } else { "false" }),
        }
    }

    fn json_value(&mut self, v: V<'_>) {
        match v {
            V::S(s) => escape_json(&mut self.buf, s),
            V::I(i) => {
                let _ = write!(self.buf, "{i}");
            }
            V::B(b) => self.buf.push_str(if b { "true" } else { "false" }),
        }
    }
}

fn escape_xml(buf: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => buf.push_str("&amp;"),
            '<' => buf.push_str("&lt;"),
            '>' => buf.push_str("&gt;"),
            '"' => buf.push_str("&quot;"),
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' && c != '\r' => {}
            c => buf.push(c),
        }
    }
}

fn escape_json(buf: &mut String, s: &str) {
    buf.push('"');
    for c in s.chars() {
        match c {
            '"' => buf.push_str("\\\""),
            '\\' => buf.push_str("\\\\"),
            '\n' => buf.push_str("\\n"),
            '\r' => buf.push_str("\\r"),
            '\t' => buf.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(buf, "\\u{:04x}", c as u32);
            }
            c => buf.push(c),
        }
    }
    buf.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(fmt: Format) -> String {
        let mut o = Out::new(fmt, 64);
        o.root("response");
        o.attr_s("requestId", "r<1>");
        o.text_s("operation", "DEPLOY_SERVER");
        o.begin_list("info");
        o.open("info");
        o.attr_s("name", "serverId");
        o.attr_s("value", "x\"y");
        o.close();
        o.end_list();
        o.text_b("deployed", true);
        o.text_i("memoryGb", 4);
        o.finish()
    }

    #[test]
    fn xml_and_json_follow_the_mapping_rule() {
        let x = sample(Format::Xml);
        assert!(x.contains(
            r#"<response xmlns="urn:didata.com:api:cloud:types" requestId="r&lt;1&gt;">"#
        ));
        assert!(x.contains(r#"<info name="serverId" value="x&quot;y"/>"#));
        assert!(x.ends_with("<memoryGb>4</memoryGb></response>"));
        let j: serde_json::Value = serde_json::from_str(&sample(Format::Json)).unwrap();
        assert_eq!(j["info"][0]["value"], "x\"y");
        assert_eq!(j["deployed"], true);
        assert_eq!(j["memoryGb"], 4);
        assert_eq!(j["requestId"], "r<1>");
    }
}
