//! The SIP message model: requests and responses as a start line, an ordered
//! list of headers and a body of bytes (bodies may be binary; RFC 3261 §7.4).
//!
//! Header names are stored in canonical form (compact forms expanded, known
//! names capitalised as in RFC 3261), so lookups compare case-insensitively
//! against one spelling. Values are kept as received, less surrounding
//! whitespace; typed views live in [`super::headers`].

use std::fmt;

/// A SIP method. Methods are case-sensitive tokens (RFC 3261 §7.1); unknown
/// ones are kept so that we can answer 501 with an Allow header.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Method {
    Invite,
    Ack,
    Bye,
    Cancel,
    Register,
    Options,
    Info,
    Prack,
    Update,
    Subscribe,
    Notify,
    Refer,
    Message,
    Publish,
    Other(String),
}

impl Method {
    pub fn parse(s: &str) -> Method {
        match s {
            "INVITE" => Method::Invite,
            "ACK" => Method::Ack,
            "BYE" => Method::Bye,
            "CANCEL" => Method::Cancel,
            "REGISTER" => Method::Register,
            "OPTIONS" => Method::Options,
            "INFO" => Method::Info,
            "PRACK" => Method::Prack,
            "UPDATE" => Method::Update,
            "SUBSCRIBE" => Method::Subscribe,
            "NOTIFY" => Method::Notify,
            "REFER" => Method::Refer,
            "MESSAGE" => Method::Message,
            "PUBLISH" => Method::Publish,
            other => Method::Other(other.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Method::Invite => "INVITE",
            Method::Ack => "ACK",
            Method::Bye => "BYE",
            Method::Cancel => "CANCEL",
            Method::Register => "REGISTER",
            Method::Options => "OPTIONS",
            Method::Info => "INFO",
            Method::Prack => "PRACK",
            Method::Update => "UPDATE",
            Method::Subscribe => "SUBSCRIBE",
            Method::Notify => "NOTIFY",
            Method::Refer => "REFER",
            Method::Message => "MESSAGE",
            Method::Publish => "PUBLISH",
            Method::Other(s) => s,
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub name: String,
    pub value: String,
}

/// Ordered header list. Order matters for Via, Route and Record-Route.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers(Vec<Header>);

/// Headers whose values are comma-separated lists (RFC 3261 §7.3.1) and may
/// therefore be split. Authorization-style headers are not: their params hold commas.
const LIST_HEADERS: &[&str] = &[
    "Via",
    "Contact",
    "Route",
    "Record-Route",
    "Allow",
    "Supported",
    "Require",
    "Proxy-Require",
    "Unsupported",
    "Accept",
    "Accept-Encoding",
    "Accept-Language",
    "Allow-Events",
];

impl Headers {
    pub fn new() -> Self {
        Headers(Vec::new())
    }

    /// First value of `name` (canonical or any case).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.as_str())
    }

    /// Every header line named `name`, unsplit.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.as_str())
    }

    /// Every value of a list header, with comma-separated lines split
    /// (quote- and angle-bracket-aware).
    pub fn values<'a>(&'a self, name: &'a str) -> Vec<&'a str> {
        let split = LIST_HEADERS.iter().any(|l| l.eq_ignore_ascii_case(name));
        let mut out = Vec::new();
        for v in self.get_all(name) {
            if split {
                out.extend(split_list(v));
            } else {
                out.push(v);
            }
        }
        out
    }

    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    pub fn push(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.0.push(Header {
            name: name.into(),
            value: value.into(),
        });
    }

    /// Inserts before every other header (used for the top Via).
    pub fn push_front(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.0.insert(
            0,
            Header {
                name: name.into(),
                value: value.into(),
            },
        );
    }

    /// Replaces all headers called `name` with one (kept at the first one's place).
    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        let value = value.into();
        match self
            .0
            .iter()
            .position(|h| h.name.eq_ignore_ascii_case(name))
        {
            Some(i) => {
                self.0[i].value = value;
                let mut n = 0;
                self.0.retain(|h| {
                    if !h.name.eq_ignore_ascii_case(name) {
                        return true;
                    }
                    n += 1;
                    n == 1
                });
            }
            None => self.push(name, value),
        }
    }

