//! In-band DTMF detection (tones in the audio), for peers that neither negotiate
//! telephone-event nor send INFO.
//!
//! Method: the eight DTMF frequencies are measured over 102-sample windows (12.75 ms at
//! 8 kHz), one window every 34 samples (4.25 ms). 102 samples puts neighbouring row
//! frequencies (73-89 Hz apart) about one DFT bin apart, near the first null of the
//! rectangular window, while keeping windows short for timing. The strongest row and column
//! are then fitted jointly by least squares (see `Tables` for why).
//!
//! A window "hits" a key when (ITU-T Q.24, Telcordia GR-506):
//! 1. one row and one column frequency each exceed the others of their group by ≥ 8 dB;
//! 2. the fitted two-tone signal holds ≥ 75 % of the window's energy: speech, music and
//!    noise spread their energy, DTMF does not (a third tone as strong as the pair fails).
//!    This also sets the frequency tolerance: ±1.5 % is accepted, ≥ 2.5 % rejected
//!    (Q.24: accept ±1.5 %, reject ±3.5 %);
//! 3. twist: the column (high) tone is at most 8 dB above the row tone ("normal" twist),
//!    the row tone at most 4 dB above the column tone ("reverse" twist);
//! 4. each tone is above a minimum level (default -36 dBm0: Q.24's -30 dBm0 less 6 dB for
//!    line loss);
//! 5. the column's second harmonic is ≥ 10 dB below it: voiced sounds have harmonics, pure
//!    tones do not. The row's second harmonic is not checked: at this window length it lies
//!    within a bin of the column frequencies (2 × 697 = 1394 vs 1336 Hz), so its bin mostly
//!    measures the column tone.
//!
//! Timing: a press counts once the tone holds at full level for about 35 ms: six
//! consecutive hits whose tone power is within 1 dB of the strongest window of the run. A
//! window that only partly overlaps the tone is weaker by the square of the overlap, so only
//! windows ≥ 89 % inside the tone count. Measured over all alignments with 20 dB SNR: tones
//! ≤ 30 ms are never accepted, ≥ 38 ms always (Q.24/GR-506: accept 40 ms; shorter ones
//! are rejected here so that speech fragments do not count). After a press, the same key
//! counts again only after 5 consecutive windows without it: gaps ≥ 18 ms separate two
//! presses, drop-outs ≤ 10 ms are bridged, so a held key is reported once.

use std::sync::LazyLock;

const SAMPLE_RATE: f32 = 8000.0;
/// Analysis window, samples.
const WINDOW: usize = 102;
/// Distance between window starts, samples.
const HOP: usize = 34;
/// Row (low group) and column (high group) frequencies, Hz (Q.23).
const ROWS: [f32; 4] = [697.0, 770.0, 852.0, 941.0];
const COLS: [f32; 4] = [1209.0, 1336.0, 1477.0, 1633.0];
const KEYS: [[char; 4]; 4] = [
    ['1', '2', '3', 'A'],
    ['4', '5', '6', 'B'],
    ['7', '8', '9', 'C'],
    ['*', '0', '#', 'D'],
];
/// Full-level windows needed for a press (see module docs).
const MIN_FULL_WINDOWS: usize = 6;
/// Hit power relative to the strongest window of the run for it to count as "full"
/// (-1 dB: overlap ≥ √0.8 ≈ 89 %).
const FULL_POWER_RATIO: f32 = 0.8;
/// Windows without the key that end a press.
const GAP_WINDOWS: u32 = 5;
/// Peak of a 0 dBm0 sine in 16-bit PCM: full scale is +3.17 dBm0 (G.711 µ-law).
const DBM0_PEAK: f32 = 22_750.0;
/// Longest run of hits kept before a press is reported (bounded memory).
const MAX_RUN: usize = 64;

