//! Find where a key path sits in a YAML document, so that errors found after
//! deserialisation (a duplicate extension, a flow that does not exist) can still
//! name `file:line:column`. serde_yaml keeps no spans, so we walk the document's
//! events with yaml-rust2, which does.

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

/// One step of a path into a document: a mapping key or a sequence index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Key(String),
    Index(usize),
}

impl From<&str> for Step {
    fn from(k: &str) -> Self {
        Step::Key(k.to_string())
    }
}

impl From<usize> for Step {
    fn from(i: usize) -> Self {
        Step::Index(i)
    }
}

/// Builds a path: `path!["agents", 2, "extension"]`.
#[macro_export]
macro_rules! yaml_path {
    ($($s:expr),* $(,)?) => { [$($crate::config::locate::Step::from($s)),*] };
}

#[derive(Default)]
struct Collector {
    events: Vec<(Event, Marker)>,
}

impl MarkedEventReceiver for Collector {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        self.events.push((ev, mark));
    }
}

/// Returns the 1-based (line, column) of the value at `path` (for a mapping key,
/// the position of the key itself, which is where an admin looks). Falls back to
/// the deepest prefix of the path that exists, and to (1, 1) for an empty document.
pub fn locate(source: &str, path: &[Step]) -> (usize, usize) {
    let mut c = Collector::default();
    let mut parser = Parser::new_from_str(source);
    if parser.load(&mut c, false).is_err() && c.events.is_empty() {
        return (1, 1);
    }
    let evs = &c.events;
    // Skip StreamStart / DocumentStart.
    let mut i = 0;
    while i < evs.len() && matches!(evs[i].0, Event::StreamStart | Event::DocumentStart) {
        i += 1;
    }
    let mut best: Option<Marker> = evs.get(i).map(|e| e.1);
    for step in path {
        match (&evs.get(i).map(|e| &e.0), step) {
            (Some(Event::MappingStart(..)), Step::Key(k)) => {
                i += 1;
                let mut found = None;
                while i < evs.len() && !matches!(evs[i].0, Event::MappingEnd) {
                    let key_at = i;
                    let is_key = matches!(&evs[i].0, Event::Scalar(s, ..) if s == k);
                    i = skip_node(evs, i); // the key
                    if is_key {
                        found = Some((key_at, i));
                        break;
                    }
                    i = skip_node(evs, i); // the value
                }
                match found {
                    Some((key_at, value_at)) => {
                        best = Some(evs[key_at].1);
                        i = value_at;
                    }
                    None => return to_pos(best),
                }
            }
            (Some(Event::SequenceStart(..)), Step::Index(n)) => {
                i += 1;
                for _ in 0..*n {
                    if i >= evs.len() || matches!(evs[i].0, Event::SequenceEnd) {
                        return to_pos(best);
                    }
                    i = skip_node(evs, i);
                }
                if i >= evs.len() || matches!(evs[i].0, Event::SequenceEnd) {
                    return to_pos(best);
                }
                // A block mapping's start marker sits after its first key; point at the key.
                best = match (&evs[i].0, evs.get(i + 1)) {
                    (Event::MappingStart(..), Some(next)) => Some(next.1),
                    _ => Some(evs[i].1),
                };
            }
            _ => return to_pos(best),
        }
    }
    to_pos(best)
}

fn to_pos(m: Option<Marker>) -> (usize, usize) {
    m.map_or((1, 1), |m| (m.line().max(1), m.col() + 1))
}

/// Index just past the node starting at `i`.
fn skip_node(evs: &[(Event, Marker)], mut i: usize) -> usize {
    let mut depth = 0usize;
    loop {
        let Some((ev, _)) = evs.get(i) else { return i };
        i += 1;
        match ev {
            Event::MappingStart(..) | Event::SequenceStart(..) => depth += 1,
            Event::MappingEnd | Event::SequenceEnd => depth = depth.saturating_sub(1),
            _ => {}
        }
        if depth == 0 {
            return i;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "sip:\n  listen: 127.0.0.1:5060\nagents:\n  - extension: \"1001\"\n    name: A\n  - extension: \"1002\"\n    skills: {billing: 8}\n";

    #[test]
    fn finds_nested_keys_and_indices() {
        assert_eq!(locate(DOC, &yaml_path!["sip", "listen"]), (2, 3));
        assert_eq!(locate(DOC, &yaml_path!["agents", 1, "extension"]), (6, 5));
        assert_eq!(
            locate(DOC, &yaml_path!["agents", 1, "skills", "billing"]),
            (7, 14)
        );
        assert_eq!(locate(DOC, &yaml_path!["agents", 0]), (4, 5));
    }

    #[test]
    fn missing_path_falls_back_to_deepest_prefix() {
        assert_eq!(locate(DOC, &yaml_path!["agents", 1, "nope"]), (6, 5));
        assert_eq!(locate(DOC, &yaml_path!["agents", 9]), (3, 1));
        assert_eq!(locate("", &yaml_path!["x"]), (1, 1));
    }
}
