//! Audio checks for recordings made by test peers: does a recording contain a
//! given prompt (energy-envelope correlation), a tone (Goertzel)?

use std::path::Path;

/// Reads a WAV as 8 kHz mono i16 (PJSUA2 and our prompts are both that).
pub fn read_wav(path: &Path) -> Vec<i16> {
    let mut r = hound::WavReader::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let spec = r.spec();
    assert_eq!(spec.sample_rate, 8000, "{} is not 8 kHz", path.display());
    let ch = spec.channels as usize;
    let samples: Vec<i16> = r.samples::<i16>().map(|s| s.unwrap_or(0)).collect();
    samples.chunks(ch).map(|c| c[0]).collect()
}

/// RMS per 10 ms frame, in dB.
pub fn envelope(pcm: &[i16]) -> Vec<f64> {
    pcm.chunks(80)
        .map(|f| {
            let e = f.iter().map(|s| (*s as f64).powi(2)).sum::<f64>() / f.len() as f64;
            10.0 * (e + 1.0).log10()
        })
        .collect()
}

/// Highest normalised correlation of `needle`'s envelope with any window of
/// `hay`'s envelope: 1.0 means the same shape of speech; unrelated audio
/// stays well below 0.5.
pub fn best_envelope_match(hay: &[i16], needle: &[i16]) -> f64 {
    let (h, n) = (envelope(hay), envelope(needle));
    if h.len() < n.len() || n.is_empty() {
        return 0.0;
    }
    let norm = |v: &[f64]| {
        let m = v.iter().sum::<f64>() / v.len() as f64;
        let c: Vec<f64> = v.iter().map(|x| x - m).collect();
        let s = c.iter().map(|x| x * x).sum::<f64>().sqrt().max(1e-9);
        c.into_iter().map(|x| x / s).collect::<Vec<f64>>()
    };
    let nn = norm(&n);
    (0..=h.len() - n.len())
        .map(|off| {
            let w = norm(&h[off..off + n.len()]);
            w.iter().zip(&nn).map(|(a, b)| a * b).sum::<f64>()
        })
        .fold(0.0, f64::max)
}

/// Fraction of the signal's energy at `freq` (Goertzel over the whole slice).
pub fn tone_share(pcm: &[i16], freq: f64) -> f64 {
    if pcm.is_empty() {
        return 0.0;
    }
    let w = 2.0 * std::f64::consts::PI * freq / 8000.0;
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for x in pcm {
        let s = *x as f64 + coeff * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    let power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
    let total: f64 = pcm.iter().map(|s| (*s as f64).powi(2)).sum::<f64>();
    // A pure tone of amplitude A over N samples gives power (A N / 2)^2 and energy A^2 N / 2.
    (2.0 * power / (pcm.len() as f64 * total.max(1.0))).min(1.0)
}

/// Writes 8 kHz mono 16-bit samples.
pub fn write_wav(path: &Path, pcm: &[i16]) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 8000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for s in pcm {
        w.write_sample(*s).unwrap();
    }
    w.finalize().unwrap();
}

/// `seconds` of a sine at `freq`, amplitude `amp` (0..1).
pub fn sine(freq: f64, seconds: f64, amp: f64) -> Vec<i16> {
    (0..(seconds * 8000.0) as usize)
        .map(|n| {
            (amp * 32767.0 * (2.0 * std::f64::consts::PI * freq * n as f64 / 8000.0).sin()) as i16
        })
        .collect()
}

/// In-band DTMF: each digit 120 ms of its two tones, then 120 ms of silence.
pub fn dtmf_tones(digits: &str) -> Vec<i16> {
    let mut out = Vec::new();
    for d in digits.chars() {
        let (lo, hi) = match d {
            '1' => (697.0, 1209.0),
            '2' => (697.0, 1336.0),
            '3' => (697.0, 1477.0),
            '4' => (770.0, 1209.0),
            '5' => (770.0, 1336.0),
            '6' => (770.0, 1477.0),
            '7' => (852.0, 1209.0),
            '8' => (852.0, 1336.0),
            '9' => (852.0, 1477.0),
            '*' => (941.0, 1209.0),
            '0' => (941.0, 1336.0),
            '#' => (941.0, 1477.0),
            _ => panic!("no DTMF digit {d}"),
        };
        let a = sine(lo, 0.12, 0.25);
        let b = sine(hi, 0.12, 0.25);
        out.extend(a.iter().zip(&b).map(|(x, y)| x.saturating_add(*y)));
        out.extend(std::iter::repeat_n(0i16, 960));
    }
    out
}
