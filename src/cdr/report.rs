//! Queue and agent reports for a period, computed by a pure function from
//! closed records and the event log (so a fixture checks every number).
//!
//! Definitions (per row; each call is judged by its own queue's targets):
//! - offered: calls that entered a queue (counted in the last queue they were in);
//! - answered: calls an agent took (`completed`); callbacks are counted apart;
//! - abandoned: `abandoned_in_queue`; short abandons left within
//!   `short_abandon` and are not counted against the service level;
//! - service level: answered within `answered_within` / (offered − short abandons);
//! - ASA: mean wait of answered calls; longest wait: over every queued call;
//! - AHT: mean of talk + hold + wrap-up of answered calls;
//! - RONA: offers that rang out unanswered;
//! - occupancy: time on calls and in wrap-up / time logged in and not paused,
//!   from the agents' state events (agent, hour and day rows).

use std::collections::BTreeMap;

use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan, Zoned};
use serde::Serialize;

use super::erlang::{self, Load, Target};
use super::{AgentStatus, CallRecord, Disposition, EventKind, OfferOutcome};
use crate::config::cdr::{CdrConfig, QueueTargets};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum GroupBy {
    Queue,
    Agent,
    Hour,
    Day,
}

/// One row of the report.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Row {
    pub key: String,
    pub offered: u64,
    pub answered: u64,
    pub answered_in_target: u64,
    pub abandoned: u64,
    pub short_abandoned: u64,
    pub callbacks_completed: u64,
    pub callbacks_failed: u64,
    pub voicemail: u64,
    /// 0..1; `None` when nothing counts.
    pub service_level: Option<f64>,
    /// Abandoned (without short abandons) / (offered − short abandons).
    pub abandon_rate: Option<f64>,
    /// Seconds.
    pub asa: Option<f64>,
    pub longest_wait: Option<f64>,
    pub aht: Option<f64>,
    pub avg_talk: Option<f64>,
    pub avg_hold: Option<f64>,
    pub avg_wrap_up: Option<f64>,
    pub rona: u64,
    pub occupancy: Option<f64>,
    /// Seconds paused (agent rows).
    pub paused: Option<f64>,
    pub survey_average: Option<f64>,
    pub surveys: u64,
}

/// Erlang staffing advice for one queue and hour.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Staffing {
    pub queue: String,
    /// The clock hour the load was measured in.
    pub hour: String,
    pub calls: u64,
    pub calls_per_hour: f64,
    /// Seconds.
    pub aht: f64,
    /// Mean patience estimated from abandonments (seconds); `None` without any.
    pub patience: Option<f64>,
    pub answered_within: f64,
    pub target: f64,
    pub erlang_c_agents: Option<u32>,
    pub erlang_a_agents: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub since_ms: i64,
    pub until_ms: i64,
    pub by: GroupBy,
    pub rows: Vec<Row>,
    pub total: Row,
    pub staffing: Vec<Staffing>,
}

/// Sums collected for a row before the averages are taken.
#[derive(Default)]
struct Acc {
    row: Row,
    waits: Vec<i64>,
    handle: Vec<i64>,
    talk: Vec<i64>,
    hold: Vec<i64>,
    wrap: Vec<i64>,
    all_waits: Vec<i64>,
    surveys: Vec<u8>,
    busy_ms: i64,
    staffed_ms: i64,
    paused_ms: i64,
    has_agent_time: bool,
    /// Rings (an agent row's "offered").
    offers: u64,
}

fn mean(v: &[i64]) -> Option<f64> {
    (!v.is_empty()).then(|| v.iter().sum::<i64>() as f64 / v.len() as f64 / 1000.0)
}

