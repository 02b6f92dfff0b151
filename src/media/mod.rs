//! Media: SDP offer/answer ([`sdp`]) and the prompt library ([`prompts`]).

pub mod prompts;
pub mod sdp;
