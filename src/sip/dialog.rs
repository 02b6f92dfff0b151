//! Dialogs (RFC 3261 §12): the peer-to-peer relationship an INVITE creates,
//! identified by Call-ID and both tags, carrying the route set, the remote
//! target and both CSeq spaces.

use super::headers::{CSeq, NameAddr};
use super::message::{Headers, Method, Request, Response};
use super::transport::Peer;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DialogId {
    pub call_id: String,
    pub local_tag: String,
    pub remote_tag: String,
}

impl DialogId {
    /// The dialog an incoming in-dialog request belongs to (§12.2.2): our tag is in To.
    pub fn for_incoming(req: &Request) -> Option<DialogId> {
        let to = NameAddr::parse(req.headers.get("To")?).ok()?;
        let from = NameAddr::parse(req.headers.get("From")?).ok()?;
        Some(DialogId {
            call_id: req.headers.get("Call-ID")?.to_string(),
            local_tag: to.tag()?.to_string(),
            remote_tag: from.tag().unwrap_or("").to_string(),
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialogState {
    Early,
    Confirmed,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DialogError {
    #[error("missing or malformed {0}")]
    Header(&'static str),
    /// RFC 3261 §12.2.2: a CSeq lower than the last one is answered 500.
    #[error("CSeq out of order")]
    CSeqOutOfOrder,
}

#[derive(Debug, Clone)]
pub struct Dialog {
    pub id: DialogId,
    pub state: DialogState,
    /// Our From (UAC) or To (UAS) header value, with our tag.
    pub local: String,
    /// The other party's address with its tag.
    pub remote: String,
    /// Contact of the other party: the Request-URI of our in-dialog requests.
    pub remote_target: String,
    /// Route set, in the order our requests use it.
    pub route_set: Vec<String>,
    pub local_cseq: u32,
    pub remote_cseq: Option<u32>,
    /// Where the other party's messages come from; in-dialog requests go
    /// back there (symmetric signalling keeps phones behind NAT reachable).
    pub peer: Peer,
}

fn contact_uri(h: &Headers) -> Result<String, DialogError> {
    let c = h.values("Contact");
    let first = c.first().ok_or(DialogError::Header("Contact"))?;
    Ok(NameAddr::parse(first)
        .map_err(|_| DialogError::Header("Contact"))?
        .uri
        .to_string())
}

impl Dialog {
    /// UAS side (§12.1.1): from a dialog-creating request and the tag we put in our response.
    pub fn uas(
        req: &Request,
        local_tag: &str,
        peer: Peer,
        local_cseq: u32,
    ) -> Result<Dialog, DialogError> {
        let h = &req.headers;
        let from = h.get("From").ok_or(DialogError::Header("From"))?;
        let remote_tag = NameAddr::parse(from)
            .ok()
            .and_then(|n| n.tag().map(str::to_string))
            .unwrap_or_default();
        let to = h.get("To").ok_or(DialogError::Header("To"))?;
        let cseq =
            CSeq::parse(h.get("CSeq").unwrap_or("")).map_err(|_| DialogError::Header("CSeq"))?;
        Ok(Dialog {
            id: DialogId {
                call_id: h
                    .get("Call-ID")
                    .ok_or(DialogError::Header("Call-ID"))?
                    .to_string(),
                local_tag: local_tag.to_string(),
                remote_tag,
            },
            state: DialogState::Confirmed,
            local: format!("{to};tag={local_tag}"),
            remote: from.to_string(),
            remote_target: contact_uri(h)?,
            route_set: h
                .values("Record-Route")
                .iter()
                .map(|s| s.to_string())
                .collect(),
            local_cseq,
            remote_cseq: Some(cseq.seq),
            peer,
        })
    }

    /// UAC side (§12.1.2): from our request and the response that created the dialog.
    pub fn uac(req: &Request, resp: &Response, peer: Peer) -> Result<Dialog, DialogError> {
        let to = resp.headers.get("To").ok_or(DialogError::Header("To"))?;
        let remote_tag = NameAddr::parse(to)
            .ok()
            .and_then(|n| n.tag().map(str::to_string))
            .ok_or(DialogError::Header("To tag"))?;
        let from = req.headers.get("From").ok_or(DialogError::Header("From"))?;
        let local_tag = NameAddr::parse(from)
            .ok()
            .and_then(|n| n.tag().map(str::to_string))
            .ok_or(DialogError::Header("From tag"))?;
        let cseq = CSeq::parse(req.headers.get("CSeq").unwrap_or(""))
            .map_err(|_| DialogError::Header("CSeq"))?;
        let mut route_set: Vec<String> = resp
            .headers
            .values("Record-Route")
            .iter()
            .map(|s| s.to_string())
            .collect();
        route_set.reverse();
        Ok(Dialog {
            id: DialogId {
                call_id: req.call_id().to_string(),
                local_tag,
                remote_tag,
            },
            state: if resp.code < 200 {
                DialogState::Early
            } else {
                DialogState::Confirmed
            },
            local: from.to_string(),
            remote: to.to_string(),
            remote_target: contact_uri(&resp.headers)?,
            route_set,
            local_cseq: cseq.seq,
            remote_cseq: None,
            peer,
        })
    }

    /// Checks and records the CSeq of an incoming in-dialog request (§12.2.2).
    /// ACK and CANCEL reuse the INVITE's number and are not checked.
    pub fn accept_remote_cseq(&mut self, req: &Request) -> Result<(), DialogError> {
        if matches!(req.method, Method::Ack | Method::Cancel) {
            return Ok(());
        }
        let cseq = CSeq::parse(req.headers.get("CSeq").unwrap_or(""))
            .map_err(|_| DialogError::Header("CSeq"))?;
        if let Some(last) = self.remote_cseq {
            if cseq.seq <= last {
                return Err(DialogError::CSeqOutOfOrder);
            }
        }
        self.remote_cseq = Some(cseq.seq);
        // A target refresh (re-INVITE/UPDATE) may move the remote target (§12.2.2).
        if matches!(req.method, Method::Invite | Method::Update) {
            if let Ok(t) = contact_uri(&req.headers) {
                self.remote_target = t;
            }
        }
        Ok(())
    }

    /// Builds an in-dialog request (§12.2.1.1) with the next local CSeq.
    /// The caller adds the Via (with a fresh branch) and any body.
    pub fn request(&mut self, method: Method) -> Request {
        if method != Method::Ack && method != Method::Cancel {
            self.local_cseq += 1;
        }
        let strict = self
            .route_set
            .first()
            .is_some_and(|r| NameAddr::parse(r).is_ok_and(|n| !n.uri.params.has("lr")));
        let (uri, routes): (String, Vec<String>) = if strict {
            // Strict router: it becomes the Request-URI and the remote target goes last (§12.2.1.1).
            let first = NameAddr::parse(&self.route_set[0])
                .map(|n| n.uri.to_string())
                .unwrap_or_default();
            let mut rest: Vec<String> = self.route_set[1..].to_vec();
            rest.push(format!("<{}>", self.remote_target));
            (first, rest)
        } else {
            (self.remote_target.clone(), self.route_set.clone())
        };
        let mut req = Request::new(method.clone(), uri);
        let h = &mut req.headers;
        h.push("Max-Forwards", "70");
        h.push("From", self.local.clone());
        h.push("To", self.remote.clone());
        h.push("Call-ID", self.id.call_id.clone());
        h.push("CSeq", format!("{} {}", self.local_cseq, method));
        for r in routes {
            h.push("Route", r);
        }
        req
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::message::Message;
    use crate::sip::parse::parse_datagram;
    use crate::sip::transport::Transport;

    fn peer() -> Peer {
        Peer {
            transport: Transport::Udp,
            addr: "127.0.0.1:5080".parse().unwrap(),
        }
    }

    fn invite(extra: &str) -> Request {
        let text = format!(
            "INVITE sip:5000@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bK1\r\n\
             From: \"Caller\" <sip:c@127.0.0.1>;tag=ct\r\nTo: <sip:5000@127.0.0.1>\r\nCall-ID: d1\r\n\
             CSeq: 7 INVITE\r\nContact: <sip:c@127.0.0.1:5080>\r\n{extra}Content-Length: 0\r\n\r\n"
        );
        match parse_datagram(text.as_bytes(), 65535).unwrap() {
            Message::Request(r) => r,
            _ => unreachable!(),
        }
    }

    #[test]
    fn uas_dialog_from_invite() {
        let req = invite("Record-Route: <sip:p1;lr>, <sip:p2;lr>\r\n");
        let mut d = Dialog::uas(&req, "sb1", peer(), 100).unwrap();
        assert_eq!(
            d.id,
            DialogId {
                call_id: "d1".into(),
                local_tag: "sb1".into(),
                remote_tag: "ct".into()
            }
        );
        assert_eq!(d.remote_target, "sip:c@127.0.0.1:5080");
        assert_eq!(d.route_set, ["<sip:p1;lr>", "<sip:p2;lr>"]);
        let bye = d.request(Method::Bye);
        assert_eq!(bye.uri, "sip:c@127.0.0.1:5080");
        assert_eq!(bye.headers.get("CSeq"), Some("101 BYE"));
        assert_eq!(
            bye.headers.get("From"),
            Some("<sip:5000@127.0.0.1>;tag=sb1")
        );
        assert_eq!(
            bye.headers.get("To"),
            Some("\"Caller\" <sip:c@127.0.0.1>;tag=ct")
        );
        assert_eq!(bye.headers.values("Route"), ["<sip:p1;lr>", "<sip:p2;lr>"]);
    }

    #[test]
    fn strict_route_puts_remote_target_last() {
        let req = invite("Record-Route: <sip:strict.example.com>\r\n");
        let mut d = Dialog::uas(&req, "sb1", peer(), 1).unwrap();
        let bye = d.request(Method::Bye);
        assert_eq!(bye.uri, "sip:strict.example.com");
        assert_eq!(bye.headers.values("Route"), ["<sip:c@127.0.0.1:5080>"]);
    }

    #[test]
    fn remote_cseq_must_grow_and_reinvite_refreshes_target() {
        let req = invite("");
        let mut d = Dialog::uas(&req, "sb1", peer(), 1).unwrap();
        let mut re = invite("");
        re.headers.set("CSeq", "7 INVITE");
        assert_eq!(d.accept_remote_cseq(&re), Err(DialogError::CSeqOutOfOrder));
        re.headers.set("CSeq", "8 INVITE");
        re.headers.set("Contact", "<sip:c@192.0.2.1:6000>");
        assert_eq!(d.accept_remote_cseq(&re), Ok(()));
        assert_eq!(d.remote_target, "sip:c@192.0.2.1:6000");
        let mut ack = invite("");
        ack.method = Method::Ack;
        assert_eq!(d.accept_remote_cseq(&ack), Ok(()));
    }

    #[test]
    fn uac_dialog_reverses_record_route() {
        let mut req = invite("");
        req.uri = "sip:1001@127.0.0.1:5090".into();
        let mut resp = Response::new(200, "OK");
        resp.headers.push("To", "<sip:1001@127.0.0.1>;tag=agent");
        resp.headers.push("Contact", "<sip:1001@127.0.0.1:5090>");
        resp.headers.push("Record-Route", "<sip:p1;lr>");
        resp.headers.push("Record-Route", "<sip:p2;lr>");
        let mut d = Dialog::uac(&req, &resp, peer()).unwrap();
        assert_eq!(d.id.remote_tag, "agent");
        assert_eq!(d.route_set, ["<sip:p2;lr>", "<sip:p1;lr>"]);
        assert_eq!(d.request(Method::Bye).headers.get("CSeq"), Some("8 BYE"));
        assert!(Dialog::uac(&req, &Response::new(200, "OK"), peer()).is_err());
    }

    #[test]
    fn incoming_request_finds_its_dialog() {
        let mut bye = invite("");
        bye.method = Method::Bye;
        bye.headers.set("To", "<sip:5000@127.0.0.1>;tag=sb1");
        assert_eq!(
            DialogId::for_incoming(&bye),
            Some(DialogId {
                call_id: "d1".into(),
                local_tag: "sb1".into(),
                remote_tag: "ct".into()
            })
        );
        assert_eq!(DialogId::for_incoming(&invite("")), None);
    }
}
