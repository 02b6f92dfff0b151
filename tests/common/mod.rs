//! Shared harness for integration tests: runs the real `switchboard` binary on
//! loopback with free ports and a private `var/`, and finds third-party peers.
#![allow(dead_code)]

pub mod audio;
pub mod http;

use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// Repository root (where `switchboard.yaml` lives).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A port free for both UDP and TCP on 127.0.0.1. Ports are spread by process
/// id and a counter so parallel test binaries and threads do not collide.
pub fn free_port() -> u16 {
    for _ in 0..2000 {
        let p = claim_ports(1);
        if port_free(p) {
            return p;
        }
    }
    panic!("no free port");
}

/// The next `n` ports of this process's window (20000..60000, placed by
/// process id). A block is claimed in one step, so the threads of one test
/// binary never get the same port nor split each other's blocks.
fn claim_ports(n: u16) -> u16 {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let offset = (std::process::id() % 400) * 100;
    loop {
        let k = NEXT.fetch_add(u32::from(n), Ordering::Relaxed) % 10000;
        let p = 20000 + (offset + k) % 40000;
        if p + u32::from(n) <= 60000 {
            return p as u16;
        }
    }
}

fn port_free(p: u16) -> bool {
    UdpSocket::bind(("127.0.0.1", p)).is_ok() && TcpListener::bind(("127.0.0.1", p)).is_ok()
}