impl Acc {
    /// A queued call, judged by its queue's targets.
    fn call(&mut self, r: &CallRecord, t: &QueueTargets) {
        let row = &mut self.row;
        row.offered += 1;
        if let Some(w) = r.wait_ms {
            self.all_waits.push(w);
        }
        match &r.disposition {
            Disposition::Completed => {
                row.answered += 1;
                let w = r.wait_ms.unwrap_or(0);
                self.waits.push(w);
                if w <= t.service_level.answered_within.as_millis() as i64 {
                    row.answered_in_target += 1;
                }
                self.handle.push(r.handle_ms().unwrap_or(0));
                self.talk.push(r.talk_ms.unwrap_or(0));
                self.hold.push(r.hold_ms);
                self.wrap.push(r.wrap_up_ms.unwrap_or(0));
            }
            Disposition::AbandonedInQueue { wait_ms } => {
                row.abandoned += 1;
                if *wait_ms < t.short_abandon.as_millis() as i64 {
                    row.short_abandoned += 1;
                }
            }
            Disposition::CallbackCompleted => row.callbacks_completed += 1,
            Disposition::CallbackFailed => row.callbacks_failed += 1,
            Disposition::Voicemail => row.voicemail += 1,
            _ => {}
        }
        if let Some(s) = r.survey_score {
            self.surveys.push(s);
        }
    }

    /// `agent`: an agent's row, whose "offered" is the calls it was rung
    /// with; queue-only figures (service level, abandon rate) stay empty.
    fn finish(mut self, key: String, agent: bool) -> Row {
        let mut row = std::mem::take(&mut self.row);
        row.key = key;
        let base = row.offered.saturating_sub(row.short_abandoned);
        if agent {
            row.offered = self.offers;
        } else if base > 0 {
            row.service_level = Some(row.answered_in_target as f64 / base as f64);
            row.abandon_rate = Some((row.abandoned - row.short_abandoned) as f64 / base as f64);
        }
        row.asa = mean(&self.waits);
        row.longest_wait = self.all_waits.iter().max().map(|w| *w as f64 / 1000.0);
        row.aht = mean(&self.handle);
        row.avg_talk = mean(&self.talk);
        row.avg_hold = mean(&self.hold);
        row.avg_wrap_up = mean(&self.wrap);
        row.surveys = self.surveys.len() as u64;
        row.survey_average = (!self.surveys.is_empty()).then(|| {
            self.surveys.iter().map(|s| *s as f64).sum::<f64>() / self.surveys.len() as f64
        });
        if self.has_agent_time {
            row.occupancy =
                (self.staffed_ms > 0).then(|| self.busy_ms as f64 / self.staffed_ms as f64);
            row.paused = Some(self.paused_ms as f64 / 1000.0);
        }
        row
    }
}

/// The local clock hour or day containing `ms`: its label and bounds.
fn bucket(ms: i64, tz: &TimeZone, by: GroupBy) -> (String, i64, i64) {
    let z: Zoned = Timestamp::from_millisecond(ms)
        .unwrap_or(Timestamp::UNIX_EPOCH)
        .to_zoned(tz.clone());
    let (start, end) = match by {
        GroupBy::Day => {
            let s = z.start_of_day().unwrap_or(z.clone());
            let e = s
                .tomorrow()
                .and_then(|t| t.start_of_day())
                .unwrap_or_else(|_| s.clone());
            (s, e)
        }
        _ => {
            let s = z
                .with()
                .minute(0)
                .second(0)
                .subsec_nanosecond(0)
                .build()
                .unwrap_or(z.clone());
            let e = s.checked_add(1.hour()).unwrap_or_else(|_| s.clone());
            (s, e)
        }
    };
    let label = match by {
        GroupBy::Day => start.strftime("%Y-%m-%d").to_string(),
        _ => start.strftime("%Y-%m-%d %H:00").to_string(),
    };
    (
        label,
        start.timestamp().as_millisecond(),
        end.timestamp().as_millisecond(),
    )
}

/// One agent's state over an interval.
struct Span {
    agent: String,
    state: AgentStatus,
    from: i64,
    to: i64,
}

