//! The admin API of a running server with real phones and real queued
//! callers: the token, agents paused through the API, a caller waiting in a
//! queue with a growing wait, the live stream, /metrics — and the wallboard
//! in headless Chromium.

mod common;

use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::http::{get, post, wait_event};
use common::{pj_call_to, repo, require_pjsua2, require_tool, Baresip, Server, Transport};

const OPEN: &str = "2026-11-23T10:00:00[Europe/London]";
const TOKEN: Option<&str> = Some("switchboard-demo");

/// A billing call centre where agent 1001 rings until answered (so a
/// second caller must wait) and 1003 can register from baresip.
struct Scene {
    server: Server,
    _flows: std::path::PathBuf,
    phones: Baresip,
    callers: Vec<std::thread::JoinHandle<(common::PjRun, tempfile::TempDir)>>,
}

impl Scene {
    fn start() -> Option<Scene> {
        if require_pjsua2().is_none() || !require_tool("baresip") {
            return None;
        }
        let (server, flows) = Server::demo_with_flows_and(
            &[("SWITCHBOARD_CLOCK", OPEN)],
            &[
                ("ring_timeout: 15s", "ring_timeout: 10m"),
                (
                    "skills: { tech: 6, orders: 7 }",
                    "skills: { tech: 6, orders: 7 }\n    algorithms: [MD5]",
                ),
            ],
        );
        // 1001 (billing) rings and never answers; 1003 (not billing) answers.
        let mut phones = Baresip::start(None);
        phones.add_account(
            "1001",
            "secret1001",
            server.sip,
            Transport::Udp,
            ";answermode=manual",
        );
        phones.add_account("1003", "secret1003", server.sip, Transport::Udp, "");
        Some(Scene {
            server,
            _flows: flows,
            phones,
            callers: vec![],
        })
    }

    fn admin(&self) -> SocketAddr {
        self.server.admin
    }

