//! The flow language: the compiled model and loading (the raw YAML model is
//! in `flow/raw.rs`, its compilation in `flow/compile.rs`).
//!
//! A flow file is parsed in three passes so that every problem carries
//! `file:line:column`:
//! 1. a duplicate-key scan over yaml-rust2 events (serde_yaml silently keeps the
//!    last of two equal map keys, and reports a duplicate field only at the
//!    mapping start);
//! 2. serde_yaml into the `Raw*` structs (syntax, unknown keys, wrong types —
//!    serde_yaml knows the position);
//! 3. compilation into [`Flow`]: durations, patterns, time zones, schedules and
//!    "exactly one action per node", located afterwards with
//!    [`crate::config::locate::locate`].
//!
//! Graph-level checks (missing targets, unreachable nodes, loops, prompts,
//! queues) live in [`super::check`], because they need the other flows and the
//! configuration.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::pattern::DigitPattern;
use super::schedule::{self, ClosedDate, Days, Schedule, TimeRange};
use crate::config::locate::{locate, Step};
use crate::config::Problem;

mod raw;
// Written the same in the YAML and the compiled flow.
use raw::*;
pub use raw::{Method, SayAs};

// ---------------------------------------------------------------------------
// Compiled model
// ---------------------------------------------------------------------------

/// Where a transition goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Node(String),
    /// The menu the caller was in before the current one.
    Back,
}

impl Target {
    fn parse(s: &str) -> Target {
        if s == BACK {
            Target::Back
        } else {
            Target::Node(s.to_string())
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Node(n) => f.write_str(n),
            Target::Back => f.write_str(BACK),
        }
    }
}

/// The reserved target name for "previous menu".
pub const BACK: &str = "back";

#[derive(Debug, Clone)]
pub struct Play {
    pub prompts: Vec<String>,
    pub barge_in: bool,
}

#[derive(Debug, Clone)]
pub struct Say {
    pub var: String,
    pub as_: SayAs,
    pub barge_in: bool,
}

#[derive(Debug, Clone)]
pub struct MenuOption {
    pub key: String,
    pub to: Target,
    pub language: Option<String>,
    pub set: Vec<(String, String)>,
}

#[derive(Debug, Clone)]
pub struct Menu {
    pub prompt: Vec<String>,
    pub short_prompt: Option<Vec<String>>,
    pub options: Vec<MenuOption>,
    pub timeout: Duration,
    pub inter_digit_timeout: Duration,
    pub retries: u32,
    pub invalid_prompt: Vec<String>,
    pub timeout_prompt: Vec<String>,
    pub on_failure: Option<Target>,
    pub barge_in: bool,
}

#[derive(Debug, Clone)]
pub struct Collect {
    pub prompt: Vec<String>,
    pub into: String,
    pub min: u8,
    pub max: u8,
    pub terminator: Option<char>,
    pub timeout: Duration,
    pub inter_digit_timeout: Duration,
    pub pattern: Option<DigitPattern>,
    pub retries: u32,
    pub invalid_prompt: Vec<String>,
    pub timeout_prompt: Vec<String>,
    pub on_failure: Option<Target>,
    pub sensitive: bool,
    pub barge_in: bool,
}

/// One test in a `branch` rule; a rule matches when all its tests hold.
#[derive(Debug, Clone)]
pub enum Test {
    Equals(String, String),
    NotEquals(String, String),
    In(String, Vec<String>),
    Matches(String, DigitPattern),
    Empty(String, bool),
    Above(String, f64),
    Below(String, f64),
    Caller(DigitPattern),
    Dialed(DigitPattern),
    Time(TimeRange, jiff::tz::TimeZone),
    Days(Days, jiff::tz::TimeZone),
}

#[derive(Debug, Clone)]
pub struct Rule {
    pub tests: Vec<Test>,
    pub to: Target,
}

#[derive(Debug, Clone)]
pub struct Branch {
    pub rules: Vec<Rule>,
    pub else_: Option<Target>,
}

#[derive(Debug, Clone)]
pub struct Hours {
    pub schedule: Schedule,
    pub open: Target,
    pub closed: Target,
}

