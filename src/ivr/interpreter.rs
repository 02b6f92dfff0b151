//! The IVR interpreter: a sans-IO state machine in the style of str0m.
//!
//! The shell feeds [`IvrInput`]s with the current `Instant`, drains
//! [`IvrAction`]s with [`Session::poll_action`], and calls back with
//! [`IvrInput::Timeout`] at [`Session::poll_timeout`]. The session never reads
//! a clock and does no I/O, so the same code runs live, in `simulate`, and in
//! tests with virtual time.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::flow::{Action, Flow, FlowSet, Method, Node, Target, Test};
use super::say;
use super::schedule;

/// What the session knows about the call when it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallContext {
    /// Calling number (From user part).
    pub caller: String,
    /// Dialled number (Request-URI user part).
    pub dialed: String,
    /// Prompt language until the flow changes it.
    pub language: String,
    /// Wall-clock time at `now` of [`Session::new`], for `hours` and time
    /// conditions; later wall times are derived from `Instant`s.
    pub wall_time_unix_ms: i64,
}

/// Events from the shell.
#[derive(Debug, Clone, PartialEq)]
pub enum IvrInput {
    /// Run the flow from its start node.
    Start,
    /// The playback `play` ended (`interrupted` after a [`IvrAction::StopPlay`]).
    PlayFinished { play: u64, interrupted: bool },
    /// A DTMF key: `0`-`9`, `*`, `#` (others are ignored).
    Digit(char),
    /// The answer to [`IvrAction::Lookup`] `id`: the JSON body, or `None` on
    /// any failure (network, status, timeout, not JSON).
    LookupResult {
        id: u64,
        body: Option<serde_json::Value>,
    },
    /// The voicemail recording ended (`#`, silence, maximum length).
    RecordingFinished { path: PathBuf, duration: Duration },
    /// `poll_timeout()` has passed.
    Timeout,
}

/// One prompt file: `sounds/<language>/<name>.wav`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromptRef {
    pub name: String,
}

/// An HTTP request for the shell to make. `Debug` shows the redacted URL and
/// body, so logging the action never leaks a `sensitive` value.
#[derive(Clone, PartialEq)]
pub struct LookupRequest {
    pub id: u64,
    pub method: Method,
    pub url: String,
    pub body: Option<String>,
    pub timeout: Duration,
    /// `url` with sensitive values replaced by `****`, for logs.
    pub redacted_url: String,
    pub redacted_body: Option<String>,
}

impl fmt::Debug for LookupRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LookupRequest")
            .field("id", &self.id)
            .field("method", &self.method)
            .field("url", &self.redacted_url)
            .field("body", &self.redacted_body)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// What the shell must do.
#[derive(Debug, Clone, PartialEq)]
pub enum IvrAction {
    /// Play prompts in order; answer with `PlayFinished{play}`. With
    /// `barge_in`, a key stops the playback (the session sends `StopPlay`).
    Play {
        play: u64,
        prompts: Vec<PromptRef>,
        barge_in: bool,
        language: String,
    },
    /// Stop the current playback.
    StopPlay,
    /// The caller's language changed (prompts and queue routing).
    SetLanguage(String),
    Lookup(LookupRequest),
    /// Leave the IVR for a queue. `vars` are the flow's variables (sensitive
    /// ones masked) for the agent's screen.
    Enqueue {
        queue: String,
        priority: u8,
        skills: Vec<String>,
        language: String,
        vars: BTreeMap<String, String>,
    },
    Transfer {
        extension: String,
    },
    /// Record into mailbox `box_name` until `#` (the session sends
    /// `StopRecording`), `silence`, or `max`; answer with `RecordingFinished`.
    Voicemail {
        box_name: String,
        max: Duration,
        silence: Duration,
    },
    StopRecording,
    Hangup,
    /// A step of the caller's journey, for the call record.
    Trail(TrailEntry),
}

/// Why a menu or collect asked again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RetryReason {
    /// No key before the timeout.
    Timeout,
    /// A key (or digit string, masked when sensitive) that is not accepted.
    Invalid(String),
}

