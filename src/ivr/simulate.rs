//! `switchboard simulate`: the real [`Session`] driven by a scripted caller
//! in virtual time. This module plays the part of the shell: it "plays"
//! prompts for a fixed length each, answers lookups from stubs, records
//! voicemail, and prints every step.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::flow::FlowSet;
use super::interpreter::{
    CallContext, IvrAction, IvrInput, RetryReason, Session, SessionError, TrailEntry,
};

/// One item of `--input`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScriptStep {
    /// Keys pressed once the IVR listens (the caller hears the prompt out).
    Keys(String),
    /// Keys pressed at once, interrupting a prompt (`!1`).
    Barge(String),
    /// The caller does nothing for this long.
    Wait(Duration),
    /// The caller hangs up.
    Hangup,
}

/// Parses `"1, wait 6s, 42#, !9, hangup"`.
pub fn parse_script(s: &str) -> Result<Vec<ScriptStep>, String> {
    let mut out = Vec::new();
    for item in s.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        if let Some(d) = item.strip_prefix("wait") {
            let d = d.trim();
            let dur = humantime::parse_duration(d).map_err(|_| {
                format!("`{item}`: write a duration like `wait 6s` or `wait 500ms`")
            })?;
            out.push(ScriptStep::Wait(dur));
        } else if item == "hangup" {
            out.push(ScriptStep::Hangup);
        } else {
            let (barge, keys) = match item.strip_prefix('!') {
                Some(k) => (true, k.trim()),
                None => (false, item),
            };
            if keys.is_empty()
                || !keys
                    .chars()
                    .all(|c| c.is_ascii_digit() || c == '*' || c == '#')
            {
                return Err(format!(
                    "`{item}` is not keys (0-9, *, #), `wait 5s`, `!keys` or `hangup`"
                ));
            }
            out.push(if barge {
                ScriptStep::Barge(keys.to_string())
            } else {
                ScriptStep::Keys(keys.to_string())
            });
        }
    }
    Ok(out)
}

/// A stubbed lookup answer.
#[derive(Debug, Clone, PartialEq)]
pub enum LookupStub {
    Reply(serde_json::Value),
    Error,
    /// No answer at all: the lookup's timeout decides.
    Timeout,
}

impl LookupStub {
    /// `error`, `timeout`, or a JSON document.
    pub fn parse(s: &str) -> Result<LookupStub, String> {
        match s.trim() {
            "error" => Ok(LookupStub::Error),
            "timeout" => Ok(LookupStub::Timeout),
            j => serde_json::from_str(j)
                .map(LookupStub::Reply)
                .map_err(|e| format!("--lookup is not JSON, `error` or `timeout`: {e}")),
        }
    }
}

#[derive(Debug, Clone)]
pub struct SimOptions {
    pub caller: String,
    pub dialed: String,
    pub language: String,
    pub wall_time_unix_ms: i64,
    /// Answers for lookups in order; the last repeats; none means every lookup fails.
    pub lookups: Vec<LookupStub>,
    /// How long each prompt file plays.
    pub prompt_length: Duration,
    /// Gap between keys of one script item.
    pub key_gap: Duration,
    /// Give up after this much virtual time.
    pub limit: Duration,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            caller: "anonymous".into(),
            dialed: String::new(),
            language: "en".into(),
            wall_time_unix_ms: 0,
            lookups: Vec::new(),
            prompt_length: Duration::from_secs(2),
            key_gap: Duration::from_millis(300),
            limit: Duration::from_secs(3600),
        }
    }
}

/// What the simulated call ended with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Queued(String),
    Transferred(String),
    HungUp,
    CallerHungUp,
    /// Still in the IVR when the time limit was reached.
    Stuck,
}

struct Sim<'a> {
    s: Session,
    flows: Arc<FlowSet>,
    first_flow: String,
    opts: &'a SimOptions,
    t0: Instant,
    now: Instant,
    out: String,
    playing: Option<(u64, Instant)>,
    lookup: Option<(u64, Instant, Option<serde_json::Value>)>,
    lookups_used: usize,
    recording: Option<(Instant, Instant, String)>,
    last_timer: Option<Instant>,
    outcome: Option<Outcome>,
}

