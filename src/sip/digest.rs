//! Server-side HTTP Digest authentication for SIP (RFC 3261 §22.4, RFC 2617,
//! RFC 7616, RFC 8760). Sans-IO: the caller passes `now`, nothing reads a clock.
//!
//! We do not use rsip's digest helper: it parses `nc` as decimal `u8`, gets
//! `-sess` and `auth-int` wrong, lacks `SHA-256` and compares with `==`
//! (docs: crates.md §3).
//!
//! Flow for a request carrying credentials:
//! 1. [`Credentials::parse`] the header value; a parse error is answered with a
//!    fresh challenge (or 400).
//! 2. The caller checks `creds.realm` is its own realm, then [`NonceKeeper::check`].
//! 3. Look up HA1 for `(username, realm, algorithm)`; for an unknown user use
//!    [`NonceKeeper::dummy_ha1`], so the answer and work are those of a wrong password.
//! 4. [`verify`]. On `Stale` + a correct response, re-challenge with `stale=true`
//!    (RFC 7616 §3.3) so the client retries without asking the user.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use md5::{Digest, Md5};
use sha2::Sha256;
use subtle::ConstantTimeEq;

#[cfg(test)]
mod tests;

/// Default bound on the replay table: ~100k nonces in use at once (a few MB).
pub const DEFAULT_REPLAY_CAPACITY: usize = 100_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Algorithm {
    /// Absent `algorithm=` means MD5 (RFC 2617 §3.2.1).
    #[default]
    Md5,
    Md5Sess,
    Sha256,
    Sha256Sess,
}

impl Algorithm {
    pub fn parse(token: &str) -> Option<Algorithm> {
        [Self::Md5, Self::Md5Sess, Self::Sha256, Self::Sha256Sess]
            .into_iter()
            .find(|a| a.as_str().eq_ignore_ascii_case(token))
    }