    /// Polls `path` (at most 30 s) until `ok` holds for its JSON.
    fn wait_json(&self, path: &str, ok: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let v = get(self.admin(), path, TOKEN).json();
            if ok(&v) {
                return v;
            }
            assert!(
                Instant::now() < deadline,
                "{path} never became as expected; last: {v:#}\n{}",
                common::tail(&self.server.log_text(), 40)
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn agent_state(&self, ext: &str) -> String {
        let a = get(self.admin(), &format!("/api/agents/{ext}"), TOKEN).json();
        a["state"].as_str().unwrap().to_string()
    }

    /// A PJSUA2 caller choosing English (1) and billing (1), holding `hold` s.
    fn billing_caller(&mut self, hold: u32) {
        let sip = self.server.sip;
        let hold = hold.to_string();
        self.callers.push(std::thread::spawn(move || {
            pj_call_to(
                sip,
                "5000",
                &[
                    "--dtmf",
                    "11",
                    "--dtmf-at",
                    "1",
                    "--hold",
                    &hold,
                    "--timeout",
                    "40",
                ],
            )
        }));
    }

    /// Waits until both agents are registered and available.
    fn agents_ready(&mut self) {
        for _ in 0..2 {
            assert!(
                self.phones
                    .wait_event(&["REGISTER_OK"], Duration::from_secs(10))
                    .is_some(),
                "{}",
                self.phones.log_text()
            );
        }
        self.wait_json("/api/agents", |v| {
            ["1001", "1003"].iter().all(|ext| {
                v.as_array()
                    .unwrap()
                    .iter()
                    .any(|a| a["extension"] == *ext && a["state"] == "available")
            })
        });
    }

    /// Two billing callers: the first rings 1001, the second waits.
    fn queue_two_callers(&mut self) -> serde_json::Value {
        self.billing_caller(30);
        self.wait_json("/api/queues/billing", |q| q["ringing"] == 1);
        self.billing_caller(30);
        self.wait_json("/api/queues/billing", |q| q["waiting"] == 1)
    }

    fn finish_callers(&mut self) {
        for c in self.callers.drain(..) {
            let (run, _dir) = c.join().unwrap();
            assert!(run.summary()["ok"] == true, "{}", run.describe());
        }
    }
}

#[test]
fn the_api_needs_the_token_pauses_agents_and_shows_waiting_callers() {
    let Some(mut s) = Scene::start() else {
        return;
    };
    let admin = s.admin();
    for path in ["/api/agents", "/api/queues", "/api/calls", "/metrics"] {
        let r = get(admin, path, None);
        assert_eq!(r.status, 401, "{path}: {}", r.body);
        assert_eq!(
            r.header("www-authenticate"),
            Some("Bearer realm=\"switchboard\"")
        );
        assert_eq!(
            get(admin, path, Some("not-the-token")).status,
            401,
            "{path}"
        );
    }
    assert_eq!(post(admin, "/api/agents/1003/pause", None, "").status, 401);
    let page = get(admin, "/", None);
    assert_eq!(page.status, 200);
    assert!(page.body.contains("wallboard.js"), "{}", page.body);

    s.agents_ready();
    let names: Vec<String> = get(admin, "/api/agents", TOKEN)
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        names,
        [
            "Alice Archer",
            "Bahram Bakhtiari",
            "Svetlana Sokolova",
            "Omar Osei"
        ]
    );

    // Pause through the API: the agents list shows it, with the reason.
    let r = post(
        admin,
        "/api/agents/1003/pause",
        TOKEN,
        r#"{"reason": "lunch"}"#,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["state"], "paused");
    let agents = get(admin, "/api/agents", TOKEN).json();
    let a1003 = agents
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["extension"] == "1003")
        .unwrap();
    assert_eq!(
        (a1003["state"].as_str(), a1003["reason"].as_str()),
        (Some("paused"), Some("lunch"))
    );
    assert!(s.server.log_text().contains("admin API command"));
    let metrics = get(admin, "/metrics", TOKEN).body;
    assert!(
        metrics
            .lines()
            .any(|l| l == "switchboard_agents{state=\"paused\"} 1"),
        "{metrics}"
    );
    // Refusals: an unknown agent, an unknown action.
    assert_eq!(post(admin, "/api/agents/1999/pause", TOKEN, "").status, 404);
    assert_eq!(post(admin, "/api/agents/1003/nap", TOKEN, "").status, 404);

    // A caller rings 1001, the next one waits; its wait grows.
    let q = s.queue_two_callers();
    let first = q["longest_wait_s"].as_f64().unwrap();
    let waiting = q["callers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["status"] == "waiting")
        .unwrap()
        .clone();
    // Behind the caller whose agent is ringing.
    assert_eq!(waiting["position"], 2);
    assert_eq!(s.agent_state("1001"), "offered");
    let later = s.wait_json("/api/queues/billing", |q| {
        q["longest_wait_s"].as_f64().unwrap() > first && q["waiting"] == 1
    });
    let again = later["callers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["call"] == waiting["call"])
        .unwrap();
    assert!(
        again["waited_s"].as_f64() > waiting["waited_s"].as_f64(),
        "{later:#}"
    );

    let calls = get(admin, "/api/calls", TOKEN).json();
    let statuses: Vec<&str> = calls
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["ringing", "queued"], "{calls:#}");
    assert!(
        calls[0]["queue"] == "billing" && calls[0]["flow"] == "support",
        "{calls:#}"
    );

    // The live stream carries the same picture.
    let snap = wait_event(
        admin,
        "/api/wallboard/stream",
        TOKEN,
        Duration::from_secs(10),
        |v| {
            v["queues"]
                .as_array()
                .unwrap()
                .iter()
                .any(|q| q["name"] == "billing" && q["waiting"] == 1)
        },
    );
    assert!(snap.is_some(), "no snapshot with a waiting billing caller");
    let metrics = get(admin, "/metrics", TOKEN).body;
    for want in [
        "switchboard_queue_callers_waiting{queue=\"billing\"} 1",
        "switchboard_queue_callers_ringing{queue=\"billing\"} 1",
        "switchboard_calls_in_progress 2",
        "switchboard_queue_calls_offered_total{queue=\"billing\"} 2",
    ] {
        assert!(
            metrics.lines().any(|l| l == want),
            "no {want:?} in\n{metrics}"
        );
    }
    // The media thread's counters: both callers hear hold music.
    let value = |name: &str| -> f64 {
        let line = metrics.lines().find(|l| l.starts_with(&format!("{name} ")));
        line.and_then(|l| l[name.len() + 1..].parse().ok())
            .unwrap_or_else(|| panic!("no {name} in\n{metrics}"))
    };
    assert!(value("switchboard_rtp_streams") >= 2.0, "{metrics}");
    assert!(
        value("switchboard_rtp_packets_sent_total") > 0.0,
        "{metrics}"
    );
    assert_eq!(value("switchboard_rtp_send_errors_total"), 0.0, "{metrics}");
    let flows = get(admin, "/api/flows", TOKEN).json();
    assert_eq!(flows["version"], 1);
    assert!(flows["flows"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f == "support"));

    // Both hang up unanswered: two abandoned calls, a service level of 0 %.
    s.finish_callers();
    let q = s.wait_json("/api/queues/billing", |q| q["today"]["abandoned"] == 2);
    assert_eq!(q["service_level"]["today"], 0.0);
    assert_eq!(q["longest_wait_s"], 0.0);
    // Their call records, from the CDR store, through the API.
    let cdrs = s.wait_json("/api/cdrs?since=today", |v| {
        v["records"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["queue"] == "billing")
            .count()
            == 2
    });
    for r in cdrs["records"].as_array().unwrap() {
        assert_eq!(r["disposition"]["kind"], "abandoned_in_queue", "{r:#}");
        assert_eq!(r["dialed"], "5000");
    }
    assert_eq!(get(admin, "/api/cdrs?since=soon", TOKEN).status, 400);
    let r = post(admin, "/api/agents/1003/unpause", TOKEN, "");
    assert_eq!(r.json()["state"], "available");

    // A third caller: 1001 answers by hand (baresip `accept`), talks 3 s and
    // wraps up (10 s). Now there is a handle time: staffing advice appears.
    s.billing_caller(3);
    s.wait_json("/api/queues/billing", |q| q["ringing"] == 1);
    let accepted = s.phones.command("accept", "");
    assert_eq!(accepted["ok"], true, "{accepted}");
    let q = s.wait_json("/api/queues/billing", |q| !q["staffing"].is_null());
    s.finish_callers();
    assert_eq!(
        (
            q["today"]["answered"].as_u64(),
            q["today"]["answered_in_time"].as_u64()
        ),
        (Some(1), Some(1))
    );
    // One answered in time out of three outcomes (no short abandons).
    let sl = q["service_level"]["today"].as_f64().unwrap();
    assert!((sl - 100.0 / 3.0).abs() < 1e-9, "{q:#}");
    let st = &q["staffing"];
    assert_eq!(st["calls"], 3, "{q:#}");
    assert!(st["aht_s"].as_f64().unwrap() > 0.0, "{q:#}");
    assert!(st["erlang_c_agents"].as_u64().unwrap() >= 1, "{q:#}");
    // Patience is measured from the two abandons, so Erlang A answers too.
    assert!(
        st["patience_s"].as_f64().is_some() && st["erlang_a_agents"].as_u64().is_some(),
        "{q:#}"
    );
    assert_eq!(s.agent_state("1001"), "available");
}

/// The PNG's width and height (IHDR, the first chunk).
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    assert_eq!(&bytes[12..16], b"IHDR");
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    (be(&bytes[16..20]), be(&bytes[20..24]))
}

#[test]
fn the_wallboard_in_chromium_shows_the_queue_and_agents_live() {
    let chromium =
        std::env::var("SWITCHBOARD_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let script = repo().join("tests/wallboard/wallboard.mjs");
    let modules = repo().join("tests/wallboard/node_modules/playwright-core");
    if !std::path::Path::new(&chromium).exists() || !modules.exists() || !require_tool("node") {
        // tests/run.sh installs both; only a machine without them skips.
        eprintln!(
            "SKIPPED: the wallboard test needs {chromium} (apt-get install chromium) and \
             playwright-core (npm ci --prefix tests/wallboard)"
        );
        return;
    }
    let Some(mut s) = Scene::start() else {
        return;
    };
    s.agents_ready();
    s.queue_two_callers();
    let shot = repo().join("target/wallboard.png");
    let out = Command::new("node")
        .arg(&script)
        .args([
            "--url",
            &format!("http://{}/#token=switchboard-demo", s.admin()),
        ])
        .args(["--api", &format!("http://{}", s.admin())])
        .args([
            "--token",
            "switchboard-demo",
            "--queue",
            "billing",
            "--agent",
            "1003",
        ])
        .args(["--chromium", &chromium])
        .arg("--screenshot")
        .arg(&shot)
        .stdin(Stdio::null())
        .output()
        .expect("run node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "wallboard.mjs failed\n{stdout}\n{stderr}"
    );
    let report: serde_json::Value = stdout
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| panic!("no JSON report\n{stdout}\n{stderr}"));
    assert_eq!(report["waiting"], "1", "{report:#}");
    assert_eq!(report["agent_before"], "available", "{report:#}");
    assert_eq!(report["agent_after"], "paused", "{report:#}");
    // The API agrees with what the page showed.
    assert_eq!(s.agent_state("1003"), "paused");
    // The screenshot: the viewport's size, and not blank.
    let png = std::fs::read(&shot).unwrap();
    assert_eq!(png_size(&png), (1280, 900));
    assert!(report["colours"].as_u64().unwrap() > 8, "{report:#}");
    assert!(report["ink"].as_f64().unwrap() > 0.01, "{report:#}");
    s.finish_callers();
}

#[test]
fn a_public_admin_address_without_a_token_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("switchboard.yaml");
    let yaml = common::demo_config_with(&[("  token: switchboard-demo", "")]);
    std::fs::write(
        &config,
        format!(
            "{yaml}\nflows_dir: {}\nsounds_dir: {}\n",
            repo().join("ivr-flows").display(),
            repo().join("sounds").display()
        ),
    )
    .unwrap();
    let port = common::free_port();
    let out = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("serve")
        .arg("--config")
        .arg(&config)
        .args(["--sip-listen", &format!("127.0.0.1:{port}")])
        .arg("--var-dir")
        .arg(dir.path().join("var"))
        .args([
            "--admin-listen",
            &format!("0.0.0.0:{}", common::free_port()),
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("is not a loopback address: set admin.token"),
        "{stderr}"
    );
}
