use super::*;
use proptest::prelude::*;

const RFC2617: &str = r#"Digest username="Mufasa",
                 realm="testrealm@host.com",
                 nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093",
                 uri="/dir/index.html",
                 qop=auth,
                 nc=00000001,
                 cnonce="0a4f113b",
                 response="6629fae49393a05397450978507c4ef1",
                 opaque="5ccc069c403ebaf9f0171e9517f40e41""#;

const RFC7616_MD5: &str = "Digest username=\"Mufasa\",\r\n       realm=\"http-auth@example.org\",\r\n       uri=\"/dir/index.html\",\r\n       algorithm=MD5,\r\n       nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\",\r\n       nc=00000001,\r\n       cnonce=\"f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ\",\r\n       qop=auth,\r\n       response=\"8ca523f5e9506fed4657c9700eebdbec\",\r\n       opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\"";

const RFC7616_SHA256: &str = r#"Digest username="Mufasa",
       realm="http-auth@example.org",
       uri="/dir/index.html",
       algorithm=SHA-256,
       nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
       nc=00000001,
       cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
       qop=auth,
       response="753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
       opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS""#;

fn md5_hex(s: &str) -> String {
    hex(&Md5::digest(s.as_bytes()))
}

fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

#[test]
fn rfc2617_vector() {
    let c = Credentials::parse(RFC2617).unwrap();
    assert_eq!(c.username, "Mufasa");
    assert_eq!(c.algorithm, Algorithm::Md5);
    assert_eq!(c.nc, Some(1));
    assert_eq!(
        c.opaque.as_deref(),
        Some("5ccc069c403ebaf9f0171e9517f40e41")
    );
    let h = ha1(
        Algorithm::Md5,
        "Mufasa",
        "testrealm@host.com",
        "Circle Of Life",
    );
    assert!(verify(&c, "GET", &h, b""));
    assert!(!verify(&c, "POST", &h, b""));
    let wrong = ha1(
        Algorithm::Md5,
        "Mufasa",
        "testrealm@host.com",
        "circle of life",
    );
    assert!(!verify(&c, "GET", &wrong, b""));
}

#[test]
fn rfc7616_vectors() {
    for (text, alg) in [
        (RFC7616_MD5, Algorithm::Md5),
        (RFC7616_SHA256, Algorithm::Sha256),
    ] {
        let c = Credentials::parse(text).unwrap();
        assert_eq!(c.algorithm, alg);
        assert_eq!(c.qop.as_deref(), Some("auth"));
        let h = ha1(alg, "Mufasa", "http-auth@example.org", "Circle of Life");
        assert!(verify(&c, "GET", &h, b""), "{alg:?}");
        let mut tampered = c.clone();
        tampered.uri = "/dir/index.htm".into();
        assert!(!verify(&tampered, "GET", &h, b""));
    }
}

#[test]
fn algorithm_tokens() {
    for a in [
        Algorithm::Md5,
        Algorithm::Md5Sess,
        Algorithm::Sha256,
        Algorithm::Sha256Sess,
    ] {
        assert_eq!(Algorithm::parse(a.as_str()), Some(a));
        assert_eq!(Algorithm::parse(&a.as_str().to_lowercase()), Some(a));
    }
    assert_eq!(Algorithm::parse("SHA256"), None);
    assert_eq!(Algorithm::default(), Algorithm::Md5);
}

#[test]
fn parse_forms() {
    // Odd case, unquoted values, escapes, reordered params, tabs, no spaces.
    let c = Credentials::parse(
        "  dIgEsT\tURI=sip:127.0.0.1;transport=UDP,response=abc ,Realm = \"a\\\"b\\\\c\",nonce=n,username=\"10\\01\",nc=0000000A,qop=\"auth\",cnonce=x,ALGORITHM=\"sha-256-SESS\",unknown=1,,",
    )
    .unwrap();
    assert_eq!(c.uri, "sip:127.0.0.1;transport=UDP");
    assert_eq!(c.realm, "a\"b\\c");
    assert_eq!(c.username, "1001");
    assert_eq!(c.nc, Some(10));
    assert_eq!(c.algorithm, Algorithm::Sha256Sess);
    assert_eq!(c.qop.as_deref(), Some("auth"));
    assert_eq!(c.opaque, None);

    let base = r#"Digest username="u", realm="r", nonce="n", uri="sip:x", response="r""#;
    let c = Credentials::parse(base).unwrap();
    assert_eq!(
        (c.algorithm, c.qop, c.nc, c.cnonce),
        (Algorithm::Md5, None, None, None)
    );
    assert_eq!(
        Credentials::parse(&format!("{base}, nc=00000100, qop=auth, cnonce=c"))
            .unwrap()
            .nc,
        Some(256)
    );
    assert_eq!(
        Credentials::parse(&format!("{base}, nc=ffffffff, qop=auth, cnonce=c"))
            .unwrap()
            .nc,
        Some(u32::MAX)
    );
}

