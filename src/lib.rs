//! Switchboard: a telephony IVR and skill-based call-routing engine.
//!
//! The tree follows a call's path and keeps logic apart from I/O:
//! - [`sip`]: sans-IO SIP — message codec, transactions, dialogs, digest, registrar,
//!   and the [`sip::Endpoint`] state machine that ties them together. No sockets, no clock.
//! - [`server`]: the tokio shell — sockets, timers and storage threads feeding the cores.
//! - [`media`]: SDP offer/answer and the prompt library (audio decoded once at load).
//! - [`store`]: SQLite persistence (registrations now, CDRs later).
//! - [`acd`]: the skill-based queue router (agents, queues, strategies), sans-IO.
//! - [`admin`]: the admin HTTP API, Prometheus metrics and the live wallboard (axum).
//! - [`config`]: `switchboard.yaml`, validated with `file:line:column` errors.

pub mod acd;
pub mod admin;
pub mod cdr;
pub mod cli;
pub mod config;
pub mod ivr;
pub mod logging;
pub mod media;
pub mod server;
pub mod sip;
pub mod store;
