//! The `lookup` node's HTTP request: find the caller in a CRM before an agent
//! answers. Plain HTTP/1.0 over tokio (one request, `Connection: close`, no
//! chunking to decode): CRM webhooks for a call centre sit on the local
//! network, and an HTTP client stack with TLS would cost more than it gives.
//! Any failure — refused, timeout, non-2xx status, not JSON — is `None`, which
//! the flow answers with its `on_error` branch.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tracing::debug;

use crate::ivr::flow::Method;
use crate::ivr::interpreter::LookupRequest;

/// Replies larger than this are refused.
const MAX_REPLY: usize = 1 << 20;

pub async fn fetch(req: &LookupRequest) -> Option<serde_json::Value> {
    match tokio::time::timeout(req.timeout, fetch_inner(req)).await {
        Ok(v) => v,
        Err(_) => {
            debug!(url = %req.redacted_url, "lookup timed out");
            None
        }
    }
}

async fn fetch_inner(req: &LookupRequest) -> Option<serde_json::Value> {
    let Some(rest) = req.url.strip_prefix("http://") else {
        debug!(url = %req.redacted_url, "lookup: only http:// URLs are supported");
        return None;
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let target = if authority.contains(':') {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    let mut stream = TcpStream::connect(&target).await.ok()?;
    let (method, body) = match req.method {
        Method::Get => ("GET", ""),
        Method::Post => ("POST", req.body.as_deref().unwrap_or("")),
    };
    let mut head = format!(
        "{method} {path} HTTP/1.0\r\nHost: {authority}\r\nAccept: application/json\r\nUser-Agent: Switchboard\r\nConnection: close\r\n"
    );
    if method == "POST" {
        head.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    head.push_str("\r\n");
    head.push_str(body);
    stream.write_all(head.as_bytes()).await.ok()?;
    let mut reply = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        reply.extend_from_slice(&chunk[..n]);
        if reply.len() > MAX_REPLY {
            return None;
        }
    }
    parse_reply(&reply)
}

/// Status 2xx and a JSON body, or nothing.
fn parse_reply(reply: &[u8]) -> Option<serde_json::Value> {
    let split = reply.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&reply[..split]).ok()?;
    let status: u16 = head
        .lines()
        .next()?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    if !(200..300).contains(&status) {
        debug!(status, "lookup: non-2xx reply");
        return None;
    }
    serde_json::from_slice(&reply[split + 4..]).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tokio::net::TcpListener;

    fn request(url: String, method: Method, timeout: Duration) -> LookupRequest {
        LookupRequest {
            id: 1,
            method,
            redacted_url: url.clone(),
            url,
            body: Some("{\"caller\":\"0612\"}".into()),
            timeout,
            redacted_body: None,
        }
    }

    /// A one-shot HTTP server that answers `reply` and hands back what it got.
    async fn server(reply: &'static str) -> (String, tokio::task::JoinHandle<String>) {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let h = tokio::spawn(async move {
            let (mut s, _) = l.accept().await.unwrap();
            let mut buf = vec![0u8; 4096];
            let n = s.read(&mut buf).await.unwrap();
            s.write_all(reply.as_bytes()).await.unwrap();
            String::from_utf8_lossy(&buf[..n]).to_string()
        });
        (format!("http://{addr}/customers?phone=0612"), h)
    }

    #[tokio::test]
    async fn json_reply_is_returned_and_the_request_is_well_formed() {
        let (url, h) = server("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{\"id\":\"C-42\",\"tier\":\"gold\"}").await;
        let got = fetch(&request(url, Method::Post, Duration::from_secs(2)))
            .await
            .unwrap();
        assert_eq!(got["id"], "C-42");
        let sent = h.await.unwrap();
        assert!(
            sent.starts_with("POST /customers?phone=0612 HTTP/1.0\r\n"),
            "{sent}"
        );
        assert!(sent.contains("Content-Length: 17\r\n") && sent.ends_with("{\"caller\":\"0612\"}"));
    }

    #[tokio::test]
    async fn failures_are_none() {
        let (url, _h) = server("HTTP/1.1 404 Not Found\r\n\r\n{}").await;
        assert!(fetch(&request(url, Method::Get, Duration::from_secs(2)))
            .await
            .is_none());
        let (url, _h) = server("HTTP/1.1 200 OK\r\n\r\nnot json").await;
        assert!(fetch(&request(url, Method::Get, Duration::from_secs(2)))
            .await
            .is_none());
        // Nobody listening.
        let closed = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap()
            .local_addr()
            .unwrap();
        assert!(fetch(&request(
            format!("http://{closed}/x"),
            Method::Get,
            Duration::from_secs(2)
        ))
        .await
        .is_none());
        assert!(fetch(&request(
            "https://crm.example/x".into(),
            Method::Get,
            Duration::from_secs(2)
        ))
        .await
        .is_none());
    }

    #[tokio::test]
    async fn a_silent_server_times_out() {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let _keep = tokio::spawn(async move {
            let (_s, _) = l.accept().await.unwrap();
            tokio::time::sleep(Duration::from_secs(5)).await;
        });
        let got = fetch(&request(
            format!("http://{addr}/"),
            Method::Get,
            Duration::from_millis(200),
        ))
        .await;
        assert!(got.is_none());
    }
}
