//! Band-limited sample-rate conversion for prompt loading (any rate → 8 kHz).
//!
//! A windowed-sinc interpolator (Kaiser window, β = 8.6, ≈ 85 dB stop band) evaluated
//! at each output instant from a finely tabulated kernel. The cutoff is 0.4625 × the
//! lower of the two rates (3.7 kHz for 8 kHz output): 32 zero crossings each side give
//! a ≈ 3.4–4.0 kHz transition band, so the telephone band (300–3400 Hz) passes flat
//! and nothing at or above the output Nyquist (4 kHz) folds back.
//!
//! Why not rubato (crates.md §6)? Its current release needs Rust 1.87 (we declare
//! 1.85) and pulls an FFT stack, for a conversion done once per file at start-up.
//! This costs ~2 ms per second of 44.1 kHz audio, which is plenty.

use std::sync::OnceLock;

/// Zero crossings of the sinc on each side of the centre.
const ZEROS: usize = 32;
/// Kernel table entries per zero crossing (linear interpolation in between;
/// the interpolation error is below -100 dB).
const OVERSAMPLE: usize = 512;
const KAISER_BETA: f64 = 8.6;
/// Cutoff as a fraction of the lower sample rate.
const CUTOFF: f64 = 0.4625;

fn bessel_i0(x: f64) -> f64 {
    // Power series; converges fast for the arguments a Kaiser window needs.
    let mut sum = 1.0;
    let mut term = 1.0;
    let q = x * x / 4.0;
    for k in 1..64 {
        term *= q / (k * k) as f64;
        sum += term;
        if term < sum * 1e-17 {
            break;
        }
    }
    sum
}

/// The kernel h(x) = sinc(x)·kaiser(x/ZEROS) for x = i/OVERSAMPLE, i = 0..=ZEROS·OVERSAMPLE (+1 guard).
fn kernel() -> &'static [f32] {
    static TABLE: OnceLock<Vec<f32>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let n = ZEROS * OVERSAMPLE;
        let i0_beta = bessel_i0(KAISER_BETA);
        (0..=n + 1)
            .map(|i| {
                if i > n {
                    return 0.0;
                }
                let x = i as f64 / OVERSAMPLE as f64;
                let sinc = if i == 0 {
                    1.0
                } else {
                    let px = std::f64::consts::PI * x;
                    px.sin() / px
                };
                let r = x / ZEROS as f64;
                let w = bessel_i0(KAISER_BETA * (1.0 - r * r).max(0.0).sqrt()) / i0_beta;
                (sinc * w) as f32
            })
            .collect()
    })
}

/// Resample `input` (at `from` Hz) to `to` Hz. Samples outside the input count as
/// silence. `from == to` returns a copy. Rates must be non-zero.
pub(super) fn resample(input: &[f32], from: u32, to: u32) -> Vec<f32> {
    if from == to || input.is_empty() || from == 0 || to == 0 {
        return input.to_vec();
    }
    let table = kernel();
    let fc = CUTOFF * f64::from(from.min(to));
    // Kernel argument (in zero crossings) per input sample, and the DC gain factor.
    let scale = 2.0 * fc / f64::from(from);
    let half_width = ZEROS as f64 / scale; // in input samples
    let out_len = (input.len() as u64 * u64::from(to)).div_ceil(u64::from(from)) as usize;
    let step = f64::from(from) / f64::from(to);
    let last = input.len() as i64 - 1;
    let mut out = Vec::with_capacity(out_len);
    for n in 0..out_len {
        let t = n as f64 * step; // output instant, in input samples
        let lo = ((t - half_width).ceil() as i64).max(0);
        let hi = ((t + half_width).floor() as i64).min(last);
        let mut acc = 0.0f64;
        for k in lo..=hi {
            let x = (t - k as f64).abs() * scale * OVERSAMPLE as f64;
            let i = x as usize;
            if i >= ZEROS * OVERSAMPLE {
                continue;
            }
            let frac = (x - i as f64) as f32;
            let h = table[i] + (table[i + 1] - table[i]) * frac;
            acc += f64::from(input[k as usize] * h);
        }
        out.push((acc * scale) as f32);
    }
    out
}
