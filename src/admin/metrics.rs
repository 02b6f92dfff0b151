//! `/metrics` in the Prometheus text exposition format (version 0.0.4).
//!
//! Written by hand from a snapshot: the figures already live in the core
//! (taken in one go at scrape time), there are a dozen series, and the format
//! is lines of `name{label="value"} number` with three escapes in label
//! values. A metrics registry would only copy the snapshot into itself.

use std::fmt::Write;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use super::api::{Counts, Snapshot, AGENT_STATES};
use super::{ApiError, AppState};
use crate::server::media::MediaTotals;

pub(super) async fn metrics(State(s): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let snap = s.snapshot().await?;
    let media = s.media.read();
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        render(&snap, &media),
    ))
}

/// Label values escape `\`, `"` and newlines.
fn escape(v: &str) -> String {
    v.replace('\\', r"\\")
        .replace('"', "\\\"")
        .replace('\n', r"\n")
}

/// Counters without labels: (name, help, value).
fn plain_counters(out: &mut String, counters: &[(&str, &str, u64)]) {
    for (name, help, v) in counters {
        family(out, name, "counter", help, &[(String::new(), *v as f64)]);
    }
}

/// One metric family: its HELP and TYPE lines, then `(labels, value)` samples.
fn family(out: &mut String, name: &str, kind: &str, help: &str, samples: &[(String, f64)]) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
    for (labels, value) in samples {
        if labels.is_empty() {
            let _ = writeln!(out, "{name} {value}");
        } else {
            let _ = writeln!(out, "{name}{{{labels}}} {value}");
        }
    }
}

pub(super) fn render(snap: &Snapshot, media: &MediaTotals) -> String {
    let mut out = String::new();
    let per_queue = |f: &dyn Fn(&super::api::QueueView) -> f64| -> Vec<(String, f64)> {
        snap.queues
            .iter()
            .map(|q| (format!("queue=\"{}\"", escape(&q.name)), f(q)))
            .collect()
    };
    family(
        &mut out,
        "switchboard_calls_in_progress",
        "gauge",
        "Callers' calls in progress (IVR, queued or connected).",
        &[(String::new(), snap.calls.len() as f64)],
    );
    family(
        &mut out,
        "switchboard_queue_callers_waiting",
        "gauge",
        "Callers on hold in the queue that no agent is ringing for.",
        &per_queue(&|q| q.waiting as f64),
    );
    family(
        &mut out,
        "switchboard_queue_callers_ringing",
        "gauge",
        "Callers in the queue whose agent's phone is ringing.",
        &per_queue(&|q| q.ringing as f64),
    );
    family(
        &mut out,
        "switchboard_queue_longest_wait_seconds",
        "gauge",
        "How long the longest-waiting caller has been in the queue.",
        &per_queue(&|q| q.longest_wait_s),
    );
    family(
        &mut out,
        "switchboard_queue_service_level_ratio",
        "gauge",
        "Today's callers answered within the queue's service level time, over answered + abandoned + overflowed (absent before the first outcome).",
        &snap
            .queues
            .iter()
            .filter_map(|q| {
                let sl = q.service_level.today?;
                Some((format!("queue=\"{}\"", escape(&q.name)), sl / 100.0))
            })
            .collect::<Vec<_>>(),
    );
    type Counter = (&'static str, &'static str, fn(&Counts) -> u64);
    let counters: [Counter; 4] = [
        (
            "switchboard_queue_calls_offered_total",
            "Callers that joined the queue.",
            |c| c.offered,
        ),
        (
            "switchboard_queue_calls_answered_total",
            "Callers answered by an agent.",
            |c| c.answered,
        ),
        (
            "switchboard_queue_calls_abandoned_total",
            "Callers that hung up while waiting or ringing.",
            |c| c.abandoned,
        ),
        (
            "switchboard_queue_calls_overflowed_total",
            "Callers sent on to voicemail, a flow or another queue.",
            |c| c.overflowed,
        ),
    ];
    for (name, help, get) in counters {
        family(
            &mut out,
            name,
            "counter",
            help,
            &per_queue(&|q| get(&q.since_start) as f64),
        );
    }
    let mut states: std::collections::BTreeMap<&str, usize> =
        AGENT_STATES.into_iter().map(|s| (s, 0)).collect();
    for a in &snap.agents {
        *states.entry(a.state).or_default() += 1;
    }
    family(
        &mut out,
        "switchboard_agents",
        "gauge",
        "Agents by state.",
        &states
            .iter()
            .map(|(s, n)| (format!("state=\"{s}\""), *n as f64))
            .collect::<Vec<_>>(),
    );
    let sip = &snap.sip;
    plain_counters(
        &mut out,
        &[
            (
                "switchboard_sip_messages_received_total",
                "SIP messages received (UDP datagrams and TCP messages).",
                sip.received,
            ),
            (
                "switchboard_sip_messages_dropped_total",
                "SIP input dropped as unanswerable (no start line, no Via, truncated).",
                sip.dropped,
            ),
            (
                "switchboard_sip_malformed_answered_total",
                "Malformed SIP requests answered 400 or 505.",
                sip.malformed_answered,
            ),
        ],
    );
    family(
        &mut out,
        "switchboard_sip_registrations_total",
        "counter",
        "REGISTER requests by result.",
        &[
            ("result=\"ok\"".into(), sip.registrations_ok as f64),
            (
                "result=\"refused\"".into(),
                sip.registrations_refused as f64,
            ),
        ],
    );
    family(
        &mut out,
        "switchboard_rtp_streams",
        "gauge",
        "RTP streams open (one per call leg with media).",
        &[(String::new(), media.streams as f64)],
    );
    plain_counters(
        &mut out,
        &[
            (
                "switchboard_rtp_packets_received_total",
                "RTP packets received and accepted.",
                media.packets_received,
            ),
            (
                "switchboard_rtp_packets_sent_total",
                "RTP packets sent: prompts, silence, DTMF events and relayed audio.",
                media.packets_sent,
            ),
            (
                "switchboard_rtp_packets_rejected_total",
                "Datagrams on RTP ports that were not RTP of a negotiated payload type.",
                media.packets_rejected,
            ),
            (
                "switchboard_rtp_send_errors_total",
                "RTP packets the kernel refused to send (lost).",
                media.send_errors,
            ),
            (
                "switchboard_media_late_ticks_total",
                "20 ms media ticks that ran a frame or more late (the media thread fell behind).",
                media.late_ticks,
            ),
        ],
    );
    out
}
