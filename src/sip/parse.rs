//! The codec boundary: bytes in, [`Message`] out.
//!
//! Lenient where real phones are sloppy (bare LF line ends, folded lines,
//! compact header names, whitespace around the colon, RFC 3261 §7.3.1), strict
//! where it matters (Content-Length, start line, mandatory headers). A message
//! that can still be answered carries a [`Defect`] with the status to answer
//! (400, 505); one that cannot is an `Err` and is dropped and counted by the caller.

use super::headers::{CSeq, NameAddr, Via};
use super::message::{canonical_name, Defect, Headers, Message, Method, Request, Response};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// CRLF keep-alive or an empty datagram (RFC 5626 §3.5.1): not an error, nothing to do.
    #[error("keep-alive")]
    KeepAlive,
    #[error("no blank line ends the headers")]
    Incomplete,
    #[error("message larger than {0} bytes")]
    TooLarge(usize),
    #[error("unparseable start line")]
    BadStartLine,
    #[error("invalid Content-Length on a stream transport")]
    BadContentLength,
}

/// Where the header section ends: (index of the first body byte).
pub(crate) fn find_head_end(buf: &[u8]) -> Option<usize> {
    let mut i = 0;
    while i < buf.len() {
        if buf[i] == b'\n' {
            if buf.get(i + 1) == Some(&b'\n') {
                return Some(i + 2);
            }
            if buf.get(i + 1) == Some(&b'\r') && buf.get(i + 2) == Some(&b'\n') {
                return Some(i + 3);
            }
        }
        i += 1;
    }
    None
}

/// Leading CRLFs before a start line are ignored (RFC 3261 §7.5).
pub(crate) fn skip_leading_crlf(buf: &[u8]) -> usize {
    buf.iter()
        .take_while(|b| **b == b'\r' || **b == b'\n')
        .count()
}

/// Parses one UDP datagram (a whole message; RFC 3261 §18.3).
pub fn parse_datagram(buf: &[u8], max_size: usize) -> Result<Message, ParseError> {
    if buf.len() > max_size {
        return Err(ParseError::TooLarge(max_size));
    }
    let start = skip_leading_crlf(buf);
    let buf = &buf[start..];
    if buf.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(ParseError::KeepAlive);
    }
    let head_end = find_head_end(buf).ok_or(ParseError::Incomplete)?;
    let mut msg = parse_head(&buf[..head_end])?;
    let avail = &buf[head_end..];
    let (body, defect) = match content_length(msg.headers()) {
        Err(()) => (avail, Some("invalid Content-Length")),
        Ok(None) => (avail, None),
        Ok(Some(n)) if n <= avail.len() => (&avail[..n], None),
        Ok(Some(_)) => (avail, Some("Content-Length larger than the datagram")),
    };
    set_body(&mut msg, body.to_vec());
    if let Some(d) = defect {
        mark(&mut msg, 400, d);
    }
    check(&mut msg);
    Ok(msg)
}

/// Parses a header section (start line through the blank line).
pub(crate) fn parse_head(head: &[u8]) -> Result<Message, ParseError> {
    let mut lines = head
        .split(|b| *b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let first = lines.next().ok_or(ParseError::BadStartLine)?;
    let first = std::str::from_utf8(first).map_err(|_| ParseError::BadStartLine)?;
    let mut defect: Option<(u16, String)> = None;
    let mut msg = parse_start_line(first, &mut defect)?;

    let mut headers = Headers::new();
    let mut pending: Option<(String, String)> = None;
    for raw in lines {
        if raw.is_empty() {
            continue;
        }
        let line = match std::str::from_utf8(raw) {
            Ok(s) => std::borrow::Cow::Borrowed(s),
            Err(_) => {
                note(&mut defect, 400, "header is not valid UTF-8");
                String::from_utf8_lossy(raw)
            }
        };
        if line.starts_with([' ', '\t']) {
            // Folded continuation line (RFC 3261 §7.3.1): joins the previous value.
            match pending.as_mut() {
                Some((_, v)) => {
                    let more = line.trim();
                    if !more.is_empty() {
                        if !v.is_empty() {
                            v.push(' ');
                        }
                        v.push_str(more);
                    }
                }
                None => note(&mut defect, 400, "continuation line without a header"),
            }
            continue;
        }
        if let Some((n, v)) = pending.take() {
            headers.push(canonical_name(&n), v);
        }
        match line.split_once(':') {
            Some((name, value)) => {
                let name = name.trim();
                if name.is_empty() || !name.bytes().all(is_token_byte) {
                    note(&mut defect, 400, "invalid header name");
                    continue;
                }
                pending = Some((name.to_string(), value.trim().to_string()));
            }
            None => note(&mut defect, 400, "header line without a colon"),
        }
    }
    if let Some((n, v)) = pending.take() {
        headers.push(canonical_name(&n), v);
    }
    match &mut msg {
        Message::Request(r) => {
            r.headers = headers;
            r.defect = defect.map(|(status, reason)| Defect { status, reason });
        }
        Message::Response(r) => r.headers = headers,
    }
    Ok(msg)
}

fn parse_start_line(line: &str, defect: &mut Option<(u16, String)>) -> Result<Message, ParseError> {
    if line.starts_with("SIP/") {
        let mut it = line.splitn(3, ' ');
        let version = it.next().unwrap_or("");
        let code = it.next().unwrap_or("");
        let reason = it.next().unwrap_or("").trim();
        if !version.eq_ignore_ascii_case("SIP/2.0") || code.len() != 3 {
            return Err(ParseError::BadStartLine);
        }
        let code: u16 = code.parse().map_err(|_| ParseError::BadStartLine)?;
        if !(100..=699).contains(&code) {
            return Err(ParseError::BadStartLine);
        }
        return Ok(Message::Response(Response::new(code, reason)));
    }
    let exact: Vec<&str> = line.split(' ').collect();
    let parts: Vec<&str> = if exact.len() == 3 && exact.iter().all(|p| !p.is_empty()) {
        exact
    } else {
        let loose: Vec<&str> = line.split_whitespace().collect();
        if loose.len() < 3 {
            return Err(ParseError::BadStartLine);
        }
        // RFC 4475 §3.1.2.7/§3.1.2.8: extra whitespace in the request line (even
        // inside the URI) is a 400, answerable as long as method and version are intact.
        note(defect, 400, "malformed request line");
        let last = loose.len() - 1;
        vec![loose[0], if last == 2 { loose[1] } else { "" }, loose[last]]
    };
    let (method, uri, version) = (parts[0], parts[1], parts[2]);
    let uri = if uri.is_empty() {
        // Method and version are the first and last tokens of the trimmed line.
        let t = line.trim();
        t.get(method.len()..t.len().saturating_sub(version.len()))
            .unwrap_or("")
            .trim()
    } else {
        uri
    };
    if !method.bytes().all(is_token_byte) {
        return Err(ParseError::BadStartLine);
    }
    if !version.eq_ignore_ascii_case("SIP/2.0") {
        if version.len() > 4
            && version
                .get(..4)
                .is_some_and(|p| p.eq_ignore_ascii_case("SIP/"))
        {
            note(defect, 505, "Version Not Supported");
        } else {
            return Err(ParseError::BadStartLine);
        }
    }
    Ok(Message::Request(Request::new(Method::parse(method), uri)))
}

/// RFC 3261 §25.1 `token` characters.
pub(crate) fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&b)
}

