//! Media building blocks, sans-IO: codecs, DTMF, recording. Time is counted in samples
//! (8 kHz) or passed in by the caller; nothing here reads a clock or opens a socket
//! (the recorder writes the file it is given, nothing else).

pub mod dtmf;
pub mod g711;
pub mod recorder;
