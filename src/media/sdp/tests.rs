use super::*;
use proptest::prelude::*;
use std::net::{Ipv4Addr, Ipv6Addr};

fn local() -> SocketAddr {
    "192.0.2.10:20000".parse().unwrap()
}

fn crlf(s: &str) -> String {
    s.lines().map(|l| format!("{l}\r\n")).collect()
}

// ------------------------------------------------------------ offer shapes

/// baresip 1.0 with opus first (CRLF, a=ssrc, a=mid, a=rtcp-rsize).
const BARESIP: &str = "v=0
o=- 1700000000 1700000001 IN IP4 10.0.0.5
s=-
c=IN IP4 10.0.0.5
t=0 0
m=audio 10000 RTP/AVP 96 0 8 101
b=AS:128
a=rtpmap:96 opus/48000/2
a=fmtp:96 stereo=1;sprop-stereo=1
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
a=rtcp-rsize
a=ssrc:1234 cname:abc
a=mid:0
a=sendrecv
a=label:1
a=ptime:20
";

/// PJSUA 2.15 (c= at media level only, PCMA before PCMU, telephone-event at 48 kHz
/// and 8 kHz, a=rtcp with address, b=TIAS, session-level a=X-nat).
const PJSUA: &str = "v=0
o=- 3924843612 3924843612 IN IP4 192.168.1.10
s=pjmedia
b=AS:117
t=0 0
a=X-nat:0
m=audio 4000 RTP/AVP 96 9 8 0 3 120 121
c=IN IP4 192.168.1.10
b=TIAS:96000
a=rtcp:4001 IN IP4 192.168.1.10
a=sendrecv
a=rtpmap:96 opus/48000/2
a=fmtp:96 useinbandfec=1
a=rtpmap:9 G722/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:0 PCMU/8000
a=rtpmap:3 GSM/8000
a=rtpmap:120 telephone-event/48000
a=fmtp:120 0-16
a=rtpmap:121 telephone-event/8000
a=fmtp:121 0-16
a=ssrc:1806466011 cname:0e5c7a6b1d1c4f5b
";

/// linphone 5 (static 0 and 8 without rtpmap, telephone-event at 8 kHz is PT 100).
const LINPHONE: &str = "v=0
o=alice 2406 3283 IN IP4 192.168.0.5
s=Talk
c=IN IP4 192.168.0.5
t=0 0
a=rtcp-xr:rcvr-rtt=all:10000 stat-summary=loss,dup,jitt,TTL voip-metrics
m=audio 7078 RTP/AVP 96 97 98 0 8 18 101 99 100
a=rtpmap:96 opus/48000/2
a=fmtp:96 useinbandfec=1
a=rtpmap:97 speex/16000
a=fmtp:97 vbr=on
a=rtpmap:98 speex/8000
a=fmtp:98 vbr=on
a=fmtp:18 annexb=yes
a=rtpmap:101 telephone-event/48000
a=rtpmap:99 telephone-event/16000
a=rtpmap:100 telephone-event/8000
a=rtcp-fb:* trr-int 1000
a=rtcp-fb:* ccm tmmbr
";

/// SIPp uac_media_dtmf (sip-peers.md §2b).
const SIPP: &str = "v=0
o=user1 53655765 2353687637 IN IP4 127.0.0.1
s=-
c=IN IP4 127.0.0.1
t=0 0
m=audio 6000 RTP/AVP 0 101
a=rtpmap:0 PCMU/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
";

/// SIPp's built-in uac: static PT 0 only, no rtpmap at all.
const SIPP_BARE: &str = "v=0
o=user1 53655765 2353687637 IN IP4 127.0.0.1
s=-
c=IN IP4 127.0.0.1
t=0 0
m=audio 6000 RTP/AVP 0
";

/// codec, payload type, telephone-event PT, remote address, our direction, ptime.
type Want = Result<
    (
        SdpCodec,
        u8,
        Option<u8>,
        Option<&'static str>,
        Direction,
        u32,
    ),
    SdpError,
>;

/// One negotiation case: offer text → expected (codec, pt, te, remote, our direction, ptime).
struct Case {
    name: &'static str,
    offer: String,
    want: Want,
}