#[derive(Debug, Clone)]
pub struct Lookup {
    pub url: String,
    pub method: Method,
    pub body: Option<String>,
    pub timeout: Duration,
    /// (variable, dotted JSON path).
    pub fields: Vec<(String, String)>,
    pub on_error: Option<Target>,
}

#[derive(Debug, Clone)]
pub struct Queue {
    pub name: String,
    pub priority: u8,
    pub skills: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Voicemail {
    pub box_name: String,
    pub greeting: Vec<String>,
    /// `[voicemail-beep]`, or empty with `beep: false`.
    pub beep: Vec<String>,
    pub max_length: Duration,
    pub silence: Duration,
}

#[derive(Debug, Clone)]
pub struct Goto {
    pub flow: Option<String>,
    pub node: Option<String>,
}

/// What a node does.
#[derive(Debug, Clone)]
pub enum Action {
    Play(Play),
    Say(Say),
    Menu(Menu),
    Collect(Collect),
    Set(Vec<(String, String)>),
    Branch(Branch),
    Hours(Hours),
    Language(String),
    Lookup(Lookup),
    Queue(Queue),
    Transfer(String),
    Voicemail(Voicemail),
    Hangup,
    Goto(Goto),
}

impl Action {
    /// The YAML key of this action.
    pub fn kind(&self) -> &'static str {
        match self {
            Action::Play(_) => "play",
            Action::Say(_) => "say",
            Action::Menu(_) => "menu",
            Action::Collect(_) => "collect",
            Action::Set(_) => "set",
            Action::Branch(_) => "branch",
            Action::Hours(_) => "hours",
            Action::Language(_) => "language",
            Action::Lookup(_) => "lookup",
            Action::Queue(_) => "queue",
            Action::Transfer(_) => "transfer",
            Action::Voicemail(_) => "voicemail",
            Action::Hangup => "hangup",
            Action::Goto(_) => "goto",
        }
    }

    /// Whether the node waits for the caller's keys (what breaks a loop).
    pub fn takes_input(&self) -> bool {
        matches!(
            self,
            Action::Menu(_) | Action::Collect(_) | Action::Voicemail(_)
        )
    }

    /// Whether the call leaves this flow here (no `next` is followed).
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            Action::Queue(_)
                | Action::Transfer(_)
                | Action::Hangup
                | Action::Goto(_)
                | Action::Menu(_)
                | Action::Hours(_)
        )
    }
}

#[derive(Debug, Clone)]
pub struct Node {
    pub name: String,
    pub action: Action,
    pub next: Option<Target>,
}

/// A transition out of a node, with where it is written and a label for graphs.
#[derive(Debug, Clone)]
pub struct Edge<'a> {
    pub path: Vec<Step>,
    pub target: &'a Target,
    pub label: String,
}

impl Node {
    fn at(&self, rest: &[&str]) -> Vec<Step> {
        let mut p = vec![Step::from("nodes"), Step::from(self.name.as_str())];
        p.extend(rest.iter().map(|s| Step::from(*s)));
        p
    }

