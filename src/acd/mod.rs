//! Skill-based queues and agents: the automatic call distributor.
//!
//! [`Router`] is a sans-IO state machine and the single owner of every queue
//! and agent state (no locks spread over tasks, so no agent can be left in a
//! state two tasks disagree about). The shell feeds it [`Input`]s with the
//! current `Instant`, drains [`Output`]s with [`Router::poll_output`], and
//! feeds [`Input::Timeout`] at [`Router::poll_timeout`]. It never reads a clock
//! and does no I/O, so tests run it in virtual time.
//!
//! Costs: every decision touches only per-class structures (waiting callers
//! in per-priority arrival FIFOs, free agents in a `BTreeSet` by the queue's
//! ranking), so an event costs O(k log n) where k is the number of caller
//! classes an agent can serve, whatever the number of agents and callers.
//! See `bench/router.rs`.

pub mod agent;
pub mod estimate;
mod queue;
mod router;
mod waiting;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

pub use crate::config::queues::OverflowTarget;
pub use agent::{
    check_transition, AgentState, Command, IllegalTransition, FEATURE_LOGIN_TOGGLE,
    FEATURE_PAUSE_TOGGLE, PAUSE_BREAK, PAUSE_BUSY, PAUSE_NO_ANSWER, PAUSE_UNREACHABLE,
};
pub use router::Router;

/// A call as the shell knows it; the router only compares them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CallId(pub u64);

impl fmt::Display for CallId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "call-{}", self.0)
    }
}

/// Why an agent's leg ended without an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RejectReason {
    /// Rang out (480, 408 after ringing) — the router's own ring timer
    /// counts as this too.
    NoAnswer,
    /// 486 / 600.
    Busy,
    /// 603.
    Declined,
    /// The phone could not be reached (no response, 503, transport error).
    Unreachable,
}

/// Events from the shell. Each is handled with the `now` passed alongside.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// The IVR queued the call. `language` (may be empty) and `skills` add to
    /// the queue's requirements; `vars` are kept for the agent's screen
    /// ([`Router::call_info`]).
    CallJoins {
        call: CallId,
        queue: String,
        priority: u8,
        language: String,
        skills: Vec<String>,
        vars: BTreeMap<String, String>,
    },
    /// The caller hung up (waiting, ringing, or connected).
    CallLeft {
        call: CallId,
    },
    /// The agent answered the offer; the caller is bridged to it.
    OfferAnswered {
        call: CallId,
        agent: String,
    },
    /// The agent's leg ended without an answer.
    OfferRejected {
        call: CallId,
        agent: String,
        reason: RejectReason,
    },
    /// The bridged call finished (either side hung up): the agent wraps up.
    CallEnded {
        call: CallId,
    },
    /// The extension has a live registration (again).
    AgentRegistered {
        agent: String,
    },
    /// The registration lapsed or qualify failed.
    AgentUnreachable {
        agent: String,
    },
    AgentCommand {
        agent: String,
        command: Command,
    },
    /// The caller asked to be called back on `number` and hangs up; it keeps
    /// its place in the queue.
    CallbackRequested {
        call: CallId,
        number: String,
    },
    /// The outcome of [`Output::StartCallback`]: on `true` the customer is
    /// connected to the reserved agent.
    CallbackResult {
        call: CallId,
        answered: bool,
    },
    /// A call to the agent's own extension, outside the queues (a blind
    /// transfer to it, a flow's `transfer:`), rings its phone: the agent is
    /// `Offered` (direct) and no queue offers it a call until
    /// `DirectEnded`. Refused (`Transition`) unless the agent rests
    /// (available, paused or logged out) and its phone is registered;
    /// `AlreadyQueued` if the router knows `call` as a queue's caller.
    DirectCall {
        agent: String,
        call: CallId,
    },
    /// The agent answered the direct call: `OnCall` (direct).
    DirectAnswered {
        agent: String,
        call: CallId,
    },
    /// The direct call is over, answered or not: the agent goes where it
    /// rests (available, or the pause or logout it asked for meanwhile),
    /// with no wrap-up — only queue calls have one. Nothing happens if the
    /// agent has left that call already (its phone went away).
    DirectEnded {
        agent: String,
        call: CallId,
    },
    /// An attended transfer joined the party on the agent's direct call
    /// `from` to another caller, `to`: the agent stays offered or on the
    /// call, now with `to` (whose queue call has ended). `NotOffered` unless
    /// the agent holds `from` as a direct call.
    DirectHandedOver {
        agent: String,
        from: CallId,
        to: CallId,
    },
    /// `poll_timeout()` has passed.
    Timeout,
}

