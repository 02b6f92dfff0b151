//! Live figures the router does not keep: since when each agent is in its
//! state, since when each caller waits in its queue, today's queue outcomes
//! in 15-minute slots, and the last hour's traffic for staffing advice (for
//! the wallboard, the API and /metrics).
//!
//! Fed from what the router decides (`Output::AgentState`, `Output::Overflow`,
//! `Output::CallbackFailed`) and from the calls (a caller joins a queue,
//! hangs up). Nothing here invents a figure: the service level is answered
//! in time over real outcomes, with the targets `switchboard report` uses
//! (`cdr:` in the configuration). Plain state taking `now`, like the router.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use jiff::tz::TimeZone;

use super::WallClock;
use crate::acd::{AgentState, CallId, Output, OverflowTarget, Router};
use crate::admin::api::{Counts, StaffingView, Today};
use crate::config::cdr::CdrConfig;

/// Minutes per slot of the day's charts.
pub const SLOT_MINUTES: u32 = 15;
const SLOTS: usize = (24 * 60 / SLOT_MINUTES) as usize;
/// Traffic this recent drives the staffing advice.
const HOUR: Duration = Duration::from_secs(3600);

/// A caller in a queue, not answered yet.
#[derive(Debug, Clone)]
pub(super) struct Waiter {
    pub queue: Arc<str>,
    pub joined: Instant,
}

/// One queue's day so far.
#[derive(Debug, Clone, Default)]
struct QueueDay {
    counts: Counts,
    /// Waits of callers with an outcome (answered ones are censored
    /// patience observations).
    waited: Duration,
    handled: u32,
    handle_total: Duration,
}

/// One queue's last hour.
#[derive(Debug, Clone, Default)]
struct Recent {
    joins: VecDeque<Instant>,
    /// (when the wrap-up ended, handle time).
    handles: VecDeque<(Instant, Duration)>,
}

impl Recent {
    fn prune(&mut self, now: Instant) {
        let old = |t: Instant| now.saturating_duration_since(t) > HOUR;
        while self.joins.front().is_some_and(|t| old(*t)) {
            self.joins.pop_front();
        }
        while self.handles.front().is_some_and(|(t, _)| old(*t)) {
            self.handles.pop_front();
        }
    }
}

pub(super) struct LiveStats {
    clock: WallClock,
    zone: TimeZone,
    targets: CdrConfig,
    started: Instant,
    /// Woken on every change, so the wallboard feed need not poll.
    notify: Option<Arc<tokio::sync::Notify>>,
    agent_since: HashMap<Arc<str>, Instant>,
    /// Agents on a queue call: its queue and since when (talk + wrap-up).
    handling: HashMap<Arc<str>, (Arc<str>, Instant)>,
    pub waiting: HashMap<CallId, Waiter>,
    day: jiff::civil::Date,
    slots: Vec<Counts>,
    today: HashMap<Arc<str>, QueueDay>,
    since_start: HashMap<Arc<str>, Counts>,
    recent: HashMap<Arc<str>, Recent>,
}

/// Which counter an event bumps.
#[derive(Debug, Clone, Copy)]
enum Event {
    Offered,
    Answered { in_time: bool },
    Abandoned { short: bool },
    Overflowed,
}

impl Event {
    fn add(self, c: &mut Counts) {
        match self {
            Event::Offered => c.offered += 1,
            Event::Answered { in_time } => {
                c.answered += 1;
                c.answered_in_time += u64::from(in_time);
            }
            Event::Abandoned { short } => {
                c.abandoned += 1;
                c.short_abandoned += u64::from(short);
            }
            Event::Overflowed => c.overflowed += 1,
        }
    }
}