    /// Every transition to another node of the same flow.
    pub fn edges(&self) -> Vec<Edge<'_>> {
        let mut out = Vec::new();
        let k = self.action.kind();
        match &self.action {
            Action::Menu(m) => {
                for o in &m.options {
                    out.push(Edge {
                        path: self.at(&[k, "options", &o.key]),
                        target: &o.to,
                        label: o.key.clone(),
                    });
                }
                if let Some(t) = &m.on_failure {
                    out.push(Edge {
                        path: self.at(&[k, "on_failure"]),
                        target: t,
                        label: "failure".into(),
                    });
                }
            }
            Action::Collect(c) => {
                if let Some(t) = &c.on_failure {
                    out.push(Edge {
                        path: self.at(&[k, "on_failure"]),
                        target: t,
                        label: "failure".into(),
                    });
                }
            }
            Action::Branch(b) => {
                for (i, r) in b.rules.iter().enumerate() {
                    let mut path = self.at(&[k, "when"]);
                    path.push(Step::Index(i));
                    path.push(Step::from("to"));
                    out.push(Edge {
                        path,
                        target: &r.to,
                        label: format!("rule {}", i + 1),
                    });
                }
                if let Some(t) = &b.else_ {
                    out.push(Edge {
                        path: self.at(&[k, "else"]),
                        target: t,
                        label: "else".into(),
                    });
                }
            }
            Action::Hours(h) => {
                out.push(Edge {
                    path: self.at(&[k, "open"]),
                    target: &h.open,
                    label: "open".into(),
                });
                out.push(Edge {
                    path: self.at(&[k, "closed"]),
                    target: &h.closed,
                    label: "closed".into(),
                });
            }
            Action::Lookup(l) => {
                if let Some(t) = &l.on_error {
                    out.push(Edge {
                        path: self.at(&[k, "on_error"]),
                        target: t,
                        label: "error".into(),
                    });
                }
            }
            _ => {}
        }
        if let Some(t) = &self.next {
            out.push(Edge {
                path: self.at(&["next"]),
                target: t,
                label: String::new(),
            });
        }
        out
    }

    /// Every prompt list of the node, with where it is written.
    pub fn prompt_lists(&self) -> Vec<(Vec<Step>, &[String])> {
        let k = self.action.kind();
        let mut out: Vec<(Vec<Step>, &[String])> = Vec::new();
        match &self.action {
            Action::Play(p) => out.push((self.at(&[k]), &p.prompts)),
            Action::Menu(m) => {
                out.push((self.at(&[k, "prompt"]), &m.prompt));
                if let Some(s) = &m.short_prompt {
                    out.push((self.at(&[k, "short_prompt"]), s));
                }
                out.push((self.at(&[k, "invalid_prompt"]), &m.invalid_prompt));
                out.push((self.at(&[k, "timeout_prompt"]), &m.timeout_prompt));
            }
            Action::Collect(c) => {
                out.push((self.at(&[k, "prompt"]), &c.prompt));
                out.push((self.at(&[k, "invalid_prompt"]), &c.invalid_prompt));
                out.push((self.at(&[k, "timeout_prompt"]), &c.timeout_prompt));
            }
            Action::Voicemail(v) => {
                out.push((self.at(&[k, "greeting"]), &v.greeting));
                out.push((self.at(&[k, "beep"]), &v.beep));
            }
            _ => {}
        }
        out
    }
}

/// Prompt played before a voicemail recording starts.
pub const BEEP: &str = "voicemail-beep";

/// One compiled flow file.
#[derive(Debug, Clone)]
pub struct Flow {
    /// The file stem: `support` for `ivr-flows/support.yaml`.
    pub name: String,
    pub path: PathBuf,
    /// The YAML text, kept so later checks can locate what they find.
    pub text: String,
    pub description: Option<String>,
    pub start: String,
    pub nodes: Vec<Node>,
    index: HashMap<String, usize>,
}

