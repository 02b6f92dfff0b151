//! What each call does once answered: the glue between SIP sessions, the
//! media task and the service a number offers — the echo test, or an IVR flow
//! run by the sans-IO [`ivr::Session`](crate::ivr::interpreter::Session).
//!
//! A caller's key press arrives here as a media event (RFC 4733, in-band) or a
//! call event (SIP INFO) and goes to the call's IVR session as `IvrInput::Digit`.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::mpsc;
use tracing::{info, info_span, warn};

mod admin;
mod callback;
mod features;
mod live;
mod queue;
mod record;
mod transfer;
mod voicemail;

use super::lookup;
use super::media::{MediaCommand, MediaHandle, RtpPorts};
use crate::acd::{CallId, Input as AcdInput, Router};
use crate::cdr::HungUpBy;
use crate::config::NumberConfig;
use crate::ivr::flow::FlowSet;
use crate::ivr::interpreter::{CallContext, IvrAction, IvrInput, Session, TrailEntry};
use crate::media::engine::{DigitSource, MediaEvent, StreamId};
use crate::media::prompts::PromptLibrary;
use crate::sip::endpoint::Endpoint;
use crate::sip::session::{CallEvent, CallRef, EndReason};

/// Play ids of our own (hold music), far above the IVR's own numbering.
const OWN_PLAYS: u64 = 1 << 48;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Service {
    /// Play the echo-test prompt, then send the caller's audio back.
    Echo,
    /// Run the IVR flow of that name.
    Flow(String),
    /// An agent's feature code was carried out: confirm, then hang up.
    Confirm,
    /// Our call back to a customer who asked for one; bridged to the agent
    /// waiting on `agent_leg` once answered.
    Callback { agent_leg: CallRef },
    /// An agent dialled a colleague's extension (a consultation before an
    /// attended transfer, or simply a question): ring it directly.
    Extension(String),
}

struct Call {
    service: Service,
    stream: StreamId,
    sip_call_id: String,
    caller: String,
    number: String,
    media_up: bool,
    lang: String,
    /// The prompt play whose end starts the echo.
    intro_play: Option<u64>,
    ivr: Option<Session>,
    /// Waiting in a queue: the hold music play to repeat.
    holding: Option<u64>,
    /// In a queue (or talking to one of its agents).
    queue: Option<String>,
    /// The agent leg this caller is bridged to.
    bridged: Option<CallRef>,
    /// The caller's id in the router: the call's own, except for a callback,
    /// which carries the id of the call that asked for it.
    acd: CallId,
    /// Asking for, or holding, a queued callback.
    callback: callback::Stage,
    /// Flow to run for the caller when the agent hangs up (the queue's survey).
    survey: Option<String>,
    /// The survey is running: its `score` goes into the record.
    in_survey: bool,
    /// Who ends the call when we hang up on the caller (the agent left, or
    /// the system did).
    ended_by: HungUpBy,
    started: Instant,
}

/// Our outgoing call to an agent's phone for a queued caller.
struct AgentLeg {
    caller: CallRef,
    /// The caller's id in the router.
    acd: CallId,
    agent: String,
    kind: LegKind,
    answered: bool,
    stream: StreamId,
    socket: Option<std::net::UdpSocket>,
}

/// Why we ring an agent's phone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LegKind {
    /// A queue offer: the router hears every outcome.
    Queue,
    /// A call to this extension, outside the queues (a blind transfer, a
    /// flow's `transfer:`): the router holds the agent on it
    /// (`DirectCall` .. `DirectEnded`).
    Direct,
    /// A queued callback: the agent answers first, then we dial the customer.
    Callback,
}

/// A lookup answer on its way back to the core task.
pub struct LookupDone {
    pub call: CallRef,
    pub id: u64,
    pub body: Option<serde_json::Value>,
}

/// Where wall-clock time comes from: the real clock, or a fixed start for
/// demos and tests (`SWITCHBOARD_CLOCK`), advancing with the monotonic clock.
#[derive(Debug, Clone, Copy)]
pub struct WallClock {
    base_ms: i64,
    base: Instant,
}

impl WallClock {
    pub fn new(start_unix_ms: i64, now: Instant) -> Self {
        WallClock {
            base_ms: start_unix_ms,
            base: now,
        }
    }

    pub fn at(&self, now: Instant) -> i64 {
        self.base_ms + now.saturating_duration_since(self.base).as_millis() as i64
    }