impl LiveStats {
    pub fn new(clock: WallClock, started: Instant) -> LiveStats {
        let zone = TimeZone::UTC;
        let day = Self::local(clock, &zone, started).date();
        LiveStats {
            clock,
            zone,
            targets: CdrConfig::default(),
            started,
            notify: None,
            agent_since: HashMap::new(),
            handling: HashMap::new(),
            waiting: HashMap::new(),
            day,
            slots: vec![Counts::default(); SLOTS],
            today: HashMap::new(),
            since_start: HashMap::new(),
            recent: HashMap::new(),
        }
    }

    /// The zone whose midnight starts "today", the service-level targets,
    /// and whom to wake on changes.
    pub fn set_watch(
        &mut self,
        zone: TimeZone,
        targets: CdrConfig,
        notify: Arc<tokio::sync::Notify>,
    ) {
        self.zone = zone;
        self.targets = targets;
        self.day = Self::local(self.clock, &self.zone, self.started).date();
        self.notify = Some(notify);
    }

    pub fn targets(&self) -> &CdrConfig {
        &self.targets
    }

    fn local(clock: WallClock, zone: &TimeZone, now: Instant) -> jiff::civil::DateTime {
        let ts =
            jiff::Timestamp::from_millisecond(clock.at(now)).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
        ts.to_zoned(zone.clone()).datetime()
    }

    fn changed(&self) {
        if let Some(n) = &self.notify {
            n.notify_one();
        }
    }

    /// The slot `now` falls in; a new day starts empty.
    fn slot(&mut self, now: Instant) -> usize {
        self.slot_at_ms(self.clock.at(now))
    }

    /// The slot of wall-clock time `ms` (today's, or a new day's).
    fn slot_at_ms(&mut self, ms: i64) -> usize {
        let t = jiff::Timestamp::from_millisecond(ms)
            .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
            .to_zoned(self.zone.clone())
            .datetime();
        if t.date() != self.day {
            self.day = t.date();
            self.slots.iter_mut().for_each(|s| *s = Counts::default());
            self.today.clear();
        }
        let minutes = t.hour() as u32 * 60 + t.minute() as u32;
        ((minutes / SLOT_MINUTES) as usize).min(SLOTS - 1)
    }

    fn count(&mut self, now: Instant, queue: &Arc<str>, ev: Event) {
        let slot = self.slot(now);
        ev.add(&mut self.slots[slot]);
        ev.add(&mut self.today.entry(queue.clone()).or_default().counts);
        ev.add(self.since_start.entry(queue.clone()).or_default());
        self.changed();
    }

    /// A caller with an outcome waited `w.joined .. now`.
    fn outcome(&mut self, now: Instant, w: &Waiter, ev: Event) {
        self.count(now, &w.queue, ev);
        let waited = now.saturating_duration_since(w.joined);
        self.today.entry(w.queue.clone()).or_default().waited += waited;
    }

