//! Typed views of the headers the SIP core reads: Via, From/To/Contact/Route
//! (name-addr), CSeq, and the `;name=value` parameter lists they share.

use std::fmt;

use super::message::Method;
use super::uri::{split_hostport, Uri, UriError};

/// `;name[=value]` parameters in received order. Names compare case-insensitively.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params(pub Vec<(String, Option<String>)>);

impl Params {
    /// Parses `a=1;b;c=2` (no leading `;`).
    pub fn parse(s: &str) -> Result<Params, UriError> {
        let mut out = Vec::new();
        for part in split_unquoted(s, ';') {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            // Control characters (NUL among them) never belong in a parameter.
            if part.bytes().any(|b| b < 0x20 && b != b'\t' || b == 0x7f) {
                return Err(UriError::Malformed);
            }
            match part.split_once('=') {
                Some((k, v)) => {
                    let k = k.trim();
                    if k.is_empty() {
                        return Err(UriError::Malformed);
                    }
                    out.push((k.to_string(), Some(v.trim().to_string())));
                }
                None => out.push((part.to_string(), None)),
            }
        }
        Ok(Params(out))
    }

    /// `None` if absent; `Some(None)` for a flag like `lr`; `Some(Some(v))` otherwise.
    pub fn get(&self, name: &str) -> Option<Option<&str>> {
        self.0
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_deref())
    }

    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    pub fn set(&mut self, name: &str, value: Option<String>) {
        match self
            .0
            .iter_mut()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
        {
            Some(p) => p.1 = value,
            None => self.0.push((name.to_string(), value)),
        }
    }

    pub fn remove(&mut self, name: &str) {
        self.0.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
    }
}

impl fmt::Display for Params {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (k, v) in &self.0 {
            match v {
                Some(v) => write!(f, ";{k}={v}")?,
                None => write!(f, ";{k}")?,
            }
        }
        Ok(())
    }
}

/// Splits on `sep` outside double quotes.
fn split_unquoted(s: &str, sep: char) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut quoted, mut escaped, mut start) = (false, false, 0);
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            c if c == sep && !quoted => {
                out.push(&s[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed {0} header")]
pub struct HeaderError(pub &'static str);

/// One Via entry (RFC 3261 §20.42): `SIP/2.0/UDP host:port;branch=...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Via {
    /// Upper-case transport: `UDP`, `TCP`, `TLS`, ...
    pub transport: String,
    pub host: String,
    pub port: Option<u16>,
    pub params: Params,
}

/// RFC 3261 §8.1.1.7: branches starting with this were made by RFC 3261 elements.
pub const MAGIC_COOKIE: &str = "z9hG4bK";

impl Via {
    pub fn parse(s: &str) -> Result<Via, HeaderError> {
        let err = HeaderError("Via");
        let (proto, rest) = s.trim().split_once([' ', '\t']).ok_or(err.clone())?;
        // Tolerate whitespace around the slashes (RFC 4475 wsinv): compact it first.
        let mut proto = proto.to_string();
        let mut rest = rest.trim_start();
        while proto.matches('/').count() < 2 || proto.ends_with('/') {
            let (next, r) = match rest.split_once([' ', '\t']) {
                Some((n, r)) => (n, r.trim_start()),
                None => return Err(err),
            };
            proto.push_str(next);
            rest = r;
        }
        let mut parts = proto.split('/');
        let (name, version, transport) = (parts.next(), parts.next(), parts.next());
        if !name.is_some_and(|n| n.eq_ignore_ascii_case("SIP"))
            || version != Some("2.0")
            || parts.next().is_some()
        {
            return Err(err);
        }
        let transport = transport
            .filter(|t| !t.is_empty())
            .ok_or(err.clone())?
            .to_ascii_uppercase();
        let (sent_by, params) = match rest.split_once(';') {
            Some((h, p)) => (h, Params::parse(p).map_err(|_| err.clone())?),
            None => (rest, Params::default()),
        };
        let (host, port) = split_hostport(sent_by.trim()).map_err(|_| err)?;
        Ok(Via {
            transport,
            host,
            port,
            params,
        })
    }

    pub fn branch(&self) -> Option<&str> {
        self.params.get("branch").flatten()
    }

    /// `host:port` as sent (the sent-by of RFC 3261 §18.2.2).
    pub fn sent_by(&self) -> String {
        match self.port {
            Some(p) => format!("{}:{}", self.host, p),
            None => self.host.clone(),
        }
    }
}

impl fmt::Display for Via {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "SIP/2.0/{} {}{}",
            self.transport,
            self.sent_by(),
            self.params
        )
    }
}

/// `"Display" <uri>;params` or `uri;params` (RFC 3261 §20.10, §20.20, §20.39).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameAddr {
    /// Display name without surrounding quotes.
    pub display: Option<String>,
    pub uri: Uri,
    /// Header parameters (tag, expires, q, ...), not URI parameters.
    pub params: Params,
}

