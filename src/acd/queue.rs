//! The router's internal records: queues, caller classes, callers, agents.
//!
//! A *class* is the set of callers of one queue with identical requirements
//! right now (queue skills + the caller's language + skills the IVR added,
//! after the same number of widening steps). Classes are few (queues ×
//! languages × widening stages), and each keeps its waiting callers and its
//! free eligible agents in ordered sets, so routing never scans all agents or
//! all callers. A *group* is the chain of classes one caller walks through as
//! its requirements widen.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::config::queues::{OverflowTarget, QueueConfig, Strategy};

use super::agent::{AgentState, Rest};
use super::estimate::{HandleTimes, Line};
use super::CallId;

pub(crate) type AgentIdx = u32;
pub(crate) type ClassIdx = u32;
pub(crate) type GroupIdx = u32;
pub(crate) type QueueIdx = u32;
pub(crate) type SkillId = u32;

/// Priorities 0..=10 (the IVR allows 10; higher is served first).
pub(crate) const PRIORITIES: usize = 11;

/// Order of free agents in a class: the strategy's primary key, then idle
/// since (earlier first), then configuration order.
pub(crate) type RankKey = (u64, Instant, AgentIdx);
/// Order of waiting callers: higher priority, then earlier arrival.
pub(crate) type WaitKey = (Reverse<u8>, u64);

pub(crate) struct Agent {
    pub ext: Arc<str>,
    /// Level by skill id (languages are skills at level 10); 0 = lacks it.
    pub levels: Vec<u8>,
    pub state: AgentState,
    /// The phone has a live registration.
    pub registered: bool,
    /// Where the agent rests when not busy: after the current call, or when
    /// its phone comes back. Commands change this; see `Router::command`.
    pub rest: Rest,
    /// Since when it has been free (for longest-idle). Unchanged while it is
    /// in any free-agent set, so its rank key can be rebuilt for removal.
    pub idle_since: Instant,
    /// Calls answered since start (least-calls).
    pub calls: u64,
    /// Consecutive misses: no answer, busy/declined, unreachable.
    pub misses: [u32; 3],
    /// Classes this agent is eligible for.
    pub classes: Vec<ClassIdx>,
}

impl Agent {
    pub fn level(&self, s: SkillId) -> u8 {
        self.levels.get(s as usize).copied().unwrap_or(0)
    }
}

pub(crate) struct Stage {
    pub after: Duration,
    /// New minimum levels; 0 drops the skill.
    pub skills: Vec<(SkillId, u8)>,
    pub any_language: bool,
}

pub(crate) struct Queue {
    pub name: Arc<str>,
    pub cfg: QueueConfig,
    pub base: BTreeMap<SkillId, u8>,
    pub preferred: Vec<SkillId>,
    pub steps: Vec<Stage>,
    pub when_empty: OverflowTarget,
    /// Callers in the queue by priority, for positions.
    pub lines: Vec<Line>,
    /// Callers in the queue and not yet connected (max_length).
    pub len: usize,
    pub callbacks: usize,
    pub handle: HandleTimes,
    /// Last agent offered a call (round-robin).
    pub rr_last: Option<AgentIdx>,
}

pub(crate) struct Group {
    /// One class per widening stage; the last is the widest.
    pub classes: Vec<ClassIdx>,
}

pub(crate) struct Class {
    pub group: GroupIdx,
    pub queue: QueueIdx,
    pub strategy: Strategy,
    /// Required (skill, minimum level), language included.
    pub req: Vec<(SkillId, u8)>,
    pub preferred: Vec<SkillId>,
    /// Eligible agents that staff (logged in, reachable, not paused).
    pub staffed: u32,
    pub avail: BTreeSet<RankKey>,
    pub waiting: BTreeMap<WaitKey, CallId>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CState {
    /// In its class's waiting set (on hold, or holding a callback place).
    Waiting,
    Offered(Vec<AgentIdx>),
    /// Callback: agent reserved, customer being dialled.
    Dialing(AgentIdx),
    /// Callback: waiting for the next attempt (keeps its line slot).
    Retry,
    Connected {
        agent: AgentIdx,
        since: Instant,
    },
}

pub(crate) struct Callback {
    pub number: String,
    pub attempts: u32,
}

/// Per-caller timers, index into `Caller::timers`.
pub(crate) const T_WIDEN: u8 = 0;
pub(crate) const T_MAX_WAIT: u8 = 1;
pub(crate) const T_ANNOUNCE: u8 = 2;
/// Ring timeout, callback dial timeout, or callback retry, by state.
pub(crate) const T_DEADLINE: u8 = 3;

pub(crate) struct Caller {
    pub queue: QueueIdx,
    pub group: GroupIdx,
    pub stage: usize,
    pub class: ClassIdx,
    pub priority: u8,
    pub seq: u64,
    pub slot: u32,
    pub joined: Instant,
    pub language: String,
    pub skills: Vec<String>,
    pub vars: BTreeMap<String, String>,
    pub state: CState,
    pub callback: Option<Callback>,
    pub timers: [Option<Instant>; 4],
    /// max_wait passed while an agent was ringing: applied if the offer fails.
    pub max_wait_due: bool,
    /// Queues this call was moved through by overflows.
    pub hops: u8,
    /// Agents that just failed this caller, avoided on the immediate re-route
    /// (but still used if nobody else is free).
    pub tried: Vec<AgentIdx>,
}

impl Caller {
    pub fn key(&self) -> WaitKey {
        (Reverse(self.priority), self.seq)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Timer {
    WrapUp(AgentIdx),
    Caller(CallId, u8),
}