    /// Tokens from the IANA registry (RFC 7616 §6.1); note `SHA-256`, not rsip's `SHA256`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Md5 => "MD5",
            Self::Md5Sess => "MD5-sess",
            Self::Sha256 => "SHA-256",
            Self::Sha256Sess => "SHA-256-sess",
        }
    }

    pub fn is_sess(&self) -> bool {
        matches!(self, Self::Md5Sess | Self::Sha256Sess)
    }

    fn digest_len(&self) -> usize {
        match self {
            Self::Md5 | Self::Md5Sess => 16,
            Self::Sha256 | Self::Sha256Sess => 32,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DigestError {
    #[error("authorization scheme is not Digest")]
    NotDigest,
    #[error("malformed digest parameters: {0}")]
    Syntax(&'static str),
    #[error("missing digest parameter {0}")]
    Missing(&'static str),
    #[error("digest parameter {0} given twice")]
    Duplicate(String),
    #[error("unsupported digest algorithm {0:?}")]
    Algorithm(String),
    #[error("nc must be 8 hex digits, got {0:?}")]
    Nc(String),
}

/// Parsed `Authorization` / `Proxy-Authorization` value. All strings are unquoted
/// and unescaped; `uri` is verbatim (the response is computed over the raw text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub realm: String,
    pub nonce: String,
    pub uri: String,
    pub response: String,
    pub algorithm: Algorithm,
    pub qop: Option<String>,
    pub cnonce: Option<String>,
    pub nc: Option<u32>,
    pub opaque: Option<String>,
}

impl Credentials {
    pub fn parse(header_value: &str) -> Result<Credentials, DigestError> {
        let mut params = parse_params(header_value)?;
        let mut take = |name: &'static str| {
            params
                .iter()
                .position(|(k, _)| k == name)
                .map(|i| params.swap_remove(i).1)
        };
        let (username, realm, nonce, uri, response) = (
            take("username"),
            take("realm"),
            take("nonce"),
            take("uri"),
            take("response"),
        );
        let algorithm = match take("algorithm") {
            None => Algorithm::Md5,
            Some(a) => Algorithm::parse(&a).ok_or(DigestError::Algorithm(a))?,
        };
        let (qop, cnonce, nc, opaque) = (take("qop"), take("cnonce"), take("nc"), take("opaque"));
        // nc is 8LHEX (RFC 2617 §3.2.2); decimal parsing is rsip's bug. Upper-case
        // is accepted here but the digest is over lower-case hex, as the RFC says.
        let nc = match nc {
            None => None,
            Some(s) if s.len() == 8 && s.bytes().all(|b| b.is_ascii_hexdigit()) => {
                Some(u32::from_str_radix(&s, 16).map_err(|_| DigestError::Nc(s))?)
            }
            Some(s) => return Err(DigestError::Nc(s)),
        };
        // With qop, cnonce and nc are mandatory (RFC 7616 §3.4).
        if qop.is_some() {
            cnonce.as_ref().ok_or(DigestError::Missing("cnonce"))?;
            nc.ok_or(DigestError::Missing("nc"))?;
        }
        Ok(Credentials {
            username: username.ok_or(DigestError::Missing("username"))?,
            realm: realm.ok_or(DigestError::Missing("realm"))?,
            nonce: nonce.ok_or(DigestError::Missing("nonce"))?,
            uri: uri.ok_or(DigestError::Missing("uri"))?,
            response: response.ok_or(DigestError::Missing("response"))?,
            algorithm,
            qop,
            cnonce,
            nc,
            opaque,
        })
    }
}

/// `Digest name=value, name="quoted", ...` -> lower-cased names with unquoted values.
/// Whitespace includes CR/LF so unfolded and folded headers both parse.
fn parse_params(s: &str) -> Result<Vec<(String, String)>, DigestError> {
    let is_ws = |c: char| matches!(c, ' ' | '\t' | '\r' | '\n');
    let s = s.trim_start_matches(is_ws);
    let end = s.find(is_ws).unwrap_or(s.len());
    if !s[..end].eq_ignore_ascii_case("digest") {
        return Err(DigestError::NotDigest);
    }
    let mut out: Vec<(String, String)> = Vec::new();
    let mut it = s[end..].chars().peekable();
    loop {
        while it.next_if(|&c| is_ws(c) || c == ',').is_some() {}
        if it.peek().is_none() {
            return Ok(out);
        }
        let mut name = String::new();
        while let Some(c) =
            it.next_if(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(*c))
        {
            name.push(c.to_ascii_lowercase());
        }
        while it.next_if(|&c| is_ws(c)).is_some() {}
        if name.is_empty() || it.next() != Some('=') {
            return Err(DigestError::Syntax("expected name="));
        }
        while it.next_if(|&c| is_ws(c)).is_some() {}
        let mut value = String::new();
        if it.next_if_eq(&'"').is_some() {
            // quoted-string with quoted-pair escapes (RFC 7230 §3.2.6).
            loop {
                match it.next() {
                    None => return Err(DigestError::Syntax("unterminated quoted string")),
                    Some('"') => break,
                    Some('\\') => {
                        value.push(it.next().ok_or(DigestError::Syntax("dangling escape"))?)
                    }
                    Some(c) => value.push(c),
                }
            }
        } else {
            while let Some(c) = it.next_if(|&c| !is_ws(c) && c != ',' && c != '"') {
                value.push(c);
            }
            if value.is_empty() {
                return Err(DigestError::Syntax("empty value"));
            }
        }
        while it.next_if(|&c| is_ws(c)).is_some() {}
        if !matches!(it.peek(), None | Some(',')) {
            return Err(DigestError::Syntax("expected comma"));
        }
        // Each directive at most once: two `uri`s could be read differently by two layers.
        if out.iter().any(|(k, _)| *k == name) {
            return Err(DigestError::Duplicate(name));
        }
        out.push((name, value));
    }
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// H(p1:p2:...) as lowercase hex, H per the algorithm (RFC 7616 §3.4.1).
fn hash(alg: Algorithm, parts: &[&[u8]]) -> String {
    fn run<D: Digest>(parts: &[&[u8]]) -> String {
        let mut d = D::new();
        for (i, p) in parts.iter().enumerate() {
            if i > 0 {
                d.update(b":");
            }
            d.update(p);
        }
        hex(&d.finalize())
    }
    match alg {
        Algorithm::Md5 | Algorithm::Md5Sess => run::<Md5>(parts),
        Algorithm::Sha256 | Algorithm::Sha256Sess => run::<Sha256>(parts),
    }
}

/// HA1 = H(username:realm:password), lowercase hex. For `-sess` this is the
/// stored base value; the session key is derived per request in [`response`].
pub fn ha1(alg: Algorithm, username: &str, realm: &str, password: &str) -> String {
    hash(
        alg,
        &[username.as_bytes(), realm.as_bytes(), password.as_bytes()],
    )
}

/// The request-digest (RFC 2617 §3.2.2.1, RFC 7616 §3.4.1), for client and server.
/// `ha1` is the base HA1 from [`ha1`] even for `-sess` algorithms.
#[allow(clippy::too_many_arguments)]
pub fn response(
    alg: Algorithm,
    ha1: &str,
    nonce: &str,
    cnonce: Option<&str>,
    nc: Option<u32>,
    qop: Option<&str>,
    method: &str,
    uri: &str,
    body: &[u8],
) -> String {
    let cnonce = cnonce.unwrap_or("").as_bytes();
    // -sess: HA1' = H(HA1:nonce:cnonce) with HA1 in hex (RFC 7616 §3.4.2).
    let key = if alg.is_sess() {
        hash(alg, &[ha1.as_bytes(), nonce.as_bytes(), cnonce])
    } else {
        ha1.to_owned()
    };
    // auth-int: HA2 = H(method:uri:H(body)) (RFC 7616 §3.4.3).
    let ha2 = match qop {
        Some(q) if q.eq_ignore_ascii_case("auth-int") => {
            let hb = hash(alg, &[body]);
            hash(alg, &[method.as_bytes(), uri.as_bytes(), hb.as_bytes()])
        }
        _ => hash(alg, &[method.as_bytes(), uri.as_bytes()]),
    };
    match qop {
        // RFC 2069 compatibility: no nc/cnonce.
        None => hash(alg, &[key.as_bytes(), nonce.as_bytes(), ha2.as_bytes()]),
        Some(q) => {
            let nc = format!("{:08x}", nc.unwrap_or(0));
            let parts: [&[u8]; 6] = [
                key.as_bytes(),
                nonce.as_bytes(),
                nc.as_bytes(),
                cnonce,
                q.as_bytes(),
                ha2.as_bytes(),
            ];
            hash(alg, &parts)
        }
    }
}

/// Checks the response digest in constant time. Does the same work whatever the
/// outcome, so a dummy HA1 for an unknown user is indistinguishable from a wrong password.
pub fn verify(creds: &Credentials, method: &str, ha1: &str, body: &[u8]) -> bool {
    let qop_ok = match creds.qop.as_deref() {
        None => true,
        Some(q) => {
            (q.eq_ignore_ascii_case("auth") || q.eq_ignore_ascii_case("auth-int"))
                && creds.cnonce.is_some()
                && creds.nc.is_some()
        }
    };
    let sess_ok = !creds.algorithm.is_sess() || creds.cnonce.is_some();
    let expected = response(
        creds.algorithm,
        ha1,
        &creds.nonce,
        creds.cnonce.as_deref(),
        creds.nc,
        creds.qop.as_deref(),
        method,
        &creds.uri,
        body,
    );
    let given = creds.response.to_ascii_lowercase();
    let same: bool = expected.as_bytes().ct_eq(given.as_bytes()).into();
    same & qop_ok & sess_ok
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonceCheck {
    Valid,
    /// Authentic but past its lifetime: re-challenge with `stale=true` (RFC 7616 §3.3).
    Stale,
    /// Forged, garbled, wrong opaque, or issued for another realm.
    Invalid,
    /// `nc` not above the highest seen for this nonce (RFC 7616 §3.4.5).
    Replay,
}

/// Issues and validates nonces without storing them: a nonce is
/// `hex(issue_ms ‖ serial ‖ HMAC-SHA256(secret, issue_ms ‖ serial ‖ realm)[..16])`.
/// Only nonces used with qop enter the replay table (nonce -> highest nc), which is
/// pruned by age and capped, oldest first, so a flood cannot exhaust memory.
pub struct NonceKeeper {
    secret: [u8; 32],
    epoch: Instant,
    lifetime: Duration,
    serial: u64,
    capacity: usize,
    /// (issue_ms, serial) -> highest nc; ordered, so the oldest is `first`.
    seen: BTreeMap<(u64, u64), u32>,
}

impl NonceKeeper {
    /// `secret` should be fresh per process: nonce times are relative to `epoch`.
    pub fn new(secret: [u8; 32], epoch: Instant, lifetime: Duration) -> Self {
        NonceKeeper {
            secret,
            epoch,
            lifetime,
            serial: 0,
            capacity: DEFAULT_REPLAY_CAPACITY,
            seen: BTreeMap::new(),
        }
    }

    pub fn with_replay_capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity.max(1);
        self
    }

    /// A `WWW-Authenticate` / `Proxy-Authenticate` value. For RFC 8760 the caller
    /// may send several (SHA-256 first, then MD5), one call each.
    pub fn challenge(&mut self, now: Instant, realm: &str, alg: Algorithm, stale: bool) -> String {
        self.serial = self.serial.wrapping_add(1);
        let t = self.ms(now);
        let mac = self.nonce_mac(t, self.serial, realm);
        let nonce = format!(
            "{}{}{}",
            hex(&t.to_be_bytes()),
            hex(&self.serial.to_be_bytes()),
            hex(&mac[..16])
        );
        let mut s = format!(
            "Digest realm=\"{}\", nonce=\"{nonce}\", opaque=\"{}\", algorithm={}, qop=\"auth\"",
            quote(realm),
            self.opaque(realm),
            alg.as_str()
        );
        if stale {
            s.push_str(", stale=true");
        }
        s
    }

    /// Validates the nonce (and opaque) in `creds` and records its `nc`.
    /// Independent of the username, so it reveals nothing about which users exist.
    pub fn check(&mut self, now: Instant, creds: &Credentials) -> NonceCheck {
        let Some((t, serial, mac)) = decode_nonce(&creds.nonce) else {
            return NonceCheck::Invalid;
        };
        let expected = self.nonce_mac(t, serial, &creds.realm);
        if !bool::from(expected[..16].ct_eq(&mac)) {
            return NonceCheck::Invalid;
        }
        // Clients must echo opaque (RFC 7616 §3.3); RFC 2069 clients may omit it.
        if creds
            .opaque
            .as_ref()
            .is_some_and(|o| *o != self.opaque(&creds.realm))
        {
            return NonceCheck::Invalid;
        }
        let now_ms = self.ms(now);
        let life_ms = u64::try_from(self.lifetime.as_millis()).unwrap_or(u64::MAX);
        while let Some((&(issued, _), _)) = self.seen.first_key_value() {
            if now_ms.saturating_sub(issued) <= life_ms {
                break;
            }
            self.seen.pop_first();
        }
        // A time after `now` can only come from an earlier process sharing the secret.
        if t > now_ms || now_ms - t > life_ms {
            return NonceCheck::Stale;
        }
        // Without qop (RFC 2069) there is no nc: accept within the lifetime.
        if creds.qop.is_none() {
            return NonceCheck::Valid;
        }
        let Some(nc) = creds.nc else {
            return NonceCheck::Invalid;
        };
        if let Some(max) = self.seen.get_mut(&(t, serial)) {
            if nc <= *max {
                return NonceCheck::Replay;
            }
            *max = nc;
            return NonceCheck::Valid;
        }
        if nc == 0 {
            return NonceCheck::Replay;
        }
        while self.seen.len() >= self.capacity {
            self.seen.pop_first();
        }
        self.seen.insert((t, serial), nc);
        NonceCheck::Valid
    }

    /// A per-user secret HA1 for users that do not exist: stable (retries look like
    /// a fixed wrong password) and unguessable (a constant dummy would be a backdoor).
    pub fn dummy_ha1(&self, alg: Algorithm, username: &str, realm: &str) -> String {
        let mac = self.mac(&[
            b"dummy-ha1",
            alg.as_str().as_bytes(),
            username.as_bytes(),
            realm.as_bytes(),
        ]);
        hex(&mac[..alg.digest_len()])
    }

    fn ms(&self, now: Instant) -> u64 {
        u64::try_from(now.saturating_duration_since(self.epoch).as_millis()).unwrap_or(u64::MAX)
    }

    fn nonce_mac(&self, t: u64, serial: u64, realm: &str) -> [u8; 32] {
        self.mac(&[
            b"nonce",
            &t.to_be_bytes(),
            &serial.to_be_bytes(),
            realm.as_bytes(),
        ])
    }

    fn opaque(&self, realm: &str) -> String {
        hex(&self.mac(&[b"opaque", realm.as_bytes()])[..8])
    }

    /// HMAC over length-prefixed parts, so field boundaries cannot be shifted.
    fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut m = <Hmac<Sha256> as Mac>::new_from_slice(&self.secret)
            .expect("HMAC takes keys of any length");
        for p in parts {
            m.update(&(p.len() as u64).to_be_bytes());
            m.update(p);
        }
        m.finalize().into_bytes().into()
    }
}

/// Escapes `"` and `\` for a quoted-string.
fn quote(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Exactly our format: 64 lowercase hex digits -> (issue_ms, serial, mac128).
fn decode_nonce(s: &str) -> Option<(u64, u64, [u8; 16])> {
    let b = s.as_bytes();
    if b.len() != 64 {
        return None;
    }
    let mut raw = [0u8; 32];
    for (i, pair) in b.chunks_exact(2).enumerate() {
        let nib = |c: u8| match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            _ => None,
        };
        raw[i] = nib(pair[0])? << 4 | nib(pair[1])?;
    }
    let (t, rest) = raw.split_at(8);
    let (serial, mac) = rest.split_at(8);
    Some((
        u64::from_be_bytes(t.try_into().ok()?),
        u64::from_be_bytes(serial.try_into().ok()?),
        mac.try_into().ok()?,
    ))
}
