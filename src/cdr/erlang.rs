//! Staffing with Erlang C (M/M/n, callers never give up) and Erlang A
//! (Palm's M/M/n+M: exponential patience, callers abandon).
//!
//! All rates are per second, all times in seconds. Numerically stable for
//! thousands of agents: Erlang B by its recursion `B(k) = a·B(k-1) / (k + a·B(k-1))`
//! (never a factorial or a power), Erlang A by the birth–death chain scaled to
//! `π(n) = 1` and uniformization for the waiting-time probabilities.

/// Erlang B: probability that all `n` servers are busy with offered load `a`
/// Erlangs and no queue (blocked calls lost).
pub fn erlang_b(a: f64, n: u32) -> f64 {
    let mut b = 1.0;
    for k in 1..=n {
        b = a * b / (k as f64 + a * b);
    }
    b
}

/// Erlang C: probability that a call has to wait, `n` agents, load `a`.
/// 1 when `n <= a` (the queue grows without bound).
pub fn erlang_c(a: f64, n: u32) -> f64 {
    let nf = n as f64;
    if nf <= a {
        return 1.0;
    }
    let b = erlang_b(a, n);
    nf * b / (nf - a * (1.0 - b))
}

/// The load a queue puts on its agents.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Load {
    /// Arrivals per second.
    pub rate: f64,
    /// Mean handle time (talk + hold + wrap-up), seconds.
    pub aht: f64,
}

impl Load {
    /// Offered load in Erlangs.
    pub fn erlangs(&self) -> f64 {
        self.rate * self.aht
    }
}

/// "`level` of calls answered within `within` seconds".
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Target {
    pub within: f64,
    pub level: f64,
}

/// What a number of agents achieves.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Performance {
    pub agents: u32,
    /// Fraction of callers who wait at all.
    pub p_wait: f64,
    /// Fraction answered within the target time (see [`erlang_a`] for the
    /// definition with abandonment).
    pub service_level: f64,
    /// Fraction who hang up before being answered (0 for Erlang C).
    pub p_abandon: f64,
    /// Mean wait of all callers, seconds (Erlang C only; NaN for Erlang A).
    pub asa: f64,
    /// Busy fraction of the agents.
    pub occupancy: f64,
}

/// Erlang C performance of `n` agents.
pub fn erlang_c_performance(load: Load, n: u32, within: f64) -> Performance {
    let a = load.erlangs();
    let nf = n as f64;
    if nf <= a {
        return Performance {
            agents: n,
            p_wait: 1.0,
            service_level: 0.0,
            p_abandon: 0.0,
            asa: f64::INFINITY,
            occupancy: 1.0,
        };
    }
    let c = erlang_c(a, n);
    Performance {
        agents: n,
        p_wait: c,
        service_level: 1.0 - c * (-(nf - a) * within / load.aht).exp(),
        p_abandon: 0.0,
        asa: c * load.aht / (nf - a),
        occupancy: a / nf,
    }
}

/// The fewest agents that reach `target` under Erlang C.
pub fn agents_erlang_c(load: Load, target: Target) -> Option<Performance> {
    if !(load.rate > 0.0 && load.aht > 0.0) {
        return None;
    }
    let start = load.erlangs().floor() as u32 + 1;
    (start..start.saturating_add(100_000))
        .map(|n| erlang_c_performance(load, n, target.within))
        .find(|p| p.service_level >= target.level)
}

/// Most queue states kept for Erlang A; beyond it the agents are hopelessly
/// too few and the service level is reported as 0.
const MAX_QUEUE_STATES: usize = 200_000;