#[test]
fn parse_errors() {
    let base = r#"Digest username="u", realm="r", nonce="n", uri="sip:x", response="r""#;
    for missing in ["username", "realm", "nonce", "uri", "response"] {
        let text = base.replace(&format!("{missing}="), "other=");
        assert_eq!(
            Credentials::parse(&text),
            Err(DigestError::Missing(missing)),
            "{text}"
        );
    }
    let cases: &[(&str, DigestError)] = &[
        ("", DigestError::NotDigest),
        ("Basic dXNlcjpwYXNz", DigestError::NotDigest),
        ("Digest", DigestError::Missing("username")),
        ("Digestusername=\"u\"", DigestError::NotDigest),
        (
            "Digest username=\"u",
            DigestError::Syntax("unterminated quoted string"),
        ),
        (
            "Digest username=\"u\\",
            DigestError::Syntax("dangling escape"),
        ),
        ("Digest username", DigestError::Syntax("expected name=")),
        ("Digest =x", DigestError::Syntax("expected name=")),
        ("Digest username=", DigestError::Syntax("empty value")),
        (
            "Digest username=\"u\"x",
            DigestError::Syntax("expected comma"),
        ),
        ("Digest a=b c=d", DigestError::Syntax("expected comma")),
    ];
    for (text, err) in cases {
        assert_eq!(Credentials::parse(text).as_ref(), Err(err), "{text}");
    }
    let with = |extra: &str| Credentials::parse(&format!("{base}, {extra}"));
    assert_eq!(
        with("uri=\"sip:y\""),
        Err(DigestError::Duplicate("uri".into()))
    );
    assert_eq!(
        with("algorithm=SHA256"),
        Err(DigestError::Algorithm("SHA256".into()))
    );
    assert_eq!(
        with("qop=auth, cnonce=c, nc=10"),
        Err(DigestError::Nc("10".into()))
    );
    assert_eq!(
        with("qop=auth, cnonce=c, nc=+0000001"),
        Err(DigestError::Nc("+0000001".into()))
    );
    assert_eq!(
        with("qop=auth, cnonce=c, nc=0000000g"),
        Err(DigestError::Nc("0000000g".into()))
    );
    assert_eq!(
        with("qop=auth, nc=00000001"),
        Err(DigestError::Missing("cnonce"))
    );
    assert_eq!(with("qop=auth, cnonce=c"), Err(DigestError::Missing("nc")));
}

/// Client side: a parsed challenge plus a request -> credentials, as a UAC would build them.
fn answer(
    challenge: &str,
    alg: Algorithm,
    pw: &str,
    nc: Option<u32>,
    qop: Option<&str>,
) -> Credentials {
    let p = parse_params(challenge).unwrap();
    let get = |k: &str| p.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let realm = get("realm").unwrap();
    let nonce = get("nonce").unwrap();
    let cnonce = Some("0a4f113b".to_string());
    let h = ha1(alg, "1001", &realm, pw);
    let resp = response(
        alg,
        &h,
        &nonce,
        cnonce.as_deref(),
        nc,
        qop,
        "REGISTER",
        "sip:127.0.0.1",
        b"",
    );
    Credentials {
        username: "1001".into(),
        realm,
        nonce,
        uri: "sip:127.0.0.1".into(),
        response: resp,
        algorithm: alg,
        qop: qop.map(str::to_string),
        cnonce,
        nc,
        opaque: get("opaque"),
    }
}

