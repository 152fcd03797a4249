//! The XML wire codec: request bodies in namespace `urn:didata.com:api:cloud:types`, the `<response>`
//! envelope, list pages, the `/oec/0.9/myaccount` document, and redaction of secrets for traces.
//!
//! XML is the API's native form (libcloud, and so the original plumbery, speak it); every fixture we hold
//! as ground truth is XML, so decoding them proves the client reads what the real API sends.

use once_cell::sync::Lazy;
use quick_xml::Reader;
use quick_xml::escape::escape;
use quick_xml::events::Event;
use regex::Regex;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::codes::ErrorCode;
use super::error::CloudError;
use super::model::ReservedIp;

/// Namespace of every 2.x request and response body.
pub const TYPES_NS: &str = "urn:didata.com:api:cloud:types";

/// Builds a request body element by element, escaping text and attribute values.
#[derive(Debug)]
pub struct XmlBody {
    buf: String,
    root: String,
}

impl XmlBody {
    /// Opens the root element `<root xmlns="…" attrs…>`.
    pub fn new(root: &str, attrs: &[(&str, &str)]) -> Self {
        let mut buf =
            format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<{root} xmlns=\"{TYPES_NS}\"");
        push_attrs(&mut buf, attrs);
        buf.push('>');
        XmlBody {
            buf,
            root: root.to_string(),
        }
    }

    /// A root element with attributes only, e.g. `<deleteServer xmlns="…" id="…"/>`.
    pub fn empty_root(root: &str, attrs: &[(&str, &str)]) -> String {
        let mut buf =
            format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<{root} xmlns=\"{TYPES_NS}\"");
        push_attrs(&mut buf, attrs);
        buf.push_str("/>");
        buf
    }

    /// `<name>text</name>`.
    pub fn text(&mut self, name: &str, text: &str) -> &mut Self {
        self.buf
            .push_str(&format!("<{name}>{}</{name}>", escape(text)));
        self
    }

    /// `<name>text</name>` when `text` is present.
    pub fn opt_text(&mut self, name: &str, text: Option<&str>) -> &mut Self {
        if let Some(t) = text {
            self.text(name, t);
        }
        self
    }

    /// `<name attrs…/>`.
    pub fn empty(&mut self, name: &str, attrs: &[(&str, &str)]) -> &mut Self {
        self.buf.push_str(&format!("<{name}"));
        push_attrs(&mut self.buf, attrs);
        self.buf.push_str("/>");
        self
    }

    /// `<name attrs…>` (close it with [`XmlBody::close`]).
    pub fn open(&mut self, name: &str, attrs: &[(&str, &str)]) -> &mut Self {
        self.buf.push_str(&format!("<{name}"));
        push_attrs(&mut self.buf, attrs);
        self.buf.push('>');
        self
    }

    /// `</name>`.
    pub fn close(&mut self, name: &str) -> &mut Self {
        self.buf.push_str(&format!("</{name}>"));
        self
    }

    /// Closes the root and returns the document.
    pub fn finish(mut self) -> String {
        self.buf.push_str(&format!("</{}>", self.root));
        self.buf
    }
}

fn push_attrs(buf: &mut String, attrs: &[(&str, &str)]) {
    for (k, v) in attrs {
        buf.push_str(&format!(" {k}=\"{}\"", escape(*v)));
    }
}

/// A `name`/`value` pair of the envelope (`info`, `warning`, `error`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct NameValue {
    /// Name, e.g. `serverId`.
    #[serde(rename = "@name")]
    pub name: String,
    /// Value.
    #[serde(rename = "@value", default)]
    pub value: String,
}

/// The generic operation answer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ApiResponse {
    /// Opaque request id.
    #[serde(rename = "@requestId", default)]
    pub request_id: String,
    /// e.g. DEPLOY_SERVER.
    #[serde(default)]
    pub operation: String,
    /// OK, IN_PROGRESS, or an error code: parsed here, once, for every answer.
    #[serde(rename = "responseCode", default)]
    pub response_code: ErrorCode,
    /// Human message.
    #[serde(default)]
    pub message: String,
    /// `info` items (new ids).
    #[serde(default)]
    pub info: Vec<NameValue>,
}

