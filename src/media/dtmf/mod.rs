//! DTMF in its three transports: RFC 4733 telephone-events in RTP ([`rfc4733`]), tones in
//! the audio itself ([`inband`]), and SIP INFO bodies ([`info`]).
//!
//! Digits are plain `char`s: `'0'..='9'`, `'*'`, `'#'`, `'A'..='D'` (upper case).

pub mod inband;
pub mod info;
pub mod rfc4733;

pub use inband::InbandDetector;
pub use info::parse_info;
pub use rfc4733::{Event, Rfc4733Receiver, Rfc4733Sender, TelephonePacket};

/// All sixteen DTMF keys, in RFC 4733 event-code order (codes 0-15).
pub const DIGITS: [char; 16] = [
    '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '#', 'A', 'B', 'C', 'D',
];

/// Normalises a key to the canonical form (`'a'` → `'A'`); `None` if it is not a DTMF key.
pub fn normalize_digit(c: char) -> Option<char> {
    let c = c.to_ascii_uppercase();
    DIGITS.contains(&c).then_some(c)
}

/// Whether `c` is a canonical DTMF key.
pub fn is_digit(c: char) -> bool {
    DIGITS.contains(&c)
}