/// Runs `flow` with `script`; returns the printed steps and the outcome.
pub fn simulate(
    flows: Arc<FlowSet>,
    flow: &str,
    script: &[ScriptStep],
    opts: &SimOptions,
) -> Result<(String, Outcome), SessionError> {
    let t0 = Instant::now();
    let ctx = CallContext {
        caller: opts.caller.clone(),
        dialed: opts.dialed.clone(),
        language: opts.language.clone(),
        wall_time_unix_ms: opts.wall_time_unix_ms,
    };
    let s = Session::new(flows.clone(), flow, ctx, t0)?;
    let mut sim = Sim {
        s,
        flows,
        first_flow: flow.to_string(),
        opts,
        t0,
        now: t0,
        out: String::new(),
        playing: None,
        lookup: None,
        lookups_used: 0,
        recording: None,
        last_timer: None,
        outcome: None,
    };
    let when = jiff::Timestamp::from_millisecond(opts.wall_time_unix_ms)
        .map(|t| t.to_string())
        .unwrap_or_default();
    let _ = writeln!(
        sim.out,
        "flow {flow}: caller {}, dialed {}, language {}, at {when}",
        opts.caller,
        if opts.dialed.is_empty() {
            "-"
        } else {
            &opts.dialed
        },
        opts.language
    );
    sim.input(IvrInput::Start);
    for step in script {
        if sim.outcome.is_some() {
            break;
        }
        match step {
            ScriptStep::Wait(d) => {
                sim.say(format!("caller waits {}", fmt_dur(*d)));
                let until = sim.now + *d;
                sim.advance(until);
            }
            ScriptStep::Keys(k) | ScriptStep::Barge(k) => {
                if matches!(step, ScriptStep::Keys(_)) {
                    sim.until_listening();
                }
                for (i, c) in k.chars().enumerate() {
                    if sim.outcome.is_some() {
                        break;
                    }
                    if i > 0 {
                        let until = sim.now + opts.key_gap;
                        sim.advance(until);
                    }
                    sim.say(format!("caller presses {c}"));
                    sim.input(IvrInput::Digit(c));
                }
            }
            ScriptStep::Hangup => {
                sim.say("caller hangs up".into());
                sim.outcome = Some(Outcome::CallerHungUp);
            }
        }
    }
    if sim.outcome.is_none() {
        // The script is over: the caller stays on the line, silent.
        let limit = t0 + opts.limit;
        while sim.outcome.is_none() {
            match sim.next_event() {
                Some(t) if t <= limit => sim.advance(t),
                _ => break,
            }
        }
    }
    let outcome = sim.outcome.clone().unwrap_or(Outcome::Stuck);
    let vars: Vec<String> = sim
        .s
        .variables()
        .into_iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let end = match &outcome {
        Outcome::Queued(q) => format!("queued in {q}"),
        Outcome::Transferred(x) => format!("transferred to {x}"),
        Outcome::HungUp => "hung up by the IVR".to_string(),
        Outcome::CallerHungUp => "caller hung up".to_string(),
        Outcome::Stuck => "still in the IVR (stopped)".to_string(),
    };
    let _ = writeln!(sim.out, "outcome: {end} after {}", fmt_secs(sim.now - t0));
    let _ = writeln!(sim.out, "variables: {}", vars.join(", "));
    Ok((sim.out, outcome))
}

fn fmt_secs(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}

fn fmt_dur(d: Duration) -> String {
    humantime::format_duration(d).to_string()
}

