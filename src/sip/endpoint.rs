//! The SIP endpoint: one sans-IO state machine that takes datagrams, stream
//! messages and timeouts, and gives back messages to send, events for the rest
//! of Switchboard, and its next deadline — the shape of str0m's `Rtc`.
//!
//! A request's path: [`parse`](super::parse) → Via stamped (RFC 3581) →
//! [`TransactionLayer`] (retransmissions end here) → checks of RFC 3261 §8.2
//! (URI scheme, Require, merged requests) → by method: REGISTER to the
//! [`Registrar`], OPTIONS answered, INVITE routed by dialled number, and so on.

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tracing::{debug, info, warn};

use super::headers::{CSeq, NameAddr, Via};
use super::message::{reason_phrase, Message, Method, Request, Response};
use super::parse::{parse_datagram, ParseError};
use super::registrar::{Binding, Registrar};
use super::session::{CallEvent, CallRef, Sessions};
use super::transaction::{Incoming, Timers, TransactionLayer, Transmit, TxEvent, TxKey};
use super::transport::{response_destination, stamp_received, Peer, Transport};
use super::uri::{Uri, UriError};
use crate::config::Config;

/// Methods we implement; sent in Allow (RFC 3261 §20.5).
pub const ALLOW: &str = "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, INFO, REFER";

/// Methods we know but do not serve: 405 rather than 501 (RFC 3261 §8.2.1).
const KNOWN_UNSUPPORTED: &[Method] = &[
    Method::Subscribe,
    Method::Notify,
    Method::Publish,
    Method::Message,
    Method::Update,
    Method::Prack,
];

pub enum Input<'a> {
    /// One UDP datagram.
    Datagram {
        now: Instant,
        from: SocketAddr,
        bytes: &'a [u8],
    },
    /// One message cut from a TCP stream by [`super::framing::StreamFramer`].
    Stream {
        now: Instant,
        from: SocketAddr,
        message: Message,
    },
    Timeout(Instant),
    /// Sending to `peer` failed (connection refused or closed).
    TransportError {
        now: Instant,
        peer: Peer,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// An extension's registrations changed: persist them.
    BindingsChanged {
        extension: String,
        bindings: Vec<Binding>,
    },
    /// A registered contact started or stopped answering qualify pings.
    Reachability {
        extension: String,
        contact: String,
        reachable: bool,
    },
    /// Something happened to a call to one of our numbers.
    Call(CallEvent),
}

#[derive(Debug)]
pub enum Output {
    Transmit(Transmit),
    Event(Event),
    /// Nothing more to do before this instant (or never, with `None`).
    Timeout(Option<Instant>),
}

/// Counters for what came in and what was refused.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    pub received: u64,
    /// Unanswerable input dropped (no start line, no Via, truncated, ...).
    pub dropped: u64,
    /// Answered 400/505 because the message was malformed.
    pub malformed_answered: u64,
    pub registrations_ok: u64,
    pub registrations_refused: u64,
    /// Responses that matched no client transaction (RFC 3261 §18.1.2: discarded).
    pub stray_responses: u64,
}

pub struct Endpoint {
    local: SocketAddr,
    transports: Vec<Transport>,
    max_message_size: usize,
    user_agent: String,
    numbers: HashSet<String>,
    extensions: HashSet<String>,
    tx: TransactionLayer,
    registrar: Registrar,
    sessions: Sessions,
    rng: StdRng,
    out: VecDeque<Output>,
    stats: Stats,
    qualify_interval: Duration,
    next_qualify: Option<Instant>,
    /// Qualify OPTIONS in flight: transaction → (extension, contact).
    qualifying: HashMap<TxKey, (String, String)>,
    /// Recent requests without a To tag, for merged-request detection (§8.2.2.2).
    recent: HashMap<(String, String, u32), (TxKey, Instant)>,
}

