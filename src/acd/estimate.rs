//! Queue positions in O(log n) and estimated waits from the live service rate.

use std::collections::VecDeque;
use std::time::Duration;

use super::CallId;

/// The callers of one queue at one priority, in arrival order, with a Fenwick
/// tree over their slots so "how many are ahead of me" costs O(log n) even
/// with 100,000 callers (a BTreeMap cannot count a range without walking it).
///
/// Slots are handed out in arrival order and never reused; when most slots are
/// dead the line is renumbered, which costs O(n) once per n departures.
#[derive(Debug, Default)]
pub(crate) struct Line {
    /// slot -> caller (None once it left).
    slots: Vec<Option<CallId>>,
    /// Fenwick tree (1-based inside) of live slots.
    tree: Vec<u32>,
    live: usize,
}

impl Line {
    pub(crate) fn live(&self) -> usize {
        self.live
    }

    /// Adds a caller at the back; returns its slot. When the line is
    /// renumbered first, `renumbered` is called with every live caller's new
    /// slot so the owner can update its records.
    pub(crate) fn push(&mut self, call: CallId, mut renumbered: impl FnMut(CallId, u32)) -> u32 {
        if self.slots.len() >= 64 && self.slots.len() >= 2 * self.live + 32 {
            let kept: Vec<CallId> = self.slots.iter().flatten().copied().collect();
            self.slots = kept.iter().map(|c| Some(*c)).collect();
            self.tree = vec![0; self.slots.len()];
            // Linear-time Fenwick build.
            for i in 0..self.tree.len() {
                self.tree[i] += 1;
                let parent = i | (i + 1);
                if parent < self.tree.len() {
                    let v = self.tree[i];
                    self.tree[parent] += v;
                }
            }
            for (i, c) in kept.iter().enumerate() {
                renumbered(*c, i as u32);
            }
        }
        let slot = self.slots.len();
        self.slots.push(Some(call));
        // Appending index `slot` to a Fenwick tree: its node covers
        // (slot & (slot + 1)) ..= slot; sum the existing part of that range.
        let mut v = 1u32;
        let lo = slot & (slot + 1);
        let mut j = slot;
        while j > lo {
            let k = j - 1;
            v += self.tree[k];
            j = k & (k + 1);
        }
        self.tree.push(v);
        self.live += 1;
        slot as u32
    }

    pub(crate) fn remove(&mut self, slot: u32) {
        let slot = slot as usize;
        if self.slots.get(slot).is_none_or(|s| s.is_none()) {
            return;
        }
        self.slots[slot] = None;
        self.live -= 1;
        let mut i = slot;
        while i < self.tree.len() {
            self.tree[i] -= 1;
            i |= i + 1;
        }
    }

    /// Live callers in slots before `slot`.
    pub(crate) fn ahead(&self, slot: u32) -> usize {
        // Prefix sum over slots 0..slot: node k covers (k & (k + 1)) ..= k.
        let mut sum = 0usize;
        let mut j = (slot as usize).min(self.tree.len());
        while j > 0 {
            let k = j - 1;
            sum += self.tree[k] as usize;
            j = k & (k + 1);
        }
        sum
    }
}

/// Handle time assumed until a queue has served calls.
pub const DEFAULT_HANDLE_TIME: Duration = Duration::from_secs(180);
/// Recent calls averaged for the service rate.
const WINDOW: usize = 32;

/// Recent handle times (talk plus wrap-up) of one queue.
#[derive(Debug, Default)]
pub(crate) struct HandleTimes {
    recent: VecDeque<Duration>,
    sum: Duration,
}

impl HandleTimes {
    pub(crate) fn record(&mut self, d: Duration) {
        if self.recent.len() == WINDOW {
            if let Some(old) = self.recent.pop_front() {
                self.sum = self.sum.saturating_sub(old);
            }
        }
        self.recent.push_back(d);
        self.sum = self.sum.saturating_add(d);
    }

    pub(crate) fn average(&self) -> Duration {
        match self.recent.len() {
            0 => DEFAULT_HANDLE_TIME,
            n => self.sum / n as u32,
        }
    }
}

/// Position × average handle time ÷ agents staffed: with `staffed` agents
/// each finishing a call every `average`, the caller at `position` is reached
/// after about `position / staffed` handle times. Erlang C would be more exact
/// but needs an arrival rate we do not yet trust; this errs on the long side.
pub fn estimate_wait(position: usize, average: Duration, staffed: usize) -> Duration {
    let staffed = staffed.max(1) as u128;
    let nanos = average.as_nanos().saturating_mul(position as u128) / staffed;
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The Fenwick line agrees with a plain list through pushes, removals
        /// and renumbering.
        #[test]
        fn line_counts_like_a_list(ops in proptest::collection::vec((any::<bool>(), any::<u16>()), 1..600)) {
            let mut line = Line::default();
            let mut model: Vec<(CallId, u32)> = Vec::new(); // live, in order
            let mut next = 0u64;
            for (push, pick) in ops {
                if push || model.is_empty() {
                    let c = CallId(next);
                    next += 1;
                    let slot = line.push(c, |call, s| {
                        if let Some(m) = model.iter_mut().find(|m| m.0 == call) { m.1 = s; }
                    });
                    model.push((c, slot));
                } else {
                    let i = pick as usize % model.len();
                    let (_, slot) = model.remove(i);
                    line.remove(slot);
                }
                prop_assert_eq!(line.live(), model.len());
                for (i, (_, slot)) in model.iter().enumerate() {
                    prop_assert_eq!(line.ahead(*slot), i);
                }
            }
        }
    }

    #[test]
    fn estimate_scales_with_position_and_staff() {
        let aht = Duration::from_secs(120);
        assert_eq!(estimate_wait(1, aht, 1), Duration::from_secs(120));
        assert_eq!(estimate_wait(4, aht, 2), Duration::from_secs(240));
        assert_eq!(estimate_wait(3, aht, 0), Duration::from_secs(360));
        let mut h = HandleTimes::default();
        assert_eq!(h.average(), DEFAULT_HANDLE_TIME);
        h.record(Duration::from_secs(60));
        h.record(Duration::from_secs(120));
        assert_eq!(h.average(), Duration::from_secs(90));
        for _ in 0..WINDOW {
            h.record(Duration::from_secs(30));
        }
        assert_eq!(h.average(), Duration::from_secs(30));
    }
}
