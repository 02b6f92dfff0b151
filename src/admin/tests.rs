//! The HTTP side against a stand-in core task: the token check, routes,
//! status codes, command mapping and the metrics text; `openapi` checks
//! every answer against docs/openapi.yaml.

mod openapi;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request as HttpRequest, StatusCode};
use tokio::sync::{mpsc, watch, Notify};
use tower::ServiceExt;

use super::api::*;
use super::*;

fn agent(ext: &str, state: &'static str) -> AgentView {
    AgentView {
        extension: ext.into(),
        name: String::new(),
        state,
        // The core always gives a paused agent its reason.
        reason: (state == "paused").then(|| PAUSE_BREAK.to_string()),
        call: None,
        direct: false,
        after_call: None,
        in_state_s: 12.5,
        since_unix_ms: 0,
        queues: vec!["billing".into()],
    }
}

fn snapshot() -> Snapshot {
    let counts = Counts {
        offered: 4,
        answered: 2,
        answered_in_time: 1,
        abandoned: 1,
        short_abandoned: 0,
        overflowed: 1,
    };
    Snapshot {
        now_unix_ms: 0,
        agents: vec![agent("1001", "available"), agent("1002", "paused")],
        queues: vec![QueueView {
            name: "bill\"ing".into(),
            waiting: 1,
            ringing: 0,
            longest_wait_s: 42.5,
            callers: vec![],
            agents: Default::default(),
            average_handle_s: 0.0,
            service_level: ServiceLevelView {
                answered_within_s: 20.0,
                target: 80.0,
                short_abandon_s: 5.0,
                today: counts.service_level(),
            },
            staffing: Some(StaffingView {
                calls: 120,
                calls_per_hour: 120.0,
                aht_s: 180.0,
                patience_s: None,
                erlang_c_agents: None,
                erlang_a_agents: None,
            }),
            today: counts,
            since_start: counts,
        }],
        calls: vec![],
        today: Today {
            date: "2026-11-23".into(),
            timezone: "UTC".into(),
            slot_minutes: 15,
            current_slot: 0,
            slots: vec![],
            total: counts,
        },
        sip: SipCounters {
            received: 10,
            dropped: 1,
            malformed_answered: 0,
            registrations_ok: 3,
            registrations_refused: 2,
        },
    }
}

/// What the stand-in core reports and the shared state reads.
struct World {
    snapshot: Snapshot,
    flows: FlowsStatus,
    /// The SQLite CDR store.
    cdr_db: std::path::PathBuf,
}

impl Default for World {
    fn default() -> World {
        World {
            snapshot: snapshot(),
            flows: FlowsStatus {
                version: 3,
                loaded_unix_ms: 1,
                flows: vec!["support".into()],
                prompts: 9,
                last_error: None,
            },
            // An empty store.
            cdr_db: std::env::temp_dir().join("switchboard-admin-test-cdr.db"),
        }
    }
}

/// The app with a core that answers snapshots and records commands; `None`
/// as the token means an open (loopback-only) API.
fn app(token: Option<&str>) -> (Router, mpsc::UnboundedReceiver<(String, Command)>) {
    app_in(World::default(), token)
}

/// [`app`] around `world`. Agent 1001 takes every command (the answer is
/// the state it leads to), 1003 refuses them, any other is unknown.
fn app_in(
    world: World,
    token: Option<&str>,
) -> (Router, mpsc::UnboundedReceiver<(String, Command)>) {
    let (core, mut requests) = mpsc::channel::<Request>(8);
    let (seen_tx, seen) = mpsc::unbounded_channel();
    let snap = world.snapshot.clone();
    tokio::spawn(async move {
        while let Some(r) = requests.recv().await {
            match r {
                Request::Snapshot(reply) => {
                    let _ = reply.send(snap.clone());
                }
                Request::AgentCommand {
                    agent: ext,
                    command,
                    reply,
                } => {
                    let result = if ext == "1001" {
                        Ok(match &command {
                            Command::Pause { reason } => AgentView {
                                reason: Some(reason.clone()),
                                ..agent(&ext, "paused")
                            },
                            Command::Logout => agent(&ext, "logged-out"),
                            _ => agent(&ext, "available"),
                        })
                    } else if ext == "1003" {
                        Err(crate::acd::RouterError::Transition(
                            crate::acd::IllegalTransition {
                                extension: ext.clone(),
                                from: "logged-out",
                                to: "paused",
                            },
                        ))
                    } else {
                        Err(RouterError::UnknownAgent(ext.clone()))
                    };
                    let _ = seen_tx.send((ext, command));
                    let _ = reply.send(result);
                }
            }
        }
    });
    (router(shared(core, token, world)), seen)
}