fn keeper() -> (NonceKeeper, Instant) {
    let epoch = Instant::now();
    (
        NonceKeeper::new([7; 32], epoch, Duration::from_secs(300)),
        epoch,
    )
}

#[test]
fn challenge_format() {
    let (mut k, t0) = keeper();
    let ch = k.challenge(t0, "sw\"x", Algorithm::Sha256, false);
    assert!(ch.starts_with("Digest realm=\"sw\\\"x\", nonce=\""), "{ch}");
    assert!(ch.ends_with(", algorithm=SHA-256, qop=\"auth\""), "{ch}");
    let stale = k.challenge(t0, "sw", Algorithm::Md5, true);
    assert!(
        stale.ends_with("algorithm=MD5, qop=\"auth\", stale=true"),
        "{stale}"
    );
    let p = parse_params(&ch).unwrap();
    assert_eq!(p[0], ("realm".to_string(), "sw\"x".to_string()));
    // Two challenges in the same millisecond still get distinct nonces.
    assert_ne!(
        parse_params(&k.challenge(t0, "sw", Algorithm::Md5, false)).unwrap()[1],
        p[1]
    );
}

#[test]
fn full_exchange_all_algorithms() {
    let (mut k, t0) = keeper();
    for alg in [
        Algorithm::Md5,
        Algorithm::Md5Sess,
        Algorithm::Sha256,
        Algorithm::Sha256Sess,
    ] {
        let ch = k.challenge(t0, "switchboard", alg, false);
        let c = answer(&ch, alg, "secret", Some(1), Some("auth"));
        // Round trip through the wire format, as the registrar will see it.
        let wire = format!(
            "Digest username=\"{}\", realm=\"{}\", nonce=\"{}\", uri=\"{}\", response=\"{}\", algorithm={}, cnonce=\"{}\", qop=auth, nc=00000001, opaque=\"{}\"",
            c.username, c.realm, c.nonce, c.uri, c.response, alg.as_str(), c.cnonce.as_deref().unwrap(), c.opaque.as_deref().unwrap()
        );
        assert_eq!(Credentials::parse(&wire).unwrap(), c);
        assert_eq!(k.check(t0 + Duration::from_secs(1), &c), NonceCheck::Valid);
        let h = ha1(alg, "1001", "switchboard", "secret");
        assert!(verify(&c, "REGISTER", &h, b""), "{alg:?}");
        assert!(!verify(
            &c,
            "REGISTER",
            &ha1(alg, "1001", "switchboard", "secreT"),
            b""
        ));
        // Upper-case hex from a sloppy client still verifies.
        let mut up = c.clone();
        up.response = up.response.to_uppercase();
        assert!(verify(&up, "REGISTER", &h, b""));
    }
}

#[test]
fn nc_is_hex_10th_and_256th_request() {
    let (mut k, t0) = keeper();
    let ch = k.challenge(t0, "switchboard", Algorithm::Md5, false);
    let h = ha1(Algorithm::Md5, "1001", "switchboard", "pw");
    for nc in 1..=256u32 {
        let c = answer(&ch, Algorithm::Md5, "pw", Some(nc), Some("auth"));
        assert_eq!(k.check(t0, &c), NonceCheck::Valid, "nc {nc}");
        assert!(verify(&c, "REGISTER", &h, b""), "nc {nc}");
    }
    // The response is over the hex text: independently recompute for nc=10 and nc=256.
    let nonce = parse_params(&ch).unwrap()[1].1.clone();
    let ha2 = md5_hex("REGISTER:sip:127.0.0.1");
    for (nc, text) in [(10, "0000000a"), (256, "00000100")] {
        let c = answer(&ch, Algorithm::Md5, "pw", Some(nc), Some("auth"));
        assert_eq!(
            c.response,
            md5_hex(&format!("{h}:{nonce}:{text}:0a4f113b:auth:{ha2}"))
        );
    }
}