    /// Today in `zone` as wall-clock ms: from local midnight, and to the end
    /// of the day rather than `now` (a clock set back by `SWITCHBOARD_CLOCK`
    /// restarts before the events it already wrote).
    pub fn today(&self, zone: &jiff::tz::TimeZone, now: Instant) -> (i64, i64) {
        let now = self.at(now);
        let start = jiff::Timestamp::from_millisecond(now)
            .ok()
            .and_then(|t| t.to_zoned(zone.clone()).start_of_day().ok())
            .map_or(now, |z| z.timestamp().as_millisecond());
        (start, start + 25 * 3600 * 1000)
    }
}

pub struct Calls {
    numbers: BTreeMap<String, NumberConfig>,
    prompts: Arc<PromptLibrary>,
    flows: Arc<FlowSet>,
    default_lang: String,
    ports: RtpPorts,
    media: MediaHandle,
    lookups: mpsc::UnboundedSender<LookupDone>,
    voicemail_dir: PathBuf,
    clock: WallClock,
    calls: HashMap<CallRef, Call>,
    by_stream: HashMap<StreamId, CallRef>,
    /// RTP sockets bound for calls whose media is not negotiated yet.
    pending_sockets: HashMap<CallRef, std::net::UdpSocket>,
    /// Voicemail being recorded, by stream: outlives the call, because a caller
    /// who hangs up mid-message still leaves the message.
    recording: HashMap<StreamId, VoicemailMeta>,
    next_play: u64,
    router: Router,
    domain: String,
    legs: HashMap<CallRef, AgentLeg>,
    /// Callbacks booked by callers now off the line, by router id.
    callbacks: HashMap<CallId, callback::Booked>,
    /// Where calls to numbers that are not extensions go (queued callbacks).
    trunk: Option<std::net::SocketAddr>,
    recordings_dir: PathBuf,
    records: record::Records,
    live: live::LiveStats,
    /// The IVR sessions' deadlines, earliest first. An entry whose session
    /// has since moved on (or gone) is skipped when it comes up: cheaper than
    /// looking at every call's session at every wake-up.
    ivr_timers: BinaryHeap<Reverse<(Instant, CallRef)>>,
}

struct VoicemailMeta {
    call: CallRef,
    caller: String,
    dialed: String,
    sip_call_id: String,
}

pub struct CallsConfig {
    pub numbers: BTreeMap<String, NumberConfig>,
    pub prompts: Arc<PromptLibrary>,
    pub flows: Arc<FlowSet>,
    pub default_lang: String,
    pub ports: RtpPorts,
    pub voicemail_dir: PathBuf,
    pub clock: WallClock,
    pub router: Router,
    pub domain: String,
    pub trunk: Option<std::net::SocketAddr>,
    pub recordings_dir: PathBuf,
    pub cdr: crate::server::cdr_writer::CdrWriter,
}

impl Calls {
    pub fn new(
        cfg: CallsConfig,
        media: MediaHandle,
        lookups: mpsc::UnboundedSender<LookupDone>,
    ) -> Self {
        Calls {
            numbers: cfg.numbers,
            prompts: cfg.prompts,
            flows: cfg.flows,
            default_lang: cfg.default_lang,
            ports: cfg.ports,
            media,
            lookups,
            voicemail_dir: cfg.voicemail_dir,
            clock: cfg.clock,
            calls: HashMap::new(),
            by_stream: HashMap::new(),
            pending_sockets: HashMap::new(),
            recording: HashMap::new(),
            next_play: OWN_PLAYS,
            router: cfg.router,
            domain: cfg.domain,
            legs: HashMap::new(),
            callbacks: HashMap::new(),
            trunk: cfg.trunk,
            recordings_dir: cfg.recordings_dir,
            records: record::Records::new(cfg.cdr),
            live: live::LiveStats::new(cfg.clock, Instant::now()),
            ivr_timers: BinaryHeap::new(),
        }
    }

    /// New flows and prompts for calls that start from now on; calls in
    /// progress keep the flows (and the prompts being played) they have.
    pub fn reload(&mut self, flows: Arc<FlowSet>, prompts: Arc<PromptLibrary>) {
        self.flows = flows;
        self.prompts = prompts;
    }