    pub fn remove(&mut self, name: &str) {
        self.0.retain(|h| !h.name.eq_ignore_ascii_case(name));
    }

    pub fn iter(&self) -> impl Iterator<Item = &Header> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Copies every `name` header from `other`, in order.
    pub fn copy_from(&mut self, other: &Headers, name: &str) {
        for v in other.get_all(name) {
            self.push(canonical_name(name), v);
        }
    }
}

/// Splits a comma-separated header value, ignoring commas inside quotes and `<...>`.
pub fn split_list(v: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut quoted, mut angle, mut escaped) = (false, false, false);
    let mut start = 0;
    for (i, c) in v.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '<' if !quoted => angle = true,
            '>' if !quoted => angle = false,
            ',' if !quoted && !angle => {
                let part = v[start..i].trim();
                if !part.is_empty() {
                    out.push(part);
                }
                start = i + 1;
            }
            _ => {}
        }
    }
    let part = v[start..].trim();
    if !part.is_empty() {
        out.push(part);
    }
    out
}

/// Canonical spelling of a header name: compact forms expanded (RFC 3261
/// §7.3.3 and the extension registry), known names in their RFC case.
pub fn canonical_name(name: &str) -> String {
    const KNOWN: &[&str] = &[
        "Accept",
        "Accept-Encoding",
        "Accept-Language",
        "Alert-Info",
        "Allow",
        "Allow-Events",
        "Authentication-Info",
        "Authorization",
        "Call-ID",
        "Call-Info",
        "Contact",
        "Content-Disposition",
        "Content-Encoding",
        "Content-Language",
        "Content-Length",
        "Content-Type",
        "CSeq",
        "Date",
        "Error-Info",
        "Event",
        "Expires",
        "From",
        "In-Reply-To",
        "Max-Forwards",
        "Min-Expires",
        "MIME-Version",
        "Organization",
        "Path",
        "Priority",
        "Proxy-Authenticate",
        "Proxy-Authorization",
        "Proxy-Require",
        "Record-Route",
        "Refer-To",
        "Referred-By",
        "Reply-To",
        "Require",
        "Retry-After",
        "Route",
        "RSeq",
        "RAck",
        "Server",
        "Session-Expires",
        "Min-SE",
        "Subject",
        "Supported",
        "Timestamp",
        "To",
        "Unsupported",
        "User-Agent",
        "Via",
        "Warning",
        "WWW-Authenticate",
    ];
    if name.len() == 1 {
        let full = match name.as_bytes()[0].to_ascii_lowercase() {
            b'i' => "Call-ID",
            b'm' => "Contact",
            b'e' => "Content-Encoding",
            b'l' => "Content-Length",
            b'c' => "Content-Type",
            b'f' => "From",
            b's' => "Subject",
            b'k' => "Supported",
            b't' => "To",
            b'v' => "Via",
            b'o' => "Event",
            b'r' => "Refer-To",
            b'b' => "Referred-By",
            b'u' => "Allow-Events",
            b'x' => "Session-Expires",
            _ => return name.to_string(),
        };
        return full.to_string();
    }
    KNOWN
        .iter()
        .find(|k| k.eq_ignore_ascii_case(name))
        .map(|k| k.to_string())
        .unwrap_or_else(|| name.to_string())
}

/// Why a request that parsed can still not be processed: the status to answer with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Defect {
    pub status: u16,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: Method,
    /// Request-URI as received; parse with [`super::uri::Uri::parse`].
    pub uri: String,
    pub headers: Headers,
    pub body: Vec<u8>,
    /// Set by the parser when the message is broken but answerable (400, 505, ...).
    pub defect: Option<Defect>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub code: u16,
    pub reason: String,
    pub headers: Headers,
    pub body: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    Request(Request),
    Response(Response),
}

impl Message {
    pub fn headers(&self) -> &Headers {
        match self {
            Message::Request(r) => &r.headers,
            Message::Response(r) => &r.headers,
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            Message::Request(r) => r.to_bytes(),
            Message::Response(r) => r.to_bytes(),
        }
    }