#[test]
fn replay_and_increasing_nc() {
    let (mut k, t0) = keeper();
    let ch = k.challenge(t0, "switchboard", Algorithm::Sha256, false);
    let at = |nc| answer(&ch, Algorithm::Sha256, "pw", Some(nc), Some("auth"));
    assert_eq!(k.check(t0, &at(1)), NonceCheck::Valid);
    assert_eq!(k.check(t0, &at(1)), NonceCheck::Replay);
    assert_eq!(k.check(t0, &at(5)), NonceCheck::Valid);
    assert_eq!(k.check(t0, &at(3)), NonceCheck::Replay);
    assert_eq!(k.check(t0, &at(5)), NonceCheck::Replay);
    assert_eq!(k.check(t0, &at(6)), NonceCheck::Valid);
    // nc=0 never counts as a first use.
    let ch2 = k.challenge(t0, "switchboard", Algorithm::Sha256, false);
    assert_eq!(
        k.check(
            t0,
            &answer(&ch2, Algorithm::Sha256, "pw", Some(0), Some("auth"))
        ),
        NonceCheck::Replay
    );
    // A different nonce has its own counter.
    assert_eq!(
        k.check(
            t0,
            &answer(&ch2, Algorithm::Sha256, "pw", Some(1), Some("auth"))
        ),
        NonceCheck::Valid
    );
}

#[test]
fn rfc2069_without_qop() {
    let (mut k, t0) = keeper();
    let ch = k.challenge(t0, "switchboard", Algorithm::Md5, false);
    let mut c = answer(&ch, Algorithm::Md5, "pw", None, None);
    c.cnonce = None;
    c.opaque = None; // pyVoIP-style clients may not echo it.
                     // Independent: response = MD5(HA1:nonce:HA2).
    let h = md5_hex("1001:switchboard:pw");
    assert_eq!(
        c.response,
        md5_hex(&format!(
            "{h}:{}:{}",
            c.nonce,
            md5_hex("REGISTER:sip:127.0.0.1")
        ))
    );
    assert!(verify(&c, "REGISTER", &h, b""));
    for _ in 0..3 {
        assert_eq!(
            k.check(t0 + Duration::from_secs(299), &c),
            NonceCheck::Valid
        );
    }
    assert_eq!(
        k.check(t0 + Duration::from_secs(301), &c),
        NonceCheck::Stale
    );
}

#[test]
fn stale_forged_other_realm() {
    let (mut k, t0) = keeper();
    let ch = k.challenge(
        t0 + Duration::from_secs(10),
        "switchboard",
        Algorithm::Md5,
        false,
    );
    let c = answer(&ch, Algorithm::Md5, "pw", Some(1), Some("auth"));
    assert_eq!(
        k.check(t0 + Duration::from_secs(311), &c),
        NonceCheck::Stale
    );
    // Stale is decided before nc is recorded, so the fresh answer still works in time.
    assert_eq!(
        k.check(t0 + Duration::from_secs(310), &c),
        NonceCheck::Valid
    );
    // Issued "in the future" (earlier process, same secret): stale, not valid.
    assert_eq!(
        k.check(
            t0,
            &answer(&ch, Algorithm::Md5, "pw", Some(2), Some("auth"))
        ),
        NonceCheck::Stale
    );

    // Another realm: the HMAC covers the realm.
    let mut other = c.clone();
    other.realm = "evil".into();
    other.opaque = None;
    assert_eq!(
        k.check(t0 + Duration::from_secs(11), &other),
        NonceCheck::Invalid
    );
    let ch_evil = k.challenge(t0, "evil", Algorithm::Md5, false);
    let mut cross = answer(&ch_evil, Algorithm::Md5, "pw", Some(1), Some("auth"));
    cross.realm = "switchboard".into();
    cross.opaque = None;
    assert_eq!(k.check(t0, &cross), NonceCheck::Invalid);

    // Another secret's nonce, flipped bits, mangled forms, wrong opaque.
    let mut k2 = NonceKeeper::new([8; 32], t0, Duration::from_secs(300));
    assert_eq!(
        k2.check(t0 + Duration::from_secs(11), &c),
        NonceCheck::Invalid
    );
    let n = c.nonce.clone();
    let mut flipped = n.clone().into_bytes();
    flipped[3] = if flipped[3] == b'0' { b'1' } else { b'0' };
    for bad in [
        String::from_utf8(flipped).unwrap(),
        n.to_uppercase(),
        n[..63].to_string(),
        format!("{n}0"),
        format!("+{}", &n[1..]),
        String::new(),
        "é".repeat(32),
    ] {
        let mut f = c.clone();
        f.nonce = bad;
        assert_eq!(
            k.check(t0 + Duration::from_secs(11), &f),
            NonceCheck::Invalid,
            "{}",
            f.nonce
        );
    }
    let mut f = c.clone();
    f.opaque = Some("00".into());
    assert_eq!(
        k.check(t0 + Duration::from_secs(11), &f),
        NonceCheck::Invalid
    );
}

