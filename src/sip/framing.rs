//! Stream framing for SIP over TCP (RFC 3261 §18.3): messages are delimited by
//! Content-Length, which is therefore mandatory and must be valid; CRLF
//! keep-alives (RFC 5626 §3.5.1) come between messages.

use super::message::Message;
use super::parse::{check, content_length, find_head_end, parse_head, ParseError};

/// What a stream yields.
#[derive(Debug)]
pub enum Frame {
    Message(Message),
    /// A double-CRLF ping: answer with a single CRLF pong.
    Ping,
}

/// Accumulates bytes from one connection and cuts them into messages.
/// An `Err` means the stream can no longer be framed: close the connection.
#[derive(Debug)]
pub struct StreamFramer {
    buf: Vec<u8>,
    max_size: usize,
    /// How far the search for the blank line has got: a header trickled in
    /// byte by byte is scanned once, not once per byte.
    scanned: usize,
}

impl StreamFramer {
    pub fn new(max_size: usize) -> Self {
        StreamFramer {
            buf: Vec::new(),
            max_size,
            scanned: 0,
        }
    }

    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// Bytes waiting for the rest of a message.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }

    pub fn next_frame(&mut self) -> Result<Option<Frame>, ParseError> {
        // Keep-alives: CRLFCRLF is a ping; a lone CRLF (a pong, or padding) is skipped.
        loop {
            if self.buf.starts_with(b"\r\n\r\n") {
                self.buf.drain(..4);
                self.scanned = 0;
                return Ok(Some(Frame::Ping));
            }
            if self.buf.starts_with(b"\r\n") && self.buf.len() >= 3 && self.buf[2] != b'\r' {
                self.buf.drain(..2);
                self.scanned = 0;
                continue;
            }
            if self.buf.first() == Some(&b'\n') {
                self.buf.drain(..1);
                self.scanned = 0;
                continue;
            }
            break;
        }
        if self.buf.is_empty() || self.buf == b"\r\n" || self.buf == b"\r\n\r" || self.buf == b"\r"
        {
            return Ok(None);
        }
        let from = self.scanned.saturating_sub(3);
        let Some(head_end) = find_head_end(&self.buf[from..]).map(|e| e + from) else {
            self.scanned = self.buf.len();
            if self.buf.len() > self.max_size {
                return Err(ParseError::TooLarge(self.max_size));
            }
            return Ok(None);
        };
        if head_end > self.max_size {
            return Err(ParseError::TooLarge(self.max_size));
        }
        let mut msg = parse_head(&self.buf[..head_end])?;
        let body_len = match content_length(msg.headers()) {
            Ok(Some(n)) => n,
            // RFC 3261 §18.3 makes it mandatory on streams; without it we cannot
            // find the next message, so the connection cannot go on.
            Ok(None) | Err(()) => return Err(ParseError::BadContentLength),
        };
        if head_end + body_len > self.max_size {
            return Err(ParseError::TooLarge(self.max_size));
        }
        if self.buf.len() < head_end + body_len {
            return Ok(None);
        }
        let body = self.buf[head_end..head_end + body_len].to_vec();
        self.buf.drain(..head_end + body_len);
        self.scanned = 0;
        match &mut msg {
            Message::Request(r) => r.body = body,
            Message::Response(r) => r.body = body,
        }
        check(&mut msg);
        Ok(Some(Frame::Message(msg)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPT: &[u8] = b"OPTIONS sip:h SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\nFrom: <sip:a@h>;tag=1\r\nTo: <sip:h>\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\nContent-Length: 3\r\n\r\nabc";

    fn frames(f: &mut StreamFramer) -> Vec<String> {
        let mut out = Vec::new();
        while let Some(fr) = f.next_frame().unwrap() {
            out.push(match fr {
                Frame::Ping => "ping".to_string(),
                Frame::Message(Message::Request(r)) => {
                    format!("{} {}", r.method, String::from_utf8_lossy(&r.body))
                }
                Frame::Message(Message::Response(r)) => r.code.to_string(),
            });
        }
        out
    }

    #[test]
    fn splits_and_joins_messages_at_any_boundary() {
        let mut all = Vec::new();
        all.extend_from_slice(b"\r\n\r\n");
        all.extend_from_slice(OPT);
        all.extend_from_slice(OPT);
        for chunk in 1..all.len() {
            let mut f = StreamFramer::new(65535);
            let mut got = Vec::new();
            for piece in all.chunks(chunk) {
                f.push(piece);
                got.extend(frames(&mut f));
            }
            assert_eq!(got, ["ping", "OPTIONS abc", "OPTIONS abc"], "chunk {chunk}");
            assert_eq!(f.pending(), 0);
        }
    }

    #[test]
    fn missing_or_bad_content_length_closes() {
        let text = String::from_utf8_lossy(OPT).replace("Content-Length: 3\r\n\r\nabc", "\r\n");
        let mut f = StreamFramer::new(65535);
        f.push(text.as_bytes());
        assert_eq!(f.next_frame().unwrap_err(), ParseError::BadContentLength);
        let neg = String::from_utf8_lossy(OPT).replace("Content-Length: 3", "Content-Length: -3");
        let mut f = StreamFramer::new(65535);
        f.push(neg.as_bytes());
        assert_eq!(f.next_frame().unwrap_err(), ParseError::BadContentLength);
    }

    #[test]
    fn size_limits() {
        let mut f = StreamFramer::new(100);
        f.push(&[b'a'; 101]);
        assert_eq!(f.next_frame().unwrap_err(), ParseError::TooLarge(100));
        let big =
            String::from_utf8_lossy(OPT).replace("Content-Length: 3", "Content-Length: 99999");
        let mut f = StreamFramer::new(65535);
        f.push(big.as_bytes());
        assert_eq!(f.next_frame().unwrap_err(), ParseError::TooLarge(65535));
    }
}
