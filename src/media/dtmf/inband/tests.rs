use super::*;
use crate::media::g711::Codec;
use std::f64::consts::PI;

const FS: f64 = 8000.0;

/// xorshift64* — deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in [0, 1).
    fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Standard normal (Box-Muller).
    fn gauss(&mut self) -> f64 {
        let u1 = self.uniform().max(1e-12);
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (2.0 * PI * u2).cos()
    }
    fn below(&mut self, n: usize) -> usize {
        (self.uniform() * n as f64) as usize
    }
}

fn freqs(key: char) -> (f64, f64) {
    for (r, row) in KEYS.iter().enumerate() {
        for (c, &k) in row.iter().enumerate() {
            if k == key {
                return (f64::from(ROWS[r]), f64::from(COLS[c]));
            }
        }
    }
    panic!("not a key: {key}");
}

fn ms(n: f64) -> usize {
    (n * FS / 1000.0) as usize
}

fn db(x: f64) -> f64 {
    10f64.powf(x / 20.0)
}

/// A dual tone whose composite peak is `peak_dbfs`; `twist_db` > 0 makes the column tone
/// louder ("normal" twist), < 0 the row tone.
fn dual_tone(key: char, dur_ms: f64, peak_dbfs: f64, twist_db: f64, rng: &mut Rng) -> Vec<f64> {
    let (fr, fc) = freqs(key);
    let (ar, ac) = (1.0, db(twist_db));
    let scale = 32767.0 * db(peak_dbfs) / (ar + ac);
    let (pr, pc) = (rng.uniform() * 2.0 * PI, rng.uniform() * 2.0 * PI);
    (0..ms(dur_ms))
        .map(|n| {
            let t = n as f64 / FS;
            scale * (ar * (2.0 * PI * fr * t + pr).sin() + ac * (2.0 * PI * fc * t + pc).sin())
        })
        .collect()
}

fn silence(dur_ms: f64) -> Vec<f64> {
    vec![0.0; ms(dur_ms)]
}

fn power(x: &[f64]) -> f64 {
    x.iter().map(|v| v * v).sum::<f64>() / x.len().max(1) as f64
}

/// Adds white noise `snr_db` below the power `ref_power`.
fn add_noise(x: &mut [f64], ref_power: f64, snr_db: f64, rng: &mut Rng) {
    let sigma = (ref_power / 10f64.powf(snr_db / 10.0)).sqrt();
    for v in x {
        *v += sigma * rng.gauss();
    }
}

fn to_pcm(x: &[f64]) -> Vec<i16> {
    x.iter()
        .map(|v| v.round().clamp(-32768.0, 32767.0) as i16)
        .collect()
}

/// Runs the detector over `pcm` in random chunk sizes (1..=400 samples).
fn detect(pcm: &[i16], rng: &mut Rng) -> String {
    let mut det = InbandDetector::new();
    let mut out = String::new();
    let mut rest = pcm;
    while !rest.is_empty() {
        let n = (1 + rng.below(400)).min(rest.len());
        out.extend(det.push(&rest[..n]));
        rest = &rest[n..];
    }
    out
}

/// `lead` ms of silence, a tone, `tail` ms of silence, noise at `snr_db` below the tone.
fn tone_in_noise(
    key: char,
    dur_ms: f64,
    peak: f64,
    twist: f64,
    snr_db: f64,
    rng: &mut Rng,
) -> Vec<i16> {
    let tone = dual_tone(key, dur_ms, peak, twist, rng);
    let p = power(&tone);
    let mut x = silence(60.0 + rng.uniform() * 10.0);
    x.extend(tone);
    x.extend(silence(100.0));
    add_noise(&mut x, p, snr_db, rng);
    to_pcm(&x)
}

#[test]
fn every_key_at_every_level_in_noise() {
    let mut rng = Rng(1);
    for key in super::super::DIGITS {
        for peak in [-3.0, -10.0, -17.0, -25.0] {
            let pcm = tone_in_noise(key, 80.0, peak, 0.0, 20.0, &mut rng);
            assert_eq!(
                detect(&pcm, &mut rng),
                key.to_string(),
                "key {key} at {peak} dBFS"
            );
        }
    }
}