    /// Plays prompts by name in the call's language; returns the play id.
    fn play_names(
        &mut self,
        call: CallRef,
        names: &[&str],
        lang: &str,
        barge_in: bool,
        play: Option<u64>,
    ) -> Option<u64> {
        let c = self.calls.get(&call)?;
        let prompts: Vec<_> = names
            .iter()
            .filter_map(|n| self.prompts.get(lang, n))
            .collect();
        if prompts.len() != names.len() {
            warn!(%call, ?names, %lang, "prompt missing");
        }
        let play = play.unwrap_or_else(|| {
            self.next_play += 1;
            self.next_play
        });
        let _ = self.media.send(MediaCommand::Play {
            id: c.stream,
            play,
            prompts,
            barge_in,
        });
        Some(play)
    }

    pub fn on_call_event(&mut self, now: Instant, ep: &mut Endpoint, ev: CallEvent) {
        match ev {
            CallEvent::Incoming {
                call,
                number,
                caller,
                caller_name,
                sip_call_id,
                source,
            } => {
                let span = info_span!("call", call_id = %sip_call_id);
                let _g = span.enter();
                let service = match self.numbers.get(&number) {
                    Some(n) if n.echo => Service::Echo,
                    Some(n) => Service::Flow(n.flow.clone().unwrap_or_default()),
                    None if number.starts_with('*') => {
                        match self.feature_code(now, ep, &caller, &number, source) {
                            Ok(()) => Service::Confirm,
                            Err(code) => return ep.reject_call(now, call, code),
                        }
                    }
                    None if self.router.agent_state(&number).is_some() => {
                        // Extensions are dialled from agents' own phones only.
                        if !Self::own_phone(ep, &caller, source) {
                            warn!(%caller, %number, %source, "call to an extension from a phone not registered to an agent");
                            return ep.reject_call(now, call, 403);
                        }
                        Service::Extension(number.clone())
                    }
                    None => return ep.reject_call(now, call, 404),
                };
                if service == Service::Confirm {
                    self.run_router(now, ep);
                }
                let socket = match self.ports.bind() {
                    Ok(s) => s,
                    Err(e) => {
                        warn!(%call, "no RTP port: {e}");
                        return ep.reject_call(now, call, 503);
                    }
                };
                let Ok(local) = socket.local_addr() else {
                    return ep.reject_call(now, call, 503);
                };
                let stream = StreamId(call.0);
                info!(%call, %number, %caller, ?service, rtp = %local, "answering");
                if service != Service::Confirm {
                    // One record per customer call (an agent's feature code is an agent event).
                    let acd = CallId(call.0);
                    self.journey_start(now, acd, &sip_call_id, &caller, caller_name, &number);
                }
                let lang = self.default_lang.clone();
                self.calls.insert(
                    call,
                    Call {
                        service,
                        stream,
                        sip_call_id,
                        caller,
                        number,
                        media_up: false,
                        lang,
                        intro_play: None,
                        ivr: None,
                        holding: None,
                        queue: None,
                        bridged: None,
                        acd: CallId(call.0),
                        callback: callback::Stage::None,
                        survey: None,
                        in_survey: false,
                        ended_by: HungUpBy::System,
                        started: now,
                    },
                );
                self.by_stream.insert(stream, call);
                self.pending_sockets.insert(call, socket);
                ep.accept_call(now, call, local);
            }
            CallEvent::Media { call, media } if self.legs.contains_key(&call) => {
                let Some(leg) = self.legs.get_mut(&call) else {
                    return;
                };
                let Some(socket) = leg.socket.take() else {
                    // A re-INVITE from the agent's phone: hold puts the caller on music.
                    let (stream, caller) = (leg.stream, leg.caller);
                    let held = !media.direction.sends();
                    let acd = leg.acd;
                    let _ = self.media.send(MediaCommand::Update { id: stream, media });
                    if let Some(c) = self.calls.get(&caller) {
                        let other = c.stream;
                        self.hold_music(other, held);
                    }
                    let ms = self.ms(now);
                    self.journey(acd, |j| j.hold(held, ms));
                    return;
                };
                let (agent_stream, caller, kind) = (leg.stream, leg.caller, leg.kind);
                let _ = self.media.send(MediaCommand::Add {
                    id: agent_stream,
                    socket,
                    media,
                });
                if kind == LegKind::Callback {
                    // The agent is on the line: now call the customer.
                    self.dial_customer(now, ep, call);
                } else {
                    self.connect(now, ep, caller, call);
                }
            }
            CallEvent::Media { call, media } => {
                let Some(c) = self.calls.get_mut(&call) else {
                    return;
                };
                if c.media_up {
                    // A re-INVITE from the caller: hold puts the agent on music.
                    let held = !media.direction.sends();
                    let bridged = c
                        .bridged
                        .and_then(|leg| self.legs.get(&leg))
                        .map(|l| l.stream);
                    let acd = c.acd;
                    let _ = self.media.send(MediaCommand::Update {
                        id: c.stream,
                        media,
                    });
                    if let Some(agent_stream) = bridged {
                        self.hold_music(agent_stream, held);
                        let ms = self.ms(now);
                        self.journey(acd, |j| j.hold(held, ms));
                    }
                    return;
                }
                let Some(socket) = self.pending_sockets.remove(&call) else {
                    return;
                };
                c.media_up = true;
                let acd = c.acd;
                let _ = self.media.send(MediaCommand::Add {
                    id: c.stream,
                    socket,
                    media,
                });
                let ms = self.ms(now);
                self.journey(acd, |j| j.answered(ms));
                self.start_service(now, ep, call);
            }
            CallEvent::Digit { call, digit } => self.digit(now, ep, call, digit, "sip-info"),
            CallEvent::Transfer { call, target, uri } => {
                self.transfer(now, ep, call, &target, &uri)
            }
            CallEvent::AttendedTransfer { call, other, uri } => {
                self.attended_transfer(now, ep, call, other, &uri)
            }
            CallEvent::Ringing { call } => {
                if let Some(leg) = self.legs.get(&call) {
                    info!(agent_leg = %call, agent = %leg.agent, "agent ringing");
                }
            }
            CallEvent::Answered { call } => {
                if let Some(c) = self.calls.get(&call) {
                    // A customer picked up our callback; the bridge follows the media.
                    info!(%call, caller = %c.caller, "callback answered");
                    return;
                }
                let Some(leg) = self.legs.get_mut(&call) else {
                    return;
                };
                leg.answered = true;
                info!(agent_leg = %call, agent = %leg.agent, kind = ?leg.kind, "agent answered");
                if leg.kind == LegKind::Direct {
                    let input = AcdInput::DirectAnswered {
                        agent: leg.agent.clone(),
                        call: leg.acd,
                    };
                    if let Err(e) = self.router.handle(now, input) {
                        warn!(agent_leg = %call, error = %e, "direct call answer refused");
                    }
                    self.cancel_siblings(now, ep, call);
                    return self.run_router(now, ep);
                }
                if leg.kind != LegKind::Queue {
                    return self.cancel_siblings(now, ep, call);
                }
                let (acd, agent) = (leg.acd, leg.agent.clone());
                let input = AcdInput::OfferAnswered {
                    call: acd,
                    agent: agent.clone(),
                };
                if let Err(e) = self.router.handle(now, input) {
                    // Too late (ring timeout, or another phone won a ring-all).
                    info!(agent_leg = %call, "answer not needed: {e}");
                    ep.hangup_call(now, call);
                } else {
                    self.cancel_siblings(now, ep, call);
                    let ms = self.ms(now);
                    let leg_id = ep.sip_call_id(call).unwrap_or_default().to_string();
                    self.journey(acd, |j| j.connected(agent, leg_id, ms));
                }
                self.run_router(now, ep);
            }
            CallEvent::Ended { call, reason } if self.legs.contains_key(&call) => {
                self.agent_leg_ended(now, ep, call, reason)
            }
            CallEvent::Ended { call, reason } => {
                self.pending_sockets.remove(&call);
                if let Some(c) = self.calls.remove(&call) {
                    let (flow, node) = c.ivr.as_ref().map(|s| s.position()).unwrap_or(("", ""));
                    info!(%call, call_id = %c.sip_call_id, ?reason, %flow, %node, "call ended");
                    self.by_stream.remove(&c.stream);
                    let _ = self.media.send(MediaCommand::Remove { id: c.stream });
                    if c.in_survey {
                        self.survey_done(&c);
                    }
                    let by = match reason {
                        EndReason::RemoteHangup | EndReason::CallerCancelled => HungUpBy::Caller,
                        _ => c.ended_by,
                    };
                    if let Service::Extension(_) = c.service {
                        // The dialling agent rests again (if this call held it).
                        self.end_direct(now, &c.caller, c.acd);
                    }
                    match c.service {
                        Service::Callback { agent_leg } if !c.media_up => {
                            // The customer did not pick up: this attempt failed.
                            info!(%call, ?reason, "callback not answered");
                            let ms = self.ms(now);
                            self.journey(c.acd, |j| j.callback_attempt(ms, false));
                            self.drop_leg(now, ep, agent_leg);
                            let input = AcdInput::CallbackResult {
                                call: c.acd,
                                answered: false,
                            };
                            if let Err(e) = self.router.handle(now, input) {
                                info!(%call, "callback result not needed: {e}");
                            }
                        }
                        _ => {
                            // A caller with a callback booked keeps its place off the line.
                            if c.queue.is_some() && c.callback != callback::Stage::Booked {
                                let _ = self.router.handle(now, AcdInput::CallLeft { call: c.acd });
                                self.live.call_ended(now, c.acd);
                            }
                            if let Some(leg) = c.bridged {
                                ep.hangup_call(now, leg);
                            }
                            // A booked callback keeps the record open until it is made.
                            if c.callback != callback::Stage::Booked {
                                self.journey_end(now, c.acd, by, &format!("{reason:?}"));
                            }
                        }
                    }
                    self.run_router(now, ep);
                }
            }
        }
    }

