//! Compilation: the raw YAML model checked and turned into a [`Flow`], each
//! problem with its file:line:column.

use super::*;

pub(super) struct Compiler<'a> {
    pub(super) path: &'a Path,
    pub(super) text: &'a str,
    pub(super) problems: Vec<Problem>,
}

impl Compiler<'_> {
    /// A problem with the value at `path`.
    fn err_v(&mut self, path: &[Step], message: impl Into<String>) {
        let (line, column) = locate_value(self.text, path);
        self.problems.push(Problem {
            file: self.path.to_path_buf(),
            line,
            column,
            message: message.into(),
        });
    }

    fn err(&mut self, path: &[Step], message: impl Into<String>) {
        let (line, column) = locate(self.text, path);
        self.problems.push(Problem {
            file: self.path.to_path_buf(),
            line,
            column,
            message: message.into(),
        });
    }

    pub(super) fn flow(&mut self, name: String, raw: RawFlow) -> Flow {
        let flow_zone = raw.timezone.as_ref().and_then(|z| match schedule::zone(z) {
            Ok(tz) => Some((z.clone(), tz)),
            Err(m) => {
                self.err_v(&[Step::from("timezone")], m);
                None
            }
        });
        let mut nodes = Vec::new();
        let mut index = HashMap::new();
        if raw.nodes.0.is_empty() {
            self.err(&[Step::from("nodes")], "a flow needs at least one node");
        }
        for (n, rn) in raw.nodes.0 {
            let at = vec![Step::from("nodes"), Step::from(n.as_str())];
            if !valid_name(&n) {
                self.err(
                    &at,
                    format!("node name `{n}` may only use letters, digits, `_` and `-`"),
                );
            } else if n == BACK {
                self.err(
                    &at,
                    "`back` is reserved (it means the previous menu); rename this node",
                );
            }
            // A node with no or two actions stays in the graph as a hangup,
            // so references to it are not reported as missing.
            let action = self
                .action(&n, rn.clone(), flow_zone.as_ref())
                .unwrap_or(Action::Hangup);
            index.insert(n.clone(), nodes.len());
            nodes.push(Node {
                name: n,
                action,
                next: rn.next.as_deref().map(Target::parse),
            });
        }
        let start = match raw.start {
            Some(s) => s,
            None => nodes.first().map(|n| n.name.clone()).unwrap_or_default(),
        };
        Flow {
            name,
            path: self.path.to_path_buf(),
            text: self.text.to_string(),
            description: raw.description,
            start,
            nodes,
            index,
        }
    }

    fn zone_for(
        &mut self,
        explicit: Option<&String>,
        at: &[Step],
        flow_zone: Option<&(String, jiff::tz::TimeZone)>,
    ) -> Option<(String, jiff::tz::TimeZone)> {
        match explicit {
            Some(z) => match schedule::zone(z) {
                Ok(tz) => Some((z.clone(), tz)),
                Err(m) => {
                    self.err_v(at, m);
                    None
                }
            },
            None => flow_zone.cloned(),
        }
    }

    fn pattern(&mut self, p: &str, at: &[Step]) -> Option<DigitPattern> {
        match DigitPattern::parse(p) {
            Ok(p) => Some(p),
            Err(e) => {
                self.err_v(at, format!("bad pattern `{p}`: {e}"));
                None
            }
        }
    }

    fn action(
        &mut self,
        n: &str,
        rn: RawNode,
        flow_zone: Option<&(String, jiff::tz::TimeZone)>,
    ) -> Option<Action> {
        let node_at = [Step::from("nodes"), Step::from(n)];
        let at = |k: &str, rest: &[&str]| -> Vec<Step> {
            let mut p = vec![Step::from("nodes"), Step::from(n), Step::from(k)];
            p.extend(rest.iter().map(|s| Step::from(*s)));
            p
        };
        let given: Vec<&str> = [
            ("play", rn.play.is_some()),
            ("say", rn.say.is_some()),
            ("menu", rn.menu.is_some()),
            ("collect", rn.collect.is_some()),
            ("set", rn.set.is_some()),
            ("branch", rn.branch.is_some()),
            ("hours", rn.hours.is_some()),
            ("language", rn.language.is_some()),
            ("lookup", rn.lookup.is_some()),
            ("queue", rn.queue.is_some()),
            ("transfer", rn.transfer.is_some()),
            ("voicemail", rn.voicemail.is_some()),
            ("hangup", rn.hangup.is_some()),
            ("goto", rn.goto.is_some()),
        ]
        .into_iter()
        .filter(|(_, g)| *g)
        .map(|(k, _)| k)
        .collect();
        match given.as_slice() {
            [] => {
                self.err(
                    &node_at,
                    format!("node `{n}` has no action (give it one of play, say, menu, collect, set, branch, hours, language, lookup, queue, transfer, voicemail, hangup, goto)"),
                );
                return None;
            }
            [_] => {}
            [_, second, ..] => {
                self.err(
                    &at(second, &[]),
                    format!(
                        "node `{n}` has both `{}` and `{second}`: one action per node (chain nodes with `next`)",
                        given[0]
                    ),
                );
                return None;
            }
        }
        let action = if let Some(RawPlay(p)) = rn.play {
            if p.prompts.0.is_empty() {
                self.err(&at("play", &[]), "`play` needs at least one prompt");
            }
            Action::Play(Play {
                prompts: p.prompts.0,
                barge_in: p.barge_in.unwrap_or(true),
            })
        } else if let Some(RawSay(s)) = rn.say {
            if !valid_name(&s.var) {
                self.err(
                    &at("say", &[]),
                    format!("`{}` is not a variable name", s.var),
                );
            }
            Action::Say(Say {
                var: s.var,
                as_: s.as_.unwrap_or(SayAs::Number),
                barge_in: s.barge_in.unwrap_or(true),
            })
        } else if let Some(m) = rn.menu {
            self.menu(n, m)
        } else if let Some(c) = rn.collect {
            self.collect(n, c)
        } else if let Some(set) = rn.set {
            for (k, _) in &set.0 {
                if !valid_name(k) {
                    self.err(&at("set", &[k]), format!("`{k}` is not a variable name"));
                } else if BUILTIN_VARS.contains(&k.as_str()) {
                    self.err(
                        &at("set", &[k]),
                        format!("`{k}` is set by the call itself and cannot be changed"),
                    );
                }
            }
            Action::Set(set.0.into_iter().map(|(k, v)| (k, v.0)).collect())
        } else if let Some(b) = rn.branch {
            self.branch(n, b, flow_zone)
        } else if let Some(h) = rn.hours {
            let zone = match &h.zone {
                Some(_) => self.zone_for(h.zone.as_ref(), &at("hours", &["zone"]), flow_zone),
                None => {
                    if flow_zone.is_none() {
                        self.err(
                            &at("hours", &[]),
                            "`hours` needs a time zone: add `zone:` here or `timezone:` at the top of the flow",
                        );
                    }
                    flow_zone.cloned()
                }
            };
            let mut weekly = Vec::new();
            for (days, ranges) in &h.weekly.0 {
                let days_p = match Days::parse(days) {
                    Ok(d) => d,
                    Err(m) => {
                        self.err(&at("hours", &["weekly", days]), m);
                        continue;
                    }
                };
                let mut rs = Vec::new();
                for r in &ranges.0 {
                    if r.eq_ignore_ascii_case("closed") {
                        continue;
                    }
                    match TimeRange::parse(r) {
                        Ok(r) => rs.push(r),
                        Err(m) => self.err_v(&at("hours", &["weekly", days]), m),
                    }
                }
                weekly.push((days_p, rs));
            }
            let mut closed_dates = Vec::new();
            for (i, d) in h.closed_dates.iter().enumerate() {
                match ClosedDate::parse(&d.0) {
                    Ok(c) => closed_dates.push(c),
                    Err(m) => {
                        let mut p = at("hours", &["closed_dates"]);
                        p.push(Step::Index(i));
                        self.err(&p, m);
                    }
                }
            }
            let (zone_name, zone) =
                zone.unwrap_or_else(|| ("UTC".to_string(), jiff::tz::TimeZone::UTC));
            Action::Hours(Hours {
                schedule: Schedule {
                    zone_name,
                    zone,
                    weekly,
                    closed_dates,
                },
                open: Target::parse(&h.open),
                closed: Target::parse(&h.closed),
            })
        } else if let Some(l) = rn.language {
            Action::Language(l)
        } else if let Some(l) = rn.lookup {
            if !(l.url.starts_with("http://") || l.url.starts_with("https://")) {
                self.err_v(
                    &at("lookup", &["url"]),
                    format!("lookup url `{}` must start with http:// or https://", l.url),
                );
            }
            let method = l.method.unwrap_or(Method::Get);
            if l.body.is_some() && method == Method::Get {
                self.err(&at("lookup", &["body"]), "a `body` needs `method: POST`");
            }
            for (var, _) in &l.fields.0 {
                if !valid_name(var) {
                    self.err(
                        &at("lookup", &["fields", var]),
                        format!("`{var}` is not a variable name"),
                    );
                }
            }
            Action::Lookup(Lookup {
                url: l.url,
                method,
                body: l.body,
                timeout: l.timeout.unwrap_or(DEFAULT_LOOKUP_TIMEOUT),
                fields: l.fields.0,
                on_error: l.on_error.as_deref().map(Target::parse),
            })
        } else if let Some(RawQueue(q)) = rn.queue {
            let priority = q.priority.unwrap_or(0);
            if priority > 10 {
                self.err(
                    &at("queue", &["priority"]),
                    "queue priority must be 0 to 10",
                );
            }
            Action::Queue(Queue {
                name: q.name,
                priority,
                skills: q.skills,
            })
        } else if let Some(t) = rn.transfer {
            if !(1..=20).contains(&t.0.len()) || !t.0.bytes().all(|b| b.is_ascii_digit()) {
                self.err(
                    &at("transfer", &[]),
                    format!("transfer target `{}` must be an extension (digits)", t.0),
                );
            }
            Action::Transfer(t.0)
        } else if let Some(RawVoicemail(v)) = rn.voicemail {
            if !valid_name(&v.box_name) {
                self.err(
                    &at("voicemail", &[]),
                    format!(
                        "mailbox name `{}` may only use letters, digits, `_` and `-`",
                        v.box_name
                    ),
                );
            }
            Action::Voicemail(Voicemail {
                box_name: v.box_name,
                greeting: v.greeting.map(|g| g.0).unwrap_or_default(),
                beep: if v.beep.unwrap_or(true) {
                    vec![BEEP.to_string()]
                } else {
                    Vec::new()
                },
                max_length: v.max_length.unwrap_or(DEFAULT_VM_MAX),
                silence: v.silence.unwrap_or(DEFAULT_VM_SILENCE),
            })
        } else if let Some(h) = rn.hangup {
            if !h {
                self.err(
                    &at("hangup", &[]),
                    "write `hangup: true` (or remove the node)",
                );
            }
            Action::Hangup
        } else if let Some(RawGoto(g)) = rn.goto {
            if g.flow.is_none() && g.node.is_none() {
                self.err(&at("goto", &[]), "`goto` needs a `node` or a `flow`");
            }
            Action::Goto(Goto {
                flow: g.flow,
                node: g.node,
            })
        } else {
            return None;
        };
        if let (Some(_), true) = (&rn.next, action.is_terminal()) {
            let why = match &action {
                Action::Menu(_) => "a menu leaves through its options and `on_failure`",
                Action::Hours(_) => "`hours` leaves through `open` and `closed`",
                _ => "the call leaves the flow here",
            };
            self.err(
                &at("next", &[]),
                format!("`next` has no effect after `{}`: {why}", action.kind()),
            );
        }
        Some(action)
    }

    fn retry_prompts(
        invalid: Option<PromptList>,
        timeout: Option<PromptList>,
    ) -> (Vec<String>, Vec<String>) {
        (
            invalid.map_or_else(|| vec![DEFAULT_INVALID_PROMPT.into()], |p| p.0),
            timeout.map_or_else(|| vec![DEFAULT_TIMEOUT_PROMPT.into()], |p| p.0),
        )
    }

    fn menu(&mut self, n: &str, m: RawMenu) -> Action {
        let at = |rest: &[&str]| -> Vec<Step> {
            let mut p = vec![Step::from("nodes"), Step::from(n), Step::from("menu")];
            p.extend(rest.iter().map(|s| Step::from(*s)));
            p
        };
        if m.options.0.is_empty() {
            self.err(&at(&["options"]), "a menu needs at least one option");
        }
        let mut options = Vec::new();
        for (key, RawOption(o)) in m.options.0 {
            if key.is_empty()
                || !key
                    .chars()
                    .all(|c| c.is_ascii_digit() || c == '*' || c == '#')
            {
                self.err(
                    &at(&["options", &key]),
                    format!("option key `{key}` must be keypad keys (0-9, \"*\", \"#\")"),
                );
            }
            for (v, _) in &o.set.0 {
                if !valid_name(v) || BUILTIN_VARS.contains(&v.as_str()) {
                    self.err(
                        &at(&["options", &key, "set", v]),
                        format!("`{v}` cannot be set here"),
                    );
                }
            }
            options.push(MenuOption {
                key,
                to: Target::parse(&o.to),
                language: o.language,
                set: o.set.0.into_iter().map(|(k, v)| (k, v.0)).collect(),
            });
        }
        // A key that is also the start of a longer key is resolved by the
        // inter-digit timeout; keep that, but a key equal to another is a typo.
        let (invalid_prompt, timeout_prompt) =
            Self::retry_prompts(m.invalid_prompt, m.timeout_prompt);
        if m.prompt.0.is_empty() {
            self.err(&at(&[]), "a menu needs a `prompt`");
        }
        Action::Menu(Menu {
            prompt: m.prompt.0,
            short_prompt: m.short_prompt.map(|p| p.0),
            options,
            timeout: m.timeout.unwrap_or(DEFAULT_TIMEOUT),
            inter_digit_timeout: m.inter_digit_timeout.unwrap_or(DEFAULT_MENU_INTER_DIGIT),
            retries: m.retries.unwrap_or(DEFAULT_RETRIES),
            invalid_prompt,
            timeout_prompt,
            on_failure: m.on_failure.as_deref().map(Target::parse),
            barge_in: m.barge_in.unwrap_or(true),
        })
    }

    fn collect(&mut self, n: &str, c: RawCollect) -> Action {
        let at = |rest: &[&str]| -> Vec<Step> {
            let mut p = vec![Step::from("nodes"), Step::from(n), Step::from("collect")];
            p.extend(rest.iter().map(|s| Step::from(*s)));
            p
        };
        if !valid_name(&c.into) {
            self.err(
                &at(&["into"]),
                format!("`{}` is not a variable name", c.into),
            );
        } else if BUILTIN_VARS.contains(&c.into.as_str()) {
            self.err(
                &at(&["into"]),
                format!("`{}` is set by the call itself", c.into),
            );
        }
        let min = c.min.unwrap_or(1);
        let max = c.max.unwrap_or(20);
        if max == 0 || min > max {
            self.err(
                &at(&["min"]),
                format!(
                    "digit lengths must satisfy min <= max and max >= 1 (min {min}, max {max})"
                ),
            );
        }
        let terminator = match c.terminator.as_deref() {
            None => Some('#'),
            Some("none") => None,
            Some(t) if t == "#" || t == "*" => t.chars().next(),
            Some(t) => {
                self.err(
                    &at(&["terminator"]),
                    format!("terminator `{t}` must be \"#\", \"*\" or none"),
                );
                None
            }
        };
        let pattern = c
            .pattern
            .as_deref()
            .and_then(|p| self.pattern(p, &at(&["pattern"])));
        let (invalid_prompt, timeout_prompt) =
            Self::retry_prompts(c.invalid_prompt, c.timeout_prompt);
        Action::Collect(Collect {
            prompt: c.prompt.0,
            into: c.into,
            min,
            max,
            terminator,
            timeout: c.timeout.unwrap_or(DEFAULT_TIMEOUT),
            inter_digit_timeout: c.inter_digit_timeout.unwrap_or(DEFAULT_COLLECT_INTER_DIGIT),
            pattern,
            retries: c.retries.unwrap_or(DEFAULT_RETRIES),
            invalid_prompt,
            timeout_prompt,
            on_failure: c.on_failure.as_deref().map(Target::parse),
            sensitive: c.sensitive,
            barge_in: c.barge_in.unwrap_or(true),
        })
    }

    fn branch(
        &mut self,
        n: &str,
        b: RawBranch,
        flow_zone: Option<&(String, jiff::tz::TimeZone)>,
    ) -> Action {
        let mut rules = Vec::new();
        if b.when.is_empty() {
            self.err(
                &[Step::from("nodes"), Step::from(n), Step::from("branch")],
                "`branch` needs at least one rule under `when`",
            );
        }
        for (i, r) in b.when.into_iter().enumerate() {
            let at = |k: &str| -> Vec<Step> {
                vec![
                    Step::from("nodes"),
                    Step::from(n),
                    Step::from("branch"),
                    Step::from("when"),
                    Step::Index(i),
                    Step::from(k),
                ]
            };
            let mut tests = Vec::new();
            let var_tests = [
                ("equals", r.equals.is_some()),
                ("not_equals", r.not_equals.is_some()),
                ("in", r.in_.is_some()),
                ("matches", r.matches.is_some()),
                ("empty", r.empty.is_some()),
                ("above", r.above.is_some()),
                ("below", r.below.is_some()),
            ];
            match &r.var {
                Some(v) => {
                    if !valid_name(v) {
                        self.err(&at("var"), format!("`{v}` is not a variable name"));
                    }
                    if !var_tests.iter().any(|(_, g)| *g) {
                        self.err(&at("var"), format!("a rule on `{v}` needs a test: equals, not_equals, in, matches, empty, above or below"));
                    }
                }
                None => {
                    if let Some((k, _)) = var_tests.iter().find(|(_, g)| *g) {
                        self.err(
                            &at(k),
                            format!("`{k}` needs `var:` to say which variable it tests"),
                        );
                    }
                }
            }
            let v = r.var.clone().unwrap_or_default();
            if let Some(x) = r.equals {
                tests.push(Test::Equals(v.clone(), x.0));
            }
            if let Some(x) = r.not_equals {
                tests.push(Test::NotEquals(v.clone(), x.0));
            }
            if let Some(x) = r.in_ {
                tests.push(Test::In(v.clone(), x.into_iter().map(|s| s.0).collect()));
            }
            if let Some(p) = r
                .matches
                .as_deref()
                .and_then(|p| self.pattern(p, &at("matches")))
            {
                tests.push(Test::Matches(v.clone(), p));
            }
            if let Some(e) = r.empty {
                tests.push(Test::Empty(v.clone(), e));
            }
            if let Some(x) = r.above {
                tests.push(Test::Above(v.clone(), x));
            }
            if let Some(x) = r.below {
                tests.push(Test::Below(v.clone(), x));
            }
            if let Some(p) = r
                .caller
                .as_deref()
                .and_then(|p| self.pattern(p, &at("caller")))
            {
                tests.push(Test::Caller(p));
            }
            if let Some(p) = r
                .dialed
                .as_deref()
                .and_then(|p| self.pattern(p, &at("dialed")))
            {
                tests.push(Test::Dialed(p));
            }
            if r.time.is_some() || r.days.is_some() {
                let zone = self.zone_for(r.zone.as_ref(), &at("zone"), flow_zone);
                if zone.is_none() && r.zone.is_none() {
                    self.err(&at(if r.time.is_some() { "time" } else { "days" }), "time conditions need a time zone: add `zone:` to the rule or `timezone:` at the top of the flow");
                }
                let tz = zone.map(|z| z.1).unwrap_or(jiff::tz::TimeZone::UTC);
                if let Some(t) = &r.time {
                    match TimeRange::parse(t) {
                        Ok(tr) => tests.push(Test::Time(tr, tz.clone())),
                        Err(m) => self.err_v(&at("time"), m),
                    }
                }
                if let Some(d) = &r.days {
                    match Days::parse(d) {
                        Ok(d) => tests.push(Test::Days(d, tz)),
                        Err(m) => self.err_v(&at("days"), m),
                    }
                }
            } else if r.zone.is_some() {
                self.err(&at("zone"), "`zone` only applies with `time` or `days`");
            }
            if tests.is_empty() && r.var.is_none() {
                self.err(
                    &at("to"),
                    "this rule tests nothing (use `else:` for the fallback)",
                );
            }
            rules.push(Rule {
                tests,
                to: Target::parse(&r.to),
            });
        }
        Action::Branch(Branch {
            rules,
            else_: b.else_.as_deref().map(Target::parse),
        })
    }
}
