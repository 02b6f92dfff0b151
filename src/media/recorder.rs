//! Call recording to 16-bit PCM WAV (hound 3.5.1).
//!
//! Mono, or stereo with the caller on the left and the agent on the right, so either side can
//! be listened to or transcribed alone. The header is rewritten (hound `flush()`) every
//! ~2 s of audio, so a crash or power cut loses at most that much: hound's `flush()` leaves
//! a valid file up to the last flush (measured, crates.md §6). The file is not `fsync`ed;
//! that is the OS's business.

use std::fs::File;
use std::io::{self, BufWriter};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Sample rate of G.711 calls.
pub const DEFAULT_SAMPLE_RATE: u32 = 8000;
/// Seconds of audio between automatic flushes.
const FLUSH_EVERY_SECS: u64 = 2;
/// Header bytes hound writes for a PCM file (RIFF + fmt + data chunk headers, with margin
/// for the WAVE_FORMAT_EXTENSIBLE form); the RIFF size field must stay below 4 GiB.
const HEADER_BYTES: u64 = 80;

#[derive(Debug, thiserror::Error)]
pub enum RecorderError {
    #[error("recording I/O: {0}")]
    Io(#[from] io::Error),
    #[error("recording WAV: {0}")]
    Wav(#[from] hound::Error),
    #[error("{called} write on a {channels}-channel recording")]
    ChannelMismatch { called: &'static str, channels: u16 },
    #[error("invalid sample rate {0} Hz")]
    InvalidSampleRate(u32),
    /// WAV sizes are 32-bit: ~37 h of 8 kHz stereo.
    #[error("recording would exceed the 4 GiB WAV size limit")]
    TooLong,
}

impl From<RecorderError> for io::Error {
    fn from(e: RecorderError) -> io::Error {
        match e {
            RecorderError::Io(e) | RecorderError::Wav(hound::Error::IoError(e)) => e,
            other => io::Error::other(other),
        }
    }
}

/// What a finished recording holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingInfo {
    pub path: PathBuf,
    /// Sample frames (samples per channel).
    pub samples: u64,
    pub duration: Duration,
    pub channels: u16,
    pub sample_rate: u32,
}

/// A WAV file being written. Dropping it without [`finish`](Self::finish) still updates the
/// header (hound does so on drop) but cannot report errors.
pub struct Recorder {
    writer: hound::WavWriter<BufWriter<File>>,
    path: PathBuf,
    channels: u16,
    sample_rate: u32,
    frames: u64,
    frames_at_flush: u64,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("path", &self.path)
            .field("channels", &self.channels)
            .field("sample_rate", &self.sample_rate)
            .field("frames", &self.frames)
            .finish()
    }
}

impl Recorder {
    /// Creates (truncates) a mono 16-bit WAV file.
    pub fn mono(path: impl AsRef<Path>, sample_rate: u32) -> Result<Recorder, RecorderError> {
        Self::create(path.as_ref(), 1, sample_rate)
    }

    /// Creates (truncates) an 8 kHz stereo 16-bit WAV file: caller left, agent right.
    pub fn stereo(path: impl AsRef<Path>) -> Result<Recorder, RecorderError> {
        Self::create(path.as_ref(), 2, DEFAULT_SAMPLE_RATE)
    }

