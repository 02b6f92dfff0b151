//! The registrar (RFC 3261 §10.3) for agent extensions, with digest
//! authentication (RFC 7616/8760) and a brake on password guessing.
//!
//! Sans-IO: [`Registrar::handle`] takes a REGISTER and `now` and returns the
//! response plus which address-of-record changed; the shell persists bindings.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::net::IpAddr;
use std::time::{Duration, Instant};

use super::digest::{self, Algorithm, Credentials, NonceCheck, NonceKeeper};
use super::headers::NameAddr;
use super::message::{Request, Response};
use super::transport::Peer;
use crate::config::{AgentConfig, DigestAlgorithm, RegistrarConfig};

/// One registered contact of an extension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// Contact URI as the phone sent it.
    pub contact: String,
    pub expires_at: Instant,
    pub call_id: String,
    pub cseq: u32,
    pub q: Option<String>,
    /// Where the REGISTER came from: requests to this phone go here (NAT-safe).
    pub source: Peer,
    /// RFC 5626 `+sip.instance`: the same device re-registering from a new address.
    pub instance: Option<String>,
    pub user_agent: Option<String>,
    /// Answered the last qualify OPTIONS (true until a ping fails).
    pub reachable: bool,
}

#[derive(Debug, Clone)]
struct Secret {
    md5: String,
    sha256: String,
    algorithms: Option<Vec<DigestAlgorithm>>,
}

#[derive(Debug, Default, Clone, Copy)]
struct Failures {
    count: u32,
    window_start: Option<Instant>,
    blocked_until: Option<Instant>,
}

/// Outcome of one REGISTER.
#[derive(Debug)]
pub struct Registered {
    pub response: Response,
    /// The extension whose bindings changed, if any.
    pub changed: Option<String>,
    /// Why the request was refused, for the log (never contains a password).
    pub refusal: Option<&'static str>,
}

pub struct Registrar {
    cfg: RegistrarConfig,
    realm: String,
    secrets: HashMap<String, Secret>,
    nonces: NonceKeeper,
    bindings: HashMap<String, Vec<Binding>>,
    expiries: BinaryHeap<Reverse<(Instant, String)>>,
    failures: HashMap<IpAddr, Failures>,
}

impl Registrar {
    pub fn new(
        cfg: RegistrarConfig,
        realm: &str,
        agents: &[AgentConfig],
        secret: [u8; 32],
        epoch: Instant,
    ) -> Self {
        let secrets = agents
            .iter()
            .map(|a| {
                let s = Secret {
                    md5: digest::ha1(Algorithm::Md5, &a.extension, realm, &a.password),
                    sha256: digest::ha1(Algorithm::Sha256, &a.extension, realm, &a.password),
                    algorithms: a.algorithms.clone(),
                };
                (a.extension.clone(), s)
            })
            .collect();
        Registrar {
            nonces: NonceKeeper::new(secret, epoch, cfg.nonce_lifetime),
            cfg,
            realm: realm.to_string(),
            secrets,
            bindings: HashMap::new(),
            expiries: BinaryHeap::new(),
            failures: HashMap::new(),
        }
    }

