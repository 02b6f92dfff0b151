//! SDP (RFC 4566) parsing and offer/answer (RFC 3264) for audio-only G.711 calls.
//!
//! Our own small parser rather than a crate: every SDP crate we measured rejects a
//! missing `t=` line (old gateways omit it), the best one is MPL-2.0, and we only need
//! the audio subset (docs: crates.md §7).
//!
//! Parsing is **tolerant** where real peers are sloppy — LF-only line ends, trailing
//! whitespace, blank lines, unknown line types and attributes, malformed attributes
//! (skipped), a missing `s=`/`t=` — and **strict** where a mistake would misroute
//! media: `v=0` first, the `o=` and `c=` syntax, `m=` syntax (port range, numeric RTP
//! payload types), and every active stream must have a connection address.
//!
//! Offer/answer rules (RFC 3264):
//! - We answer the first audio `RTP/AVP` stream that has a codec in common, choosing
//!   the **caller's** first supported format (PCMU/PCMA, static or by `rtpmap`), plus
//!   `telephone-event/8000` under the caller's payload type.
//! - Exactly one answer `m=` line per offered line; every other stream (video, a
//!   second audio stream, `RTP/SAVP`, T.38) is rejected with port 0 (§6).
//! - Hold: our direction is the reverse of the offer's (`sendonly` → `recvonly`,
//!   `inactive` → `inactive`); `c=0.0.0.0` (RFC 2543 hold) means "do not send to me"
//!   and leaves [`Negotiated::remote`] empty.
//! - `o=` keeps its session id; the version increments whenever the SDP we send
//!   changes and stays put when it does not (§8, see [`SessionVersion`]).

use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};

#[cfg(test)]
mod tests;

/// Our default packetisation time, milliseconds.
pub const PTIME_MS: u32 = 20;
/// The payload type we use for `telephone-event` when we make the offer.
pub const OUR_TELEPHONE_EVENT_PT: u8 = 101;
/// The RFC 4733 events we can receive (DTMF 0-9 * # A-D and flash).
pub const OUR_EVENTS: &str = "0-16";

/// Why an SDP body was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SdpError {
    /// Malformed text; `line` is 1-based.
    #[error("SDP line {line}: {reason}")]
    Syntax { line: usize, reason: String },
    /// No `o=` line.
    #[error("SDP has no o= line")]
    MissingOrigin,
    /// An active stream (port ≠ 0) with neither a media- nor a session-level `c=`.
    #[error("SDP m= line #{media} is active but has no c= address")]
    MissingConnection { media: usize },
    /// No audio RTP/AVP stream with PCMU or PCMA: answer 488 Not Acceptable Here.
    #[error("no common audio codec (need PCMU or PCMA over RTP/AVP)")]
    NoCommonCodec,
}

impl SdpError {
    /// The SIP status to answer an INVITE/re-INVITE whose offer failed: malformed
    /// bodies get 400, a well-formed offer we cannot serve gets 488 (RFC 3261 §13.3.1.1).
    pub fn sip_status(&self) -> u16 {
        match self {
            SdpError::NoCommonCodec => 488,
            _ => 400,
        }
    }
}

fn syntax(line: usize, reason: impl Into<String>) -> SdpError {
    SdpError::Syntax {
        line,
        reason: reason.into(),
    }
}

/// The `o=` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub username: String,
    pub session_id: u64,
    pub version: u64,
    /// Unicast address as written (may be a host name; not used for media).
    pub addr: String,
}

/// Media direction attribute (RFC 3264 §5.1, §6.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Direction {
    #[default]
    SendRecv,
    SendOnly,
    RecvOnly,
    Inactive,
}

impl Direction {
    /// The direction an answerer uses for an offer with this direction.
    pub fn reverse(self) -> Direction {
        match self {
            Direction::SendRecv => Direction::SendRecv,
            Direction::SendOnly => Direction::RecvOnly,
            Direction::RecvOnly => Direction::SendOnly,
            Direction::Inactive => Direction::Inactive,
        }
    }