/// 2026-11-23 10:07:00 UTC.
const NOW_MS: i64 = 1_795_428_420_000;

/// The shared state around `core` and `world`, with the wallboard feed
/// running as [`spawn`] runs it (until the test's runtime ends).
fn shared(core: mpsc::Sender<Request>, token: Option<&str>, world: World) -> Arc<Shared> {
    let (_, flows) = watch::channel(world.flows);
    let (feed_tx, feed) = watch::channel(None);
    let s = Arc::new(Shared {
        core,
        token: token.map(|t| Sha256::digest(t.as_bytes()).into()),
        names: [("1001".to_string(), "Alice Archer".to_string())].into(),
        flows,
        feed,
        wake: Arc::new(Notify::new()),
        now_ms: Arc::new(|| NOW_MS),
        zone: jiff::tz::TimeZone::UTC,
        cdr_store: crate::store::cdr::StoreLocation::Sqlite(world.cdr_db),
        media: Arc::default(),
    });
    tokio::spawn(feed_loop(s.clone(), feed_tx, CancellationToken::new()));
    s
}

/// The answer to `method path` with an optional `Authorization` value.
async fn send(app: &Router, method: &str, path: &str, auth: Option<&str>, body: &str) -> Response {
    let mut req = HttpRequest::builder().method(method).uri(path);
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    app.clone()
        .oneshot(req.body(Body::from(body.to_string())).unwrap())
        .await
        .unwrap()
}

async fn call(
    app: &Router,
    method: &str,
    path: &str,
    auth: Option<&str>,
    body: &str,
) -> (StatusCode, String) {
    let resp = send(app, method, path, auth, body).await;
    let status = resp.status();
    (status, text(resp).await)
}

/// The whole body (not for the endless event stream).
async fn text(resp: Response) -> String {
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    String::from_utf8(bytes.to_vec()).unwrap()
}

#[tokio::test]
async fn every_api_route_needs_the_bearer_token_but_the_page_does_not() {
    let (app, _) = app(Some("sesame-sesame"));
    for path in [
        "/api/agents",
        "/api/queues",
        "/api/calls",
        "/api/flows",
        "/api/snapshot",
        "/api/wallboard/stream",
        "/metrics",
    ] {
        for auth in [
            None,
            Some("Bearer wrong"),
            Some("Basic sesame-sesame"),
            Some("Bearer "),
        ] {
            let (status, body) = call(&app, "GET", path, auth, "").await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{path} {auth:?}");
            assert!(body.contains("bearer token"), "{body}");
        }
    }
    let (status, _) = call(&app, "POST", "/api/agents/1001/pause", None, "").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = call(&app, "GET", "/api/agents", Some("Bearer sesame-sesame"), "").await;
    assert_eq!(status, StatusCode::OK);
    let agents: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(agents[0]["name"], "Alice Archer");
    assert_eq!(agents[1]["state"], "paused");
    let (status, page) = call(&app, "GET", "/", None, "").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("<script src=\"wallboard.js\""), "{page}");
}

#[tokio::test]
async fn the_challenge_names_the_scheme() {
    let (app, _) = app(Some("sesame-sesame"));
    let resp = app
        .oneshot(HttpRequest::get("/api/agents").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(
        resp.headers()["www-authenticate"],
        "Bearer realm=\"switchboard\""
    );
}

#[tokio::test]
async fn agent_actions_become_router_commands() {
    let (app, mut seen) = app(None);
    let (status, body) = call(&app, "POST", "/api/agents/1001/pause", None, "").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (v["state"].as_str(), v["name"].as_str()),
        (Some("paused"), Some("Alice Archer"))
    );
    let body = r#"{"reason": "lunch"}"#;
    call(&app, "POST", "/api/agents/1001/pause", None, body).await;
    call(&app, "POST", "/api/agents/1001/unpause", None, "").await;
    call(&app, "POST", "/api/agents/1001/login", None, "").await;
    call(&app, "POST", "/api/agents/1001/logout", None, "").await;
    let mut got = vec![];
    while let Ok((ext, c)) = seen.try_recv() {
        got.push((ext, c));
    }
    let pause = |r: &str| Command::Pause { reason: r.into() };
    let want = [
        pause("break"),
        pause("lunch"),
        Command::Unpause,
        Command::Login,
        Command::Logout,
    ];
    assert_eq!(got.len(), want.len());
    for ((ext, c), w) in got.iter().zip(want) {
        assert_eq!((ext.as_str(), c), ("1001", &w));
    }

    let (status, body) = call(&app, "POST", "/api/agents/1001/dance", None, "").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, body) = call(&app, "POST", "/api/agents/1001/pause", None, "{reason").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, _) = call(&app, "POST", "/api/agents/9999/pause", None, "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = call(&app, "POST", "/api/agents/1003/pause", None, "").await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(
        body.contains("logged-out -> paused is not allowed"),
        "{body}"
    );
    let (status, _) = call(&app, "GET", "/api/agents/1001/pause", None, "").await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn single_resources_and_flows() {
    let (app, _) = app(None);
    let (status, body) = call(&app, "GET", "/api/agents/1002", None, "").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("\"extension\":\"1002\""), "{body}");
    let (status, _) = call(&app, "GET", "/api/agents/4242", None, "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = call(&app, "GET", "/api/queues/bill%22ing", None, "").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("\"longest_wait_s\":42.5"), "{body}");
    let (status, _) = call(&app, "GET", "/api/queues/nope", None, "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, body) = call(&app, "GET", "/api/flows", None, "").await;
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (v["version"].as_u64(), v["flows"][0].as_str()),
        (Some(3), Some("support"))
    );
    let (status, body) = call(&app, "GET", "/nothing/here", None, "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.contains("\"error\""), "{body}");
}

