//! The wire format: one file per resource rendering XML or JSON and parsing request bodies in either
//! form, plus what they share here: the request context, the `<response>` envelope and paging.

pub mod address_list;
pub mod body;
pub mod catalogue;
pub mod firewall_rule;
pub mod nat_rule;
pub mod network_domain;
pub mod oec;
pub mod public_ip_block;
pub mod server;
pub mod tag;
pub mod vip;
pub mod vlan;
pub mod writer;

use std::sync::Arc;

use serde_json::{Map, Value};

use super::core::Core;
use super::errors::{ApiError, ApiResult};
pub use writer::{Format, Out};

/// One API request as the resource handlers see it.
pub struct Ctx<'a> {
    /// The emulator.
    pub core: &'a Arc<Core>,
    /// Response format.
    pub fmt: Format,
    /// API minor version (2.`minor`).
    pub minor: u32,
    /// Decoded query parameters.
    pub query: &'a [(String, String)],
    /// `Content-Type` of the body.
    pub content_type: &'a str,
    /// Request body.
    pub body: &'a [u8],
    /// The operation name (for envelopes).
    pub operation: &'a str,
    /// Set when the success envelope rendered says IN_PROGRESS (for statistics).
    pub in_progress: std::sync::atomic::AtomicBool,
}

impl Ctx<'_> {
    /// The first value of query parameter `name`.
    pub fn q(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Parses the body, whose XML root element must be `root`.
    pub fn body(&self, root: &str) -> ApiResult<Map<String, Value>> {
        body::parse(self.content_type, self.body, root)
    }

    /// A success envelope (`OK` or `IN_PROGRESS`) with `info` entries.
    pub fn ok(&self, code: &'static str, message: &str, info: &[(&str, &str)]) -> String {
        self.in_progress
            .store(code == "IN_PROGRESS", std::sync::atomic::Ordering::Relaxed);
        envelope(self.fmt, self.operation, code, message, info)
    }

    /// The `IN_PROGRESS` envelope of an accepted asynchronous change, worded as the API does:
    /// `Request to {what} has been accepted and is being processed.`
    pub fn accepted(&self, what: &str, info: &[(&str, &str)]) -> String {
        let message = format!("Request to {what} has been accepted and is being processed.");
        self.ok("IN_PROGRESS", &message, info)
    }
}

/// A fresh `requestId`.
pub fn request_id() -> String {
    format!(
        "emu/{}/{}",
        chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3f%:z"),
        uuid::Uuid::new_v4()
    )
}

/// Renders the `<response>` envelope.
pub fn envelope(
    fmt: Format,
    operation: &str,
    code: &str,
    message: &str,
    info: &[(&str, &str)],
) -> String {
    let mut o = Out::new(fmt, 512);
    o.root("response");
    o.attr_s("requestId", &request_id());
    o.text_s("operation", operation);
    o.text_s("responseCode", code);
    o.text_s("message", message);
    o.begin_list("info");
    for (n, v) in info {
        o.open("info");
        o.attr_s("name", n);
        o.attr_s("value", v);
        o.close();
    }
    o.end_list();
    if fmt == Format::Json {
        o.begin_list("warning");
        o.end_list();
        o.begin_list("error");
        o.end_list();
    }
    o.finish()
}

/// The envelope of a refused request.
pub fn error_envelope(fmt: Format, operation: &str, e: &ApiError) -> String {
    envelope(fmt, operation, e.code.as_str(), &e.message, &[])
}

/// Requested page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    /// 1-based page number.
    pub number: usize,
    /// Page size (1..=250).
    pub size: usize,
}

/// Largest page.
pub const MAX_PAGE: usize = 250;

impl Paging {
    /// From `pageNumber` and `pageSize` (defaults 1 and 250).
    pub fn from(ctx: &Ctx<'_>) -> ApiResult<Paging> {
        let num = |name: &str, def: usize, max: usize| -> ApiResult<usize> {
            match ctx.q(name) {
                None => Ok(def),
                Some(v) => match v.trim().parse::<usize>() {
                    Ok(n) if n >= 1 && n <= max => Ok(n),
                    _ => Err(ApiError::invalid(
                        name,
                        format!("'{v}' is not an integer within 1..{max}"),
                    )),
                },
            }
        };
        Ok(Paging {
            number: num("pageNumber", 1, 1_000_000)?,
            size: num("pageSize", MAX_PAGE, MAX_PAGE)?,
        })
    }
}

/// Renders a paged list: root element `root` with paging attributes, then `item` elements.
pub fn list<T>(
    ctx: &Ctx<'_>,
    root: &'static str,
    item: &'static str,
    items: &[T],
    mut render: impl FnMut(&mut Out, &T),
) -> ApiResult<String> {
    let p = Paging::from(ctx)?;
    let start = (p.number - 1).saturating_mul(p.size).min(items.len());
    let end = (start + p.size).min(items.len());
    let page = &items[start..end];
    let mut o = Out::new(ctx.fmt, 256 + page.len() * 1024);
    o.root(root);
    o.attr_i("pageNumber", p.number as i64);
    o.attr_i("pageCount", page.len() as i64);
    o.attr_i("totalCount", items.len() as i64);
    o.attr_i("pageSize", p.size as i64);
    o.begin_list(item);
    for x in page {
        render(&mut o, x);
    }
    o.end_list();
    Ok(o.finish())
}

/// Whether an item passes an exact-match filter (`None` = no filter).
pub fn matches(filter: Option<&str>, value: &str) -> bool {
    filter.is_none_or(|f| f == value)
}

/// Decodes a query string.
pub fn parse_query(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                match u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz"), 16)
                {
                    Ok(v) => {
                        out.push(v);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Renders `<networkDomain>`-style `createTime`.
pub fn time(ms: i64) -> String {
    crate::models::iso_time(ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_decoding() {
        let q = parse_query("name=My%20Server&pageSize=5&x=a+b&bad=%zz");
        assert_eq!(q[0], ("name".into(), "My Server".into()));
        assert_eq!(q[2].1, "a b");
        assert_eq!(q[3].1, "%zz");
    }

    #[test]
    fn envelope_json_has_empty_warning_and_error_lists() {
        let j: Value = serde_json::from_str(&envelope(
            Format::Json,
            "DEPLOY_SERVER",
            "IN_PROGRESS",
            "m",
            &[("serverId", "x")],
        ))
        .unwrap();
        assert_eq!(j["info"][0]["name"], "serverId");
        assert_eq!(j["warning"], serde_json::json!([]));
        let x = envelope(Format::Xml, "DEPLOY_SERVER", "IN_PROGRESS", "m", &[]);
        assert!(x.contains("<responseCode>IN_PROGRESS</responseCode>"));
    }
}