    /// Whether this side sends media.
    pub fn sends(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::SendOnly)
    }

    /// Whether this side receives media.
    pub fn receives(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::RecvOnly)
    }

    fn from_flags(send: bool, recv: bool) -> Direction {
        match (send, recv) {
            (true, true) => Direction::SendRecv,
            (true, false) => Direction::SendOnly,
            (false, true) => Direction::RecvOnly,
            (false, false) => Direction::Inactive,
        }
    }

    /// Both constraints at once, e.g. what we offered ∩ the reverse of the answer.
    pub fn intersect(self, other: Direction) -> Direction {
        Direction::from_flags(
            self.sends() && other.sends(),
            self.receives() && other.receives(),
        )
    }

    /// The attribute name (`sendrecv`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }

    fn parse(attr: &str) -> Option<Direction> {
        match attr {
            "sendrecv" => Some(Direction::SendRecv),
            "sendonly" => Some(Direction::SendOnly),
            "recvonly" => Some(Direction::RecvOnly),
            "inactive" => Some(Direction::Inactive),
            _ => None,
        }
    }
}

/// `a=rtpmap:<pt> <name>/<rate>[/<channels>]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpMap {
    pub pt: u8,
    pub name: String,
    pub rate: u32,
    /// 1 when absent.
    pub channels: u8,
}

/// One `m=` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Media {
    /// `audio`, `video`, `image`, `application`, …
    pub kind: String,
    /// 0 = stream disabled/rejected.
    pub port: u16,
    /// `RTP/AVP`, `RTP/SAVP`, `udptl`, …
    pub proto: String,
    /// Payload types, in the offerer's order of preference (RTP protocols only).
    pub formats: Vec<u8>,
    /// The `<fmt>` list exactly as written (also for non-RTP protocols); echoed
    /// when we reject the stream.
    pub raw_formats: String,
    pub rtpmap: Vec<RtpMap>,
    pub fmtp: Vec<(u8, String)>,
    /// Media-level attribute, else the session-level one, else `sendrecv`.
    pub direction: Direction,
    /// Media-level `c=`, else the session-level one.
    pub connection: Option<IpAddr>,
    /// Media-level `a=ptime`, else a session-level one.
    pub ptime: Option<u32>,
}

impl Media {
    /// Plain RTP audio (`RTP/AVP`; SRTP and AVPF are not offered by us).
    pub fn is_audio_avp(&self) -> bool {
        self.kind.eq_ignore_ascii_case("audio") && self.proto.eq_ignore_ascii_case("RTP/AVP")
    }

    /// The first `rtpmap` for `pt`.
    pub fn rtpmap_for(&self, pt: u8) -> Option<&RtpMap> {
        self.rtpmap.iter().find(|m| m.pt == pt)
    }

    /// The first `fmtp` parameters for `pt`.
    pub fn fmtp_for(&self, pt: u8) -> Option<&str> {
        self.fmtp
            .iter()
            .find(|(p, _)| *p == pt)
            .map(|(_, v)| v.as_str())
    }

    /// The G.711 codec behind payload type `pt`: the `rtpmap` decides; without one,
    /// the static assignments of RFC 3551 (0 = PCMU, 8 = PCMA).
    pub fn codec_for(&self, pt: u8) -> Option<SdpCodec> {
        match self.rtpmap_for(pt) {
            Some(map) => SdpCodec::from_rtpmap(map),
            None => SdpCodec::from_static_pt(pt),
        }
    }

    /// The caller's first `telephone-event/8000` payload type listed in `m=`.
    pub fn telephone_event(&self) -> Option<u8> {
        self.formats.iter().copied().find(|&pt| {
            self.rtpmap_for(pt)
                .is_some_and(|m| m.name.eq_ignore_ascii_case("telephone-event") && m.rate == 8000)
        })
    }
}

/// A parsed session description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sdp {
    pub origin: Origin,
    /// `s=`, empty when absent.
    pub session_name: String,
    /// Session-level `c=`.
    pub connection: Option<IpAddr>,
    pub media: Vec<Media>,
}