    /// Today's counts from the event log stored before this start (events
    /// since local midnight, oldest first), so the wallboard's day survives
    /// a restart. Outcomes follow the live rules: answered within the target
    /// or not, abandoned (short or not), or overflowed when the caller left
    /// the queue another way (voicemail, another queue, a flow).
    pub fn seed(&mut self, events: &[crate::cdr::Event]) {
        use crate::cdr::{AgentStatus, EventKind as K};
        let mut open: HashMap<&str, (Arc<str>, i64)> = HashMap::new();
        // Agents on a queue call: its queue and when it was connected.
        let mut handling: HashMap<&str, (Arc<str>, i64)> = HashMap::new();
        for ev in events {
            let ms = ev.at_ms;
            match &ev.kind {
                K::CallQueued { call, queue, .. } => {
                    if let Some((q, _)) = open.remove(call.as_str()) {
                        self.count_at_ms(ms, &q, Event::Overflowed, 0);
                    }
                    let q: Arc<str> = Arc::from(queue.as_str());
                    self.count_at_ms(ms, &q, Event::Offered, 0);
                    // The staffing advice reads the last hour's arrivals:
                    // after a restart they come from the log too.
                    if let Some(at) = self.instant_at_ms(ms) {
                        self.recent
                            .entry(q.clone())
                            .or_default()
                            .joins
                            .push_back(at);
                    }
                    open.insert(call, (q, ms));
                }
                K::CallConnected { call, agent, .. } => {
                    if let Some((q, joined)) = open.remove(call.as_str()) {
                        let within = self.targets.targets(&q).service_level.answered_within;
                        let in_time = ms - joined <= within.as_millis() as i64;
                        self.count_at_ms(ms, &q, Event::Answered { in_time }, ms - joined);
                        handling.insert(agent, (q, ms));
                    }
                }
                // As live (`observe`): talk and wrap-up end when the agent
                // leaves them for any other state.
                K::AgentState { agent, state, .. }
                    if !matches!(state, AgentStatus::OnCall | AgentStatus::WrapUp) =>
                {
                    if let Some((q, since)) = handling.remove(agent.as_str()) {
                        let handle = Duration::from_millis((ms - since).max(0) as u64);
                        let day = self.today.entry(q.clone()).or_default();
                        day.handled += 1;
                        day.handle_total += handle;
                        if let Some(at) = self.instant_at_ms(ms) {
                            self.recent
                                .entry(q)
                                .or_default()
                                .handles
                                .push_back((at, handle));
                        }
                    }
                }
                K::CallEnded {
                    call, disposition, ..
                } => {
                    let Some((q, joined)) = open.remove(call.as_str()) else {
                        continue;
                    };
                    let ev = match disposition.as_str() {
                        "abandoned_in_queue" | "callback_failed" => {
                            let short = ms - joined
                                < self.targets.targets(&q).short_abandon.as_millis() as i64;
                            Event::Abandoned { short }
                        }
                        // The server stopped: no outcome to count.
                        "interrupted" => continue,
                        _ => Event::Overflowed,
                    };
                    self.count_at_ms(ms, &q, ev, ms - joined);
                }
                _ => {}
            }
        }
    }

    /// The instant of wall-clock `ms`, if it is within the last hour before
    /// the start (older ones never count as recent).
    fn instant_at_ms(&self, ms: i64) -> Option<Instant> {
        let ago = self.clock.at(self.started) - ms;
        if !(0..=HOUR.as_millis() as i64).contains(&ago) {
            return None;
        }
        self.started.checked_sub(Duration::from_millis(ago as u64))
    }

    /// `count` for a stored event at wall-clock `ms`, after a wait of `waited_ms`.
    fn count_at_ms(&mut self, ms: i64, queue: &Arc<str>, ev: Event, waited_ms: i64) {
        let slot = self.slot_at_ms(ms);
        ev.add(&mut self.slots[slot]);
        let day = self.today.entry(queue.clone()).or_default();
        ev.add(&mut day.counts);
        if !matches!(ev, Event::Offered) {
            day.waited += Duration::from_millis(waited_ms.max(0) as u64);
        }
    }

    /// A caller joined `queue`.
    pub fn joined(&mut self, now: Instant, call: CallId, queue: &str) {
        let queue: Arc<str> = Arc::from(queue);
        self.waiting.insert(
            call,
            Waiter {
                queue: queue.clone(),
                joined: now,
            },
        );
        let recent = self.recent.entry(queue.clone()).or_default();
        recent.prune(now);
        recent.joins.push_back(now);
        self.count(now, &queue, Event::Offered);
    }

    /// The caller left its queue unanswered (hung up, or by a way the
    /// router reported to nobody); within `short_abandon` it does not count
    /// against the service level.
    pub fn call_ended(&mut self, now: Instant, call: CallId) {
        if let Some(w) = self.waiting.remove(&call) {
            let short = now.saturating_duration_since(w.joined)
                < self.targets.targets(&w.queue).short_abandon;
            self.outcome(now, &w, Event::Abandoned { short });
        }
    }