/// Agent state intervals within `[since, until)` from state events (the
/// last one before `since` included, sorted by time).
fn spans(events: &[super::Event], since: i64, until: i64) -> Vec<Span> {
    let mut current: BTreeMap<&str, (AgentStatus, i64)> = BTreeMap::new();
    let mut out = Vec::new();
    let close = |agent: &str, state: AgentStatus, from: i64, to: i64, out: &mut Vec<Span>| {
        let (from, to) = (from.max(since), to.min(until));
        if to > from {
            out.push(Span {
                agent: agent.to_string(),
                state,
                from,
                to,
            });
        }
    };
    for ev in events {
        let EventKind::AgentState { agent, state, .. } = &ev.kind else {
            continue;
        };
        if ev.at_ms >= until {
            break;
        }
        if let Some((prev, from)) = current.insert(agent, (*state, ev.at_ms)) {
            close(agent, prev, from, ev.at_ms, &mut out);
        }
    }
    for (agent, (state, from)) in current {
        close(agent, state, from, until, &mut out);
    }
    out
}

/// Computes the report for calls that arrived in `[since_ms, until_ms)`.
/// `events` are the agent state events from the store (the last state of
/// each agent before the period and every event in it), oldest first;
/// `until_ms` should not lie in the future (occupancy counts up to it).
pub fn compute(
    records: &[CallRecord],
    events: &[super::Event],
    since_ms: i64,
    until_ms: i64,
    by: GroupBy,
    cfg: &CdrConfig,
    tz: &TimeZone,
) -> Report {
    let records: Vec<&CallRecord> = records
        .iter()
        .filter(|r| !r.is_open() && r.arrived_ms >= since_ms && r.arrived_ms < until_ms)
        .collect();
    let mut groups: BTreeMap<String, Acc> = BTreeMap::new();
    let mut total = Acc::default();
    for r in &records {
        let Some(queue) = &r.queue else { continue };
        let t = cfg.targets(queue);
        total.call(r, &t);
        let key = match by {
            GroupBy::Queue => Some(queue.clone()),
            GroupBy::Agent => r.agent.clone(),
            GroupBy::Hour | GroupBy::Day => Some(bucket(r.arrived_ms, tz, by).0),
        };
        if let Some(key) = key {
            groups.entry(key).or_default().call(r, &t);
        }
    }
    // Offers and RONA belong to the agent rung (agent rows) or the queue.
    for r in &records {
        for o in &r.offers {
            let key = match by {
                GroupBy::Queue => Some(o.queue.clone()),
                GroupBy::Agent => Some(o.agent.clone()),
                GroupBy::Hour | GroupBy::Day => Some(bucket(o.offered_ms, tz, by).0),
            };
            let rona = o.outcome == Some(OfferOutcome::NoAnswer);
            if rona {
                total.row.rona += 1;
            }
            if let Some(key) = key {
                let acc = groups.entry(key).or_default();
                acc.offers += 1;
                if rona {
                    acc.row.rona += 1;
                }
            }
        }
    }
    // Occupancy from agent states.
    for s in spans(events, since_ms, until_ms) {
        let add = |acc: &mut Acc, from: i64, to: i64| {
            acc.has_agent_time = true;
            let d = to - from;
            if s.state.staffed() {
                acc.staffed_ms += d;
            }
            if s.state.busy() {
                acc.busy_ms += d;
            }
            if s.state == AgentStatus::Paused {
                acc.paused_ms += d;
            }
        };
        add(&mut total, s.from, s.to);
        match by {
            GroupBy::Queue => {}
            GroupBy::Agent => add(groups.entry(s.agent.clone()).or_default(), s.from, s.to),
            GroupBy::Hour | GroupBy::Day => {
                let mut from = s.from;
                while from < s.to {
                    let (key, _, end) = bucket(from, tz, by);
                    let to = end.min(s.to).max(from + 1);
                    add(groups.entry(key).or_default(), from, to);
                    from = to;
                }
            }
        }
    }
    let rows = groups
        .into_iter()
        .map(|(k, a)| a.finish(k, by == GroupBy::Agent))
        .collect();
    Report {
        since_ms,
        until_ms,
        by,
        rows,
        total: total.finish("total".into(), false),
        staffing: staffing(&records, since_ms, until_ms, by, cfg, tz),
    }
}