/// A running `switchboard serve`, killed on drop.
pub struct Server {
    pub child: Child,
    pub sip: SocketAddr,
    /// The admin API and wallboard (always on a free port of its own, so
    /// servers run side by side; the demo token applies when configured).
    pub admin: SocketAddr,
    pub dir: tempfile::TempDir,
    pub log: PathBuf,
    config: PathBuf,
    extra: Vec<String>,
    env: Vec<(String, String)>,
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
        let extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        Self::start_env(dir, config, extra, &[])
    }

    /// The demo configuration with `flows_dir` pointing at a copy of
    /// `ivr-flows/` the test may edit, and extra environment variables.
    pub fn demo_with_flows(env: &[(&str, &str)]) -> (Server, PathBuf) {
        Self::demo_with_flows_and(env, &[])
    }

    /// `demo_with_flows` with `(old, new)` replacements in `switchboard.yaml`.
    pub fn demo_with_flows_and(
        env: &[(&str, &str)],
        replacements: &[(&str, &str)],
    ) -> (Server, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let flows = dir.path().join("flows");
        std::fs::create_dir_all(&flows).unwrap();
        for f in std::fs::read_dir(repo().join("ivr-flows"))
            .unwrap()
            .flatten()
        {
            std::fs::copy(f.path(), flows.join(f.file_name())).unwrap();
        }
        let yaml = format!(
            "{}\nflows_dir: {}\nsounds_dir: {}\n",
            demo_config_with(replacements),
            flows.display(),
            repo().join("sounds").display()
        );
        let config = dir.path().join("switchboard.yaml");
        std::fs::write(&config, yaml).unwrap();
        let mut s = Self::start_env(dir, &config, Vec::new(), env);
        s.wait_ready();
        (s, flows)
    }

    /// Like `start_in`, with extra environment variables (e.g. `SWITCHBOARD_CLOCK`).
    pub fn start_env(
        dir: tempfile::TempDir,
        config: &Path,
        extra: Vec<String>,
        env: &[(&str, &str)],
    ) -> Server {
        let port = free_port();
        let sip: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let admin: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let log = dir.path().join("switchboard.log");
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let mut extra = extra;
        extra.extend(["--admin-listen".to_string(), admin.to_string()]);
        let child = Self::spawn(config, sip, &dir.path().join("var"), &extra, &env, &log);
        Server {
            child,
            sip,
            admin,
            dir,
            log,
            config: config.to_path_buf(),
            extra,
            env,
        }
    }

    fn spawn(
        config: &Path,
        sip: SocketAddr,
        var: &Path,
        extra: &[String],
        env: &[(String, String)],
        log: &Path,
    ) -> Child {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap();
        Command::new(env!("CARGO_BIN_EXE_switchboard"))
            .arg("serve")
            .arg("--config")
            .arg(config)
            .arg("--sip-listen")
            .arg(sip.to_string())
            .arg("--var-dir")
            .arg(var)
            .args(extra)
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("SWITCHBOARD_LOG", "debug")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start switchboard")
    }

    /// Kills the server (SIGKILL: nothing gets a chance to flush) and starts it
    /// again on the same port, configuration and `var/`; the log continues.
    pub fn restart(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let var = self.dir.path().join("var");
        self.child = Self::spawn(
            &self.config,
            self.sip,
            &var,
            &self.extra,
            &self.env,
            &self.log,
        );
        self.wait_ready();
    }

    /// Waits until the server answers an OPTIONS over UDP (at most 20 s).
    pub fn wait_ready(&mut self) {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut n = 0;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("switchboard exited with {status}:\n{}", self.log_text());
            }
            n += 1;
            let msg = options_request(
                &sock.local_addr().unwrap(),
                &self.sip,
                &format!("ready-{n}"),
            );
            let _ = sock.send_to(msg.as_bytes(), self.sip);
            let mut buf = [0u8; 4096];
            if let Ok((len, _)) = sock.recv_from(&mut buf) {
                if buf[..len].starts_with(b"SIP/2.0 200") {
                    return;
                }
            }
        }
        panic!(
            "switchboard did not answer OPTIONS within 20 s:\n{}",
            self.log_text()
        );
    }

    pub fn var_dir(&self) -> PathBuf {
        self.dir.path().join("var")
    }

    /// The finished call records (`switchboard cdr export --format jsonl`),
    /// waiting (bounded) until there are at least `want`: the writer thread
    /// stores a record just after the call ends.
    pub fn records(&self, want: usize) -> Vec<serde_json::Value> {
        let mut closed = Vec::new();
        for _ in 0..50 {
            let out = Command::new(env!("CARGO_BIN_EXE_switchboard"))
                .args(["cdr", "export", "--format", "jsonl", "--config"])
                .arg(&self.config)
                .arg("--var-dir")
                .arg(self.var_dir())
                .output()
                .expect("switchboard cdr export");
            assert!(
                out.status.success(),
                "cdr export: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            closed = String::from_utf8_lossy(&out.stdout)
                .lines()
                .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
                .filter(|r| r["disposition"]["kind"] != "in_progress")
                .collect();
            if closed.len() >= want {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        closed
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// SIGTERM, then wait (graceful drain).
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
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

// ---------------------------------------------------------------------------
// Third-party peers: SIPp, baresip, PJSUA2. Every process is owned by a guard
// that kills it on drop, and every wait is bounded in time.
// ---------------------------------------------------------------------------

/// `n` consecutive ports free for UDP and TCP on 127.0.0.1 (for peers that
/// bind a block, e.g. SIPp's `-mp P` binds P..P+3), claimed from the same
/// sequence as `free_port()` in one step, so that no other thread gets them.
pub fn free_port_range(n: u16) -> u16 {
    for _ in 0..500 {
        let first = claim_ports(n);
        if (0..n).all(|i| port_free(first + i)) {
            return first;
        }
    }
    panic!("no {n} consecutive free ports");
}

/// A child process that is killed (and reaped) when dropped.
pub struct Proc {
    pub child: Child,
    pub name: String,
}

impl Proc {
    pub fn spawn(name: &str, cmd: &mut Command) -> Proc {
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        Proc {
            child,
            name: name.to_string(),
        }
    }

    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Waits at most `limit` for the process to exit by itself.
    pub fn wait_for(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends SIGTERM to this process only.
    pub fn sigterm(&self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// The registrar the peer tests talk to: normally Switchboard with the given
/// configuration. For developing scenarios against a reference registrar
/// (e.g. Kamailio with the same users), set
/// `SWITCHBOARD_TEST_REGISTRAR=127.0.0.1:PORT`; then no server is started and
/// Switchboard-specific checks are left out.
pub struct Target {
    pub server: Option<Server>,
    pub addr: SocketAddr,
}

impl Target {
    pub fn demo() -> Target {
        Self::external().unwrap_or_else(|| {
            let server = Server::demo();
            Target {
                addr: server.sip,
                server: Some(server),
            }
        })
    }

    /// The demo configuration with some lines replaced (`(old, new)` pairs;
    /// each `old` must occur in `switchboard.yaml`).
    pub fn demo_with(replacements: &[(&str, &str)]) -> Target {
        Self::external().unwrap_or_else(|| {
            let server = Server::with_config(&demo_config_with(replacements));
            Target {
                addr: server.sip,
                server: Some(server),
            }
        })
    }

    fn external() -> Option<Target> {
        let addr = std::env::var("SWITCHBOARD_TEST_REGISTRAR").ok()?;
        let addr = addr
            .parse()
            .expect("SWITCHBOARD_TEST_REGISTRAR must be HOST:PORT");
        eprintln!("NOTE: testing the external registrar {addr}, not Switchboard");
        Some(Target { server: None, addr })
    }

    pub fn is_switchboard(&self) -> bool {
        self.server.is_some()
    }
}

/// `switchboard.yaml` as text with `(old, new)` replacements, ready for
/// `Server::with_config` (which adds `flows_dir` and `sounds_dir` itself).
pub fn demo_config_with(replacements: &[(&str, &str)]) -> String {
    let mut text = std::fs::read_to_string(repo().join("switchboard.yaml")).unwrap();
    for (old, new) in replacements {
        assert!(text.contains(old), "switchboard.yaml has no `{old}`");
        text = text.replace(old, new);
    }
    text.lines()
        .filter(|l| !l.starts_with("flows_dir:") && !l.starts_with("sounds_dir:"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Udp,
    Tcp,
}

impl Transport {
    pub fn name(self) -> &'static str {
        match self {
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
        }
    }
}

/// One SIPp run of a scenario from `tests/sipp/`, always with explicit
/// loopback addresses and free ports, `-nostdin -timeout 20s -timeout_error`,
/// and its own watchdog.
pub struct Sipp {
    scenario: String,
    target: SocketAddr,
    transport: Transport,
    args: Vec<String>,
    port: u16,
    calls: u32,
}

/// What a SIPp run left: exit code, final statistics (stdout), the message
/// trace (`-trace_msg`) and the error log (`-trace_err`).
pub struct SippRun {
    pub code: Option<i32>,
    pub stdout: String,
    pub messages: String,
    pub errors: String,
    pub calls: u32,
    pub command: String,
}

impl Sipp {
    /// `scenario` is a file name in `tests/sipp/`, e.g. `register.xml`.
    pub fn new(scenario: &str, target: SocketAddr) -> Sipp {
        Sipp {
            scenario: scenario.to_string(),
            target,
            transport: Transport::Udp,
            args: Vec::new(),
            port: 0,
            calls: 1,
        }
    }

    pub fn transport(mut self, t: Transport) -> Sipp {
        self.transport = t;
        self
    }

    /// `-s USER -au USER -ap PASSWORD`: the AOR user and the digest credentials.
    pub fn user(self, user: &str, password: &str) -> Sipp {
        self.arg("-s")
            .arg(user)
            .arg("-au")
            .arg(user)
            .arg("-ap")
            .arg(password)
    }

    /// Local SIP port (default: a fresh `free_port()`).
    pub fn port(mut self, port: u16) -> Sipp {
        self.port = port;
        self
    }

    /// Number of calls (`-m`), run one at a time (`-l 1`).
    pub fn calls(mut self, n: u32) -> Sipp {
        self.calls = n;
        self
    }

    pub fn arg(mut self, a: &str) -> Sipp {
        self.args.push(a.to_string());
        self
    }

    pub fn run(self) -> SippRun {
        let dir = tempfile::tempdir().unwrap();
        let scenario = repo().join("tests/sipp").join(&self.scenario);
        assert!(scenario.exists(), "no scenario {}", scenario.display());
        let port = if self.port == 0 {
            free_port()
        } else {
            self.port
        };
        let media_port = free_port_range(4); // audio RTP/RTCP, video RTP/RTCP
        let msg_file = dir.path().join("messages.log");
        let err_file = dir.path().join("errors.log");
        let out_file = dir.path().join("stdout.txt");
        let mut args: Vec<String> = vec![
            self.target.to_string(),
            "-sf".into(),
            scenario.display().to_string(),
            "-t".into(),
            match self.transport {
                Transport::Udp => "u1".into(),
                Transport::Tcp => "t1".into(),
            },
            "-i".into(),
            "127.0.0.1".into(),
            "-p".into(),
            port.to_string(),
            "-mi".into(),
            "127.0.0.1".into(),
            "-mp".into(),
            media_port.to_string(),
            "-m".into(),
            self.calls.to_string(),
            "-l".into(),
            "1".into(),
            "-nostdin".into(),
            "-timeout".into(),
            "20s".into(),
            "-timeout_error".into(),
            "-trace_msg".into(),
            "-message_file".into(),
            msg_file.display().to_string(),
            "-trace_err".into(),
            "-error_file".into(),
            err_file.display().to_string(),
        ];
        args.extend(self.args.iter().cloned());
        let command = format!("sipp {}", args.join(" "));
        let mut proc = Proc::spawn(
            "sipp",
            Command::new("sipp")
                .args(&args)
                .current_dir(dir.path())
                .stdin(Stdio::null())
                .stdout(std::fs::File::create(&out_file).unwrap())
                .stderr(Stdio::from(
                    std::fs::OpenOptions::new()
                        .append(true)
                        .open(&out_file)
                        .unwrap(),
                )),
        );
        // SIPp's own -timeout is 20 s; the watchdog only catches a hang.
        let status = proc.wait_for(Duration::from_secs(60));
        drop(proc);
        let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
        SippRun {
            code: status.and_then(|s| s.code()),
            stdout: read(&out_file),
            messages: read(&msg_file),
            errors: read(&err_file),
            calls: self.calls,
            command,
        }
    }
}

impl SippRun {
    /// A counter from the final statistics screen, e.g. `Successful call`.
    pub fn counter(&self, name: &str) -> Option<u64> {
        self.stdout
            .lines()
            .rev()
            .find(|l| l.trim_start().starts_with(name))
            .and_then(|l| l.rsplit('|').next())
            .and_then(|v| v.trim().parse().ok())
    }

    /// Exit code 0 and every call successful.
    pub fn assert_ok(&self, what: &str) {
        assert!(
            self.code == Some(0) && self.counter("Successful call") == Some(self.calls as u64),
            "{what}: SIPp failed (exit {:?}, {:?} of {} calls successful)\ncommand: {}\n\
             --- errors ---\n{}\n--- messages ---\n{}\n--- stdout (tail) ---\n{}",
            self.code,
            self.counter("Successful call"),
            self.calls,
            self.command,
            self.errors,
            self.messages,
            tail(&self.stdout, 40),
        );
    }

    /// The SIP messages SIPp received, in order.
    pub fn received(&self) -> Vec<String> {
        self.trace(true)
    }

    /// The SIP messages SIPp sent, in order.
    pub fn sent(&self) -> Vec<String> {
        self.trace(false)
    }

    fn trace(&self, received: bool) -> Vec<String> {
        let mut out = Vec::new();
        let mut current: Option<String> = None;
        for line in self.messages.lines() {
            if line.starts_with("-----------------------------------------------") {
                if let Some(m) = current.take() {
                    out.push(m.trim().to_string());
                }
                continue;
            }
            let is_header = (line.starts_with("UDP message") || line.starts_with("TCP message"))
                && (line.contains(" sent ") || line.contains(" received "));
            if is_header {
                current = if line.contains(" received ") == received {
                    Some(String::new())
                } else {
                    None
                };
                continue;
            }
            if let Some(m) = current.as_mut() {
                m.push_str(line);
                m.push_str("\r\n");
            }
        }
        if let Some(m) = current.take() {
            out.push(m.trim().to_string());
        }
        out.retain(|m| !m.is_empty());
        out
    }
}

pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// The values of every header `name` (case-insensitive, full form) in a SIP message.
pub fn header_values(msg: &str, name: &str) -> Vec<String> {
    msg.lines()
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
        .collect()
}

/// A headless baresip (sip-peers.md §3): configuration generated into a
/// temporary directory, ctrl_tcp on a free port, events recorded. User agents
/// are created over ctrl_tcp (`uanew`) after the control connection is up, so
/// no REGISTER_OK/FAIL event can be missed.
pub struct Baresip {
    pub proc: Proc,
    pub dir: tempfile::TempDir,
    pub sip_port: u16,
    pub ctrl_port: u16,
    ctrl: std::net::TcpStream,
    buf: Vec<u8>,
    /// Every event received so far, in order.
    pub events: Vec<serde_json::Value>,
    responses: Vec<serde_json::Value>,
    token: u32,
}

impl Baresip {
    /// Starts baresip with no account. `source` is the WAV it sends in calls
    /// (8 kHz mono; longer than any call, baresip hangs up at its end).
    pub fn start(source: Option<&Path>) -> Baresip {
        let dir = tempfile::tempdir().unwrap();
        // baresip binds SIP on P (UDP and TCP) and TLS on P+1
        let sip_port = free_port_range(2);
        let ctrl_port = free_port();
        let rtp = free_port_range(8);
        let source = match source {
            Some(p) => format!("audio_source aufile,{}", p.display()),
            None => "audio_source aubridge,nil".to_string(),
        };
        let config = format!(
            "module_path /usr/lib/baresip/modules\n\
             sip_listen 127.0.0.1:{sip_port}\n\
             net_interface 127.0.0.1\n\
             statmode_default off\n\
             audio_player aubridge,nil\n\
             audio_alert aubridge,nil\n\
             {source}\n\
             ausrc_srate 8000\n\
             auplay_srate 8000\n\
             ausrc_channels 1\n\
             auplay_channels 1\n\
             rtp_ports {rtp}-{}\n\
             module g711.so\n\
             module aufile.so\n\
             module aubridge.so\n\
             module sndfile.so\n\
             snd_path {}\n\
             module_tmp uuid.so\n\
             module_tmp account.so\n\
             module_app menu.so\n\
             module_app ctrl_tcp.so\n\
             ctrl_tcp_listen 127.0.0.1:{ctrl_port}\n",
            rtp + 7,
            dir.path().display(),
        );
        std::fs::write(dir.path().join("config"), config).unwrap();
        std::fs::write(dir.path().join("accounts"), "").unwrap();
        let log = std::fs::File::create(dir.path().join("baresip.log")).unwrap();
        let mut proc = Proc::spawn(
            "baresip",
            Command::new("baresip")
                .arg("-f")
                .arg(dir.path())
                .current_dir(dir.path())
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log),
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        let ctrl = loop {
            if let Ok(s) = std::net::TcpStream::connect(("127.0.0.1", ctrl_port)) {
                break s;
            }
            if let Ok(Some(st)) = proc.child.try_wait() {
                panic!(
                    "baresip exited with {st}:\n{}",
                    std::fs::read_to_string(dir.path().join("baresip.log")).unwrap_or_default()
                );
            }
            assert!(
                Instant::now() < deadline,
                "baresip ctrl_tcp did not come up in 10 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        Baresip {
            proc,
            dir,
            sip_port,
            ctrl_port,
            ctrl,
            buf: Vec::new(),
            events: Vec::new(),
            responses: Vec::new(),
            token: 0,
        }
    }

    /// Adds a user agent for `user` at the registrar `registrar` (AOR
    /// `sip:USER@HOST:PORT`), registering every `regint` seconds.
    pub fn add_account(
        &mut self,
        user: &str,
        password: &str,
        registrar: SocketAddr,
        transport: Transport,
        extra: &str,
    ) -> serde_json::Value {
        let tp = match transport {
            Transport::Udp => "",
            Transport::Tcp => ";transport=tcp",
        };
        // `extra` may choose its own answer mode (`;answermode=manual`).
        let answer = if extra.contains("answermode=") {
            ""
        } else {
            "answermode=auto;"
        };
        let line = format!(
            "<sip:{user}@{registrar}{tp}>;auth_pass={password};{answer}\
             audio_codecs=PCMU,PCMA;regint=300{extra}"
        );
        self.command("uanew", &line)
    }

    /// Sends a command and waits (at most 10 s) for its response.
    pub fn command(&mut self, command: &str, params: &str) -> serde_json::Value {
        self.token += 1;
        let token = format!("t{}", self.token);
        let body =
            serde_json::json!({"command": command, "params": params, "token": token}).to_string();
        use std::io::Write;
        let frame = format!("{}:{},", body.len(), body);
        self.ctrl.write_all(frame.as_bytes()).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(i) = self
                .responses
                .iter()
                .position(|r| r["token"].as_str() == Some(token.as_str()))
            {
                return self.responses.remove(i);
            }
            assert!(
                Instant::now() < deadline,
                "baresip did not answer `{command}` in 10 s\n{}",
                self.log_text()
            );
            self.read_some(deadline);
        }
    }

    /// Waits at most `limit` for an event whose `type` is one of `types`
    /// (counting events already received) and returns it.
    pub fn wait_event(&mut self, types: &[&str], limit: Duration) -> Option<serde_json::Value> {
        let deadline = Instant::now() + limit;
        let mut seen = 0;
        loop {
            while seen < self.events.len() {
                let ev = &self.events[seen];
                seen += 1;
                if types.iter().any(|t| ev["type"].as_str() == Some(t)) {
                    return Some(ev.clone());
                }
            }
            if Instant::now() >= deadline {
                return None;
            }
            self.read_some(deadline);
        }
    }

    fn read_some(&mut self, deadline: Instant) {
        use std::io::Read;
        let left = deadline.saturating_duration_since(Instant::now());
        let wait = left.clamp(Duration::from_millis(1), Duration::from_millis(200));
        self.ctrl.set_read_timeout(Some(wait)).unwrap();
        let mut chunk = [0u8; 8192];
        match self.ctrl.read(&mut chunk) {
            Ok(0) => std::thread::sleep(wait),
            Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
            Err(_) => {}
        }
        // netstrings: LEN ":" JSON ","
        while let Some(colon) = self.buf.iter().position(|&b| b == b':') {
            let Ok(len) = std::str::from_utf8(&self.buf[..colon])
                .unwrap_or("x")
                .parse::<usize>()
            else {
                panic!(
                    "baresip ctrl_tcp: bad netstring {:?}",
                    String::from_utf8_lossy(&self.buf)
                );
            };
            if self.buf.len() < colon + 1 + len + 1 {
                break;
            }
            let body = self.buf[colon + 1..colon + 1 + len].to_vec();
            self.buf.drain(..colon + 1 + len + 1);
            let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_else(|e| {
                panic!(
                    "baresip ctrl_tcp: bad JSON ({e}): {}",
                    String::from_utf8_lossy(&body)
                )
            });
            if v["event"].as_bool() == Some(true) {
                self.events.push(v);
            } else {
                self.responses.push(v);
            }
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("baresip.log")).unwrap_or_default()
    }

    /// Asks baresip to quit (it un-REGISTERs first); SIGTERM if it does not
    /// exit within 5 s. Returns whether it exited by itself.
    pub fn stop(&mut self) -> bool {
        use std::io::Write;
        let body = r#"{"command":"quit","params":"","token":"quit"}"#;
        let _ = self
            .ctrl
            .write_all(format!("{}:{},", body.len(), body).as_bytes());
        if self.proc.wait_for(Duration::from_secs(5)).is_some() {
            return true;
        }
        self.proc.sigterm();
        self.proc.wait_for(Duration::from_secs(5)).is_some()
    }
}

/// The Python interpreter that has `pjsua2` (`SWITCHBOARD_PYTHON`, else
/// `python3`), or a loud failure like `require_tool` when it is missing.
pub fn require_pjsua2() -> Option<String> {
    let python = std::env::var("SWITCHBOARD_PYTHON").unwrap_or_else(|_| "python3".to_string());
    let ok = Command::new(&python)
        .arg("-c")
        .arg("import pjsua2")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if ok {
        return Some(python);
    }
    if std::env::var("SWITCHBOARD_ALLOW_MISSING_PEERS").as_deref() == Ok("1") {
        eprintln!("SKIPPED: {python} cannot import pjsua2");
        return None;
    }
    panic!("{python} cannot import pjsua2: run tests/run.sh, which installs pjsua2-python");
}

/// What `tests/peers/pj_peer.py` printed: its JSON lines, the rest of its
/// output, and its exit code.
pub struct PjRun {
    pub code: Option<i32>,
    pub events: Vec<serde_json::Value>,
    pub stdout: String,
    pub stderr: String,
    pub command: String,
}

impl PjRun {
    pub fn summary(&self) -> &serde_json::Value {
        self.events
            .iter()
            .rev()
            .find(|e| e["ev"] == "summary")
            .unwrap_or_else(|| panic!("pj_peer printed no summary\n{}", self.describe()))
    }

    pub fn describe(&self) -> String {
        format!(
            "command: {}\nexit: {:?}\n--- stdout ---\n{}\n--- stderr (tail) ---\n{}",
            self.command,
            self.code,
            self.stdout,
            tail(&self.stderr, 60)
        )
    }
}

/// Command line for `tests/peers/pj_peer.py` with `python` (see `require_pjsua2`).
pub fn pj_peer_command(python: &str, args: &[String]) -> Command {
    let mut cmd = Command::new(python);
    cmd.arg(repo().join("tests/peers/pj_peer.py")).args(args);
    cmd
}

/// Runs `pj_peer.py` to completion (killed after `limit`).
pub fn pj_peer(python: &str, args: &[String], limit: Duration) -> PjRun {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("stdout");
    let err = dir.path().join("stderr");
    let mut proc = Proc::spawn(
        "pj_peer",
        pj_peer_command(python, args)
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&out).unwrap())
            .stderr(std::fs::File::create(&err).unwrap()),
    );
    let status = proc.wait_for(limit);
    drop(proc);
    let stdout = std::fs::read_to_string(&out).unwrap_or_default();
    PjRun {
        code: status.and_then(|s| s.code()),
        events: stdout
            .lines()
            .filter(|l| l.starts_with('{'))
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect(),
        stdout,
        stderr: std::fs::read_to_string(&err).unwrap_or_default(),
        command: format!("{python} tests/peers/pj_peer.py {}", args.join(" ")),
    }
}

/// The digits the server logged for its calls, in order, with their source.
pub fn logged_digits(server: &Server, source: &str) -> String {
    server
        .log_text()
        .lines()
        .filter(|l| l.contains(" digit") && l.contains(&format!("source={source}")))
        .filter_map(|l| l.split("digit=").nth(1).and_then(|d| d.chars().next()))
        .collect()
}

/// Waits up to 5 s for the server log to contain `needle` (log lines are
/// written as events happen; the peer may exit a moment earlier).
pub fn wait_log(server: &Server, needle: &str) -> bool {
    for _ in 0..50 {
        if server.log_text().contains(needle) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

/// `pj_peer.py` arguments for an agent phone registered to `sip` as `user`,
/// on free ports, followed by `extra`.
pub fn agent_args(
    sip: std::net::SocketAddr,
    user: &str,
    password: &str,
    extra: &[&str],
) -> Vec<String> {
    let (port, rtp, registrar) = (
        free_port().to_string(),
        free_port_range(8).to_string(),
        sip.to_string(),
    );
    let base = [
        "--port",
        &port,
        "--rtp-port",
        &rtp,
        "--registrar",
        &registrar,
        "--user",
        user,
        "--password",
        password,
    ];
    base.iter().chain(extra).map(|s| s.to_string()).collect()
}

pub fn pj_call(server: &Server, number: &str, extra: &[&str]) -> (PjRun, tempfile::TempDir) {
    pj_call_to(server.sip, number, extra)
}

/// `pj_call` by address, for calls placed from another thread.
pub fn pj_call_to(sip: SocketAddr, number: &str, extra: &[&str]) -> (PjRun, tempfile::TempDir) {
    let python = require_pjsua2().expect("pjsua2");
    let dir = tempfile::tempdir().unwrap();
    let mut args: Vec<String> = vec![
        "--port".into(),
        free_port().to_string(),
        "--rtp-port".into(),
        free_port_range(8).to_string(),
        "--call".into(),
        format!("sip:{number}@{sip}"),
    ];
    for a in extra {
        args.push(a.replace("{dir}", &dir.path().display().to_string()));
    }
    let run = pj_peer(&python, &args, Duration::from_secs(40));
    (run, dir)
}