    fn start_service(&mut self, now: Instant, ep: &mut Endpoint, call: CallRef) {
        let Some(c) = self.calls.get(&call) else {
            return;
        };
        match c.service.clone() {
            Service::Echo => {
                let lang = c.lang.clone();
                let play = self.play_names(call, &["echo-test"], &lang, true, None);
                if let Some(c) = self.calls.get_mut(&call) {
                    c.intro_play = play;
                }
            }
            Service::Callback { agent_leg } => {
                let acd = c.acd;
                let input = AcdInput::CallbackResult {
                    call: acd,
                    answered: true,
                };
                match self.router.handle(now, input) {
                    Ok(()) => {
                        let ms = self.ms(now);
                        self.journey(acd, |j| j.callback_attempt(ms, true));
                        self.connect(now, ep, call, agent_leg);
                        self.callbacks.remove(&acd);
                    }
                    Err(e) => {
                        // The attempt timed out in the router meanwhile: nobody is reserved.
                        warn!(%call, "callback answered too late: {e}");
                        self.drop_leg(now, ep, agent_leg);
                        ep.hangup_call(now, call);
                    }
                }
                self.run_router(now, ep);
            }
            Service::Extension(ext) => {
                // The dialling agent is busy on this call too (unless it is
                // on a call already, the one a consultation is about): no
                // queue offers it a caller meanwhile.
                let (agent, acd) = (c.caller.clone(), c.acd);
                let dialling = AcdInput::DirectCall {
                    agent: agent.clone(),
                    call: acd,
                };
                if self.router.handle(now, dialling).is_ok() {
                    let talking = AcdInput::DirectAnswered { agent, call: acd };
                    let _ = self.router.handle(now, talking);
                }
                self.ring_extension(now, ep, call, &ext, Vec::new());
                self.run_router(now, ep);
            }
            Service::Confirm => {
                let lang = c.lang.clone();
                let play = self.play_names(call, &["thank-you", "goodbye"], &lang, true, None);
                if let Some(c) = self.calls.get_mut(&call) {
                    c.intro_play = play;
                }
            }
            Service::Flow(name) => {
                let ctx = CallContext {
                    caller: c.caller.clone(),
                    dialed: c.number.clone(),
                    language: c.lang.clone(),
                    wall_time_unix_ms: self.clock.at(now),
                };
                match Session::new(self.flows.clone(), &name, ctx, now) {
                    Ok(mut s) => {
                        s.handle_input(now, IvrInput::Start);
                        if let Some(c) = self.calls.get_mut(&call) {
                            c.ivr = Some(s);
                        }
                        self.run_ivr(now, ep, call);
                    }
                    Err(e) => {
                        warn!(%call, flow = %name, "cannot start the flow: {e}");
                        ep.hangup_call(now, call);
                    }
                }
            }
        }
    }