impl Endpoint {
    /// `secret` keys the digest nonces; `seed` makes tags and branches reproducible in tests.
    pub fn new(
        cfg: &Config,
        local: SocketAddr,
        now: Instant,
        secret: [u8; 32],
        seed: u64,
    ) -> Endpoint {
        let transports = cfg
            .sip
            .transports
            .iter()
            .map(|t| match t {
                crate::config::TransportKind::Udp => Transport::Udp,
                crate::config::TransportKind::Tcp => Transport::Tcp,
            })
            .collect();
        let interval = cfg.registrar.qualify_interval;
        Endpoint {
            local,
            transports,
            max_message_size: cfg.sip.max_message_size,
            user_agent: cfg.sip.user_agent.clone(),
            numbers: cfg.numbers.keys().cloned().collect(),
            extensions: cfg.agents.iter().map(|a| a.extension.clone()).collect(),
            tx: TransactionLayer::new(Timers::default()),
            sessions: Sessions::new(
                Timers::default(),
                local,
                cfg.sip.user_agent.clone(),
                seed ^ 0x5e55,
            ),
            registrar: Registrar::new(
                cfg.registrar.clone(),
                cfg.sip.realm(),
                &cfg.agents,
                secret,
                now,
            ),
            rng: StdRng::seed_from_u64(seed),
            out: VecDeque::new(),
            stats: Stats::default(),
            qualify_interval: interval,
            next_qualify: (!interval.is_zero()).then_some(now + interval),
            qualifying: HashMap::new(),
            recent: HashMap::new(),
        }
    }

    pub fn stats(&self) -> Stats {
        self.stats
    }

    pub fn registrar(&self) -> &Registrar {
        &self.registrar
    }

    pub fn registrar_mut(&mut self) -> &mut Registrar {
        &mut self.registrar
    }

    pub fn handle_input(&mut self, input: Input<'_>) {
        match input {
            Input::Datagram { now, from, bytes } => {
                let peer = Peer {
                    transport: Transport::Udp,
                    addr: from,
                };
                match parse_datagram(bytes, self.max_message_size) {
                    Ok(msg) => self.handle_message(now, peer, msg),
                    Err(ParseError::KeepAlive) => {}
                    Err(e) => self.drop_input(peer, &e.to_string()),
                }
            }
            Input::Stream { now, from, message } => self.handle_message(
                now,
                Peer {
                    transport: Transport::Tcp,
                    addr: from,
                },
                message,
            ),
            Input::Timeout(now) => self.handle_timeout(now),
            Input::TransportError { now, peer } => {
                self.tx.transport_error(peer);
                self.drain_tx_events(now);
            }
        }
    }

    /// Next thing to do: transmit, event, or (last) the next deadline.
    pub fn poll_output(&mut self) -> Output {
        if let Some(t) = self.tx.poll_transmit() {
            return Output::Transmit(t);
        }
        if let Some(t) = self.sessions.poll_transmit() {
            return Output::Transmit(t);
        }
        if let Some(o) = self.out.pop_front() {
            return o;
        }
        if let Some(ev) = self.sessions.poll_event() {
            return Output::Event(Event::Call(ev));
        }
        let deadlines = [
            self.tx.poll_timeout(),
            self.registrar.poll_timeout(),
            self.next_qualify,
            self.sessions.poll_timeout(),
        ];
        Output::Timeout(deadlines.into_iter().flatten().min())
    }

    /// Counts unanswerable input (also used by the shell for TCP framing errors).
    pub fn drop_input(&mut self, from: Peer, reason: &str) {
        self.stats.received += 1;
        self.stats.dropped += 1;
        debug!(%from, reason, total = self.stats.dropped, "dropped unanswerable SIP input");
    }

    fn handle_message(&mut self, now: Instant, peer: Peer, msg: Message) {
        self.stats.received += 1;
        match msg {
            Message::Request(req) => {
                let span = tracing::debug_span!("sip", call_id = %req.call_id());
                let _g = span.enter();
                self.handle_request(now, peer, req);
            }
            Message::Response(resp) => {
                let span = tracing::debug_span!("sip", call_id = %resp.headers.get("Call-ID").unwrap_or(""));
                let _g = span.enter();
                self.handle_response(now, resp);
            }
        }
    }