impl ApiResponse {
    /// The value of `info name=…`.
    pub fn info(&self, name: &str) -> Option<&str> {
        self.info
            .iter()
            .find(|i| i.name == name)
            .map(|i| i.value.trim())
    }
}

/// One page of a list.
#[derive(Debug, Deserialize)]
pub struct Page<T> {
    /// 1-based page number.
    #[serde(rename = "@pageNumber", default)]
    pub page_number: u32,
    /// Items on this page.
    #[serde(rename = "@pageCount", default)]
    pub page_count: u32,
    /// Items in all pages.
    #[serde(rename = "@totalCount", default)]
    pub total_count: u32,
    /// Page size.
    #[serde(rename = "@pageSize", default)]
    pub page_size: u32,
    /// The items, whatever their element name.
    #[serde(rename = "$value", default = "Vec::new")]
    pub items: Vec<T>,
}

impl<T> Page<T> {
    /// True when no further page needs fetching (Go and libcloud termination rules combined).
    pub fn is_last(&self, requested_size: u32) -> bool {
        let size = if self.page_size > 0 {
            self.page_size
        } else {
            requested_size
        };
        self.page_count == 0
            || self.items.is_empty()
            || (self.page_number.max(1) - 1) * size + self.page_count >= self.total_count
            || self.page_count < size
    }
}

/// Decodes any XML document into `T`.
pub fn decode<T: DeserializeOwned>(what: &str, body: &str) -> Result<T, CloudError> {
    quick_xml::de::from_str(body).map_err(|e| CloudError::Decode {
        what: what.to_string(),
        detail: e.to_string(),
    })
}

/// True when the body looks like a `<response>` envelope.
pub fn is_envelope(body: &str) -> bool {
    root_name(body).as_deref() == Some("response")
}

/// Local name of the root element.
pub fn root_name(body: &str) -> Option<String> {
    let mut reader = Reader::from_str(body);
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) | Ok(Event::Empty(e)) => {
                return Some(e.local_name().as_ref().to_string());
            }
            Ok(Event::Eof) | Err(_) => return None,
            _ => {}
        }
    }
}

/// The `Status` answer of the old `/oec/0.9` API (backup operations), read by local name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OecStatus {
    /// e.g. `Enable Backup for Server`.
    pub operation: String,
    /// SUCCESS | IN_PROGRESS | ERROR.
    pub result: String,
    /// Human detail.
    pub detail: String,
    /// e.g. `REASON_0`, `REASON_550`.
    pub code: String,
    /// `additionalInformation name=…` values.
    pub additional: Vec<(String, String)>,
}

impl OecStatus {
    /// True when the API refused the operation.
    pub fn is_error(&self) -> bool {
        self.result == "ERROR"
    }

    /// The refusal as an [`ErrorCode`]: `REASON_392` (the old API's "busy, try again later") is
    /// [`ErrorCode::ResourceBusy`], so it is retried the same way; other reasons are kept as spelt.
    pub fn error_code(&self) -> ErrorCode {
        match self.code.as_str() {
            "REASON_392" => ErrorCode::ResourceBusy,
            other => ErrorCode::parse(other),
        }
    }

    /// The value of `additionalInformation name=…`.
    pub fn info(&self, name: &str) -> Option<&str> {
        self.additional
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The `Status` of an `/oec/0.9` answer; `None` when the body is no such document.
pub fn decode_oec_status(body: &str) -> Option<OecStatus> {
    if root_name(body).as_deref() != Some("Status") {
        return None;
    }
    let el = super::xmltree::parse(body).ok()?;
    let text = |n: &str| el.child_text(n).unwrap_or_default();
    Some(OecStatus {
        operation: text("operation"),
        result: text("result"),
        detail: text("resultDetail")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" "),
        code: text("resultCode"),
        additional: el
            .all("additionalInformation")
            .map(|a| {
                let name = a.attr("name").unwrap_or_default().to_string();
                (name, a.child_text("value").unwrap_or_default())
            })
            .collect(),
    })
}

/// The `orgId` of `/oec/0.9/myaccount` (directory namespace; matched by local name).
pub fn decode_org_id(body: &str) -> Result<String, CloudError> {
    let mut reader = Reader::from_str(body);
    let mut inside = false;
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) if e.local_name().as_ref() == "orgId" => inside = true,
            Ok(Event::Text(t)) if inside => {
                let id = t.as_ref().trim().to_string();
                if !id.is_empty() {
                    return Ok(id);
                }
            }
            Ok(Event::End(e)) if e.local_name().as_ref() == "orgId" => inside = false,
            Ok(Event::Eof) => break,
            Err(e) => {
                return Err(CloudError::Decode {
                    what: "myaccount".into(),
                    detail: e.to_string(),
                });
            }
            _ => {}
        }
    }
    Err(CloudError::Decode {
        what: "myaccount".into(),
        detail: "no orgId element".into(),
    })
}

