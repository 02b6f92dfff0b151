//! Media building blocks, sans-IO: codecs, DTMF, recording, SDP, prompts. Time is
//! counted in samples (8 kHz) or passed in by the caller; nothing here reads a clock
//! or opens a socket (the recorder and the prompt loader use the files they are given).

pub mod dtmf;
pub mod engine;
pub mod g711;
pub mod prompts;
pub mod recorder;
pub mod recording;
pub mod sdp;
