use super::*;
use crate::config::{AgentConfig, AuthFailures};
use crate::sip::message::Message;
use crate::sip::parse::parse_datagram;
use crate::sip::transport::Transport;

fn agents() -> Vec<AgentConfig> {
    ["1001", "1002", "1003"]
        .iter()
        .map(|e| AgentConfig {
            extension: e.to_string(),
            name: format!("Agent {e}"),
            password: format!("secret{e}"),
            skills: Default::default(),
            languages: vec![],
            algorithms: (*e == "1003").then(|| vec![DigestAlgorithm::Md5]),
        })
        .collect()
}

fn registrar(t0: Instant) -> Registrar {
    let cfg = RegistrarConfig {
        auth_failures: AuthFailures {
            max: 3,
            window: Duration::from_secs(60),
            block: Duration::from_secs(300),
        },
        max_contacts: 2,
        ..Default::default()
    };
    Registrar::new(cfg, "switchboard", &agents(), [7; 32], t0)
}

fn peer() -> Peer {
    Peer {
        transport: Transport::Udp,
        addr: "127.0.0.1:5090".parse().unwrap(),
    }
}

fn register(user: &str, cseq: u32, contact: &str, expires: Option<u32>) -> Request {
    let expires = expires
        .map(|e| format!("Expires: {e}\r\n"))
        .unwrap_or_default();
    let text = format!(
        "REGISTER sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5090;branch=z9hG4bK{cseq}\r\n\
         From: <sip:{user}@127.0.0.1>;tag=f\r\nTo: <sip:{user}@127.0.0.1>\r\nCall-ID: reg-{user}\r\n\
         CSeq: {cseq} REGISTER\r\nContact: {contact}\r\n{expires}Content-Length: 0\r\n\r\n"
    );
    match parse_datagram(text.as_bytes(), 65535).unwrap() {
        Message::Request(r) => r,
        _ => unreachable!(),
    }
}