/// The audio codecs we can offer and answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SdpCodec {
    /// G.711 µ-law, static payload type 0.
    Pcmu,
    /// G.711 A-law, static payload type 8.
    Pcma,
}

impl SdpCodec {
    /// The RFC 3551 static payload type.
    pub fn static_pt(self) -> u8 {
        match self {
            SdpCodec::Pcmu => 0,
            SdpCodec::Pcma => 8,
        }
    }

    /// The `rtpmap` encoding name.
    pub fn name(self) -> &'static str {
        match self {
            SdpCodec::Pcmu => "PCMU",
            SdpCodec::Pcma => "PCMA",
        }
    }

    fn from_static_pt(pt: u8) -> Option<SdpCodec> {
        match pt {
            0 => Some(SdpCodec::Pcmu),
            8 => Some(SdpCodec::Pcma),
            _ => None,
        }
    }

    fn from_rtpmap(map: &RtpMap) -> Option<SdpCodec> {
        if map.rate != 8000 || map.channels != 1 {
            return None;
        }
        if map.name.eq_ignore_ascii_case("PCMU") {
            Some(SdpCodec::Pcmu)
        } else if map.name.eq_ignore_ascii_case("PCMA") {
            Some(SdpCodec::Pcma)
        } else {
            None
        }
    }
}

/// The outcome of offer/answer for the audio stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negotiated {
    pub codec: SdpCodec,
    /// The payload type to send `codec` with (the peer's number).
    pub payload_type: u8,
    /// The peer's RFC 4733 payload type, if it supports `telephone-event/8000`.
    pub telephone_event: Option<u8>,
    /// Where to send RTP; `None` when the peer gave port 0 or an unspecified address
    /// (`c=0.0.0.0`, RFC 2543 hold).
    pub remote: Option<SocketAddr>,
    /// **Our** direction: whether we may send and should expect to receive.
    pub direction: Direction,
    /// Packetisation to send with: the peer's `a=ptime` when it is 10..=60 ms in
    /// steps of 10, else 20.
    pub ptime: u32,
    /// Index of the negotiated `m=` line in the SDP it came from.
    pub media_index: usize,
}

/// The `o=` session id and version we put in the SDP we send for one call leg.
///
/// The id stays the same for the whole dialog; the version goes up by one each time
/// the SDP we send differs from the previous one, and stays the same for a repeat
/// of an unchanged SDP (RFC 3264 §8, RFC 4566 §5.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionVersion {
    id: u64,
    version: u64,
    /// Everything we sent last time except the `o=` line.
    last: Option<String>,
}

impl SessionVersion {
    /// A fixed id; the first SDP carries `version == id`.
    pub fn new(id: u64) -> SessionVersion {
        SessionVersion {
            id,
            version: id,
            last: None,
        }
    }

    /// A random id below 2^32, so neither id nor version ever reaches the limits of
    /// peers that parse them as signed 64-bit numbers.
    pub fn random() -> SessionVersion {
        SessionVersion::new(u64::from(rand::random::<u32>()))
    }

    pub fn id(&self) -> u64 {
        self.id
    }

    /// The version of the last SDP sent (or of the next one, before the first).
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The version for `content` (the body without its `o=` line).
    fn stamp(&mut self, content: &str) -> u64 {
        match &self.last {
            None => {}
            Some(prev) if prev == content => {}
            Some(_) => self.version = self.version.wrapping_add(1),
        }
        if self.last.as_deref() != Some(content) {
            self.last = Some(content.to_owned());
        }
        self.version
    }
}

// ---------------------------------------------------------------- parsing

/// Parse an SDP body given as bytes (e.g. a SIP message body). Non-UTF-8 is a syntax error.
pub fn parse_bytes(body: &[u8]) -> Result<Sdp, SdpError> {
    match std::str::from_utf8(body) {
        Ok(text) => parse(text),
        Err(e) => {
            let line = body[..e.valid_up_to()]
                .iter()
                .filter(|&&b| b == b'\n')
                .count()
                + 1;
            Err(syntax(line, "not UTF-8"))
        }
    }
}

