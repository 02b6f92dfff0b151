//! A small blocking HTTP/1.1 client for the admin API tests: one request per
//! connection (`Connection: close`), Content-Length or chunked bodies, and
//! Server-Sent Events read as they arrive. Enough for our own server; not a
//! general client.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

fn send(addr: SocketAddr, method: &str, path: &str, token: Option<&str>, body: &str) -> TcpStream {
    let mut s = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Connection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).unwrap();
    s
}

/// Splits a response head into status and headers.
fn head(text: &str) -> (u16, Vec<(String, String)>) {
    let mut lines = text.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("bad status line in {text:?}"));
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    (status, headers)
}

/// Takes complete chunks off the front of `buf` (RFC 9112 §7.1); `None`
/// at the last chunk.
fn take_chunks(buf: &mut Vec<u8>, out: &mut Vec<u8>) -> Option<()> {
    loop {
        let Some(eol) = buf.windows(2).position(|w| w == b"\r\n") else {
            return Some(());
        };
        let size_text = String::from_utf8_lossy(&buf[..eol]).to_string();
        let size = usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16)
            .unwrap_or_else(|_| panic!("bad chunk size {size_text:?}"));
        if size == 0 {
            return None;
        }
        if buf.len() < eol + 2 + size + 2 {
            return Some(());
        }
        out.extend_from_slice(&buf[eol + 2..eol + 2 + size]);
        buf.drain(..eol + 2 + size + 2);
    }
}

pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &str,
) -> Response {
    let mut s = send(addr, method, path, token, body);
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no response head: {:?}", String::from_utf8_lossy(&raw)));
    let (status, headers) = head(&String::from_utf8_lossy(&raw[..split]));
    let mut rest = raw[split + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    let body = if chunked {
        let mut out = Vec::new();
        take_chunks(&mut rest, &mut out);
        out
    } else {
        rest
    };
    Response {
        status,
        headers,
        body: String::from_utf8(body).expect("UTF-8 body"),
    }
}

pub fn get(addr: SocketAddr, path: &str, token: Option<&str>) -> Response {
    request(addr, "GET", path, token, "")
}

pub fn post(addr: SocketAddr, path: &str, token: Option<&str>, body: &str) -> Response {
    request(addr, "POST", path, token, body)
}

/// Reads the event stream at `path` until an event's data satisfies
/// `wanted` (returned), the stream ends, or `limit` passes (`None`).
pub fn wait_event(
    addr: SocketAddr,
    path: &str,
    token: Option<&str>,
    limit: Duration,
    wanted: impl Fn(&serde_json::Value) -> bool,
) -> Option<serde_json::Value> {
    let mut s = send(addr, "GET", path, token, "");
    s.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let deadline = Instant::now() + limit;
    let (mut raw, mut body, mut headers_done) = (Vec::new(), Vec::new(), false);
    let mut chunk = [0u8; 16384];
    while Instant::now() < deadline {
        match s.read(&mut chunk) {
            Ok(0) => return None,
            Ok(n) => raw.extend_from_slice(&chunk[..n]),
            Err(_) => continue,
        }
        if !headers_done {
            let Some(split) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
                continue;
            };
            let (status, _) = head(&String::from_utf8_lossy(&raw[..split]));
            assert_eq!(status, 200, "{}", String::from_utf8_lossy(&raw));
            raw.drain(..split + 4);
            headers_done = true;
        }
        let open = take_chunks(&mut raw, &mut body).is_some();
        // Events end with a blank line.
        while let Some(end) = body.windows(2).position(|w| w == b"\n\n") {
            let event: Vec<u8> = body.drain(..end + 2).collect();
            let text = String::from_utf8_lossy(&event);
            let data: Vec<&str> = text
                .lines()
                .filter_map(|l| l.strip_prefix("data:"))
                .map(|d| d.strip_prefix(' ').unwrap_or(d))
                .collect();
            if data.is_empty() {
                continue;
            }
            let v: serde_json::Value = serde_json::from_str(&data.join("\n")).unwrap();
            if wanted(&v) {
                return Some(v);
            }
        }
        if !open {
            return None;
        }
    }
    None
}
