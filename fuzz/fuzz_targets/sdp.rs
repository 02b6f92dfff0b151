//! SDP through the parser and the offer/answer: nothing may panic, and an
//! answer we produce must parse again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchboard::media::sdp::{self, SessionVersion};

fuzz_target!(|data: &[u8]| {
    let Ok(offer) = sdp::parse_bytes(data) else { return };
    let mut version = SessionVersion::new(1);
    if let Ok((_, answer)) = sdp::answer(&offer, "127.0.0.1:10000".parse().unwrap(), &mut version) {
        let again = sdp::parse(&answer).expect("our own answer parses");
        let _ = sdp::accept_answer(&again);
    }
});