    fn handle_request(&mut self, now: Instant, peer: Peer, mut req: Request) {
        // The top Via is needed to answer at all (RFC 3261 §18.2.2).
        let Some(first) = req.headers.values("Via").first().map(|v| v.to_string()) else {
            return self.drop_input(peer, "request without Via");
        };
        let Ok(mut via) = Via::parse(&first) else {
            return self.drop_input(peer, "unparseable top Via");
        };
        stamp_received(&mut via, peer.addr);
        replace_top_via(&mut req, &first, &via.to_string());
        let reply_to = response_destination(&via, peer);

        if let Some(d) = req.defect.clone() {
            if req.method == Method::Ack {
                return self.drop_input(peer, "malformed ACK");
            }
            self.stats.malformed_answered += 1;
            debug!(%peer, status = d.status, reason = %d.reason, "malformed request answered");
            let mut r = response_to(&req, d.status, &d.reason, &self.tag());
            self.finish_response(&mut r);
            self.tx.on_request(now, &req, reply_to);
            // Stateless: malformed requests may not even have a usable transaction key.
            self.out.push_back(Output::Transmit(Transmit {
                dest: reply_to,
                bytes: r.to_bytes(),
            }));
            return;
        }

        match self.tx.on_request(now, &req, reply_to) {
            Incoming::Absorbed => {}
            Incoming::Ack => {
                if !self.sessions.on_ack(now, &mut self.tx, &req) {
                    debug!("ACK for no call: ignored");
                }
            }
            Incoming::Cancel { cancel, invite } => match invite {
                Some(inv) => {
                    self.reply(now, &cancel, &req, 200, None);
                    // RFC 3261 §9.2: the INVITE is answered 487.
                    self.respond_invite_cancelled(now, &inv, &req);
                    self.sessions.on_cancel(&inv);
                }
                None => self.reply(now, &cancel, &req, 481, None),
            },
            Incoming::Request(key) => self.dispatch(now, key, req, peer),
        }
    }

    fn respond_invite_cancelled(&mut self, now: Instant, inv: &TxKey, cancel: &Request) {
        // The CANCEL carries the INVITE's Via, From, To (without our tag), Call-ID and CSeq number.
        let mut r = response_to(cancel, 487, reason_phrase(487), &self.tag());
        if let Some(seq) = cancel.headers.get("CSeq").and_then(|c| CSeq::parse(c).ok()) {
            r.headers.set("CSeq", format!("{} INVITE", seq.seq));
        }
        self.finish_response(&mut r);
        self.tx.respond(now, inv, &r);
    }

    fn dispatch(&mut self, now: Instant, key: TxKey, req: Request, peer: Peer) {
        // RFC 3261 §8.2.1 (method), §8.2.2.1 (URI), §8.2.2.3 (Require), §8.2.2.2 (merged), in that order.
        if KNOWN_UNSUPPORTED.contains(&req.method) {
            return self.reply(now, &key, &req, 405, None);
        }
        if matches!(req.method, Method::Other(_)) {
            return self.reply(now, &key, &req, 501, None);
        }
        match Uri::parse(&req.uri) {
            Err(UriError::Scheme(_)) => return self.reply(now, &key, &req, 416, None),
            Err(UriError::Malformed) => {
                return self.reply(now, &key, &req, 400, Some("Bad Request-URI"))
            }
            // §19.1.1: header components are not allowed in a Request-URI.
            Ok(u) if u.headers.is_some() => {
                return self.reply(now, &key, &req, 400, Some("Bad Request-URI"))
            }
            Ok(_) => {}
        }
        let mf = req
            .headers
            .get("Max-Forwards")
            .and_then(super::parse::max_forwards);
        if mf == Some(0) && req.method != Method::Register {
            return self.reply(now, &key, &req, 483, None);
        }
        let unsupported: Vec<String> = req
            .headers
            .values("Require")
            .iter()
            .map(|s| s.to_string())
            .collect();
        if !unsupported.is_empty() && req.method != Method::Cancel {
            let mut r = response_to(&req, 420, reason_phrase(420), &self.tag());
            r.headers.push("Unsupported", unsupported.join(", "));
            return self.send_final(now, &key, r);
        }
        if self.is_merged(now, &key, &req) {
            return self.reply(now, &key, &req, 482, None);
        }
        match &req.method {
            Method::Register => self.register(now, &key, &req, peer),
            Method::Options => {
                let mut r = response_to(&req, 200, "OK", &self.tag());
                r.headers.push("Allow", ALLOW);
                r.headers.push("Accept", "application/sdp");
                self.send_final(now, &key, r);
            }
            Method::Invite => self.invite(now, key, req, peer),
            Method::Bye | Method::Info | Method::Refer => {
                if !self.sessions.on_in_dialog(now, &mut self.tx, &key, &req) {
                    self.reply(now, &key, &req, 481, None)
                }
            }
            // ACK and CANCEL never get here (the transaction layer takes them).
            _ => self.reply(now, &key, &req, 405, None),
        }
    }