#[test]
fn twist_within_limits_is_accepted() {
    let mut rng = Rng(2);
    for key in super::super::DIGITS {
        for twist in [7.0, 3.0, -3.0] {
            let pcm = tone_in_noise(key, 80.0, -10.0, twist, 30.0, &mut rng);
            assert_eq!(
                detect(&pcm, &mut rng),
                key.to_string(),
                "key {key} twist {twist}"
            );
        }
    }
}

#[test]
fn excessive_twist_is_rejected() {
    let mut rng = Rng(3);
    for key in super::super::DIGITS {
        // 10 dB either way; -6 dB is beyond the 4 dB reverse-twist limit.
        for twist in [10.0, -10.0, -6.0] {
            let pcm = tone_in_noise(key, 100.0, -6.0, twist, 30.0, &mut rng);
            assert_eq!(detect(&pcm, &mut rng), "", "key {key} twist {twist}");
        }
    }
}

#[test]
fn too_quiet_is_rejected() {
    let mut rng = Rng(4);
    // Composite peak -50 dBFS: each tone about -53 dBm0.
    let pcm = tone_in_noise('5', 100.0, -50.0, 0.0, 30.0, &mut rng);
    assert_eq!(detect(&pcm, &mut rng), "");
}

#[test]
fn duration_30ms_rejected_40ms_accepted() {
    let mut rng = Rng(5);
    // Every alignment of the tone against the 34-sample window grid.
    for offset in 0..HOP {
        for key in ['1', '5', '9', 'D', '*'] {
            let mut x = vec![0.0; 200 + offset];
            x.extend(dual_tone(key, 30.0, -10.0, 0.0, &mut rng));
            x.extend(silence(100.0));
            assert_eq!(
                detect(&to_pcm(&x), &mut rng),
                "",
                "30 ms {key} offset {offset}"
            );

            let mut x = vec![0.0; 200 + offset];
            x.extend(dual_tone(key, 40.0, -10.0, 0.0, &mut rng));
            x.extend(silence(100.0));
            let p = power(&x);
            add_noise(&mut x, p, 25.0, &mut rng);
            assert_eq!(
                detect(&to_pcm(&x), &mut rng),
                key.to_string(),
                "40 ms {key} offset {offset}"
            );
        }
    }
}

#[test]
fn sequence_with_50ms_gaps() {
    let mut rng = Rng(6);
    let keys = "1234567890*#ABCD";
    let mut x = silence(50.0);
    for k in keys.chars() {
        x.extend(dual_tone(k, 50.0, -8.0, 2.0, &mut rng));
        x.extend(silence(50.0));
    }
    let p = power(&dual_tone('1', 50.0, -8.0, 2.0, &mut rng));
    add_noise(&mut x, p, 20.0, &mut rng);
    assert_eq!(detect(&to_pcm(&x), &mut rng), keys);
}

#[test]
fn same_key_twice_is_two_presses() {
    let mut rng = Rng(7);
    let mut x = silence(20.0);
    for _ in 0..3 {
        x.extend(dual_tone('7', 60.0, -10.0, 0.0, &mut rng));
        x.extend(silence(45.0));
    }
    let p = power(&x);
    add_noise(&mut x, p, 20.0, &mut rng);
    assert_eq!(detect(&to_pcm(&x), &mut rng), "777");
}

#[test]
fn long_press_is_one_key() {
    let mut rng = Rng(8);
    let pcm = tone_in_noise('#', 1000.0, -12.0, 3.0, 20.0, &mut rng);
    assert_eq!(detect(&pcm, &mut rng), "#");
}

