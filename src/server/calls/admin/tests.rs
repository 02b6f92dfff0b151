//! The core side of the admin API against the real router in virtual time:
//! what snapshots say about agents, queues and today's figures, and agent
//! commands taking the feature-code path.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};

use super::super::{Calls, CallsConfig, WallClock};
use crate::acd::{CallId, Command, Input, RouterError};
use crate::admin::api::{AfterCallView, AgentView, Request, Snapshot};
use crate::config::Config;
use crate::ivr::flow::FlowSet;
use crate::media::prompts::PromptLibrary;
use crate::server::media::RtpPorts;
use crate::sip::endpoint::Endpoint;

/// 2026-11-23 10:07:00 UTC: slot 40 of the day (10:00-10:15).
const MONDAY_10_07: i64 = 1_795_428_420_000;

struct Harness {
    calls: Calls,
    ep: Endpoint,
    t0: Instant,
    _cdr: (tempfile::TempDir, crate::server::cdr_writer::CdrThread),
}

impl Harness {
    fn demo() -> Harness {
        let path = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/switchboard.yaml"));
        let cfg = Config::load(path).unwrap();
        let t0 = Instant::now();
        let media = crate::server::media::MediaHandle::detached();
        let (lookups, _) = mpsc::unbounded_channel();
        let dir = tempfile::tempdir().unwrap();
        let at = crate::store::cdr::StoreLocation::Sqlite(dir.path().join("cdr.db"));
        let cdr = crate::server::cdr_writer::CdrThread::start(
            crate::store::cdr::open(&at).unwrap(),
            MONDAY_10_07,
        )
        .unwrap();
        let mut calls = Calls::new(
            CallsConfig {
                numbers: BTreeMap::new(),
                prompts: Arc::new(PromptLibrary::new("en")),
                flows: Arc::new(FlowSet::new([])),
                default_lang: "en".into(),
                ports: RtpPorts::new([127, 0, 0, 1].into(), cfg.media.rtp_ports),
                voicemail_dir: std::env::temp_dir(),
                clock: WallClock::new(MONDAY_10_07, t0),
                router: crate::acd::Router::new(t0, &cfg),
                domain: "127.0.0.1".into(),
                trunk: None,
                recordings_dir: std::env::temp_dir(),
                cdr: cdr.writer(),
            },
            media,
            lookups,
        );
        calls.live = super::super::live::LiveStats::new(WallClock::new(MONDAY_10_07, t0), t0);
        calls.watch_live(
            jiff::tz::TimeZone::UTC,
            cfg.cdr.clone(),
            Arc::new(tokio::sync::Notify::new()),
        );
        let ep = Endpoint::new(&cfg, "127.0.0.1:5060".parse().unwrap(), t0, [7; 32], 1);
        Harness {
            calls,
            ep,
            t0,
            _cdr: (dir, cdr),
        }
    }

    fn at(&self, secs: u64) -> Instant {
        self.t0 + Duration::from_secs(secs)
    }

    /// Feeds the router and lets the live figures see its decisions, without
    /// carrying them out (no phones here: an offer just rings).
    fn router(&mut self, secs: u64, input: Input) {
        let now = self.at(secs);
        self.calls.router.handle(now, input).unwrap();
        self.pump(now);
    }

    fn pump(&mut self, now: Instant) {
        while let Some(out) = self.calls.router.poll_output() {
            self.calls.live.observe(now, &out);
        }
    }

    fn join(&mut self, secs: u64, call: u64, queue: &str) {
        let now = self.at(secs);
        let join = Input::CallJoins {
            call: CallId(call),
            queue: queue.into(),
            priority: 0,
            language: String::new(),
            skills: vec![],
            vars: BTreeMap::new(),
        };
        self.calls.router.handle(now, join).unwrap();
        self.calls.live.joined(now, CallId(call), queue);
        self.pump(now);
    }

    fn snapshot(&mut self, secs: u64) -> Snapshot {
        let (tx, mut rx) = oneshot::channel();
        self.calls
            .admin(self.at(secs), &mut self.ep, Request::Snapshot(tx));
        rx.try_recv().expect("answered at once")
    }

    fn command(
        &mut self,
        secs: u64,
        agent: &str,
        command: Command,
    ) -> Result<AgentView, RouterError> {
        let (tx, mut rx) = oneshot::channel();
        let req = Request::AgentCommand {
            agent: agent.into(),
            command,
            reply: tx,
        };
        self.calls.admin(self.at(secs), &mut self.ep, req);
        rx.try_recv().expect("answered at once")
    }
}