/// Reserved public addresses: `<ip …>addr</ip>`, `<ip><value>addr</value></ip>` or `<ip value="addr"/>`.
pub fn decode_reserved_ips(body: &str) -> Result<Vec<ReservedIp>, CloudError> {
    let mut reader = Reader::from_str(body);
    let mut out = Vec::new();
    let mut current: Option<ReservedIp> = None;
    let mut depth_in_ip = 0usize;
    let bad = |e: String| CloudError::Decode {
        what: "reservedPublicIpv4Address".into(),
        detail: e,
    };
    loop {
        let ev = reader.read_event().map_err(|e| bad(e.to_string()))?;
        match ev {
            Event::Start(e) | Event::Empty(e)
                if current.is_none() && e.local_name().as_ref() == "ip" =>
            {
                let mut ip = ReservedIp {
                    value: String::new(),
                    ip_block_id: None,
                    network_domain_id: None,
                };
                for a in e.attributes().flatten() {
                    let v = a.value.trim().to_string();
                    match a.key.local_name().as_ref() {
                        "value" => ip.value = v,
                        "ipBlockId" => ip.ip_block_id = Some(v),
                        "networkDomainId" => ip.network_domain_id = Some(v),
                        _ => {}
                    }
                }
                // An Empty element has no children and no End event.
                if reader_event_is_empty(&reader, body) {
                    out.push(ip);
                } else {
                    current = Some(ip);
                    depth_in_ip = 0;
                }
            }
            Event::Start(_) if current.is_some() => depth_in_ip += 1,
            Event::Text(t) if current.is_some() => {
                let text = t.as_ref().trim().to_string();
                if !text.is_empty() && text.parse::<std::net::IpAddr>().is_ok() {
                    current.as_mut().expect("checked").value = text;
                }
            }
            Event::End(e) if current.is_some() => {
                if depth_in_ip == 0 && e.local_name().as_ref() == "ip" {
                    out.push(current.take().expect("checked"));
                } else {
                    depth_in_ip = depth_in_ip.saturating_sub(1);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(out)
}

/// Whether the event just read was a self-closing element (looks back at the source).
fn reader_event_is_empty(reader: &Reader<&[u8]>, body: &str) -> bool {
    let end = reader.buffer_position() as usize;
    body.get(..end)
        .is_some_and(|s| s.trim_end().ends_with("/>"))
}

static XML_SECRET: Lazy<Regex> =
    Lazy::new(|| Regex::new(r"(?s)<((?:\w+:)?administratorPassword)>.*?</").expect("static regex"));
static JSON_SECRET: Lazy<Regex> = Lazy::new(|| {
    Regex::new(r#""administratorPassword"\s*:\s*"(?:[^"\\]|\\.)*""#).expect("static regex")
});

/// The body with `administratorPassword` values replaced, safe to trace.
pub fn redact(body: &str) -> String {
    let s = XML_SECRET.replace_all(body, "<$1>***</");
    JSON_SECRET
        .replace_all(&s, r#""administratorPassword":"***""#)
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_escaped_bodies() {
        let mut b = XmlBody::new("deployNetworkDomain", &[]);
        b.text("datacenterId", "NA9").text("name", "a<b&c");
        let s = b.finish();
        assert!(s.contains("<name>a&lt;b&amp;c</name>"));
        assert!(s.contains(&format!("<deployNetworkDomain xmlns=\"{TYPES_NS}\">")));
        assert!(s.ends_with("</deployNetworkDomain>"));
        let e = XmlBody::empty_root("deleteServer", &[("id", "x\"y")]);
        assert!(
            e.ends_with("<deleteServer xmlns=\"urn:didata.com:api:cloud:types\" id=\"x&quot;y\"/>")
        );
    }

    #[test]
    fn redacts_passwords() {
        let x = "<deployServer><administratorPassword>S3cr3t!</administratorPassword><name>n</name></deployServer>";
        let r = redact(x);
        assert!(!r.contains("S3cr3t"));
        assert!(r.contains("<administratorPassword>***</administratorPassword>"));
        let j = r#"{"name":"n","administratorPassword":"p\"w"}"#;
        assert!(!redact(j).contains("p\\\"w"));
    }

    #[test]
    fn reserved_ip_shapes() {
        let a = r#"<reservedIpv4Addresses xmlns="urn:didata.com:api:cloud:types" pageCount="2">
            <ip datacenterId="NA9" ipBlockId="b1" networkDomainId="d1">165.180.12.12</ip>
            <ip><value>165.180.12.13</value><ipBlockId>b1</ipBlockId></ip>
            <ip value="165.180.12.14" ipBlockId="b2"/>
        </reservedIpv4Addresses>"#;
        let ips = decode_reserved_ips(a).unwrap();
        let values: Vec<_> = ips.iter().map(|i| i.value.as_str()).collect();
        assert_eq!(values, ["165.180.12.12", "165.180.12.13", "165.180.12.14"]);
        assert_eq!(ips[0].ip_block_id.as_deref(), Some("b1"));
        assert_eq!(ips[2].ip_block_id.as_deref(), Some("b2"));
    }

    #[test]
    fn reserved_private_ipv4_shapes() {
        use super::super::model::ReservedPrivateIpv4;
        let a = r#"<reservedPrivateIpv4Addresses xmlns="urn:didata.com:api:cloud:types" pageNumber="1" pageCount="3" totalCount="3" pageSize="250">
            <ipv4><ipAddress>10.0.0.50</ipAddress><vlanId>v1</vlanId><datacenterId>NA9</datacenterId><description>a &amp; b</description></ipv4>
            <ipv4 vlanId="v2" datacenterId="EU6">10.0.0.51</ipv4>
            <ipv4><ipAddress>10.0.0.52</ipAddress><vlanId>v1</vlanId><datacenterId>NA9</datacenterId><description></description></ipv4>
        </reservedPrivateIpv4Addresses>"#;
        let p: Page<ReservedPrivateIpv4> = decode("reservedPrivateIpv4Address", a).unwrap();
        assert!(p.is_last(250));
        let ips: Vec<_> = p.items.iter().map(|i| i.ip_address.as_str()).collect();
        assert_eq!(ips, ["10.0.0.50", "10.0.0.51", "10.0.0.52"]);
        assert_eq!(p.items[0].description.as_deref(), Some("a & b"));
        assert_eq!(p.items[1].vlan_id, "v2");
        assert_eq!(p.items[1].datacenter_id, "EU6");
        assert_eq!(p.items[2].description, None);
        let j: ReservedPrivateIpv4 =
            serde_json::from_str(r#"{"ipAddress":"10.1.1.5","vlanId":"v","datacenterId":"NA12"}"#)
                .unwrap();
        assert_eq!(
            (j.ip_address.as_str(), j.vlan_id.as_str()),
            ("10.1.1.5", "v")
        );
        let out = serde_json::to_value(&j).unwrap();
        assert_eq!(out["ipAddress"], "10.1.1.5");
    }

    #[test]
    fn page_termination() {
        let p: Page<String> = Page {
            page_number: 1,
            page_count: 250,
            total_count: 300,
            page_size: 250,
            items: vec!["x".into(); 250],
        };
        assert!(!p.is_last(250));
        let p: Page<String> = Page {
            page_number: 2,
            page_count: 50,
            total_count: 300,
            page_size: 250,
            items: vec!["x".into(); 50],
        };
        assert!(p.is_last(250));
    }
}
