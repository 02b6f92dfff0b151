//! Call detail records ("call journeys"), the agent/call event log, reports
//! and Erlang staffing advice. Sans-IO: nothing here reads a clock or a file;
//! timestamps are unix milliseconds passed in by the caller.
//!
//! - [`Journey`] collects what happens to one call and yields the
//!   [`CallRecord`] at the end, with its [`Disposition`] derived from the facts.
//! - [`Event`]s are state changes with timestamps (like Asterisk's
//!   `queue_log`, structured), for interval reports such as occupancy.
//! - `report` computes queue/agent/hour/day figures from records and events.
//! - [`erlang`] sizes a queue with Erlang C and Erlang A.
//!
//! Storage lives in [`crate::store::cdr`]; the server's writer thread in
//! `server/cdr_writer.rs`.

pub mod commands;
pub mod erlang;
pub mod export;
mod journey;
pub mod report;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use journey::{make_id, Journey};

/// One call's journey, from arrival to hang-up (and wrap-up, which ends later).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallRecord {
    /// Stable id of the call, unique across restarts ([`make_id`]).
    pub id: String,
    /// SIP Call-ID of the caller's leg.
    pub sip_call_id: String,
    /// SIP Call-ID of the connected agent's leg.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_call_id: Option<String>,
    pub caller: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller_name: Option<String>,
    pub dialed: String,
    pub arrived_ms: i64,
    /// When Switchboard answered the caller (200 OK).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answered_ms: Option<i64>,
    /// First queue entry (waits are measured from here, across overflows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queued_ms: Option<i64>,
    /// When an agent answered (or a callback connected the customer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_answered_ms: Option<i64>,
    /// `None` while the call is in progress.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// The IVR path: nodes, keys (sensitive digits masked), retries, decisions.
    #[serde(default)]
    pub trail: Vec<TrailStep>,
    /// Variables the IVR set or looked up (sensitive ones masked).
    #[serde(default)]
    pub vars: BTreeMap<String, String>,
    /// The queue the call was last in (after overflows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    /// Every queue entered, in order (overflows add to it).
    #[serde(default)]
    pub queues: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<u8>,
    #[serde(default)]
    pub offers: Vec<Offer>,
    /// The agent who took the call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    /// Queue entry to agent answer (or to abandonment).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_ms: Option<i64>,
    /// Connected time minus hold time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub talk_ms: Option<i64>,
    #[serde(default)]
    pub hold_ms: i64,
    /// After-call work; set later through the store's `set_wrap_up`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wrap_up_ms: Option<i64>,
    #[serde(default)]
    pub transfers: Vec<Transfer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback: Option<Callback>,
    pub disposition: Disposition,
    /// The caller dialled outside opening hours.
    #[serde(default)]
    pub closed_hours: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hung_up_by: Option<HungUpBy>,
    /// Why the call ended, in words (`caller hung up`, `no common codec`, ...).
    #[serde(default)]
    pub end_reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recording: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voicemail: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub survey_score: Option<u8>,
}

impl CallRecord {
    pub fn is_open(&self) -> bool {
        self.ended_ms.is_none()
    }

    /// Talk + hold + wrap-up, for answered calls.
    pub fn handle_ms(&self) -> Option<i64> {
        self.talk_ms
            .map(|t| t + self.hold_ms + self.wrap_up_ms.unwrap_or(0))
    }

    /// The disposition of a record found open after a crash.
    pub fn interrupt(&mut self, at_ms: i64) {
        self.ended_ms = Some(at_ms.max(self.arrived_ms));
        self.disposition = Disposition::Interrupted;
        self.hung_up_by = Some(HungUpBy::System);
        self.end_reason = "server stopped while the call was in progress".into();
    }
}

/// How a call ended, derived by [`Journey::end`] (see there for the rules).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Disposition {
    /// Still in progress (only ever seen on open records).
    InProgress,
    /// An agent talked to the caller.
    Completed,
    /// The flow finished the call itself (self-service), no queue involved.
    IvrCompleted,
    /// The IVR transferred the call elsewhere without an agent.
    Transferred {
        target: String,
    },
    /// The caller hung up in the IVR (or before it was answered).
    AbandonedInIvr,
    /// The caller hung up while waiting in a queue.
    AbandonedInQueue {
        wait_ms: i64,
    },
    Voicemail,
    CallbackCompleted,
    CallbackFailed,
    /// Outside opening hours, no message left.
    ClosedHours,
    Failed {
        reason: String,
    },
    /// Open when the server stopped; closed on the next start.
    Interrupted,
}