fn agent<'a>(s: &'a Snapshot, ext: &str) -> &'a AgentView {
    s.agents.iter().find(|a| a.extension == ext).unwrap()
}

fn queue<'a>(s: &'a Snapshot, name: &str) -> &'a crate::admin::api::QueueView {
    s.queues.iter().find(|q| q.name == name).unwrap()
}

#[test]
fn agents_show_their_state_time_in_state_and_queues() {
    let mut h = Harness::demo();
    h.router(
        3,
        Input::AgentRegistered {
            agent: "1001".into(),
        },
    );
    let s = h.snapshot(10);
    let a = agent(&s, "1001");
    assert_eq!(a.state, "available");
    assert_eq!(a.in_state_s, 7.0);
    assert_eq!(a.since_unix_ms, MONDAY_10_07 + 3_000);
    assert_eq!(a.queues, ["billing", "orders"]);
    // Never changed since start: unreachable for the whole 10 s.
    let b = agent(&s, "1002");
    assert_eq!((b.state, b.in_state_s), ("unreachable", 10.0));
    assert_eq!(b.queues, ["billing", "tech"]);
    assert_eq!(s.now_unix_ms, MONDAY_10_07 + 10_000);
    let names: Vec<_> = s.queues.iter().map(|q| q.name.as_str()).collect();
    assert_eq!(names, ["billing", "operator", "orders", "tech"]);
    let billing = queue(&s, "billing");
    assert_eq!(billing.agents["available"], 1);
    assert_eq!(billing.agents["unreachable"], 1);
    assert_eq!(billing.agents["paused"], 0);
}

#[test]
fn agent_commands_take_the_feature_code_path() {
    let mut h = Harness::demo();
    h.router(
        0,
        Input::AgentRegistered {
            agent: "1002".into(),
        },
    );
    let paused = h
        .command(
            5,
            "1002",
            Command::Pause {
                reason: "lunch".into(),
            },
        )
        .unwrap();
    assert_eq!(paused.state, "paused");
    assert_eq!(paused.reason.as_deref(), Some("lunch"));
    assert_eq!(paused.in_state_s, 0.0);
    let s = h.snapshot(65);
    assert_eq!(agent(&s, "1002").state, "paused");
    assert_eq!(agent(&s, "1002").in_state_s, 60.0);
    assert_eq!(queue(&s, "tech").agents["paused"], 1);

    let back = h.command(70, "1002", Command::Unpause).unwrap();
    assert_eq!((back.state, back.reason), ("available", None));
    let out = h.command(71, "1002", Command::Logout).unwrap();
    assert_eq!(out.state, "logged-out");
    // Refusals come back as the router's errors.
    assert!(matches!(
        h.command(72, "1002", Command::Pause { reason: "x".into() }),
        Err(RouterError::Transition(_))
    ));
    assert!(matches!(
        h.command(72, "9999", Command::Login),
        Err(RouterError::UnknownAgent(_))
    ));
}

