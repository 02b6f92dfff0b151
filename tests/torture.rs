//! SIP torture corpus (RFC 4475 in spirit) sent to the running binary.
//!
//! Every `tests/torture/NN-name.sip` file is sent once over UDP and once over a
//! fresh TCP connection to one `switchboard serve` (demo configuration), and the
//! answer is compared with `tests/torture/expected.tsv`:
//!
//! | expectation | UDP                                    | TCP                                   |
//! | ----------- | -------------------------------------- | ------------------------------------- |
//! | `404`       | final status (1xx skipped), within ~1 s | same, read from the connection        |
//! | `501\|400`  | any of the listed final statuses       | same                                  |
//! | `none`      | nothing for ~300 ms, then OPTIONS -> 200 | nothing and not closed for ~300 ms  |
//! | `close`     | —                                      | connection closed without an answer   |
//! | `pong`      | —                                      | a bare CRLF keep-alive pong           |
//! | `skip`      | not sent (e.g. larger than a datagram) | not sent                              |
//!
//! Placeholders substituted in the raw bytes: `{via}` (a top Via pointing at the
//! test's own socket, with `rport`), `{transport}`, `{local}` (the test socket's
//! `ip:port`), `{port}`, `{server}`, `{callid}`, `{branch}`.
//!
//! All mismatches are collected and reported together at the end.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use switchboard::sip::message::Message;
use switchboard::sip::parse::parse_datagram;

const ANSWER_WAIT: Duration = Duration::from_millis(1000);
const SILENCE_WAIT: Duration = Duration::from_millis(300);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Expect {
    Status(Vec<u16>),
    None,
    Close,
    Pong,
    Skip,
}

impl Expect {
    fn parse(s: &str) -> Expect {
        match s {
            "none" => Expect::None,
            "close" => Expect::Close,
            "pong" => Expect::Pong,
            "skip" => Expect::Skip,
            codes => Expect::Status(
                codes
                    .split('|')
                    .map(|c| {
                        c.parse()
                            .unwrap_or_else(|_| panic!("bad expectation {s:?}"))
                    })
                    .collect(),
            ),
        }
    }
}

/// What was observed.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Got {
    Status(u16),
    /// Only provisional answers before the deadline.
    Provisional(u16),
    None,
    Close,
    Pong,
    Skipped,
    Error(String),
}

impl std::fmt::Display for Got {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Got::Status(c) => write!(f, "{c}"),
            Got::Provisional(c) => write!(f, "only provisional {c}"),
            Got::None => f.write_str("none"),
            Got::Close => f.write_str("close"),
            Got::Pong => f.write_str("pong"),
            Got::Skipped => f.write_str("skip"),
            Got::Error(e) => write!(f, "error: {e}"),
        }
    }
}

struct Entry {
    file: String,
    raw: Vec<u8>,
    udp: Expect,
    tcp: Expect,
    why: String,
}

fn corpus_dir() -> PathBuf {
    common::repo().join("tests/torture")
}

fn load_corpus() -> Vec<Entry> {
    let dir = corpus_dir();
    let tsv = std::fs::read_to_string(dir.join("expected.tsv")).expect("expected.tsv");
    let mut out = Vec::new();
    for line in tsv.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let cols: Vec<&str> = line.splitn(4, '\t').collect();
        assert_eq!(cols.len(), 4, "expected.tsv line needs 4 columns: {line}");
        let raw = std::fs::read(dir.join(cols[0])).unwrap_or_else(|e| panic!("{}: {e}", cols[0]));
        out.push(Entry {
            file: cols[0].to_string(),
            raw,
            udp: Expect::parse(cols[1]),
            tcp: Expect::parse(cols[2]),
            why: cols[3].to_string(),
        });
    }
    // Every corpus file has an expectation and vice versa.
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".sip"))
        .collect();
    files.sort();
    let mut listed: Vec<String> = out.iter().map(|e| e.file.clone()).collect();
    listed.sort();
    assert_eq!(
        files, listed,
        "tests/torture/*.sip and expected.tsv disagree"
    );
    out
}