    pub fn call_id(&self) -> &str {
        self.headers().get("Call-ID").unwrap_or("")
    }
}

fn write_headers_and_body(out: &mut Vec<u8>, headers: &Headers, body: &[u8]) {
    for h in headers.iter() {
        if h.name.eq_ignore_ascii_case("Content-Length") {
            continue;
        }
        out.extend_from_slice(h.name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(h.value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    // Always written, and always right: RFC 3261 §20.14 requires it over TCP.
    out.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
    out.extend_from_slice(body);
}

impl Request {
    pub fn new(method: Method, uri: impl Into<String>) -> Request {
        Request {
            method,
            uri: uri.into(),
            headers: Headers::new(),
            body: Vec::new(),
            defect: None,
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256 + self.body.len());
        out.extend_from_slice(format!("{} {} SIP/2.0\r\n", self.method, self.uri).as_bytes());
        write_headers_and_body(&mut out, &self.headers, &self.body);
        out
    }

    pub fn call_id(&self) -> &str {
        self.headers.get("Call-ID").unwrap_or("")
    }
}

impl Response {
    pub fn new(code: u16, reason: impl Into<String>) -> Response {
        Response {
            code,
            reason: reason.into(),
            headers: Headers::new(),
            body: Vec::new(),
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256 + self.body.len());
        out.extend_from_slice(format!("SIP/2.0 {} {}\r\n", self.code, self.reason).as_bytes());
        write_headers_and_body(&mut out, &self.headers, &self.body);
        out
    }

    pub fn is_provisional(&self) -> bool {
        self.code < 200
    }
}

/// Default reason phrases (RFC 3261 §21).
pub fn reason_phrase(code: u16) -> &'static str {
    match code {
        100 => "Trying",
        180 => "Ringing",
        181 => "Call Is Being Forwarded",
        182 => "Queued",
        183 => "Session Progress",
        200 => "OK",
        202 => "Accepted",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        415 => "Unsupported Media Type",
        416 => "Unsupported URI Scheme",
        420 => "Bad Extension",
        423 => "Interval Too Brief",
        480 => "Temporarily Unavailable",
        481 => "Call/Transaction Does Not Exist",
        482 => "Loop Detected",
        483 => "Too Many Hops",
        486 => "Busy Here",
        487 => "Request Terminated",
        488 => "Not Acceptable Here",
        491 => "Request Pending",
        500 => "Server Internal Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        505 => "Version Not Supported",
        513 => "Message Too Large",
        603 => "Decline",
        _ => "Unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_list_respects_quotes_and_brackets() {
        assert_eq!(
            split_list(r#""A, B" <sip:a@x;p=1,2>;q=0.5, <sip:b@y> , sip:c@z"#),
            vec![r#""A, B" <sip:a@x;p=1,2>;q=0.5"#, "<sip:b@y>", "sip:c@z"]
        );
        assert_eq!(split_list(r#""a\", b", c"#), vec![r#""a\", b""#, "c"]);
        assert!(split_list(" , ").is_empty());
    }

    #[test]
    fn canonical_names() {
        assert_eq!(canonical_name("v"), "Via");
        assert_eq!(canonical_name("I"), "Call-ID");
        assert_eq!(canonical_name("call-id"), "Call-ID");
        assert_eq!(canonical_name("WWW-AUTHENTICATE"), "WWW-Authenticate");
        assert_eq!(canonical_name("X-Custom"), "X-Custom");
    }

    #[test]
    fn set_replaces_all_and_keeps_position() {
        let mut h = Headers::new();
        h.push("A", "1");
        h.push("B", "2");
        h.push("A", "3");
        h.set("a", "9");
        let v: Vec<_> = h
            .iter()
            .map(|h| (h.name.as_str(), h.value.as_str()))
            .collect();
        assert_eq!(v, [("A", "9"), ("B", "2")]);
    }

    #[test]
    fn serialisation_writes_content_length() {
        let mut r = Response::new(200, "OK");
        r.headers.push("Content-Length", "999");
        r.body = b"abc".to_vec();
        assert_eq!(
            r.to_bytes(),
            b"SIP/2.0 200 OK\r\nContent-Length: 3\r\n\r\nabc"
        );
    }
}