impl Sim<'_> {
    fn say(&mut self, line: String) {
        let t = (self.now - self.t0).as_secs_f64();
        let _ = writeln!(self.out, "[{t:8.3}] {line}");
    }

    fn input(&mut self, i: IvrInput) {
        self.s.handle_input(self.now, i);
        self.drain();
    }

    /// The earliest thing that will happen without the caller.
    fn next_event(&self) -> Option<Instant> {
        [
            self.playing.map(|p| p.1),
            self.lookup.as_ref().map(|l| l.1),
            self.recording.as_ref().map(|r| r.1),
            self.s.poll_timeout(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Runs every event up to `until`, then sets the clock there.
    fn advance(&mut self, until: Instant) {
        while self.outcome.is_none() {
            let Some(t) = self.next_event().filter(|t| *t <= until) else {
                break;
            };
            self.now = self.now.max(t);
            if let Some((play, end)) = self.playing {
                if end <= self.now {
                    self.playing = None;
                    self.say(format!("playback {play} finished"));
                    self.input(IvrInput::PlayFinished {
                        play,
                        interrupted: false,
                    });
                    continue;
                }
            }
            if let Some((id, at, _)) = &self.lookup {
                if *at <= self.now {
                    let id = *id;
                    let body = self.lookup.take().and_then(|l| l.2);
                    self.say(match &body {
                        Some(b) => format!("lookup {id} answers {b}"),
                        None => format!("lookup {id} fails"),
                    });
                    self.input(IvrInput::LookupResult { id, body });
                    continue;
                }
            }
            if let Some((start, end, box_name)) = self.recording.clone() {
                if end <= self.now {
                    self.say("recording reached its maximum length".into());
                    self.finish_recording(start, &box_name);
                    continue;
                }
            }
            if self.s.poll_timeout().is_some_and(|d| d <= self.now) {
                self.say("timer fired".into());
                self.input(IvrInput::Timeout);
            }
        }
        self.now = self.now.max(until);
    }

    /// Lets prompts and lookups finish, as a caller who listens first.
    fn until_listening(&mut self) {
        while self.outcome.is_none() && (self.playing.is_some() || self.lookup.is_some()) {
            match self.next_event() {
                Some(t) => self.advance(t),
                None => break,
            }
        }
    }

    fn finish_recording(&mut self, start: Instant, box_name: &str) {
        self.recording = None;
        let duration = self.now - start;
        self.input(IvrInput::RecordingFinished {
            path: PathBuf::from(format!("var/voicemail/{box_name}/simulated.wav")),
            duration,
        });
    }

    fn drain(&mut self) {
        while let Some(a) = self.s.poll_action() {
            match a {
                IvrAction::Play {
                    play,
                    prompts,
                    barge_in,
                    language,
                } => {
                    let names: Vec<&str> = prompts.iter().map(|p| p.name.as_str()).collect();
                    let len =
                        self.opts.prompt_length * u32::try_from(names.len()).unwrap_or(u32::MAX);
                    self.say(format!(
                        "play {play} [{language}]{}: {}",
                        if barge_in { "" } else { " (no barge-in)" },
                        names.join(", ")
                    ));
                    self.playing = Some((play, self.now + len));
                }
                IvrAction::StopPlay => {
                    self.say("stop playback".into());
                    self.playing = None;
                }
                IvrAction::SetLanguage(l) => self.say(format!("language is now {l}")),
                IvrAction::Lookup(req) => {
                    self.say(format!(
                        "lookup {} {} {}{} (timeout {})",
                        req.id,
                        req.method,
                        req.redacted_url,
                        req.redacted_body
                            .as_deref()
                            .map(|b| format!(" body {b}"))
                            .unwrap_or_default(),
                        fmt_dur(req.timeout)
                    ));
                    let stub = self
                        .opts
                        .lookups
                        .get(self.lookups_used)
                        .or(self.opts.lookups.last())
                        .cloned()
                        .unwrap_or(LookupStub::Error);
                    self.lookups_used += 1;
                    let reply_at = self.now + Duration::from_millis(100);
                    match stub {
                        LookupStub::Reply(v) => self.lookup = Some((req.id, reply_at, Some(v))),
                        LookupStub::Error => self.lookup = Some((req.id, reply_at, None)),
                        LookupStub::Timeout => {}
                    }
                }
                IvrAction::Enqueue {
                    queue,
                    priority,
                    skills,
                    language,
                    vars,
                } => {
                    let vars: Vec<String> = vars.iter().map(|(k, v)| format!("{k}={v}")).collect();
                    self.say(format!(
                        "enqueue in {queue} (priority {priority}, language {language}, skills [{}], vars {{{}}})",
                        skills.join(", "),
                        vars.join(", ")
                    ));
                    self.outcome = Some(Outcome::Queued(queue));
                }
                IvrAction::Transfer { extension } => {
                    self.say(format!("transfer to {extension}"));
                    self.outcome = Some(Outcome::Transferred(extension));
                }
                IvrAction::Voicemail {
                    box_name,
                    max,
                    silence,
                } => {
                    self.say(format!(
                        "record voicemail in {box_name} (max {}, silence {}, # ends)",
                        fmt_dur(max),
                        fmt_dur(silence)
                    ));
                    self.recording = Some((self.now, self.now + max, box_name));
                }
                IvrAction::StopRecording => {
                    self.say("stop recording".into());
                    if let Some((start, _, box_name)) = self.recording.clone() {
                        self.finish_recording(start, &box_name);
                    }
                }
                IvrAction::Hangup => {
                    self.say("hang up".into());
                    self.outcome = Some(Outcome::HungUp);
                }
                IvrAction::Trail(t) => self.trail(t),
            }
        }
        let timer = self.s.poll_timeout();
        if timer != self.last_timer {
            if let Some(t) = timer {
                self.say(format!("timer set: {} from now", fmt_dur(t - self.now)));
            }
            self.last_timer = timer;
        }
    }

    fn trail(&mut self, t: TrailEntry) {
        let line = match t {
            TrailEntry::Node { flow, node } => {
                let kind = self
                    .flows
                    .get(&flow)
                    .and_then(|f| f.node(&node))
                    .map(|n| n.action.kind())
                    .unwrap_or("?");
                if flow == self.first_flow {
                    format!("node {node} ({kind})")
                } else {
                    format!("node {flow}:{node} ({kind})")
                }
            }
            TrailEntry::Key { node, key } => format!("{node} takes {key}"),
            TrailEntry::Retry {
                node,
                attempt,
                reason,
            } => match reason {
                RetryReason::Timeout => format!("{node}: no key (failure {attempt})"),
                RetryReason::Invalid(k) => format!("{node}: invalid {k} (failure {attempt})"),
            },
            TrailEntry::GaveUp { node } => format!("{node}: out of retries"),
            TrailEntry::Set { name, value } => format!("set {name} = {value}"),
            TrailEntry::Language(_) => return,
            TrailEntry::Decision { node, outcome } => format!("{node}: {outcome}"),
            TrailEntry::Lookup { node, ok } => {
                format!("{node}: lookup {}", if ok { "ok" } else { "failed" })
            }
            TrailEntry::Voicemail {
                box_name,
                path,
                duration,
            } => format!(
                "voicemail saved in {box_name}: {} ({})",
                path.display(),
                fmt_secs(duration)
            ),
            TrailEntry::Error(e) => format!("error: {e}"),
        };
        self.say(line);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_scripts() {
        assert_eq!(
            parse_script("1, wait 6s, 42#, !9, hangup"),
            Ok(vec![
                ScriptStep::Keys("1".into()),
                ScriptStep::Wait(Duration::from_secs(6)),
                ScriptStep::Keys("42#".into()),
                ScriptStep::Barge("9".into()),
                ScriptStep::Hangup,
            ])
        );
        assert_eq!(parse_script(""), Ok(vec![]));
        assert!(parse_script("wait six").is_err());
        assert!(parse_script("1a").is_err());
        assert!(LookupStub::parse("{\"a\":1}").is_ok());
        assert_eq!(LookupStub::parse("error"), Ok(LookupStub::Error));
        assert!(LookupStub::parse("{bad").is_err());
    }
}
