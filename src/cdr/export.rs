//! `switchboard cdr export`: records (or events) as CSV or JSON Lines.
//! JSON Lines carries every field; CSV flattens a record to one row of
//! columns a spreadsheet can use (lists joined, the trail and variables as
//! compact text).

use std::io::Write;

use jiff::Timestamp;
use serde::Serialize;

use super::{CallRecord, Event, OfferOutcome, Step};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Csv,
    Jsonl,
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Csv(#[from] csv::Error),
    #[error(transparent)]
    Json(#[from] serde_json::Error),
}

/// RFC 3339 in UTC, empty for none.
fn time(ms: Option<i64>) -> String {
    ms.and_then(|m| Timestamp::from_millisecond(m).ok())
        .map(|t| t.to_string())
        .unwrap_or_default()
}

fn seconds(ms: Option<i64>) -> String {
    ms.map(|m| format!("{:.3}", m as f64 / 1000.0))
        .unwrap_or_default()
}

/// One CSV row.
#[derive(Serialize)]
struct CsvRecord {
    id: String,
    sip_call_id: String,
    agent_call_id: String,
    caller: String,
    caller_name: String,
    dialed: String,
    arrived: String,
    answered: String,
    queued: String,
    agent_answered: String,
    ended: String,
    language: String,
    queue: String,
    queues: String,
    priority: String,
    agent: String,
    disposition: String,
    /// The failure reason, or the transfer target.
    disposition_detail: String,
    wait_s: String,
    talk_s: String,
    hold_s: String,
    wrap_up_s: String,
    /// `agent:outcome` for every ring, in order.
    offers: String,
    rona: usize,
    transfers: String,
    callback_number: String,
    callback_attempts: String,
    closed_hours: bool,
    hung_up_by: String,
    end_reason: String,
    recording: String,
    voicemail: String,
    survey_score: String,
    trail: String,
    vars: String,
}

fn outcome(o: Option<OfferOutcome>) -> String {
    o.and_then(|o| serde_json::to_value(o).ok())
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_else(|| "ringing".into())
}

/// The trail as compact text: `menu:node > key:1 > retry:menu(timeout) ...`.
fn trail(r: &CallRecord) -> String {
    r.trail
        .iter()
        .map(|t| match &t.step {
            Step::Node { flow, node } => format!("{flow}/{node}"),
            Step::Key { key, .. } => format!("key:{key}"),
            Step::Retry { node, reason, .. } => format!("retry:{node}({reason})"),
            Step::GaveUp { node } => format!("gave-up:{node}"),
            Step::Set { name, value } => format!("set:{name}={value}"),
            Step::Language { language } => format!("language:{language}"),
            Step::Decision { node, outcome } => format!("{node}->{outcome}"),
            Step::Lookup { node, ok } => {
                format!("lookup:{node}({})", if *ok { "ok" } else { "failed" })
            }
            Step::Voicemail { box_name, .. } => format!("voicemail:{box_name}"),
            Step::Error { message } => format!("error:{message}"),
        })
        .collect::<Vec<_>>()
        .join(" > ")
}

impl From<&CallRecord> for CsvRecord {
    fn from(r: &CallRecord) -> Self {
        use super::Disposition as D;
        let detail = match &r.disposition {
            D::Failed { reason } => reason.clone(),
            D::Transferred { target } => target.clone(),
            _ => String::new(),
        };
        let opt = |s: &Option<String>| s.clone().unwrap_or_default();
        CsvRecord {
            id: r.id.clone(),
            sip_call_id: r.sip_call_id.clone(),
            agent_call_id: opt(&r.agent_call_id),
            caller: r.caller.clone(),
            caller_name: opt(&r.caller_name),
            dialed: r.dialed.clone(),
            arrived: time(Some(r.arrived_ms)),
            answered: time(r.answered_ms),
            queued: time(r.queued_ms),
            agent_answered: time(r.agent_answered_ms),
            ended: time(r.ended_ms),
            language: opt(&r.language),
            queue: opt(&r.queue),
            queues: r.queues.join(">"),
            priority: r.priority.map(|p| p.to_string()).unwrap_or_default(),
            agent: opt(&r.agent),
            disposition: r.disposition.name().into(),
            disposition_detail: detail,
            wait_s: seconds(r.wait_ms),
            talk_s: seconds(r.talk_ms),
            hold_s: seconds(Some(r.hold_ms)),
            wrap_up_s: seconds(r.wrap_up_ms),
            offers: r
                .offers
                .iter()
                .map(|o| format!("{}:{}", o.agent, outcome(o.outcome)))
                .collect::<Vec<_>>()
                .join(" "),
            rona: r
                .offers
                .iter()
                .filter(|o| o.outcome == Some(OfferOutcome::NoAnswer))
                .count(),
            transfers: r
                .transfers
                .iter()
                .map(|t| t.target.clone())
                .collect::<Vec<_>>()
                .join(" "),
            callback_number: r
                .callback
                .as_ref()
                .map(|c| c.number.clone())
                .unwrap_or_default(),
            callback_attempts: r
                .callback
                .as_ref()
                .map(|c| c.attempts.len().to_string())
                .unwrap_or_default(),
            closed_hours: r.closed_hours,
            hung_up_by: r
                .hung_up_by
                .map(|h| h.name().to_string())
                .unwrap_or_default(),
            end_reason: r.end_reason.clone(),
            recording: opt(&r.recording),
            voicemail: opt(&r.voicemail),
            survey_score: r.survey_score.map(|s| s.to_string()).unwrap_or_default(),
            trail: trail(r),
            vars: if r.vars.is_empty() {
                String::new()
            } else {
                serde_json::to_string(&r.vars).unwrap_or_default()
            },
        }
    }
}

#[derive(Serialize)]
struct CsvEvent<'a> {
    at: String,
    event: String,
    call: &'a str,
    agent: &'a str,
    detail: String,
}