#[test]
fn short_dropout_is_bridged() {
    // A 10 ms hole in a held key (lost packet, VAD) must not count as a second press.
    let mut rng = Rng(9);
    let tone = dual_tone('3', 400.0, -10.0, 0.0, &mut rng);
    let mut x = silence(30.0);
    x.extend_from_slice(&tone[..ms(150.0)]);
    x.extend(silence(10.0));
    x.extend_from_slice(&tone[ms(160.0)..]);
    x.extend(silence(60.0));
    assert_eq!(detect(&to_pcm(&x), &mut rng), "3");
}

#[test]
fn detects_through_g711() {
    let mut rng = Rng(10);
    for codec in [Codec::Pcmu, Codec::Pcma] {
        for peak in [-3.0, -25.0] {
            let mut x = silence(30.0);
            for k in "159#".chars() {
                x.extend(dual_tone(k, 60.0, peak, 1.0, &mut rng));
                x.extend(silence(60.0));
            }
            let mut enc = Vec::new();
            codec.encode(&to_pcm(&x), &mut enc);
            let mut pcm = Vec::new();
            codec.decode(&enc, &mut pcm);
            assert_eq!(detect(&pcm, &mut rng), "159#", "{codec:?} {peak}");
        }
    }
}

#[test]
fn frequency_deviation_within_tolerance() {
    // Q.24 / GR-506: accept ±1.5 % frequency deviation.
    let mut rng = Rng(11);
    for key in super::super::DIGITS {
        for dev in [-0.015, 0.015] {
            let (fr, fc) = freqs(key);
            let x: Vec<f64> = (0..ms(80.0))
                .map(|n| {
                    let t = n as f64 / FS;
                    6000.0
                        * ((2.0 * PI * fr * (1.0 + dev) * t).sin()
                            + (2.0 * PI * fc * (1.0 + dev) * t).sin())
                })
                .collect();
            let mut y = silence(20.0);
            y.extend(x);
            y.extend(silence(50.0));
            assert_eq!(
                detect(&to_pcm(&y), &mut rng),
                key.to_string(),
                "{key} {dev}"
            );
        }
    }
}

#[test]
fn frequency_deviation_beyond_tolerance_rejected() {
    // Q.24: reject deviations of ±3.5 % and more.
    let mut rng = Rng(20);
    for key in super::super::DIGITS {
        for dev in [-0.05, -0.035, 0.035, 0.05] {
            let (fr, fc) = freqs(key);
            let x: Vec<f64> = (0..ms(100.0))
                .map(|n| {
                    let t = n as f64 / FS;
                    6000.0
                        * ((2.0 * PI * fr * (1.0 + dev) * t).sin()
                            + (2.0 * PI * fc * (1.0 + dev) * t).sin())
                })
                .collect();
            assert_eq!(detect(&to_pcm(&x), &mut rng), "", "{key} {dev}");
        }
    }
}

fn sine_sum(parts: &[(f64, f64)], dur_ms: f64) -> Vec<f64> {
    (0..ms(dur_ms))
        .map(|n| {
            let t = n as f64 / FS;
            parts
                .iter()
                .map(|&(f, a)| a * (2.0 * PI * f * t).sin())
                .sum()
        })
        .collect()
}

#[test]
fn pure_tones_and_chords_are_not_keys() {
    let mut rng = Rng(12);
    let cases: Vec<(&str, Vec<f64>)> = vec![
        ("1 kHz", sine_sum(&[(1000.0, 16000.0)], 2000.0)),
        ("697 Hz alone", sine_sum(&[(697.0, 16000.0)], 1000.0)),
        ("1336 Hz alone", sine_sum(&[(1336.0, 16000.0)], 1000.0)),
        (
            "dial tone 350+440",
            sine_sum(&[(350.0, 8000.0), (440.0, 8000.0)], 1000.0),
        ),
        (
            "ringback 440+480",
            sine_sum(&[(440.0, 8000.0), (480.0, 8000.0)], 1000.0),
        ),
        (
            "busy 480+620",
            sine_sum(&[(480.0, 8000.0), (620.0, 8000.0)], 1000.0),
        ),
        (
            "chord 600+1100",
            sine_sum(&[(600.0, 8000.0), (1100.0, 8000.0)], 1000.0),
        ),
        (
            "chord 1100+1800",
            sine_sum(&[(1100.0, 8000.0), (1800.0, 8000.0)], 1000.0),
        ),
        (
            "A major 440/554/659/880",
            sine_sum(
                &[
                    (440.0, 5000.0),
                    (554.4, 5000.0),
                    (659.3, 5000.0),
                    (880.0, 5000.0),
                ],
                1000.0,
            ),
        ),
        // A row tone plus a column tone plus a third strong tone: not a clean dual tone.
        (
            "697+1209+1000",
            sine_sum(
                &[(697.0, 6000.0), (1209.0, 6000.0), (1000.0, 6000.0)],
                500.0,
            ),
        ),
    ];
    for (name, x) in cases {
        assert_eq!(detect(&to_pcm(&x), &mut rng), "", "{name}");
    }
}