impl Flow {
    /// Reads and compiles one flow file.
    pub fn load(path: &Path) -> Result<Flow, Vec<Problem>> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            vec![Problem {
                file: path.to_path_buf(),
                line: 1,
                column: 1,
                message: format!("cannot read flow: {e}"),
            }]
        })?;
        Flow::from_str_at(&text, path)
    }

    /// Compiles `text` as if read from `path` (the flow is named by the file stem).
    pub fn from_str_at(text: &str, path: &Path) -> Result<Flow, Vec<Problem>> {
        match Flow::compile(text, path) {
            (Some(flow), problems) if problems.is_empty() => Ok(flow),
            (_, problems) => Err(problems),
        }
    }

    /// Compiles as far as possible: the flow (when the YAML matched the
    /// schema) even if some values were wrong, so the checker can report
    /// graph problems in the same run, plus every problem found.
    pub(crate) fn compile(text: &str, path: &Path) -> (Option<Flow>, Vec<Problem>) {
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut problems = duplicate_keys(text, path);
        let raw: RawFlow = match serde_yaml::from_str(text) {
            Ok(raw) => raw,
            Err(e) => {
                let message = clean_serde_message(&e.to_string());
                // Our scan already names the repeated key at its own line.
                if problems.is_empty() || !message.contains("duplicate field") {
                    let (line, column) = e
                        .location()
                        .map(|l| (l.line(), l.column()))
                        .unwrap_or((1, 1));
                    problems.push(Problem {
                        file: path.to_path_buf(),
                        line,
                        column,
                        message,
                    });
                }
                return (None, problems);
            }
        };
        if !problems.is_empty() {
            // With a repeated node or option the graph is ambiguous; graph
            // checks would only add noise until the duplicate is fixed.
            return (None, problems);
        }
        let mut c = Compiler {
            path,
            text,
            problems,
        };
        let flow = c.flow(name, raw);
        (Some(flow), c.problems)
    }

    pub fn node(&self, name: &str) -> Option<&Node> {
        self.index.get(name).and_then(|&i| self.nodes.get(i))
    }

    pub fn node_index(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }

    /// A problem about the value at `path` (see [`locate_value`]).
    pub fn problem_value(&self, path: &[Step], message: impl Into<String>) -> Problem {
        let (line, column) = locate_value(&self.text, path);
        Problem {
            file: self.path.clone(),
            line,
            column,
            message: message.into(),
        }
    }

    /// A problem located at `path` in this flow's file.
    pub fn problem(&self, path: &[Step], message: impl Into<String>) -> Problem {
        let (line, column) = locate(&self.text, path);
        Problem {
            file: self.path.clone(),
            line,
            column,
            message: message.into(),
        }
    }
}

/// Every flow a number can reach, by name. Immutable once built: a call holds
/// an `Arc<FlowSet>` for its whole life, so a reload never changes a call in
/// progress.
#[derive(Debug, Clone, Default)]
pub struct FlowSet {
    flows: HashMap<String, Arc<Flow>>,
}

impl FlowSet {
    pub fn new(flows: impl IntoIterator<Item = Flow>) -> FlowSet {
        FlowSet {
            flows: flows
                .into_iter()
                .map(|f| (f.name.clone(), Arc::new(f)))
                .collect(),
        }
    }

    /// Loads every `*.yaml`/`*.yml` file in `dir`. Returns all problems of all
    /// files (compile errors only; run [`super::check`] for the graph checks).
    pub fn load_dir(dir: &Path) -> Result<FlowSet, Vec<Problem>> {
        let mut flows = Vec::new();
        let mut problems = Vec::new();
        for path in flow_files(dir).map_err(|e| vec![e])? {
            match Flow::load(&path) {
                Ok(f) => flows.push(f),
                Err(mut p) => problems.append(&mut p),
            }
        }
        if problems.is_empty() {
            Ok(FlowSet::new(flows))
        } else {
            Err(problems)
        }
    }

    pub fn get(&self, name: &str) -> Option<&Arc<Flow>> {
        self.flows.get(name)
    }

    /// Flows sorted by name, for stable output.
    pub fn flows(&self) -> Vec<&Arc<Flow>> {
        let mut v: Vec<_> = self.flows.values().collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        v
    }
}

/// The flow files of a directory, sorted.
pub fn flow_files(dir: &Path) -> Result<Vec<PathBuf>, Problem> {
    let rd = std::fs::read_dir(dir).map_err(|e| Problem {
        file: dir.to_path_buf(),
        line: 1,
        column: 1,
        message: format!("cannot read flows directory: {e}"),
    })?;
    let mut out: Vec<PathBuf> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file() && matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml"))
        })
        .collect();
    out.sort();
    Ok(out)
}

/// Like [`locate`], but for a path ending in a key whose value is a scalar on
/// the same line, the position of the value: `queue: billling` points at
/// `billling`, which is what the message is about.
pub fn locate_value(text: &str, path: &[Step]) -> (usize, usize) {
    let (line, col) = locate(text, path);
    if !matches!(path.last(), Some(Step::Key(_))) {
        return (line, col);
    }
    let Some(l) = text.lines().nth(line.saturating_sub(1)) else {
        return (line, col);
    };
    let chars: Vec<char> = l.chars().collect();
    let mut i = col.saturating_sub(1);
    // Skip the key (quoted or plain) up to the `:` that ends it.
    while i < chars.len() {
        if chars[i] == ':' && chars.get(i + 1).is_none_or(|c| c.is_whitespace()) {
            break;
        }
        i += 1;
    }
    i += 1;
    while i < chars.len() && chars[i] == ' ' {
        i += 1;
    }
    match chars.get(i) {
        None | Some('#') | Some('|') | Some('>') => (line, col),
        Some(_) => (line, i + 1),
    }
}