fn replace_all(hay: &[u8], needle: &[u8], with: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(hay.len());
    let mut i = 0;
    while i < hay.len() {
        if hay[i..].starts_with(needle) {
            out.extend_from_slice(with);
            i += needle.len();
        } else {
            out.push(hay[i]);
            i += 1;
        }
    }
    out
}

struct Vars {
    transport: &'static str,
    local: SocketAddr,
    server: SocketAddr,
    callid: String,
    branch: String,
}

fn substitute(raw: &[u8], v: &Vars) -> Vec<u8> {
    let via = format!(
        "SIP/2.0/{} {};branch={};rport",
        v.transport, v.local, v.branch
    );
    let mut out = raw.to_vec();
    for (k, val) in [
        ("{via}", via),
        ("{transport}", v.transport.to_string()),
        ("{local}", v.local.to_string()),
        ("{port}", v.local.port().to_string()),
        ("{server}", v.server.to_string()),
        ("{callid}", v.callid.clone()),
        ("{branch}", v.branch.clone()),
    ] {
        out = replace_all(&out, k.as_bytes(), val.as_bytes());
    }
    out
}

fn stem(file: &str) -> &str {
    file.trim_end_matches(".sip")
}

fn vars(file: &str, transport: &'static str, local: SocketAddr, server: SocketAddr) -> Vars {
    let t = transport.to_ascii_lowercase();
    let pid = std::process::id();
    Vars {
        transport,
        local,
        server,
        callid: format!("torture-{}-{t}-{pid}@127.0.0.1", stem(file)),
        branch: format!("z9hG4bK-torture-{}-{t}-{pid}", stem(file)),
    }
}

/// A response we received, reduced to what the checks need.
struct Answer {
    code: u16,
    call_id: Option<String>,
    headers: Vec<(String, String)>,
}

fn read_answer(bytes: &[u8]) -> Option<Answer> {
    match parse_datagram(bytes, 1 << 20).ok()? {
        Message::Response(r) => Some(Answer {
            code: r.code,
            call_id: r.headers.get("Call-ID").map(str::to_string),
            headers: r
                .headers
                .iter()
                .map(|h| (h.name.clone(), h.value.clone()))
                .collect(),
        }),
        Message::Request(_) => None,
    }
}

