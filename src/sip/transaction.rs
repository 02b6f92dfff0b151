//! The four RFC 3261 §17 transaction machines, with RFC 6026's Accepted
//! state, behind one [`TransactionLayer`].
//!
//! Sans-IO: every call takes `now`; sends come out of [`TransactionLayer::poll_transmit`],
//! notices for the transaction user (TU) out of [`TransactionLayer::poll_event`], and the
//! next deadline from [`TransactionLayer::poll_timeout`].
//!
//! Timers (RFC 3261 Table 4): A/E retransmit a request (UDP, doubling, E capped at T2);
//! B/F give up on a request (64·T1); D/K linger to absorb retransmitted responses;
//! G retransmits a final INVITE response (UDP); H gives up waiting for the ACK;
//! I absorbs ACK retransmissions; J absorbs request retransmissions; L/M keep an
//! accepted INVITE around for 2xx retransmissions (RFC 6026 §7.1).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::time::{Duration, Instant};

use super::headers::{CSeq, Via, MAGIC_COOKIE};
use super::message::{Headers, Method, Request, Response};
use super::transport::Peer;

#[derive(Debug, Clone, Copy)]
pub struct Timers {
    pub t1: Duration,
    pub t2: Duration,
    pub t4: Duration,
}

impl Default for Timers {
    fn default() -> Self {
        Timers {
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
            t4: Duration::from_secs(5),
        }
    }
}

/// Identifies a transaction (RFC 3261 §17.1.3 and §17.2.3).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TxKey {
    pub branch: String,
    pub sent_by: String,
    /// INVITE for INVITE and its ACK; otherwise the request method.
    pub method: Method,
}

impl TxKey {
    /// Server-side key of a request. Requests without the RFC 3261 magic
    /// cookie fall back to the RFC 2543 fields (§17.2.3).
    pub fn for_request(req: &Request) -> Option<TxKey> {
        let via = Via::parse(req.headers.values("Via").first()?).ok()?;
        let method = match req.method {
            Method::Ack => Method::Invite,
            ref m => m.clone(),
        };
        let branch = match via.branch() {
            Some(b) if b.starts_with(MAGIC_COOKIE) => b.to_string(),
            _ => {
                let h = &req.headers;
                let cseq = CSeq::parse(h.get("CSeq")?).ok()?;
                let from_tag = h
                    .get("From")
                    .and_then(|f| f.split(";tag=").nth(1))
                    .unwrap_or("");
                // The To tag is left out: an ACK carries the tag of our response.
                format!(
                    "2543|{}|{}|{}|{}|{}",
                    req.uri,
                    from_tag,
                    h.get("Call-ID")?,
                    cseq.seq,
                    via
                )
            }
        };
        Some(TxKey {
            branch,
            sent_by: via.sent_by(),
            method,
        })
    }

    /// Client-side key of a response: top Via branch and CSeq method.
    pub fn for_response(resp: &Response) -> Option<TxKey> {
        let via = Via::parse(resp.headers.values("Via").first()?).ok()?;
        let cseq = CSeq::parse(resp.headers.get("CSeq")?).ok()?;
        Some(TxKey {
            branch: via.branch()?.to_string(),
            sent_by: via.sent_by(),
            method: cseq.method,
        })
    }
}

/// Something the TU must know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxEvent {
    /// Timer B or F fired, or the transport failed: treat as a 408 (RFC 3261 §8.1.3.1).
    ClientTimeout(TxKey),
    /// Timer H fired: the final non-2xx INVITE response was never acknowledged.
    ServerAckTimeout(TxKey),
}

/// A message to put on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    pub dest: Peer,
    pub bytes: Vec<u8>,
}

/// What the layer made of an incoming request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    /// New request: a server transaction exists under this key; the TU answers it with [`TransactionLayer::respond`].
    Request(TxKey),
    /// ACK matching no INVITE server transaction: an ACK for a 2xx, for the dialog.
    Ack,
    /// A new CANCEL; `invite` is the INVITE transaction it cancels, if any is still live.
    Cancel {
        cancel: TxKey,
        invite: Option<TxKey>,
    },
    /// A retransmission or an ACK for a non-2xx: handled here.
    Absorbed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Trying,
    Calling,
    Proceeding,
    Completed,
    Confirmed,
    Accepted,
}

#[derive(Debug)]
struct ServerTx {
    invite: bool,
    state: State,
    dest: Peer,
    last_response: Option<Vec<u8>>,
    /// Timer G: next retransmission and its interval.
    retransmit: Option<(Instant, Duration)>,
    /// Timer H, I, J or L, whichever the state uses.
    end: Option<Instant>,
    scheduled: Option<Instant>,
}