/// serde_yaml appends " at line L column C" (libyaml messages carry a second
/// one inside); we print the position in front, so drop every such phrase.
pub(crate) fn clean_serde_message(msg: &str) -> String {
    let mut out = String::new();
    let mut rest = msg;
    while let Some(i) = rest.find(" at line ") {
        let after = &rest[i + " at line ".len()..];
        let digits = |s: &str| s.bytes().take_while(u8::is_ascii_digit).count();
        let n = digits(after);
        let tail = &after[n..];
        match tail.strip_prefix(" column ") {
            Some(c) if n > 0 && digits(c) > 0 => {
                out.push_str(&rest[..i]);
                rest = &c[digits(c)..];
            }
            _ => {
                out.push_str(&rest[..i + 1]);
                rest = &rest[i + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Reports each repeated key of any mapping at the repeat, with the line of
/// the first occurrence.
pub(crate) fn duplicate_keys(text: &str, path: &Path) -> Vec<Problem> {
    use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
    use yaml_rust2::scanner::Marker;

    #[derive(Default)]
    struct Scan {
        /// Per open collection: None for a sequence, else (keys seen, expecting a key).
        stack: Vec<Option<(HashMap<String, usize>, bool)>>,
        found: Vec<(String, Marker, usize)>,
    }
    impl Scan {
        /// A node (scalar or collection start) was seen; returns whether it is a key.
        fn node(&mut self, key: Option<&str>, m: Marker) {
            if let Some(Some((seen, expect_key))) = self.stack.last_mut() {
                if *expect_key {
                    if let Some(k) = key {
                        if let Some(&first) = seen.get(k) {
                            self.found.push((k.to_string(), m, first));
                        } else {
                            seen.insert(k.to_string(), m.line());
                        }
                    }
                }
                *expect_key = !*expect_key;
            }
        }
    }
    impl MarkedEventReceiver for Scan {
        fn on_event(&mut self, ev: Event, m: Marker) {
            match ev {
                Event::Scalar(s, ..) => self.node(Some(&s), m),
                Event::Alias(_) => self.node(None, m),
                Event::MappingStart(..) => {
                    self.node(None, m);
                    self.stack.push(Some((HashMap::new(), true)));
                }
                Event::SequenceStart(..) => {
                    self.node(None, m);
                    self.stack.push(None);
                }
                Event::MappingEnd | Event::SequenceEnd => {
                    self.stack.pop();
                }
                _ => {}
            }
        }
    }
    let mut scan = Scan::default();
    // Syntax errors are left to serde_yaml, which reports them with libyaml's words.
    let _ = Parser::new_from_str(text).load(&mut scan, false);
    scan.found
        .into_iter()
        .map(|(k, m, first)| Problem {
            file: path.to_path_buf(),
            line: m.line().max(1),
            column: m.col() + 1,
            message: format!("duplicate key `{k}` (first on line {first})"),
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Compilation
// ---------------------------------------------------------------------------

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
const DEFAULT_MENU_INTER_DIGIT: Duration = Duration::from_secs(2);
const DEFAULT_COLLECT_INTER_DIGIT: Duration = Duration::from_secs(3);
const DEFAULT_RETRIES: u32 = 3;
const DEFAULT_LOOKUP_TIMEOUT: Duration = Duration::from_secs(3);
const DEFAULT_VM_MAX: Duration = Duration::from_secs(180);
const DEFAULT_VM_SILENCE: Duration = Duration::from_secs(5);
/// Prompts a menu or collect plays on a bad key / no key unless told otherwise.
pub const DEFAULT_INVALID_PROMPT: &str = "invalid";
pub const DEFAULT_TIMEOUT_PROMPT: &str = "timeout";

/// Names usable for nodes and variables: letters, digits, `_` and `-`.
pub fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// The variables every call has.
pub const BUILTIN_VARS: [&str; 3] = ["caller", "dialed", "language"];

mod compile;
use compile::Compiler;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_positions_are_removed_from_messages() {
        assert_eq!(
            clean_serde_message("did not find expected key at line 5 column 4, while parsing a block mapping at line 3 column 5"),
            "did not find expected key, while parsing a block mapping"
        );
        assert_eq!(clean_serde_message("x at line y"), "x at line y");
    }

    #[test]
    fn short_and_long_forms_are_equivalent() {
        let short = "nodes:\n  q:\n    queue: billing\n";
        let long = "nodes:\n  q:\n    queue: { name: billing, priority: 0 }\n";
        for text in [short, long] {
            let f = Flow::from_str_at(text, Path::new("f.yaml")).expect("flow");
            match &f.nodes[0].action {
                Action::Queue(q) => assert_eq!((q.name.as_str(), q.priority), ("billing", 0)),
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(
            Flow::from_str_at(short, Path::new("f.yaml"))
                .expect("flow")
                .start,
            "q"
        );
    }

    #[test]
    fn value_positions_skip_the_key() {
        let text = "a:\n  b: value # c\n  \"k:x\": v\n  d:\n    - 1\n";
        assert_eq!(
            locate_value(text, &[Step::from("a"), Step::from("b")]),
            (2, 6)
        );
        assert_eq!(
            locate_value(text, &[Step::from("a"), Step::from("k:x")]),
            (3, 10)
        );
        assert_eq!(
            locate_value(text, &[Step::from("a"), Step::from("d")]),
            (4, 3)
        );
    }

    #[test]
    fn wrong_shapes_are_located() {
        let e = Flow::from_str_at("nodes:\n  q:\n    queue: [a]\n", Path::new("f.yaml"))
            .expect_err("a list is not a queue");
        assert_eq!((e[0].line, e[0].column), (3, 12));
        assert!(
            e[0].message
                .contains("a queue name or {name, priority, skills}"),
            "{}",
            e[0].message
        );
        let e = Flow::from_str_at(
            "nodes:\n  q:\n    queue: {name: a, prio: 1}\n",
            Path::new("f.yaml"),
        )
        .expect_err("unknown key");
        assert_eq!(
            e[0].message,
            "nodes.q.queue: unknown field `prio`, expected one of `name`, `priority`, `skills`"
        );
        let e = Flow::from_str_at("nodes: {}\n", Path::new("f.yaml")).expect_err("empty");
        assert_eq!(e[0].message, "a flow needs at least one node");
    }
}

#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    const DEMO: &str = include_str!("../../ivr-flows/support.yaml");

    proptest! {
        #[test]
        fn any_text_loads_or_fails_without_panicking(text in "\\PC{0,200}") {
            let _ = Flow::compile(&text, Path::new("x.yaml"));
        }

        /// Damaged versions of the demo (a line dropped, a character changed)
        /// give problems with real positions, never a panic.
        #[test]
        fn damaged_demo_flows_report_positions(drop in 0usize..120, at in 0usize..4000, c in "[ :a-z0-9{}\\[\\]#*-]") {
            let mut lines: Vec<&str> = DEMO.lines().collect();
            if drop < lines.len() {
                lines.remove(drop);
            }
            let mut text = lines.join("\n");
            let at = at.min(text.len());
            if text.is_char_boundary(at) {
                text.insert_str(at, &c);
            }
            let (flow, mut problems) = Flow::compile(&text, Path::new("x.yaml"));
            if let Some(flow) = flow {
                struct All;
                impl crate::ivr::PromptCatalog for All {
                    fn has(&self, _: &str, name: &str) -> bool {
                        name != "goodbye"
                    }
                    fn languages(&self) -> Vec<String> {
                        vec!["en".into()]
                    }
                }
                problems.extend(crate::ivr::check_set(&FlowSet::new([flow]), &[], &All));
            }
            let n = text.lines().count().max(1);
            for p in problems {
                prop_assert!(p.line >= 1 && p.line <= n + 1, "{p}");
                prop_assert!(p.column >= 1);
            }
        }
    }
}