/// Why a caller left its queue other than by being served or hanging up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverflowReason {
    /// Waited `max_wait`.
    MaxWait,
    /// The queue held `max_length` callers already.
    MaxLength,
    /// Nobody able to serve the caller is logged in (`when_empty`).
    Empty,
    /// Overflows bounced the caller between queues too often (a safety net;
    /// `switchboard check` refuses loops of immediate overflows).
    Loop,
}

/// Decisions for the shell.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Ring `agents` (several for ring-all) with `call`, for `ring_timeout`
    /// (the router enforces it too, and cancels the offer itself).
    Offer {
        call: CallId,
        queue: Arc<str>,
        agents: Vec<Arc<str>>,
        ring_timeout: Duration,
    },
    /// Stop ringing `agent` (ring-all losers, ring timeout, caller left).
    CancelOffer { call: CallId, agent: Arc<str> },
    /// Tell the waiting caller its position (1 = next) and estimated wait.
    /// Never a reason to delay an `Offer`.
    Announce {
        call: CallId,
        position: usize,
        estimated_wait: Duration,
    },
    /// The caller leaves `from` for `target`. A `Queue` target is joined
    /// inside the router at once (no `CallJoins` needed); a `Callback`
    /// target means "offer the caller a callback" and the caller keeps its
    /// place until it sends `CallbackRequested` or `CallLeft`.
    Overflow {
        call: CallId,
        from: Arc<str>,
        target: OverflowTarget,
        reason: OverflowReason,
    },
    /// `agent` is reserved for the queued callback: dial `number` and answer
    /// with `CallbackResult`.
    StartCallback {
        call: CallId,
        number: String,
        agent: Arc<str>,
    },
    /// The callback was tried `max_attempts` times without an answer; the
    /// caller has left the queue.
    CallbackFailed { call: CallId },
    /// An agent changed state (for logs and the wallboard).
    AgentState { agent: Arc<str>, state: AgentState },
}

/// Where a known call is, as seen by the router.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallStatus {
    /// On hold in the queue.
    Waiting,
    /// Agents ringing.
    Offered { agents: Vec<Arc<str>> },
    /// Off the line, holding its place for a callback.
    CallbackWaiting,
    /// An agent is reserved and the customer is being dialled.
    CallbackDialing { agent: Arc<str> },
    /// The last callback attempt went unanswered; the next one is due later.
    CallbackRetry,
    /// Bridged to an agent.
    Connected { agent: Arc<str> },
}

/// What the router knows about a call (for the agent's screen and the CDR).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallInfo {
    pub queue: Arc<str>,
    pub priority: u8,
    pub language: String,
    pub vars: BTreeMap<String, String>,
    pub status: CallStatus,
    /// 1 = next; `None` once connected.
    pub position: Option<usize>,
    /// Callback number, when the caller asked for one.
    pub callback: Option<String>,
}

/// Live figures of one queue for the wallboard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueStats {
    /// Callers in the queue (waiting, ringing, or holding a callback place).
    pub callers: usize,
    /// Of which are off the line awaiting a callback.
    pub callbacks: usize,
    /// Mean of recent handle times (talk + wrap-up).
    pub average_handle_time: Duration,
}

/// Inputs the router refuses. The state is unchanged apart from timers that
/// were already due (they run before every input).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouterError {
    #[error("no queue named {0:?}")]
    UnknownQueue(String),
    #[error("no agent with extension {0:?}")]
    UnknownAgent(String),
    #[error("{0} is not known to the router")]
    UnknownCall(CallId),
    #[error("{0} is already in a queue or connected")]
    AlreadyQueued(CallId),
    #[error("{call} is not being offered to agent {agent}")]
    NotOffered { call: CallId, agent: String },
    #[error("queue {0} does not offer callbacks")]
    CallbackDisabled(String),
    #[error("{0} is not waiting in a queue")]
    NotWaiting(CallId),
    #[error("no callback is being dialled for {0}")]
    NoCallback(CallId),
    #[error(transparent)]
    Transition(#[from] IllegalTransition),
}

#[cfg(test)]
mod model_tests;
#[cfg(test)]
mod tests;
