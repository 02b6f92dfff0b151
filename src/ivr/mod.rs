//! IVR flows: the YAML flow language, its checker, the sans-IO interpreter,
//! the offline simulator and diagram output. Reference: `docs/ivr.md`.
//!
//! A caller's key press arrives at the shell as DTMF, becomes
//! [`IvrInput::Digit`], and the [`Session`] answers with [`IvrAction`]s
//! (play, enqueue, …) the shell carries out.

pub mod check;
pub mod commands;
pub mod flow;
pub mod graph;
pub mod interpreter;
pub mod pattern;
pub mod say;
pub mod schedule;
pub mod simulate;

pub use check::{check_flows, check_set, PromptCatalog};
pub use flow::{Flow, FlowSet};
pub use interpreter::{CallContext, IvrAction, IvrInput, PromptRef, Session, TrailEntry};