impl Disposition {
    /// Short name for tables and CSV.
    pub fn name(&self) -> &'static str {
        match self {
            Disposition::InProgress => "in_progress",
            Disposition::Completed => "completed",
            Disposition::IvrCompleted => "ivr_completed",
            Disposition::Transferred { .. } => "transferred",
            Disposition::AbandonedInIvr => "abandoned_in_ivr",
            Disposition::AbandonedInQueue { .. } => "abandoned_in_queue",
            Disposition::Voicemail => "voicemail",
            Disposition::CallbackCompleted => "callback_completed",
            Disposition::CallbackFailed => "callback_failed",
            Disposition::ClosedHours => "closed_hours",
            Disposition::Failed { .. } => "failed",
            Disposition::Interrupted => "interrupted",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HungUpBy {
    Caller,
    Agent,
    System,
}

impl HungUpBy {
    pub fn name(self) -> &'static str {
        match self {
            HungUpBy::Caller => "caller",
            HungUpBy::Agent => "agent",
            HungUpBy::System => "system",
        }
    }
}

/// One ring of one agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Offer {
    pub agent: String,
    pub queue: String,
    pub offered_ms: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_ms: Option<i64>,
    /// `None` while ringing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<OfferOutcome>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OfferOutcome {
    Answered,
    /// Rang out (RONA).
    NoAnswer,
    Busy,
    Declined,
    Unreachable,
    /// We stopped ringing: another agent answered (ring-all) or the caller left.
    Cancelled,
}