fn note(defect: &mut Option<(u16, String)>, status: u16, reason: &str) {
    // Keep the first problem; 505 wins over 400 only if it came first.
    if defect.is_none() {
        *defect = Some((status, reason.to_string()));
    }
}

fn mark(msg: &mut Message, status: u16, reason: &str) {
    if let Message::Request(r) = msg {
        if r.defect.is_none() {
            r.defect = Some(Defect {
                status,
                reason: reason.to_string(),
            });
        }
    }
}

fn set_body(msg: &mut Message, body: Vec<u8>) {
    match msg {
        Message::Request(r) => r.body = body,
        Message::Response(r) => r.body = body,
    }
}

/// `Ok(None)` when absent; `Err` when unparseable, negative, huge or contradictory.
pub(crate) fn content_length(h: &Headers) -> Result<Option<usize>, ()> {
    let mut found: Option<usize> = None;
    for v in h.get_all("Content-Length") {
        if v.is_empty() || v.len() > 9 || !v.bytes().all(|b| b.is_ascii_digit()) {
            return Err(());
        }
        let n: usize = v.parse().map_err(|_| ())?;
        if found.is_some_and(|f| f != n) {
            return Err(());
        }
        found = Some(n);
    }
    Ok(found)
}

/// Request checks that need the whole message (RFC 3261 §8.2.2 and §20).
pub(crate) fn check(msg: &mut Message) {
    let Message::Request(r) = msg else { return };
    if r.defect.is_some() {
        return;
    }
    for name in ["Via", "From", "To", "Call-ID", "CSeq"] {
        if !r.headers.has(name) {
            r.defect = Some(Defect {
                status: 400,
                reason: format!("Missing {name} header"),
            });
            return;
        }
    }
    let cseq_ok = r.headers.get_all("CSeq").count() == 1
        && CSeq::parse(r.headers.get("CSeq").unwrap_or("")).is_ok_and(|c| c.method == r.method);
    if !cseq_ok {
        r.defect = Some(Defect {
            status: 400,
            reason: "Bad CSeq".into(),
        });
        return;
    }
    for name in ["Call-ID", "From", "To", "Max-Forwards"] {
        if r.headers.get_all(name).count() > 1 {
            r.defect = Some(Defect {
                status: 400,
                reason: format!("Duplicate {name} header"),
            });
            return;
        }
    }
    if let Some(mf) = r.headers.get("Max-Forwards") {
        if max_forwards(mf).is_none() {
            r.defect = Some(Defect {
                status: 400,
                reason: "Bad Max-Forwards".into(),
            });
            return;
        }
    }
    // Every Via, From, To and Contact must parse: a request we would answer or
    // route on half-read addresses is better refused (RFC 4475 §3.1.2).
    if r.headers
        .values("Via")
        .iter()
        .any(|v| Via::parse(v).is_err())
        || r.headers.get("Via").is_some_and(|v| v.trim().is_empty())
    {
        r.defect = Some(Defect {
            status: 400,
            reason: "Bad Via".into(),
        });
        return;
    }
    for name in ["From", "To"] {
        if r.headers
            .get(name)
            .is_some_and(|v| NameAddr::parse(v).is_err())
        {
            r.defect = Some(Defect {
                status: 400,
                reason: format!("Bad {name} header"),
            });
            return;
        }
    }
    if r.headers
        .values("Contact")
        .iter()
        .any(|c| *c != "*" && NameAddr::parse(c).is_err())
    {
        r.defect = Some(Defect {
            status: 400,
            reason: "Bad Contact header".into(),
        });
    }
}

/// Max-Forwards is 1*DIGIT (RFC 3261 §20.22) with a value up to 255; leading zeros are fine.
pub fn max_forwards(v: &str) -> Option<u8> {
    let v = v.trim();
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let digits = v.trim_start_matches('0');
    if digits.len() > 3 {
        return None;
    }
    if digits.is_empty() {
        return Some(0);
    }
    digits.parse::<u8>().ok()
}

#[cfg(test)]
mod tests;