/// Parse an SDP body (see the module documentation for what is tolerated).
pub fn parse(text: &str) -> Result<Sdp, SdpError> {
    let mut seen_version = false;
    let mut origin: Option<Origin> = None;
    let mut session_name = String::new();
    let mut session_conn: Option<IpAddr> = None;
    let mut session_dir: Option<Direction> = None;
    let mut session_ptime: Option<u32> = None;
    // Per media: the media plus its own (not inherited) direction/c=/ptime.
    struct Pending {
        media: Media,
        dir: Option<Direction>,
        conn: Option<IpAddr>,
        ptime: Option<u32>,
    }
    let mut media: Vec<Pending> = Vec::new();

    for (idx, raw) in text.split('\n').enumerate() {
        let lineno = idx + 1;
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        let bytes = line.as_bytes();
        if bytes.len() < 2 || bytes[1] != b'=' || !bytes[0].is_ascii_lowercase() {
            return Err(syntax(lineno, "not a <type>=<value> line"));
        }
        let kind = bytes[0];
        let value = &line[2..];
        if !seen_version {
            if kind != b'v' {
                return Err(syntax(lineno, "SDP must start with v=0"));
            }
            if value.trim() != "0" {
                return Err(syntax(lineno, "unsupported SDP version"));
            }
            seen_version = true;
            continue;
        }
        match kind {
            b'v' => return Err(syntax(lineno, "second v= line")),
            b'o' => {
                if !media.is_empty() {
                    return Err(syntax(lineno, "o= after m="));
                }
                if origin.is_some() {
                    return Err(syntax(lineno, "second o= line"));
                }
                origin = Some(parse_origin(value).map_err(|r| syntax(lineno, r))?);
            }
            b's' if media.is_empty() => session_name = value.trim().to_owned(),
            b'c' => {
                let addr = parse_connection(value).map_err(|r| syntax(lineno, r))?;
                match media.last_mut() {
                    Some(p) => p.conn = Some(addr),
                    None => session_conn = Some(addr),
                }
            }
            b'm' => {
                let m = parse_media_line(value).map_err(|r| syntax(lineno, r))?;
                media.push(Pending {
                    media: m,
                    dir: None,
                    conn: None,
                    ptime: None,
                });
            }
            b'a' => {
                let (name, arg) = match value.split_once(':') {
                    Some((n, a)) => (n.trim(), Some(a.trim())),
                    None => (value.trim(), None),
                };
                let current = media.last_mut();
                if let Some(dir) = Direction::parse(name).filter(|_| arg.is_none()) {
                    match current {
                        Some(p) => p.dir = Some(dir),
                        None => session_dir = Some(dir),
                    }
                    continue;
                }
                match (name, arg, current) {
                    ("ptime", Some(v), cur) => {
                        // Some peers write fractional ptimes ("20.0"): take the integer part.
                        let int = v.split('.').next().unwrap_or("");
                        if let Ok(ms) = int.parse::<u32>() {
                            match cur {
                                Some(p) => p.ptime = Some(ms),
                                None => session_ptime = Some(ms),
                            }
                        }
                    }
                    ("rtpmap", Some(v), Some(p)) => {
                        if let Some(map) = parse_rtpmap(v) {
                            p.media.rtpmap.push(map);
                        }
                    }
                    ("fmtp", Some(v), Some(p)) => {
                        if let Some((pt, params)) = v.split_once(char::is_whitespace) {
                            if let Ok(pt) = pt.parse::<u8>() {
                                p.media.fmtp.push((pt, params.trim().to_owned()));
                            }
                        }
                    }
                    // a=rtcp, a=crypto, a=ssrc, a=mid, a=rtcp-fb, … : not used.
                    _ => {}
                }
            }
            // t=, b=, k=, r=, z=, i=, u=, e=, p=, unknown: ignored.
            _ => {}
        }
    }
    if !seen_version {
        return Err(syntax(1, "empty SDP"));
    }
    let origin = origin.ok_or(SdpError::MissingOrigin)?;
    let media = media
        .into_iter()
        .enumerate()
        .map(|(i, p)| {
            let mut m = p.media;
            m.direction = p.dir.or(session_dir).unwrap_or_default();
            m.connection = p.conn.or(session_conn);
            m.ptime = p.ptime.or(session_ptime);
            if m.port != 0 && m.connection.is_none() {
                return Err(SdpError::MissingConnection { media: i });
            }
            Ok(m)
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Sdp {
        origin,
        session_name,
        connection: session_conn,
        media,
    })
}

fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_graphic())
}