pub fn records(out: impl Write, recs: &[CallRecord], format: Format) -> Result<(), ExportError> {
    match format {
        Format::Jsonl => jsonl(out, recs),
        Format::Csv if recs.is_empty() => {
            // The header alone, so an empty period is still a valid file; it
            // is taken from a serialised row so it cannot drift from the columns.
            let blank = super::Journey::new("", "", "", None, "", 0).snapshot();
            let mut w = csv::Writer::from_writer(Vec::new());
            w.serialize(CsvRecord::from(&blank))?;
            let text =
                String::from_utf8_lossy(&w.into_inner().map_err(|e| e.into_error())?).into_owned();
            let mut out = out;
            writeln!(out, "{}", text.lines().next().unwrap_or_default())?;
            Ok(())
        }
        Format::Csv => {
            let mut w = csv::Writer::from_writer(out);
            for r in recs {
                w.serialize(CsvRecord::from(r))?;
            }
            w.flush()?;
            Ok(())
        }
    }
}

pub fn events(out: impl Write, evs: &[Event], format: Format) -> Result<(), ExportError> {
    match format {
        Format::Jsonl => jsonl(out, evs),
        Format::Csv => {
            let mut w = csv::Writer::from_writer(out);
            for e in evs {
                // The detail is the event's own fields, minus those in columns.
                let mut v = serde_json::to_value(&e.kind)?;
                if let Some(m) = v.as_object_mut() {
                    for k in ["event", "call", "agent"] {
                        m.remove(k);
                    }
                }
                w.serialize(CsvEvent {
                    at: time(Some(e.at_ms)),
                    event: e.kind_name(),
                    call: e.call().unwrap_or_default(),
                    agent: e.agent().unwrap_or_default(),
                    detail: v.to_string(),
                })?;
            }
            if evs.is_empty() {
                w.write_record(["at", "event", "call", "agent", "detail"])?;
            }
            w.flush()?;
            Ok(())
        }
    }
}

fn jsonl<T: Serialize>(mut out: impl Write, items: &[T]) -> Result<(), ExportError> {
    for item in items {
        serde_json::to_writer(&mut out, item)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}