/// Thresholds of the detector; [`Default`] follows Q.24 / GR-506.
#[derive(Debug, Clone, PartialEq)]
pub struct InbandConfig {
    /// Minimum level of each tone, dBm0.
    pub min_level_dbm0: f32,
    /// Largest excess of the column tone over the row tone, dB.
    pub normal_twist_db: f32,
    /// Largest excess of the row tone over the column tone, dB.
    pub reverse_twist_db: f32,
    /// How far the strongest tone of each group must exceed the others, dB.
    pub relative_peak_db: f32,
    /// Minimum share of the window's energy in the two tones, 0..1.
    pub min_tone_fraction: f32,
    /// How far the column's second harmonic must be below the column tone, dB.
    pub harmonic_reject_db: f32,
}

impl Default for InbandConfig {
    fn default() -> Self {
        InbandConfig {
            min_level_dbm0: -36.0,
            normal_twist_db: 8.0,
            reverse_twist_db: 4.0,
            relative_peak_db: 8.0,
            min_tone_fraction: 0.75,
            harmonic_reject_db: 10.0,
        }
    }
}

/// Thresholds as linear power ratios, computed once.
#[derive(Debug, Clone)]
struct Limits {
    /// Minimum Goertzel power of each tone.
    min_power: f32,
    normal_twist: f32,
    reverse_twist: f32,
    relative_peak: f32,
    tone_fraction: f32,
    harmonic: f32,
}

impl Limits {
    fn new(c: &InbandConfig) -> Self {
        let ratio = |db: f32| 10f32.powf(db / 10.0);
        // A sine of peak A gives Goertzel power (A·N/2)² at its own frequency.
        let amp = DBM0_PEAK * 10f32.powf(c.min_level_dbm0 / 20.0);
        Limits {
            min_power: (amp * WINDOW as f32 / 2.0).powi(2),
            normal_twist: ratio(c.normal_twist_db),
            reverse_twist: ratio(c.reverse_twist_db),
            relative_peak: ratio(c.relative_peak_db),
            tone_fraction: c.min_tone_fraction,
            harmonic: ratio(-c.harmonic_reject_db),
        }
    }
}

/// Goertzel coefficient 2·cos(2πf/fs).
fn coef(freq: f32) -> f32 {
    2.0 * (2.0 * std::f32::consts::PI * freq / SAMPLE_RATE).cos()
}

