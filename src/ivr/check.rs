//! `switchboard check` for flows: everything that can be known before a call
//! arrives, each problem as `file:line:column: message`.
//!
//! Compile-time problems (YAML, schema, durations, patterns, time zones) come
//! from [`Flow::load`]; this module adds what needs the whole flow set and the
//! configuration: targets that do not exist, unreachable nodes, dead ends,
//! menus without a way out, loops that never wait for input, unknown queues
//! and languages, and prompts missing in any language.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use super::flow::{flow_files, Action, Flow, FlowSet, Target};
use super::say;
use crate::config::locate::{locate, Step};
use crate::config::{Config, Problem};
use crate::media::prompts::{PromptLibrary, COMMON_DIR};

/// What the checker needs to know about prompt recordings.
pub trait PromptCatalog {
    /// Whether a caller speaking `lang` hears a recording of `name` made for
    /// that language (or a language-neutral one), without falling back to
    /// another language.
    fn has(&self, lang: &str, name: &str) -> bool;
    /// The configured prompt languages.
    fn languages(&self) -> Vec<String>;
}

impl PromptCatalog for PromptLibrary {
    fn has(&self, lang: &str, name: &str) -> bool {
        PromptLibrary::has(self, lang, name) || PromptLibrary::has(self, COMMON_DIR, name)
    }

    fn languages(&self) -> Vec<String> {
        PromptLibrary::languages(self)
            .into_iter()
            .map(String::from)
            .collect()
    }
}

/// Checks every flow file in `cfg.flows_dir` and every flow a number names.
/// `queues` are the queue names `queue:` nodes may use.
pub fn check_flows(cfg: &Config, queues: &[String], prompts: &dyn PromptCatalog) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut files: BTreeSet<std::path::PathBuf> = BTreeSet::new();
    match flow_files(&cfg.flows_dir) {
        Ok(f) => files.extend(f),
        Err(p) => problems.push(p),
    }
    let cfg_text = std::fs::read_to_string(&cfg.source).unwrap_or_default();
    for (number, n) in &cfg.numbers {
        if let Some(flow) = &n.flow {
            let path = cfg.flow_path(flow);
            if path.is_file() {
                files.insert(path);
            } else {
                let (line, column) = locate(
                    &cfg_text,
                    &[
                        Step::from("numbers"),
                        Step::from(number.as_str()),
                        Step::from("flow"),
                    ],
                );
                problems.push(Problem {
                    file: cfg.source.clone(),
                    line,
                    column,
                    message: format!("flow {flow:?} not found: no file {}", path.display()),
                });
            }
        }
    }
    let names: BTreeSet<String> = files
        .iter()
        .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .collect();
    let mut flows = Vec::new();
    for f in &files {
        let (flow, mut p) = match std::fs::read_to_string(f) {
            Ok(text) => Flow::compile(&text, f),
            Err(e) => (
                None,
                vec![Problem {
                    file: f.clone(),
                    line: 1,
                    column: 1,
                    message: format!("cannot read flow: {e}"),
                }],
            ),
        };
        problems.append(&mut p);
        flows.extend(flow);
    }
    problems.extend(check_loaded(&FlowSet::new(flows), &names, queues, prompts));
    finish(problems)
}

/// The graph, queue and prompt checks over an already compiled flow set
/// (for reloads and `simulate`).
pub fn check_set(flows: &FlowSet, queues: &[String], prompts: &dyn PromptCatalog) -> Vec<Problem> {
    let names = flows.flows().iter().map(|f| f.name.clone()).collect();
    finish(check_loaded(flows, &names, queues, prompts))
}

fn finish(mut problems: Vec<Problem>) -> Vec<Problem> {
    problems.sort_by(|a, b| {
        (&a.file, a.line, a.column, &a.message).cmp(&(&b.file, b.line, b.column, &b.message))
    });
    problems.dedup();
    problems
}