#[test]
fn replay_table_pruned_and_bounded() {
    let (k, t0) = keeper();
    let mut k = k.with_replay_capacity(3);
    let mut creds = Vec::new();
    for i in 0..5 {
        let ch = k.challenge(
            t0 + Duration::from_secs(i),
            "switchboard",
            Algorithm::Md5,
            false,
        );
        let c = answer(&ch, Algorithm::Md5, "pw", Some(1), Some("auth"));
        assert_eq!(k.check(t0 + Duration::from_secs(i), &c), NonceCheck::Valid);
        assert!(k.seen.len() <= 3);
        creds.push(c);
    }
    // Oldest were dropped; the newest still detect replays.
    assert_eq!(k.seen.len(), 3);
    assert_eq!(
        k.check(t0 + Duration::from_secs(5), &creds[4]),
        NonceCheck::Replay
    );
    // Past the lifetime, every entry is pruned on the next check.
    let late = t0 + Duration::from_secs(400);
    let ch = k.challenge(late, "switchboard", Algorithm::Md5, false);
    assert_eq!(
        k.check(
            late,
            &answer(&ch, Algorithm::Md5, "pw", Some(1), Some("auth"))
        ),
        NonceCheck::Valid
    );
    assert_eq!(k.seen.len(), 1);
}

#[test]
fn sess_variants_match_rfc_formulas() {
    let (nonce, cnonce, uri) = ("abc123", "c0ffee", "sip:bob@example.com");
    // MD5-sess, computed from RFC 2617 §3.2.2.2 / RFC 7616 §3.4.2 by hand.
    let base = md5_hex("alice:sw:pw");
    let sess = md5_hex(&format!("{base}:{nonce}:{cnonce}"));
    let ha2 = md5_hex(&format!("INVITE:{uri}"));
    let want = md5_hex(&format!("{sess}:{nonce}:00000002:{cnonce}:auth:{ha2}"));
    let h = ha1(Algorithm::Md5Sess, "alice", "sw", "pw");
    assert_eq!(h, base);
    let got = response(
        Algorithm::Md5Sess,
        &h,
        nonce,
        Some(cnonce),
        Some(2),
        Some("auth"),
        "INVITE",
        uri,
        b"",
    );
    assert_eq!(got, want);
    // SHA-256-sess.
    let base = sha256_hex(b"alice:sw:pw");
    let sess = sha256_hex(format!("{base}:{nonce}:{cnonce}").as_bytes());
    let ha2 = sha256_hex(format!("INVITE:{uri}").as_bytes());
    let want = sha256_hex(format!("{sess}:{nonce}:00000002:{cnonce}:auth:{ha2}").as_bytes());
    let h = ha1(Algorithm::Sha256Sess, "alice", "sw", "pw");
    let got = response(
        Algorithm::Sha256Sess,
        &h,
        nonce,
        Some(cnonce),
        Some(2),
        Some("auth"),
        "INVITE",
        uri,
        b"",
    );
    assert_eq!(got, want);
    // Through verify, and -sess without cnonce is refused.
    let mut c = Credentials {
        username: "alice".into(),
        realm: "sw".into(),
        nonce: nonce.into(),
        uri: uri.into(),
        response: got,
        algorithm: Algorithm::Sha256Sess,
        qop: Some("auth".into()),
        cnonce: Some(cnonce.into()),
        nc: Some(2),
        opaque: None,
    };
    assert!(verify(&c, "INVITE", &h, b""));
    c.qop = None;
    c.cnonce = None;
    c.response = response(
        Algorithm::Sha256Sess,
        &h,
        nonce,
        None,
        None,
        None,
        "INVITE",
        uri,
        b"",
    );
    assert!(!verify(&c, "INVITE", &h, b""));
}

