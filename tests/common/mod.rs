//! Shared harness for integration tests: runs the real `switchboard` binary on
//! loopback with free ports and a private `var/`, and finds third-party peers.
#![allow(dead_code)]

use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant};

/// Repository root (where `switchboard.yaml` lives).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A port free for both UDP and TCP on 127.0.0.1. Ports are spread by process
/// id and a counter so parallel test binaries and threads do not collide.
pub fn free_port() -> u16 {
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let base = 20000 + (std::process::id() % 400) as u16 * 100;
    for _ in 0..2000 {
        let p = base + NEXT.fetch_add(1, Ordering::Relaxed) % 10000;
        let p = 20000 + (p - 20000) % 40000;
        if UdpSocket::bind(("127.0.0.1", p)).is_ok() && TcpListener::bind(("127.0.0.1", p)).is_ok() {
            return p;
        }
    }
    panic!("no free port");
}

/// A running `switchboard serve`, killed on drop.
pub struct Server {
    pub child: Child,
    pub sip: SocketAddr,
    pub dir: tempfile::TempDir,
    pub log: PathBuf,
}

impl Server {
    /// Starts the demo configuration (`switchboard.yaml`) on a free port.
    pub fn demo() -> Server {
        Self::start_with(&repo().join("switchboard.yaml"))
    }

    /// Starts with a configuration given as YAML text. `ivr-flows/` and
    /// `sounds/` from the repository are used (paths in the text are relative
    /// to the repository root).
    pub fn with_config(yaml: &str) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("switchboard.yaml");
        let yaml = format!(
            "{yaml}\nflows_dir: {}\nsounds_dir: {}\n",
            repo().join("ivr-flows").display(),
            repo().join("sounds").display()
        );
        std::fs::write(&path, yaml).unwrap();
        let mut s = Self::start_in(dir, &path, &[]);
        s.wait_ready();
        s
    }

    pub fn start_with(config: &Path) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Self::start_in(dir, config, &[]);
        s.wait_ready();
        s
    }

    /// Starts with extra command-line arguments, without waiting for readiness.
    pub fn start_in(dir: tempfile::TempDir, config: &Path, extra: &[&str]) -> Server {
        let port = free_port();
        let sip: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let var = dir.path().join("var");
        let log = dir.path().join("switchboard.log");
        let child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
            .arg("serve")
            .arg("--config")
            .arg(config)
            .arg("--sip-listen")
            .arg(sip.to_string())
            .arg("--var-dir")
            .arg(&var)
            .args(extra)
            .env("SWITCHBOARD_LOG", "debug")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("start switchboard");
        Server { child, sip, dir, log }
    }

    /// Waits until the server answers an OPTIONS over UDP (at most 20 s).
    pub fn wait_ready(&mut self) {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut n = 0;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("switchboard exited with {status}:\n{}", self.log_text());
            }
            n += 1;
            let msg = options_request(&sock.local_addr().unwrap(), &self.sip, &format!("ready-{n}"));
            let _ = sock.send_to(msg.as_bytes(), self.sip);
            let mut buf = [0u8; 4096];
            if let Ok((len, _)) = sock.recv_from(&mut buf) {
                if buf[..len].starts_with(b"SIP/2.0 200") {
                    return;
                }
            }
        }
        panic!("switchboard did not answer OPTIONS within 20 s:\n{}", self.log_text());
    }

    pub fn var_dir(&self) -> PathBuf {
        self.dir.path().join("var")
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// SIGTERM, then wait (graceful drain).
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(s)) = self.child.try_wait() {
                return s;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        self.child.wait().unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("--- switchboard log ---\n{}", self.log_text());
        }
    }
}

pub fn options_request(from: &SocketAddr, to: &SocketAddr, call_id: &str) -> String {
    format!(
        "OPTIONS sip:{to} SIP/2.0\r\n\
         Via: SIP/2.0/UDP {from};branch=z9hG4bK-{call_id};rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:probe@{from}>;tag=probe\r\n\
         To: <sip:{to}>\r\n\
         Call-ID: {call_id}\r\n\
         CSeq: 1 OPTIONS\r\n\
         Content-Length: 0\r\n\r\n"
    )
}

/// Is a program on PATH? Integration tests with third-party peers require
/// them (the test command installs them); a missing one fails the test loudly
/// rather than skipping it, unless SWITCHBOARD_ALLOW_MISSING_PEERS=1.
pub fn require_tool(name: &str) -> bool {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {name}"))
        .stdout(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !found {
        if std::env::var("SWITCHBOARD_ALLOW_MISSING_PEERS").as_deref() == Ok("1") {
            eprintln!("SKIPPED: {name} is not installed");
            return false;
        }
        panic!("{name} is not installed: run tests/run.sh, which installs the test peers");
    }
    true
}