    fn invite(&mut self, now: Instant, key: TxKey, req: Request, peer: Peer) {
        let to_tag = req
            .headers
            .get("To")
            .and_then(|t| NameAddr::parse(t).ok())
            .and_then(|n| n.tag().map(str::to_string));
        let trying = response_to(&req, 100, "Trying", "");
        self.tx.respond(now, &key, &trying);
        if to_tag.is_some() {
            if !self.sessions.on_in_dialog(now, &mut self.tx, &key, &req) {
                self.reply(now, &key, &req, 481, None);
            }
            return;
        }
        let user = Uri::parse(&req.uri)
            .ok()
            .and_then(|u| u.user)
            .unwrap_or_default();
        // Agents' feature codes (`*45`, `*46`) and calls to agents'
        // extensions are answered like numbers; the call layer checks that
        // an agent's own phone dialled them.
        let feature_code = user.len() > 1
            && user.starts_with('*')
            && user[1..].bytes().all(|b| b.is_ascii_digit());
        if self.numbers.contains(&user) || feature_code || self.extensions.contains(&user) {
            // RFC 3261 §8.2.3: a body we cannot read gets 415 with what we accept.
            let ctype = req.headers.get("Content-Type").unwrap_or("application/sdp");
            let sdp = ctype
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .eq_ignore_ascii_case("application/sdp");
            if !req.body.is_empty() && !sdp {
                let mut r = response_to(&req, 415, reason_phrase(415), &self.tag());
                r.headers.push("Accept", "application/sdp");
                return self.send_final(now, &key, r);
            }
            let tag = self.tag();
            self.sessions
                .on_invite(now, &mut self.tx, key, req, peer, tag);
            return;
        }
        // Never routed anywhere outside: unknown numbers end here.
        self.reply(now, &key, &req, 404, None)
    }

    /// Answers an incoming call; its media will be at `rtp`.
    pub fn accept_call(&mut self, now: Instant, call: CallRef, rtp: SocketAddr) {
        self.sessions.accept(now, &mut self.tx, call, rtp);
    }

    /// Refuses an incoming call with `code` (e.g. 486, 503).
    pub fn reject_call(&mut self, now: Instant, call: CallRef, code: u16) {
        self.sessions.reject(now, &mut self.tx, call, code);
    }

    /// Places an outgoing call (an agent's phone); see [`DialRequest`].
    pub fn dial(&mut self, now: Instant, req: super::session::DialRequest) -> CallRef {
        self.sessions.dial(now, &mut self.tx, req)
    }

    /// Hangs up a call from our side (CANCEL if it is still ringing).
    /// Reports a transfer's progress to the phone that sent the REFER (RFC 3515 §2.4.5).
    pub fn notify_transfer(&mut self, now: Instant, call: CallRef, code: u16, done: bool) {
        self.sessions
            .notify_refer(now, &mut self.tx, call, code, done);
    }

    /// The SIP Call-ID of an established call (for the call record).
    pub fn sip_call_id(&self, call: CallRef) -> Option<&str> {
        self.sessions.sip_call_id(call)
    }

    pub fn hangup_call(&mut self, now: Instant, call: CallRef) {
        self.sessions.hangup(now, &mut self.tx, call);
    }

    pub fn active_calls(&self) -> usize {
        self.sessions.len()
    }

    fn register(&mut self, now: Instant, key: &TxKey, req: &Request, peer: Peer) {
        let out = self.registrar.handle(now, req, peer);
        match out.refusal {
            None => {
                self.stats.registrations_ok += 1;
                info!(%peer, to = req.headers.get("To").unwrap_or(""), "registered");
            }
            Some(why) => {
                self.stats.registrations_refused += 1;
                // 401 is the normal first step of every registration; only log real refusals loudly.
                if out.response.code == 401 && why == "no credentials for our realm" {
                    debug!(%peer, "challenged");
                } else {
                    info!(%peer, code = out.response.code, why, "registration refused");
                }
            }
        }
        let mut r = out.response;
        fill_response(&mut r, req, &self.tag());
        self.send_final(now, key, r);
        if let Some(ext) = out.changed {
            self.binding_event(&ext);
        }
    }