fn case(name: &'static str, offer: &str, want: Want) -> Case {
    Case {
        name,
        offer: offer.to_owned(),
        want,
    }
}

fn audio(pts: &str, extra: &str) -> String {
    format!(
        "v=0\r\no=x 1 1 IN IP4 10.1.1.1\r\ns=-\r\nc=IN IP4 10.1.1.1\r\nt=0 0\r\nm=audio 5004 RTP/AVP {pts}\r\n{extra}"
    )
}

#[test]
fn negotiation_table() {
    use Direction::*;
    use SdpCodec::*;
    let cases = vec![
        case("baresip", BARESIP, Ok((Pcmu, 0, Some(101), Some("10.0.0.5:10000"), SendRecv, 20))),
        case("baresip CRLF", &crlf(BARESIP), Ok((Pcmu, 0, Some(101), Some("10.0.0.5:10000"), SendRecv, 20))),
        case("pjsua: PCMA first, te 8k not 48k", PJSUA, Ok((Pcma, 8, Some(121), Some("192.168.1.10:4000"), SendRecv, 20))),
        case("linphone: static PTs, te=100", LINPHONE, Ok((Pcmu, 0, Some(100), Some("192.168.0.5:7078"), SendRecv, 20))),
        case("sipp", SIPP, Ok((Pcmu, 0, Some(101), Some("127.0.0.1:6000"), SendRecv, 20))),
        case("sipp bare", SIPP_BARE, Ok((Pcmu, 0, None, Some("127.0.0.1:6000"), SendRecv, 20))),
        case("PCMA first, static", &audio("8 0", ""), Ok((Pcma, 8, None, Some("10.1.1.1:5004"), SendRecv, 20))),
        case("te as 96", &audio("0 96", "a=rtpmap:96 telephone-event/8000\r\na=fmtp:96 0-16\r\n"), Ok((Pcmu, 0, Some(96), Some("10.1.1.1:5004"), SendRecv, 20))),
        case("te as 110", &audio("8 110", "a=rtpmap:110 telephone-event/8000\r\n"), Ok((Pcma, 8, Some(110), Some("10.1.1.1:5004"), SendRecv, 20))),
        case("te listed in rtpmap but not in m=", &audio("0", "a=rtpmap:101 telephone-event/8000\r\n"), Ok((Pcmu, 0, None, Some("10.1.1.1:5004"), SendRecv, 20))),
        case("dynamic PCMU", &audio("97 101", "a=rtpmap:97 pcmu/8000\r\na=rtpmap:101 telephone-event/8000\r\n"), Ok((Pcmu, 97, Some(101), Some("10.1.1.1:5004"), SendRecv, 20))),
        case("static PT remapped", &audio("0 8", "a=rtpmap:0 G729/8000\r\n"), Ok((Pcma, 8, None, Some("10.1.1.1:5004"), SendRecv, 20))),
        case("PCMA/16000 is not G.711", &audio("96 0", "a=rtpmap:96 PCMA/16000\r\n"), Ok((Pcmu, 0, None, Some("10.1.1.1:5004"), SendRecv, 20))),
        case("stereo PCMU refused", &audio("96 8", "a=rtpmap:96 PCMU/8000/2\r\n"), Ok((Pcma, 8, None, Some("10.1.1.1:5004"), SendRecv, 20))),
        case("ptime 30 honoured", &audio("0", "a=ptime:30\r\n"), Ok((Pcmu, 0, None, Some("10.1.1.1:5004"), SendRecv, 30))),
        case("ptime 25 ignored", &audio("0", "a=ptime:25\r\n"), Ok((Pcmu, 0, None, Some("10.1.1.1:5004"), SendRecv, 20))),
        case("hold sendonly", &audio("0", "a=sendonly\r\n"), Ok((Pcmu, 0, None, Some("10.1.1.1:5004"), RecvOnly, 20))),
        case("hold recvonly", &audio("0", "a=recvonly\r\n"), Ok((Pcmu, 0, None, Some("10.1.1.1:5004"), SendOnly, 20))),
        case("hold inactive", &audio("0", "a=inactive\r\n"), Ok((Pcmu, 0, None, Some("10.1.1.1:5004"), Inactive, 20))),
        case("session-level sendonly", "v=0\no=x 1 1 IN IP4 1.2.3.4\ns=-\nc=IN IP4 1.2.3.4\nt=0 0\na=sendonly\nm=audio 5004 RTP/AVP 0\n", Ok((Pcmu, 0, None, Some("1.2.3.4:5004"), RecvOnly, 20))),
        case("media-level overrides session", "v=0\no=x 1 1 IN IP4 1.2.3.4\ns=-\nc=IN IP4 1.2.3.4\nt=0 0\na=sendonly\nm=audio 5004 RTP/AVP 0\na=sendrecv\n", Ok((Pcmu, 0, None, Some("1.2.3.4:5004"), SendRecv, 20))),
        case("RFC 2543 hold c=0.0.0.0", "v=0\no=x 1 2 IN IP4 1.2.3.4\ns=-\nc=IN IP4 0.0.0.0\nt=0 0\nm=audio 5004 RTP/AVP 0\n", Ok((Pcmu, 0, None, None, RecvOnly, 20))),
        case("c=0.0.0.0 + recvonly", "v=0\no=x 1 2 IN IP4 1.2.3.4\ns=-\nc=IN IP4 0.0.0.0\nt=0 0\nm=audio 5004 RTP/AVP 0\na=recvonly\n", Ok((Pcmu, 0, None, None, Inactive, 20))),
        case("c= only at media level, b=, a=rtcp", "v=0\no=x 1 1 IN IP4 gw.example.com\ns=-\nt=0 0\nm=audio 5004 RTP/AVP 8\nc=IN IP4 10.9.9.9\nb=AS:64\na=rtcp:5005\n", Ok((Pcma, 8, None, Some("10.9.9.9:5004"), SendRecv, 20))),
        case("IPv6", "v=0\no=x 1 1 IN IP6 2001:db8::1\ns=-\nc=IN IP6 2001:db8::1\nt=0 0\nm=audio 5004 RTP/AVP 0\n", Ok((Pcmu, 0, None, Some("[2001:db8::1]:5004"), SendRecv, 20))),
        case("missing t=", "v=0\no=x 1 1 IN IP4 1.2.3.4\ns=-\nc=IN IP4 1.2.3.4\nm=audio 5004 RTP/AVP 0\n", Ok((Pcmu, 0, None, Some("1.2.3.4:5004"), SendRecv, 20))),
        case("missing s=, blank lines, trailing spaces", "v=0  \n\no=x 1 1 IN IP4 1.2.3.4 \nc=IN IP4 1.2.3.4\t\n\nm=audio 5004 RTP/AVP 0   \na=foo:bar \na=sendrecv  \n", Ok((Pcmu, 0, None, Some("1.2.3.4:5004"), SendRecv, 20))),
        case("multicast ttl suffix", "v=0\no=x 1 1 IN IP4 1.2.3.4\ns=-\nc=IN IP4 224.2.1.1/127\nt=0 0\nm=audio 5004 RTP/AVP 0\n", Ok((Pcmu, 0, None, Some("224.2.1.1:5004"), SendRecv, 20))),
        case("video first, then audio", "v=0\no=x 1 1 IN IP4 1.2.3.4\ns=-\nc=IN IP4 1.2.3.4\nt=0 0\nm=video 5006 RTP/AVP 96\na=rtpmap:96 H264/90000\nm=audio 5004 RTP/AVP 8 0\n", Ok((Pcma, 8, None, Some("1.2.3.4:5004"), SendRecv, 20))),
        case("SAVP then AVP (SDES best effort)", "v=0\no=x 1 1 IN IP4 1.2.3.4\ns=-\nc=IN IP4 1.2.3.4\nt=0 0\nm=audio 5006 RTP/SAVP 0\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz\nm=audio 5004 RTP/AVP 0\n", Ok((Pcmu, 0, None, Some("1.2.3.4:5004"), SendRecv, 20))),
        case("audio disabled by offerer", &audio("0", "").replace("5004", "0"), Ok((Pcmu, 0, None, None, Inactive, 20))),
        case("SAVP only", "v=0\no=x 1 1 IN IP4 1.2.3.4\ns=-\nc=IN IP4 1.2.3.4\nt=0 0\nm=audio 5004 RTP/SAVP 0 8\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz\n", Err(SdpError::NoCommonCodec)),
        case("no common codec", &audio("18 9 3", "a=rtpmap:18 G729/8000\r\n"), Err(SdpError::NoCommonCodec)),
        case("video only", "v=0\no=x 1 1 IN IP4 1.2.3.4\ns=-\nc=IN IP4 1.2.3.4\nt=0 0\nm=video 5006 RTP/AVP 0\n", Err(SdpError::NoCommonCodec)),
        case("T.38 only", "v=0\no=x 1 1 IN IP4 1.2.3.4\ns=-\nc=IN IP4 1.2.3.4\nt=0 0\nm=image 5006 udptl t38\n", Err(SdpError::NoCommonCodec)),
        case("no m= at all", "v=0\no=x 1 1 IN IP4 1.2.3.4\ns=-\nt=0 0\n", Err(SdpError::NoCommonCodec)),
        case("garbage", "hello world", Err(syntax(1, "not a <type>=<value> line"))),
        case("empty", "", Err(syntax(1, "empty SDP"))),
        case("HTML", "<html>\n", Err(syntax(1, "not a <type>=<value> line"))),
        case("v=1", "v=1\no=x 1 1 IN IP4 1.2.3.4\n", Err(syntax(1, "unsupported SDP version"))),
        case("no v= first", "o=x 1 1 IN IP4 1.2.3.4\nv=0\n", Err(syntax(1, "SDP must start with v=0"))),
        case("no o=", "v=0\ns=-\nc=IN IP4 1.2.3.4\nm=audio 5004 RTP/AVP 0\n", Err(SdpError::MissingOrigin)),
        case("o= short", "v=0\no=x 1 1 IN IP4\n", Err(syntax(2, "o= needs 6 fields"))),
        case("o= id not numeric", "v=0\no=x abc 1 IN IP4 1.2.3.4\n", Err(syntax(2, "o= session id not a number"))),
        case("port 65536", &audio("0", "").replace("5004", "65536"), Err(syntax(6, "m= port is not 0-65535"))),
        case("port -1", &audio("0", "").replace("5004", "-1"), Err(syntax(6, "m= port is not 0-65535"))),
        case("PT 128", &audio("128", ""), Err(syntax(6, "m= RTP payload type is not 0-127"))),
        case("PT word", &audio("PCMU", ""), Err(syntax(6, "m= RTP payload type is not 0-127"))),
        case("m= no formats", "v=0\no=x 1 1 IN IP4 1.2.3.4\nc=IN IP4 1.2.3.4\nm=audio 5004 RTP/AVP\n", Err(syntax(4, "m= has no formats"))),
        case("no c= anywhere", "v=0\no=x 1 1 IN IP4 1.2.3.4\ns=-\nt=0 0\nm=audio 5004 RTP/AVP 0\n", Err(SdpError::MissingConnection { media: 0 })),
        case("c= hostname", "v=0\no=x 1 1 IN IP4 1.2.3.4\ns=-\nc=IN IP4 gw.example.com\nm=audio 5004 RTP/AVP 0\n", Err(syntax(4, "c= IP4 address is not an IPv4 literal"))),
        case("c= IP4 with IPv6 literal", "v=0\no=x 1 1 IN IP4 1.2.3.4\ns=-\nc=IN IP4 ::1\nm=audio 5004 RTP/AVP 0\n", Err(syntax(4, "c= IP4 address is not an IPv4 literal"))),
    ];
    let mut failures = Vec::new();
    for c in &cases {
        let got = parse(&c.offer).and_then(|sdp| {
            let mut sv = SessionVersion::new(42);
            answer(&sdp, local(), &mut sv).map(|(n, text)| {
                // The answer is itself valid SDP with one m= per offered m=.
                let reparsed = parse(&text).expect("our answer parses");
                assert_eq!(reparsed.media.len(), sdp.media.len(), "{}", c.name);
                assert!(text.ends_with("\r\n") && !text.replace("\r\n", "").contains('\n'));
                n
            })
        });
        let got = got.map(|n| {
            (
                n.codec,
                n.payload_type,
                n.telephone_event,
                n.remote.map(|a| a.to_string()),
                n.direction,
                n.ptime,
            )
        });
        let want = c
            .want
            .clone()
            .map(|(a, b, cc, d, e, f)| (a, b, cc, d.map(str::to_owned), e, f));
        if got != want {
            failures.push(format!("{}: got {got:?}, want {want:?}", c.name));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn answer_text_baresip() {
    let sdp = parse(BARESIP).unwrap();
    let mut sv = SessionVersion::new(7);
    let (_, text) = answer(&sdp, local(), &mut sv).unwrap();
    assert_eq!(
        text,
        "v=0\r\n\
         o=switchboard 7 7 IN IP4 192.0.2.10\r\n\
         s=Switchboard\r\n\
         c=IN IP4 192.0.2.10\r\n\
         t=0 0\r\n\
         m=audio 20000 RTP/AVP 0 101\r\n\
         a=rtpmap:0 PCMU/8000\r\n\
         a=rtpmap:101 telephone-event/8000\r\n\
         a=fmtp:101 0-15\r\n\
         a=ptime:20\r\n\
         a=sendrecv\r\n"
    );
}

#[test]
fn answer_keeps_te_fmtp_or_defaults() {
    let mut sv = SessionVersion::new(1);
    let sdp = parse(PJSUA).unwrap();
    let (_, text) = answer(&sdp, local(), &mut sv).unwrap();
    assert!(text.contains("m=audio 20000 RTP/AVP 8 121\r\n"), "{text}");
    assert!(text.contains("a=rtpmap:8 PCMA/8000\r\n"));
    assert!(text.contains("a=fmtp:121 0-16\r\n"));
    // No fmtp offered → we state our own list.
    let sdp = parse(LINPHONE).unwrap();
    let (_, text) = answer(&sdp, local(), &mut sv).unwrap();
    assert!(text.contains("a=fmtp:100 0-16\r\n"), "{text}");
    // Anything odd in the peer's fmtp is not echoed.
    let sdp = parse(&audio(
        "0 101",
        "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\u{7}x\r\n",
    ))
    .unwrap();
    let (_, text) = answer(&sdp, local(), &mut sv).unwrap();
    assert!(text.contains("a=fmtp:101 0-16\r\n"), "{text}");
}

#[test]
fn answer_rejects_other_streams_with_port_zero() {
    let offer = "v=0\no=x 1 1 IN IP4 1.2.3.4\ns=-\nc=IN IP4 1.2.3.4\nt=0 0\n\
                 m=video 5006 RTP/AVP 96 97\na=rtpmap:96 H264/90000\n\
                 m=audio 5004 RTP/AVP 0 8\n\
                 m=audio 5008 RTP/AVP 0\n\
                 m=image 5010 udptl t38\n";
    let sdp = parse(offer).unwrap();
    let (n, text) = answer(&sdp, local(), &mut SessionVersion::new(1)).unwrap();
    assert_eq!(n.media_index, 1);
    let m_lines: Vec<&str> = text.lines().filter(|l| l.starts_with("m=")).collect();
    assert_eq!(
        m_lines,
        [
            "m=video 0 RTP/AVP 96 97",
            "m=audio 20000 RTP/AVP 0",
            "m=audio 0 RTP/AVP 0",
            "m=image 0 udptl t38"
        ]
    );
}

#[test]
fn answer_hold_directions_in_text() {
    for (attr, ours) in [
        ("sendonly", "recvonly"),
        ("recvonly", "sendonly"),
        ("inactive", "inactive"),
        ("sendrecv", "sendrecv"),
    ] {
        let sdp = parse(&audio("0", &format!("a={attr}\r\n"))).unwrap();
        let (_, text) = answer(&sdp, local(), &mut SessionVersion::new(1)).unwrap();
        assert!(text.ends_with(&format!("a={ours}\r\n")), "{attr}: {text}");
    }
}

#[test]
fn answer_ipv6_local() {
    let sdp = parse(SIPP).unwrap();
    let local: SocketAddr = "[2001:db8::5]:30000".parse().unwrap();
    let (_, text) = answer(&sdp, local, &mut SessionVersion::new(3)).unwrap();
    assert!(
        text.contains("o=switchboard 3 3 IN IP6 2001:db8::5\r\n"),
        "{text}"
    );
    assert!(text.contains("c=IN IP6 2001:db8::5\r\n"));
    let back = parse(&text).unwrap();
    assert_eq!(
        back.connection,
        Some(IpAddr::V6("2001:db8::5".parse::<Ipv6Addr>().unwrap()))
    );
}

#[test]
fn session_version_increments_only_on_change() {
    let mut sv = SessionVersion::new(1000);
    let a = offer(local(), &mut sv, Direction::SendRecv);
    assert!(a.contains("o=switchboard 1000 1000 IN IP4"));
    // Same SDP again (e.g. a re-INVITE refresh): same version.
    let b = offer(local(), &mut sv, Direction::SendRecv);
    assert_eq!(a, b);
    // Hold: changed → version + 1.
    let c = offer(local(), &mut sv, Direction::SendOnly);
    assert!(c.contains("o=switchboard 1000 1001 IN IP4"), "{c}");
    assert!(c.contains("a=sendonly\r\n"));
    // Resume: changed again → + 1.
    let d = offer(local(), &mut sv, Direction::SendRecv);
    assert!(d.contains("o=switchboard 1000 1002 IN IP4"), "{d}");
    assert_eq!(sv.id(), 1000);
    assert_eq!(sv.version(), 1002);
    // Answers share the counter.
    let sdp = parse(SIPP).unwrap();
    let (_, e) = answer(&sdp, local(), &mut sv).unwrap();
    assert!(e.contains("o=switchboard 1000 1003 IN IP4"), "{e}");
    let (_, f) = answer(&sdp, local(), &mut sv).unwrap();
    assert_eq!(e, f);
    assert!(SessionVersion::random().id() < 1 << 32);
}

#[test]
fn our_offer_text_and_round_trip() {
    let mut sv = SessionVersion::new(5);
    let text = offer(local(), &mut sv, Direction::SendRecv);
    assert_eq!(
        text,
        "v=0\r\n\
         o=switchboard 5 5 IN IP4 192.0.2.10\r\n\
         s=Switchboard\r\n\
         c=IN IP4 192.0.2.10\r\n\
         t=0 0\r\n\
         m=audio 20000 RTP/AVP 0 8 101\r\n\
         a=rtpmap:0 PCMU/8000\r\n\
         a=rtpmap:8 PCMA/8000\r\n\
         a=rtpmap:101 telephone-event/8000\r\n\
         a=fmtp:101 0-16\r\n\
         a=ptime:20\r\n\
         a=sendrecv\r\n"
    );
    // Our offer, answered by ourselves on the other leg, then accepted.
    let parsed = parse(&text).unwrap();
    assert_eq!(parsed.origin.session_id, 5);
    assert_eq!(parsed.origin.username, "switchboard");
    assert_eq!(parsed.media[0].formats, [0, 8, 101]);
    let remote: SocketAddr = "198.51.100.7:40000".parse().unwrap();
    let (n1, ans) = answer(&parsed, remote, &mut SessionVersion::new(9)).unwrap();
    assert_eq!(n1.remote, Some(local()));
    let n2 = accept_answer(&parse(&ans).unwrap()).unwrap();
    assert_eq!(n2.codec, SdpCodec::Pcmu);
    assert_eq!(n2.payload_type, 0);
    assert_eq!(n2.telephone_event, Some(101));
    assert_eq!(n2.remote, Some(remote));
    assert_eq!(n2.direction, Direction::SendRecv);
}

#[test]
fn accept_answer_cases() {
    // Peer chose PCMA, te 101, answered our hold with recvonly.
    let ans = audio(
        "8 101",
        "a=rtpmap:101 telephone-event/8000\r\na=recvonly\r\n",
    );
    let n = accept_answer(&parse(&ans).unwrap()).unwrap();
    assert_eq!(
        (n.codec, n.payload_type, n.telephone_event),
        (SdpCodec::Pcma, 8, Some(101))
    );
    assert_eq!(n.direction, Direction::SendOnly);
    assert_eq!(n.remote, Some("10.1.1.1:5004".parse().unwrap()));
    // Peer ignored our sendonly: intersect with what we offered.
    let ans = audio("0", "a=sendrecv\r\n");
    let n = accept_answer(&parse(&ans).unwrap()).unwrap();
    assert_eq!(
        n.direction.intersect(Direction::SendOnly),
        Direction::SendOnly
    );
    // Rejected audio (port 0) or a codec we never offered.
    let rejected = audio("0", "").replace("5004", "0");
    assert_eq!(
        accept_answer(&parse(&rejected).unwrap()),
        Err(SdpError::NoCommonCodec)
    );
    let g729 = audio("18", "");
    assert_eq!(
        accept_answer(&parse(&g729).unwrap()),
        Err(SdpError::NoCommonCodec)
    );
    // RFC 2543 hold in an answer.
    let held = "v=0\no=x 1 1 IN IP4 1.2.3.4\nc=IN IP4 0.0.0.0\nm=audio 5004 RTP/AVP 0\n";
    let n = accept_answer(&parse(held).unwrap()).unwrap();
    assert_eq!((n.remote, n.direction), (None, Direction::RecvOnly));
}

#[test]
fn parse_details() {
    let sdp = parse(PJSUA).unwrap();
    assert_eq!(sdp.origin.session_id, 3924843612);
    assert_eq!(sdp.origin.addr, "192.168.1.10");
    assert_eq!(sdp.session_name, "pjmedia");
    assert_eq!(sdp.connection, None);
    let m = &sdp.media[0];
    assert_eq!(
        m.connection,
        Some(IpAddr::V4(Ipv4Addr::new(192, 168, 1, 10)))
    );
    assert_eq!(m.formats, [96, 9, 8, 0, 3, 120, 121]);
    assert_eq!(m.rtpmap_for(96).unwrap().channels, 2);
    assert_eq!(m.rtpmap_for(9).unwrap().rate, 8000);
    assert_eq!(m.fmtp_for(121), Some("0-16"));
    assert_eq!(m.codec_for(3), None);
    // port/count, malformed attributes skipped, session-level ptime inherited.
    let sdp = parse(
        "v=0\no=x 1 1 IN IP4 1.2.3.4\nc=IN IP4 1.2.3.4\na=ptime:30\nm=audio 5004/2 RTP/AVP 0 8\n\
         a=rtpmap:8\na=rtpmap:x PCMA/8000\na=rtpmap:8 PCMA/abc\na=fmtp:\na=ptime:ten\n",
    )
    .unwrap();
    let m = &sdp.media[0];
    assert_eq!(m.port, 5004);
    assert!(m.rtpmap.is_empty() && m.fmtp.is_empty());
    assert_eq!(m.ptime, Some(30));
    assert_eq!(m.raw_formats, "0 8");
    assert!(parse_bytes(b"v=0\r\no=x 1 1 IN IP4 1.2.3.4\r\ns=\xff\r\n").is_err());
    assert_eq!(
        parse_bytes(b"v=0\r\no=x 1 1 IN IP4 1.2.3.4\r\ns=\xff\r\n").unwrap_err(),
        syntax(3, "not UTF-8")
    );
    assert_eq!(SdpError::NoCommonCodec.sip_status(), 488);
    assert_eq!(SdpError::MissingOrigin.sip_status(), 400);
}

#[test]
fn direction_algebra() {
    use Direction::*;
    for d in [SendRecv, SendOnly, RecvOnly, Inactive] {
        assert_eq!(d.reverse().reverse(), d);
        assert_eq!(d.intersect(SendRecv), d);
        assert_eq!(d.intersect(Inactive), Inactive);
        assert_eq!(Direction::parse(d.as_str()), Some(d));
    }
    assert_eq!(SendOnly.intersect(RecvOnly), Inactive);
}

// ------------------------------------------------------------ property tests

fn corpus() -> Vec<String> {
    vec![
        BARESIP.to_owned(),
        crlf(PJSUA),
        LINPHONE.to_owned(),
        SIPP.to_owned(),
        SIPP_BARE.to_owned(),
        offer(local(), &mut SessionVersion::new(1), Direction::SendOnly),
    ]
}

/// Parse and, when that succeeds, negotiate: must never panic, and every answer we
/// produce must parse again with one m= line per offered line.
fn exercise(text: &str) {
    if let Ok(sdp) = parse(text) {
        let _ = accept_answer(&sdp);
        if let Ok((_, ans)) = answer(&sdp, local(), &mut SessionVersion::new(1)) {
            let back = parse(&ans).expect("answer must parse");
            assert_eq!(back.media.len(), sdp.media.len());
        }
    }
}

#[derive(Debug, Clone)]
enum Mangle {
    DeleteLine(usize),
    DuplicateLine(usize),
    Insert(usize, String),
    Truncate(usize),
    Flip(usize, u8),
}

fn mangle_strategy() -> impl Strategy<Value = Mangle> {
    let junk = prop_oneof![
        Just("\r".to_owned()),
        Just("\n".to_owned()),
        Just(" ".to_owned()),
        Just("/".to_owned()),
        Just(":".to_owned()),
        Just("=".to_owned()),
        Just("0".to_owned()),
        Just("99999999999999999999".to_owned()),
        Just("m=audio 0 RTP/AVP 0\n".to_owned()),
        Just("c=IN IP6 ::\n".to_owned()),
        Just("a=rtpmap:".to_owned()),
        Just("é".to_owned()),
        "\\PC{0,8}",
    ];
    prop_oneof![
        any::<usize>().prop_map(Mangle::DeleteLine),
        any::<usize>().prop_map(Mangle::DuplicateLine),
        (any::<usize>(), junk).prop_map(|(i, s)| Mangle::Insert(i, s)),
        any::<usize>().prop_map(Mangle::Truncate),
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mangle::Flip(i, b)),
    ]
}

fn apply(text: &str, ops: &[Mangle]) -> String {
    let mut s = text.to_owned();
    for op in ops {
        match op {
            Mangle::DeleteLine(i) | Mangle::DuplicateLine(i) => {
                let mut lines: Vec<&str> = s.split('\n').collect();
                let i = i % lines.len();
                if matches!(op, Mangle::DeleteLine(_)) {
                    lines.remove(i);
                } else {
                    lines.insert(i, lines[i]);
                }
                s = lines.join("\n");
            }
            Mangle::Insert(i, junk) => {
                let mut i = i % (s.len() + 1);
                while !s.is_char_boundary(i) {
                    i -= 1;
                }
                s.insert_str(i, junk);
            }
            Mangle::Truncate(i) => {
                let mut i = i % (s.len() + 1);
                while !s.is_char_boundary(i) {
                    i -= 1;
                }
                s.truncate(i);
            }
            Mangle::Flip(i, b) => {
                let mut bytes = s.clone().into_bytes();
                if !bytes.is_empty() {
                    let i = i % bytes.len();
                    bytes[i] = *b;
                }
                s = String::from_utf8_lossy(&bytes).into_owned();
            }
        }
    }
    s
}

/// `default_cases` per property unless `PROPTEST_CASES` is set (for long fuzz runs:
/// `PROPTEST_CASES=1000000 cargo test --release --lib media`).
fn config(default_cases: u32) -> ProptestConfig {
    let mut c = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        c.cases = default_cases;
    }
    c
}

proptest! {
    #![proptest_config(config(2000))]

    #[test]
    fn random_text_never_panics(text in "\\PC{0,400}") {
        exercise(&text);
    }

    #[test]
    fn random_sdp_shaped_text_never_panics(
        lines in proptest::collection::vec("[vosctmab]=[ -~]{0,40}", 0..20)
    ) {
        exercise(&format!("v=0\n{}", lines.join("\n")));
    }

    #[test]
    fn mangled_offers_never_panic(
        base in 0usize..6,
        ops in proptest::collection::vec(mangle_strategy(), 1..8),
    ) {
        let corpus = corpus();
        exercise(&apply(&corpus[base], &ops));
    }

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        if let Ok(sdp) = parse_bytes(&bytes) {
            let _ = answer(&sdp, local(), &mut SessionVersion::new(1));
        }
    }
}
