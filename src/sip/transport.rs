//! Where a message goes or came from, and the RFC 3261 §18 rules that pick
//! the destination of a response.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use super::headers::Via;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    Udp,
    Tcp,
}

impl Transport {
    /// Reliable transports need no retransmissions (RFC 3261 §17.1.1.2).
    pub fn reliable(self) -> bool {
        matches!(self, Transport::Tcp)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
        }
    }

    pub fn parse(s: &str) -> Option<Transport> {
        match s.to_ascii_uppercase().as_str() {
            "UDP" => Some(Transport::Udp),
            "TCP" => Some(Transport::Tcp),
            _ => None,
        }
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A transport plus a remote address. For TCP the shell sends on the open
/// connection to that address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Peer {
    pub transport: Transport,
    pub addr: SocketAddr,
}

impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.transport, self.addr)
    }
}

/// RFC 3261 §18.2.1 and RFC 3581 §4: stamp the top Via with where the request
/// really came from, so that responses find their way back through NAT.
pub fn stamp_received(via: &mut Via, source: SocketAddr) {
    let host_is_source = via
        .host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
        .ok()
        == Some(source.ip());
    if let Some(None) = via.params.get("rport") {
        via.params.set("rport", Some(source.port().to_string()));
        via.params.set("received", Some(source.ip().to_string()));
    } else if !host_is_source {
        via.params.set("received", Some(source.ip().to_string()));
    }
}

/// RFC 3261 §18.2.2 with RFC 3581: where a response to a request received
/// from `source` goes. Reliable transports answer on the same connection.
pub fn response_destination(top_via: &Via, source: Peer) -> Peer {
    if source.transport.reliable() {
        return source;
    }
    if top_via.params.has("rport") {
        return source;
    }
    let ip = top_via
        .params
        .get("received")
        .flatten()
        .and_then(|r| r.parse::<IpAddr>().ok())
        .unwrap_or(source.addr.ip());
    Peer {
        transport: source.transport,
        addr: SocketAddr::new(ip, top_via.port.unwrap_or(5060)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn udp(a: &str) -> Peer {
        Peer {
            transport: Transport::Udp,
            addr: a.parse().unwrap(),
        }
    }

    #[test]
    fn rport_is_filled_and_used() {
        let mut v = Via::parse("SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK1;rport").unwrap();
        stamp_received(&mut v, "192.0.2.7:40001".parse().unwrap());
        assert_eq!(
            v.to_string(),
            "SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK1;rport=40001;received=192.0.2.7"
        );
        assert_eq!(
            response_destination(&v, udp("192.0.2.7:40001")),
            udp("192.0.2.7:40001")
        );
    }

    #[test]
    fn received_without_rport_uses_via_port() {
        let mut v = Via::parse("SIP/2.0/UDP 10.0.0.5:5070;branch=z9hG4bK1").unwrap();
        stamp_received(&mut v, "192.0.2.7:40001".parse().unwrap());
        assert_eq!(v.params.get("received"), Some(Some("192.0.2.7")));
        assert_eq!(
            response_destination(&v, udp("192.0.2.7:40001")),
            udp("192.0.2.7:5070")
        );
        let mut same = Via::parse("SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK1").unwrap();
        stamp_received(&mut same, "127.0.0.1:5080".parse().unwrap());
        assert!(!same.params.has("received"));
        assert_eq!(
            response_destination(&same, udp("127.0.0.1:5080")),
            udp("127.0.0.1:5060")
        );
    }

    #[test]
    fn tcp_answers_on_the_connection() {
        let v = Via::parse("SIP/2.0/TCP 10.0.0.5:5070;branch=z9hG4bK1").unwrap();
        let src = Peer {
            transport: Transport::Tcp,
            addr: "192.0.2.7:40001".parse().unwrap(),
        };
        assert_eq!(response_destination(&v, src), src);
    }
}