fn parse_origin(value: &str) -> Result<Origin, &'static str> {
    let f: Vec<&str> = value.split_whitespace().collect();
    let [username, id, version, net, addrtype, addr] = f[..] else {
        return Err("o= needs 6 fields");
    };
    if !is_token(username) || !is_token(addr) {
        return Err("o= has a bad username or address");
    }
    let session_id = id
        .parse::<u64>()
        .map_err(|_| "o= session id not a number")?;
    let version = version
        .parse::<u64>()
        .map_err(|_| "o= session version not a number")?;
    if net != "IN" {
        return Err("o= network type is not IN");
    }
    if addrtype != "IP4" && addrtype != "IP6" {
        return Err("o= address type is not IP4/IP6");
    }
    Ok(Origin {
        username: username.to_owned(),
        session_id,
        version,
        addr: addr.to_owned(),
    })
}

/// `IN IP4 <addr>[/ttl[/n]]`; the address must be a literal of the stated family.
fn parse_connection(value: &str) -> Result<IpAddr, &'static str> {
    let f: Vec<&str> = value.split_whitespace().collect();
    let [net, addrtype, addr] = f[..] else {
        return Err("c= needs 3 fields");
    };
    if net != "IN" {
        return Err("c= network type is not IN");
    }
    let addr = addr.split('/').next().unwrap_or("");
    match addrtype {
        "IP4" => addr
            .parse::<std::net::Ipv4Addr>()
            .map(IpAddr::V4)
            .map_err(|_| "c= IP4 address is not an IPv4 literal"),
        "IP6" => addr
            .parse::<std::net::Ipv6Addr>()
            .map(IpAddr::V6)
            .map_err(|_| "c= IP6 address is not an IPv6 literal"),
        _ => Err("c= address type is not IP4/IP6"),
    }
}

/// `<media> <port>[/<count>] <proto> <fmt> ...`
fn parse_media_line(value: &str) -> Result<Media, &'static str> {
    let mut f = value.split_whitespace();
    let (Some(kind), Some(port), Some(proto)) = (f.next(), f.next(), f.next()) else {
        return Err("m= needs <media> <port> <proto> <fmt>...");
    };
    let fmts: Vec<&str> = f.collect();
    if fmts.is_empty() {
        return Err("m= has no formats");
    }
    if !is_token(kind) || !is_token(proto) {
        return Err("m= has a bad media or protocol token");
    }
    let (port, count) = match port.split_once('/') {
        Some((p, c)) => (p, Some(c)),
        None => (port, None),
    };
    let port = parse_decimal::<u16>(port).ok_or("m= port is not 0-65535")?;
    if let Some(c) = count {
        parse_decimal::<u16>(c).ok_or("m= port count is not a number")?;
    }
    let mut formats = Vec::new();
    if proto.to_ascii_uppercase().starts_with("RTP/") {
        for f in &fmts {
            match parse_decimal::<u8>(f) {
                Some(pt) if pt <= 127 => formats.push(pt),
                _ => return Err("m= RTP payload type is not 0-127"),
            }
        }
    } else if !fmts.iter().all(|f| is_token(f)) {
        return Err("m= has a bad format token");
    }
    Ok(Media {
        kind: kind.to_owned(),
        port,
        proto: proto.to_owned(),
        formats,
        raw_formats: fmts.join(" "),
        rtpmap: Vec::new(),
        fmtp: Vec::new(),
        direction: Direction::SendRecv,
        connection: None,
        ptime: None,
    })
}