#[derive(Debug)]
struct ClientTx {
    invite: bool,
    state: State,
    dest: Peer,
    request: Request,
    bytes: Vec<u8>,
    /// Timer A or E.
    retransmit: Option<(Instant, Duration)>,
    /// Timer B or F (give up), or D, K, M (linger).
    end: Option<Instant>,
    ack: Option<Vec<u8>>,
    scheduled: Option<Instant>,
}

fn min_opt(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, None) => a,
        (None, b) => b,
    }
}

impl ServerTx {
    fn deadline(&self) -> Option<Instant> {
        min_opt(self.retransmit.map(|r| r.0), self.end)
    }
}

impl ClientTx {
    fn deadline(&self) -> Option<Instant> {
        min_opt(self.retransmit.map(|r| r.0), self.end)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Side {
    Server,
    Client,
}

/// All transactions of one endpoint.
#[derive(Debug, Default)]
pub struct TransactionLayer {
    timers: Timers,
    server: HashMap<TxKey, ServerTx>,
    client: HashMap<TxKey, ClientTx>,
    wheel: BinaryHeap<Reverse<(Instant, u64, Side, TxKey)>>,
    seq: u64,
    transmits: VecDeque<Transmit>,
    events: VecDeque<TxEvent>,
}

impl PartialOrd for TxKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for TxKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (&self.branch, &self.sent_by, self.method.as_str()).cmp(&(
            &other.branch,
            &other.sent_by,
            other.method.as_str(),
        ))
    }
}

impl TransactionLayer {
    pub fn new(timers: Timers) -> Self {
        TransactionLayer {
            timers,
            ..Default::default()
        }
    }

    pub fn server_count(&self) -> usize {
        self.server.len()
    }

    pub fn client_count(&self) -> usize {
        self.client.len()
    }

    fn schedule(&mut self, side: Side, key: &TxKey) {
        let (deadline, scheduled) = match side {
            Side::Server => match self.server.get_mut(key) {
                Some(t) => (t.deadline(), &mut t.scheduled),
                None => return,
            },
            Side::Client => match self.client.get_mut(key) {
                Some(t) => (t.deadline(), &mut t.scheduled),
                None => return,
            },
        };
        if let Some(d) = deadline {
            if scheduled.is_none_or(|s| d < s) {
                *scheduled = Some(d);
                self.seq += 1;
                self.wheel.push(Reverse((d, self.seq, side, key.clone())));
            }
        }
    }

    fn send(&mut self, dest: Peer, bytes: Vec<u8>) {
        self.transmits.push_back(Transmit { dest, bytes });
    }

    /// Feeds a received request. `reply_to` is where responses go (RFC 3261 §18.2.2).
    pub fn on_request(&mut self, now: Instant, req: &Request, reply_to: Peer) -> Incoming {
        let Some(key) = TxKey::for_request(req) else {
            return Incoming::Absorbed;
        };
        if let Some(tx) = self.server.get_mut(&key) {
            if req.method == Method::Ack {
                if tx.invite && tx.state == State::Completed {
                    // RFC 3261 §17.2.1: the ACK for our non-2xx final response.
                    tx.state = State::Confirmed;
                    tx.retransmit = None;
                    tx.end = Some(
                        now + if tx.dest.transport.reliable() {
                            Duration::ZERO
                        } else {
                            self.timers.t4
                        },
                    );
                    self.schedule(Side::Server, &key);
                    return Incoming::Absorbed;
                }
                if tx.state == State::Accepted || tx.state == State::Confirmed {
                    // RFC 6026: an ACK for a 2xx goes to the TU even if it matches.
                    return if tx.state == State::Accepted {
                        Incoming::Ack
                    } else {
                        Incoming::Absorbed
                    };
                }
                return Incoming::Absorbed;
            }
            // A retransmitted request: repeat the last response, if any (§17.2.1, §17.2.2).
            if matches!(tx.state, State::Proceeding | State::Completed) {
                if let Some(bytes) = tx.last_response.clone() {
                    let dest = tx.dest;
                    self.send(dest, bytes);
                }
            }
            return Incoming::Absorbed;
        }
        if req.method == Method::Ack {
            return Incoming::Ack;
        }
        let invite = req.method == Method::Invite;
        let tx = ServerTx {
            invite,
            state: if invite {
                State::Proceeding
            } else {
                State::Trying
            },
            dest: reply_to,
            last_response: None,
            retransmit: None,
            end: None,
            scheduled: None,
        };
        self.server.insert(key.clone(), tx);
        if req.method == Method::Cancel {
            let inv = TxKey {
                method: Method::Invite,
                ..key.clone()
            };
            let live = self
                .server
                .get(&inv)
                .is_some_and(|t| t.state == State::Proceeding);
            return Incoming::Cancel {
                cancel: key,
                invite: live.then_some(inv),
            };
        }
        Incoming::Request(key)
    }

