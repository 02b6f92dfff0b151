//! Erlang staffing advice for the wallboard, from the live traffic the core
//! reports, with the functions `switchboard report` uses.

use super::api::{ServiceLevelView, StaffingView};
use crate::cdr::erlang::{agents_erlang_a, agents_erlang_c, Load, Target};

/// Fills in the agents needed to meet the queue's target at the last hour's
/// arrival rate and handle time: Erlang C (nobody gives up) and, when a
/// patience could be estimated, Erlang A (callers abandon).
pub(super) fn advise(s: &mut StaffingView, sl: &ServiceLevelView) {
    let load = Load {
        rate: s.calls_per_hour / 3600.0,
        aht: s.aht_s,
    };
    let target = Target {
        within: sl.answered_within_s,
        level: sl.target / 100.0,
    };
    s.erlang_c_agents = agents_erlang_c(load, target).map(|p| p.agents);
    s.erlang_a_agents = s
        .patience_s
        .and_then(|p| agents_erlang_a(load, p, target, sl.short_abandon_s))
        .map(|p| p.agents);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advice_follows_the_erlang_functions() {
        let sl = ServiceLevelView {
            answered_within_s: 20.0,
            target: 80.0,
            short_abandon_s: 5.0,
            today: None,
        };
        // 120 calls an hour of 3 minutes: 6 Erlangs.
        let mut s = StaffingView {
            calls: 120,
            calls_per_hour: 120.0,
            aht_s: 180.0,
            patience_s: None,
            erlang_c_agents: None,
            erlang_a_agents: None,
        };
        advise(&mut s, &sl);
        let load = Load {
            rate: 120.0 / 3600.0,
            aht: 180.0,
        };
        let c = s.erlang_c_agents.unwrap();
        assert!(c > 6, "more agents than Erlangs: {c}");
        let p = crate::cdr::erlang::erlang_c_performance(load, c, 20.0);
        assert!(p.service_level >= 0.8);
        let fewer = crate::cdr::erlang::erlang_c_performance(load, c - 1, 20.0);
        assert!(fewer.service_level < 0.8);
        assert_eq!(s.erlang_a_agents, None);
        // Impatient callers leave: Erlang A needs no more agents than C.
        s.patience_s = Some(60.0);
        advise(&mut s, &sl);
        assert!(s.erlang_a_agents.unwrap() <= c);
    }
}