    /// Carries out everything the call's IVR session asks for, then notes
    /// when it next wants a timeout.
    fn run_ivr(&mut self, now: Instant, ep: &mut Endpoint, call: CallRef) {
        self.run_ivr_actions(now, ep, call);
        let next = self
            .calls
            .get(&call)
            .and_then(|c| c.ivr.as_ref())
            .and_then(|s| s.poll_timeout());
        if let Some(at) = next {
            self.ivr_timers.push(Reverse((at, call)));
        }
    }

    fn run_ivr_actions(&mut self, now: Instant, ep: &mut Endpoint, call: CallRef) {
        loop {
            let Some(c) = self.calls.get_mut(&call) else {
                return;
            };
            let Some(action) = c.ivr.as_mut().and_then(|s| s.poll_action()) else {
                return;
            };
            let stream = c.stream;
            match action {
                IvrAction::Play {
                    play,
                    prompts,
                    barge_in,
                    language,
                } => {
                    let names: Vec<&str> = prompts.iter().map(|p| p.name.as_str()).collect();
                    self.play_names(call, &names, &language, barge_in, Some(play));
                }
                IvrAction::StopPlay => {
                    let _ = self.media.send(MediaCommand::Stop { id: stream });
                }
                IvrAction::SetLanguage(lang) => {
                    info!(%call, %lang, "language");
                    c.lang = lang.clone();
                    let acd = c.acd;
                    self.journey(acd, |j| j.language(lang));
                }
                IvrAction::Lookup(req) => {
                    info!(%call, request = ?req, "lookup");
                    let tx = self.lookups.clone();
                    tokio::spawn(async move {
                        let id = req.id;
                        let body = lookup::fetch(&req).await;
                        let _ = tx.send(LookupDone { call, id, body });
                    });
                }
                IvrAction::Enqueue {
                    queue,
                    priority,
                    skills,
                    language,
                    vars,
                } => {
                    info!(%call, %queue, priority, ?skills, %language, ?vars, "queued");
                    let join = AcdInput::CallJoins {
                        call: c.acd,
                        queue,
                        priority,
                        language,
                        skills,
                        vars,
                    };
                    self.join_queue(now, ep, call, join);
                }
                IvrAction::Transfer { extension } => {
                    info!(%call, %extension, "the flow transfers the call");
                    let (acd, ms, target) = (c.acd, self.clock.at(now), extension.clone());
                    self.journey(acd, |j| j.transfer(target, ms));
                    self.ring_extension(now, ep, call, &extension, Vec::new());
                    self.run_router(now, ep);
                }
                IvrAction::Voicemail {
                    box_name,
                    max,
                    silence,
                } => {
                    let stamp = self.clock.at(now);
                    let caller: String = c
                        .caller
                        .chars()
                        .filter(|ch| ch.is_ascii_alphanumeric() || *ch == '+')
                        .collect();
                    let path = self
                        .voicemail_dir
                        .join(&box_name)
                        .join(format!("{stamp}-{caller}.wav"));
                    info!(%call, mailbox = %box_name, path = %path.display(), "recording voicemail");
                    // Recorded from now on, even if the caller hangs up mid-message.
                    let (acd, wav) = (c.acd, path.display().to_string());
                    let meta = VoicemailMeta {
                        call,
                        caller: c.caller.clone(),
                        dialed: c.number.clone(),
                        sip_call_id: c.sip_call_id.clone(),
                    };
                    self.recording.insert(stream, meta);
                    self.journey(acd, |j| j.voicemail(wav));
                    let _ = self.media.send(MediaCommand::Record {
                        id: stream,
                        path,
                        max,
                        silence,
                        stereo: false,
                    });
                }
                IvrAction::StopRecording => {
                    let _ = self.media.send(MediaCommand::StopRecording { id: stream });
                }
                IvrAction::Hangup => {
                    info!(%call, "flow hangs up");
                    c.ended_by = HungUpBy::System;
                    ep.hangup_call(now, call);
                }
                IvrAction::Trail(entry) => {
                    info!(%call, trail = ?entry, "ivr");
                    let (acd, ms) = (c.acd, self.clock.at(now));
                    let closed = matches!(&entry, TrailEntry::Decision { outcome, .. } if outcome == "closed");
                    self.journey(acd, |j| {
                        if closed {
                            j.closed_hours();
                        }
                        j.trail(ms, &entry)
                    });
                }
            }
        }
    }

