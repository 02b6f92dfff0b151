//! What each call does once answered: the glue between SIP sessions, the
//! media task and the service a number offers (echo test, IVR flow).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::mpsc;
use tracing::{info, info_span, warn};

use super::media::{MediaCommand, RtpPorts};
use crate::config::NumberConfig;
use crate::media::engine::{MediaEvent, StreamId};
use crate::media::prompts::PromptLibrary;
use crate::sip::endpoint::Endpoint;
use crate::sip::session::{CallEvent, CallRef};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Service {
    /// Play the echo-test prompt, then send the caller's audio back.
    Echo,
    /// Run the IVR flow of that name.
    Flow(String),
}

struct Call {
    service: Service,
    stream: StreamId,
    sip_call_id: String,
    media_up: bool,
    lang: String,
    /// The prompt play whose end starts the echo.
    intro_play: Option<u64>,
}

pub struct Calls {
    numbers: BTreeMap<String, NumberConfig>,
    prompts: Arc<PromptLibrary>,
    default_lang: String,
    ports: RtpPorts,
    media: mpsc::UnboundedSender<MediaCommand>,
    calls: HashMap<CallRef, Call>,
    by_stream: HashMap<StreamId, CallRef>,
    /// RTP sockets bound for calls whose media is not negotiated yet.
    pending_sockets: HashMap<CallRef, std::net::UdpSocket>,
    next_play: u64,
}

impl Calls {
    pub fn new(
        numbers: BTreeMap<String, NumberConfig>,
        prompts: Arc<PromptLibrary>,
        default_lang: String,
        ports: RtpPorts,
        media: mpsc::UnboundedSender<MediaCommand>,
    ) -> Self {
        Calls {
            numbers,
            prompts,
            default_lang,
            ports,
            media,
            calls: HashMap::new(),
            by_stream: HashMap::new(),
            pending_sockets: HashMap::new(),
            next_play: 1,
        }
    }

    fn play(&mut self, call: CallRef, names: &[&str], barge_in: bool) -> Option<u64> {
        let c = self.calls.get(&call)?;
        let prompts: Vec<_> = names
            .iter()
            .filter_map(|n| self.prompts.get(&c.lang, n))
            .collect();
        if prompts.len() != names.len() {
            warn!(%call, ?names, lang = %c.lang, "prompt missing");
        }
        let play = self.next_play;
        self.next_play += 1;
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
                sip_call_id,
                ..
            } => {
                let span = info_span!("call", call_id = %sip_call_id);
                let _g = span.enter();
                let service = match self.numbers.get(&number) {
                    Some(n) if n.echo => Service::Echo,
                    Some(n) => Service::Flow(n.flow.clone().unwrap_or_default()),
                    None => return ep.reject_call(now, call, 404),
                };
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
                self.calls.insert(
                    call,
                    Call {
                        service,
                        stream,
                        sip_call_id,
                        media_up: false,
                        lang: self.default_lang.clone(),
                        intro_play: None,
                    },
                );
                self.by_stream.insert(stream, call);
                self.pending_sockets.insert(call, socket);
                ep.accept_call(now, call, local);
            }
            CallEvent::Media { call, media } => {
                let Some(c) = self.calls.get_mut(&call) else {
                    return;
                };
                if c.media_up {
                    let _ = self.media.send(MediaCommand::Update {
                        id: c.stream,
                        media,
                    });
                    return;
                }
                let Some(socket) = self.pending_sockets.remove(&call) else {
                    return;
                };
                c.media_up = true;
                let _ = self.media.send(MediaCommand::Add {
                    id: c.stream,
                    socket,
                    media,
                });
                match c.service.clone() {
                    Service::Echo => {
                        let play = self.play(call, &["echo-test"], true);
                        if let Some(c) = self.calls.get_mut(&call) {
                            c.intro_play = play;
                        }
                    }
                    Service::Flow(_) => {
                        self.play(call, &["welcome", "main-menu"], true);
                    }
                }
            }
            CallEvent::Digit { call, digit } => self.digit(call, digit, "sip-info"),
            CallEvent::Ended { call, reason } => {
                self.pending_sockets.remove(&call);
                if let Some(c) = self.calls.remove(&call) {
                    info!(%call, call_id = %c.sip_call_id, ?reason, "call ended");
                    self.by_stream.remove(&c.stream);
                    let _ = self.media.send(MediaCommand::Remove { id: c.stream });
                }
            }
        }
    }

    fn digit(&mut self, call: CallRef, digit: char, source: &str) {
        let Some(c) = self.calls.get(&call) else {
            return;
        };
        info!(%call, call_id = %c.sip_call_id, %digit, %source, "digit");
    }

    pub fn on_media_event(&mut self, now: Instant, ep: &mut Endpoint, ev: MediaEvent) {
        match ev {
            MediaEvent::Digit {
                stream,
                digit,
                source,
            } => {
                if let Some(call) = self.by_stream.get(&stream).copied() {
                    let source = match source {
                        crate::media::engine::DigitSource::Rfc4733 => "rfc4733",
                        crate::media::engine::DigitSource::Inband => "inband",
                    };
                    self.digit(call, digit, source);
                }
            }
            MediaEvent::PlayFinished { stream, play, .. } => {
                let Some(call) = self.by_stream.get(&stream).copied() else {
                    return;
                };
                let Some(c) = self.calls.get(&call) else {
                    return;
                };
                if c.service == Service::Echo && c.intro_play == Some(play) {
                    let _ = self.media.send(MediaCommand::Echo {
                        id: stream,
                        on: true,
                    });
                }
            }
            MediaEvent::Inactive { stream } => {
                if let Some(call) = self.by_stream.get(&stream).copied() {
                    warn!(%call, "no RTP from the caller: hanging up");
                    ep.hangup_call(now, call);
                }
            }
        }
    }
}