    /// Learns from one router decision (before the shell carries it out).
    pub fn observe(&mut self, now: Instant, out: &Output) {
        match out {
            Output::AgentState { agent, state } => {
                self.agent_since.insert(agent.clone(), now);
                match state {
                    AgentState::OnCall { call, .. } => {
                        if let Some(w) = self.waiting.remove(call) {
                            let within =
                                self.targets.targets(&w.queue).service_level.answered_within;
                            let in_time = now.saturating_duration_since(w.joined) <= within;
                            self.outcome(now, &w, Event::Answered { in_time });
                            self.handling.insert(agent.clone(), (w.queue, now));
                        }
                    }
                    AgentState::WrapUp { .. } => {}
                    _ => self.handled(now, agent),
                }
                self.changed();
            }
            // Every callback attempt went unanswered: the caller is gone.
            Output::CallbackFailed { call } => self.call_ended(now, *call),
            Output::Overflow { call, target, .. } => {
                // A callback offer keeps the caller in place.
                if *target == OverflowTarget::Callback {
                    return;
                }
                let Some(w) = self.waiting.remove(call) else {
                    return;
                };
                self.outcome(now, &w, Event::Overflowed);
                if let OverflowTarget::Queue(next) = target {
                    self.joined(now, *call, next);
                }
            }
            _ => {}
        }
    }

    /// The agent's call and wrap-up are over: its handle time counts.
    fn handled(&mut self, now: Instant, agent: &str) {
        let Some((queue, since)) = self.handling.remove(agent) else {
            return;
        };
        let handle = now.saturating_duration_since(since);
        let day = self.today.entry(queue.clone()).or_default();
        day.handled += 1;
        day.handle_total += handle;
        let recent = self.recent.entry(queue).or_default();
        recent.prune(now);
        recent.handles.push_back((now, handle));
    }

    /// Callers the router no longer holds in the queue they joined left by a
    /// way that reported nothing here (a queue's leave key): unanswered, so
    /// abandoned. Cheap unless the counts disagree.
    pub fn reconcile(&mut self, now: Instant, router: &Router) {
        let held: usize = router
            .queue_names()
            .filter_map(|q| router.queue_stats(q))
            .map(|s| s.callers)
            .sum();
        if held == self.waiting.len() {
            return;
        }
        let gone: Vec<CallId> = self
            .waiting
            .iter()
            .filter(|(call, w)| router.call_info(**call).is_none_or(|i| i.queue != w.queue))
            .map(|(call, _)| *call)
            .collect();
        for call in gone {
            self.call_ended(now, call);
        }
    }

    /// Since when `agent` is in its current state (start-up for agents that
    /// have not changed since).
    pub fn agent_since(&self, agent: &str) -> Instant {
        self.agent_since.get(agent).copied().unwrap_or(self.started)
    }

    /// The longest-waiting caller's wait in `queue`.
    pub fn longest_wait(&self, now: Instant, queue: &str) -> Duration {
        self.waiting
            .values()
            .filter(|w| &*w.queue == queue)
            .map(|w| now.saturating_duration_since(w.joined))
            .max()
            .unwrap_or_default()
    }

    pub fn queue_today(&mut self, now: Instant, queue: &str) -> Counts {
        self.slot(now);
        self.today.get(queue).map(|d| d.counts).unwrap_or_default()
    }

    pub fn queue_since_start(&self, queue: &str) -> Counts {
        self.since_start.get(queue).copied().unwrap_or_default()
    }

