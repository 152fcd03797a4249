//! A minimal blocking HTTP/1.1 client with keep-alive and Basic auth, for `emulator start`/`status`
//! probes, the integration tests and the benchmark (plain HTTP only; the emulator is on 127.0.0.0/8).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

use base64::Engine;

use crate::stats::Stats;

/// An HTTP response.
#[derive(Debug, Clone)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Headers (names lower-cased).
    pub headers: Vec<(String, String)>,
    /// Body as text.
    pub body: String,
}

impl Response {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    /// The body parsed as JSON (`Null` if it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null)
    }
    /// An XML body as JSON, by the API's own mapping rule (the root element dropped), or why it is
    /// not XML.
    pub fn xml(&self) -> Result<serde_json::Value, String> {
        xml_to_json(&self.body)
    }
}

/// An XML document as JSON, by the API's own mapping rule (the root element dropped), or why it
/// is not XML.
pub fn xml_to_json(text: &str) -> Result<serde_json::Value, String> {
    crate::responses::body::xml_to_value(text)
        .map(|(_, v)| v)
        .map_err(|e| e.to_string())
}

/// A keep-alive connection to one emulator.
#[derive(Debug)]
pub struct Client {
    addr: SocketAddr,
    host: String,
    auth: Option<String>,
    conn: Option<BufReader<TcpStream>>,
    timeout: Duration,
}

impl Client {
    /// `GET /emulator/v1/stats`, typed.
    pub fn stats(&mut self) -> std::io::Result<Stats> {
        let r = self.get("/emulator/v1/stats", true)?;
        if r.status != 200 {
            return Err(std::io::Error::other(format!(
                "GET /emulator/v1/stats: HTTP {}",
                r.status
            )));
        }
        serde_json::from_str(&r.body).map_err(|e| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("GET /emulator/v1/stats: {e}"),
            )
        })
    }

    /// A client for `url` (`http://HOST:PORT[/...]`) with Basic credentials.
    pub fn new(url: &str, user: &str, password: &str) -> std::io::Result<Client> {
        let hostport = url
            .strip_prefix("http://")
            .ok_or_else(|| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    "only http:// URLs are supported",
                )
            })?
            .split('/')
            .next()
            .unwrap_or("");
        let addr = hostport
            .to_socket_addrs()?
            .next()
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "no address"))?;
        let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        Ok(Client {
            addr,
            host: hostport.to_string(),
            auth: Some(auth),
            conn: None,
            timeout: Duration::from_secs(30),
        })
    }

    /// Sends no `Authorization` header from now on.
    pub fn without_auth(mut self) -> Self {
        self.auth = None;
        self
    }

    /// `GET path`, asking for JSON when `json`.
    pub fn get(&mut self, path: &str, json: bool) -> std::io::Result<Response> {
        let accept = if json {
            "application/json"
        } else {
            "application/xml"
        };
        self.request("GET", path, &[("Accept", accept)], None)
    }

    /// `POST path` with an XML body.
    pub fn post_xml(&mut self, path: &str, body: &str) -> std::io::Result<Response> {
        self.request(
            "POST",
            path,
            &[("Content-Type", "application/xml")],
            Some(body.as_bytes()),
        )
    }

    /// `POST path` with a JSON body, answer in JSON.
    pub fn post_json(&mut self, path: &str, body: &serde_json::Value) -> std::io::Result<Response> {
        let b = body.to_string();
        self.request(
            "POST",
            path,
            &[
                ("Content-Type", "application/json"),
                ("Accept", "application/json"),
            ],
            Some(b.as_bytes()),
        )
    }

    /// Any request; retries once on a fresh connection when a kept-alive one was closed.
    pub fn request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> std::io::Result<Response> {
        let reused = self.conn.is_some();
        match self.try_request(method, path, headers, body) {
            Ok(r) => Ok(r),
            Err(e) if reused && e.kind() != std::io::ErrorKind::TimedOut => {
                self.conn = None;
                self.try_request(method, path, headers, body)
            }
            Err(e) => Err(e),
        }
    }

    fn try_request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> std::io::Result<Response> {
        if self.conn.is_none() {
            let s = TcpStream::connect_timeout(&self.addr, self.timeout)?;
            s.set_read_timeout(Some(self.timeout))?;
            s.set_nodelay(true)?;
            self.conn = Some(BufReader::new(s));
        }
        let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {}\r\n", self.host);
        if let Some(a) = &self.auth {
            req.push_str(&format!("Authorization: Basic {a}\r\n"));
        }
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str(&format!(
            "Content-Length: {}\r\n\r\n",
            body.map_or(0, |b| b.len())
        ));
        let mut bytes = req.into_bytes();
        if let Some(b) = body {
            bytes.extend_from_slice(b);
        }
        let conn = self.conn.as_mut().expect("connected");
        let res = (|| {
            conn.get_mut().write_all(&bytes)?;
            read_response(conn)
        })();
        match res {
            Ok((r, keep)) => {
                if !keep {
                    self.conn = None;
                }
                Ok(r)
            }
            Err(e) => {
                self.conn = None;
                Err(e)
            }
        }
    }
}

/// A body as text: checked in one pass (the usual case, valid UTF-8, then costs no copy), lossily
/// converted otherwise.
fn text(body: Vec<u8>) -> String {
    String::from_utf8(body).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

fn bad(msg: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, msg.to_string())
}

fn read_response(r: &mut BufReader<TcpStream>) -> std::io::Result<(Response, bool)> {
    let mut line = String::new();
    if r.read_line(&mut line)? == 0 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "connection closed",
        ));
    }
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("bad status line"))?;
    let mut headers = Vec::new();
    loop {
        line.clear();
        if r.read_line(&mut line)? == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "truncated headers",
            ));
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let h = |n: &str| headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
    let mut body = Vec::new();
    if let Some(len) = h("content-length").and_then(|v| v.parse::<usize>().ok()) {
        body.resize(len, 0);
        r.read_exact(&mut body)?;
    } else if h("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        loop {
            line.clear();
            if r.read_line(&mut line)? == 0 {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "truncated chunked body",
                ));
            }
            let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                .map_err(|_| bad("bad chunk size"))?;
            if size == 0 {
                line.clear();
                r.read_line(&mut line)?;
                break;
            }
            let start = body.len();
            body.resize(start + size, 0);
            r.read_exact(&mut body[start..])?;
            line.clear();
            r.read_line(&mut line)?;
        }
    } else {
        r.read_to_end(&mut body)?;
        let resp = Response {
            status,
            headers,
            body: text(body),
        };
        return Ok((resp, false));
    }
    let keep = !h("connection").is_some_and(|v| v.eq_ignore_ascii_case("close"));
    Ok((
        Response {
            status,
            headers,
            body: text(body),
        },
        keep,
    ))
}