impl NameAddr {
    pub fn parse(s: &str) -> Result<NameAddr, HeaderError> {
        let err = HeaderError("address");
        let s = s.trim();
        let (display, uri_text, rest) = if let Some(after) = s.strip_prefix('"') {
            let mut end = None;
            let mut escaped = false;
            for (i, c) in after.char_indices() {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == '"' {
                    end = Some(i);
                    break;
                }
            }
            let end = end.ok_or(err.clone())?;
            let display = after[..end].to_string();
            let rest = after[end + 1..].trim_start();
            let inner = rest.strip_prefix('<').ok_or(err.clone())?;
            let close = inner.find('>').ok_or(err.clone())?;
            (Some(display), &inner[..close], &inner[close + 1..])
        } else if let Some(open) = s.find('<') {
            let display = s[..open].trim();
            // An unquoted display name is a run of tokens (RFC 3261 §25.1 `display-name`).
            if !display
                .bytes()
                .all(|b| super::parse::is_token_byte(b) || b == b' ' || b == b'\t')
            {
                return Err(err);
            }
            let close = s[open..].find('>').ok_or(err.clone())? + open;
            let display = (!display.is_empty()).then(|| display.to_string());
            (display, &s[open + 1..close], &s[close + 1..])
        } else {
            // addr-spec form: header parameters start at the first ';' (RFC 3261 §20.10).
            let (u, rest) = match s.split_once(';') {
                Some((u, _)) => (u, &s[u.len()..]),
                None => (s, ""),
            };
            // Without <>, a URI may not carry headers or commas (RFC 3261 §20.10).
            if u.contains(['?', ',']) {
                return Err(err);
            }
            (None, u, rest)
        };
        let uri = Uri::parse(uri_text).map_err(|_| err.clone())?;
        let rest = rest.trim();
        let rest = match rest.strip_prefix(';') {
            Some(r) => r,
            None if rest.is_empty() => rest,
            None => return Err(err),
        };
        let params = Params::parse(rest).map_err(|_| err)?;
        Ok(NameAddr {
            display,
            uri,
            params,
        })
    }

    pub fn tag(&self) -> Option<&str> {
        self.params.get("tag").flatten()
    }
}

impl fmt::Display for NameAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(d) = &self.display {
            write!(f, "\"{d}\" ")?;
        }
        write!(f, "<{}>{}", self.uri, self.params)
    }
}

/// `CSeq: 4711 INVITE` (RFC 3261 §20.16). The number is below 2**31.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CSeq {
    pub seq: u32,
    pub method: Method,
}

impl CSeq {
    pub fn parse(s: &str) -> Result<CSeq, HeaderError> {
        let err = HeaderError("CSeq");
        let mut it = s.split_whitespace();
        let seq = it.next().ok_or(err.clone())?;
        let method = it.next().ok_or(err.clone())?;
        if it.next().is_some() || seq.len() > 10 || !seq.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err);
        }
        let seq: u64 = seq.parse().map_err(|_| err.clone())?;
        if seq >= 1 << 31 {
            return Err(err);
        }
        Ok(CSeq {
            seq: seq as u32,
            method: Method::parse(method),
        })
    }
}

impl fmt::Display for CSeq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.seq, self.method)
    }
}

/// The dialog a Replaces header names (RFC 3891 §6.1): its Call-ID and tags.
/// `to_tag` is the tag of the UA that receives the header (here: ours),
/// `from_tag` the other party's (§3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replaces {
    pub call_id: String,
    pub to_tag: String,
    pub from_tag: String,
    /// `early-only`: replace the dialog only while it is still ringing.
    pub early_only: bool,
}

impl Replaces {
    /// Parses `call-id;to-tag=a;from-tag=b[;early-only]`; both tags are required.
    pub fn parse(s: &str) -> Result<Replaces, HeaderError> {
        let bad = HeaderError("Replaces");
        let (call_id, params) = s.trim().split_once(';').ok_or(bad.clone())?;
        let params = Params::parse(params).map_err(|_| bad.clone())?;
        let tag = |name| {
            params
                .get(name)
                .flatten()
                .filter(|v| !v.is_empty())
                .map(str::to_string)
                .ok_or(bad.clone())
        };
        let call_id = call_id.trim();
        if call_id.is_empty() {
            return Err(bad);
        }
        Ok(Replaces {
            call_id: call_id.to_string(),
            to_tag: tag("to-tag")?,
            from_tag: tag("from-tag")?,
            early_only: params.has("early-only"),
        })
    }