/// The call's path through the flow. Values of `sensitive` collects are masked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrailEntry {
    Node {
        flow: String,
        node: String,
    },
    /// A menu choice, or the digits a collect accepted.
    Key {
        node: String,
        key: String,
    },
    Retry {
        node: String,
        attempt: u32,
        reason: RetryReason,
    },
    /// Retries ran out; the call goes to `on_failure`.
    GaveUp {
        node: String,
    },
    Set {
        name: String,
        value: String,
    },
    Language(String),
    /// Which way a `branch` or `hours` went.
    Decision {
        node: String,
        outcome: String,
    },
    Lookup {
        node: String,
        ok: bool,
    },
    Voicemail {
        box_name: String,
        path: PathBuf,
        duration: Duration,
    },
    /// The flow is broken at run time (a check would have caught it); the
    /// call is hung up rather than left in silence.
    Error(String),
}

/// Shown instead of a sensitive value.
pub const MASK: &str = "****";

/// Nodes run for one input before the session decides the flow loops.
const MAX_STEPS: u32 = 1000;
/// Menus remembered for `back`.
const MAX_MENU_STACK: usize = 32;

#[derive(Debug, Clone)]
struct Input {
    failures: u32,
    buf: String,
    playing: Option<u64>,
    deadline: Option<Instant>,
}

impl Input {
    fn fresh() -> Input {
        Input {
            failures: 0,
            buf: String::new(),
            playing: None,
            deadline: None,
        }
    }
}

#[derive(Debug, Clone)]
enum Wait {
    NotStarted,
    /// A `play`/`say` node; `next` follows when it finishes.
    Play {
        play: u64,
        barge_in: bool,
    },
    Menu(Input),
    Collect(Input),
    Lookup {
        id: u64,
        deadline: Instant,
    },
    Greeting {
        play: u64,
    },
    Recording {
        stopping: bool,
    },
    Done,
}

/// One caller in one flow.
pub struct Session {
    flows: Arc<FlowSet>,
    flow: Arc<Flow>,
    node: usize,
    ctx: CallContext,
    start: Instant,
    language: String,
    vars: BTreeMap<String, String>,
    sensitive: BTreeSet<String>,
    /// Keys typed ahead, not yet taken by a menu or collect.
    pending: VecDeque<char>,
    wait: Wait,
    menus: Vec<(Arc<Flow>, usize)>,
    actions: VecDeque<IvrAction>,
    next_play: u64,
    next_lookup: u64,
    steps: u32,
    /// The node to enter next. Transitions go through this trampoline rather
    /// than recursion, so a long chain of instant nodes cannot overflow the stack.
    jump: Option<(Arc<Flow>, usize)>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    #[error("no flow named `{0}`")]
    UnknownFlow(String),
}

impl Session {
    /// A session at the start of flow `flow` of `flows`; nothing happens until
    /// [`IvrInput::Start`].
    pub fn new(
        flows: Arc<FlowSet>,
        flow: &str,
        ctx: CallContext,
        now: Instant,
    ) -> Result<Session, SessionError> {
        let f = flows
            .get(flow)
            .cloned()
            .ok_or_else(|| SessionError::UnknownFlow(flow.to_string()))?;
        let mut vars = BTreeMap::new();
        vars.insert("caller".to_string(), ctx.caller.clone());
        vars.insert("dialed".to_string(), ctx.dialed.clone());
        vars.insert("language".to_string(), ctx.language.clone());
        Ok(Session {
            flows,
            node: f.node_index(&f.start).unwrap_or(0),
            flow: f,
            language: ctx.language.clone(),
            ctx,
            start: now,
            vars,
            sensitive: BTreeSet::new(),
            pending: VecDeque::new(),
            wait: Wait::NotStarted,
            menus: Vec::new(),
            actions: VecDeque::new(),
            next_play: 1,
            next_lookup: 1,
            steps: 0,
            jump: None,
        })
    }

    /// The next thing for the shell to do.
    pub fn poll_action(&mut self) -> Option<IvrAction> {
        self.actions.pop_front()
    }

