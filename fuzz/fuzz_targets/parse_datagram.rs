//! One UDP datagram through the codec: parse, every typed header view, then
//! serialise and parse again. Nothing may panic, and the second parse must give
//! the same message (Content-Length aside, which `to_bytes` always rewrites).
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchboard::sip::headers::{CSeq, NameAddr, Params, Via};
use switchboard::sip::message::{split_list, Headers, Message};
use switchboard::sip::parse::parse_datagram;
use switchboard::sip::uri::Uri;

fn views(value: &str) {
    for v in std::iter::once(value).chain(split_list(value)) {
        let _ = Via::parse(v).map(|via| (via.branch().map(str::len), via.sent_by()));
        let _ =
            NameAddr::parse(v).map(|a| (a.tag().map(str::len), a.uri.host_port(), a.to_string()));
        let _ = CSeq::parse(v).map(|c| c.to_string());
        let _ = Uri::parse(v).map(|u| (u.transport().map(str::len), u.to_string()));
        let _ = Params::parse(v).map(|p| p.to_string());
    }
}

fn without_content_length(h: &Headers) -> Vec<(String, String)> {
    h.iter()
        .filter(|h| !h.name.eq_ignore_ascii_case("Content-Length"))
        .map(|h| (h.name.clone(), h.value.clone()))
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let Ok(msg) = parse_datagram(data, 65535) else {
        return;
    };
    if let Message::Request(r) = &msg {
        let _ = Uri::parse(&r.uri);
    }
    for h in msg.headers().iter() {
        views(&h.value);
    }
    for name in [
        "Via",
        "Contact",
        "Route",
        "Record-Route",
        "Allow",
        "Require",
    ] {
        for v in msg.headers().values(name) {
            views(v);
        }
    }
    let bytes = msg.to_bytes();
    // Serialising may grow the message (compact names expanded, ": ", a
    // Content-Length line, U+FFFD for invalid UTF-8), so no size limit here.
    let again = match parse_datagram(&bytes, usize::MAX) {
        Ok(m) => m,
        Err(e) => panic!(
            "re-parse failed: {e:?}\n{}",
            String::from_utf8_lossy(&bytes)
        ),
    };
    match (&msg, &again) {
        (Message::Request(a), Message::Request(b)) => {
            assert_eq!(a.method, b.method);
            assert_eq!(a.uri, b.uri);
            assert_eq!(a.body, b.body);
            assert_eq!(
                without_content_length(&a.headers),
                without_content_length(&b.headers)
            );
        }
        (Message::Response(a), Message::Response(b)) => {
            assert_eq!((a.code, &a.reason), (b.code, &b.reason));
            assert_eq!(a.body, b.body);
            assert_eq!(
                without_content_length(&a.headers),
                without_content_length(&b.headers)
            );
        }
        _ => panic!("request/response flipped on re-parse"),
    }
});