/// Answers the challenge of `resp` (algorithm `alg`) like a phone would.
fn authorize(
    mut req: Request,
    resp: &Response,
    alg: &str,
    user: &str,
    password: &str,
    nc: u32,
) -> Request {
    let challenge = resp
        .headers
        .get_all("WWW-Authenticate")
        .find(|c| c.contains(&format!("algorithm={alg}")))
        .expect("challenge for algorithm");
    let nonce = challenge
        .split("nonce=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let algorithm = digest::Algorithm::parse(alg).unwrap();
    let ha1 = digest::ha1(algorithm, user, "switchboard", password);
    let response = digest::response(
        algorithm,
        &ha1,
        nonce,
        Some("cn"),
        Some(nc),
        Some("auth"),
        "REGISTER",
        "sip:127.0.0.1",
        b"",
    );
    req.headers.push(
        "Authorization",
        format!(
            "Digest username=\"{user}\", realm=\"switchboard\", nonce=\"{nonce}\", uri=\"sip:127.0.0.1\", \
             response=\"{response}\", algorithm={alg}, cnonce=\"cn\", qop=auth, nc={nc:08x}"
        ),
    );
    req
}

fn login(r: &mut Registrar, now: Instant, req: Request, user: &str, pw: &str) -> Registered {
    let challenge = r.handle(now, &req, peer());
    assert_eq!(challenge.response.code, 401);
    r.handle(
        now,
        &authorize(req, &challenge.response, "MD5", user, pw, 1),
        peer(),
    )
}

#[test]
fn challenge_offers_md5_and_sha256() {
    let t0 = Instant::now();
    let mut r = registrar(t0);
    let out = r.handle(
        t0,
        &register("1001", 1, "<sip:1001@127.0.0.1:5090>", None),
        peer(),
    );
    assert_eq!(out.response.code, 401);
    let algs: Vec<_> = out.response.headers.get_all("WWW-Authenticate").collect();
    assert_eq!(algs.len(), 2);
    assert!(
        algs[0].contains("algorithm=MD5") && algs[1].contains("algorithm=SHA-256"),
        "{algs:?}"
    );
    assert!(algs
        .iter()
        .all(|a| a.contains("qop=\"auth\"") && a.contains("realm=\"switchboard\"")));
}

#[test]
fn an_extension_may_have_its_own_challenges() {
    let t0 = Instant::now();
    let mut r = registrar(t0);
    let out = r.handle(t0, &register("1003", 1, "<sip:1003@h>", None), peer());
    let algs: Vec<_> = out.response.headers.get_all("WWW-Authenticate").collect();
    assert_eq!(algs.len(), 1);
    assert!(algs[0].contains("algorithm=MD5"));
}

#[test]
fn md5_and_sha256_logins_create_bindings() {
    let t0 = Instant::now();
    let mut r = registrar(t0);
    let out = login(
        &mut r,
        t0,
        register("1001", 1, "<sip:1001@127.0.0.1:5090>", Some(120)),
        "1001",
        "secret1001",
    );
    assert_eq!(out.response.code, 200);
    assert_eq!(out.changed.as_deref(), Some("1001"));
    assert_eq!(
        out.response.headers.get("Contact"),
        Some("<sip:1001@127.0.0.1:5090>;expires=120")
    );
    assert_eq!(
        r.bindings("1001")[0].expires_at,
        t0 + Duration::from_secs(120)
    );

    let req = register("1002", 1, "<sip:1002@127.0.0.1:5091>", None);
    let ch = r.handle(t0, &req, peer());
    let ok = r.handle(
        t0,
        &authorize(req, &ch.response, "SHA-256", "1002", "secret1002", 1),
        peer(),
    );
    assert_eq!(ok.response.code, 200);
    // Default expiry when the phone names none.
    assert_eq!(
        r.bindings("1002")[0].expires_at,
        t0 + Duration::from_secs(600)
    );
}

#[test]
fn wrong_password_and_unknown_user_look_the_same() {
    let t0 = Instant::now();
    let mut r = registrar(t0);
    let wrong = login(
        &mut r,
        t0,
        register("1001", 1, "<sip:1001@h>", None),
        "1001",
        "nope",
    );
    let unknown = login(
        &mut r,
        t0,
        register("7777", 1, "<sip:7777@h>", None),
        "7777",
        "nope",
    );
    for out in [&wrong, &unknown] {
        assert_eq!(out.response.code, 401);
        assert_eq!(out.response.reason, "Unauthorized");
        assert_eq!(out.response.headers.get_all("WWW-Authenticate").count(), 2);
        assert!(out.changed.is_none());
    }
    assert!(r.bindings("1001").is_empty());
}

#[test]
fn repeated_failures_block_the_source_for_a_while() {
    let t0 = Instant::now();
    let mut r = registrar(t0);
    for i in 0..3 {
        let out = login(
            &mut r,
            t0,
            register("1001", i + 1, "<sip:1001@h>", None),
            "1001",
            "guess",
        );
        assert_eq!(out.response.code, 401);
    }
    // Blocked now, even with the right password.
    let req = register("1001", 9, "<sip:1001@h>", None);
    assert_eq!(r.handle(t0, &req, peer()).response.code, 403);
    // After the block the right password works again.
    let later = t0 + Duration::from_secs(301);
    let out = login(
        &mut r,
        later,
        register("1001", 10, "<sip:1001@h>", None),
        "1001",
        "secret1001",
    );
    assert_eq!(out.response.code, 200);
}

#[test]
fn stale_nonce_gets_stale_true() {
    let t0 = Instant::now();
    let mut r = registrar(t0);
    let req = register("1001", 1, "<sip:1001@h>", None);
    let ch = r.handle(t0, &req, peer());
    let late = t0 + Duration::from_secs(301);
    let out = r.handle(
        late,
        &authorize(req, &ch.response, "MD5", "1001", "secret1001", 1),
        peer(),
    );
    assert_eq!(out.response.code, 401);
    assert!(out
        .response
        .headers
        .get("WWW-Authenticate")
        .unwrap()
        .contains("stale=true"));
}

#[test]
fn nonce_reuse_with_growing_nc_and_replay() {
    let t0 = Instant::now();
    let mut r = registrar(t0);
    let first = register("1001", 1, "<sip:1001@h>", None);
    let ch = r.handle(t0, &first, peer()).response;
    for nc in 1..=12u32 {
        let req = authorize(
            register("1001", nc + 1, "<sip:1001@h>", None),
            &ch,
            "MD5",
            "1001",
            "secret1001",
            nc,
        );
        assert_eq!(r.handle(t0, &req, peer()).response.code, 200, "nc {nc}");
    }
    let replay = authorize(
        register("1001", 50, "<sip:1001@h>", None),
        &ch,
        "MD5",
        "1001",
        "secret1001",
        5,
    );
    assert_eq!(r.handle(t0, &replay, peer()).response.code, 401);
}

#[test]
fn too_brief_expiry_gets_423_with_min_expires() {
    let t0 = Instant::now();
    let mut r = registrar(t0);
    let out = login(
        &mut r,
        t0,
        register("1001", 1, "<sip:1001@h>", Some(30)),
        "1001",
        "secret1001",
    );
    assert_eq!(out.response.code, 423);
    assert_eq!(out.response.headers.get("Min-Expires"), Some("60"));
    let capped = login(
        &mut r,
        t0,
        register("1001", 2, "<sip:1001@h>;expires=99999", None),
        "1001",
        "secret1001",
    );
    assert_eq!(
        capped.response.headers.get("Contact"),
        Some("<sip:1001@h>;expires=3600")
    );
}

#[test]
fn several_contacts_unregister_and_star() {
    let t0 = Instant::now();
    let mut r = registrar(t0);
    login(
        &mut r,
        t0,
        register("1001", 1, "<sip:a@h>", None),
        "1001",
        "secret1001",
    );
    login(
        &mut r,
        t0,
        register("1001", 2, "<sip:b@h>", None),
        "1001",
        "secret1001",
    );
    assert_eq!(r.bindings("1001").len(), 2);
    // A third contact pushes out the one closest to expiry (max_contacts = 2).
    let out = login(
        &mut r,
        t0 + Duration::from_secs(5),
        register("1001", 3, "<sip:c@h>", None),
        "1001",
        "secret1001",
    );
    assert_eq!(out.response.headers.values("Contact").len(), 2);
    let contacts: Vec<_> = r
        .bindings("1001")
        .iter()
        .map(|b| b.contact.as_str())
        .collect();
    assert_eq!(contacts, ["sip:b@h", "sip:c@h"]);
    // Expires: 0 for one contact.
    let out = login(
        &mut r,
        t0,
        register("1001", 4, "<sip:b@h>", Some(0)),
        "1001",
        "secret1001",
    );
    assert_eq!(out.response.code, 200);
    assert_eq!(
        out.response.headers.values("Contact"),
        ["<sip:c@h>;expires=605"]
    );
    // `*` without Expires: 0 is refused, with it removes everything.
    assert_eq!(
        login(
            &mut r,
            t0,
            register("1001", 5, "*", None),
            "1001",
            "secret1001"
        )
        .response
        .code,
        400
    );
    let out = login(
        &mut r,
        t0,
        register("1001", 6, "*", Some(0)),
        "1001",
        "secret1001",
    );
    assert_eq!(
        (out.response.code, out.changed.as_deref()),
        (200, Some("1001"))
    );
    assert!(r.bindings("1001").is_empty());
    assert!(out.response.headers.get("Contact").is_none());
}

#[test]
fn out_of_order_cseq_is_refused() {
    let t0 = Instant::now();
    let mut r = registrar(t0);
    login(
        &mut r,
        t0,
        register("1001", 5, "<sip:a@h>", None),
        "1001",
        "secret1001",
    );
    let out = login(
        &mut r,
        t0,
        register("1001", 4, "<sip:a@h>", Some(0)),
        "1001",
        "secret1001",
    );
    assert_eq!(out.response.code, 500);
    assert_eq!(r.bindings("1001").len(), 1);
}

#[test]
fn user_may_only_register_itself() {
    let t0 = Instant::now();
    let mut r = registrar(t0);
    let req = register("1002", 1, "<sip:x@h>", None);
    let ch = r.handle(t0, &req, peer());
    let out = r.handle(
        t0,
        &authorize(req, &ch.response, "MD5", "1001", "secret1001", 1),
        peer(),
    );
    assert_eq!(out.response.code, 403);
}

#[test]
fn bindings_expire() {
    let t0 = Instant::now();
    let mut r = registrar(t0);
    login(
        &mut r,
        t0,
        register("1001", 1, "<sip:a@h>", Some(60)),
        "1001",
        "secret1001",
    );
    login(
        &mut r,
        t0,
        register("1002", 1, "<sip:b@h>", Some(120)),
        "1002",
        "secret1002",
    );
    assert_eq!(r.poll_timeout(), Some(t0 + Duration::from_secs(60)));
    assert!(r.handle_timeout(t0 + Duration::from_secs(59)).is_empty());
    assert_eq!(r.handle_timeout(t0 + Duration::from_secs(60)), ["1001"]);
    assert!(!r.reachable("1001"));
    assert!(r.reachable("1002"));
    assert_eq!(r.handle_timeout(t0 + Duration::from_secs(120)), ["1002"]);
}

#[test]
fn same_instance_replaces_its_old_contact() {
    let t0 = Instant::now();
    let mut r = registrar(t0);
    let inst = ";+sip.instance=\"<urn:uuid:0C67446E-F1A1-11D9-94D3-000A95A0E128>\"";
    login(
        &mut r,
        t0,
        register("1001", 1, &format!("<sip:1001@10.0.0.1:5060>{inst}"), None),
        "1001",
        "secret1001",
    );
    login(
        &mut r,
        t0,
        register("1001", 2, &format!("<sip:1001@10.0.0.2:5062>{inst}"), None),
        "1001",
        "secret1001",
    );
    let contacts: Vec<_> = r
        .bindings("1001")
        .iter()
        .map(|b| b.contact.as_str())
        .collect();
    assert_eq!(contacts, ["sip:1001@10.0.0.2:5062"]);
}