    /// Whether an INVITE server transaction still waits for its final response.
    pub fn is_proceeding(&self, key: &TxKey) -> bool {
        self.server
            .get(key)
            .is_some_and(|t| t.state == State::Proceeding || t.state == State::Trying)
    }

    /// Sends a response through the server transaction `key`. Returns false if
    /// the transaction is gone or already answered finally (the response is dropped).
    pub fn respond(&mut self, now: Instant, key: &TxKey, resp: &Response) -> bool {
        let timers = self.timers;
        let Some(tx) = self.server.get_mut(key) else {
            return false;
        };
        if !matches!(tx.state, State::Trying | State::Proceeding) {
            return false;
        }
        let bytes = resp.to_bytes();
        let reliable = tx.dest.transport.reliable();
        let dest = tx.dest;
        if resp.code < 200 {
            tx.state = State::Proceeding;
        } else if tx.invite && resp.code < 300 {
            // RFC 6026 §7.1: Accepted; the TU retransmits the 2xx until the ACK.
            tx.state = State::Accepted;
            tx.end = Some(now + 64 * timers.t1);
        } else if tx.invite {
            tx.state = State::Completed;
            if !reliable {
                tx.retransmit = Some((now + timers.t1, timers.t1));
            }
            tx.end = Some(now + 64 * timers.t1);
        } else {
            tx.state = State::Completed;
            tx.end = Some(
                now + if reliable {
                    Duration::ZERO
                } else {
                    64 * timers.t1
                },
            );
        }
        tx.last_response = Some(bytes.clone());
        self.send(dest, bytes);
        self.schedule(Side::Server, key);
        true
    }

    /// Starts a client transaction for `req` (its top Via must carry a fresh branch).
    pub fn send_request(&mut self, now: Instant, req: Request, dest: Peer) -> Option<TxKey> {
        let via = Via::parse(req.headers.values("Via").first()?).ok()?;
        let key = TxKey {
            branch: via.branch()?.to_string(),
            sent_by: via.sent_by(),
            method: req.method.clone(),
        };
        let invite = req.method == Method::Invite;
        let bytes = req.to_bytes();
        let t1 = self.timers.t1;
        let tx = ClientTx {
            invite,
            state: if invite {
                State::Calling
            } else {
                State::Trying
            },
            dest,
            request: req,
            bytes: bytes.clone(),
            retransmit: (!dest.transport.reliable()).then_some((now + t1, t1)),
            end: Some(now + 64 * t1),
            ack: None,
            scheduled: None,
        };
        self.client.insert(key.clone(), tx);
        self.send(dest, bytes);
        self.schedule(Side::Client, &key);
        Some(key)
    }

    /// Feeds a received response. Returns it with its transaction key if the TU should see it.
    pub fn on_response(&mut self, now: Instant, resp: Response) -> Option<(TxKey, Response)> {
        let key = TxKey::for_response(&resp)?;
        let timers = self.timers;
        let tx = self.client.get_mut(&key)?;
        let reliable = tx.dest.transport.reliable();
        match (tx.invite, tx.state, resp.code) {
            (_, State::Calling | State::Trying | State::Proceeding, 100..=199) => {
                if tx.invite {
                    tx.retransmit = None; // Timer A stops in Proceeding.
                    tx.end = None; // Timer B only runs in Calling.
                } else if let Some((_, _)) = tx.retransmit {
                    tx.retransmit = Some((now + timers.t2, timers.t2)); // §17.1.2.2: E at T2.
                }
                tx.state = State::Proceeding;
            }
            (true, State::Calling | State::Proceeding, 200..=299) => {
                tx.state = State::Accepted;
                tx.retransmit = None;
                tx.end = Some(now + 64 * timers.t1); // Timer M
            }
            (true, State::Accepted, 200..=299) => {} // 2xx retransmission or fork: TU ACKs it.
            (true, State::Calling | State::Proceeding, _) => {
                let ack = ack_for_non2xx(&tx.request, &resp).to_bytes();
                tx.state = State::Completed;
                tx.retransmit = None;
                tx.end = Some(
                    now + if reliable {
                        Duration::ZERO
                    } else {
                        Duration::from_secs(32)
                    },
                ); // Timer D
                tx.ack = Some(ack.clone());
                let dest = tx.dest;
                self.send(dest, ack);
                self.schedule(Side::Client, &key);
                return Some((key, resp));
            }
            (true, State::Completed, 300..) => {
                if let Some(ack) = tx.ack.clone() {
                    let dest = tx.dest;
                    self.send(dest, ack);
                }
                return None;
            }
            (false, State::Trying | State::Proceeding, 200..) => {
                tx.state = State::Completed;
                tx.retransmit = None;
                tx.end = Some(now + if reliable { Duration::ZERO } else { timers.t4 });
                // Timer K
            }
            _ => return None,
        }
        self.schedule(Side::Client, &key);
        Some((key, resp))
    }