impl Answer {
    /// Answers carrying another Call-ID (e.g. to the second message of
    /// `dblreq`) are not ours; answers without one are taken as ours. Corpus
    /// Call-IDs may extend `{callid}` (intmeth), so this is a prefix match.
    fn is_for(&self, call_id: &str) -> bool {
        self.call_id
            .as_deref()
            .is_none_or(|c| c.starts_with(call_id))
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Extra checks on a final answer that matched its expected status.
fn answer_problems(a: &Answer, sent: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let need = |out: &mut Vec<String>, h: &str| {
        if a.header(h).is_none_or(|v| v.trim().is_empty()) {
            out.push(format!("{} answer lacks a {h} header", a.code));
        }
    };
    match a.code {
        405 | 501 => need(&mut out, "Allow"),
        401 => need(&mut out, "WWW-Authenticate"),
        415 => need(&mut out, "Accept"),
        420 => {
            need(&mut out, "Unsupported");
            let sent = String::from_utf8_lossy(sent);
            if sent.contains("nothingSupportedHere")
                && !a
                    .header("Unsupported")
                    .unwrap_or("")
                    .contains("nothingSupportedHere")
            {
                out.push("420 Unsupported does not list nothingSupportedHere".into());
            }
        }
        _ => {}
    }
    out
}

// ------------------------------------------------------------------- UDP

fn udp_socket() -> UdpSocket {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
    s
}

/// Waits for the final answer carrying `call_id` (bounded by `wait`).
fn udp_await(sock: &UdpSocket, call_id: &str, wait: Duration) -> (Got, Option<Answer>) {
    let deadline = Instant::now() + wait;
    let mut provisional = None;
    let mut buf = vec![0u8; 70000];
    while Instant::now() < deadline {
        match sock.recv_from(&mut buf) {
            Ok((n, _)) => {
                let Some(a) = read_answer(&buf[..n]) else {
                    return (
                        Got::Error(format!(
                            "unparseable datagram: {:?}",
                            String::from_utf8_lossy(&buf[..n.min(80)])
                        )),
                        None,
                    );
                };
                if !a.is_for(call_id) {
                    continue;
                }
                if a.code < 200 {
                    provisional = Some(a.code);
                    continue;
                }
                return (Got::Status(a.code), Some(a));
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) => return (Got::Error(e.to_string()), None),
        }
    }
    (provisional.map_or(Got::None, Got::Provisional), None)
}

fn udp_options_ok(sock: &UdpSocket, server: SocketAddr, call_id: &str) -> bool {
    let msg = common::options_request(&sock.local_addr().unwrap(), &server, call_id);
    sock.send_to(msg.as_bytes(), server).unwrap();
    matches!(udp_await(sock, call_id, ANSWER_WAIT).0, Got::Status(200))
}

/// Sends an ACK for a final answer to an INVITE (RFC 3261 17.1.1.3) so that
/// the server stops retransmitting; for a 2xx also a BYE. Best effort.
fn ack_if_invite(sent: &[u8], answer: &Answer, send: &mut dyn FnMut(&[u8])) {
    let Ok(Message::Request(req)) = parse_datagram(sent, 1 << 20) else {
        return;
    };
    if req.method.as_str() != "INVITE" {
        return;
    }
    let h = |n: &str| req.headers.get(n).unwrap_or("").to_string();
    let seq = h("CSeq")
        .split_whitespace()
        .next()
        .unwrap_or("1")
        .to_string();
    let to = answer.header("To").unwrap_or("").to_string();
    let mut via = h("Via");
    if answer.code < 300 {
        via = format!("{via}-ack");
    }
    let common = format!(
        "Max-Forwards: 70\r\nFrom: {}\r\nTo: {to}\r\nCall-ID: {}\r\n",
        h("From"),
        h("Call-ID")
    );
    let ack = format!(
        "ACK {} SIP/2.0\r\nVia: {via}\r\n{common}CSeq: {seq} ACK\r\nContent-Length: 0\r\n\r\n",
        req.uri
    );
    send(ack.as_bytes());
    if answer.code < 300 {
        let bye = format!(
            "BYE {} SIP/2.0\r\nVia: {}-bye\r\n{common}CSeq: {} BYE\r\nContent-Length: 0\r\n\r\n",
            req.uri,
            h("Via"),
            seq.parse::<u32>().unwrap_or(1) + 1
        );
        send(bye.as_bytes());
    }
}

fn run_udp(e: &Entry, server: SocketAddr) -> (Got, Vec<String>) {
    if e.udp == Expect::Skip {
        return (Got::Skipped, vec![]);
    }
    let sock = udp_socket();
    let v = vars(&e.file, "UDP", sock.local_addr().unwrap(), server);
    let bytes = substitute(&e.raw, &v);
    if let Err(err) = sock.send_to(&bytes, server) {
        return (Got::Error(format!("send: {err}")), vec![]);
    }
    let mut notes = Vec::new();
    let wait = if e.udp == Expect::None {
        SILENCE_WAIT
    } else {
        ANSWER_WAIT
    };
    let (got, answer) = udp_await(&sock, &v.callid, wait);
    if let Some(a) = &answer {
        if matches!(&e.udp, Expect::Status(c) if c.contains(&a.code)) {
            notes.extend(answer_problems(a, &bytes));
        }
        ack_if_invite(&bytes, a, &mut |m| {
            let _ = sock.send_to(m, server);
        });
    }
    if e.udp == Expect::None && !udp_options_ok(&sock, server, &format!("{}-alive", v.callid)) {
        notes.push("server did not answer OPTIONS afterwards".into());
    }
    (got, notes)
}

// ------------------------------------------------------------------- TCP

/// A TCP connection to the server with a tiny response framer.
struct Conn {
    s: TcpStream,
    buf: Vec<u8>,
    closed: bool,
    pongs: usize,
}

enum Frame {
    Answer(Answer),
    Garbage(String),
}

impl Conn {
    fn open(server: SocketAddr) -> std::io::Result<Conn> {
        let s = TcpStream::connect_timeout(&server, Duration::from_secs(2))?;
        s.set_nodelay(true)?;
        Ok(Conn {
            s,
            buf: Vec::new(),
            closed: false,
            pongs: 0,
        })
    }

    fn local(&self) -> SocketAddr {
        self.s.local_addr().unwrap()
    }

    fn send(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.s.write_all(bytes)?;
        self.s.flush()
    }

    /// Reads whatever arrives before `deadline`, stopping early once `done`
    /// says so. Sets `closed` on EOF or reset.
    fn fill_until(&mut self, deadline: Instant, done: &mut dyn FnMut(&mut Conn) -> bool) {
        let mut chunk = [0u8; 16384];
        loop {
            if done(self) || self.closed {
                return;
            }
            let now = Instant::now();
            if now >= deadline {
                return;
            }
            let left = (deadline - now).max(Duration::from_millis(1));
            self.s.set_read_timeout(Some(left)).unwrap();
            match self.s.read(&mut chunk) {
                Ok(0) => self.closed = true,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(_) => self.closed = true,
            }
        }
    }

    /// Cuts one frame off the buffer: CRLF pongs are counted and skipped.
    fn next_frame(&mut self) -> Option<Frame> {
        while self.buf.starts_with(b"\r\n") {
            self.buf.drain(..2);
            self.pongs += 1;
        }
        let end = self.buf.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
        let head = String::from_utf8_lossy(&self.buf[..end]).into_owned();
        let len = head
            .lines()
            .find_map(|l| {
                let (n, v) = l.split_once(':')?;
                let n = n.trim();
                (n.eq_ignore_ascii_case("content-length") || n.eq_ignore_ascii_case("l"))
                    .then(|| v.trim().parse::<usize>().ok())?
            })
            .unwrap_or(0);
        if self.buf.len() < end + len {
            return None;
        }
        let frame: Vec<u8> = self.buf.drain(..end + len).collect();
        Some(match read_answer(&frame) {
            Some(a) => Frame::Answer(a),
            None => Frame::Garbage(head.chars().take(80).collect()),
        })
    }

    /// Waits for the final answer with `call_id`.
    fn await_final(&mut self, call_id: &str, wait: Duration) -> (Got, Option<Answer>) {
        let deadline = Instant::now() + wait;
        let mut provisional = None;
        let mut result = None;
        self.fill_until(deadline, &mut |c: &mut Conn| {
            while let Some(f) = c.next_frame() {
                match f {
                    Frame::Garbage(g) => {
                        result = Some((Got::Error(format!("unparseable answer: {g:?}")), None));
                        return true;
                    }
                    Frame::Answer(a) if !a.is_for(call_id) => {}
                    Frame::Answer(a) if a.code < 200 => provisional = Some(a.code),
                    Frame::Answer(a) => {
                        result = Some((Got::Status(a.code), Some(a)));
                        return true;
                    }
                }
            }
            false
        });
        if let Some(r) = result {
            return r;
        }
        if self.closed {
            return (Got::Close, None);
        }
        (provisional.map_or(Got::None, Got::Provisional), None)
    }

    /// Observes the connection for `wait` without expecting a message.
    fn observe(&mut self, wait: Duration, stop_on_bytes: bool) -> Got {
        let deadline = Instant::now() + wait;
        self.fill_until(deadline, &mut |c: &mut Conn| {
            stop_on_bytes && !c.buf.is_empty() && !b"\r\n".starts_with(&c.buf)
        });
        let pongs_before = self.pongs;
        let frame = self.next_frame();
        match frame {
            Some(Frame::Answer(a)) => Got::Status(a.code),
            Some(Frame::Garbage(g)) => Got::Error(format!("unparseable answer: {g:?}")),
            None if self.pongs > pongs_before && self.buf.is_empty() => Got::Pong,
            None if !self.buf.is_empty() => Got::Error(format!(
                "partial bytes: {:?}",
                String::from_utf8_lossy(&self.buf[..self.buf.len().min(80)])
            )),
            None if self.closed => Got::Close,
            None => Got::None,
        }
    }
}

fn run_tcp(e: &Entry, server: SocketAddr) -> (Got, Vec<String>) {
    if e.tcp == Expect::Skip {
        return (Got::Skipped, vec![]);
    }
    let mut c = match Conn::open(server) {
        Ok(c) => c,
        Err(err) => return (Got::Error(format!("connect: {err}")), vec![]),
    };
    let v = vars(&e.file, "TCP", c.local(), server);
    let bytes = substitute(&e.raw, &v);
    let mut notes = Vec::new();
    if let Err(err) = c.send(&bytes) {
        // The server may close mid-write (oversize): that is a close.
        if matches!(
            err.kind(),
            ErrorKind::ConnectionReset | ErrorKind::BrokenPipe
        ) {
            return (Got::Close, notes);
        }
        return (Got::Error(format!("send: {err}")), notes);
    }
    let got = match &e.tcp {
        Expect::Status(_) => {
            let (got, answer) = c.await_final(&v.callid, ANSWER_WAIT);
            if let Some(a) = &answer {
                if matches!(&e.tcp, Expect::Status(codes) if codes.contains(&a.code)) {
                    notes.extend(answer_problems(a, &bytes));
                }
                let mut out = Vec::new();
                ack_if_invite(&bytes, a, &mut |m| out.push(m.to_vec()));
                for m in out {
                    let _ = c.send(&m);
                }
            }
            got
        }
        Expect::None => c.observe(SILENCE_WAIT, true),
        Expect::Close => match c.observe(ANSWER_WAIT, true) {
            Got::None => Got::Error("connection still open after 1 s".into()),
            g => g,
        },
        Expect::Pong => {
            let g = c.observe(ANSWER_WAIT, false);
            if g == Got::Pong {
                // The connection stays usable after a keep-alive.
                let id = format!("{}-after-pong", v.callid);
                let opt = common::options_request(&c.local(), &server, &id)
                    .replace("SIP/2.0/UDP", "SIP/2.0/TCP");
                if c.send(opt.as_bytes()).is_err()
                    || c.await_final(&id, ANSWER_WAIT).0 != Got::Status(200)
                {
                    notes.push("no 200 to an OPTIONS sent after the pong".into());
                }
            }
            g
        }
        Expect::Skip => unreachable!(),
    };
    if e.tcp == Expect::None || e.tcp == Expect::Close {
        let sock = udp_socket();
        if !udp_options_ok(&sock, server, &format!("{}-alive", v.callid)) {
            notes.push("server did not answer OPTIONS afterwards".into());
        }
    }
    (got, notes)
}

fn matches(expect: &Expect, got: &Got) -> bool {
    match (expect, got) {
        (Expect::Status(codes), Got::Status(c)) => codes.contains(c),
        (Expect::None, Got::None)
        | (Expect::Close, Got::Close)
        | (Expect::Pong, Got::Pong)
        | (Expect::Skip, Got::Skipped) => true,
        _ => false,
    }
}

fn describe(bytes: &[u8]) -> String {
    let first = bytes
        .split(|b| *b == b'\n')
        .find(|l| !l.iter().all(|b| b.is_ascii_whitespace()))
        .unwrap_or(b"");
    let first: String = String::from_utf8_lossy(first)
        .trim_end()
        .chars()
        .take(70)
        .collect();
    format!("{} bytes, first line {first:?}", bytes.len())
}

fn expect_text(e: &Expect) -> String {
    match e {
        Expect::Status(c) => c
            .iter()
            .map(|c| c.to_string())
            .collect::<Vec<_>>()
            .join("|"),
        Expect::None => "none".into(),
        Expect::Close => "close".into(),
        Expect::Pong => "pong".into(),
        Expect::Skip => "skip".into(),
    }
}

// ------------------------------------------------------------------- TCP stream shapes

fn tcp_options(c: &Conn, server: SocketAddr, id: &str) -> Vec<u8> {
    common::options_request(&c.local(), &server, id)
        .replace("SIP/2.0/UDP", "SIP/2.0/TCP")
        .into_bytes()
}

/// Two messages in one write, then one message split across many writes.
fn tcp_stream_shapes(server: SocketAddr, failures: &mut Vec<String>) {
    let pid = std::process::id();
    let mut c = match Conn::open(server) {
        Ok(c) => c,
        Err(e) => {
            failures.push(format!("tcp-shapes: connect: {e}"));
            return;
        }
    };
    let (a, b) = (
        format!("torture-two-a-{pid}"),
        format!("torture-two-b-{pid}"),
    );
    let mut both = tcp_options(&c, server, &a);
    both.extend(tcp_options(&c, server, &b));
    if c.send(&both).is_err() {
        failures.push("tcp-shapes: two-in-one write failed".into());
        return;
    }
    for id in [&a, &b] {
        let got = c.await_final(id, ANSWER_WAIT).0;
        if got != Got::Status(200) {
            failures.push(format!(
                "tcp-shapes: two messages in one write: {id} expected 200, got {got}"
            ));
        }
    }
    let split = format!("torture-split-{pid}");
    let msg = tcp_options(&c, server, &split);
    // Byte by byte through the start line and first header, then in thirds.
    let cut = msg.iter().position(|b| *b == b'\n').unwrap_or(0) + 20;
    let mut pieces: Vec<&[u8]> = msg[..cut].chunks(1).collect();
    pieces.extend(msg[cut..].chunks(msg[cut..].len() / 3 + 1));
    for p in pieces {
        if c.send(p).is_err() {
            failures.push("tcp-shapes: split write failed".into());
            return;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let got = c.await_final(&split, ANSWER_WAIT).0;
    if got != Got::Status(200) {
        failures.push(format!(
            "tcp-shapes: message split across writes: expected 200, got {got}"
        ));
    }
}

#[test]
fn torture_corpus_over_udp_and_tcp() {
    let corpus = load_corpus();
    assert!(corpus.len() >= 40, "corpus too small: {}", corpus.len());
    let mut server = common::Server::demo();
    let addr = server.sip;
    let mut failures = Vec::new();
    let mut passed = 0;
    for e in &corpus {
        for (transport, expect, (got, notes)) in [
            ("udp", &e.udp, run_udp(e, addr)),
            ("tcp", &e.tcp, run_tcp(e, addr)),
        ] {
            let v = vars(&e.file, "UDP", "127.0.0.1:1".parse().unwrap(), addr);
            let sent = describe(&substitute(&e.raw, &v));
            if !matches(expect, &got) {
                failures.push(format!(
                    "{} [{transport}]: expected {}, got {got} — sent {sent} — {}",
                    e.file,
                    expect_text(expect),
                    e.why
                ));
            } else if !notes.is_empty() {
                failures.push(format!(
                    "{} [{transport}]: {} — sent {sent}",
                    e.file,
                    notes.join("; ")
                ));
            } else {
                passed += 1;
            }
            if !server.alive() {
                panic!(
                    "switchboard died after {} [{transport}]:\n{}",
                    e.file,
                    server.log_text()
                );
            }
        }
    }
    tcp_stream_shapes(addr, &mut failures);

    // Still alive and answering on both transports.
    assert!(server.alive(), "switchboard died:\n{}", server.log_text());
    let sock = udp_socket();
    if !udp_options_ok(
        &sock,
        addr,
        &format!("torture-final-{}", std::process::id()),
    ) {
        failures.push("final UDP OPTIONS got no 200".into());
    }
    match Conn::open(addr) {
        Ok(mut c) => {
            let id = format!("torture-final-tcp-{}", std::process::id());
            let m = tcp_options(&c, addr, &id);
            let ok = c.send(&m).is_ok() && c.await_final(&id, ANSWER_WAIT).0 == Got::Status(200);
            if !ok {
                failures.push("final TCP OPTIONS got no 200".into());
            }
        }
        Err(e) => failures.push(format!("final TCP connect: {e}")),
    }
    let log = server.log_text();
    if !log.contains("dropped") {
        failures.push("the debug log never mentions a dropped message".into());
    }
    eprintln!("torture: {passed} of {} checks passed", corpus.len() * 2);
    assert!(
        failures.is_empty(),
        "{} torture mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
