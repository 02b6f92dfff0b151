//! What the HTTP side asks the core task and what it gets back. The core is
//! the single owner of calls, agents and queues; these are copies taken in
//! one go, so every figure in a snapshot is from the same instant.

use serde::Serialize;
use tokio::sync::oneshot;

use crate::acd::{Command, RouterError};

/// A request to the core task, answered on its oneshot.
pub enum Request {
    Snapshot(oneshot::Sender<Snapshot>),
    /// Log in/out, pause, unpause — the same router path as feature codes.
    AgentCommand {
        agent: String,
        command: Command,
        reply: oneshot::Sender<Result<AgentView, RouterError>>,
    },
}

/// Every agent state name, in the order the wallboard lists them.
pub const AGENT_STATES: [&str; 7] = [
    "available",
    "offered",
    "on-call",
    "wrap-up",
    "paused",
    "logged-out",
    "unreachable",
];

/// Everything live, at `now_unix_ms`.
#[derive(Debug, Clone, Serialize)]
pub struct Snapshot {
    /// Server wall-clock time (follows `SWITCHBOARD_CLOCK` when set).
    pub now_unix_ms: i64,
    pub agents: Vec<AgentView>,
    pub queues: Vec<QueueView>,
    pub calls: Vec<CallView>,
    pub today: Today,
    pub sip: SipCounters,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AfterCallView {
    /// `available`, `paused` or `logged-out`.
    pub state: &'static str,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgentView {
    pub extension: String,
    /// From the configuration; filled in by the HTTP side.
    pub name: String,
    /// `logged-out`, `available`, `offered`, `on-call`, `wrap-up`, `paused`, `unreachable`.
    pub state: &'static str,
    /// Pause reason (`break`, `no-answer`, ...).
    pub reason: Option<String>,
    /// The caller's call id while offered or on a call.
    pub call: Option<u64>,
    /// Offered or on a call to its own extension (a transfer, the IVR's
    /// `transfer:`), not a queue call: no wrap-up follows.
    pub direct: bool,
    /// While offered, on a call or in wrap-up: the state it goes to when
    /// done — `available`, or the pause (with its reason) or log-out it
    /// asked for meanwhile. Null otherwise.
    pub after_call: Option<AfterCallView>,
    /// Seconds in the current state.
    pub in_state_s: f64,
    pub since_unix_ms: i64,
    /// Queues whose required skills the agent has.
    pub queues: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct QueueView {
    pub name: String,
    /// Callers on hold that no agent is ringing for.
    pub waiting: usize,
    /// Callers whose agent's phone is ringing.
    pub ringing: usize,
    /// Seconds the longest-waiting caller (waiting or ringing) has been in this queue.
    pub longest_wait_s: f64,
    pub callers: Vec<CallerView>,
    /// Agents of this queue by state name.
    pub agents: std::collections::BTreeMap<&'static str, usize>,
    /// Mean talk + wrap-up of recent calls.
    pub average_handle_s: f64,
    pub service_level: ServiceLevelView,
    /// `None` until a call of this queue has been handled (no handle time yet)
    /// or when nobody joined in the last hour.
    pub staffing: Option<StaffingView>,
    pub today: Counts,
    /// Since the server started (monotonic; what /metrics exports).
    pub since_start: Counts,
}

/// The queue's targets come from `cdr:` in the configuration, the same as
/// `switchboard report` uses.
#[derive(Debug, Clone, Serialize)]
pub struct ServiceLevelView {
    pub answered_within_s: f64,
    /// Percent the centre aims for.
    pub target: f64,
    /// Callers who hung up sooner are not counted against the service level.
    pub short_abandon_s: f64,
    /// Percent answered within `answered_within_s` of today's callers whose
    /// outcome is known, short abandons aside; `None` before the first.
    pub today: Option<f64>,
}

/// Erlang staffing advice from the last hour's live traffic.
#[derive(Debug, Clone, Serialize)]
pub struct StaffingView {
    /// Callers that joined the queue in the last hour (after a restart,
    /// read back from the event log).
    pub calls: u64,
    pub calls_per_hour: f64,
    /// Mean handle time (talk + wrap-up) of the calls whose wrap-up ended in
    /// the last hour, else of today's.
    pub aht_s: f64,
    /// Mean patience estimated from today's waits and abandons, when any
    /// caller abandoned.
    pub patience_s: Option<f64>,
    /// Fewest agents that meet the target under Erlang C (callers never give up).
    pub erlang_c_agents: Option<u32>,
    /// The same under Erlang A (callers abandon with that patience).
    pub erlang_a_agents: Option<u32>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CallerView {
    pub call: u64,
    pub caller: String,
    pub waited_s: f64,
    /// 1 = next.
    pub position: Option<usize>,
    /// `waiting` or `ringing`.
    pub status: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct CallView {
    pub call: u64,
    pub sip_call_id: String,
    pub caller: String,
    pub number: String,
    /// `ivr`, `echo`, `feature-code`, `extension`, `queued`, `ringing`,
    /// `connected`, `callback`.
    pub status: &'static str,
    pub flow: Option<String>,
    pub queue: Option<String>,
    pub agent: Option<String>,
    pub duration_s: f64,
}

/// Queue outcomes counted since midnight (see [`Today`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Callers that joined the queue.
    pub offered: u64,
    pub answered: u64,
    /// Answered within the queue's `service_level.answer_within`.
    pub answered_in_time: u64,
    /// Hung up while waiting or ringing (or left by the queue's leave key).
    pub abandoned: u64,
    /// Of which within the queue's `short_abandon`.
    pub short_abandoned: u64,
    /// Left for voicemail, a flow or another queue.
    pub overflowed: u64,
}

impl std::ops::AddAssign for Counts {
    fn add_assign(&mut self, o: Counts) {
        self.offered += o.offered;
        self.answered += o.answered;
        self.answered_in_time += o.answered_in_time;
        self.abandoned += o.abandoned;
        self.short_abandoned += o.short_abandoned;
        self.overflowed += o.overflowed;
    }
}

impl Counts {
    /// Calls whose outcome is known.
    pub fn completed(&self) -> u64 {
        self.answered + self.abandoned + self.overflowed
    }

    /// Service level in percent: answered in time over the calls with a
    /// known outcome, short abandons aside (as `switchboard report` counts
    /// it); `None` before any such call.
    pub fn service_level(&self) -> Option<f64> {
        let base = self.completed().saturating_sub(self.short_abandoned);
        (base > 0).then(|| 100.0 * self.answered_in_time as f64 / base as f64)
    }
}

/// The day so far in 15-minute slots, all queues together. Joins count in
/// the slot the caller joined; outcomes in the slot they happened.
#[derive(Debug, Clone, Serialize)]
pub struct Today {
    /// Local date, `2026-11-23`.
    pub date: String,
    pub timezone: String,
    pub slot_minutes: u32,
    /// The slot `now` falls in.
    pub current_slot: usize,
    /// 96 slots from midnight.
    pub slots: Vec<Counts>,
    pub total: Counts,
}

/// SIP endpoint counters since start.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct SipCounters {
    pub received: u64,
    pub dropped: u64,
    pub malformed_answered: u64,
    pub registrations_ok: u64,
    pub registrations_refused: u64,
}

/// The flows serving new calls, and the last reload that was refused.
#[derive(Debug, Clone, Serialize)]
pub struct FlowsStatus {
    /// 1 at start, +1 for every reload that was accepted.
    pub version: u64,
    pub loaded_unix_ms: i64,
    pub flows: Vec<String>,
    pub prompts: usize,
    pub last_error: Option<ReloadError>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReloadError {
    pub at_unix_ms: i64,
    /// `file:line:column: message`, as `switchboard check` prints them.
    pub problems: Vec<String>,
}