    /// The inputs of the Erlang advice (the agent counts are left to the
    /// HTTP side: the search is not the core task's work). `None` without
    /// callers in the last hour or without any handle time yet.
    pub fn staffing(&mut self, now: Instant, queue: &str) -> Option<StaffingView> {
        self.slot(now);
        let recent = self.recent.get_mut(queue)?;
        recent.prune(now);
        let calls = recent.joins.len() as u64;
        let day = self.today.get(queue).cloned().unwrap_or_default();
        let aht = if recent.handles.is_empty() {
            (day.handled > 0).then(|| day.handle_total.as_secs_f64() / f64::from(day.handled))?
        } else {
            let total: Duration = recent.handles.iter().map(|(_, h)| *h).sum();
            total.as_secs_f64() / recent.handles.len() as f64
        };
        if calls == 0 || aht <= 0.0 {
            return None;
        }
        let abandons = day.counts.abandoned;
        Some(StaffingView {
            calls,
            calls_per_hour: calls as f64,
            aht_s: aht,
            patience_s: (abandons > 0).then(|| day.waited.as_secs_f64() / abandons as f64),
            erlang_c_agents: None,
            erlang_a_agents: None,
        })
    }

    pub fn today(&mut self, now: Instant) -> Today {
        let current_slot = self.slot(now);
        let mut total = Counts::default();
        for s in &self.slots {
            total += *s;
        }
        Today {
            date: self.day.to_string(),
            timezone: self.zone.iana_name().unwrap_or("system").to_string(),
            slot_minutes: SLOT_MINUTES,
            current_slot,
            slots: self.slots.clone(),
            total,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cdr::{AgentStatus, Event as Logged, EventKind as K};

    const MIN: i64 = 60_000;

    fn at(at_ms: i64, kind: K) -> Logged {
        Logged { at_ms, kind }
    }

    fn queued(at_ms: i64, call: &str) -> Logged {
        let (call, queue) = (call.into(), "billing".into());
        at(
            at_ms,
            K::CallQueued {
                call,
                queue,
                priority: 0,
            },
        )
    }

    fn agent(at_ms: i64, agent: &str, state: AgentStatus) -> Logged {
        let agent = agent.into();
        at(
            at_ms,
            K::AgentState {
                agent,
                state,
                reason: None,
                call: None,
            },
        )
    }

    /// A restart rebuilds the staffing inputs from the event log: the last
    /// hour's arrivals and handle times (talk + wrap-up), not only today's counts.
    #[test]
    fn seed_rebuilds_the_last_hours_arrivals_and_handle_times() {
        let start_ms = 1_795_428_000_000; // 10:00 UTC
        let started = Instant::now();
        let mut live = LiveStats::new(WallClock::new(start_ms, started), started);
        let connected = |ms, call: &str| {
            let (call, queue, agent) = (call.into(), "billing".into(), "1001".into());
            at(
                ms,
                K::CallConnected {
                    call,
                    queue,
                    agent,
                    wait_ms: 0,
                },
            )
        };
        let events = vec![
            // 08:50: handled, but more than an hour before the start.
            queued(start_ms - 70 * MIN, "a"),
            connected(start_ms - 70 * MIN, "a"),
            agent(start_ms - 70 * MIN, "1001", AgentStatus::OnCall),
            agent(start_ms - 66 * MIN, "1001", AgentStatus::WrapUp),
            agent(start_ms - 65 * MIN, "1001", AgentStatus::Available),
            // 09:30: 3 min talk + 1 min wrap-up.
            queued(start_ms - 30 * MIN, "b"),
            connected(start_ms - 30 * MIN, "b"),
            agent(start_ms - 30 * MIN, "1001", AgentStatus::OnCall),
            agent(start_ms - 27 * MIN, "1001", AgentStatus::WrapUp),
            agent(start_ms - 26 * MIN, "1001", AgentStatus::Available),
            // 09:50: still waiting at the restart.
            queued(start_ms - 10 * MIN, "c"),
        ];
        live.seed(&events);
        let s = live.staffing(started, "billing").expect("staffing");
        assert_eq!(s.calls, 2, "the two arrivals of the last hour");
        assert!((s.aht_s - 240.0).abs() < 1e-6, "{}", s.aht_s);
        // Today's handle time counts both calls: 5 min and 4 min.
        let day = &live.today["billing"];
        assert_eq!(day.handled, 2);
        assert_eq!(day.handle_total, Duration::from_secs(540));
    }
}
