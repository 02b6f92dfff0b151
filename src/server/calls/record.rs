//! The call journey record: every step of a call goes into its
//! [`Journey`](crate::cdr::Journey), kept by router id so a queued callback
//! (the caller hangs up, we call back later) stays one record. Records and
//! events go to the CDR writer thread; a record is stored when its journey
//! ends.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use crate::acd::{AgentState, CallId};
use crate::cdr::{AgentStatus, Event, EventKind, HungUpBy, Journey, OfferOutcome};
use crate::server::cdr_writer::CdrWriter;

use super::Calls;

/// Journeys in progress and what the agents' wrap-ups belong to.
pub(super) struct Records {
    writer: CdrWriter,
    journeys: HashMap<CallId, Journey>,
    /// Agent → (record id of its last call, wrap-up start ms).
    wrap_up: HashMap<Arc<str>, (String, Option<i64>)>,
}

impl Records {
    pub(super) fn new(writer: CdrWriter) -> Self {
        Records {
            writer,
            journeys: HashMap::new(),
            wrap_up: HashMap::new(),
        }
    }
}

impl Calls {
    /// Wall-clock milliseconds for `now`.
    pub(super) fn ms(&self, now: Instant) -> i64 {
        self.clock.at(now)
    }

    /// A new call arrives: its journey starts, and its open record is stored
    /// (a crash closes it as interrupted on the next start).
    pub(super) fn journey_start(
        &mut self,
        now: Instant,
        acd: CallId,
        sip_call_id: &str,
        caller: &str,
        caller_name: Option<String>,
        dialed: &str,
    ) {
        let ms = self.ms(now);
        let id = crate::cdr::make_id(ms, rand::random());
        let j = Journey::new(id, sip_call_id, caller, caller_name, dialed, ms);
        self.records.writer.open(&j.snapshot());
        self.records.journeys.insert(acd, j);
        self.journey_flush(acd);
    }

    /// Applies `f` to the call's journey, then sends its new events.
    pub(super) fn journey(&mut self, acd: CallId, f: impl FnOnce(&mut Journey)) {
        if let Some(j) = self.records.journeys.get_mut(&acd) {
            f(j);
            self.journey_flush(acd);
        }
    }

    fn journey_flush(&mut self, acd: CallId) {
        if let Some(j) = self.records.journeys.get_mut(&acd) {
            let events = j.take_events();
            self.records.writer.events(events);
        }
    }

    /// The journey is over: the record is stored (durably, before the writer
    /// takes anything else).
    pub(super) fn journey_end(&mut self, now: Instant, acd: CallId, by: HungUpBy, reason: &str) {
        let ms = self.ms(now);
        if let Some(j) = self.records.journeys.remove(&acd) {
            let (rec, events) = j.end(ms, by, reason);
            self.records.writer.close(rec);
            self.records.writer.events(events);
        }
    }

    /// An offer ended without an answer.
    pub(super) fn journey_offer_outcome(
        &mut self,
        now: Instant,
        acd: CallId,
        agent: &str,
        outcome: OfferOutcome,
    ) {
        let ms = self.ms(now);
        self.journey(acd, |j| j.offer_outcome(agent, outcome, ms));
    }

    /// Agent state changes go to the event log; the end of a wrap-up gives
    /// the last call's wrap-up time.
    pub(super) fn agent_state_event(&mut self, now: Instant, agent: &Arc<str>, state: &AgentState) {
        let ms = self.ms(now);
        let (status, reason) = AgentStatus::from_state(state);
        let call = match state {
            AgentState::Offered { call, .. } | AgentState::OnCall { call, .. } => {
                self.records.journeys.get(call).map(|j| j.id().to_string())
            }
            _ => None,
        };
        if let AgentState::OnCall {
            call,
            direct: false,
        } = state
        {
            if let Some(j) = self.records.journeys.get(call) {
                self.records
                    .wrap_up
                    .insert(agent.clone(), (j.id().to_string(), None));
            }
        }
        match (state, self.records.wrap_up.get_mut(agent)) {
            (AgentState::WrapUp { .. }, Some(w)) => w.1 = Some(ms),
            (_, Some((id, Some(start)))) => {
                self.records.writer.wrap_up(id, ms - *start);
                self.records.wrap_up.remove(agent);
            }
            _ => {}
        }
        self.records.writer.event(Event {
            at_ms: ms,
            kind: EventKind::AgentState {
                agent: agent.to_string(),
                state: status,
                reason,
                call,
            },
        });
    }
}