/// Erlang A (M/M/n+M, Palm 1943; Garnett, Mandelbaum & Reiman 2002)
/// performance of `n` agents when callers' patience is exponential with
/// mean `patience` seconds.
///
/// Service level is defined as the report measures it: calls answered
/// within `within` seconds, over all calls except those that hung up within
/// `short_abandon` seconds (pass 0 to count every abandonment against it).
pub fn erlang_a(load: Load, patience: f64, n: u32, within: f64, short_abandon: f64) -> Performance {
    let lambda = load.rate;
    let mu = 1.0 / load.aht;
    let theta = 1.0 / patience;
    let nmu = n as f64 * mu;
    let a = load.erlangs();
    // π scaled so that π(n) = 1: the states below n sum to 1/B(a, n).
    let low = 1.0 / erlang_b(a, n);
    let mut queue = vec![1.0]; // π(n + j), j = 0..
    let mut high = 1.0;
    let mut mean_q = 0.0;
    loop {
        let j = queue.len() as f64;
        let next = queue[queue.len() - 1] * lambda / (nmu + j * theta);
        if !next.is_finite() || queue.len() >= MAX_QUEUE_STATES {
            return Performance {
                agents: n,
                p_wait: 1.0,
                service_level: 0.0,
                p_abandon: 1.0,
                asa: f64::NAN,
                occupancy: 1.0,
            };
        }
        queue.push(next);
        high += next;
        mean_q += j * next;
        if next < 1e-17 * (low + high) && nmu + j * theta > lambda {
            break;
        }
    }
    let total = low - 1.0 + high; // π(n) counted once
    let p_wait = high / total;
    // Long-run fraction abandoning: θ·E[Q] = λ·P(Ab).
    let p_abandon = theta * (mean_q / total) / lambda;
    // An arrival finding n + i in the system has i callers ahead of it.
    let start: Vec<f64> = queue.iter().map(|p| p / total).collect();
    let (served_in_time, _) = absorbed_by(&start, nmu, theta, within);
    let (_, quick_abandon) = absorbed_by(&start, nmu, theta, short_abandon);
    let answered = (1.0 - p_wait) + served_in_time;
    Performance {
        agents: n,
        p_wait,
        service_level: (answered / (1.0 - quick_abandon)).min(1.0),
        p_abandon,
        asa: f64::NAN,
        occupancy: (a * (1.0 - p_abandon) / n as f64).min(1.0),
    }
}

/// For a waiting caller that starts with `i` callers ahead with probability
/// `start[i]`: the probability of reaching an agent, and of abandoning,
/// within `h` seconds. The line ahead moves at rate `nμ + iθ` (services and
/// abandonments ahead), the caller itself abandons at rate θ. Computed by
/// uniformization (Jensen's method) with Poisson weights in logs, so a large
/// `Λh` neither underflows nor overflows.
fn absorbed_by(start: &[f64], nmu: f64, theta: f64, h: f64) -> (f64, f64) {
    if h <= 0.0 {
        return (0.0, 0.0);
    }
    let states = start.len();
    let big = nmu + states as f64 * theta; // ≥ every state's exit rate
    let lh = big * h;
    let steps = (lh + 10.0 * lh.sqrt() + 20.0).ceil() as usize;
    let mut p = start.to_vec();
    let mut next = vec![0.0; states];
    let (mut served, mut abandoned) = (0.0, 0.0);
    let (mut sum_served, mut sum_abandoned) = (0.0, 0.0);
    let mut log_fact = 0.0;
    for m in 0..=steps {
        if m > 0 {
            log_fact += (m as f64).ln();
        }
        let w = (-lh + m as f64 * lh.ln() - log_fact).exp();
        sum_served += w * served;
        sum_abandoned += w * abandoned;
        // One uniformized step.
        next.iter_mut().for_each(|x| *x = 0.0);
        for (i, &pi) in p.iter().enumerate() {
            if pi == 0.0 {
                continue;
            }
            let move_on = (nmu + i as f64 * theta) / big;
            let give_up = theta / big;
            if i == 0 {
                served += pi * move_on;
            } else {
                next[i - 1] += pi * move_on;
            }
            abandoned += pi * give_up;
            next[i] += pi * (1.0 - move_on - give_up);
        }
        std::mem::swap(&mut p, &mut next);
    }
    (sum_served, sum_abandoned)
}

