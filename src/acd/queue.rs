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
use std::collections::binary_heap::PeekMut;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::config::queues::{OverflowTarget, QueueConfig, Strategy};

use super::agent::{AgentState, Rest};
use super::estimate::{HandleTimes, Line};
use super::waiting::Waiting;
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
    /// Available but not yet in its classes' free sets (`Router::unsorted`).
    pub unsorted: bool,
}

impl Agent {
    pub fn level(&self, s: SkillId) -> u8 {
        self.levels.get(s as usize).copied().unwrap_or(0)
    }

    /// Counts toward its classes' staff (`Class::staffed`): as its state
    /// says, except on a direct call, where it staffs if it will be
    /// available after it (a paused or logged-out agent that takes a call
    /// to its extension staffs no queue).
    pub fn staffs(&self) -> bool {
        match self.state {
            AgentState::Offered { direct: true, .. } | AgentState::OnCall { direct: true, .. } => {
                self.rest == Rest::Available
            }
            ref s => s.staffs(),
        }
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
    /// Waiting callers' slots in `Callers`.
    pub waiting: Waiting,
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
/// An agent's wrap-up (in `TimerEntry` only).
pub(crate) const T_WRAP_UP: u8 = 4;

/// A caller's hot fields: what timers, routing and offers read. Kept
/// dense (a slab of these, under half the whole record), the rest
/// ([`CallerCold`]) behind a pointer that most callers leave empty, so that
/// the records a deadline or an offer touches at 100,000 callers take fewer
/// cache lines, and a join or departure touches nothing else.
pub(crate) struct Caller {
    pub call: CallId,
    pub queue: QueueIdx,
    pub group: GroupIdx,
    pub class: ClassIdx,
    /// Slot in its queue's line (`Line`), for positions.
    pub slot: u32,
    /// Widening steps taken (`Router::new` keeps fewer than `u16::MAX`).
    pub stage: u16,
    pub priority: u8,
    /// max_wait passed while an agent was ringing: applied if the offer fails.
    pub max_wait_due: bool,
    /// Queues this call was moved through by overflows.
    pub hops: u8,
    /// Interned language (`Router::skill`), or `NO_LANGUAGE`.
    pub language: SkillId,
    pub seq: u64,
    pub joined: Instant,
    pub state: CState,
    /// Boxed: a pointer's width here, read only when dialling.
    pub callback: Option<Box<Callback>>,
    /// `None` while all of it would be empty (most callers).
    pub cold: Option<Box<CallerCold>>,
}

pub(crate) const NO_LANGUAGE: SkillId = SkillId::MAX;

/// A caller's cold fields: read when it overflows, is shown on a screen, or
/// is re-routed after a failed offer.
#[derive(Default)]
pub(crate) struct CallerCold {
    pub skills: Vec<String>,
    pub vars: BTreeMap<String, String>,
    /// Agents that just failed this caller, avoided on the immediate re-route
    /// (but still used if nobody else is free).
    pub tried: Vec<AgentIdx>,
}

impl Caller {
    pub fn key(&self) -> WaitKey {
        (Reverse(self.priority), self.seq)
    }

    /// Agents that just failed this caller.
    pub fn tried(&self) -> &[AgentIdx] {
        self.cold.as_ref().map_or(&[], |x| &x.tried)
    }

    pub fn cold_mut(&mut self) -> &mut CallerCold {
        self.cold.get_or_insert_with(Box::default)
    }
}

/// Hash maps of the router: call ids and extensions are hashed on every
/// event, and SipHash's DoS resistance buys nothing for keys the shell and
/// the configuration choose.
pub(crate) type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// Callers by call id. The records live in a slab and the map holds only
/// their index: a join or departure moves no record, and the map (16 bytes
/// an entry) stays small enough for the cache at 100,000 callers. A
/// departure drops the record in place.
#[derive(Default)]
pub(crate) struct Callers {
    ix: FastMap<CallId, u32>,
    slab: Vec<Option<Caller>>,
    /// Per slot and timer kind (`T_*`): bumped whenever that deadline is set
    /// or cleared and when the caller leaves, never reset, so a heap entry
    /// carrying the current number is the live deadline. Kept apart from the
    /// records: checking an entry reads 16 bytes, not a whole caller.
    gens: Vec<[u32; 4]>,
    /// Per slot: bumped whenever the caller enters or leaves a waiting set
    /// (see `Waiting`).
    wait_gens: Vec<u32>,
    free: Vec<u32>,
}

impl Callers {
    pub fn get_mut(&mut self, call: &CallId) -> Option<&mut Caller> {
        self.ix
            .get(call)
            .and_then(|&i| self.slab[i as usize].as_mut())
    }

    /// The caller in `slot` (a slot a live timer entry or `slot` gave):
    /// no hashing, for the paths that run per deadline.
    pub fn at(&self, slot: u32) -> Option<&Caller> {
        self.slab.get(slot as usize)?.as_ref()
    }

    pub fn at_mut(&mut self, slot: u32) -> Option<&mut Caller> {
        self.slab.get_mut(slot as usize)?.as_mut()
    }

    /// The caller in `slot` if it is still `call`'s.
    pub fn at_call(&self, slot: u32, call: CallId) -> Option<&Caller> {
        self.at(slot).filter(|c| c.call == call)
    }

    pub fn contains_key(&self, call: &CallId) -> bool {
        self.ix.contains_key(call)
    }

    /// The call must not be present (the router checks first). Returns its
    /// slot.
    pub fn insert(&mut self, caller: Caller) -> u32 {
        let call = caller.call;
        let i = match self.free.pop() {
            Some(i) => {
                self.slab[i as usize] = Some(caller);
                i
            }
            None => {
                self.slab.push(Some(caller));
                self.gens.push([0; 4]);
                self.wait_gens.push(0);
                (self.slab.len() - 1) as u32
            }
        };
        if let Some(old) = self.ix.insert(call, i) {
            self.slab[old as usize] = None;
            self.bump_all(old);
            self.free.push(old);
        }
        i
    }

    pub fn len(&self) -> usize {
        self.ix.len()
    }

    /// Drops the caller in `slot`: its record in place, its timers' entries
    /// go stale.
    pub fn remove(&mut self, slot: u32) {
        let Some(call) = self.at(slot).map(|c| c.call) else {
            return;
        };
        self.slab[slot as usize] = None;
        self.ix.remove(&call);
        self.bump_all(slot);
        self.free.push(slot);
    }

    /// The caller's slot, which its timer entries carry.
    pub fn slot(&self, call: &CallId) -> Option<u32> {
        self.ix.get(call).copied()
    }

    /// Invalidates the slot's deadline of `kind`; returns the number a new
    /// entry for it carries.
    pub fn bump(&mut self, slot: u32, kind: u8) -> u32 {
        let g = &mut self.gens[slot as usize][kind as usize];
        *g = g.wrapping_add(1);
        *g
    }

    pub fn is_current(&self, slot: u32, kind: u8, gen: u32) -> bool {
        self.gens[slot as usize][kind as usize] == gen
    }

    /// Invalidates the slot's waiting-set entries; returns the number the
    /// next one carries.
    pub fn bump_wait(&mut self, slot: u32) -> u32 {
        let g = &mut self.wait_gens[slot as usize];
        *g = g.wrapping_add(1);
        *g
    }

    pub fn wait_gens(&self) -> &[u32] {
        &self.wait_gens
    }

    pub fn bump_all(&mut self, slot: u32) {
        for kind in 0..4 {
            self.bump(slot, kind);
        }
    }
}

/// Pending deadlines, earliest first (ties by their `tag`). Cancelling a deadline leaves its entry behind: finding it
/// to remove it would cost as much as the insert, and most deadlines (ring
/// timeouts, widening of callers who get served) are cancelled. The router
/// tells live entries from stale ones (`Router::timer_live`) when they reach
/// the front, and `compact` drops the stale ones once there are more entries
/// than there can be live deadlines.
///
/// Most deadlines are "now + a fixed duration of their source" (a queue's
/// ring timeout, its second widening step...), so each source's deadlines
/// arrive in order: they go to a FIFO lane of their own (O(1) in and out),
/// and a small heap of the lanes' fronts yields the earliest. An entry that
/// would break its lane's order goes to a heap of its own (`spill`).
#[derive(Default)]
pub(crate) struct Timers {
    lanes: Vec<VecDeque<TimerEntry>>,
    /// The front of every non-empty lane, and the lane.
    fronts: BinaryHeap<Reverse<(TimerEntry, u32)>>,
    spill: BinaryHeap<Reverse<TimerEntry>>,
    len: usize,
    /// The earliest entry, kept up to date: the router peeks several times
    /// per input and per fired deadline, far more often than it pushes.
    first: Option<TimerEntry>,
}

/// A pending deadline: when, whose (`tag`: a caller's slot and timer kind,
/// or an agent and `T_WRAP_UP`), and for a caller's the generation that must
/// still be current (`Callers::is_current`). 24 bytes: the lanes and heaps
/// move and compare these on every deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct TimerEntry {
    pub at: Instant,
    tag: u32,
    pub gen: u32,
}

/// Slots and agent indexes in a timer's tag: below 2^29, far above any
/// number of callers or agents the router could hold in memory.
const TAG_KIND_BITS: u32 = 3;

impl TimerEntry {
    pub fn caller(at: Instant, slot: u32, kind: u8, gen: u32) -> TimerEntry {
        debug_assert!(slot < 1 << (32 - TAG_KIND_BITS));
        TimerEntry {
            at,
            tag: slot << TAG_KIND_BITS | kind as u32,
            gen,
        }
    }

