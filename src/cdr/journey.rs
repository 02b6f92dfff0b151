//! [`Journey`]: the per-call builder. The shell calls one method per thing
//! that happens (with unix-ms timestamps); the journey keeps the record and
//! the matching [`Event`]s, and [`Journey::end`] derives the disposition.

use super::{
    CallRecord, Callback, CallbackAttempt, Disposition, Event, EventKind, HungUpBy, Offer,
    OfferOutcome, Step, TrailStep, Transfer,
};
use crate::ivr::interpreter::TrailEntry;

/// A call id that is unique across restarts and sorts by arrival:
/// the arrival time in hex and 32 random bits (the caller passes them in,
/// so this stays deterministic in tests).
pub fn make_id(arrived_ms: i64, random: u32) -> String {
    format!("{:011x}-{random:08x}", arrived_ms.max(0))
}

/// One call in progress.
#[derive(Debug, Clone)]
pub struct Journey {
    rec: CallRecord,
    /// Start of the current hold, if on hold.
    hold_since: Option<i64>,
    failure: Option<String>,
    events: Vec<Event>,
}

impl Journey {
    pub fn new(
        id: impl Into<String>,
        sip_call_id: impl Into<String>,
        caller: impl Into<String>,
        caller_name: Option<String>,
        dialed: impl Into<String>,
        arrived_ms: i64,
    ) -> Journey {
        let rec = CallRecord {
            id: id.into(),
            sip_call_id: sip_call_id.into(),
            agent_call_id: None,
            caller: caller.into(),
            caller_name: caller_name.filter(|n| !n.is_empty()),
            dialed: dialed.into(),
            arrived_ms,
            answered_ms: None,
            queued_ms: None,
            agent_answered_ms: None,
            ended_ms: None,
            language: None,
            trail: Vec::new(),
            vars: Default::default(),
            queue: None,
            queues: Vec::new(),
            priority: None,
            offers: Vec::new(),
            agent: None,
            wait_ms: None,
            talk_ms: None,
            hold_ms: 0,
            wrap_up_ms: None,
            transfers: Vec::new(),
            callback: None,
            disposition: Disposition::InProgress,
            closed_hours: false,
            hung_up_by: None,
            end_reason: String::new(),
            recording: None,
            voicemail: None,
            survey_score: None,
        };
        let mut j = Journey {
            hold_since: None,
            failure: None,
            events: Vec::new(),
            rec,
        };
        j.push(
            arrived_ms,
            EventKind::CallArrived {
                call: j.rec.id.clone(),
                caller: j.rec.caller.clone(),
                dialed: j.rec.dialed.clone(),
            },
        );
        j
    }

    pub fn id(&self) -> &str {
        &self.rec.id
    }

    /// The record so far (disposition `in_progress`), for the store's open row.
    pub fn snapshot(&self) -> CallRecord {
        self.rec.clone()
    }