    pub fn bindings(&self, extension: &str) -> &[Binding] {
        self.bindings
            .get(extension)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    pub fn all_bindings(&self) -> impl Iterator<Item = (&String, &Vec<Binding>)> {
        self.bindings.iter()
    }

    /// Is any contact of this extension registered and answering?
    pub fn reachable(&self, extension: &str) -> bool {
        self.bindings(extension).iter().any(|b| b.reachable)
    }

    /// Reinstates bindings loaded from storage (after a restart).
    pub fn restore(&mut self, extension: &str, bindings: Vec<Binding>) {
        if !self.secrets.contains_key(extension) {
            return; // the extension was removed from the config
        }
        for b in &bindings {
            self.expiries
                .push(Reverse((b.expires_at, extension.to_string())));
        }
        self.bindings.insert(extension.to_string(), bindings);
    }

    /// Marks a contact reachable or not; returns true if that changed.
    pub fn set_reachable(&mut self, extension: &str, contact: &str, reachable: bool) -> bool {
        let Some(b) = self
            .bindings
            .get_mut(extension)
            .and_then(|v| v.iter_mut().find(|b| b.contact == contact))
        else {
            return false;
        };
        let changed = b.reachable != reachable;
        b.reachable = reachable;
        changed
    }

    /// A 401 with one challenge per algorithm. The extension being registered
    /// (the To user) may have its own list; unknown users get the default one.
    fn challenge(&mut self, now: Instant, stale: bool, req: &Request) -> Response {
        let mut r = Response::new(401, "Unauthorized");
        let user = req
            .headers
            .get("To")
            .and_then(|t| NameAddr::parse(t).ok())
            .and_then(|n| n.uri.user);
        let algorithms = user
            .and_then(|u| self.secrets.get(&u))
            .and_then(|s| s.algorithms.clone())
            .unwrap_or_else(|| self.cfg.algorithms.clone());
        for alg in algorithms {
            let alg = match alg {
                DigestAlgorithm::Md5 => Algorithm::Md5,
                DigestAlgorithm::Sha256 => Algorithm::Sha256,
            };
            let v = self.nonces.challenge(now, &self.realm, alg, stale);
            r.headers.push("WWW-Authenticate", v);
        }
        r
    }

    fn blocked(&mut self, now: Instant, ip: IpAddr) -> bool {
        let f = self.failures.entry(ip).or_default();
        match f.blocked_until {
            Some(until) if until > now => true,
            Some(_) => {
                *f = Failures::default();
                false
            }
            None => false,
        }
    }

    fn record_failure(&mut self, now: Instant, ip: IpAddr) {
        let window = self.cfg.auth_failures.window;
        let f = self.failures.entry(ip).or_default();
        if f.window_start
            .is_none_or(|s| now.duration_since(s) > window)
        {
            *f = Failures {
                count: 0,
                window_start: Some(now),
                blocked_until: None,
            };
        }
        f.count += 1;
        if self.cfg.auth_failures.max > 0 && f.count >= self.cfg.auth_failures.max {
            f.blocked_until = Some(now + self.cfg.auth_failures.block);
        }
        // Bound the table: a scan from many addresses must not grow it forever.
        if self.failures.len() > 100_000 {
            let block = self.cfg.auth_failures.block;
            self.failures.retain(|_, f| {
                f.blocked_until.is_some_and(|u| u > now)
                    || f.window_start
                        .is_some_and(|s| now.duration_since(s) < window.max(block))
            });
        }
    }

    /// Authenticates; on success returns the extension.
    fn authenticate(
        &mut self,
        now: Instant,
        req: &Request,
        ip: IpAddr,
    ) -> Result<String, (Response, &'static str)> {
        let creds: Vec<Credentials> = req
            .headers
            .get_all("Authorization")
            .filter_map(|v| Credentials::parse(v).ok())
            .collect();
        let Some(creds) = creds.into_iter().find(|c| c.realm == self.realm) else {
            return Err((
                self.challenge(now, false, req),
                "no credentials for our realm",
            ));
        };
        let nonce = self.nonces.check(now, &creds);
        if matches!(nonce, NonceCheck::Invalid | NonceCheck::Replay) {
            self.record_failure(now, ip);
            return Err((self.challenge(now, false, req), "invalid or replayed nonce"));
        }
        let known = self.secrets.get(&creds.username);
        let ha1 = match (known, creds.algorithm) {
            (Some(s), Algorithm::Md5 | Algorithm::Md5Sess) => s.md5.clone(),
            (Some(s), Algorithm::Sha256 | Algorithm::Sha256Sess) => s.sha256.clone(),
            // Unknown users are checked against a secret per-name HA1: same work, same answer.
            (None, alg) => self.nonces.dummy_ha1(alg, &creds.username, &self.realm),
        };
        let ok = digest::verify(&creds, req.method.as_str(), &ha1, &req.body) && known.is_some();
        if !ok {
            self.record_failure(now, ip);
            // Unknown user and wrong password get the same fresh challenge (no enumeration).
            return Err((self.challenge(now, false, req), "wrong credentials"));
        }
        if nonce == NonceCheck::Stale {
            // Right password, old nonce: RFC 7616 §3.3 says retry with stale=true.
            return Err((self.challenge(now, true, req), "stale nonce"));
        }
        self.failures.remove(&ip);
        Ok(creds.username)
    }

    /// Processes a REGISTER received from `source` (RFC 3261 §10.3).
    pub fn handle(&mut self, now: Instant, req: &Request, source: Peer) -> Registered {
        let ip = source.addr.ip();
        if self.blocked(now, ip) {
            return refuse(
                Response::new(403, "Forbidden"),
                "source blocked after repeated failures",
            );
        }
        let user = match self.authenticate(now, req, ip) {
            Ok(u) => u,
            Err((resp, why)) => return refuse(resp, why),
        };
        // §10.3 step 6: the authenticated user may only change its own bindings.
        let aor = req
            .headers
            .get("To")
            .and_then(|t| NameAddr::parse(t).ok())
            .and_then(|n| n.uri.user.clone());
        if aor.as_deref() != Some(user.as_str()) {
            return refuse(
                Response::new(403, "Forbidden"),
                "To does not match the authenticated user",
            );
        }
        let call_id = req.call_id().to_string();
        let cseq = req
            .headers
            .get("CSeq")
            .and_then(|c| super::headers::CSeq::parse(c).ok())
            .map(|c| c.seq)
            .unwrap_or(0);
        let header_expires = req
            .headers
            .get("Expires")
            .and_then(|e| e.trim().parse::<u64>().ok());
        let contacts = req.headers.values("Contact");

        // `Contact: *` removes everything, and only with Expires: 0 (§10.2.2).
        if contacts.contains(&"*") {
            if contacts.len() != 1 || header_expires != Some(0) {
                return refuse(
                    Response::new(400, "Bad Request"),
                    "Contact: * needs Expires: 0 and no other contact",
                );
            }
            let existing = self.bindings.remove(&user).unwrap_or_default();
            if existing
                .iter()
                .any(|b| b.call_id == call_id && b.cseq >= cseq)
            {
                self.bindings.insert(user.clone(), existing);
                return refuse(
                    Response::new(500, "Out of order CSeq"),
                    "CSeq not above the binding's",
                );
            }
            let changed = (!existing.is_empty()).then(|| user.clone());
            return Registered {
                response: self.ok(now, &user),
                changed,
                refusal: None,
            };
        }

        let mut updates = Vec::new();
        for c in &contacts {
            let Ok(na) = NameAddr::parse(c) else {
                return refuse(Response::new(400, "Bad Contact"), "malformed Contact");
            };
            let expires = na
                .params
                .get("expires")
                .flatten()
                .and_then(|e| e.parse::<u64>().ok())
                .or(header_expires)
                .map(Duration::from_secs)
                .unwrap_or(self.cfg.default_expires);
            if !expires.is_zero() && expires < self.cfg.min_expires {
                let mut r = Response::new(423, "Interval Too Brief");
                r.headers
                    .push("Min-Expires", self.cfg.min_expires.as_secs().to_string());
                return refuse(r, "expires below min_expires");
            }
            let instance = na.params.get("+sip.instance").flatten().map(str::to_string);
            updates.push((
                na.uri.to_string(),
                expires.min(self.cfg.max_expires),
                na.params.get("q").flatten().map(str::to_string),
                instance,
            ));
        }

        let list = self.bindings.entry(user.clone()).or_default();
        // §10.3 step 7: a replayed or reordered REGISTER must not undo a newer one.
        for (contact, ..) in &updates {
            if list
                .iter()
                .any(|b| &b.contact == contact && b.call_id == call_id && b.cseq >= cseq)
            {
                return refuse(
                    Response::new(500, "Out of order CSeq"),
                    "CSeq not above the binding's",
                );
            }
        }
        let mut changed = false;
        for (contact, expires, q, instance) in updates {
            list.retain(|b| {
                let same = b.contact == contact || (instance.is_some() && b.instance == instance);
                changed |= same;
                !same
            });
            if expires.is_zero() {
                continue;
            }
            changed = true;
            let expires_at = now + expires;
            self.expiries.push(Reverse((expires_at, user.clone())));
            list.push(Binding {
                contact,
                expires_at,
                call_id: call_id.clone(),
                cseq,
                q,
                source,
                instance,
                user_agent: req.headers.get("User-Agent").map(str::to_string),
                reachable: true,
            });
        }
        while list.len() > self.cfg.max_contacts {
            // Beyond the limit the binding closest to expiry goes.
            let oldest = list
                .iter()
                .enumerate()
                .min_by_key(|(_, b)| b.expires_at)
                .map(|(i, _)| i)
                .unwrap_or(0);
            list.remove(oldest);
        }
        if list.is_empty() {
            self.bindings.remove(&user);
        }
        Registered {
            response: self.ok(now, &user),
            changed: changed.then_some(user),
            refusal: None,
        }
    }

    /// 200 OK listing every current binding with its remaining time (§10.3 step 8).
    fn ok(&self, now: Instant, user: &str) -> Response {
        let mut r = Response::new(200, "OK");
        for b in self.bindings(user) {
            let left = b.expires_at.saturating_duration_since(now).as_secs();
            r.headers
                .push("Contact", format!("<{}>;expires={left}", b.contact));
        }
        r
    }

    /// Removes expired bindings; returns the extensions that changed.
    pub fn handle_timeout(&mut self, now: Instant) -> Vec<String> {
        let mut changed = Vec::new();
        while let Some(Reverse((at, _))) = self.expiries.peek() {
            if *at > now {
                break;
            }
            let Some(Reverse((_, ext))) = self.expiries.pop() else {
                break;
            };
            if let Some(list) = self.bindings.get_mut(&ext) {
                let before = list.len();
                list.retain(|b| b.expires_at > now);
                if list.len() != before {
                    changed.push(ext.clone());
                }
                if list.is_empty() {
                    self.bindings.remove(&ext);
                }
            }
        }
        changed.dedup();
        changed
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        self.expiries.peek().map(|Reverse((at, _))| *at)
    }
}

fn refuse(response: Response, why: &'static str) -> Registered {
    Registered {
        response,
        changed: None,
        refusal: Some(why),
    }
}

#[cfg(test)]
mod tests;
