//! A small element tree for the old `/oec/0.9` documents (backup), whose elements carry varying
//! namespace prefixes (`ns9:backupClient`, `ns6:Status`): names are kept by local name only, so a
//! decoder reads them the same whatever prefix the API chose.

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

/// One element: local name, attributes (local names), text (trimmed, entities resolved), children.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct El {
    /// Local name.
    pub name: String,
    /// Attributes by local name, in document order.
    pub attrs: Vec<(String, String)>,
    /// Text content, trimmed.
    pub text: String,
    /// Child elements.
    pub children: Vec<El>,
}

impl El {
    /// The attribute of that local name.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first child of that local name.
    pub fn child(&self, name: &str) -> Option<&El> {
        self.children.iter().find(|c| c.name == name)
    }

    /// Every child of that local name.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a El> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The text of the first child of that local name, when not empty.
    pub fn child_text(&self, name: &str) -> Option<String> {
        self.child(name)
            .map(|c| c.text.clone())
            .filter(|t| !t.is_empty())
    }
}

fn local(s: &str) -> String {
    s.to_string()
}

fn start(e: &BytesStart<'_>) -> El {
    El {
        name: local(e.local_name().as_ref()),
        attrs: e
            .attributes()
            .flatten()
            .map(|a| {
                let v = a.value.to_string();
                let v = ["lt", "gt", "quot", "apos", "amp"]
                    .iter()
                    .fold(v, |v, n| v.replace(&format!("&{n};"), entity(n)));
                (local(a.key.local_name().as_ref()), v)
            })
            .collect(),
        ..El::default()
    }
}

fn entity(name: &str) -> &str {
    match name {
        "amp" => "&",
        "lt" => "<",
        "gt" => ">",
        "quot" => "\"",
        "apos" => "'",
        _ => "",
    }
}

/// Parses a document into its root element.
pub fn parse(body: &str) -> Result<El, String> {
    let mut reader = Reader::from_str(body);
    let mut stack: Vec<El> = Vec::new();
    loop {
        match reader.read_event().map_err(|e| e.to_string())? {
            Event::Start(e) => stack.push(start(&e)),
            Event::Empty(e) => {
                let el = start(&e);
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => return Ok(el),
                }
            }
            Event::Text(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(t.as_ref());
                }
            }
            Event::CData(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(t.as_ref());
                }
            }
            Event::GeneralRef(r) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(entity(r.as_ref()));
                }
            }
            Event::End(_) => {
                let mut el = stack.pop().ok_or("unbalanced end tag")?;
                el.text = el.text.trim().to_string();
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => return Ok(el),
                }
            }
            Event::Eof => return Err("no root element".into()),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_names_and_text() {
        let el = parse(
            r#"<?xml version="1.0"?><ns6:Status xmlns:ns6="x"><ns6:result>SUCCESS</ns6:result>
            <ns6:additionalInformation name="assetId"><ns6:value> a&amp;b </ns6:value>
            </ns6:additionalInformation><e ns6:k="v"/></ns6:Status>"#,
        )
        .unwrap();
        assert_eq!(el.name, "Status");
        assert_eq!(el.child_text("result").as_deref(), Some("SUCCESS"));
        let info = el.child("additionalInformation").unwrap();
        assert_eq!(info.attr("name"), Some("assetId"));
        assert_eq!(info.child_text("value").as_deref(), Some("a&b"));
        assert_eq!(el.child("e").unwrap().attr("k"), Some("v"));
    }
}