    /// Events produced since the last call, oldest first.
    pub fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }

    fn push(&mut self, at_ms: i64, kind: EventKind) {
        self.events.push(Event { at_ms, kind });
    }

    fn call(&self) -> String {
        self.rec.id.clone()
    }

    /// Switchboard answered the caller.
    pub fn answered(&mut self, ms: i64) {
        if self.rec.answered_ms.is_none() {
            self.rec.answered_ms = Some(ms);
            self.push(ms, EventKind::CallAnswered { call: self.call() });
        }
    }

    pub fn language(&mut self, language: impl Into<String>) {
        self.rec.language = Some(language.into());
    }

    /// A step of the IVR trail ([`crate::ivr::interpreter::IvrAction::Trail`]).
    /// `Set` also records the variable, `Language` the language, `Voicemail`
    /// the message and `Error` marks the call failed.
    pub fn trail(&mut self, ms: i64, entry: &TrailEntry) {
        match entry {
            TrailEntry::Set { name, value } => {
                self.rec.vars.insert(name.clone(), value.clone());
            }
            TrailEntry::Language(l) => self.rec.language = Some(l.clone()),
            TrailEntry::Voicemail { path, .. } => {
                self.rec.voicemail = Some(path.display().to_string())
            }
            TrailEntry::Error(m) => self.fail(m.clone()),
            _ => {}
        }
        self.rec.trail.push(TrailStep {
            at_ms: ms,
            step: Step::from(entry),
        });
    }

    /// A variable from a lookup (or anything else worth keeping).
    pub fn var(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.rec.vars.insert(name.into(), value.into());
    }

    /// The call joined `queue` (again, after an overflow: the wait still
    /// counts from the first entry).
    pub fn queued(&mut self, queue: impl Into<String>, priority: u8, ms: i64) {
        let queue = queue.into();
        self.rec.queued_ms.get_or_insert(ms);
        self.rec.queue = Some(queue.clone());
        self.rec.queues.push(queue.clone());
        self.rec.priority = Some(priority);
        self.push(
            ms,
            EventKind::CallQueued {
                call: self.call(),
                queue,
                priority,
            },
        );
    }

    /// `agent` starts ringing with this call.
    pub fn offer(&mut self, agent: impl Into<String>, ms: i64) {
        let agent = agent.into();
        let queue = self.rec.queue.clone().unwrap_or_default();
        self.rec.offers.push(Offer {
            agent: agent.clone(),
            queue: queue.clone(),
            offered_ms: ms,
            ended_ms: None,
            outcome: None,
        });
        self.push(
            ms,
            EventKind::CallOffered {
                call: self.call(),
                queue,
                agent,
            },
        );
    }

    /// The ring of `agent` ended this way. Unknown agents are ignored (an
    /// offer the shell never reported is not invented here).
    pub fn offer_outcome(&mut self, agent: &str, outcome: OfferOutcome, ms: i64) {
        let Some(o) = self
            .rec
            .offers
            .iter_mut()
            .rev()
            .find(|o| o.agent == agent && o.outcome.is_none())
        else {
            return;
        };
        o.outcome = Some(outcome);
        o.ended_ms = Some(ms);
        self.push(
            ms,
            EventKind::OfferEnded {
                call: self.call(),
                agent: agent.to_string(),
                outcome,
            },
        );
    }

    /// `agent` answered (its leg's SIP Call-ID given); the caller is bridged.
    /// Other agents still ringing (ring-all) are marked cancelled.
    pub fn connected(
        &mut self,
        agent: impl Into<String>,
        agent_leg_call_id: impl Into<String>,
        ms: i64,
    ) {
        let agent = agent.into();
        self.offer_outcome(&agent, OfferOutcome::Answered, ms);
        self.cancel_ringing(ms);
        self.rec.agent_answered_ms = Some(ms);
        self.rec.agent = Some(agent.clone());
        self.rec.agent_call_id = Some(agent_leg_call_id.into());
        let wait_ms = self.rec.queued_ms.map_or(0, |q| (ms - q).max(0));
        self.push(
            ms,
            EventKind::CallConnected {
                call: self.call(),
                queue: self.rec.queue.clone().unwrap_or_default(),
                agent,
                wait_ms,
            },
        );
    }

    /// Offers still ringing end as cancelled (another agent answered, or
    /// the caller left).
    fn cancel_ringing(&mut self, ms: i64) {
        let ringing: Vec<String> = self
            .rec
            .offers
            .iter()
            .filter(|o| o.outcome.is_none())
            .map(|o| o.agent.clone())
            .collect();
        for agent in ringing {
            self.offer_outcome(&agent, OfferOutcome::Cancelled, ms);
        }
    }

    /// Either party put the call on hold (`on`) or took it off.
    pub fn hold(&mut self, on: bool, ms: i64) {
        match (on, self.hold_since) {
            (true, None) => self.hold_since = Some(ms),
            (false, Some(since)) => {
                self.rec.hold_ms += (ms - since).max(0);
                self.hold_since = None;
            }
            _ => return,
        }
        self.push(
            ms,
            EventKind::CallHold {
                call: self.call(),
                on,
            },
        );
    }

    /// The call was transferred to `target` (by the connected agent, if any).
    pub fn transfer(&mut self, target: impl Into<String>, ms: i64) {
        let target = target.into();
        self.rec.transfers.push(Transfer {
            at_ms: ms,
            by_agent: self.rec.agent.clone(),
            target: target.clone(),
        });
        self.push(
            ms,
            EventKind::CallTransferred {
                call: self.call(),
                target,
            },
        );
    }

    /// The caller asked to be called back on `number` and hung up. Keep the
    /// journey open: it ends when the callback connects and finishes, or fails.
    pub fn callback_requested(&mut self, number: impl Into<String>, ms: i64) {
        let number = number.into();
        self.rec.callback = Some(Callback {
            number: number.clone(),
            requested_ms: ms,
            attempts: Vec::new(),
        });
        if let Some(q) = self.rec.queued_ms {
            self.rec.wait_ms = Some((ms - q).max(0));
        }
        self.push(
            ms,
            EventKind::CallbackRequested {
                call: self.call(),
                number,
            },
        );
    }

    /// One attempt to reach the customer; on `answered`, call [`Journey::connected`]
    /// when the agent is bridged.
    pub fn callback_attempt(&mut self, ms: i64, answered: bool) {
        if let Some(cb) = &mut self.rec.callback {
            cb.attempts.push(CallbackAttempt {
                at_ms: ms,
                answered,
            });
        }
        self.push(
            ms,
            EventKind::CallbackAttempt {
                call: self.call(),
                answered,
            },
        );
    }

    /// Survey score (1-5).
    pub fn survey(&mut self, score: u8) {
        self.rec.survey_score = Some(score);
    }

    pub fn recording(&mut self, path: impl Into<String>) {
        self.rec.recording = Some(path.into());
    }

    pub fn voicemail(&mut self, path: impl Into<String>) {
        self.rec.voicemail = Some(path.into());
    }

    /// The caller reached us outside opening hours.
    pub fn closed_hours(&mut self) {
        self.rec.closed_hours = true;
    }

    /// Something broke (no common codec, a flow error, an unreachable
    /// target): the disposition will be `failed` with this reason.
    pub fn fail(&mut self, reason: impl Into<String>) {
        self.failure.get_or_insert_with(|| reason.into());
    }

    /// The call is over. Returns the closed record and the events not yet
    /// taken (the last is `call_ended`).
    ///
    /// The disposition is derived, first rule that applies:
    /// 1. [`Journey::fail`] was called (or the IVR reported an error) → `failed`;
    /// 2. a callback was requested → `callback_completed` if an agent was
    ///    connected after the request, else `callback_failed`;
    /// 3. an agent answered → `completed` (transfers afterwards included);
    /// 4. a voicemail was left → `voicemail`;
    /// 5. outside opening hours → `closed_hours`;
    /// 6. the call was queued → `abandoned_in_queue` (with its wait) if the
    ///    caller hung up, otherwise `failed` with `reason` (the system gave up);
    /// 7. the IVR transferred it → `transferred`;
    /// 8. the caller hung up → `abandoned_in_ivr`;
    /// 9. otherwise the flow ended it → `ivr_completed`.
    pub fn end(
        mut self,
        ms: i64,
        hung_up_by: HungUpBy,
        reason: impl Into<String>,
    ) -> (CallRecord, Vec<Event>) {
        self.hold(false, ms);
        let reason = reason.into();
        self.cancel_ringing(ms);
        let r = &mut self.rec;
        r.ended_ms = Some(ms);
        r.hung_up_by = Some(hung_up_by);
        r.end_reason = reason.clone();
        if let Some(ans) = r.agent_answered_ms {
            r.talk_ms = Some((ms - ans - r.hold_ms).max(0));
            if r.callback.is_none() {
                r.wait_ms = r.queued_ms.map(|q| (ans - q).max(0));
            }
        } else if r.callback.is_none() {
            r.wait_ms = r.queued_ms.map(|q| (ms - q).max(0));
        }
        r.disposition = if let Some(f) = self.failure.take() {
            Disposition::Failed { reason: f }
        } else if let Some(cb) = &r.callback {
            if r.agent_answered_ms.is_some_and(|a| a >= cb.requested_ms) {
                Disposition::CallbackCompleted
            } else {
                Disposition::CallbackFailed
            }
        } else if r.agent_answered_ms.is_some() {
            Disposition::Completed
        } else if r.voicemail.is_some() {
            Disposition::Voicemail
        } else if r.closed_hours {
            Disposition::ClosedHours
        } else if r.queued_ms.is_some() {
            if hung_up_by == HungUpBy::Caller {
                Disposition::AbandonedInQueue {
                    wait_ms: r.wait_ms.unwrap_or(0),
                }
            } else {
                Disposition::Failed { reason }
            }
        } else if let Some(t) = r.transfers.last() {
            Disposition::Transferred {
                target: t.target.clone(),
            }
        } else if hung_up_by == HungUpBy::Caller {
            Disposition::AbandonedInIvr
        } else {
            Disposition::IvrCompleted
        };
        let ended = EventKind::CallEnded {
            call: r.id.clone(),
            disposition: r.disposition.name().to_string(),
            queue: r.queue.clone(),
            wait_ms: r.wait_ms,
        };
        self.push(ms, ended);
        (self.rec, self.events)
    }
}