    fn ivr_input(&mut self, now: Instant, ep: &mut Endpoint, call: CallRef, input: IvrInput) {
        if let Some(s) = self.calls.get_mut(&call).and_then(|c| c.ivr.as_mut()) {
            s.handle_input(now, input);
            self.run_ivr(now, ep, call);
        }
    }

    fn digit(&mut self, now: Instant, ep: &mut Endpoint, call: CallRef, digit: char, source: &str) {
        let Some(c) = self.calls.get(&call) else {
            return;
        };
        info!(%call, call_id = %c.sip_call_id, %digit, %source, "digit");
        // Waiting in a queue, the keys are the queue's (callback, leave).
        if self.queue_key(now, ep, call, digit) {
            return;
        }
        self.ivr_input(now, ep, call, IvrInput::Digit(digit));
    }

    pub fn on_media_event(&mut self, now: Instant, ep: &mut Endpoint, ev: MediaEvent) {
        let stream = match &ev {
            MediaEvent::Digit { stream, .. }
            | MediaEvent::PlayFinished { stream, .. }
            | MediaEvent::Inactive { stream }
            | MediaEvent::RecordingFinished { stream, .. } => *stream,
        };
        if let MediaEvent::RecordingFinished { path, duration, .. } = &ev {
            if let Some(meta) = self.recording.remove(&stream) {
                info!(call = %meta.call, path = %path.display(), secs = duration.as_secs_f32(), "voicemail saved");
                self.save_voicemail_info(&meta, path, *duration);
            }
        }
        let Some(call) = self.by_stream.get(&stream).copied() else {
            return;
        };
        match ev {
            MediaEvent::Digit { digit, source, .. } => {
                let source = match source {
                    DigitSource::Rfc4733 => "rfc4733",
                    DigitSource::Inband => "inband",
                };
                self.digit(now, ep, call, digit, source);
            }
            MediaEvent::PlayFinished {
                play, interrupted, ..
            } => {
                let Some(c) = self.calls.get(&call) else {
                    return;
                };
                if c.callback.prompt() == Some(play) {
                    self.callback_prompt_done(now, ep, call, interrupted);
                } else if c.service == Service::Confirm && c.intro_play == Some(play) {
                    ep.hangup_call(now, call);
                } else if c.service == Service::Echo && c.intro_play == Some(play) {
                    let _ = self.media.send(MediaCommand::Echo {
                        id: stream,
                        on: true,
                    });
                } else if c.holding == Some(play) {
                    // Hold music goes round until the call leaves the queue.
                    let lang = c.lang.clone();
                    let again = self.play_names(call, &["moh"], &lang, false, None);
                    if let Some(c) = self.calls.get_mut(&call) {
                        c.holding = again;
                    }
                } else if play < OWN_PLAYS {
                    self.ivr_input(now, ep, call, IvrInput::PlayFinished { play, interrupted });
                }
            }
            MediaEvent::RecordingFinished { path, duration, .. } => {
                self.ivr_input(
                    now,
                    ep,
                    call,
                    IvrInput::RecordingFinished { path, duration },
                );
            }
            MediaEvent::Inactive { .. } => {
                warn!(%call, "no RTP from the caller: hanging up");
                ep.hangup_call(now, call);
            }
        }
    }