    fn create(path: &Path, channels: u16, sample_rate: u32) -> Result<Recorder, RecorderError> {
        // hound accepts any u32; a rate of 0 would make durations meaningless.
        if !(1..=384_000).contains(&sample_rate) {
            return Err(RecorderError::InvalidSampleRate(sample_rate));
        }
        let spec = hound::WavSpec {
            channels,
            sample_rate,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let writer = hound::WavWriter::create(path, spec)?;
        Ok(Recorder {
            writer,
            path: path.to_path_buf(),
            channels,
            sample_rate,
            frames: 0,
            frames_at_flush: 0,
        })
    }

    /// Appends mono audio.
    pub fn write_mono(&mut self, pcm: &[i16]) -> Result<(), RecorderError> {
        if self.channels != 1 {
            return Err(self.mismatch("mono"));
        }
        self.reserve(pcm.len())?;
        for &s in pcm {
            self.writer.write_sample(s)?;
        }
        self.advance(pcm.len())
    }

    /// Appends stereo audio; the shorter side is padded with silence so the channels stay
    /// aligned in time (e.g. one leg's packet was lost).
    pub fn write_stereo(&mut self, left: &[i16], right: &[i16]) -> Result<(), RecorderError> {
        if self.channels != 2 {
            return Err(self.mismatch("stereo"));
        }
        let n = left.len().max(right.len());
        self.reserve(n)?;
        for i in 0..n {
            self.writer
                .write_sample(left.get(i).copied().unwrap_or(0))?;
            self.writer
                .write_sample(right.get(i).copied().unwrap_or(0))?;
        }
        self.advance(n)
    }

    /// Rewrites the header and flushes: the file is a valid WAV up to here.
    pub fn flush(&mut self) -> Result<(), RecorderError> {
        self.writer.flush()?;
        self.frames_at_flush = self.frames;
        Ok(())
    }

    /// Finalises the header and closes the file.
    pub fn finish(self) -> Result<RecordingInfo, RecorderError> {
        let info = self.info();
        self.writer.finalize()?;
        Ok(info)
    }

    /// Sample frames written so far.
    pub fn samples(&self) -> u64 {
        self.frames
    }

    /// Audio written so far.
    pub fn duration(&self) -> Duration {
        frames_to_duration(self.frames, self.sample_rate)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn info(&self) -> RecordingInfo {
        RecordingInfo {
            path: self.path.clone(),
            samples: self.frames,
            duration: self.duration(),
            channels: self.channels,
            sample_rate: self.sample_rate,
        }
    }

    fn mismatch(&self, called: &'static str) -> RecorderError {
        RecorderError::ChannelMismatch {
            called,
            channels: self.channels,
        }
    }

    /// Refuses writes that would overflow the 32-bit RIFF sizes (hound would wrap them).
    fn reserve(&self, frames: usize) -> Result<(), RecorderError> {
        let bytes_per_frame = 2 * u64::from(self.channels);
        let total = (self.frames.saturating_add(frames as u64)).saturating_mul(bytes_per_frame);
        if total.saturating_add(HEADER_BYTES) > u64::from(u32::MAX) {
            return Err(RecorderError::TooLong);
        }
        Ok(())
    }

    fn advance(&mut self, frames: usize) -> Result<(), RecorderError> {
        self.frames += frames as u64;
        if self.frames - self.frames_at_flush >= FLUSH_EVERY_SECS * u64::from(self.sample_rate) {
            self.flush()?;
        }
        Ok(())
    }
}

fn frames_to_duration(frames: u64, rate: u32) -> Duration {
    let rate = u64::from(rate.max(1));
    Duration::from_secs(frames / rate)
        + Duration::from_nanos((frames % rate) * 1_000_000_000 / rate)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(path: &Path) -> (hound::WavSpec, Vec<i16>) {
        let mut r = hound::WavReader::open(path).expect("readable WAV");
        let spec = r.spec();
        let samples = r
            .samples::<i16>()
            .collect::<Result<Vec<_>, _>>()
            .expect("samples");
        (spec, samples)
    }

    fn ramp(n: usize, start: i16) -> Vec<i16> {
        (0..n).map(|i| start.wrapping_add(i as i16)).collect()
    }

    #[test]
    fn mono_round_trip() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("mono.wav");
        let mut rec = Recorder::mono(&path, 8000).expect("create");
        let a = ramp(8000, -4000);
        let b = ramp(123, 100);
        rec.write_mono(&a).expect("write");
        rec.write_mono(&b).expect("write");
        rec.write_mono(&[]).expect("write");
        assert_eq!(rec.samples(), 8123);
        let info = rec.finish().expect("finish");
        assert_eq!(info.path, path);
        assert_eq!(info.samples, 8123);
        assert_eq!(info.channels, 1);
        assert_eq!(info.duration, Duration::from_micros(1_015_375));

        let (spec, samples) = read(&path);
        assert_eq!(spec.channels, 1);
        assert_eq!(spec.sample_rate, 8000);
        assert_eq!(spec.bits_per_sample, 16);
        assert_eq!(spec.sample_format, hound::SampleFormat::Int);
        assert_eq!(samples, [a, b].concat());
    }

    #[test]
    fn mono_other_rate() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("wide.wav");
        let mut rec = Recorder::mono(&path, 16000).expect("create");
        rec.write_mono(&[1, -1, i16::MAX, i16::MIN]).expect("write");
        let info = rec.finish().expect("finish");
        assert_eq!(info.duration, Duration::from_micros(250));
        let (spec, samples) = read(&path);
        assert_eq!(spec.sample_rate, 16000);
        assert_eq!(samples, [1, -1, i16::MAX, i16::MIN]);
    }