/// Erlang advice per queue: for every clock hour with `--by hour`,
/// otherwise for each queue's busiest hour in the period. The arrival rate
/// is that hour's queued calls over the part of the hour inside the period;
/// handle time is that hour's mean (the queue's mean over the period when
/// no call was answered in the hour); patience is estimated over the period
/// as total waiting time / abandonments (the maximum-likelihood estimate
/// for exponential patience with answered calls as censored waits).
fn staffing(
    records: &[&CallRecord],
    since_ms: i64,
    until_ms: i64,
    by: GroupBy,
    cfg: &CdrConfig,
    tz: &TimeZone,
) -> Vec<Staffing> {
    #[derive(Default)]
    struct Hour {
        start: i64,
        end: i64,
        calls: u64,
        handle: Vec<i64>,
    }
    #[derive(Default)]
    struct Queue {
        hours: BTreeMap<String, Hour>,
        handle: Vec<i64>,
        waited_ms: i64,
        abandoned: u64,
    }
    let mut queues: BTreeMap<&str, Queue> = BTreeMap::new();
    for r in records {
        let Some(queue) = r.queue.as_deref() else {
            continue;
        };
        let q = queues.entry(queue).or_default();
        let (label, start, end) = bucket(r.arrived_ms, tz, GroupBy::Hour);
        let h = q.hours.entry(label).or_default();
        (h.start, h.end) = (start, end);
        h.calls += 1;
        if r.disposition == Disposition::Completed {
            let handle = r.handle_ms().unwrap_or(0);
            h.handle.push(handle);
            q.handle.push(handle);
        }
        q.waited_ms += r.wait_ms.unwrap_or(0);
        if matches!(r.disposition, Disposition::AbandonedInQueue { .. }) {
            q.abandoned += 1;
        }
    }
    let mut out = Vec::new();
    for (name, q) in &queues {
        let t = cfg.targets(name);
        let target = Target {
            within: t.service_level.answered_within.as_secs_f64(),
            level: t.service_level.target.fraction(),
        };
        let patience = (q.abandoned > 0 && q.waited_ms > 0)
            .then(|| q.waited_ms as f64 / 1000.0 / q.abandoned as f64);
        let hours: Vec<(&String, &Hour)> = if by == GroupBy::Hour {
            q.hours.iter().collect()
        } else {
            // Busiest hour; the earliest of equals.
            q.hours
                .iter()
                .rev()
                .max_by_key(|(_, h)| h.calls)
                .into_iter()
                .collect()
        };
        for (label, h) in hours {
            let Some(aht) = mean(&h.handle).or_else(|| mean(&q.handle)) else {
                continue;
            };
            let seconds = (h.end.min(until_ms) - h.start.max(since_ms)) as f64 / 1000.0;
            if seconds <= 0.0 || aht <= 0.0 {
                continue;
            }
            let load = Load {
                rate: h.calls as f64 / seconds,
                aht,
            };
            out.push(Staffing {
                queue: name.to_string(),
                hour: label.clone(),
                calls: h.calls,
                calls_per_hour: load.rate * 3600.0,
                aht,
                patience,
                answered_within: target.within,
                target: target.level,
                erlang_c_agents: erlang::agents_erlang_c(load, target).map(|p| p.agents),
                erlang_a_agents: patience.and_then(|p| {
                    erlang::agents_erlang_a(load, p, target, t.short_abandon.as_secs_f64())
                        .map(|p| p.agents)
                }),
            });
        }
    }
    out
}

fn secs(v: Option<f64>) -> String {
    match v {
        None => "-".into(),
        Some(s) => {
            let s = s.round() as i64;
            format!("{}:{:02}", s / 60, s % 60)
        }
    }
}

fn pct(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| format!("{:.1}%", v * 100.0))
}