    /// The Replaces header embedded in a URI's headers part (`a=b&Replaces=...`),
    /// as a REFER's Refer-To carries it for an attended transfer (RFC 3891 §5,
    /// RFC 5589 §7). Header values in a URI are percent-encoded (RFC 3261
    /// §19.1.1). `None` when there is none.
    pub fn from_uri_headers(headers: &str) -> Option<Result<Replaces, HeaderError>> {
        let value = headers.split('&').find_map(|h| {
            let (name, value) = h.split_once('=')?;
            name.trim()
                .eq_ignore_ascii_case("replaces")
                .then_some(value)
        })?;
        Some(
            percent_encoding::percent_decode_str(value)
                .decode_utf8()
                .map_err(|_| HeaderError("Replaces"))
                .and_then(|v| Replaces::parse(&v)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn via_forms() {
        let v = Via::parse("SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bK-1;rport").unwrap();
        assert_eq!(
            (v.transport.as_str(), v.host.as_str(), v.port),
            ("UDP", "127.0.0.1", Some(5080))
        );
        assert_eq!(v.branch(), Some("z9hG4bK-1"));
        assert_eq!(v.params.get("rport"), Some(None));
        assert_eq!(
            v.to_string(),
            "SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bK-1;rport"
        );
        let w = Via::parse("SIP  /  2.0  /  tcp  host.example.com ; branch = z9hG4bK9").unwrap();
        assert_eq!(
            (w.transport.as_str(), w.host.as_str()),
            ("TCP", "host.example.com")
        );
        assert_eq!(w.branch(), Some("z9hG4bK9"));
        let six = Via::parse("SIP/2.0/UDP [2001:db8::9]:5060;branch=z9hG4bKx").unwrap();
        assert_eq!(six.host, "[2001:db8::9]");
        for bad in [
            "SIP/2.0/UDP",
            "SIP/3.0/UDP h",
            "SIP/2.0 h",
            "garbage",
            "SIP/2.0/UDP h:99999",
        ] {
            assert!(Via::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn name_addr_forms() {
        let a = NameAddr::parse(
            r#""Alice \"A\"" <sip:1001@127.0.0.1;transport=udp>;tag=abc;expires=60"#,
        )
        .unwrap();
        assert_eq!(a.display.as_deref(), Some(r#"Alice \"A\""#));
        assert_eq!(a.uri.user.as_deref(), Some("1001"));
        assert_eq!(a.uri.transport(), Some("udp"));
        assert_eq!(a.tag(), Some("abc"));
        assert_eq!(a.params.get("expires"), Some(Some("60")));
        let b = NameAddr::parse("sip:1002@host;tag=xyz").unwrap();
        assert_eq!(b.tag(), Some("xyz"));
        assert!(b.uri.params.0.is_empty());
        let c = NameAddr::parse("Bob <sip:b@h>").unwrap();
        assert_eq!(c.display.as_deref(), Some("Bob"));
        for bad in [
            "<sip:a@h",
            "\"unterminated <sip:a@h>",
            "<isbn:1>",
            "<sip:a@h> junk",
        ] {
            assert!(NameAddr::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn cseq_bounds() {
        assert_eq!(
            CSeq::parse("4711 INVITE").unwrap(),
            CSeq {
                seq: 4711,
                method: Method::Invite
            }
        );
        for bad in [
            "",
            "1",
            "x INVITE",
            "4294967296 INVITE",
            "2147483648 INVITE",
            "1 INVITE extra",
            "-1 BYE",
        ] {
            assert!(CSeq::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn replaces_from_a_refer_to_uri() {
        // As PJSIP and baresip write it (RFC 5589 §7.1): percent-encoded.
        let uri = Uri::parse(
            "sip:1002@127.0.0.1?Replaces=abc%40host%3Bto-tag%3Dours%3Bfrom-tag%3Dtheirs&X=1",
        )
        .unwrap();
        let r = Replaces::from_uri_headers(uri.headers.as_deref().unwrap())
            .unwrap()
            .unwrap();
        assert_eq!(
            r,
            Replaces {
                call_id: "abc@host".into(),
                to_tag: "ours".into(),
                from_tag: "theirs".into(),
                early_only: false,
            }
        );
        assert!(
            Replaces::parse("c;from-tag=a;to-tag=b;early-only")
                .unwrap()
                .early_only
        );
        assert!(Replaces::from_uri_headers("Subject=hi").is_none());
        for bad in [
            "",
            "c",
            "c;to-tag=a",
            ";to-tag=a;from-tag=b",
            "c;to-tag=;from-tag=b",
        ] {
            assert!(Replaces::parse(bad).is_err(), "{bad}");
        }
        assert!(Replaces::from_uri_headers("Replaces=c%3Bto-tag%3Da")
            .unwrap()
            .is_err());
    }
}