    pub fn on_lookup(&mut self, now: Instant, ep: &mut Endpoint, done: LookupDone) {
        self.ivr_input(
            now,
            ep,
            done.call,
            IvrInput::LookupResult {
                id: done.id,
                body: done.body,
            },
        );
    }

    /// The earliest IVR or router timer (ring timeouts, wrap-up, widening, announcements).
    pub fn poll_timeout(&self) -> Option<Instant> {
        // May be early (an entry whose session moved on): that costs one wake-up.
        let ivr = self.ivr_timers.peek().map(|Reverse((at, _))| *at);
        [ivr, self.router.poll_timeout()]
            .into_iter()
            .flatten()
            .min()
    }

    pub fn handle_timeout(&mut self, now: Instant, ep: &mut Endpoint) {
        while let Some(&Reverse((at, call))) = self.ivr_timers.peek() {
            if at > now {
                break;
            }
            self.ivr_timers.pop();
            let due = self
                .calls
                .get(&call)
                .and_then(|c| c.ivr.as_ref())
                .and_then(|s| s.poll_timeout());
            match due {
                Some(t) if t <= now => self.ivr_input(now, ep, call, IvrInput::Timeout),
                // Not due yet: the entry pushed when that deadline was set stands.
                _ => {}
            }
        }
        if self.router.poll_timeout().is_some_and(|t| t <= now) {
            let _ = self.router.handle(now, AcdInput::Timeout);
            self.run_router(now, ep);
        }
    }
}
