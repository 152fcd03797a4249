//! A plain HTTP GET of a text document: a plan given as a URL, or the answer of a `{{ https://... }}`
//! token (an etcd discovery URL). It lives here, next to the API transport, because the plan language
//! (`fittings`) does no network I/O: its callers fetch.

use std::time::Duration;

/// Seconds an http:// fetch may take in all (`PLUMBERY_HTTP_TIMEOUT`, default 10).
fn http_timeout() -> Duration {
    let secs = std::env::var("PLUMBERY_HTTP_TIMEOUT")
        .ok()
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0)
        .unwrap_or(10.0);
    Duration::from_secs_f64(secs)
}

/// GET an `http://` or `https://` URL with reqwest (status 200 only, at most `max_bytes` (the caller's
/// rule: a plan's size limit is `fittings::MAX_PLAN_BYTES`), TLS verified against the web's roots). The whole fetch, connection included, must end within
/// `PLUMBERY_HTTP_TIMEOUT` seconds (default 10), so a server that accepts and never answers, or answers
/// a byte at a time, cannot hang plumbery. It runs on a thread of its own with a private runtime, so it
/// may be called from synchronous code and from inside an async task alike.
pub fn http_get(url: &str, max_bytes: u64) -> Result<String, String> {
    let url = reqwest::Url::parse(url).map_err(|e| format!("'{url}' is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "only http:// and https:// URLs can be fetched, not {}://",
            url.scheme()
        ));
    }
    std::thread::spawn(move || fetch(url, max_bytes))
        .join()
        .map_err(|_| "the fetch thread crashed".to_string())?
}

fn fetch(url: reqwest::Url, max_bytes: u64) -> Result<String, String> {
    let limit = http_timeout();
    let addr = format!(
        "{}:{}",
        url.host_str().unwrap_or_default(),
        url.port_or_known_default().unwrap_or(80)
    );
    let too_slow = || {
        format!(
            "no complete answer from {addr} within {:.0} s; check the URL, or download the plan and give its path",
            limit.as_secs_f64()
        )
    };
    let explain = |e: reqwest::Error| {
        if e.is_timeout() {
            too_slow()
        } else if e.is_connect() {
            let cause = std::error::Error::source(&e)
                .map(|c| c.to_string())
                .unwrap_or_else(|| e.to_string());
            format!("cannot connect to {addr}: {cause}")
        } else {
            e.to_string()
        }
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let client = reqwest::Client::builder()
            .timeout(limit)
            .connect_timeout(limit)
            .user_agent(concat!("plumbery/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| e.to_string())?;
        let mut answer = client.get(url.clone()).send().await.map_err(explain)?;
        if answer.status() != reqwest::StatusCode::OK {
            return Err(format!(
                "the server answered '{:?} {}'",
                answer.version(),
                answer.status()
            ));
        }
        let mut body = Vec::new();
        while let Some(chunk) = answer.chunk().await.map_err(explain)? {
            body.extend_from_slice(&chunk);
            if body.len() as u64 > max_bytes {
                return Err(format!("the answer is larger than {}", size(max_bytes)));
            }
        }
        String::from_utf8(body).map_err(|_| "the answer is not UTF-8 text".to_string())
    })
}

/// `16 MiB`, `64 KiB` or `100 bytes`: a size limit for messages.
fn size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{} MiB", b >> 20),
        b if b >= 1 << 10 && b % (1 << 10) == 0 => format!("{} KiB", b >> 10),
        b => format!("{b} bytes"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpListener;

    #[test]
    fn sizes_for_messages() {
        assert_eq!(size(16 << 20), "16 MiB");
        assert_eq!(size(64 << 10), "64 KiB");
        assert_eq!(size(100), "100 bytes");
    }

    #[test]
    fn fetches_over_http() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut request = Vec::new();
            let mut buf = [0u8; 1024];
            while !request.ends_with(b"\r\n\r\n") {
                let n = s.read(&mut buf).unwrap();
                assert!(n > 0, "the client closed before the end of its request");
                request.extend_from_slice(&buf[..n]);
            }
            assert!(request.starts_with(b"GET /plan.yaml HTTP/1.1\r\n"));
            s.write_all(b"HTTP/1.0 200 OK\r\nContent-Type: text/yaml\r\n\r\nlocationId: EU6\n")
                .unwrap();
        });
        let text = http_get(&format!("http://127.0.0.1:{port}/plan.yaml"), 1 << 20).unwrap();
        assert_eq!(text, "locationId: EU6\n");
        server.join().unwrap();
        assert!(http_get("https://example.invalid/", 1 << 20).is_err());
        assert!(
            http_get("ftp://example.invalid/", 1 << 20)
                .unwrap_err()
                .contains("ftp://")
        );
    }
}