    pub fn wrap_up(at: Instant, a: AgentIdx) -> TimerEntry {
        debug_assert!(a < 1 << (32 - TAG_KIND_BITS));
        TimerEntry {
            at,
            tag: a << TAG_KIND_BITS | T_WRAP_UP as u32,
            gen: 0,
        }
    }

    /// `T_WRAP_UP` or a caller's `T_*`.
    pub fn kind(&self) -> u8 {
        (self.tag & ((1 << TAG_KIND_BITS) - 1)) as u8
    }

    /// The agent (wrap-up) or the caller's slot.
    pub fn who(&self) -> u32 {
        self.tag >> TAG_KIND_BITS
    }
}

impl Timers {
    /// Adds a deadline to the lane of its source (any number; one source
    /// per lane keeps lanes sorted without help).
    pub fn push(&mut self, lane: usize, entry: TimerEntry) {
        self.len += 1;
        if self.lanes.len() <= lane {
            self.lanes.resize_with(lane + 1, VecDeque::new);
        }
        let l = &mut self.lanes[lane];
        match l.back() {
            None => {
                l.push_back(entry);
                self.fronts.push(Reverse((entry, lane as u32)));
            }
            Some(back) if *back <= entry => l.push_back(entry),
            Some(_) => self.spill.push(Reverse(entry)),
        }
        if self.first.is_none_or(|f| entry < f) {
            self.first = Some(entry);
        }
    }