    fn binding_event(&mut self, ext: &str) {
        let bindings = self.registrar.bindings(ext).to_vec();
        self.out.push_back(Output::Event(Event::BindingsChanged {
            extension: ext.to_string(),
            bindings,
        }));
    }

    /// §8.2.2.2: the same request arriving along two paths gets 482 on the second.
    fn is_merged(&mut self, now: Instant, key: &TxKey, req: &Request) -> bool {
        let to_has_tag = req.headers.get("To").is_some_and(|t| t.contains(";tag="));
        if to_has_tag || req.method == Method::Register {
            return false;
        }
        let from_tag = req
            .headers
            .get("From")
            .and_then(|f| NameAddr::parse(f).ok())
            .and_then(|n| n.tag().map(str::to_string));
        let cseq = req.headers.get("CSeq").and_then(|c| CSeq::parse(c).ok());
        let (Some(from_tag), Some(cseq)) = (from_tag, cseq) else {
            return false;
        };
        let id = (from_tag, req.call_id().to_string(), cseq.seq);
        if self.recent.len() > 50_000 {
            self.recent
                .retain(|_, (_, at)| now.duration_since(*at) < Duration::from_secs(32));
        }
        match self.recent.get(&id) {
            Some((k, at)) if k != key && now.duration_since(*at) < Duration::from_secs(32) => true,
            _ => {
                self.recent.insert(id, (key.clone(), now));
                false
            }
        }
    }

    fn reply(&mut self, now: Instant, key: &TxKey, req: &Request, code: u16, reason: Option<&str>) {
        let mut r = response_to(
            req,
            code,
            reason.unwrap_or(reason_phrase(code)),
            &self.tag(),
        );
        if matches!(code, 405 | 501) {
            r.headers.push("Allow", ALLOW);
        }
        self.send_final(now, key, r);
    }

    fn send_final(&mut self, now: Instant, key: &TxKey, mut r: Response) {
        self.finish_response(&mut r);
        self.tx.respond(now, key, &r);
    }

    fn finish_response(&self, r: &mut Response) {
        r.headers.push("Server", self.user_agent.clone());
    }

    fn handle_response(&mut self, now: Instant, resp: Response) {
        let Some((key, resp)) = self.tx.on_response(now, resp) else {
            self.stats.stray_responses += 1;
            debug!("response matching no transaction: dropped");
            return;
        };
        if self
            .sessions
            .on_invite_response(now, &mut self.tx, &key, &resp)
        {
            return;
        }
        if resp.code < 200 || self.sessions.on_bye_done(&key) {
            return;
        }
        if let Some((ext, contact)) = self.qualifying.remove(&key) {
            // Any final answer means the phone is alive (it may well refuse OPTIONS).
            if self.registrar.set_reachable(&ext, &contact, true) {
                info!(extension = %ext, %contact, "contact reachable again");
                self.out.push_back(Output::Event(Event::Reachability {
                    extension: ext,
                    contact,
                    reachable: true,
                }));
            }
        }
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.tx.handle_timeout(now);
        self.sessions.handle_timeout(now, &mut self.tx);
        self.drain_tx_events(now);
        for ext in self.registrar.handle_timeout(now) {
            info!(extension = %ext, "registration expired");
            self.binding_event(&ext);
        }
        if self.next_qualify.is_some_and(|q| q <= now) {
            self.next_qualify = Some(now + self.qualify_interval);
            self.qualify(now);
        }
    }

