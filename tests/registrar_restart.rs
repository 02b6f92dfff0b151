//! Registrations survive a restart (even a SIGKILL): the restarted server
//! still knows the agent's contact and pings it with OPTIONS (qualify).

mod common;

use std::net::UdpSocket;
use std::time::{Duration, Instant};

use common::{demo_config_with, Server};
use switchboard::sip::digest::{self, Algorithm};
use switchboard::store::BindingStore;

fn register(phone: &UdpSocket, server: std::net::SocketAddr, cseq: u32, auth: &str) -> String {
    let me = phone.local_addr().unwrap();
    let msg = format!(
        "REGISTER sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP {me};branch=z9hG4bKrestart{cseq};rport\r\nMax-Forwards: 70\r\n\
         From: <sip:1002@127.0.0.1>;tag=r1\r\nTo: <sip:1002@127.0.0.1>\r\nCall-ID: restart-test\r\nCSeq: {cseq} REGISTER\r\n\
         Contact: <sip:1002@{me}>\r\nExpires: 600\r\n{auth}Content-Length: 0\r\n\r\n"
    );
    phone.send_to(msg.as_bytes(), server).unwrap();
    let mut buf = [0u8; 4096];
    let (n, _) = phone.recv_from(&mut buf).expect("an answer to REGISTER");
    String::from_utf8_lossy(&buf[..n]).to_string()
}

#[test]
fn registrations_survive_a_kill_and_restart() {
    let yaml = demo_config_with(&[("qualify_interval: 30s", "qualify_interval: 1s")]);
    let mut server = Server::with_config(&yaml);
    let phone = UdpSocket::bind("127.0.0.1:0").unwrap();
    phone
        .set_read_timeout(Some(Duration::from_secs(3)))
        .unwrap();
    let challenge = register(&phone, server.sip, 1, "");
    assert!(challenge.starts_with("SIP/2.0 401"), "{challenge}");
    let www = challenge
        .lines()
        .find(|l| l.starts_with("WWW-Authenticate:") && l.contains("algorithm=MD5"))
        .unwrap();
    let nonce = www
        .split("nonce=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let ha1 = digest::ha1(Algorithm::Md5, "1002", "switchboard", "secret1002");
    let resp = digest::response(
        Algorithm::Md5,
        &ha1,
        nonce,
        Some("c0"),
        Some(1),
        Some("auth"),
        "REGISTER",
        "sip:127.0.0.1",
        b"",
    );
    let auth = format!(
        "Authorization: Digest username=\"1002\", realm=\"switchboard\", nonce=\"{nonce}\", uri=\"sip:127.0.0.1\", \
         response=\"{resp}\", algorithm=MD5, qop=auth, nc=00000001, cnonce=\"c0\"\r\n"
    );
    let ok = register(&phone, server.sip, 2, &auth);
    assert!(ok.starts_with("SIP/2.0 200"), "{ok}");

    // The binding reaches the database a moment after the 200 (the storage
    // thread writes it); kill only once it is there, as a crash could.
    let db = server.var_dir().join("switchboard.db");
    let stored = (0..100).any(|_| {
        let n = BindingStore::open(&db)
            .and_then(|s| s.load(BindingStore::now_unix()))
            .map(|b| b.len())
            .unwrap_or(0);
        n == 1 || {
            std::thread::sleep(Duration::from_millis(50));
            false
        }
    });
    assert!(stored, "the registration never reached {}", db.display());
    server.restart();
    assert!(
        server.log_text().contains("restored_registrations=1"),
        "{}",
        server.log_text()
    );

    // The restarted server pings the restored contact.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut buf = [0u8; 4096];
    let me = phone.local_addr().unwrap();
    let mut pinged = false;
    while Instant::now() < deadline && !pinged {
        if let Ok((n, _)) = phone.recv_from(&mut buf) {
            pinged = String::from_utf8_lossy(&buf[..n])
                .starts_with(&format!("OPTIONS sip:1002@{me} SIP/2.0"));
        }
    }
    assert!(
        pinged,
        "no qualify OPTIONS reached the restored contact\n{}",
        server.log_text()
    );
}