#[test]
fn queues_show_callers_longest_wait_and_todays_service_level() {
    let mut h = Harness::demo();
    h.router(
        0,
        Input::AgentRegistered {
            agent: "1001".into(),
        },
    );
    h.router(
        0,
        Input::AgentRegistered {
            agent: "1002".into(),
        },
    );
    h.command(
        0,
        "1002",
        Command::Pause {
            reason: "break".into(),
        },
    )
    .unwrap();

    // Caller 7 rings 1001 at once; still counts as in the queue.
    h.join(10, 7, "billing");
    let s = h.snapshot(14);
    let q = queue(&s, "billing");
    assert_eq!((q.waiting, q.ringing), (0, 1));
    assert_eq!(q.longest_wait_s, 4.0);
    assert_eq!(q.callers[0].status, "ringing");
    assert_eq!(agent(&s, "1001").state, "offered");
    assert_eq!(agent(&s, "1001").call, Some(7));

    // 1001 answers after 15 s (within 20 s); caller 8 waits behind.
    h.router(
        25,
        Input::OfferAnswered {
            call: CallId(7),
            agent: "1001".into(),
        },
    );
    h.join(30, 8, "billing");
    let s = h.snapshot(50);
    let q = queue(&s, "billing");
    assert_eq!((q.waiting, q.ringing), (1, 0));
    assert_eq!(q.longest_wait_s, 20.0);
    assert_eq!(q.callers[0].call, 8);
    assert_eq!(q.callers[0].position, Some(1));
    assert_eq!(q.today.offered, 2);
    assert_eq!((q.today.answered, q.today.answered_in_time), (1, 1));
    assert_eq!(q.service_level.today, Some(100.0));
    assert_eq!(agent(&s, "1001").state, "on-call");
    assert!(!agent(&s, "1001").direct, "a queue call");
    let after = |state, reason: Option<&str>| {
        let reason = reason.map(str::to_string);
        Some(AfterCallView { state, reason })
    };
    assert_eq!(agent(&s, "1001").after_call, after("available", None));
    // A pause asked for during the call shows as what follows it; taking it
    // back shows that too.
    let pause = Command::Pause {
        reason: "lunch".into(),
    };
    let v = h.command(51, "1001", pause).unwrap();
    assert_eq!(v.state, "on-call");
    assert_eq!(v.after_call, after("paused", Some("lunch")));
    let v = h.command(52, "1001", Command::Unpause).unwrap();
    assert_eq!(v.after_call, after("available", None));
    // Not busy: nothing follows.
    assert_eq!(agent(&s, "1002").after_call, None);

    // Caller 8 gives up after 40 s: half of today's outcomes were in time.
    h.router(70, Input::CallLeft { call: CallId(8) });
    h.calls.live.call_ended(h.at(70), CallId(8));
    let s = h.snapshot(71);
    let q = queue(&s, "billing");
    assert_eq!((q.waiting, q.longest_wait_s), (0, 0.0));
    assert_eq!(q.today.abandoned, 1);
    assert_eq!(q.service_level.today, Some(50.0));
    assert_eq!(q.service_level.answered_within_s, 20.0);
    assert_eq!(q.service_level.short_abandon_s, 5.0);

    // 1001 hangs up at 85 s; its wrap-up (10 s) ends at 95 s: 70 s handled.
    h.router(85, Input::CallEnded { call: CallId(7) });
    assert_eq!(agent(&h.snapshot(86), "1001").state, "wrap-up");
    h.router(95, Input::Timeout);
    let s = h.snapshot(96);
    assert_eq!(agent(&s, "1001").state, "available");
    let st = queue(&s, "billing")
        .staffing
        .clone()
        .expect("staffing inputs");
    assert_eq!((st.calls, st.calls_per_hour, st.aht_s), (2, 2.0, 70.0));
    // Patience: 15 s + 40 s waited over one abandon.
    assert_eq!(st.patience_s, Some(55.0));
    // The agent counts are the HTTP side's to work out.
    assert_eq!((st.erlang_c_agents, st.erlang_a_agents), (None, None));
    // An hour later the joins have aged out: no advice.
    assert!(queue(&h.snapshot(3700), "billing").staffing.is_none());
    // All in 10:00-10:15 local (UTC here), the day's slot 40.
    assert_eq!(s.today.date, "2026-11-23");
    assert_eq!(s.today.current_slot, 40);
    assert_eq!(s.today.slots[40], s.today.total);
    assert_eq!(s.today.total.completed(), 2);
    assert_eq!(s.today.slots.iter().map(|c| c.offered).sum::<u64>(), 2);
}

#[test]
fn an_answer_after_the_threshold_misses_the_service_level() {
    let mut h = Harness::demo();
    h.router(
        0,
        Input::AgentRegistered {
            agent: "1001".into(),
        },
    );
    h.join(0, 7, "billing");
    h.router(
        21,
        Input::OfferAnswered {
            call: CallId(7),
            agent: "1001".into(),
        },
    );
    let q = queue(&h.snapshot(22), "billing").clone();
    assert_eq!((q.today.answered, q.today.answered_in_time), (1, 0));
    assert_eq!(q.service_level.today, Some(0.0));
}

#[test]
fn overflow_counts_for_the_queue_left_and_the_next_day_starts_empty() {
    let mut h = Harness::demo();
    // Nobody staffs billing: the caller goes to voicemail at once (when_empty).
    h.join(0, 7, "billing");
    let s = h.snapshot(1);
    let q = queue(&s, "billing");
    assert_eq!((q.today.offered, q.today.overflowed), (1, 1));
    assert!(q.callers.is_empty());
    assert_eq!(q.service_level.today, Some(0.0));
    // 14 h later it is tomorrow in UTC: today is empty, since-start is not.
    let s = h.snapshot(14 * 3600);
    assert_eq!(s.today.date, "2026-11-24");
    assert_eq!(s.today.total.offered, 0);
    let q = queue(&s, "billing");
    assert_eq!(q.today.offered, 0);
    assert_eq!(q.service_level.today, None);
    assert_eq!(q.since_start.overflowed, 1);
}