    /// The request a client transaction sent (for building CANCEL or an auth retry).
    pub fn client_request(&self, key: &TxKey) -> Option<&Request> {
        self.client.get(key).map(|t| &t.request)
    }

    /// Fails every client transaction towards `peer` (connection refused or closed).
    pub fn transport_error(&mut self, peer: Peer) {
        let dead: Vec<TxKey> = self
            .client
            .iter()
            .filter(|(_, t)| {
                t.dest == peer
                    && matches!(t.state, State::Calling | State::Trying | State::Proceeding)
            })
            .map(|(k, _)| k.clone())
            .collect();
        for k in dead {
            self.client.remove(&k);
            self.events.push_back(TxEvent::ClientTimeout(k));
        }
    }

    /// Runs every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(Reverse((at, _, _, _))) = self.wheel.peek() {
            if *at > now {
                break;
            }
            let Some(Reverse((at, _, side, key))) = self.wheel.pop() else {
                break;
            };
            match side {
                Side::Server => self.fire_server(now, at, &key),
                Side::Client => self.fire_client(now, at, &key),
            }
        }
    }

    fn fire_server(&mut self, now: Instant, at: Instant, key: &TxKey) {
        let t2 = self.timers.t2;
        let Some(tx) = self.server.get_mut(key) else {
            return;
        };
        if tx.scheduled != Some(at) {
            return; // superseded entry
        }
        tx.scheduled = None;
        if tx.end.is_some_and(|e| e <= now) {
            let timed_out_waiting_ack = tx.invite && tx.state == State::Completed;
            self.server.remove(key);
            if timed_out_waiting_ack {
                self.events
                    .push_back(TxEvent::ServerAckTimeout(key.clone()));
            }
            return;
        }
        if let Some((due, interval)) = tx.retransmit {
            if due <= now {
                // Timer G doubles up to T2 (§17.2.1).
                let next = (interval * 2).min(t2);
                tx.retransmit = Some((now + next, next));
                if let Some(bytes) = tx.last_response.clone() {
                    let dest = tx.dest;
                    self.send(dest, bytes);
                }
            }
        }
        self.schedule(Side::Server, key);
    }

    fn fire_client(&mut self, now: Instant, at: Instant, key: &TxKey) {
        let t2 = self.timers.t2;
        let Some(tx) = self.client.get_mut(key) else {
            return;
        };
        if tx.scheduled != Some(at) {
            return;
        }
        tx.scheduled = None;
        if tx.end.is_some_and(|e| e <= now) {
            let timed_out = matches!(tx.state, State::Calling | State::Trying | State::Proceeding);
            self.client.remove(key);
            if timed_out {
                self.events.push_back(TxEvent::ClientTimeout(key.clone()));
            }
            return;
        }
        if let Some((due, interval)) = tx.retransmit {
            if due <= now {
                // Timer A doubles without a cap; Timer E is capped at T2 (§17.1.2.2).
                let next = if tx.invite {
                    interval * 2
                } else {
                    (interval * 2).min(t2)
                };
                tx.retransmit = Some((now + next, next));
                let (dest, bytes) = (tx.dest, tx.bytes.clone());
                self.send(dest, bytes);
            }
        }
        self.schedule(Side::Client, key);
    }

    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    pub fn poll_event(&mut self) -> Option<TxEvent> {
        self.events.pop_front()
    }

    /// The earliest timer. May be a little early (superseded entries); that only costs a wake-up.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.wheel.peek().map(|Reverse((at, ..))| *at)
    }
}

/// RFC 3261 §17.1.1.3: the ACK for a non-2xx final response, built by the transaction.
pub fn ack_for_non2xx(req: &Request, resp: &Response) -> Request {
    let mut ack = Request::new(Method::Ack, req.uri.clone());
    let mut h = Headers::new();
    if let Some(v) = req.headers.values("Via").first() {
        h.push("Via", *v);
    }
    h.push("Max-Forwards", "70");
    h.copy_from(&req.headers, "From");
    h.copy_from(&resp.headers, "To");
    h.copy_from(&req.headers, "Call-ID");
    let seq = req
        .headers
        .get("CSeq")
        .and_then(|c| CSeq::parse(c).ok())
        .map(|c| c.seq)
        .unwrap_or(1);
    h.push("CSeq", format!("{seq} ACK"));
    h.copy_from(&req.headers, "Route");
    ack.headers = h;
    ack
}

#[cfg(test)]
mod tests;