#[tokio::test]
async fn a_core_that_is_gone_gives_503() {
    let (core, requests) = mpsc::channel::<Request>(1);
    drop(requests);
    let app = router(shared(core, None, World::default()));
    let (status, _) = call(&app, "GET", "/api/agents", None, "").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
}

#[test]
fn metrics_are_prometheus_text() {
    let media = crate::server::media::MediaTotals {
        streams: 4,
        packets_received: 700,
        packets_sent: 690,
        packets_rejected: 3,
        send_errors: 1,
        late_ticks: 2,
        frames_skipped: 0,
    };
    let text = metrics::render(&snapshot(), &media);
    // Every sample line is `name{labels} value` of a family declared above it.
    let mut declared = std::collections::HashSet::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            assert!(["gauge", "counter"].contains(&kind), "{line}");
            assert!(declared.insert(name.to_string()), "declared twice: {line}");
            continue;
        }
        if line.starts_with("# HELP ") {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap();
        value.parse::<f64>().unwrap_or_else(|_| panic!("{line}"));
        let name = series.split('{').next().unwrap();
        assert!(declared.contains(name), "undeclared: {line}");
        if name.ends_with("_total") {
            assert!(text.contains(&format!("# TYPE {name} counter")), "{name}");
        }
    }
    for want in [
        "switchboard_calls_in_progress 0",
        "switchboard_queue_callers_waiting{queue=\"bill\\\"ing\"} 1",
        "switchboard_queue_longest_wait_seconds{queue=\"bill\\\"ing\"} 42.5",
        "switchboard_queue_service_level_ratio{queue=\"bill\\\"ing\"} 0.25",
        "switchboard_queue_calls_abandoned_total{queue=\"bill\\\"ing\"} 1",
        "switchboard_agents{state=\"available\"} 1",
        "switchboard_agents{state=\"paused\"} 1",
        "switchboard_agents{state=\"on-call\"} 0",
        "switchboard_sip_messages_received_total 10",
        "switchboard_sip_messages_dropped_total 1",
        "switchboard_sip_registrations_total{result=\"refused\"} 2",
        "switchboard_rtp_streams 4",
        "switchboard_rtp_packets_received_total 700",
        "switchboard_rtp_packets_sent_total 690",
        "switchboard_rtp_packets_rejected_total 3",
        "switchboard_rtp_send_errors_total 1",
        "switchboard_media_late_ticks_total 2",
    ] {
        assert!(
            text.lines().any(|l| l == want),
            "no line {want:?} in\n{text}"
        );
    }
}

#[tokio::test]
async fn cdr_queries_take_the_report_periods() {
    let (app, _) = app(Some("sesame-sesame"));
    let auth = Some("Bearer sesame-sesame");
    let (status, _) = call(&app, "GET", "/api/cdrs", None, "").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = call(&app, "GET", "/api/cdrs", auth, "").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    // Today (UTC midnight) until now.
    assert_eq!(v["since_unix_ms"], NOW_MS - (10 * 3600 + 7 * 60) * 1000);
    assert_eq!(v["until_unix_ms"], NOW_MS);
    assert_eq!(
        (
            v["truncated"].as_bool(),
            v["records"].as_array().map(Vec::len)
        ),
        (Some(false), Some(0))
    );
    let path = "/api/cdrs?since=2026-11-01&until=2026-11-02T12:00:00Z&limit=5";
    let (status, body) = call(&app, "GET", path, auth, "").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("\"until_unix_ms\":1793620800000"), "{body}");
    for bad in ["?since=soon", "?since=today&until=yesterday", "?from=today"] {
        let (status, body) = call(&app, "GET", &format!("/api/cdrs{bad}"), auth, "").await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
    }
}