/// The report as a readable table.
pub fn render(r: &Report, tz: &TimeZone) -> String {
    use std::fmt::Write;
    let when = |ms: i64| {
        Timestamp::from_millisecond(ms)
            .map(|t| {
                t.to_zoned(tz.clone())
                    .strftime("%Y-%m-%d %H:%M %Z")
                    .to_string()
            })
            .unwrap_or_default()
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Calls from {} to {}, by {:?}\n",
        when(r.since_ms),
        when(r.until_ms),
        r.by
    );
    let head = [
        "",
        "offered",
        "answered",
        "abandoned",
        "short",
        "SL",
        "ASA",
        "longest",
        "AHT",
        "talk",
        "hold",
        "wrap",
        "RONA",
        "occupancy",
        "survey",
    ];
    let mut table: Vec<Vec<String>> = vec![head.iter().map(|s| s.to_string()).collect()];
    for row in r.rows.iter().chain(std::iter::once(&r.total)) {
        table.push(vec![
            row.key.clone(),
            row.offered.to_string(),
            row.answered.to_string(),
            row.abandoned.to_string(),
            row.short_abandoned.to_string(),
            pct(row.service_level),
            secs(row.asa),
            secs(row.longest_wait),
            secs(row.aht),
            secs(row.avg_talk),
            secs(row.avg_hold),
            secs(row.avg_wrap_up),
            row.rona.to_string(),
            pct(row.occupancy),
            row.survey_average
                .map_or("-".into(), |s| format!("{s:.2} ({})", row.surveys)),
        ]);
    }
    write_table(&mut out, &table);
    if !r.staffing.is_empty() {
        let _ = writeln!(
            out,
            "\nStaffing advice (agents on the phones for the target service level)\n"
        );
        let mut t: Vec<Vec<String>> = vec![[
            "queue", "hour", "calls/h", "AHT", "patience", "target", "Erlang C", "Erlang A",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()];
        for s in &r.staffing {
            t.push(vec![
                s.queue.clone(),
                s.hour.clone(),
                format!("{:.1}", s.calls_per_hour),
                secs(Some(s.aht)),
                secs(s.patience),
                format!("{:.0}% in {:.0}s", s.target * 100.0, s.answered_within),
                s.erlang_c_agents.map_or("-".into(), |n| n.to_string()),
                s.erlang_a_agents.map_or("-".into(), |n| n.to_string()),
            ]);
        }
        write_table(&mut out, &t);
    }
    out
}

fn write_table(out: &mut String, rows: &[Vec<String>]) {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let width: Vec<usize> = (0..cols)
        .map(|c| {
            rows.iter()
                .map(|r| r.get(c).map_or(0, |s| s.chars().count()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    for r in rows {
        let line: Vec<String> = r
            .iter()
            .enumerate()
            .map(|(c, s)| {
                if c == 0 {
                    format!("{s:<w$}", w = width[c])
                } else {
                    format!("{s:>w$}", w = width[c])
                }
            })
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    //! A hand-computed fixture: every figure below is worked out in the
    //! comments from the calls and agent states listed.
    use super::*;
    use crate::cdr::{Event, HungUpBy, Journey};

    /// 2026-11-23 10:00 UTC.
    const T: i64 = 1_795_428_000_000;
    const S: i64 = 1000;

    fn cfg() -> CdrConfig {
        let mut c = CdrConfig::default(); // 80 % in 20 s, short abandon 5 s
        c.queues.insert(
            "billing".into(),
            crate::config::cdr::QueueReport {
                service_level: Some(crate::config::cdr::ServiceLevel {
                    answered_within: std::time::Duration::from_secs(30),
                    target: crate::config::cdr::Percent(80.0),
                }),
                short_abandon: None,
            },
        );
        c
    }

    fn call(id: &str, arrived: i64) -> Journey {
        Journey::new(
            id,
            format!("sip-{id}"),
            "100",
            None,
            "5000",
            T + arrived * S,
        )
    }

    fn records() -> Vec<CallRecord> {
        let mut out = Vec::new();
        // c1 billing: waits 30 s (1001 rings out, 1002 answers), 10 s hold,
        // talk 160-40-10 = 110 s, wrap-up 20 s: handle 140 s. Survey 5.
        let mut j = call("c1", 0);
        j.queued("billing", 0, T + 10 * S);
        j.offer("1001", T + 12 * S);
        j.offer_outcome("1001", OfferOutcome::NoAnswer, T + 27 * S);
        j.offer("1002", T + 27 * S);
        j.connected("1002", "leg1", T + 40 * S);
        j.hold(true, T + 60 * S);
        j.hold(false, T + 70 * S);
        j.survey(5);
        let mut r = j.end(T + 160 * S, HungUpBy::Caller, "remote hangup").0;
        r.wrap_up_ms = Some(20 * S);
        out.push(r);
        // c2 billing: waits 10 s, 1001 answers, talk 100 s, wrap-up 10 s: handle 110 s. Survey 3.
        let mut j = call("c2", 600);
        j.queued("billing", 0, T + 605 * S);
        j.offer("1001", T + 606 * S);
        j.connected("1001", "leg2", T + 615 * S);
        j.survey(3);
        let mut r = j.end(T + 715 * S, HungUpBy::Agent, "remote hangup").0;
        r.wrap_up_ms = Some(10 * S);
        out.push(r);
        // c3 billing: hangs up after 3 s in the queue: a short abandon.
        let mut j = call("c3", 1200);
        j.queued("billing", 0, T + 1203 * S);
        out.push(j.end(T + 1206 * S, HungUpBy::Caller, "remote hangup").0);
        // c4 tech: 1002 rings out; the caller gives up after 50 s.
        let mut j = call("c4", 3600);
        j.queued("tech", 0, T + 3610 * S);
        j.offer("1002", T + 3611 * S);
        j.offer_outcome("1002", OfferOutcome::NoAnswer, T + 3626 * S);
        out.push(j.end(T + 3660 * S, HungUpBy::Caller, "remote hangup").0);
        // c5 tech: waits 24 s (over tech's 20 s), talk 200 s, wrap-up 30 s: handle 230 s.
        let mut j = call("c5", 3700);
        j.queued("tech", 0, T + 3701 * S);
        j.offer("1001", T + 3702 * S);
        j.connected("1001", "leg5", T + 3725 * S);
        let mut r = j.end(T + 3925 * S, HungUpBy::Caller, "remote hangup").0;
        r.wrap_up_ms = Some(30 * S);
        out.push(r);
        // c6 never queued (hung up in the menu): in no queue figure.
        out.push(call("c6", 100).end(T + 130 * S, HungUpBy::Caller, "x").0);
        // c7 arrived before the period; c8 is still in progress: both left out.
        let mut j = call("c7", -100);
        j.queued("billing", 0, T - 90 * S);
        j.connected("1001", "leg7", T - 80 * S);
        out.push(j.end(T - 10 * S, HungUpBy::Caller, "x").0);
        let mut j = call("c8", 1000);
        j.queued("billing", 0, T + 1001 * S);
        out.push(j.snapshot());
        out
    }

    fn state(at: i64, agent: &str, s: AgentStatus) -> Event {
        Event {
            at_ms: T + at * S,
            kind: EventKind::AgentState {
                agent: agent.into(),
                state: s,
                reason: None,
                call: None,
            },
        }
    }

    /// 1001: staffed all of [0, 7200) except its pause [1800, 3600): 5400 s;
    ///       busy (on call + wrap-up) [615, 725) and [3725, 3955): 340 s.
    /// 1002: staffed [0, 5000): 5000 s; busy [40, 180): 140 s.
    fn events() -> Vec<Event> {
        use AgentStatus::*;
        let mut v = vec![
            state(-600, "1001", Available),
            state(0, "1002", Available),
            state(12, "1001", Offered),
            state(27, "1001", Available),
            state(27, "1002", Offered),
            state(40, "1002", OnCall),
            state(160, "1002", WrapUp),
            state(180, "1002", Available),
            state(606, "1001", Offered),
            state(615, "1001", OnCall),
            state(715, "1001", WrapUp),
            state(725, "1001", Available),
            state(1800, "1001", Paused),
            state(3600, "1001", Available),
            state(3611, "1002", Offered),
            state(3626, "1002", Available),
            state(3702, "1001", Offered),
            state(3725, "1001", OnCall),
            state(3925, "1001", WrapUp),
            state(3955, "1001", Available),
            state(5000, "1002", LoggedOut),
        ];
        // Events after the period change nothing.
        v.push(state(9000, "1001", OnCall));
        v
    }

    fn run(by: GroupBy) -> Report {
        compute(
            &records(),
            &events(),
            T,
            T + 7200 * S,
            by,
            &cfg(),
            &TimeZone::UTC,
        )
    }

    fn close(a: Option<f64>, b: f64) -> bool {
        a.is_some_and(|a| (a - b).abs() < 1e-9)
    }

    #[test]
    fn by_queue() {
        let r = run(GroupBy::Queue);
        let [billing, tech] = &r.rows[..] else {
            panic!("{:#?}", r.rows)
        };
        // billing (30 s target): c1, c2 answered within 30 s; c3 a short abandon.
        assert_eq!(billing.key, "billing");
        assert_eq!(
            (
                billing.offered,
                billing.answered,
                billing.answered_in_target
            ),
            (3, 2, 2)
        );
        assert_eq!((billing.abandoned, billing.short_abandoned), (1, 1));
        assert!(close(billing.service_level, 1.0)); // 2 / (3 - 1)
        assert!(close(billing.abandon_rate, 0.0));
        assert!(close(billing.asa, 20.0)); // (30 + 10) / 2
        assert!(close(billing.longest_wait, 30.0));
        assert!(close(billing.aht, 125.0)); // (140 + 110) / 2
        assert!(close(billing.avg_talk, 105.0));
        assert!(close(billing.avg_hold, 5.0));
        assert!(close(billing.avg_wrap_up, 15.0));
        assert_eq!(billing.rona, 1);
        assert!(close(billing.survey_average, 4.0));
        assert_eq!(billing.surveys, 2);
        assert_eq!(billing.occupancy, None);
        // tech (20 s target): c5 waited 24 s, c4 abandoned after 50 s.
        assert_eq!(
            (tech.offered, tech.answered, tech.answered_in_target),
            (2, 1, 0)
        );
        assert_eq!((tech.abandoned, tech.short_abandoned), (1, 0));
        assert!(close(tech.service_level, 0.0));
        assert!(close(tech.abandon_rate, 0.5));
        assert!(close(tech.asa, 24.0));
        assert!(close(tech.longest_wait, 50.0));
        assert!(close(tech.aht, 230.0));
        assert_eq!(tech.rona, 1);
        assert_eq!(tech.survey_average, None);
        // Total: 2 in target / (5 - 1 short).
        let t = &r.total;
        assert_eq!((t.offered, t.answered, t.abandoned, t.rona), (5, 3, 2, 2));
        assert!(close(t.service_level, 0.5));
        assert!(close(t.abandon_rate, 0.25));
        assert!(close(t.asa, 64.0 / 3.0));
        assert!(close(t.aht, 160.0)); // (140 + 110 + 230) / 3
        assert!(close(t.occupancy, 480.0 / 10_400.0)); // (340 + 140) / (5400 + 5000)
        assert!(close(t.paused, 1800.0));

        // Staffing for each queue's busiest hour. billing 10:00: 3 calls in
        // the hour, AHT 125 s, patience 43 s of waiting / 1 abandonment; load
        // 3 × 125 / 3600 = 0.104 E: one agent answers 91.6 % within 30 s.
        let [sb, st] = &r.staffing[..] else {
            panic!("{:#?}", r.staffing)
        };
        assert_eq!(
            (sb.queue.as_str(), sb.hour.as_str()),
            ("billing", "2026-11-23 10:00")
        );
        assert_eq!(sb.calls, 3);
        assert!((sb.calls_per_hour - 3.0).abs() < 1e-9);
        assert!((sb.aht - 125.0).abs() < 1e-9);
        assert!(close(sb.patience, 43.0));
        assert_eq!(sb.erlang_c_agents, Some(1));
        assert_eq!(sb.erlang_a_agents, Some(1));
        // tech 11:00: 2 calls, AHT 230 s, patience (50 + 24) / 1 = 74 s.
        assert_eq!(
            (st.queue.as_str(), st.hour.as_str()),
            ("tech", "2026-11-23 11:00")
        );
        assert!((st.aht - 230.0).abs() < 1e-9);
        assert!(close(st.patience, 74.0));
        assert_eq!(st.erlang_c_agents, Some(1));
    }

    #[test]
    fn by_agent() {
        let r = run(GroupBy::Agent);
        let [a1, a2] = &r.rows[..] else {
            panic!("{:#?}", r.rows)
        };
        // 1001 was rung with c1 (rang out), c2 and c5 (answered both).
        assert_eq!(a1.key, "1001");
        assert_eq!((a1.offered, a1.answered, a1.rona), (3, 2, 1));
        assert_eq!(a1.service_level, None);
        assert!(close(a1.asa, 17.0)); // (10 + 24) / 2
        assert!(close(a1.aht, 170.0)); // (110 + 230) / 2
        assert!(close(a1.survey_average, 3.0));
        assert!(close(a1.occupancy, 340.0 / 5400.0));
        assert!(close(a1.paused, 1800.0));
        // 1002 was rung with c1 (answered) and c4 (rang out).
        assert_eq!((a2.offered, a2.answered, a2.rona), (2, 1, 1));
        assert!(close(a2.asa, 30.0));
        assert!(close(a2.aht, 140.0));
        assert!(close(a2.occupancy, 140.0 / 5000.0));
        assert!(close(a2.paused, 0.0));
    }

    #[test]
    fn by_hour() {
        let r = run(GroupBy::Hour);
        let [h10, h11] = &r.rows[..] else {
            panic!("{:#?}", r.rows)
        };
        assert_eq!(h10.key, "2026-11-23 10:00");
        assert_eq!(
            (h10.offered, h10.answered, h10.abandoned, h10.rona),
            (3, 2, 1, 1)
        );
        assert!(close(h10.service_level, 1.0));
        // 10:00-11:00: 1001 staffed 1800 s (then paused), busy 110 s;
        // 1002 staffed 3600 s, busy 140 s.
        assert!(close(h10.occupancy, 250.0 / 5400.0));
        assert_eq!(h11.key, "2026-11-23 11:00");
        assert_eq!(
            (h11.offered, h11.answered, h11.abandoned, h11.rona),
            (2, 1, 1, 1)
        );
        // 11:00-12:00: 1001 staffed 3600 s, busy 230 s; 1002 staffed 1400 s.
        assert!(close(h11.occupancy, 230.0 / 5000.0));
        // With --by hour there is advice for every queue and hour with calls.
        let hours: Vec<_> = r
            .staffing
            .iter()
            .map(|s| (s.queue.as_str(), s.hour.as_str()))
            .collect();
        assert_eq!(
            hours,
            [
                ("billing", "2026-11-23 10:00"),
                ("tech", "2026-11-23 11:00")
            ]
        );
        // One day row holds everything.
        let d = run(GroupBy::Day);
        assert_eq!(d.rows.len(), 1);
        assert_eq!(d.rows[0].key, "2026-11-23");
        assert_eq!(d.rows[0].offered, 5);
        assert!(close(d.rows[0].occupancy, 480.0 / 10_400.0));
        let text = render(&d, &TimeZone::UTC);
        assert!(text.contains("2026-11-23"), "{text}");
        assert!(text.contains("Erlang C"), "{text}");
    }
}