#[test]
fn auth_int_hashes_body() {
    let body = b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\n";
    for alg in [Algorithm::Md5, Algorithm::Sha256] {
        let h = ha1(alg, "u", "r", "p");
        let hb = hash(alg, &[body]);
        let ha2 = hash(alg, &[b"INVITE", b"sip:x", hb.as_bytes()]);
        let want = hash(
            alg,
            &[
                h.as_bytes(),
                b"n",
                b"00000001",
                b"c",
                b"auth-int",
                ha2.as_bytes(),
            ],
        );
        let got = response(
            alg,
            &h,
            "n",
            Some("c"),
            Some(1),
            Some("auth-int"),
            "INVITE",
            "sip:x",
            body,
        );
        assert_eq!(got, want);
        // Independent check of H(body) itself.
        let expect_hb = match alg {
            Algorithm::Md5 => hex(&Md5::digest(body)),
            _ => sha256_hex(body),
        };
        assert_eq!(hb, expect_hb);
        let c = Credentials {
            username: "u".into(),
            realm: "r".into(),
            nonce: "n".into(),
            uri: "sip:x".into(),
            response: got,
            algorithm: alg,
            qop: Some("auth-int".into()),
            cnonce: Some("c".into()),
            nc: Some(1),
            opaque: None,
        };
        assert!(verify(&c, "INVITE", &h, body));
        assert!(!verify(&c, "INVITE", &h, b"v=0\r\n"));
        let mut unknown = c.clone();
        unknown.qop = Some("auth-conf".into());
        assert!(!verify(&unknown, "INVITE", &h, body));
    }
}

#[test]
fn dummy_ha1_is_stable_secret_and_right_length() {
    let (k, t0) = keeper();
    let a = k.dummy_ha1(Algorithm::Md5, "ghost", "sw");
    assert_eq!(a.len(), 32);
    assert_eq!(a, k.dummy_ha1(Algorithm::Md5, "ghost", "sw"));
    assert_ne!(a, k.dummy_ha1(Algorithm::Md5, "ghost2", "sw"));
    assert_eq!(k.dummy_ha1(Algorithm::Sha256, "ghost", "sw").len(), 64);
    let other = NonceKeeper::new([9; 32], t0, Duration::from_secs(1));
    assert_ne!(a, other.dummy_ha1(Algorithm::Md5, "ghost", "sw"));
}

fn mangle(s: &str, ops: &[(u8, usize, char)]) -> String {
    let mut v: Vec<char> = s.chars().collect();
    for &(op, pos, c) in ops {
        let i = if v.is_empty() { 0 } else { pos % (v.len() + 1) };
        match op % 4 {
            0 => v.insert(i, c),
            1 if i < v.len() => {
                v.remove(i);
            }
            2 => v.truncate(i),
            _ if i < v.len() => v[i] = c,
            _ => {}
        }
    }
    v.into_iter().collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn parse_never_panics(s in "\\PC*") {
        let _ = Credentials::parse(&s);
        let _ = Credentials::parse(&format!("Digest {s}"));
    }

    #[test]
    fn mangled_headers_never_panic(
        which in 0usize..3,
        ops in prop::collection::vec((any::<u8>(), any::<usize>(), prop::sample::select(vec!['"', '\\', ',', '=', ' ', '\r', '\n', 'a', '0', 'é', '\0'])), 0..8),
    ) {
        let text = mangle([RFC2617, RFC7616_MD5, RFC7616_SHA256][which], &ops);
        if let Ok(c) = Credentials::parse(&text) {
            let (mut k, t0) = keeper();
            let _ = k.check(t0, &c);
            let _ = verify(&c, "GET", "x", b"");
        }
    }

    #[test]
    fn check_and_verify_never_panic(nonce in "\\PC{0,70}", nc in any::<Option<u32>>(), qop in any::<Option<String>>(), secs in 0u64..1000) {
        let (mut k, t0) = keeper();
        let c = Credentials {
            username: "u".into(), realm: "r".into(), nonce, uri: "sip:x".into(), response: "ZZ".into(),
            algorithm: Algorithm::Sha256Sess, qop, cnonce: None, nc, opaque: None,
        };
        prop_assert_ne!(k.check(t0 + Duration::from_secs(secs), &c), NonceCheck::Valid);
        prop_assert!(!verify(&c, "REGISTER", "", b""));
    }
}