/// `known` are all flow names with a file (some may have failed to compile:
/// a `goto` to them is not reported again).
fn check_loaded(
    set: &FlowSet,
    known: &BTreeSet<String>,
    queues: &[String],
    prompts: &dyn PromptCatalog,
) -> Vec<Problem> {
    let mut out = Vec::new();
    let languages = prompts.languages();
    // Nodes reached from other flows by `goto`.
    let mut entered: HashMap<String, BTreeSet<String>> = HashMap::new();
    for flow in set.flows() {
        for node in &flow.nodes {
            if let Action::Goto(g) = &node.action {
                if let Some(fname) = &g.flow {
                    if let Some(target) = set.get(fname) {
                        let n = g.node.clone().unwrap_or_else(|| target.start.clone());
                        entered.entry(fname.clone()).or_default().insert(n);
                    }
                }
            }
        }
    }
    for flow in set.flows() {
        check_flow(flow, set, known, queues, prompts, &languages, &mut out);
        unreachable(flow, entered.get(&flow.name), &mut out);
    }
    loops(set, &mut out);
    out
}

/// A close existing name, to suggest for a typo.
fn suggest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> String {
    candidates
        .map(|c| (edit_distance(name, c), c))
        .filter(|(d, c)| *d <= 2 && *d < c.len())
        .min()
        .map(|(_, c)| format!(" (did you mean `{c}`?)"))
        .unwrap_or_default()
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

fn check_flow(
    flow: &Flow,
    set: &FlowSet,
    known: &BTreeSet<String>,
    queues: &[String],
    prompts: &dyn PromptCatalog,
    languages: &[String],
    out: &mut Vec<Problem>,
) {
    let node_names = || flow.nodes.iter().map(|n| n.name.as_str());
    if flow.node(&flow.start).is_none() {
        out.push(flow.problem_value(
            &[Step::from("start")],
            format!(
                "start node `{}` does not exist{}",
                flow.start,
                suggest(&flow.start, node_names())
            ),
        ));
    }
    for node in &flow.nodes {
        let at = |rest: &[&str]| -> Vec<Step> {
            let mut p = vec![Step::from("nodes"), Step::from(node.name.as_str())];
            p.extend(rest.iter().map(|s| Step::from(*s)));
            p
        };
        for e in node.edges() {
            if let Target::Node(t) = e.target {
                if flow.node(t).is_none() {
                    let mut p = e.path.clone();
                    // `1: {to: x}` names the target under `to`.
                    if matches!(node.action, Action::Menu(_))
                        && e.label != "failure"
                        && !e.path.is_empty()
                    {
                        let mut to = e.path.clone();
                        to.push(Step::from("to"));
                        if locate(&flow.text, &to) != locate(&flow.text, &e.path) {
                            p = to;
                        }
                    }
                    out.push(flow.problem_value(
                        &p,
                        format!("no node `{t}` in this flow{}", suggest(t, node_names())),
                    ));
                }
            }
        }
        let kind = node.action.kind();
        // Dead ends: a node that neither waits for an answer nor hands the
        // call on, and does not say where to go next.
        let needs_next = matches!(
            node.action,
            Action::Play(_)
                | Action::Say(_)
                | Action::Set(_)
                | Action::Language(_)
                | Action::Collect(_)
                | Action::Lookup(_)
        );
        if needs_next && node.next.is_none() {
            out.push(flow.problem(
                &at(&[]),
                format!("node `{}` ({kind}) has no `next`: say where the call goes afterwards (end with a `hangup: true` node to hang up)", node.name),
            ));
        }
        match &node.action {
            Action::Menu(m) => {
                menu_way_out(
                    flow,
                    node.name.as_str(),
                    "menu",
                    m.retries,
                    m.on_failure.as_ref(),
                    out,
                );
                for o in &m.options {
                    if let Some(l) = &o.language {
                        unknown_language(
                            flow,
                            &at(&["menu", "options", &o.key, "language"]),
                            l,
                            languages,
                            out,
                        );
                    }
                }
            }
            Action::Collect(c) => {
                menu_way_out(
                    flow,
                    node.name.as_str(),
                    "collect",
                    c.retries,
                    c.on_failure.as_ref(),
                    out,
                );
            }
            Action::Branch(b) if b.else_.is_none() && node.next.is_none() => {
                out.push(flow.problem(
                    &at(&["branch"]),
                    format!(
                        "branch `{}` has no `else`: say where the call goes when no rule matches",
                        node.name
                    ),
                ));
            }
            Action::Language(l) => unknown_language(flow, &at(&["language"]), l, languages, out),
            Action::Queue(q) if !queues.contains(&q.name) => {
                let mut known_q: Vec<&str> = queues.iter().map(String::as_str).collect();
                known_q.sort_unstable();
                let mut qp = at(&["queue", "name"]);
                if locate(&flow.text, &qp) == locate(&flow.text, &at(&["queue"])) {
                    qp = at(&["queue"]);
                }
                out.push(flow.problem_value(
                    &qp,
                    format!(
                        "no queue `{}`{}; queues: {}",
                        q.name,
                        suggest(&q.name, queues.iter().map(String::as_str)),
                        if known_q.is_empty() {
                            "none".to_string()
                        } else {
                            known_q.join(", ")
                        }
                    ),
                ));
            }
            Action::Goto(g) => match &g.flow {
                Some(fname) => match set.get(fname) {
                    Some(target) => {
                        if let Some(n) = &g.node {
                            if target.node(n).is_none() {
                                out.push(flow.problem_value(
                                    &at(&["goto", "node"]),
                                    format!("no node `{n}` in flow `{fname}`"),
                                ));
                            }
                        }
                    }
                    None if known.contains(fname) => {}
                    None => out.push(flow.problem_value(
                        &at(&["goto", "flow"]),
                        format!(
                            "no flow `{fname}` (no file {fname}.yaml next to this one){}",
                            suggest(fname, known.iter().map(String::as_str))
                        ),
                    )),
                },
                None => {
                    if let Some(n) = &g.node {
                        if flow.node(n).is_none() {
                            out.push(flow.problem_value(
                                &at(&["goto"]),
                                format!("no node `{n}` in this flow{}", suggest(n, node_names())),
                            ));
                        }
                    }
                }
            },
            _ => {}
        }
        // Prompts: every name in every configured language.
        for (path, list) in node.prompt_lists() {
            for (i, name) in list.iter().enumerate() {
                let missing: Vec<&str> = languages
                    .iter()
                    .filter(|l| !prompts.has(l, name))
                    .map(String::as_str)
                    .collect();
                if !missing.is_empty() {
                    out.push(flow.problem(
                        &item_path(&flow.text, &path, i),
                        format!(
                            "prompt `{name}` has no recording for {}",
                            missing.join(", ")
                        ),
                    ));
                }
            }
        }
        if let Action::Say(_) = &node.action {
            let mut missing: BTreeMap<&str, Vec<String>> = BTreeMap::new();
            for l in languages {
                for p in say::all_prompts(l) {
                    if !prompts.has(l, &p) {
                        missing.entry(l.as_str()).or_default().push(p);
                    }
                }
            }
            for (l, names) in missing {
                out.push(flow.problem(
                    &at(&["say"]),
                    format!("`say` needs prompts missing for {l}: {}", names.join(", ")),
                ));
            }
        }
    }
}

/// Where the `i`th prompt of a list is written: `[a, b]`, `{prompts: [a, b]}`,
/// or the key itself for a single name.
fn item_path(text: &str, base: &[Step], i: usize) -> Vec<Step> {
    let parent = locate(text, base);
    for extra in [
        vec![Step::Index(i)],
        vec![Step::from("prompts"), Step::Index(i)],
        vec![Step::from("prompts")],
    ] {
        let mut p = base.to_vec();
        p.extend(extra);
        if locate(text, &p) != parent {
            return p;
        }
    }
    base.to_vec()
}

fn unknown_language(
    flow: &Flow,
    path: &[Step],
    lang: &str,
    languages: &[String],
    out: &mut Vec<Problem>,
) {
    if !languages.is_empty() && !languages.iter().any(|l| l == lang) {
        out.push(flow.problem_value(
            path,
            format!(
                "language `{lang}` has no prompts (languages: {})",
                languages.join(", ")
            ),
        ));
    }
}

fn menu_way_out(
    flow: &Flow,
    node: &str,
    kind: &str,
    retries: u32,
    on_failure: Option<&Target>,
    out: &mut Vec<Problem>,
) {
    let at = [Step::from("nodes"), Step::from(node), Step::from(kind)];
    match on_failure {
        None => out.push(flow.problem(
            &at,
            format!("{kind} `{node}` has no way out after {retries} retries: add `on_failure:` (an operator queue, voicemail, or a goodbye and hangup)"),
        )),
        Some(Target::Node(t)) if t == node => {
            let mut p = at.to_vec();
            p.push(Step::from("on_failure"));
            out.push(flow.problem(
                &p,
                format!("`on_failure` of `{node}` leads back to `{node}`: a caller who never presses a valid key never gets out"),
            ));
        }
        _ => {}
    }
}

fn unreachable(flow: &Flow, entered: Option<&BTreeSet<String>>, out: &mut Vec<Problem>) {
    let mut seen = vec![false; flow.nodes.len()];
    let mut todo: Vec<usize> = flow.node_index(&flow.start).into_iter().collect();
    todo.extend(
        entered
            .into_iter()
            .flatten()
            .filter_map(|n| flow.node_index(n)),
    );
    while let Some(i) = todo.pop() {
        if std::mem::replace(&mut seen[i], true) {
            continue;
        }
        let Some(node) = flow.nodes.get(i) else {
            continue;
        };
        for e in node.edges() {
            if let Target::Node(t) = e.target {
                if let Some(j) = flow.node_index(t) {
                    todo.push(j);
                }
            }
        }
        if let Action::Goto(g) = &node.action {
            if let (None, Some(n)) = (&g.flow, &g.node) {
                todo.extend(flow.node_index(n));
            }
        }
    }
    if flow.node(&flow.start).is_none() {
        return; // already reported; everything would look unreachable
    }
    for (i, node) in flow.nodes.iter().enumerate() {
        if !seen[i] {
            out.push(flow.problem(
                &[Step::from("nodes"), Step::from(node.name.as_str())],
                format!(
                    "node `{}` is unreachable: nothing leads to it from `{}`",
                    node.name, flow.start
                ),
            ));
        }
    }
}

/// Cycles of nodes none of which waits for the caller (menu, collect,
/// voicemail): the call would spin forever. Found as strongly connected
/// components (Tarjan) of the graph without the waiting nodes, across flows.
fn loops(set: &FlowSet, out: &mut Vec<Problem>) {
    let flows = set.flows();
    // Global ids: (flow index, node index) → id.
    let mut ids: HashMap<(usize, usize), usize> = HashMap::new();
    let mut nodes: Vec<(usize, usize)> = Vec::new();
    for (fi, f) in flows.iter().enumerate() {
        for ni in 0..f.nodes.len() {
            ids.insert((fi, ni), nodes.len());
            nodes.push((fi, ni));
        }
    }
    let flow_index: HashMap<&str, usize> = flows
        .iter()
        .enumerate()
        .map(|(i, f)| (f.name.as_str(), i))
        .collect();
    let mut adj: Vec<Vec<usize>> = vec![Vec::new(); nodes.len()];
    for (id, &(fi, ni)) in nodes.iter().enumerate() {
        let f = flows[fi];
        let node = &f.nodes[ni];
        if node.action.takes_input() {
            continue;
        }
        let mut push = |fj: usize, name: &str| {
            if let Some(nj) = flows[fj].node_index(name) {
                if !flows[fj].nodes[nj].action.takes_input() {
                    if let Some(&t) = ids.get(&(fj, nj)) {
                        adj[id].push(t);
                    }
                }
            }
        };
        for e in node.edges() {
            if let Target::Node(t) = e.target {
                push(fi, t);
            }
        }
        if let Action::Goto(g) = &node.action {
            let fj = match &g.flow {
                Some(name) => flow_index.get(name.as_str()).copied(),
                None => Some(fi),
            };
            if let Some(fj) = fj {
                let n = g.node.clone().unwrap_or_else(|| flows[fj].start.clone());
                push(fj, &n);
            }
        }
    }
    for comp in tarjan(&adj) {
        let cyclic = comp.len() > 1 || comp.first().is_some_and(|&v| adj[v].contains(&v));
        if !cyclic {
            continue;
        }
        let mut members: Vec<(usize, usize)> = comp.iter().map(|&v| nodes[v]).collect();
        members.sort_unstable();
        let (fi, ni) = members[0];
        let f = flows[fi];
        let names: Vec<String> = members
            .iter()
            .map(|&(fj, nj)| {
                let n = &flows[fj].nodes[nj].name;
                if fj == fi {
                    format!("`{n}`")
                } else {
                    format!("`{}:{n}`", flows[fj].name)
                }
            })
            .collect();
        let what = if names.len() == 1 {
            format!("node {} leads back to itself", names[0])
        } else {
            format!("nodes {} form a loop", names.join(", "))
        };
        out.push(f.problem(
            &[Step::from("nodes"), Step::from(f.nodes[ni].name.as_str())],
            format!("{what} that never waits for the caller (no menu, collect or voicemail in it)"),
        ));
    }
}

/// Strongly connected components, iteratively (flows can be long; no recursion).
fn tarjan(adj: &[Vec<usize>]) -> Vec<Vec<usize>> {
    let n = adj.len();
    let mut index = vec![usize::MAX; n];
    let mut low = vec![0; n];
    let mut on_stack = vec![false; n];
    let mut stack = Vec::new();
    let mut comps = Vec::new();
    let mut next = 0;
    for root in 0..n {
        if index[root] != usize::MAX {
            continue;
        }
        let mut work: Vec<(usize, usize)> = vec![(root, 0)];
        while let Some(&mut (v, ref mut ei)) = work.last_mut() {
            if *ei == 0 && index[v] == usize::MAX {
                index[v] = next;
                low[v] = next;
                next += 1;
                stack.push(v);
                on_stack[v] = true;
            }
            if let Some(&w) = adj[v].get(*ei) {
                *ei += 1;
                if index[w] == usize::MAX {
                    work.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
                continue;
            }
            work.pop();
            if let Some(&(parent, _)) = work.last() {
                low[parent] = low[parent].min(low[v]);
            }
            if low[v] == index[v] {
                let mut comp = Vec::new();
                while let Some(w) = stack.pop() {
                    on_stack[w] = false;
                    comp.push(w);
                    if w == v {
                        break;
                    }
                }
                comps.push(comp);
            }
        }
    }
    comps
}

/// Prompt catalog from a directory tree, for tools that run without loading
/// audio: `<dir>/<lang>/<name>.wav`, with `<dir>/common/` for every language.
pub struct DirPrompts {
    dir: std::path::PathBuf,
}

impl DirPrompts {
    pub fn new(dir: &Path) -> DirPrompts {
        DirPrompts {
            dir: dir.to_path_buf(),
        }
    }
}

impl PromptCatalog for DirPrompts {
    fn has(&self, lang: &str, name: &str) -> bool {
        [lang, COMMON_DIR]
            .iter()
            .any(|l| self.dir.join(l).join(format!("{name}.wav")).is_file())
    }

    fn languages(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(&self.dir)
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok())
            .filter(|e| e.path().is_dir())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n != COMMON_DIR && !n.starts_with('.'))
            .collect();
        v.sort();
        v
    }
}
