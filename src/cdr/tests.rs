use std::path::PathBuf;
use std::time::Duration;

use super::*;
use crate::ivr::interpreter::{RetryReason, TrailEntry};

const T0: i64 = 1_790_000_000_000;

fn journey() -> Journey {
    Journey::new(
        make_id(T0, 0xabcd),
        "sip-1@caller",
        "+441234",
        Some("Ann".into()),
        "5000",
        T0,
    )
}

fn kinds(events: &[Event]) -> Vec<String> {
    events.iter().map(Event::kind_name).collect()
}

#[test]
fn answered_call_has_waits_talk_and_hold() {
    let mut j = journey();
    j.answered(T0 + 500);
    j.trail(
        T0 + 600,
        &TrailEntry::Node {
            flow: "support".into(),
            node: "menu".into(),
        },
    );
    j.trail(
        T0 + 700,
        &TrailEntry::Retry {
            node: "menu".into(),
            attempt: 1,
            reason: RetryReason::Invalid("7".into()),
        },
    );
    j.trail(
        T0 + 800,
        &TrailEntry::Set {
            name: "card".into(),
            value: crate::ivr::interpreter::MASK.into(),
        },
    );
    j.trail(T0 + 900, &TrailEntry::Language("fa".into()));
    j.var("tier", "gold");
    j.queued("billing", 5, T0 + 10_000);
    j.offer("1001", T0 + 12_000);
    j.offer_outcome("1001", OfferOutcome::NoAnswer, T0 + 27_000);
    j.offer("1002", T0 + 27_000);
    j.offer("1003", T0 + 27_000);
    j.connected("1002", "agent-leg-9", T0 + 30_000);
    j.hold(true, T0 + 40_000);
    j.hold(true, T0 + 41_000); // a second hold while on hold changes nothing
    j.hold(false, T0 + 50_000);
    j.hold(true, T0 + 60_000); // still on hold at the end: counted to the end
    j.recording("var/recordings/x.wav");
    j.survey(4);
    let (r, events) = j.end(T0 + 70_000, HungUpBy::Agent, "remote hangup");
    assert_eq!(r.disposition, Disposition::Completed);
    assert_eq!(r.id, "1a0c4506c00-0000abcd");
    assert_eq!(r.wait_ms, Some(20_000));
    assert_eq!(r.hold_ms, 20_000);
    assert_eq!(r.talk_ms, Some(20_000));
    assert_eq!(r.agent.as_deref(), Some("1002"));
    assert_eq!(r.agent_call_id.as_deref(), Some("agent-leg-9"));
    assert_eq!(r.language.as_deref(), Some("fa"));
    assert_eq!(r.vars["card"], "****");
    assert_eq!(r.vars["tier"], "gold");
    assert_eq!(r.survey_score, Some(4));
    let outcomes: Vec<_> = r
        .offers
        .iter()
        .map(|o| (o.agent.as_str(), o.outcome))
        .collect();
    assert_eq!(
        outcomes,
        [
            ("1001", Some(OfferOutcome::NoAnswer)),
            ("1002", Some(OfferOutcome::Answered)),
            ("1003", Some(OfferOutcome::Cancelled)),
        ]
    );
    assert_eq!(
        r.trail[1].step,
        Step::Retry {
            node: "menu".into(),
            attempt: 1,
            reason: "invalid:7".into()
        }
    );
    assert_eq!(
        kinds(&events),
        [
            "call_arrived",
            "call_answered",
            "call_queued",
            "call_offered",
            "offer_ended",
            "call_offered",
            "call_offered",
            "offer_ended",
            "offer_ended",
            "call_connected",
            "call_hold",
            "call_hold",
            "call_hold",
            "call_hold",
            "call_ended",
        ]
    );
    // The JSON form round-trips, and the trail step is flat.
    let json = serde_json::to_string(&r).unwrap();
    assert!(json.contains(r#""step":"retry""#), "{json}");
    assert_eq!(serde_json::from_str::<CallRecord>(&json).unwrap(), r);
}

#[test]
fn dispositions_follow_the_documented_rules() {
    // Caller gives up in the queue: abandoned, with the wait.
    let mut j = journey();
    j.queued("tech", 0, T0 + 1000);
    j.offer("1003", T0 + 2000);
    let (r, _) = j.end(T0 + 9000, HungUpBy::Caller, "remote hangup");
    assert_eq!(
        r.disposition,
        Disposition::AbandonedInQueue { wait_ms: 8000 }
    );
    assert_eq!(r.offers[0].outcome, Some(OfferOutcome::Cancelled));

    // The system ends a queued call: failed, with the reason.
    let mut j = journey();
    j.queued("tech", 0, T0 + 1000);
    let (r, _) = j.end(T0 + 5000, HungUpBy::System, "shutdown");
    assert_eq!(
        r.disposition,
        Disposition::Failed {
            reason: "shutdown".into()
        }
    );

    // Hung up in the menu.
    let (r, _) = journey().end(T0 + 5000, HungUpBy::Caller, "remote hangup");
    assert_eq!(r.disposition, Disposition::AbandonedInIvr);

    // The flow finished it (self-service).
    let (r, _) = journey().end(T0 + 5000, HungUpBy::System, "switchboard hung up");
    assert_eq!(r.disposition, Disposition::IvrCompleted);

    // After hours with a message: voicemail (closed_hours kept as a flag);
    // without: closed_hours.
    let mut j = journey();
    j.closed_hours();
    j.trail(
        T0 + 9000,
        &TrailEntry::Voicemail {
            box_name: "support".into(),
            path: PathBuf::from("var/voicemail/support/m.wav"),
            duration: Duration::from_secs(7),
        },
    );
    let (r, _) = j.end(T0 + 10_000, HungUpBy::Caller, "remote hangup");
    assert_eq!(r.disposition, Disposition::Voicemail);
    assert!(r.closed_hours);
    assert_eq!(r.voicemail.as_deref(), Some("var/voicemail/support/m.wav"));
    let mut j = journey();
    j.closed_hours();
    let (r, _) = j.end(T0 + 10_000, HungUpBy::System, "closed");
    assert_eq!(r.disposition, Disposition::ClosedHours);

    // A flow error wins over everything.
    let mut j = journey();
    j.queued("tech", 0, T0 + 1000);
    j.trail(T0 + 1100, &TrailEntry::Error("no such node".into()));
    let (r, _) = j.end(T0 + 2000, HungUpBy::System, "switchboard hung up");
    assert_eq!(
        r.disposition,
        Disposition::Failed {
            reason: "no such node".into()
        }
    );

    // IVR transfer without an agent.
    let mut j = journey();
    j.transfer("sip:sales@example.com", T0 + 3000);
    let (r, _) = j.end(T0 + 4000, HungUpBy::System, "transferred");
    assert_eq!(
        r.disposition,
        Disposition::Transferred {
            target: "sip:sales@example.com".into()
        }
    );
}

#[test]
fn callbacks_complete_or_fail() {
    let mut j = journey();
    j.queued("billing", 0, T0 + 1000);
    j.callback_requested("+441234", T0 + 31_000);
    j.callback_attempt(T0 + 100_000, false);
    j.callback_attempt(T0 + 200_000, true);
    j.connected("1001", "cb-leg", T0 + 205_000);
    let (r, events) = j.end(T0 + 300_000, HungUpBy::Caller, "remote hangup");
    assert_eq!(r.disposition, Disposition::CallbackCompleted);
    // The wait is the time the caller spent on the line.
    assert_eq!(r.wait_ms, Some(30_000));
    assert_eq!(r.talk_ms, Some(95_000));
    assert_eq!(r.callback.as_ref().unwrap().attempts.len(), 2);
    assert!(kinds(&events).contains(&"callback_attempt".to_string()));

    let mut j = journey();
    j.queued("billing", 0, T0 + 1000);
    j.callback_requested("+441234", T0 + 31_000);
    j.callback_attempt(T0 + 100_000, false);
    let (r, _) = j.end(
        T0 + 100_000,
        HungUpBy::System,
        "callback attempts exhausted",
    );
    assert_eq!(r.disposition, Disposition::CallbackFailed);
}

#[test]
fn open_snapshot_and_interruption() {
    let mut j = journey();
    j.queued("billing", 3, T0 + 1000);
    let open = j.snapshot();
    assert!(open.is_open());
    assert_eq!(open.disposition, Disposition::InProgress);
    let mut r = open.clone();
    r.interrupt(T0 + 50_000);
    assert_eq!(r.disposition, Disposition::Interrupted);
    assert_eq!(r.ended_ms, Some(T0 + 50_000));
    assert_eq!(r.hung_up_by, Some(HungUpBy::System));
    // Events are handed out once.
    assert_eq!(kinds(&j.take_events()), ["call_arrived", "call_queued"]);
    assert!(j.take_events().is_empty());
}

#[test]
fn agent_states_map_from_the_router() {
    use crate::acd::{AgentState, CallId};
    let e = Event::agent_state(
        T0,
        "1001",
        &AgentState::Paused {
            reason: "lunch".into(),
        },
        None,
    );
    assert_eq!(
        e.kind,
        EventKind::AgentState {
            agent: "1001".into(),
            state: AgentStatus::Paused,
            reason: Some("lunch".into()),
            call: None
        }
    );
    assert_eq!(e.agent(), Some("1001"));
    let e = Event::agent_state(
        T0,
        "1001",
        &AgentState::OnCall {
            call: CallId(4),
            direct: false,
        },
        Some("c".into()),
    );
    assert_eq!(e.call(), Some("c"));
    assert_eq!(
        serde_json::to_string(&e).unwrap(),
        r#"{"at_ms":1790000000000,"event":"agent_state","agent":"1001","state":"on_call","call":"c"}"#
    );
    assert_eq!(
        OfferOutcome::from(crate::acd::RejectReason::Busy),
        OfferOutcome::Busy
    );
}