impl From<crate::acd::RejectReason> for OfferOutcome {
    fn from(r: crate::acd::RejectReason) -> Self {
        use crate::acd::RejectReason as R;
        match r {
            R::NoAnswer => OfferOutcome::NoAnswer,
            R::Busy => OfferOutcome::Busy,
            R::Declined => OfferOutcome::Declined,
            R::Unreachable => OfferOutcome::Unreachable,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transfer {
    pub at_ms: i64,
    /// The agent who transferred, if one did (else the IVR).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by_agent: Option<String>,
    pub target: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Callback {
    pub number: String,
    pub requested_ms: i64,
    #[serde(default)]
    pub attempts: Vec<CallbackAttempt>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallbackAttempt {
    pub at_ms: i64,
    pub answered: bool,
}

/// One step of the IVR trail, stamped with when it happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrailStep {
    pub at_ms: i64,
    #[serde(flatten)]
    pub step: Step,
}

/// A serialisable copy of [`crate::ivr::interpreter::TrailEntry`]; values of
/// sensitive collects arrive already masked by the interpreter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Step {
    Node {
        flow: String,
        node: String,
    },
    Key {
        node: String,
        key: String,
    },
    Retry {
        node: String,
        attempt: u32,
        /// `timeout` or `invalid:<key>`.
        reason: String,
    },
    GaveUp {
        node: String,
    },
    Set {
        name: String,
        value: String,
    },
    Language {
        language: String,
    },
    Decision {
        node: String,
        outcome: String,
    },
    Lookup {
        node: String,
        ok: bool,
    },
    Voicemail {
        box_name: String,
        path: String,
        duration_ms: i64,
    },
    Error {
        message: String,
    },
}

impl From<&crate::ivr::interpreter::TrailEntry> for Step {
    fn from(t: &crate::ivr::interpreter::TrailEntry) -> Self {
        use crate::ivr::interpreter::{RetryReason, TrailEntry as T};
        match t {
            T::Node { flow, node } => Step::Node {
                flow: flow.clone(),
                node: node.clone(),
            },
            T::Key { node, key } => Step::Key {
                node: node.clone(),
                key: key.clone(),
            },
            T::Retry {
                node,
                attempt,
                reason,
            } => Step::Retry {
                node: node.clone(),
                attempt: *attempt,
                reason: match reason {
                    RetryReason::Timeout => "timeout".into(),
                    RetryReason::Invalid(k) => format!("invalid:{k}"),
                },
            },
            T::GaveUp { node } => Step::GaveUp { node: node.clone() },
            T::Set { name, value } => Step::Set {
                name: name.clone(),
                value: value.clone(),
            },
            T::Language(l) => Step::Language {
                language: l.clone(),
            },
            T::Decision { node, outcome } => Step::Decision {
                node: node.clone(),
                outcome: outcome.clone(),
            },
            T::Lookup { node, ok } => Step::Lookup {
                node: node.clone(),
                ok: *ok,
            },
            T::Voicemail {
                box_name,
                path,
                duration,
            } => Step::Voicemail {
                box_name: box_name.clone(),
                path: path.display().to_string(),
                duration_ms: duration.as_millis() as i64,
            },
            T::Error(m) => Step::Error { message: m.clone() },
        }
    }
}

/// A timestamped state change of a call or an agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub at_ms: i64,
    #[serde(flatten)]
    pub kind: EventKind,
}

impl Event {
    /// The call this event is about, if any.
    pub fn call(&self) -> Option<&str> {
        use EventKind as K;
        match &self.kind {
            K::CallArrived { call, .. }
            | K::CallAnswered { call }
            | K::CallQueued { call, .. }
            | K::CallOffered { call, .. }
            | K::OfferEnded { call, .. }
            | K::CallConnected { call, .. }
            | K::CallHold { call, .. }
            | K::CallTransferred { call, .. }
            | K::CallbackRequested { call, .. }
            | K::CallbackAttempt { call, .. }
            | K::CallEnded { call, .. } => Some(call),
            K::AgentState { call, .. } => call.as_deref(),
        }
    }

    /// The agent this event is about, if any.
    pub fn agent(&self) -> Option<&str> {
        use EventKind as K;
        match &self.kind {
            K::CallOffered { agent, .. }
            | K::OfferEnded { agent, .. }
            | K::CallConnected { agent, .. }
            | K::AgentState { agent, .. } => Some(agent),
            _ => None,
        }
    }

    /// The kind's name (`call_queued`, `agent_state`, ...).
    pub fn kind_name(&self) -> String {
        serde_json::to_value(&self.kind)
            .ok()
            .and_then(|v| v.get("event").and_then(|e| e.as_str()).map(String::from))
            .unwrap_or_default()
    }

    /// An agent state change as the router reports it
    /// ([`crate::acd::Output::AgentState`]); `call` is the CDR id of the call
    /// the state refers to (offered / on call), when the shell knows it.
    pub fn agent_state(
        at_ms: i64,
        agent: &str,
        state: &crate::acd::AgentState,
        call: Option<String>,
    ) -> Event {
        let (state, reason) = AgentStatus::from_state(state);
        Event {
            at_ms,
            kind: EventKind::AgentState {
                agent: agent.to_string(),
                state,
                reason,
                call,
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EventKind {
    CallArrived {
        call: String,
        caller: String,
        dialed: String,
    },
    CallAnswered {
        call: String,
    },
    CallQueued {
        call: String,
        queue: String,
        priority: u8,
    },
    CallOffered {
        call: String,
        queue: String,
        agent: String,
    },
    OfferEnded {
        call: String,
        agent: String,
        outcome: OfferOutcome,
    },
    CallConnected {
        call: String,
        queue: String,
        agent: String,
        wait_ms: i64,
    },
    CallHold {
        call: String,
        on: bool,
    },
    CallTransferred {
        call: String,
        target: String,
    },
    CallbackRequested {
        call: String,
        number: String,
    },
    CallbackAttempt {
        call: String,
        answered: bool,
    },
    CallEnded {
        call: String,
        disposition: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        queue: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        wait_ms: Option<i64>,
    },
    AgentState {
        agent: String,
        state: AgentStatus,
        /// The pause reason, for `paused`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        call: Option<String>,
    },
}

/// [`crate::acd::AgentState`] without its router-internal data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentStatus {
    LoggedOut,
    Available,
    Offered,
    OnCall,
    WrapUp,
    Paused,
    Unreachable,
}

impl AgentStatus {
    pub fn from_state(s: &crate::acd::AgentState) -> (AgentStatus, Option<String>) {
        use crate::acd::AgentState as S;
        match s {
            S::LoggedOut => (AgentStatus::LoggedOut, None),
            S::Available => (AgentStatus::Available, None),
            S::Offered { .. } => (AgentStatus::Offered, None),
            S::OnCall { .. } => (AgentStatus::OnCall, None),
            S::WrapUp { .. } => (AgentStatus::WrapUp, None),
            S::Paused { reason } => (AgentStatus::Paused, Some(reason.clone())),
            S::Unreachable => (AgentStatus::Unreachable, None),
        }
    }

    /// Logged in and not paused: time that counts towards occupancy.
    pub fn staffed(self) -> bool {
        matches!(
            self,
            AgentStatus::Available
                | AgentStatus::Offered
                | AgentStatus::OnCall
                | AgentStatus::WrapUp
        )
    }

    /// Working on a call.
    pub fn busy(self) -> bool {
        matches!(self, AgentStatus::OnCall | AgentStatus::WrapUp)
    }
}

/// Words for a SIP session's end, and whether it counts as a failure, for
/// [`Journey::end`]'s `reason` (and [`Journey::fail`]).
pub fn describe_end(reason: crate::sip::session::EndReason) -> (&'static str, bool) {
    use crate::sip::session::EndReason as E;
    match reason {
        E::RemoteHangup => ("remote hangup", false),
        E::CallerCancelled => ("caller cancelled before answer", false),
        E::LocalHangup => ("switchboard hung up", false),
        E::NoAck => ("no ACK for our 200 OK", true),
        E::NoCommonCodec => ("no common codec", true),
        E::Rejected => ("rejected", true),
        E::Declined { .. } => ("declined", true),
        E::Unreachable => ("unreachable", true),
        E::Cancelled => ("cancelled", false),
    }
}

#[cfg(test)]
mod tests;
