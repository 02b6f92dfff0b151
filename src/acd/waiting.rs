//! The waiting callers of one caller class, best first: higher priority,
//! then earlier arrival.
//!
//! Callers enter a class in arrival order (a join, or widening, which
//! happens in join order), so each priority keeps a FIFO of entries and the
//! best caller is the front of the highest non-empty one: O(1) to insert,
//! to find the best, and to remove the best, where a `BTreeMap` paid a
//! search each time. The exceptions — a caller put back after a failed
//! offer, whose arrival is older than the FIFO's back — go to the front when
//! they are older than everyone (the usual case: the offered caller was the
//! best), else to a small ordered `spill`.
//!
//! A caller that leaves from the middle of a FIFO leaves its entry behind;
//! entries carry the caller's waiting generation (`Callers::wait_gen`, bumped
//! whenever it enters or leaves a waiting set), so a stale entry is known
//! when it reaches the front, where it is dropped. The front of every FIFO is
//! thus always a live caller, and stale entries are swept once they
//! outnumber the live ones.

use std::collections::{BTreeSet, VecDeque};

use super::queue::{WaitKey, PRIORITIES};

/// (arrival seq, caller slot, waiting generation).
type Entry = (u64, u32, u32);

#[derive(Default)]
pub(crate) struct Waiting {
    fifos: [VecDeque<Entry>; PRIORITIES],
    /// Bit p: `fifos[p]` is not empty.
    nonempty: u16,
    spill: BTreeSet<(WaitKey, u32)>,
    /// Live callers.
    len: usize,
    /// Dead entries still in the FIFOs.
    stale: usize,
    /// The best live caller, kept up to date: agents look at the best of
    /// each of their classes far more often than callers come and go.
    best: Option<(WaitKey, u32)>,
}

impl Waiting {
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.len
    }

    /// The best waiting caller's key and slot.
    pub fn best(&self) -> Option<(WaitKey, u32)> {
        self.best
    }

    /// Adds the caller in `slot` with `key`; `gen` is its waiting
    /// generation from now until it leaves.
    pub fn insert(&mut self, key: WaitKey, slot: u32, gen: u32) {
        let p = key.0 .0 as usize;
        let seq = key.1;
        let fifo = &mut self.fifos[p];
        match (fifo.front(), fifo.back()) {
            (_, None) => fifo.push_back((seq, slot, gen)),
            (_, Some(back)) if back.0 < seq => fifo.push_back((seq, slot, gen)),
            (Some(front), _) if seq < front.0 => fifo.push_front((seq, slot, gen)),
            _ => {
                self.spill.insert((key, slot));
            }
        }
        if !self.fifos[p].is_empty() {
            self.nonempty |= 1 << p;
        }
        self.len += 1;
        // Only a better caller changes the best.
        if self.best.is_none_or(|b| (key, slot) < b) {
            self.best = Some((key, slot));
        }
    }

    /// Removes the caller in `slot` with `key`. `gens` are the waiting
    /// generations by slot, the caller's already bumped past its entry.
    pub fn remove(&mut self, key: WaitKey, slot: u32, gens: &[u32]) {
        if self.spill.is_empty() || !self.spill.remove(&(key, slot)) {
            let p = key.0 .0 as usize;
            let fifo = &mut self.fifos[p];
            match fifo.front() {
                Some(&(seq, s, _)) if seq == key.1 && s == slot => {
                    fifo.pop_front();
                    // Keep the front live.
                    while let Some(&(_, s, g)) = fifo.front() {
                        if gens[s as usize] == g {
                            break;
                        }
                        fifo.pop_front();
                        self.stale -= 1;
                    }
                    if fifo.is_empty() {
                        self.nonempty &= !(1 << p);
                    }
                }
                Some(_) => self.stale += 1,
                // Not here: nothing to undo.
                None => return,
            }
        }
        self.len -= 1;
        if self.stale > self.len + 64 {
            self.sweep(gens);
        }
        if self.best == Some((key, slot)) {
            self.update_best();
        }
    }

    /// Drops every stale entry (O(entries), paid for by as many removals).
    fn sweep(&mut self, gens: &[u32]) {
        for fifo in &mut self.fifos {
            fifo.retain(|&(_, s, g)| gens[s as usize] == g);
        }
        self.stale = 0;
    }

    /// The slots of every live caller, in no particular order.
    pub fn slots<'a>(&'a self, gens: &'a [u32]) -> impl Iterator<Item = u32> + 'a {
        self.fifos
            .iter()
            .flatten()
            .filter(|&&(_, s, g)| gens[s as usize] == g)
            .map(|&(_, s, _)| s)
            .chain(self.spill.iter().map(|&(_, s)| s))
    }

    fn update_best(&mut self) {
        let fifo = (self.nonempty != 0).then(|| {
            let p = 15 - self.nonempty.leading_zeros() as usize;
            let &(seq, slot, _) = self.fifos[p].front().expect("non-empty bit");
            ((std::cmp::Reverse(p as u8), seq), slot)
        });
        let spill = self.spill.first().copied();
        self.best = match (fifo, spill) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::cmp::Reverse;
    use std::collections::BTreeMap;

    proptest! {
        /// Agrees with an ordered map through joins in arrival order,
        /// removals anywhere, and re-insertions of old keys.
        #[test]
        fn best_first_like_an_ordered_map(ops in proptest::collection::vec((0u8..4, any::<u16>(), 0u8..3), 1..400)) {
            let mut w = Waiting::default();
            let mut model: BTreeMap<WaitKey, u32> = BTreeMap::new();
            let mut gone: Vec<(WaitKey, u32)> = Vec::new();
            let mut gens = vec![0u32; 1024];
            let mut seq = 0u64;
            let mut next_slot = 0u32;
            for (op, pick, prio) in ops {
                match op {
                    0 | 1 => {
                        seq += 1;
                        let key = (Reverse(prio), seq);
                        let slot = next_slot % 1024;
                        next_slot += 1;
                        if model.values().any(|&s| s == slot) { continue; }
                        gens[slot as usize] += 1;
                        w.insert(key, slot, gens[slot as usize]);
                        model.insert(key, slot);
                    }
                    2 if !model.is_empty() => {
                        let (&key, &slot) = model.iter().nth(pick as usize % model.len()).unwrap();
                        model.remove(&key);
                        gens[slot as usize] += 1;
                        w.remove(key, slot, &gens);
                        gone.push((key, slot));
                    }
                    _ if !gone.is_empty() => {
                        // Back after a failed offer, with its old key.
                        let (key, slot) = gone.swap_remove(pick as usize % gone.len());
                        if model.values().any(|&s| s == slot) { continue; }
                        gens[slot as usize] += 1;
                        w.insert(key, slot, gens[slot as usize]);
                        model.insert(key, slot);
                    }
                    _ => {}
                }
                prop_assert_eq!(w.len(), model.len());
                prop_assert_eq!(w.best(), model.iter().next().map(|(&k, &s)| (k, s)));
                let mut live: Vec<u32> = w.slots(&gens).collect();
                live.sort_unstable();
                let mut want: Vec<u32> = model.values().copied().collect();
                want.sort_unstable();
                prop_assert_eq!(live, want);
            }
        }
    }
}