#[test]
fn chirp_is_not_a_key() {
    let mut rng = Rng(13);
    // Linear sweeps 300 → 3400 Hz at several speeds, both directions.
    for secs in [0.5, 2.0, 8.0] {
        for up in [true, false] {
            let n = (secs * FS) as usize;
            let (f0, f1) = if up { (300.0, 3400.0) } else { (3400.0, 300.0) };
            let k = (f1 - f0) / secs;
            let x: Vec<f64> = (0..n)
                .map(|i| {
                    let t = i as f64 / FS;
                    16000.0 * (2.0 * PI * (f0 * t + 0.5 * k * t * t)).sin()
                })
                .collect();
            assert_eq!(detect(&to_pcm(&x), &mut rng), "", "{secs} s up={up}");
        }
    }
}

/// Voiced "speech": a glottal-like harmonic series with moving pitch, shaped by three
/// moving formants, with a syllable envelope.
fn synthetic_speech(seconds: f64, seed: u64, f0_range: (f64, f64)) -> Vec<f64> {
    let mut rng = Rng(seed);
    let (r1, r2, r3) = (
        rng.uniform() * 6.0,
        rng.uniform() * 6.0,
        rng.uniform() * 6.0,
    );
    let n = (seconds * FS) as usize;
    let mut phase = 0.0f64;
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let t = i as f64 / FS;
        let mid = (f0_range.0 + f0_range.1) / 2.0;
        let half = (f0_range.1 - f0_range.0) / 2.0;
        let f0 = mid
            + half * (2.0 * PI * 0.7 * t + r1).sin() * 0.8
            + half * 0.2 * (2.0 * PI * 5.0 * t).sin();
        phase += 2.0 * PI * f0 / FS;
        let formants = [
            (550.0 + 250.0 * (2.0 * PI * 1.3 * t + r2).sin(), 90.0),
            (1500.0 + 600.0 * (2.0 * PI * 0.9 * t + r3).sin(), 110.0),
            (2600.0, 160.0),
        ];
        let envelope = 0.55 + 0.45 * (2.0 * PI * 3.7 * t).sin();
        let mut v = 0.0;
        let mut h = 1.0;
        while h * f0 < 3600.0 {
            let f = h * f0;
            let gain: f64 = formants
                .iter()
                .map(|&(fc, bw)| 1.0 / (1.0 + ((f - fc) / bw).powi(2)))
                .sum::<f64>()
                / h.sqrt();
            v += gain * (h * phase).sin();
            h += 1.0;
        }
        out.push(v * envelope);
    }
    let peak = out.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1e-9);
    out.iter().map(|v| v / peak * 20000.0).collect()
}

#[test]
fn synthetic_speech_is_not_a_key() {
    let mut rng = Rng(14);
    for (seed, range) in [
        (1, (90.0, 160.0)),
        (2, (160.0, 280.0)),
        (3, (200.0, 400.0)),
        (4, (100.0, 250.0)),
    ] {
        let x = synthetic_speech(4.0, seed, range);
        assert_eq!(
            detect(&to_pcm(&x), &mut rng),
            "",
            "seed {seed} f0 {range:?}"
        );
        // Quieter and noisier.
        let mut y: Vec<f64> = x.iter().map(|v| v * 0.1).collect();
        let p = power(&y);
        add_noise(&mut y, p, 15.0, &mut rng);
        assert_eq!(detect(&to_pcm(&y), &mut rng), "", "quiet seed {seed}");
    }
}

