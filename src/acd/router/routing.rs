//! Classes and routing: matching waiting callers with free agents.

use super::*;

impl Router {
    pub(super) fn skill(&mut self, lang: bool, name: &str) -> SkillId {
        let next = (self.skill_ix.len() + self.lang_ix.len()) as SkillId;
        let map = if lang {
            &mut self.lang_ix
        } else {
            &mut self.skill_ix
        };
        // Looked up on every join: no allocation for a known, lower-case name.
        let name = if name.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(name.to_ascii_lowercase())
        } else {
            Cow::Borrowed(name)
        };
        if let Some(&id) = map.get(&*name) {
            return id;
        }
        self.names.push(name.to_string());
        map.insert(CompactString::from(name), next);
        next
    }

    /// The group (chain of classes by widening stage) for callers of queue
    /// `q` with this language and these extra skills; built on first use
    /// with one pass over the agents.
    pub(super) fn group_for(&mut self, q: QueueIdx, lang: SkillId, extra: &[String]) -> GroupIdx {
        if extra.is_empty() {
            if let Some(&g) = self.plain_group_ix.get(&(q, lang)) {
                return g;
            }
            let g = self.group_by_ids(q, lang, Vec::new());
            self.plain_group_ix.insert((q, lang), g);
            return g;
        }
        let mut extras: Vec<SkillId> = extra.iter().map(|s| self.skill(false, s)).collect();
        extras.sort_unstable();
        extras.dedup();
        self.group_by_ids(q, lang, extras)
    }

    /// `group_for` by ids: the existing group, or a new one.
    fn group_by_ids(&mut self, q: QueueIdx, lang: SkillId, extras: Vec<SkillId>) -> GroupIdx {
        let lang = (lang != NO_LANGUAGE).then_some(lang);
        let key = (q, lang, extras);
        if let Some(&g) = self.group_ix.get(&key) {
            return g;
        }
        let g = self.groups.len() as GroupIdx;
        let queue = &self.queues[q as usize];
        let mut levels: BTreeMap<SkillId, u8> = queue.base.clone();
        for &s in &key.2 {
            levels.entry(s).or_insert(1);
        }
        let mut with_lang = lang.is_some();
        let mut stages = vec![(levels.clone(), with_lang)];
        for step in &queue.steps {
            for &(s, l) in &step.skills {
                if l == 0 {
                    levels.remove(&s);
                } else if let Some(cur) = levels.get_mut(&s) {
                    // Only relax: a step never raises a requirement.
                    *cur = (*cur).min(l);
                }
            }
            with_lang &= !step.any_language;
            stages.push((levels.clone(), with_lang));
        }
        let strategy = queue.cfg.strategy;
        let preferred = queue.preferred.clone();
        let mut classes = Vec::new();
        for (levels, with_lang) in stages {
            let mut req: Vec<(SkillId, u8)> = levels.into_iter().collect();
            if let (true, Some(l)) = (with_lang, lang) {
                req.push((l, 1));
            }
            let cl = self.classes.len() as ClassIdx;
            let mut class = Class {
                group: g,
                queue: q,
                strategy,
                req,
                preferred: preferred.clone(),
                staffed: 0,
                avail: BTreeSet::new(),
                waiting: Waiting::default(),
            };
            for (i, agent) in self.agents.iter_mut().enumerate() {
                if class.req.iter().all(|&(s, l)| agent.level(s) >= l) {
                    agent.classes.push(cl);
                    if agent.staffs() {
                        class.staffed += 1;
                    }
                    // An unsorted agent joins this set with its others.
                    if agent.state == AgentState::Available && !agent.unsorted {
                        class
                            .avail
                            .insert(rank(self.epoch, agent, i as AgentIdx, &class));
                    }
                }
            }
            self.classes.push(class);
            classes.push(cl);
        }
        self.groups.push(Group { classes });
        self.group_ix.insert(key, g);
        g
    }

    /// Runs queued routing work until nothing is left: callers that became
    /// routable, agents that became free, classes left without staff.
    pub(super) fn settle(&mut self, now: Instant) -> Result<(), RouterError> {
        // Stranded callers move first, so that in their new queue they
        // compete for the agents this same event freed.
        loop {
            if let Some(cl) = self.emptied.pop() {
                self.strand_check(now, cl)?;
            } else if let Some((slot, call)) = self.dirty_callers.pop_front() {
                self.route_caller(now, slot, call)?;
            } else if let Some(a) = self.dirty_agents.pop_front() {
                self.route_agent(now, a)?;
            } else {
                return Ok(());
            }
        }
    }

    /// Nobody can serve the callers of this widest class any more: callers on
    /// the line go to `when_empty`; callback places are kept.
    pub(super) fn strand_check(&mut self, now: Instant, cl: ClassIdx) -> Result<(), RouterError> {
        if self.classes[cl as usize].staffed > 0 {
            return Ok(());
        }
        let group = self.classes[cl as usize].group;
        let q = self.classes[cl as usize].queue;
        let mut gone = Vec::new();
        for &c in &self.groups[group as usize].classes {
            let gens = self.callers.wait_gens();
            for slot in self.classes[c as usize].waiting.slots(gens) {
                if let Some(x) = self.callers.at(slot) {
                    if x.callback.is_none() {
                        gone.push((slot, x.call));
                    }
                }
            }
        }
        let target = self.queues[q as usize].when_empty.clone();
        for (slot, call) in gone {
            // An earlier overflow may have reused the slot.
            if self.callers.at_call(slot, call).is_some() {
                self.overflow(now, slot, target.clone(), OverflowReason::Empty)?;
            }
        }
        Ok(())
    }

    /// The best free agent for a waiting caller, by its queue's strategy,
    /// avoiding agents that just failed it when anyone else is free.
    pub(super) fn candidate(&self, c: &Caller) -> Option<AgentIdx> {
        let class = &self.classes[c.class as usize];
        // The class's free agents are its free set plus the eligible ones
        // of `unsorted` (rarely more than one or two, usually none).
        let mut extra: Vec<RankKey> = self
            .unsorted
            .iter()
            .filter(|&&a| self.agents[a as usize].classes.contains(&c.class))
            .map(|&a| rank(self.epoch, &self.agents[a as usize], a, class))
            .collect();
        if extra.is_empty() && class.avail.is_empty() {
            // Every eligible agent is busy: the usual case with a queue.
            return None;
        }
        extra.sort_unstable();
        // The first free agent from `lo` on (all when `None`) that `pred`
        // accepts, in the class's order.
        let first = |lo: Option<RankKey>, pred: &dyn Fn(&RankKey) -> bool| {
            let from = lo.map_or(Bound::Unbounded, Bound::Included);
            let set = class
                .avail
                .range((from, Bound::Unbounded))
                .find(|k| pred(k));
            let more = extra
                .iter()
                .filter(|k| lo.is_none_or(|lo| **k >= lo))
                .find(|k| pred(k));
            match (set, more) {
                (Some(a), Some(b)) => Some(*a.min(b)),
                (a, b) => a.or(b).copied(),
            }
        };
        let tried = c.tried();
        let ok = |k: &RankKey| !tried.contains(&k.2);
        let pick = match class.strategy {
            Strategy::RoundRobin => {
                let q = &self.queues[c.queue as usize];
                let from = q.rr_last.map_or(0, |l| l + 1);
                first(Some((0, self.epoch, from)), &ok).or_else(|| first(None, &ok))
            }
            _ => first(None, &ok),
        };
        pick.or_else(|| first(None, &|_| true)).map(|k| k.2)
    }

    /// The waiting caller agent `a` should take: highest priority, then
    /// earliest arrival, over every class it can serve.
    /// Returns the caller's slot.
    pub(super) fn best_waiting(&self, a: AgentIdx) -> Option<u32> {
        self.agents[a as usize]
            .classes
            .iter()
            .filter_map(|&cl| self.classes[cl as usize].waiting.best())
            .min()
            .map(|(_, slot)| slot)
    }

    /// Puts the caller in `slot` (with `key`) into class `cl`'s waiting set.
    pub(super) fn wait_insert(&mut self, cl: ClassIdx, key: WaitKey, slot: u32) {
        let gen = self.callers.bump_wait(slot);
        self.classes[cl as usize].waiting.insert(key, slot, gen);
    }

    /// Takes the caller in `slot` (with `key`) out of class `cl`'s waiting set.
    pub(super) fn wait_remove(&mut self, cl: ClassIdx, key: WaitKey, slot: u32) {
        self.callers.bump_wait(slot);
        let gens = self.callers.wait_gens();
        self.classes[cl as usize].waiting.remove(key, slot, gens);
    }

    pub(super) fn route_caller(
        &mut self,
        now: Instant,
        slot: u32,
        call: CallId,
    ) -> Result<(), RouterError> {
        // Every pass offers one free agent, so this ends; the bound is a
        // second guarantee. Offers remove no caller, so `slot` stays `call`'s.
        for _ in 0..=self.agents.len() {
            let Some(c) = self.callers.at_call(slot, call) else {
                return Ok(());
            };
            if c.state != CState::Waiting {
                break;
            }
            let Some(a) = self.candidate(c) else {
                break;
            };
            // Someone ahead (higher priority or earlier, in any class this
            // agent serves) gets the agent first; then try again.
            let chosen = self.best_waiting(a).unwrap_or(slot);
            self.offer_from(now, chosen, a)?;
            if chosen == slot {
                break;
            }
        }
        if let Some(x) = self.callers.at_mut(slot).and_then(|c| c.cold.as_mut()) {
            x.tried.clear();
        }
        Ok(())
    }

    pub(super) fn route_agent(&mut self, now: Instant, a: AgentIdx) -> Result<(), RouterError> {
        if self.agents[a as usize].state != AgentState::Available {
            return Ok(());
        }
        if let Some(slot) = self.best_waiting(a) {
            self.offer_from(now, slot, a)?;
        }
        Ok(())
    }

    /// Offers `call` to `a` — or, for ring-all, to every free agent of its
    /// class (`a` among them); a callback reserves `a` alone.
    pub(super) fn offer_from(
        &mut self,
        now: Instant,
        slot: u32,
        a: AgentIdx,
    ) -> Result<(), RouterError> {
        let Some(c) = self.callers.at(slot) else {
            return Ok(());
        };
        if self.classes[c.class as usize].strategy == Strategy::RingAll && c.callback.is_none() {
            let cl = c.class;
            self.sort_free_for(cl);
        }
        let Some(c) = self.callers.at(slot) else {
            return Ok(());
        };
        let class = &self.classes[c.class as usize];
        let agents = if class.strategy == Strategy::RingAll && c.callback.is_none() {
            // Every free agent of the class, except those someone ahead of
            // this caller (in another class) should get; `a` always rings.
            class
                .avail
                .iter()
                .map(|k| k.2)
                .filter(|&x| x == a || self.best_waiting(x).is_none_or(|w| w == slot))
                .collect()
        } else {
            vec![a]
        };
        self.offer(now, slot, agents)
    }

    pub(super) fn offer(
        &mut self,
        now: Instant,
        slot: u32,
        agents: Vec<AgentIdx>,
    ) -> Result<(), RouterError> {
        let Some(c) = self.callers.at(slot) else {
            return Ok(());
        };
        let call = c.call;
        let Some(&first) = agents.first() else {
            return Ok(());
        };
        let (class, key, qi) = (c.class, c.key(), c.queue);
        let number = c.callback.as_ref().map(|cb| cb.number.clone());
        self.wait_remove(class, key, slot);
        let q = &mut self.queues[qi as usize];
        q.rr_last = agents.last().copied();
        let qname = q.name.clone();
        let ring = q.cfg.ring_timeout.max(MIN_PERIOD);
        let dial = q
            .cfg
            .callback
            .as_ref()
            .map_or(Duration::from_secs(30), |x| x.timeout)
            .max(MIN_PERIOD);
        if let Some(number) = number {
            if let Some(c) = self.callers.at_mut(slot) {
                c.state = CState::Dialing(first);
            }
            self.set_timer_at(slot, T_DEADLINE, Some(after(now, dial)));
            let offered = AgentState::Offered {
                call,
                direct: false,
            };
            self.set_state(first, offered)?;
            self.out.push_back(Output::StartCallback {
                call,
                number,
                agent: self.agents[first as usize].ext.clone(),
            });
        } else {
            // (Still waiting here: the ring timeout's lane.)
            self.set_timer_at(slot, T_DEADLINE, Some(after(now, ring)));
            for &x in &agents {
                let offered = AgentState::Offered {
                    call,
                    direct: false,
                };
                self.set_state(x, offered)?;
            }
            let exts = agents
                .iter()
                .map(|&x| self.agents[x as usize].ext.clone())
                .collect();
            if let Some(c) = self.callers.at_mut(slot) {
                c.state = CState::Offered(agents);
            }
            self.out.push_back(Output::Offer {
                call,
                queue: qname,
                agents: exts,
                ring_timeout: ring,
            });
        }
        Ok(())
    }
}
