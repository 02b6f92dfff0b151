//! TCP stream framing: the same bytes pushed at once or in small pieces must
//! give the same frames (pings and messages), up to the first error (after
//! which the connection is closed). Nothing may panic.
//!
//! The first input byte picks the piece size (1..=64).
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchboard::sip::framing::{Frame, StreamFramer};
use switchboard::sip::message::Message;

const MAX: usize = 65535;

/// `None` is a ping; `Err(())` ends the stream.
type Out = Result<Option<Message>, ()>;

fn drain(f: &mut StreamFramer, out: &mut Vec<Out>) -> bool {
    // Each call consumes bytes or returns; bound the loop anyway.
    for _ in 0..100_000 {
        match f.next_frame() {
            Ok(Some(Frame::Message(m))) => {
                let _ = m.to_bytes();
                out.push(Ok(Some(m)));
            }
            Ok(Some(Frame::Ping)) => out.push(Ok(None)),
            Ok(None) => return true,
            Err(_) => {
                out.push(Err(()));
                return false;
            }
        }
    }
    panic!("next_frame kept returning frames without consuming input");
}

fuzz_target!(|data: &[u8]| {
    let Some((first, data)) = data.split_first() else {
        return;
    };
    let piece = usize::from(*first % 64) + 1;

    let mut whole = StreamFramer::new(MAX);
    whole.push(data);
    let mut a = Vec::new();
    drain(&mut whole, &mut a);

    let mut split = StreamFramer::new(MAX);
    let mut b = Vec::new();
    for chunk in data.chunks(piece) {
        split.push(chunk);
        if !drain(&mut split, &mut b) {
            break;
        }
    }
    assert_eq!(
        a, b,
        "framing depends on how the bytes were split (piece {piece})"
    );
});
