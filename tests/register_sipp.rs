//! The registrar, driven by SIPp (a real third-party UA) over UDP and TCP:
//! digest authentication, refused credentials, 423 Interval Too Brief,
//! un-registration (one binding and `Contact: *`), OPTIONS, and the block
//! after repeated failures. Scenarios are in `tests/sipp/`.

mod common;

use common::{header_values, require_tool, Sipp, Target, Transport};

fn sipp_present() -> bool {
    require_tool("sipp")
}

/// The challenge Switchboard sends: two WWW-Authenticate headers, one for
/// SHA-256 and one for MD5, both with qop="auth" and the configured realm.
fn check_challenge(msg: &str) {
    let challenges = header_values(msg, "WWW-Authenticate");
    assert_eq!(
        challenges.len(),
        2,
        "want two WWW-Authenticate headers in\n{msg}"
    );
    for alg in ["SHA-256", "MD5"] {
        let c = challenges
            .iter()
            .find(|c| {
                c.split(',')
                    .map(|p| p.trim().trim_start_matches("Digest").trim())
                    .any(|p| p.eq_ignore_ascii_case(&format!("algorithm={alg}")))
            })
            .unwrap_or_else(|| panic!("no algorithm={alg} challenge in\n{msg}"));
        assert!(c.starts_with("Digest "), "{c}");
        assert!(c.contains(r#"qop="auth""#), "no qop=\"auth\" in {c}");
        assert!(c.contains(r#"realm="switchboard""#), "wrong realm in {c}");
        assert!(c.contains("nonce=\""), "no nonce in {c}");
    }
}

fn register(t: Transport) {
    if !sipp_present() {
        return;
    }
    let target = Target::demo();
    let run = Sipp::new("register.xml", target.addr)
        .transport(t)
        .user("1002", "secret1002")
        .run();
    run.assert_ok("REGISTER with digest auth");
    let received = run.received();
    assert!(received[0].starts_with("SIP/2.0 401"), "{}", received[0]);
    assert!(received[1].starts_with("SIP/2.0 200"), "{}", received[1]);
    if target.is_switchboard() {
        check_challenge(&received[0]);
        // The 200 lists our binding with the granted lifetime (asked 300 s,
        // demo limits are 60 s to 1 h).
        let contacts = header_values(&received[1], "Contact").join(", ");
        let expires: Vec<u64> = contacts
            .split("expires=")
            .skip(1)
            .filter_map(|s| s.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok())
            .collect();
        assert_eq!(expires, vec![300], "Contact in 200: {contacts}");
    }
}

#[test]
fn register_with_digest_auth_udp() {
    register(Transport::Udp);
}

#[test]
fn register_with_digest_auth_tcp() {
    register(Transport::Tcp);
}

fn refused(t: Transport) {
    if !sipp_present() {
        return;
    }
    let target = Target::demo();
    // A wrong password and an unknown user get the same answer: a fresh 401.
    let mut answers = Vec::new();
    for (user, password) in [("1002", "secret1003"), ("7777", "secret7777")] {
        let run = Sipp::new("register_wrong.xml", target.addr)
            .transport(t)
            .user(user, password)
            .run();
        run.assert_ok(&format!("REGISTER as {user} with bad credentials"));
        let received = run.received();
        assert_eq!(received.len(), 2, "{}", run.messages);
        if target.is_switchboard() {
            check_challenge(&received[1]);
            // a fresh challenge: not the nonce of the first one
            let nonce = |m: &str| {
                let c = header_values(m, "WWW-Authenticate").join(",");
                c.split("nonce=\"")
                    .nth(1)
                    .unwrap_or("")
                    .split('"')
                    .next()
                    .unwrap()
                    .to_string()
            };
            assert_ne!(nonce(&received[0]), nonce(&received[1]), "nonce reused");
        }
        // Everything but the per-message values is identical for both cases.
        let shape: Vec<String> = received[1]
            .lines()
            .map(|l| l.split(':').next().unwrap_or("").to_ascii_lowercase())
            .collect();
        answers.push(shape);
    }
    assert_eq!(
        answers[0], answers[1],
        "wrong password and unknown user are distinguishable"
    );
}

#[test]
fn wrong_password_and_unknown_user_refused_udp() {
    refused(Transport::Udp);
}

#[test]
fn wrong_password_and_unknown_user_refused_tcp() {
    refused(Transport::Tcp);
}

fn too_brief(t: Transport) {
    if !sipp_present() {
        return;
    }
    let target = Target::demo();
    let run = Sipp::new("register_brief.xml", target.addr)
        .transport(t)
        .user("1002", "secret1002")
        .run();
    run.assert_ok("REGISTER with Expires: 30");
    if target.is_switchboard() {
        let r423 = run
            .received()
            .into_iter()
            .find(|m| m.starts_with("SIP/2.0 423"))
            .expect("a 423");
        assert_eq!(header_values(&r423, "Min-Expires"), vec!["60"], "{r423}");
    }
}

#[test]
fn interval_too_brief_423_udp() {
    too_brief(Transport::Udp);
}

#[test]
fn interval_too_brief_423_tcp() {
    too_brief(Transport::Tcp);
}

fn unregister_one(t: Transport) {
    if !sipp_present() {
        return;
    }
    let target = Target::demo();
    Sipp::new("unregister_one.xml", target.addr)
        .transport(t)
        .user("1003", "secret1003")
        .run()
        .assert_ok("Expires: 0 removes one binding of two");
}

#[test]
fn unregister_one_binding_udp() {
    unregister_one(Transport::Udp);
}

#[test]
fn unregister_one_binding_tcp() {
    unregister_one(Transport::Tcp);
}

fn unregister_all(t: Transport) {
    if !sipp_present() {
        return;
    }
    let target = Target::demo();
    Sipp::new("unregister_all.xml", target.addr)
        .transport(t)
        .user("1004", "secret1004")
        .run()
        .assert_ok("Contact: * with Expires: 0 removes every binding");
}

#[test]
fn unregister_all_bindings_udp() {
    unregister_all(Transport::Udp);
}

#[test]
fn unregister_all_bindings_tcp() {
    unregister_all(Transport::Tcp);
}

fn options(t: Transport) {
    if !sipp_present() {
        return;
    }
    let target = Target::demo();
    let run = Sipp::new("options.xml", target.addr).transport(t).run();
    run.assert_ok("OPTIONS");
    if target.is_switchboard() {
        let allow = header_values(&run.received()[0], "Allow").join(",");
        for m in ["INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "REGISTER"] {
            assert!(allow.contains(m), "Allow lacks {m}: {allow}");
        }
    }
}

#[test]
fn options_200_udp() {
    options(Transport::Udp);
}

#[test]
fn options_200_tcp() {
    options(Transport::Tcp);
}

fn blocked(t: Transport) {
    if !sipp_present() {
        return;
    }
    let target = Target::demo_with(&[(
        "auth_failures: { max: 10, window: 60s, block: 5m }",
        "auth_failures: { max: 3, window: 60s, block: 5m }",
    )]);
    if !target.is_switchboard() {
        eprintln!("the block after repeated failures is only checked against Switchboard");
        return;
    }
    // max + 1 failures (each answered 401, or 403 once blocked) ...
    Sipp::new("register_until_blocked.xml", target.addr)
        .transport(t)
        .user("1001", "wrong-password")
        .calls(4)
        .run()
        .assert_ok("four failed registrations");
    // ... then even the right password is refused with 403 from that source.
    let run = Sipp::new("register_blocked.xml", target.addr)
        .transport(t)
        .user("1001", "secret1001")
        .run();
    run.assert_ok("REGISTER from a blocked source");
    assert!(run.received().last().unwrap().starts_with("SIP/2.0 403"));
    // Another user from the same source is blocked too (the block is per source).
    Sipp::new("register_blocked.xml", target.addr)
        .transport(t)
        .user("1002", "secret1002")
        .run()
        .assert_ok("REGISTER as another user from a blocked source");
}

#[test]
fn blocked_after_repeated_failures_udp() {
    blocked(Transport::Udp);
}

#[test]
fn blocked_after_repeated_failures_tcp() {
    blocked(Transport::Tcp);
}