/// Digits only (no sign, no whitespace), within the type's range.
fn parse_decimal<T: std::str::FromStr>(s: &str) -> Option<T> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// `<pt> <name>/<rate>[/<channels>]`; `None` for anything malformed.
fn parse_rtpmap(v: &str) -> Option<RtpMap> {
    let (pt, enc) = v.split_once(char::is_whitespace)?;
    let pt = parse_decimal::<u8>(pt).filter(|&p| p <= 127)?;
    let mut parts = enc.trim().split('/');
    let name = parts.next().filter(|n| is_token(n))?;
    let rate = parse_decimal::<u32>(parts.next()?.trim()).filter(|&r| r > 0)?;
    let channels = match parts.next() {
        Some(c) => parse_decimal::<u8>(c.trim()).filter(|&c| c > 0)?,
        None => 1,
    };
    Some(RtpMap {
        pt,
        name: name.to_owned(),
        rate,
        channels,
    })
}

// ---------------------------------------------------------------- negotiation

/// What we pick from one stream of the peer's SDP.
struct Choice {
    codec: SdpCodec,
    pt: u8,
    te: Option<u8>,
}

/// The peer's first format (in its order) that we support.
fn choose(m: &Media) -> Option<Choice> {
    if !m.is_audio_avp() {
        return None;
    }
    m.formats.iter().find_map(|&pt| {
        m.codec_for(pt).map(|codec| Choice {
            codec,
            pt,
            te: m.telephone_event(),
        })
    })
}

/// The first audio stream we can use, preferring an active one over one the peer
/// disabled with port 0.
fn pick(sdp: &Sdp) -> Option<(usize, Choice)> {
    let mut disabled = None;
    for (i, m) in sdp.media.iter().enumerate() {
        if let Some(c) = choose(m) {
            if m.port != 0 {
                return Some((i, c));
            }
            if disabled.is_none() {
                disabled = Some((i, c));
            }
        }
    }
    disabled
}

/// The negotiation result for stream `idx` of the peer's SDP, whose direction is
/// the peer's; ours is its reverse.
fn negotiated(sdp: &Sdp, idx: usize, c: Choice) -> Negotiated {
    let m = &sdp.media[idx];
    let ip = m.connection.filter(|ip| !ip.is_unspecified());
    let remote = match ip {
        Some(ip) if m.port != 0 => Some(SocketAddr::new(ip, m.port)),
        _ => None,
    };
    let direction = if m.port == 0 {
        Direction::Inactive
    } else {
        // c=0.0.0.0: the peer does not want to receive, whatever the attribute says.
        let theirs =
            Direction::from_flags(m.direction.sends(), m.direction.receives() && ip.is_some());
        theirs.reverse()
    };
    let ptime = m
        .ptime
        .filter(|p| (10..=60).contains(p) && p % 10 == 0)
        .unwrap_or(PTIME_MS);
    Negotiated {
        codec: c.codec,
        payload_type: c.pt,
        telephone_event: c.te,
        remote,
        direction,
        ptime,
        media_index: idx,
    }
}

/// Answer an offer (RFC 3264 §6). Returns the negotiation and the SDP to send.
///
/// `local` is the address and RTP port we advertise. Errors with
/// [`SdpError::NoCommonCodec`] (→ 488) when no audio RTP/AVP stream carries PCMU or PCMA.
pub fn answer(
    offer: &Sdp,
    local: SocketAddr,
    session: &mut SessionVersion,
) -> Result<(Negotiated, String), SdpError> {
    let (idx, choice) = pick(offer).ok_or(SdpError::NoCommonCodec)?;
    let neg = negotiated(offer, idx, choice);
    let mut body = session_head(local.ip());
    for (i, m) in offer.media.iter().enumerate() {
        if i != idx {
            // Rejected (§6): same media and protocol, port 0, the offered formats.
            let _ = write!(body, "m={} 0 {} {}\r\n", m.kind, m.proto, m.raw_formats);
        } else if m.port == 0 {
            let _ = write!(body, "m={} 0 {} {}\r\n", m.kind, m.proto, neg.payload_type);
        } else {
            let fmtp = neg.telephone_event.map(|te| {
                let theirs = m.fmtp_for(te).filter(|f| is_event_list(f));
                (te, theirs.unwrap_or(OUR_EVENTS).to_owned())
            });
            audio_section(
                &mut body,
                local.port(),
                neg.codec,
                neg.payload_type,
                fmtp,
                neg.direction,
            );
        }
    }
    let text = finish(body, local.ip(), session);
    Ok((neg, text))
}