    #[test]
    fn stereo_pads_shorter_side() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("stereo.wav");
        let mut rec = Recorder::stereo(&path).expect("create");
        rec.write_stereo(&[1, 2, 3], &[10]).expect("write");
        rec.write_stereo(&[], &[20, 30]).expect("write");
        rec.write_stereo(&[4, 5], &[40, 50]).expect("write");
        let info = rec.finish().expect("finish");
        assert_eq!(info.samples, 7);
        assert_eq!(info.channels, 2);
        assert_eq!(info.sample_rate, 8000);

        let (spec, samples) = read(&path);
        assert_eq!(spec.channels, 2);
        assert_eq!(spec.sample_rate, 8000);
        assert_eq!(spec.bits_per_sample, 16);
        assert_eq!(
            samples,
            [1, 10, 2, 0, 3, 0, 0, 20, 0, 30, 4, 40, 5, 50],
            "interleaved left/right"
        );
    }

    #[test]
    fn flushed_but_not_finished_is_readable() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("crash.wav");
        let mut rec = Recorder::stereo(&path).expect("create");
        let left = ramp(1000, 0);
        let right = ramp(1000, 5000);
        rec.write_stereo(&left, &right).expect("write");
        rec.flush().expect("flush");
        // Written after the flush and still buffered: lost in the "crash".
        rec.write_stereo(&[7; 100], &[7; 100]).expect("write");
        // Simulate a crash: no finish, no drop (hound would fix the header on drop).
        std::mem::forget(rec);

        let (spec, samples) = read(&path);
        assert_eq!(spec.channels, 2);
        assert_eq!(samples.len(), 2000);
        let l: Vec<i16> = samples.iter().step_by(2).copied().collect();
        let r: Vec<i16> = samples.iter().skip(1).step_by(2).copied().collect();
        assert_eq!(l, left);
        assert_eq!(r, right);
    }

    #[test]
    fn flushes_automatically_every_two_seconds() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("auto.wav");
        let mut rec = Recorder::mono(&path, 8000).expect("create");
        // 2.5 s in 20 ms packets.
        for i in 0..125 {
            rec.write_mono(&[i as i16; 160]).expect("write");
        }
        std::mem::forget(rec);
        let (_, samples) = read(&path);
        assert_eq!(samples.len(), 16000);
        assert_eq!(samples[15999], 99);
    }

    #[test]
    fn dropped_recorder_still_valid() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("drop.wav");
        {
            let mut rec = Recorder::mono(&path, 8000).expect("create");
            rec.write_mono(&[3; 50]).expect("write");
        }
        assert_eq!(read(&path).1, vec![3; 50]);
    }

    #[test]
    fn errors() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(matches!(
            Recorder::mono(dir.path().join("x.wav"), 0),
            Err(RecorderError::InvalidSampleRate(0))
        ));
        let missing = dir.path().join("no/such/dir/x.wav");
        let err = Recorder::mono(&missing, 8000).expect_err("missing dir");
        let io: io::Error = err.into();
        assert_eq!(io.kind(), io::ErrorKind::NotFound);

        let mut mono = Recorder::mono(dir.path().join("m.wav"), 8000).expect("create");
        let e = mono.write_stereo(&[1], &[2]).expect_err("mismatch");
        assert!(matches!(
            e,
            RecorderError::ChannelMismatch { channels: 1, .. }
        ));
        assert!(e.to_string().contains("stereo"));
        let mut st = Recorder::stereo(dir.path().join("s.wav")).expect("create");
        assert!(st.write_mono(&[1]).is_err());
        // Nothing was written by the refused calls.
        assert_eq!(mono.finish().expect("finish").samples, 0);
        assert_eq!(st.finish().expect("finish").samples, 0);

        let io: io::Error = RecorderError::TooLong.into();
        assert_eq!(io.kind(), io::ErrorKind::Other);
    }

    #[test]
    fn size_limit_is_enforced_before_writing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut rec = Recorder::stereo(dir.path().join("big.wav")).expect("create");
        // Pretend ~37 h were already written.
        rec.frames = (u64::from(u32::MAX) - HEADER_BYTES) / 4;
        rec.frames_at_flush = rec.frames;
        assert!(matches!(
            rec.write_stereo(&[1], &[1]),
            Err(RecorderError::TooLong)
        ));
    }
}