    /// When to send [`IvrInput::Timeout`].
    pub fn poll_timeout(&self) -> Option<Instant> {
        match &self.wait {
            Wait::Menu(i) | Wait::Collect(i) => i.deadline,
            Wait::Lookup { deadline, .. } => Some(*deadline),
            _ => None,
        }
    }

    /// Whether the call has left the IVR (queued, transferred, hung up).
    pub fn is_done(&self) -> bool {
        matches!(self.wait, Wait::Done)
    }

    pub fn language(&self) -> &str {
        &self.language
    }

    /// The current flow and node.
    pub fn position(&self) -> (&str, &str) {
        (
            &self.flow.name,
            self.flow
                .nodes
                .get(self.node)
                .map_or("", |n| n.name.as_str()),
        )
    }

    /// Variables with sensitive values masked (for display).
    pub fn variables(&self) -> BTreeMap<String, String> {
        self.vars
            .iter()
            .map(|(k, v)| (k.clone(), self.shown(k, v)))
            .collect()
    }

    /// Wall-clock milliseconds at `now`.
    pub fn wall_time_ms(&self, now: Instant) -> i64 {
        let d = now.saturating_duration_since(self.start).as_millis();
        self.ctx
            .wall_time_unix_ms
            .saturating_add(i64::try_from(d).unwrap_or(i64::MAX))
    }

    pub fn handle_input(&mut self, now: Instant, input: IvrInput) {
        self.steps = 0;
        match input {
            IvrInput::Start => {
                if matches!(self.wait, Wait::NotStarted) {
                    let start = self.flow.start.clone();
                    self.go(&Target::Node(start));
                }
            }
            IvrInput::PlayFinished { play, .. } => self.play_finished(now, play),
            IvrInput::Digit(d) => {
                if d.is_ascii_digit() || d == '*' || d == '#' {
                    self.digit(now, d);
                }
            }
            IvrInput::LookupResult { id, body } => {
                if matches!(self.wait, Wait::Lookup { id: w, .. } if w == id) {
                    self.lookup_done(body);
                }
            }
            IvrInput::RecordingFinished { path, duration } => {
                if matches!(self.wait, Wait::Recording { .. }) {
                    let box_name = match &self.current().map(|n| &n.action) {
                        Some(Action::Voicemail(v)) => v.box_name.clone(),
                        _ => String::new(),
                    };
                    self.trail(TrailEntry::Voicemail {
                        box_name,
                        path,
                        duration,
                    });
                    self.next_or_hangup();
                }
            }
            IvrInput::Timeout => {
                if self.poll_timeout().is_some_and(|d| d <= now) {
                    self.timeout(now);
                }
            }
        }
        self.run(now);
        self.drain_typeahead(now);
    }

    /// Enters nodes until one waits or the call leaves the flow.
    fn run(&mut self, now: Instant) {
        while let Some((flow, idx)) = self.jump.take() {
            if matches!(self.wait, Wait::Done) {
                break;
            }
            self.enter(now, flow, idx);
        }
    }

    // -- helpers ----------------------------------------------------------

    fn current(&self) -> Option<&Node> {
        self.flow.nodes.get(self.node)
    }

    fn shown(&self, name: &str, value: &str) -> String {
        if self.sensitive.contains(name) {
            MASK.to_string()
        } else {
            value.to_string()
        }
    }

    fn trail(&mut self, t: TrailEntry) {
        self.actions.push_back(IvrAction::Trail(t));
    }

    fn node_name(&self) -> String {
        self.current().map(|n| n.name.clone()).unwrap_or_default()
    }

    fn set_var(&mut self, name: &str, value: String, sensitive: bool) {
        if sensitive {
            self.sensitive.insert(name.to_string());
        } else {
            self.sensitive.remove(name);
        }
        let shown = self.shown(name, &value);
        self.vars.insert(name.to_string(), value);
        self.trail(TrailEntry::Set {
            name: name.to_string(),
            value: shown,
        });
    }

    fn set_language(&mut self, lang: &str) {
        self.language = lang.to_string();
        self.vars.insert("language".into(), lang.to_string());
        self.actions
            .push_back(IvrAction::SetLanguage(lang.to_string()));
        self.trail(TrailEntry::Language(lang.to_string()));
    }