/// Our offer: PCMU, PCMA and telephone-event/8000 (101), ptime 20, `direction`.
/// Used for a late offer (INVITE without SDP → offer in the 200) and for re-offers
/// (hold = [`Direction::SendOnly`], resume = [`Direction::SendRecv`]).
pub fn offer(local: SocketAddr, session: &mut SessionVersion, direction: Direction) -> String {
    let mut body = session_head(local.ip());
    let te = OUR_TELEPHONE_EVENT_PT;
    let _ = write!(
        body,
        "m=audio {} RTP/AVP 0 8 {te}\r\n\
         a=rtpmap:0 PCMU/8000\r\n\
         a=rtpmap:8 PCMA/8000\r\n\
         a=rtpmap:{te} telephone-event/8000\r\n\
         a=fmtp:{te} {OUR_EVENTS}\r\n\
         a=ptime:{PTIME_MS}\r\n\
         a={}\r\n",
        local.port(),
        direction.as_str()
    );
    finish(body, local.ip(), session)
}

/// Read the peer's answer to our offer (RFC 3264 §7). Our direction is the reverse
/// of the answer's; intersect it with what we offered ([`Direction::intersect`])
/// if the peer might not have honoured our `sendonly`/`inactive`.
pub fn accept_answer(answer: &Sdp) -> Result<Negotiated, SdpError> {
    let idx = answer
        .media
        .iter()
        .position(|m| m.is_audio_avp() && m.port != 0)
        .ok_or(SdpError::NoCommonCodec)?;
    let choice = choose(&answer.media[idx]).ok_or(SdpError::NoCommonCodec)?;
    Ok(negotiated(answer, idx, choice))
}

/// `0-15`, `0-16`, `0-15,66,70`: digits, commas and dashes only, so the peer's
/// text can be echoed safely.
fn is_event_list(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || b == b',' || b == b'-')
}

fn ip_kind(ip: IpAddr) -> &'static str {
    match ip {
        IpAddr::V4(_) => "IP4",
        IpAddr::V6(_) => "IP6",
    }
}

/// Everything after the `o=` line up to the first `m=`.
fn session_head(ip: IpAddr) -> String {
    format!("s=Switchboard\r\nc=IN {} {ip}\r\nt=0 0\r\n", ip_kind(ip))
}

fn audio_section(
    body: &mut String,
    port: u16,
    codec: SdpCodec,
    pt: u8,
    te: Option<(u8, String)>,
    direction: Direction,
) {
    let _ = write!(body, "m=audio {port} RTP/AVP {pt}");
    if let Some((te, _)) = &te {
        let _ = write!(body, " {te}");
    }
    let _ = write!(body, "\r\na=rtpmap:{pt} {}/8000\r\n", codec.name());
    if let Some((te, events)) = &te {
        let _ = write!(
            body,
            "a=rtpmap:{te} telephone-event/8000\r\na=fmtp:{te} {events}\r\n"
        );
    }
    let _ = write!(body, "a=ptime:{PTIME_MS}\r\na={}\r\n", direction.as_str());
}

/// Prepend `v=` and `o=`, bumping the session version if the content changed.
fn finish(rest: String, ip: IpAddr, session: &mut SessionVersion) -> String {
    let version = session.stamp(&rest);
    format!(
        "v=0\r\no=switchboard {} {version} IN {} {ip}\r\n{rest}",
        session.id,
        ip_kind(ip)
    )
}