/// The fewest agents that reach `target` under Erlang A.
pub fn agents_erlang_a(
    load: Load,
    patience: f64,
    target: Target,
    short_abandon: f64,
) -> Option<Performance> {
    if !(load.rate > 0.0 && load.aht > 0.0 && patience > 0.0) {
        return None;
    }
    // The service level grows with the number of agents; below a tenth of
    // the load it is hopeless, so the search starts there.
    let start = ((load.erlangs() * 0.1).floor() as u32).max(1);
    (start..start.saturating_add(1_000_000))
        .map(|n| erlang_a(load, patience, n, target.within, short_abandon))
        .find(|p| p.service_level >= target.level)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The 1 % grade-of-service column of the standard printed Erlang B
    /// table (the traffic in Erlangs that `n` trunks carry with 1 % of calls
    /// blocked): n = 5 → 1.36 E, 10 → 4.46 E, 20 → 12.03 E, 50 → 37.90 E,
    /// 100 → 84.06 E.
    #[test]
    fn erlang_b_matches_the_one_percent_table() {
        for (n, a) in [
            (5, 1.36),
            (10, 4.46),
            (20, 12.03),
            (50, 37.90),
            (100, 84.06),
        ] {
            let b = erlang_b(a, n);
            // The table rounds A to two decimals, so B lies near 1 %.
            assert!((b - 0.01).abs() < 0.0006, "B({a}, {n}) = {b}");
        }
    }

    /// Call Centre Helper, "Erlang C Formula – Made Simple With an Easy
    /// Worked Example": 100 calls in 30 minutes, AHT 180 s, 80 % answered
    /// within 20 s → 10 Erlangs, 14 agents (the formula gives 79.6 % for 13
    /// agents and 88.8 % for 14).
    #[test]
    fn erlang_c_worked_example() {
        let load = Load {
            rate: 100.0 / 1800.0,
            aht: 180.0,
        };
        assert!((load.erlangs() - 10.0).abs() < 1e-12);
        let target = Target {
            within: 20.0,
            level: 0.8,
        };
        let p = agents_erlang_c(load, target).unwrap();
        assert_eq!(p.agents, 14);
        assert!(p.service_level >= 0.8);
        let p13 = erlang_c_performance(load, 13, 20.0);
        assert!((p13.service_level - 0.796).abs() < 0.0005, "{p13:?}");
        assert!((p.service_level - 0.888).abs() < 0.0005, "{p:?}");
    }

    #[test]
    fn erlang_b_is_stable_for_large_systems() {
        // 10,000 trunks at 9,800 Erlangs: a factorial formula overflows long before.
        let b = erlang_b(9800.0, 10_000);
        assert!(b.is_finite() && b > 0.0 && b < 0.01, "{b}");
        let c = erlang_c(9800.0, 10_000);
        assert!(c.is_finite() && c > b && c < 1.0, "{c}");
    }

    #[test]
    fn erlang_a_with_endless_patience_is_erlang_c() {
        let load = Load {
            rate: 100.0 / 1800.0,
            aht: 180.0,
        };
        for n in 11..=16 {
            let c = erlang_c_performance(load, n, 20.0);
            let a = erlang_a(load, 1e9, n, 20.0, 0.0);
            assert!((c.p_wait - a.p_wait).abs() < 1e-6, "{n}: {c:?} {a:?}");
            assert!(
                (c.service_level - a.service_level).abs() < 1e-6,
                "{n}: {c:?} {a:?}"
            );
        }
    }

    /// Abandonment shortens the line: with callers who give up after two
    /// minutes on average, fewer agents reach 80/20 than Erlang C says.
    #[test]
    fn erlang_a_needs_no_more_agents_than_erlang_c_when_patience_is_long() {
        let load = Load {
            rate: 100.0 / 1800.0,
            aht: 180.0,
        };
        let target = Target {
            within: 20.0,
            level: 0.8,
        };
        let a = agents_erlang_a(load, 120.0, target, 5.0).unwrap();
        let c = agents_erlang_c(load, target).unwrap();
        assert!(a.agents <= c.agents, "{a:?} {c:?}");
        // Overloaded (fewer agents than Erlangs) Erlang A is still stable.
        let over = erlang_a(load, 120.0, 8, 20.0, 5.0);
        assert!(over.p_abandon > 0.05 && over.p_abandon < 1.0, "{over:?}");
    }

    /// Check the formulas against a simulation of the same queue (fixed
    /// seed, 400,000 calls): FCFS, n agents, exponential service and patience.
    #[test]
    fn erlang_a_agrees_with_a_simulation() {
        use rand::{Rng, SeedableRng};
        let (load, patience, n, within, short) = (
            Load {
                rate: 1.0 / 20.0,
                aht: 180.0,
            },
            90.0,
            9u32,
            20.0,
            5.0,
        );
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let mut exp = |mean: f64| -mean * (1.0 - rng.gen::<f64>()).ln();
        let mut free = vec![0.0f64; n as usize];
        let (mut t, mut calls, mut waited, mut in_time, mut ab, mut quick) =
            (0.0, 0u64, 0u64, 0u64, 0u64, 0u64);
        for _ in 0..400_000 {
            t += exp(1.0 / load.rate);
            let p = exp(patience);
            let s = exp(load.aht);
            calls += 1;
            // FCFS: the earliest free agent after everyone ahead.
            let (k, &f) = free
                .iter()
                .enumerate()
                .min_by(|a, b| a.1.total_cmp(b.1))
                .unwrap();
            let wait = (f - t).max(0.0);
            if wait > 0.0 {
                waited += 1;
            }
            if wait > p {
                ab += 1;
                if p <= short {
                    quick += 1;
                }
                continue;
            }
            if wait <= within {
                in_time += 1;
            }
            free[k] = t + wait + s;
        }
        let sim_sl = in_time as f64 / (calls - quick) as f64;
        let sim_ab = ab as f64 / calls as f64;
        let sim_wait = waited as f64 / calls as f64;
        let m = erlang_a(load, patience, n, within, short);
        assert!((m.service_level - sim_sl).abs() < 0.01, "{m:?} vs {sim_sl}");
        assert!((m.p_abandon - sim_ab).abs() < 0.01, "{m:?} vs {sim_ab}");
        assert!((m.p_wait - sim_wait).abs() < 0.01, "{m:?} vs {sim_wait}");
    }
}
