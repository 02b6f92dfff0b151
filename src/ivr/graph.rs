//! `switchboard graph`: a flow as Graphviz DOT or Mermaid, so admins can look
//! at a flow rather than read it.

use std::fmt::Write as _;

use super::flow::{Action, Flow, Node, SayAs, Target};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Dot,
    Mermaid,
}

/// One line describing what a node does.
pub fn summary(node: &Node) -> String {
    match &node.action {
        Action::Play(p) => format!("play: {}", p.prompts.join(", ")),
        Action::Say(s) => format!(
            "say {} as {}",
            s.var,
            if s.as_ == SayAs::Digits {
                "digits"
            } else {
                "number"
            }
        ),
        Action::Menu(m) => format!("menu: {}", m.prompt.join(", ")),
        Action::Collect(c) => format!("collect {}-{} digits into {}", c.min, c.max, c.into),
        Action::Set(v) => format!(
            "set {}",
            v.iter()
                .map(|(k, _)| k.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Action::Branch(_) => "branch".to_string(),
        Action::Hours(h) => format!("hours ({})", h.schedule.zone_name),
        Action::Language(l) => format!("language: {l}"),
        Action::Lookup(l) => format!("lookup {}", l.method),
        Action::Queue(q) => format!("queue: {}", q.name),
        Action::Transfer(t) => format!("transfer: {t}"),
        Action::Voicemail(v) => format!("voicemail: {}", v.box_name),
        Action::Hangup => "hangup".to_string(),
        Action::Goto(g) => match (&g.flow, &g.node) {
            (Some(f), Some(n)) => format!("goto {f}:{n}"),
            (Some(f), None) => format!("goto flow {f}"),
            (None, n) => format!("goto {}", n.as_deref().unwrap_or("")),
        },
    }
}

enum Dest {
    Node(usize),
    Back,
    Flow(String),
}

fn edges(flow: &Flow, node: &Node) -> Vec<(Dest, String)> {
    let mut out = Vec::new();
    for e in node.edges() {
        match e.target {
            Target::Back => out.push((Dest::Back, e.label)),
            Target::Node(n) => {
                if let Some(i) = flow.node_index(n) {
                    out.push((Dest::Node(i), e.label));
                }
            }
        }
    }
    if let Action::Goto(g) = &node.action {
        match (&g.flow, &g.node) {
            (Some(f), n) => out.push((
                Dest::Flow(match n {
                    Some(n) => format!("{f}:{n}"),
                    None => f.clone(),
                }),
                String::new(),
            )),
            (None, Some(n)) => {
                if let Some(i) = flow.node_index(n) {
                    out.push((Dest::Node(i), String::new()));
                }
            }
            (None, None) => {}
        }
    }
    out
}

fn dot_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

fn mermaid_escape(s: &str) -> String {
    s.replace('"', "#quot;")
}

pub fn render(flow: &Flow, format: Format) -> String {
    match format {
        Format::Dot => dot(flow),
        Format::Mermaid => mermaid(flow),
    }
}

fn dot_shape(a: &Action) -> &'static str {
    match a {
        Action::Menu(_) | Action::Collect(_) => "box, style=\"rounded,bold\"",
        Action::Branch(_) | Action::Hours(_) => "diamond",
        Action::Queue(_) | Action::Transfer(_) | Action::Hangup | Action::Voicemail(_) => {
            "doubleoctagon"
        }
        _ => "box",
    }
}

fn dot(flow: &Flow) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "digraph \"{}\" {{", dot_escape(&flow.name));
    let _ = writeln!(s, "  rankdir=TB;");
    let _ = writeln!(s, "  node [fontname=\"Helvetica\", shape=box];");
    let _ = writeln!(s, "  edge [fontname=\"Helvetica\"];");
    let mut back = false;
    let mut flows = Vec::new();
    for (i, n) in flow.nodes.iter().enumerate() {
        let start = if n.name == flow.start {
            ", penwidth=2"
        } else {
            ""
        };
        let _ = writeln!(
            s,
            "  n{i} [label=\"{}\\n{}\", shape={}{start}];",
            dot_escape(&n.name),
            dot_escape(&summary(n)),
            dot_shape(&n.action)
        );
    }
    for (i, n) in flow.nodes.iter().enumerate() {
        for (d, label) in edges(flow, n) {
            let to = match d {
                Dest::Node(j) => format!("n{j}"),
                Dest::Back => {
                    back = true;
                    "back".to_string()
                }
                Dest::Flow(f) => {
                    let id = format!("flow_{}", flows.len());
                    flows.push((id.clone(), f));
                    id
                }
            };
            if label.is_empty() {
                let _ = writeln!(s, "  n{i} -> {to};");
            } else {
                let _ = writeln!(s, "  n{i} -> {to} [label=\"{}\"];", dot_escape(&label));
            }
        }
    }
    if back {
        let _ = writeln!(
            s,
            "  back [label=\"previous menu\", shape=ellipse, style=dashed];"
        );
    }
    for (id, f) in flows {
        let _ = writeln!(
            s,
            "  {id} [label=\"flow {}\", shape=folder];",
            dot_escape(&f)
        );
    }
    s.push_str("}\n");
    s
}

