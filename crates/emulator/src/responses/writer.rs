//! One streaming writer that renders the same description as XML (namespace
//! `urn:didata.com:api:cloud:types`) or JSON, following the API's mapping rule: attributes and child
//! elements both become JSON properties, repeated elements become arrays named with the singular name,
//! `true`/`false` and numbers become JSON booleans and numbers.

use std::fmt::Write as _;

/// The CloudControl 2.x XML namespace.
pub const TYPES_NS: &str = "urn:didata.com:api:cloud:types";

/// Wire format of a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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

    /// A writer for one list item rendered on its own (no XML declaration), to be inserted later
    /// with [`Out::raw_item`].
    pub fn fragment(fmt: Format, capacity: usize) -> Self {
        Out {
            fmt,
            buf: String::with_capacity(capacity),
            stack: Vec::with_capacity(8),
            tag_open: false,
        }
    }

    /// Inserts an item rendered by a [`Out::fragment`] writer of the same format into the list
    /// begun last.
    pub fn raw_item(&mut self, fragment: &str) {
        match self.fmt {
            Format::Xml => self.end_tag_open(),
            Format::Json => {
                debug_assert!(
                    self.stack.last().is_some_and(|f| f.list),
                    "item outside a list"
                );
                self.key("");
            }
        }
        self.buf.push_str(fragment);
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

/// Appends `s` escaped for XML text and attribute values; control characters other than tab,
/// newline and carriage return are dropped. Unescaped runs are copied whole (most values need no
/// escaping, and a per-character push dominated list rendering).
fn escape_xml(buf: &mut String, s: &str) {
    let mut start = 0;
    for (i, &b) in s.as_bytes().iter().enumerate() {
        let rep = match b {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            b'\t' | b'\n' | b'\r' => continue,
            b if b < 0x20 => "",
            _ => continue,
        };
        // `b` is ASCII, so `i` and `i + 1` are character boundaries.
        buf.push_str(&s[start..i]);
        buf.push_str(rep);
        start = i + 1;
    }
    buf.push_str(&s[start..]);
}

/// Appends `s` as a JSON string literal, copying unescaped runs whole.
fn escape_json(buf: &mut String, s: &str) {
    buf.push('"');
    let mut start = 0;
    for (i, &b) in s.as_bytes().iter().enumerate() {
        let rep = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            b if b < 0x20 => "",
            _ => continue,
        };
        buf.push_str(&s[start..i]);
        if rep.is_empty() {
            let _ = write!(buf, "\\u{:04x}", b);
        } else {
            buf.push_str(rep);
        }
        start = i + 1;
    }
    buf.push_str(&s[start..]);
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

    #[test]
    fn fragments_read_like_items_rendered_in_place() {
        for fmt in [Format::Xml, Format::Json] {
            let item = |o: &mut Out, n: i64| {
                o.open("info");
                o.attr_i("n", n);
                o.close();
            };
            let mut direct = Out::new(fmt, 64);
            direct.root("r");
            direct.begin_list("info");
            item(&mut direct, 1);
            item(&mut direct, 2);
            direct.end_list();
            let mut via = Out::new(fmt, 64);
            via.root("r");
            via.begin_list("info");
            for n in [1, 2] {
                let mut f = Out::fragment(fmt, 16);
                item(&mut f, n);
                via.raw_item(&f.finish());
            }
            via.end_list();
            assert_eq!(direct.finish(), via.finish());
        }
    }

    #[test]
    fn escaping_keeps_text_and_drops_or_encodes_control_characters() {
        let mut x = String::new();
        escape_xml(&mut x, "é<a&b>\"c\u{1}\td\nü");
        assert_eq!(x, "é&lt;a&amp;b&gt;&quot;c\td\nü");
        let mut j = String::new();
        escape_json(&mut j, "é\"q\\\u{1}\n\r\tü");
        assert_eq!(j, "\"é\\\"q\\\\\\u0001\\n\\r\\tü\"");
        let v: serde_json::Value = serde_json::from_str(&j).unwrap();
        assert_eq!(v, "é\"q\\\u{1}\n\r\tü");
    }
}
