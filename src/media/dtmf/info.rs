//! DTMF in SIP INFO requests (the pre-RFC 4733 way many PBXs and phones still use).
//!
//! Neither body format has an RFC; both are de-facto standards:
//! - `application/dtmf-relay` (Cisco): `Signal=5\r\nDuration=160\r\n`, durations in ms.
//!   Seen in the wild: `Signal=*`/`#`, numeric `Signal=10`/`11` for `*`/`#` (RFC 4733 event
//!   codes), lower-case keys, spaces around `=`, LF-only line ends.
//! - `application/dtmf`: the body is the key itself or its event code (`5`, `#`, `11`).

use super::{normalize_digit, rfc4733::event_to_digit};

/// Content type of the key/value body.
pub const DTMF_RELAY: &str = "application/dtmf-relay";
/// Content type of the bare-key body.
pub const DTMF: &str = "application/dtmf";

/// The key carried by an INFO body, or `None` if the type is not a DTMF one or the body is
/// malformed.
pub fn parse_info(content_type: &str, body: &[u8]) -> Option<char> {
    parse_info_full(content_type, body).map(|(d, _)| d)
}

/// Like [`parse_info`], plus the `Duration` in ms when the body gives a valid one.
pub fn parse_info_full(content_type: &str, body: &[u8]) -> Option<(char, Option<u32>)> {
    // Media type is case-insensitive; parameters (";charset=...") are ignored (RFC 3261
    // §20.15, RFC 2045 §5.1).
    let mime = content_type.split(';').next().unwrap_or("").trim();
    let body = std::str::from_utf8(body).ok()?;
    if mime.eq_ignore_ascii_case(DTMF_RELAY) {
        parse_relay(body)
    } else if mime.eq_ignore_ascii_case(DTMF) {
        parse_key(body.trim()).map(|d| (d, None))
    } else {
        None
    }
}

fn parse_relay(body: &str) -> Option<(char, Option<u32>)> {
    let mut signal = None;
    let mut duration = None;
    for line in body.lines() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let (key, value) = line.split_once('=')?;
        let (key, value) = (key.trim(), value.trim());
        if key.eq_ignore_ascii_case("signal") {
            if signal.is_some() {
                return None; // two keys in one INFO: ambiguous
            }
            signal = Some(parse_key(value)?);
        } else if key.eq_ignore_ascii_case("duration") {
            duration = value.parse::<u32>().ok();
        }
        // Unknown keys are ignored.
    }
    signal.map(|s| (s, duration))
}

/// A key as a character (`5`, `*`, `a`) or as an RFC 4733 event code 0-15 (`10` = `*`).
fn parse_key(s: &str) -> Option<char> {
    let mut chars = s.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) => normalize_digit(c),
        _ if s.len() <= 2 && s.bytes().all(|b| b.is_ascii_digit()) => {
            event_to_digit(s.parse::<u8>().ok()?)
        }
        _ => None,
    }
}

/// Builds an `application/dtmf-relay` body for sending a key, `None` if it is not a key.
pub fn dtmf_relay_body(digit: char, duration_ms: u32) -> Option<String> {
    let d = normalize_digit(digit)?;
    Some(format!("Signal={d}\r\nDuration={duration_ms}\r\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dtmf_relay_forms() {
        let ct = "application/dtmf-relay";
        assert_eq!(parse_info(ct, b"Signal=5\r\nDuration=160\r\n"), Some('5'));
        assert_eq!(parse_info(ct, b"Signal=5\r\nDuration=160"), Some('5'));
        assert_eq!(parse_info(ct, b"Signal=#\r\nDuration=250\r\n"), Some('#'));
        assert_eq!(parse_info(ct, b"Signal=*\nDuration=100\n"), Some('*'));
        assert_eq!(
            parse_info(ct, b"signal = 11\r\nduration = 100\r\n"),
            Some('#')
        );
        assert_eq!(parse_info(ct, b"SIGNAL=10"), Some('*'));
        assert_eq!(parse_info(ct, b"Signal=d\r\n"), Some('D'));
        assert_eq!(parse_info(ct, b"Signal=0"), Some('0'));
        assert_eq!(parse_info(ct, b"Signal=15"), Some('D'));
        assert_eq!(parse_info(ct, b"Duration=160\r\nSignal=9\r\n"), Some('9'));
        assert_eq!(
            parse_info(ct, b"\r\nSignal=1\r\nX-Foo=bar\r\n\r\n"),
            Some('1')
        );
        assert_eq!(
            parse_info("Application/DTMF-Relay; charset=utf-8", b"Signal=2"),
            Some('2')
        );
        assert_eq!(
            parse_info_full(ct, b"Signal=4\r\nDuration=250\r\n"),
            Some(('4', Some(250)))
        );
        assert_eq!(
            parse_info_full(ct, b"Signal=4\r\nDuration=x"),
            Some(('4', None))
        );
    }

    #[test]
    fn dtmf_forms() {
        let ct = "application/dtmf";
        assert_eq!(parse_info(ct, b"5"), Some('5'));
        assert_eq!(parse_info(ct, b"#\r\n"), Some('#'));
        assert_eq!(parse_info(ct, b" 11 "), Some('#'));
        assert_eq!(parse_info(ct, b"10"), Some('*'));
        assert_eq!(parse_info(ct, b"b"), Some('B'));
        assert_eq!(parse_info("APPLICATION/DTMF", b"7"), Some('7'));
    }

    #[test]
    fn malformed_is_none() {
        let relay = "application/dtmf-relay";
        for body in [
            &b""[..],
            b"Signal=",
            b"Signal=16",
            b"Signal=E",
            b"Signal=55",
            b"Signal=123",
            b"Signal=-1",
            b"Signal=12a",
            b"Signal 5",
            b"Duration=160",
            b"Signal=1\r\nSignal=2",
            b"Signal=\xff",
            b"\xff\xfe",
            b"Signal=\xe2\x82\xac",
        ] {
            assert_eq!(parse_info(relay, body), None, "{body:?}");
        }
        for body in [
            &b""[..],
            b"16",
            b"x",
            b"12 3",
            b"Signal=5",
            b"\x80",
            b"99999999999",
        ] {
            assert_eq!(parse_info("application/dtmf", body), None, "{body:?}");
        }
        assert_eq!(parse_info("application/sdp", b"5"), None);
        assert_eq!(parse_info("text/plain", b"Signal=5"), None);
        assert_eq!(parse_info("", b"5"), None);
        assert_eq!(parse_info("application/dtmf-relayx", b"Signal=5"), None);
    }

    #[test]
    fn arbitrary_bodies_do_not_panic() {
        let mut x: u64 = 88172645463325252;
        let alphabet = b"Signal=Duration=0123456789*#ABCDabcd \r\n\t;:\xff\xc3";
        for _ in 0..20_000 {
            let mut body = Vec::new();
            for _ in 0..(x % 40) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                body.push(alphabet[(x % alphabet.len() as u64) as usize]);
            }
            x = x.wrapping_add(1);
            let _ = parse_info(DTMF_RELAY, &body);
            let _ = parse_info(DTMF, &body);
        }
    }

    #[test]
    fn build_body_round_trips() {
        let body = dtmf_relay_body('a', 160).expect("key");
        assert_eq!(body, "Signal=A\r\nDuration=160\r\n");
        assert_eq!(
            parse_info_full(DTMF_RELAY, body.as_bytes()),
            Some(('A', Some(160)))
        );
        assert_eq!(dtmf_relay_body('x', 160), None);
    }
}