fn mermaid(flow: &Flow) -> String {
    let mut s = String::from("flowchart TD\n");
    let mut back = false;
    let mut flows = Vec::new();
    for (i, n) in flow.nodes.iter().enumerate() {
        let label = format!(
            "{}<br/>{}",
            mermaid_escape(&n.name),
            mermaid_escape(&summary(n))
        );
        let (open, close) = match n.action {
            Action::Menu(_) | Action::Collect(_) => ("([", "])"),
            Action::Branch(_) | Action::Hours(_) => ("{", "}"),
            Action::Queue(_) | Action::Transfer(_) | Action::Hangup | Action::Voicemail(_) => {
                ("[[", "]]")
            }
            _ => ("[", "]"),
        };
        let _ = writeln!(s, "  n{i}{open}\"{label}\"{close}");
    }
    for (i, n) in flow.nodes.iter().enumerate() {
        for (d, label) in edges(flow, n) {
            let to = match d {
                Dest::Node(j) => format!("n{j}"),
                Dest::Back => {
                    back = true;
                    "back".to_string()
                }
                Dest::Flow(f) => {
                    let id = format!("flow_{}", flows.len());
                    flows.push((id.clone(), f));
                    id
                }
            };
            if label.is_empty() {
                let _ = writeln!(s, "  n{i} --> {to}");
            } else {
                let _ = writeln!(s, "  n{i} -- \"{}\" --> {to}", mermaid_escape(&label));
            }
        }
    }
    if back {
        let _ = writeln!(s, "  back([\"previous menu\"])");
    }
    for (id, f) in flows {
        let _ = writeln!(s, "  {id}>\"flow {}\"]", mermaid_escape(&f));
    }
    if let Some(i) = flow.node_index(&flow.start) {
        let _ = writeln!(s, "  style n{i} stroke-width:3px");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    const FLOW: &str = r#"nodes:
  hello:
    play: welcome
    next: menu
  menu:
    menu:
      prompt: main-menu
      options:
        1: bye
        9: back
      on_failure: bye
  bye:
    hangup: true
"#;

    #[test]
    fn dot_lists_nodes_and_labelled_edges() {
        let f = Flow::from_str_at(FLOW, Path::new("t.yaml")).expect("flow");
        let d = render(&f, Format::Dot);
        assert!(d.starts_with("digraph \"t\" {\n"), "{d}");
        assert!(
            d.contains("n0 [label=\"hello\\nplay: welcome\", shape=box, penwidth=2];"),
            "{d}"
        );
        assert!(d.contains("n0 -> n1;"), "{d}");
        assert!(d.contains("n1 -> n2 [label=\"1\"];"), "{d}");
        assert!(d.contains("n1 -> back [label=\"9\"];"), "{d}");
        assert!(d.contains("n1 -> n2 [label=\"failure\"];"), "{d}");
        assert!(d.ends_with("}\n"));
    }

    #[test]
    fn mermaid_uses_safe_ids() {
        let f = Flow::from_str_at(FLOW, Path::new("t.yaml")).expect("flow");
        let m = render(&f, Format::Mermaid);
        assert!(m.starts_with("flowchart TD\n"), "{m}");
        assert!(m.contains("  n1([\"menu<br/>menu: main-menu\"])"), "{m}");
        assert!(m.contains("  n1 -- \"1\" --> n2"), "{m}");
        assert!(m.contains("  n2[[\"bye<br/>hangup\"]]"), "{m}");
        assert!(m.contains("style n0 stroke-width:3px"), "{m}");
    }
}
