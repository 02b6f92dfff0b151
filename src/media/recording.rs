//! Recording a stream: a [`Recorder`] attached to the media engine as an
//! [`AudioSink`]. Mono keeps what the far end says (voicemail); stereo puts the
//! far end on the left and what we send on the right (a whole conversation).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tracing::warn;

use super::engine::{AudioSink, SAMPLES_PER_FRAME};
use super::recorder::Recorder;

/// Audio we sent that has not been paired with received audio yet is kept up
/// to this many samples (1 s); beyond it the far end is silent and we write
/// our side alone.
const MAX_LAG: usize = 8000;

pub struct RecordingSink {
    rec: Option<Recorder>,
    stereo: bool,
    sent: Vec<i16>,
    voice: Arc<VoiceMeter>,
}

/// What the far end said so far, readable from outside the engine (the media
/// task ends a voicemail after a stretch of silence).
#[derive(Debug, Default)]
pub struct VoiceMeter {
    /// Samples received.
    pub heard: AtomicU64,
    /// `heard` at the end of the last frame loud enough to be speech.
    pub last_voice: AtomicU64,
}

impl VoiceMeter {
    /// Samples since the caller last spoke.
    pub fn silent_for(&self) -> u64 {
        self.heard
            .load(Ordering::Relaxed)
            .saturating_sub(self.last_voice.load(Ordering::Relaxed))
    }
}

/// Speech threshold: frames below about -40 dBFS RMS count as silence.
const VOICE_RMS: f64 = 330.0;

impl RecordingSink {
    pub fn mono(rec: Recorder) -> Self {
        RecordingSink {
            rec: Some(rec),
            stereo: false,
            sent: Vec::new(),
            voice: Arc::default(),
        }
    }

    pub fn stereo(rec: Recorder) -> Self {
        RecordingSink {
            rec: Some(rec),
            stereo: true,
            sent: Vec::new(),
            voice: Arc::default(),
        }
    }

    pub fn meter(&self) -> Arc<VoiceMeter> {
        self.voice.clone()
    }

    fn fail(&mut self, e: impl std::fmt::Display) {
        // A full disk must not take the call down: stop recording, keep talking.
        if let Some(r) = self.rec.take() {
            warn!(path = %r.path().display(), "recording stopped: {e}");
        }
    }
}

impl AudioSink for RecordingSink {
    fn received(&mut self, pcm: &[i16]) {
        let heard = self
            .voice
            .heard
            .fetch_add(pcm.len() as u64, Ordering::Relaxed)
            + pcm.len() as u64;
        let energy =
            pcm.iter().map(|s| f64::from(*s).powi(2)).sum::<f64>() / pcm.len().max(1) as f64;
        if energy.sqrt() >= VOICE_RMS {
            self.voice.last_voice.store(heard, Ordering::Relaxed);
        }
        let Some(rec) = self.rec.as_mut() else { return };
        let result = if self.stereo {
            let n = pcm.len().min(self.sent.len());
            let right: Vec<i16> = self.sent.drain(..n).collect();
            rec.write_stereo(pcm, &right)
        } else {
            rec.write_mono(pcm)
        };
        if let Err(e) = result {
            self.fail(e);
        }
    }

    fn sent(&mut self, pcm: &[i16]) {
        if !self.stereo || self.rec.is_none() {
            return;
        }
        self.sent.extend_from_slice(pcm);
        if self.sent.len() > MAX_LAG + SAMPLES_PER_FRAME {
            let excess: Vec<i16> = self.sent.drain(..self.sent.len() - MAX_LAG).collect();
            let silence = vec![0i16; excess.len()];
            if let Some(Err(e)) = self.rec.as_mut().map(|r| r.write_stereo(&silence, &excess)) {
                self.fail(e);
            }
        }
    }
}

impl Drop for RecordingSink {
    fn drop(&mut self) {
        if let Some(rec) = self.rec.take() {
            if let Err(e) = rec.finish() {
                warn!("recording not finished cleanly: {e}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mono_keeps_the_far_end_and_stereo_pairs_both_sides() {
        let dir = tempfile::tempdir().unwrap();
        let mono = dir.path().join("vm.wav");
        {
            let mut s = RecordingSink::mono(Recorder::mono(&mono, 8000).unwrap());
            s.received(&[100; 160]);
            s.sent(&[5; 160]);
            s.received(&[200; 160]);
        }
        let got: Vec<i16> = hound::WavReader::open(&mono)
            .unwrap()
            .samples::<i16>()
            .map(|x| x.unwrap())
            .collect();
        assert_eq!(got.len(), 320);
        assert_eq!((got[0], got[319]), (100, 200));

        let stereo = dir.path().join("call.wav");
        {
            let mut s = RecordingSink::stereo(Recorder::stereo(&stereo).unwrap());
            s.sent(&[7; 160]);
            s.received(&[3; 160]);
        }
        let r = hound::WavReader::open(&stereo).unwrap();
        assert_eq!(r.spec().channels, 2);
        let got: Vec<i16> = r.into_samples::<i16>().map(|x| x.unwrap()).collect();
        assert_eq!(&got[..4], &[3, 7, 3, 7]);
    }

    #[test]
    fn the_meter_tells_speech_from_silence() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = RecordingSink::mono(Recorder::mono(dir.path().join("m.wav"), 8000).unwrap());
        let meter = s.meter();
        let speech: Vec<i16> = (0..160)
            .map(|n| if n % 2 == 0 { 3000 } else { -3000 })
            .collect();
        s.received(&speech);
        assert_eq!(meter.silent_for(), 0);
        for _ in 0..10 {
            s.received(&[20; 160]); // line noise, not speech
        }
        assert_eq!(meter.silent_for(), 1600);
    }

    #[test]
    fn a_silent_far_end_does_not_hold_back_our_side() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.wav");
        {
            let mut s = RecordingSink::stereo(Recorder::stereo(&path).unwrap());
            for _ in 0..100 {
                s.sent(&[9; 160]); // 2 s of prompts, nothing heard
            }
        }
        let r = hound::WavReader::open(&path).unwrap();
        assert!(r.duration() >= 8000, "{}", r.duration());
    }
}