#[test]
fn calls_in_progress_are_listed_with_their_status() {
    use super::super::{Call, Service};
    use crate::media::engine::StreamId;
    use crate::sip::session::CallRef;
    let mut h = Harness::demo();
    h.router(
        0,
        Input::AgentRegistered {
            agent: "1001".into(),
        },
    );
    for (id, caller) in [(7, "2001"), (8, "2002")] {
        let call = Call {
            service: Service::Flow("support".into()),
            stream: StreamId(id),
            sip_call_id: format!("sip-{id}"),
            caller: caller.into(),
            number: "5000".into(),
            media_up: true,
            lang: "en".into(),
            intro_play: None,
            ivr: None,
            holding: None,
            queue: None,
            bridged: None,
            acd: CallId(id),
            callback: super::super::callback::Stage::None,
            survey: None,
            in_survey: false,
            ended_by: crate::cdr::HungUpBy::System,
            started: h.at(id),
        };
        h.calls.calls.insert(CallRef(id), call);
    }
    h.join(9, 7, "billing");
    let s = h.snapshot(10);
    let c: Vec<_> = s
        .calls
        .iter()
        .map(|c| {
            (
                c.call,
                c.caller.as_str(),
                c.status,
                c.queue.as_deref(),
                c.duration_s,
            )
        })
        .collect();
    assert_eq!(
        c,
        [
            (7, "2001", "ringing", Some("billing"), 3.0),
            (8, "2002", "ivr", None, 2.0)
        ]
    );
    assert_eq!(queue(&s, "billing").callers[0].caller, "2001");
    h.router(
        12,
        Input::OfferAnswered {
            call: CallId(7),
            agent: "1001".into(),
        },
    );
    let s = h.snapshot(13);
    assert_eq!(s.calls[0].status, "connected");
    assert_eq!(s.calls[0].agent.as_deref(), Some("1001"));
    assert_eq!(s.calls[0].flow.as_deref(), Some("support"));
    assert_eq!(s.sip.received, 0);
}

#[test]
fn a_caller_leaving_by_a_path_live_stats_did_not_see_is_reconciled() {
    let mut h = Harness::demo();
    h.router(
        0,
        Input::AgentRegistered {
            agent: "1001".into(),
        },
    );
    h.router(
        0,
        Input::AgentRegistered {
            agent: "1002".into(),
        },
    );
    h.join(0, 7, "billing");
    h.join(1, 8, "billing");
    // The leave key: the router forgets caller 8, nothing told the live figures.
    h.router(5, Input::CallLeft { call: CallId(8) });
    assert_eq!(queue(&h.snapshot(6), "billing").callers.len(), 2);
    h.calls.live.reconcile(h.at(6), &h.calls.router);
    let s = h.snapshot(7);
    let q = queue(&s, "billing");
    assert_eq!(q.callers.len(), 1);
    assert_eq!(q.callers[0].call, 7);
    assert_eq!(q.today.abandoned, 1);
}

#[test]
fn a_short_abandon_does_not_count_against_the_service_level() {
    let mut h = Harness::demo();
    h.router(
        0,
        Input::AgentRegistered {
            agent: "1001".into(),
        },
    );
    h.join(0, 7, "billing");
    // Gone after 3 s, within the default short_abandon of 5 s.
    h.router(3, Input::CallLeft { call: CallId(7) });
    h.calls.live.call_ended(h.at(3), CallId(7));
    let q = queue(&h.snapshot(4), "billing").clone();
    assert_eq!((q.today.abandoned, q.today.short_abandoned), (1, 1));
    assert_eq!(q.service_level.today, None);
    h.join(10, 8, "billing");
    h.router(
        40,
        Input::OfferAnswered {
            call: CallId(8),
            agent: "1001".into(),
        },
    );
    let q = queue(&h.snapshot(41), "billing").clone();
    assert_eq!((q.today.answered, q.today.answered_in_time), (1, 0));
    assert_eq!(q.service_level.today, Some(0.0));
}