#[test]
fn noise_bursts_are_not_keys() {
    let mut rng = Rng(15);
    let mut x = Vec::new();
    for _ in 0..40 {
        let len = ms(20.0 + rng.uniform() * 200.0);
        let amp = 300.0 + rng.uniform() * 8000.0;
        x.extend((0..len).map(|_| amp * rng.gauss()));
        x.extend(silence(rng.uniform() * 100.0));
    }
    let pcm = to_pcm(&x);
    assert_eq!(detect(&pcm, &mut rng), "");
}

#[test]
fn keys_survive_a_speech_background() {
    // Caller talks softly while pressing keys: tones 15 dB above the speech still count.
    let mut rng = Rng(16);
    let speech = synthetic_speech(1.2, 9, (100.0, 180.0));
    let mut x = silence(50.0);
    for k in "42".chars() {
        x.extend(dual_tone(k, 100.0, -6.0, 0.0, &mut rng));
        x.extend(silence(200.0));
    }
    let tone_p = power(&dual_tone('4', 100.0, -6.0, 0.0, &mut rng));
    let sp_p = power(&speech);
    let g = (tone_p / sp_p / 10f64.powf(1.5)).sqrt();
    for (v, s) in x.iter_mut().zip(&speech) {
        *v += g * s;
    }
    assert_eq!(detect(&to_pcm(&x), &mut rng), "42");
}

#[test]
fn chunking_does_not_matter() {
    let mut rng = Rng(17);
    let mut x = silence(10.0);
    for k in "0123456789".chars() {
        x.extend(dual_tone(k, 45.0, -10.0, 0.0, &mut rng));
        x.extend(silence(45.0));
    }
    let pcm = to_pcm(&x);
    let mut one = InbandDetector::new();
    let by_one: String = pcm
        .iter()
        .flat_map(|s| one.push(std::slice::from_ref(s)))
        .collect();
    let mut all = InbandDetector::new();
    let at_once: String = all.push(&pcm).into_iter().collect();
    assert_eq!(by_one, "0123456789");
    assert_eq!(at_once, by_one);
    assert!(all.push(&[]).is_empty());
}

#[test]
fn extreme_input_does_not_panic() {
    let mut det = InbandDetector::new();
    let mut rng = Rng(18);
    let full: Vec<i16> = (0..8000)
        .map(|i| if i % 2 == 0 { i16::MAX } else { i16::MIN })
        .collect();
    let random: Vec<i16> = (0..8000).map(|_| rng.next_u64() as i16).collect();
    assert!(det.push(&full).is_empty());
    assert!(det.push(&random).is_empty());
    assert!(det.push(&[i16::MIN; 5000]).is_empty());
    // Clipped, overdriven key (square-ish) may or may not count, but must not panic.
    let loud: Vec<i16> = dual_tone('5', 100.0, 6.0, 0.0, &mut rng)
        .iter()
        .map(|v| v.clamp(-32768.0, 32767.0) as i16)
        .collect();
    let _ = det.push(&loud);
    det.reset();
    assert!(det.push(&[0; 1000]).is_empty());
}

#[test]
fn gap_of_20ms_separates_presses() {
    let mut rng = Rng(19);
    for _ in 0..20 {
        let mut x = silence(20.0 + rng.uniform() * 5.0);
        x.extend(dual_tone('8', 60.0, -10.0, 0.0, &mut rng));
        x.extend(silence(20.0));
        x.extend(dual_tone('8', 60.0, -10.0, 0.0, &mut rng));
        x.extend(silence(50.0));
        let p = power(&x);
        add_noise(&mut x, p, 20.0, &mut rng);
        assert_eq!(detect(&to_pcm(&x), &mut rng), "88");
    }
}