    pub fn peek(&self) -> Option<TimerEntry> {
        self.first
    }

    fn earliest(&self) -> Option<TimerEntry> {
        let lane = self.fronts.peek().map(|r| r.0 .0);
        let spill = self.spill.peek().map(|r| r.0);
        match (lane, spill) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    pub fn pop(&mut self) -> Option<TimerEntry> {
        let spill = self.spill.peek().map(|r| r.0);
        let entry = match self.fronts.peek_mut() {
            Some(mut top) if spill.is_none_or(|s| top.0 .0 <= s) => {
                let Reverse((entry, lane)) = *top;
                let l = &mut self.lanes[lane as usize];
                l.pop_front();
                // The lane's next entry takes its place: one sift, not a
                // pop and a push.
                match l.front() {
                    Some(&next) => *top = Reverse((next, lane)),
                    None => {
                        PeekMut::pop(top);
                    }
                }
                entry
            }
            _ => self.spill.pop()?.0,
        };
        self.len -= 1;
        self.first = self.earliest();
        Some(entry)
    }

    pub fn len(&self) -> usize {
        self.len
    }

    /// Keeps only the entries `live` accepts (O(n); the caller makes it rare).
    pub fn compact(&mut self, mut live: impl FnMut(&TimerEntry) -> bool) {
        self.spill.retain(|r| live(&r.0));
        self.fronts.clear();
        self.len = self.spill.len();
        for (i, l) in self.lanes.iter_mut().enumerate() {
            l.retain(&mut live);
            self.len += l.len();
            if let Some(&front) = l.front() {
                self.fronts.push(Reverse((front, i as u32)));
            }
        }
        self.first = self.earliest();
    }
}