/// Squared magnitude of the DFT of `x` at the frequency of `coef` (Goertzel).
fn goertzel(x: &[f32], coef: f32) -> f32 {
    let (mut s1, mut s2) = (0.0f32, 0.0f32);
    for &v in x {
        let s = v + coef * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    (s1 * s1 + s2 * s2 - coef * s1 * s2).max(0.0)
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Basis functions and least-squares matrices, shared by all detectors.
///
/// Why least squares for the chosen row/column pair: with a 102-sample window a tone leaks
/// into the other tone's DFT bin (-20 dB for 941 vs 1209 Hz) and, depending on the phases,
/// adds to or cancels it; measured levels then wobble by ±1.5 dB and ±40 % in power from
/// one window to the next, which breaks twist and duration checks. Fitting both tones
/// (cos and sin at each frequency) jointly removes that cross-talk exactly.
struct Tables {
    /// cos(ωn) and sin(ωn), n = 0..WINDOW, for the rows then the columns.
    cos: [[f32; WINDOW]; 8],
    sin: [[f32; WINDOW]; 8],
    /// Inverse Gram matrix of (cos_r, sin_r, cos_c, sin_c) for pair `4 * row + col`.
    inv_gram: [[[f32; 4]; 4]; 16],
}

static TABLES: LazyLock<Tables> = LazyLock::new(Tables::new);

impl Tables {
    fn new() -> Self {
        let freqs: Vec<f64> = ROWS.iter().chain(&COLS).map(|&f| f64::from(f)).collect();
        let basis = |f: f64, n: usize, sin: bool| {
            let ph = 2.0 * std::f64::consts::PI * f * n as f64 / f64::from(SAMPLE_RATE);
            if sin {
                ph.sin()
            } else {
                ph.cos()
            }
        };
        let mut t = Tables {
            cos: [[0.0; WINDOW]; 8],
            sin: [[0.0; WINDOW]; 8],
            inv_gram: [[[0.0; 4]; 4]; 16],
        };
        for (k, &f) in freqs.iter().enumerate() {
            for n in 0..WINDOW {
                t.cos[k][n] = basis(f, n, false) as f32;
                t.sin[k][n] = basis(f, n, true) as f32;
            }
        }
        for r in 0..4 {
            for c in 0..4 {
                let fs = [
                    (freqs[r], false),
                    (freqs[r], true),
                    (freqs[4 + c], false),
                    (freqs[4 + c], true),
                ];
                let mut g = [[0.0f64; 4]; 4];
                for (i, &(fi, si)) in fs.iter().enumerate() {
                    for (j, &(fj, sj)) in fs.iter().enumerate() {
                        g[i][j] = (0..WINDOW)
                            .map(|n| basis(fi, n, si) * basis(fj, n, sj))
                            .sum();
                    }
                }
                // A singular matrix cannot happen for distinct frequencies; if it did, the
                // zero matrix makes every fit empty and the pair is never detected.
                if let Some(inv) = invert4(g) {
                    t.inv_gram[4 * r + c] = inv.map(|row| row.map(|v| v as f32));
                }
            }
        }
        t
    }
}

/// Gauss-Jordan inversion with partial pivoting.
fn invert4(mut a: [[f64; 4]; 4]) -> Option<[[f64; 4]; 4]> {
    let mut inv = [[0.0f64; 4]; 4];
    for (i, row) in inv.iter_mut().enumerate() {
        row[i] = 1.0;
    }
    for col in 0..4 {
        let pivot = (col..4).max_by(|&x, &y| a[x][col].abs().total_cmp(&a[y][col].abs()))?;
        if a[pivot][col].abs() < 1e-9 {
            return None;
        }
        a.swap(col, pivot);
        inv.swap(col, pivot);
        let p = a[col][col];
        for j in 0..4 {
            a[col][j] /= p;
            inv[col][j] /= p;
        }
        for i in 0..4 {
            if i != col {
                let f = a[i][col];
                for j in 0..4 {
                    a[i][j] -= f * a[col][j];
                    inv[i][j] -= f * inv[col][j];
                }
            }
        }
    }
    Some(inv)
}

/// Streaming DTMF tone detector for 8 kHz 16-bit audio.
#[derive(Debug, Clone)]
pub struct InbandDetector {
    limits: Limits,
    col_harmonic_coefs: [f32; 4],
    /// Samples not yet covered by a window start (always < WINDOW + HOP).
    pending: Vec<f32>,
    /// Key of the current run of consecutive hits and their tone powers.
    run_key: Option<char>,
    run_powers: Vec<f32>,
    /// The key reported last, while it is still (or may still be) held.
    latched: Option<char>,
    /// Consecutive windows without the latched key.
    misses: u32,
}

impl Default for InbandDetector {
    fn default() -> Self {
        Self::new()
    }
}

impl InbandDetector {
    /// A detector with the default (Q.24) thresholds, for 8 kHz audio.
    pub fn new() -> Self {
        Self::with_config(&InbandConfig::default())
    }

    pub fn with_config(config: &InbandConfig) -> Self {
        InbandDetector {
            limits: Limits::new(config),
            col_harmonic_coefs: COLS.map(|f| coef(2.0 * f)),
            pending: Vec::with_capacity(WINDOW + HOP),
            run_key: None,
            run_powers: Vec::new(),
            latched: None,
            misses: 0,
        }
    }

    /// Clears all state (e.g. after a stream restart).
    pub fn reset(&mut self) {
        self.pending.clear();
        self.run_key = None;
        self.run_powers.clear();
        self.latched = None;
        self.misses = 0;
    }

    /// Feeds audio (any chunk size); returns the presses recognised in it, in order. A press
    /// is reported about 35-40 ms after the key goes down, not on release, so it can cut a
    /// prompt short.
    pub fn push(&mut self, pcm: &[i16]) -> Vec<char> {
        let mut out = Vec::new();
        for chunk in pcm.chunks(HOP) {
            self.pending.extend(chunk.iter().map(|&s| f32::from(s)));
            while self.pending.len() >= WINDOW {
                let hit = self.classify(&self.pending[..WINDOW]);
                if let Some(key) = self.track(hit) {
                    out.push(key);
                }
                self.pending.drain(..HOP);
            }
        }
        out
    }

    /// The key a single window holds, with its tone power, if it passes all checks.
    fn classify(&self, x: &[f32]) -> Option<(char, f32)> {
        let lim = &self.limits;
        let t = &*TABLES;
        // Inner products with cos/sin at the 8 frequencies; |DFT|² = C² + S².
        let mut cs = [(0.0f32, 0.0f32); 8];
        for (k, v) in cs.iter_mut().enumerate() {
            *v = (dot(x, &t.cos[k]), dot(x, &t.sin[k]));
        }
        let bins = cs.map(|(c, s)| c * c + s * s);
        let rows = [bins[0], bins[1], bins[2], bins[3]];
        let cols = [bins[4], bins[5], bins[6], bins[7]];
        let (r, pr) = strongest(&rows);
        let (c, pc) = strongest(&cols);
        let dominant = |powers: &[f32; 4], best: usize, p: f32| {
            powers
                .iter()
                .enumerate()
                .all(|(i, &q)| i == best || q * lim.relative_peak <= p)
        };
        if !dominant(&rows, r, pr) || !dominant(&cols, c, pc) {
            return None;
        }

        // Joint least-squares fit of the two tones (see `Tables`).
        let (cr, sr) = *cs.get(r)?;
        let (cc, sc) = *cs.get(4 + c)?;
        let v = [cr, sr, cc, sc];
        let inv = t.inv_gram.get(4 * r + c)?;
        let theta = inv.map(|row| dot(&row, &v));
        // Squared amplitudes, scaled to Goertzel power of a full-window sine: (A·N/2)².
        let scale = (WINDOW as f32 / 2.0).powi(2);
        let ar2 = (theta[0] * theta[0] + theta[1] * theta[1]) * scale;
        let ac2 = (theta[2] * theta[2] + theta[3] * theta[3]) * scale;
        if ar2 < lim.min_power || ac2 < lim.min_power {
            return None;
        }
        if ac2 > ar2 * lim.normal_twist || ar2 > ac2 * lim.reverse_twist {
            return None;
        }
        // Energy of the fitted two-tone signal (projection) against the window's energy.
        let fitted = dot(&theta, &v);
        let energy = dot(x, x);
        if fitted < lim.tone_fraction * energy {
            return None;
        }
        let harmonic = goertzel(x, *self.col_harmonic_coefs.get(c)?);
        if harmonic > pc * lim.harmonic {
            return None;
        }
        Some((*KEYS.get(r)?.get(c)?, ar2 + ac2))
    }

    /// Debounce and duration logic; returns a key when a press is recognised.
    fn track(&mut self, hit: Option<(char, f32)>) -> Option<char> {
        let key = hit.map(|(k, _)| k);
        if self.latched.is_some() {
            if key == self.latched {
                self.misses = 0;
            } else {
                self.misses += 1;
                if self.misses >= GAP_WINDOWS {
                    self.latched = None;
                }
            }
        }
        let Some((key, power)) = hit else {
            self.run_key = None;
            self.run_powers.clear();
            return None;
        };
        if self.run_key != Some(key) {
            self.run_key = Some(key);
            self.run_powers.clear();
        }
        if self.latched == Some(key) {
            return None;
        }
        if self.run_powers.len() == MAX_RUN {
            self.run_powers.remove(0);
        }
        self.run_powers.push(power);
        let max = self.run_powers.iter().fold(0.0f32, |m, &p| m.max(p));
        let full = self
            .run_powers
            .iter()
            .filter(|&&p| p >= FULL_POWER_RATIO * max)
            .count();
        if full >= MIN_FULL_WINDOWS {
            self.latched = Some(key);
            self.misses = 0;
            self.run_powers.clear();
            return Some(key);
        }
        None
    }
}

fn strongest(p: &[f32; 4]) -> (usize, f32) {
    p.iter().copied().enumerate().fold(
        (0, f32::MIN),
        |best, (i, v)| if v > best.1 { (i, v) } else { best },
    )
}

#[cfg(test)]
mod tests;