    fn drain_tx_events(&mut self, _now: Instant) {
        while let Some(ev) = self.tx.poll_event() {
            match ev {
                TxEvent::ClientTimeout(key) => {
                    self.sessions.on_bye_done(&key);
                    self.sessions.on_invite_timeout(&key);
                    if let Some((ext, contact)) = self.qualifying.remove(&key) {
                        if self.registrar.set_reachable(&ext, &contact, false) {
                            warn!(extension = %ext, %contact, "contact does not answer OPTIONS: unreachable");
                            self.out.push_back(Output::Event(Event::Reachability {
                                extension: ext,
                                contact,
                                reachable: false,
                            }));
                        }
                    }
                }
                TxEvent::ServerAckTimeout(key) => {
                    debug!(branch = %key.branch, "no ACK for final response")
                }
            }
        }
    }

    /// Sends an OPTIONS ping to every registered contact (qualify).
    fn qualify(&mut self, now: Instant) {
        let targets: Vec<(String, Binding)> = self
            .registrar
            .all_bindings()
            .flat_map(|(ext, list)| list.iter().map(move |b| (ext.clone(), b.clone())))
            .collect();
        // Contacts whose previous ping is still running (a set: one look-up
        // per binding, not a walk over every ping in flight).
        let running: HashSet<(String, String)> = self
            .qualifying
            .values()
            .map(|(e, c)| (e.clone(), c.clone()))
            .collect();
        for (ext, b) in targets {
            if running.contains(&(ext.clone(), b.contact.to_string())) {
                continue; // previous ping still running
            }
            let transport = if self.transports.contains(&b.source.transport) {
                b.source.transport
            } else {
                Transport::Udp
            };
            let mut req = Request::new(Method::Options, b.contact.clone());
            let branch = self.branch();
            let tag = self.tag();
            let h = &mut req.headers;
            h.push(
                "Via",
                format!("SIP/2.0/{} {};branch={branch};rport", transport, self.local),
            );
            h.push("Max-Forwards", "70");
            h.push(
                "From",
                format!("<sip:switchboard@{}>;tag={tag}", self.local),
            );
            h.push("To", format!("<{}>", b.contact));
            h.push("Call-ID", format!("{}@switchboard", self.token(16)));
            h.push("CSeq", "1 OPTIONS");
            h.push("User-Agent", self.user_agent.clone());
            if let Some(key) = self.tx.send_request(now, req, b.source) {
                self.qualifying.insert(key, (ext, b.contact));
            }
        }
    }

    fn token(&mut self, n: usize) -> String {
        const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
        (0..n)
            .map(|_| ALPHABET[self.rng.gen_range(0..ALPHABET.len())] as char)
            .collect()
    }

    fn tag(&mut self) -> String {
        self.token(10)
    }

    fn branch(&mut self) -> String {
        format!("z9hG4bK{}", self.token(16))
    }
}

/// Rewrites the first Via value (which may be one element of a comma list).
fn replace_top_via(req: &mut Request, old: &str, new: &str) {
    if let Some(first) = req.headers.get("Via").map(str::to_string) {
        let updated = first.replacen(old, new, 1);
        let mut rebuilt = super::message::Headers::new();
        let mut done = false;
        for h in req.headers.iter() {
            if !done && h.name == "Via" {
                rebuilt.push("Via", updated.clone());
                done = true;
            } else {
                rebuilt.push(h.name.clone(), h.value.clone());
            }
        }
        req.headers = rebuilt;
    }
}

/// A response to `req` per RFC 3261 §8.2.6: Via, From, Call-ID, CSeq copied,
/// To copied with our tag added when it has none (not on 100 Trying).
pub fn response_to(req: &Request, code: u16, reason: &str, to_tag: &str) -> Response {
    let mut r = Response::new(code, reason);
    fill_response(&mut r, req, to_tag);
    r
}

fn fill_response(r: &mut Response, req: &Request, to_tag: &str) {
    let mut h = super::message::Headers::new();
    h.copy_from(&req.headers, "Via");
    h.copy_from(&req.headers, "From");
    if let Some(to) = req.headers.get("To") {
        if r.code > 100 && !to_tag.is_empty() && !to.contains(";tag=") && !to.contains("; tag=") {
            h.push("To", format!("{to};tag={to_tag}"));
        } else {
            h.push("To", to);
        }
    }
    h.copy_from(&req.headers, "Call-ID");
    h.copy_from(&req.headers, "CSeq");
    for hdr in r.headers.iter() {
        h.push(hdr.name.clone(), hdr.value.clone());
    }
    r.headers = h;
}

#[cfg(test)]
mod tests;