    /// `{name}` → the variable's value. `encode` percent-encodes for URLs,
    /// `json` escapes for a JSON string body, `redact` masks sensitive values.
    fn expand(&self, tpl: &str, encode: bool, json: bool, redact: bool) -> String {
        let mut out = String::new();
        let mut rest = tpl;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            match after.find('}') {
                Some(close) if super::flow::valid_name(&after[..close]) => {
                    let name = &after[..close];
                    let raw = self.vars.get(name).map(String::as_str).unwrap_or("");
                    let v = if redact && self.sensitive.contains(name) {
                        MASK.to_string()
                    } else if encode {
                        percent_encode(raw)
                    } else if json {
                        let q = serde_json::Value::String(raw.to_string()).to_string();
                        q[1..q.len() - 1].to_string()
                    } else {
                        raw.to_string()
                    };
                    out.push_str(&v);
                    rest = &after[close + 1..];
                }
                _ => {
                    out.push('{');
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        out
    }

    fn play(&mut self, prompts: &[String], barge_in: bool) -> u64 {
        let play = self.next_play;
        self.next_play += 1;
        self.actions.push_back(IvrAction::Play {
            play,
            prompts: prompts
                .iter()
                .map(|p| PromptRef { name: p.clone() })
                .collect(),
            barge_in,
            language: self.language.clone(),
        });
        play
    }

    fn finish(&mut self, action: IvrAction) {
        self.actions.push_back(action);
        self.wait = Wait::Done;
    }

    fn fail(&mut self, why: String) {
        self.trail(TrailEntry::Error(why));
        self.finish(IvrAction::Hangup);
    }

    // -- moving between nodes ----------------------------------------------

    fn next_or_hangup(&mut self) {
        match self.current().and_then(|n| n.next.clone()) {
            Some(t) => self.go(&t),
            None => self.finish(IvrAction::Hangup),
        }
    }

    fn go(&mut self, target: &Target) {
        let (flow, idx) = match target {
            Target::Node(name) => match self.flow.node_index(name) {
                Some(i) => (self.flow.clone(), i),
                None => return self.fail(format!("no node `{name}` in flow {}", self.flow.name)),
            },
            Target::Back => self.back_target(),
        };
        self.jump = Some((flow, idx));
    }

    /// The last menu before the current node (see docs/ivr.md, `back`).
    fn back_target(&mut self) -> (Arc<Flow>, usize) {
        let here_is_menu = matches!(self.current().map(|n| &n.action), Some(Action::Menu(_)));
        if here_is_menu
            && self
                .menus
                .last()
                .is_some_and(|(f, i)| Arc::ptr_eq(f, &self.flow) && *i == self.node)
            && self.menus.len() > 1
        {
            self.menus.pop();
        }
        match self.menus.last() {
            Some((f, i)) => (f.clone(), *i),
            None => {
                let start = self.flow.node_index(&self.flow.start).unwrap_or(0);
                (self.flow.clone(), start)
            }
        }
    }

    /// Runs node `idx`; a transition it makes is left in `self.jump`.
    fn enter(&mut self, now: Instant, flow: Arc<Flow>, idx: usize) {
        self.flow = flow;
        self.node = idx;
        self.steps += 1;
        if self.steps > MAX_STEPS {
            return self.fail(format!(
                "flow {} looped {MAX_STEPS} times without waiting for the caller",
                self.flow.name
            ));
        }
        let flow = self.flow.clone();
        let Some(node) = flow.nodes.get(idx) else {
            return self.fail(format!("flow {} has no node {idx}", flow.name));
        };
        self.trail(TrailEntry::Node {
            flow: flow.name.clone(),
            node: node.name.clone(),
        });
        match &node.action {
            Action::Play(p) => self.start_play(&p.prompts, p.barge_in),
            Action::Say(s) => {
                let value = self.vars.get(&s.var).cloned().unwrap_or_default();
                let prompts = say::prompts(&value, s.as_, &self.language);
                self.start_play(&prompts, s.barge_in);
            }
            Action::Menu(m) => {
                if !self
                    .menus
                    .last()
                    .is_some_and(|(f, i)| Arc::ptr_eq(f, &flow) && *i == idx)
                {
                    if self.menus.len() >= MAX_MENU_STACK {
                        self.menus.remove(0);
                    }
                    self.menus.push((flow.clone(), idx));
                }
                let mut input = Input::fresh();
                self.prompt_or_typeahead(now, &mut input, &m.prompt, m.timeout, m.barge_in);
                self.wait = Wait::Menu(input);
            }
            Action::Collect(c) => {
                let mut input = Input::fresh();
                self.prompt_or_typeahead(now, &mut input, &c.prompt, c.timeout, c.barge_in);
                self.wait = Wait::Collect(input);
            }
            Action::Set(vars) => {
                for (k, v) in vars {
                    let value = self.expand(v, false, false, false);
                    self.set_var(k, value, false);
                }
                self.next_or_hangup();
            }
            Action::Branch(b) => {
                let wall = self.wall_time_ms(now);
                let hit = b
                    .rules
                    .iter()
                    .enumerate()
                    .find(|(_, r)| r.tests.iter().all(|t| self.test(t, wall)));
                let (outcome, target) = match hit {
                    Some((i, r)) => (format!("rule {} -> {}", i + 1, r.to), Some(r.to.clone())),
                    None => match b.else_.clone().or_else(|| node.next.clone()) {
                        Some(t) => (format!("else -> {t}"), Some(t)),
                        None => ("no rule matched".to_string(), None),
                    },
                };
                self.trail(TrailEntry::Decision {
                    node: node.name.clone(),
                    outcome,
                });
                match target {
                    Some(t) => self.go(&t),
                    None => self.finish(IvrAction::Hangup),
                }
            }
            Action::Hours(h) => {
                let open = h.schedule.is_open(self.wall_time_ms(now));
                self.trail(TrailEntry::Decision {
                    node: node.name.clone(),
                    outcome: if open { "open" } else { "closed" }.to_string(),
                });
                let t = if open { &h.open } else { &h.closed };
                self.go(t);
            }
            Action::Language(l) => {
                self.set_language(l);
                self.next_or_hangup();
            }
            Action::Lookup(l) => {
                let id = self.next_lookup;
                self.next_lookup += 1;
                let json = l
                    .body
                    .as_deref()
                    .is_some_and(|b| b.trim_start().starts_with(['{', '[']));
                let req = LookupRequest {
                    id,
                    method: l.method,
                    url: self.expand(&l.url, true, false, false),
                    body: l
                        .body
                        .as_deref()
                        .map(|b| self.expand(b, false, json, false)),
                    timeout: l.timeout,
                    redacted_url: self.expand(&l.url, true, false, true),
                    redacted_body: l.body.as_deref().map(|b| self.expand(b, false, json, true)),
                };
                self.actions.push_back(IvrAction::Lookup(req));
                self.wait = Wait::Lookup {
                    id,
                    deadline: now + l.timeout,
                };
            }
            Action::Queue(q) => {
                let vars = self
                    .vars
                    .iter()
                    .filter(|(k, _)| !super::flow::BUILTIN_VARS.contains(&k.as_str()))
                    .map(|(k, v)| (k.clone(), self.shown(k, v)))
                    .collect();
                self.finish(IvrAction::Enqueue {
                    queue: q.name.clone(),
                    priority: q.priority,
                    skills: q.skills.clone(),
                    language: self.language.clone(),
                    vars,
                });
            }
            Action::Transfer(ext) => self.finish(IvrAction::Transfer {
                extension: ext.clone(),
            }),
            Action::Voicemail(v) => {
                let prompts: Vec<String> = v.greeting.iter().chain(&v.beep).cloned().collect();
                // The greeting is heard out: keys typed now must not end the
                // recording that follows.
                self.pending.clear();
                if prompts.is_empty() {
                    self.start_recording();
                } else {
                    let play = self.play(&prompts, false);
                    self.wait = Wait::Greeting { play };
                }
            }
            Action::Hangup => self.finish(IvrAction::Hangup),
            Action::Goto(g) => {
                let target_flow = match &g.flow {
                    Some(name) => match self.flows.get(name) {
                        Some(f) => f.clone(),
                        None => return self.fail(format!("no flow named `{name}`")),
                    },
                    None => flow.clone(),
                };
                let node_name = g.node.clone().unwrap_or_else(|| target_flow.start.clone());
                match target_flow.node_index(&node_name) {
                    Some(i) => self.jump = Some((target_flow, i)),
                    None => self.fail(format!(
                        "no node `{node_name}` in flow {}",
                        target_flow.name
                    )),
                }
            }
        }
    }

    fn start_play(&mut self, prompts: &[String], barge_in: bool) {
        if barge_in && !self.pending.is_empty() {
            // Keys typed ahead skip a prompt that could be interrupted anyway.
            return self.next_or_hangup();
        }
        self.pending.clear();
        if prompts.is_empty() {
            return self.next_or_hangup();
        }
        let play = self.play(prompts, barge_in);
        self.wait = Wait::Play { play, barge_in };
    }

    fn prompt_or_typeahead(
        &mut self,
        now: Instant,
        input: &mut Input,
        prompt: &[String],
        timeout: Duration,
        barge_in: bool,
    ) {
        if barge_in && !self.pending.is_empty() {
            // drain_typeahead feeds the keys once the state is in place.
            return;
        }
        self.pending.clear();
        if prompt.is_empty() {
            input.deadline = Some(now + timeout);
        } else {
            input.playing = Some(self.play(prompt, barge_in));
        }
    }

    fn start_recording(&mut self) {
        let Some(Action::Voicemail(v)) = self.current().map(|n| n.action.clone()) else {
            return self.fail("voicemail state outside a voicemail node".into());
        };
        self.actions.push_back(IvrAction::Voicemail {
            box_name: v.box_name,
            max: v.max_length,
            silence: v.silence,
        });
        self.wait = Wait::Recording { stopping: false };
    }

    fn test(&self, t: &Test, wall_ms: i64) -> bool {
        let var = |name: &str| self.vars.get(name).map(String::as_str).unwrap_or("");
        let num = |name: &str| var(name).trim().parse::<f64>().ok();
        match t {
            Test::Equals(v, x) => var(v) == x,
            Test::NotEquals(v, x) => var(v) != x,
            Test::In(v, xs) => xs.iter().any(|x| x == var(v)),
            Test::Matches(v, p) => p.matches(var(v)),
            Test::Empty(v, want) => var(v).is_empty() == *want,
            Test::Above(v, x) => num(v).is_some_and(|n| n > *x),
            Test::Below(v, x) => num(v).is_some_and(|n| n < *x),
            Test::Caller(p) => p.matches(&self.ctx.caller),
            Test::Dialed(p) => p.matches(&self.ctx.dialed),
            Test::Time(r, tz) => r.contains(schedule::local(wall_ms, tz).2),
            Test::Days(d, tz) => d.contains(schedule::local(wall_ms, tz).0),
        }
    }

    // -- inputs --------------------------------------------------------------

    fn play_finished(&mut self, now: Instant, play: u64) {
        match &mut self.wait {
            Wait::Play { play: p, .. } if *p == play => self.next_or_hangup(),
            Wait::Greeting { play: p } if *p == play => self.start_recording(),
            Wait::Menu(i) | Wait::Collect(i) if i.playing == Some(play) => {
                i.playing = None;
                let timeout = match self.current().map(|n| &n.action) {
                    Some(Action::Menu(m)) => m.timeout,
                    Some(Action::Collect(c)) => c.timeout,
                    _ => Duration::ZERO,
                };
                if let Wait::Menu(i) | Wait::Collect(i) = &mut self.wait {
                    i.deadline = Some(now + timeout);
                }
            }
            _ => {}
        }
    }

    fn digit(&mut self, now: Instant, d: char) {
        match &mut self.wait {
            Wait::Play { barge_in: true, .. } => {
                self.actions.push_back(IvrAction::StopPlay);
                self.pending.push_back(d);
                self.next_or_hangup();
            }
            Wait::Play {
                barge_in: false, ..
            }
            | Wait::Greeting { .. }
            | Wait::Done => {}
            Wait::Menu(i) | Wait::Collect(i) => {
                if i.playing.is_some() {
                    let barge = match self.current().map(|n| &n.action) {
                        Some(Action::Menu(m)) => m.barge_in,
                        Some(Action::Collect(c)) => c.barge_in,
                        _ => false,
                    };
                    if !barge {
                        return;
                    }
                    if let Wait::Menu(i) | Wait::Collect(i) = &mut self.wait {
                        i.playing = None;
                    }
                    self.actions.push_back(IvrAction::StopPlay);
                }
                self.input_digit(now, d);
            }
            Wait::Recording { stopping } => {
                if d == '#' && !*stopping {
                    *stopping = true;
                    self.actions.push_back(IvrAction::StopRecording);
                }
            }
            // Not listening yet (a lookup runs): keep the key for the next menu.
            Wait::NotStarted | Wait::Lookup { .. } => self.pending.push_back(d),
        }
    }

    /// Feeds typed-ahead keys to a menu or collect that is listening.
    fn drain_typeahead(&mut self, now: Instant) {
        while matches!(&self.wait, Wait::Menu(i) | Wait::Collect(i) if i.playing.is_none()) {
            let Some(d) = self.pending.pop_front() else {
                break;
            };
            self.steps = 0;
            self.input_digit(now, d);
            self.run(now);
        }
    }

    fn input_digit(&mut self, now: Instant, d: char) {
        let flow = self.flow.clone();
        let Some(node) = flow.nodes.get(self.node) else {
            return;
        };
        match (&node.action, &mut self.wait) {
            (Action::Menu(m), Wait::Menu(i)) => {
                i.buf.push(d);
                let buf = i.buf.clone();
                let exact = m.options.iter().find(|o| o.key == buf);
                let longer = m
                    .options
                    .iter()
                    .any(|o| o.key.len() > buf.len() && o.key.starts_with(&buf));
                match (exact, longer) {
                    (Some(o), false) => self.select(node, o),
                    (_, true) => i.deadline = Some(now + m.inter_digit_timeout),
                    (None, false) => self.retry(now, RetryReason::Invalid(buf)),
                }
            }
            (Action::Collect(c), Wait::Collect(i)) => {
                if Some(d) == c.terminator {
                    return self.collected(now);
                }
                i.buf.push(d);
                if i.buf.len() >= usize::from(c.max) {
                    self.collected(now);
                } else {
                    i.deadline = Some(now + c.inter_digit_timeout);
                }
            }
            _ => {}
        }
    }

    fn select(&mut self, node: &Node, o: &super::flow::MenuOption) {
        self.trail(TrailEntry::Key {
            node: node.name.clone(),
            key: o.key.clone(),
        });
        if let Some(l) = &o.language {
            self.set_language(l);
        }
        for (k, v) in &o.set {
            let value = self.expand(v, false, false, false);
            self.set_var(k, value, false);
        }
        self.go(&o.to);
    }

    fn collected(&mut self, now: Instant) {
        let flow = self.flow.clone();
        let (Some(Action::Collect(c)), Wait::Collect(i)) =
            (flow.nodes.get(self.node).map(|n| &n.action), &self.wait)
        else {
            return;
        };
        let value = i.buf.clone();
        let ok = value.len() >= usize::from(c.min)
            && value.len() <= usize::from(c.max)
            && c.pattern.as_ref().is_none_or(|p| p.matches(&value));
        let shown = if c.sensitive {
            MASK.to_string()
        } else {
            value.clone()
        };
        if ok {
            self.trail(TrailEntry::Key {
                node: self.node_name(),
                key: shown,
            });
            self.set_var(&c.into, value, c.sensitive);
            self.next_or_hangup();
        } else {
            self.retry(now, RetryReason::Invalid(shown));
        }
    }

    fn timeout(&mut self, now: Instant) {
        let flow = self.flow.clone();
        let node = flow.nodes.get(self.node);
        match (&self.wait, node.map(|n| &n.action)) {
            (Wait::Menu(i), Some(Action::Menu(m))) => {
                if i.buf.is_empty() {
                    return self.retry(now, RetryReason::Timeout);
                }
                let buf = i.buf.clone();
                match (node, m.options.iter().find(|o| o.key == buf)) {
                    (Some(n), Some(o)) => self.select(n, o),
                    _ => self.retry(now, RetryReason::Invalid(buf)),
                }
            }
            (Wait::Collect(i), _) => {
                if i.buf.is_empty() {
                    self.retry(now, RetryReason::Timeout)
                } else {
                    self.collected(now)
                }
            }
            (Wait::Lookup { .. }, _) => self.lookup_done(None),
            _ => {}
        }
    }

    /// A failed attempt: ask again with the invalid/timeout prompt, or give up.
    fn retry(&mut self, now: Instant, reason: RetryReason) {
        let flow = self.flow.clone();
        let Some(node) = flow.nodes.get(self.node) else {
            return;
        };
        let (retries, sorry, again, on_failure, timeout, barge_in) = match &node.action {
            Action::Menu(m) => (
                m.retries,
                if reason == RetryReason::Timeout {
                    &m.timeout_prompt
                } else {
                    &m.invalid_prompt
                },
                m.short_prompt.as_ref().unwrap_or(&m.prompt),
                m.on_failure.clone(),
                m.timeout,
                m.barge_in,
            ),
            Action::Collect(c) => (
                c.retries,
                if reason == RetryReason::Timeout {
                    &c.timeout_prompt
                } else {
                    &c.invalid_prompt
                },
                &c.prompt,
                c.on_failure.clone(),
                c.timeout,
                c.barge_in,
            ),
            _ => return,
        };
        let failures = match &mut self.wait {
            Wait::Menu(i) | Wait::Collect(i) => {
                i.failures += 1;
                i.buf.clear();
                i.deadline = None;
                i.failures
            }
            _ => return,
        };
        // Keys after a mistake were typed blind; drop them.
        self.pending.clear();
        self.trail(TrailEntry::Retry {
            node: node.name.clone(),
            attempt: failures,
            reason,
        });
        if failures > retries {
            self.trail(TrailEntry::GaveUp {
                node: node.name.clone(),
            });
            return match on_failure {
                Some(t) => self.go(&t),
                None => self.finish(IvrAction::Hangup),
            };
        }
        let prompts: Vec<String> = sorry.iter().chain(again).cloned().collect();
        let play = (!prompts.is_empty()).then(|| self.play(&prompts, barge_in));
        if let Wait::Menu(i) | Wait::Collect(i) = &mut self.wait {
            i.playing = play;
            if play.is_none() {
                i.deadline = Some(now + timeout);
            }
        }
    }

    fn lookup_done(&mut self, body: Option<serde_json::Value>) {
        let flow = self.flow.clone();
        let Some(node) = flow.nodes.get(self.node) else {
            return;
        };
        let Action::Lookup(l) = &node.action else {
            return;
        };
        self.trail(TrailEntry::Lookup {
            node: node.name.clone(),
            ok: body.is_some(),
        });
        match body {
            Some(json) => {
                for (var, path) in &l.fields {
                    if let Some(v) = json_path(&json, path) {
                        self.set_var(var, v, false);
                    }
                }
                self.next_or_hangup();
            }
            None => match l.on_error.clone().or_else(|| node.next.clone()) {
                Some(t) => self.go(&t),
                None => self.finish(IvrAction::Hangup),
            },
        }
    }
}

/// `a.b.0.c` into a JSON value, as a plain string (`null` and absent: None).
pub fn json_path(v: &serde_json::Value, path: &str) -> Option<String> {
    let mut cur = v;
    for seg in path.split('.').filter(|s| !s.is_empty()) {
        cur = match cur {
            serde_json::Value::Object(m) => m.get(seg)?,
            serde_json::Value::Array(a) => a.get(seg.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    match cur {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

fn percent_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests;
