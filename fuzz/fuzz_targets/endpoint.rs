//! The whole SIP endpoint (transactions, dialogs, sessions, registrar) fed a
//! sequence of datagrams and clock jumps decided by the fuzzer. Nothing may
//! panic, and the endpoint must always name its next deadline sanely.
#![no_main]

use std::path::Path;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use switchboard::config::Config;
use switchboard::sip::endpoint::{Endpoint, Event, Input, Output};
use switchboard::sip::session::CallEvent;

fn config() -> &'static Config {
    static CFG: OnceLock<Config> = OnceLock::new();
    CFG.get_or_init(|| {
        Config::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../switchboard.yaml")).expect("demo config")
    })
}

fuzz_target!(|data: &[u8]| {
    let t0 = Instant::now();
    let mut now = t0;
    let mut ep = Endpoint::new(config(), "127.0.0.1:5060".parse().unwrap(), t0, [9; 32], 1);
    // Records: [kind, len_hi, len_lo, bytes...]; kind picks datagram / timeout / answer.
    let mut rest = data;
    while rest.len() >= 3 {
        let (kind, len) = (rest[0], usize::from(rest[1]) << 8 | usize::from(rest[2]));
        rest = &rest[3..];
        let take = len.min(rest.len());
        let (chunk, tail) = rest.split_at(take);
        rest = tail;
        match kind % 4 {
            0 | 1 => ep.handle_input(Input::Datagram {
                now,
                from: format!("127.0.0.1:{}", 5000 + u16::from(kind % 7)).parse().unwrap(),
                bytes: chunk,
            }),
            2 => {
                now += Duration::from_millis(u64::from(chunk.first().copied().unwrap_or(0)) * 250);
                ep.handle_input(Input::Timeout(now));
            }
            _ => {}
        }
        loop {
            match ep.poll_output() {
                Output::Transmit(_) => {}
                // Answer every call, so sessions and their timers get exercised too.
                Output::Event(Event::Call(CallEvent::Incoming { call, .. })) => {
                    ep.accept_call(now, call, "127.0.0.1:10000".parse().unwrap())
                }
                Output::Event(_) => {}
                Output::Timeout(at) => {
                    if let Some(at) = at {
                        assert!(at >= t0);
                    }
                    break;
                }
            }
        }
    }
});
