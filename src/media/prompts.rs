//! The prompt library: every WAV under `sounds/<lang>/` decoded **once** at start-up
//! to 8 kHz mono 16-bit, pre-encoded to both G.711 laws, and shared between calls.
//!
//! - Input: any PCM WAV hound reads — 8/16/24/32-bit integer or 32-bit float, any
//!   channel count (averaged to mono), 4–384 kHz (band-limited resampling to 8 kHz,
//!   see `resample`). G.711-coded WAVs (format tags 6/7) are refused with a clear
//!   error: convert them with `sox in.wav -e signed-integer -b 16 out.wav`.
//! - Layout: `sounds/<lang>/**/<name>.wav`; the prompt name is the path below the
//!   language directory without `.wav` (`welcome`, `digits/5`). The directory
//!   [`COMMON_DIR`] (`sounds/common/`) holds language-neutral sounds (music on hold,
//!   beeps) and is the last fallback for every language.
//! - Lookup: `get(lang, name)` tries `lang`, then its primary subtag (`en-GB` → `en`),
//!   then the default language, then `common`.
//! - Every unreadable or invalid file is reported with its path by
//!   [`PromptLibrary::load`]: a broken prompt is a start-up error, never silence on a call.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

mod resample;
#[cfg(test)]
mod tests;

/// The rate prompts are stored at (G.711).
pub const SAMPLE_RATE: u32 = 8000;
/// The directory of language-neutral sounds, searched after the default language.
pub const COMMON_DIR: &str = "common";
/// Longest accepted prompt (a guard against a corrupt or absurd header).
pub const MAX_PROMPT: Duration = Duration::from_secs(30 * 60);
/// Accepted input sample rates.
pub const INPUT_RATES: std::ops::RangeInclusive<u32> = 4_000..=384_000;
/// Directory nesting below a language directory (also stops symlink loops).
const MAX_DEPTH: usize = 8;

/// A prompt file that could not be used, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {reason}", path.display())]
pub struct PromptError {
    pub path: PathBuf,
    pub reason: String,
}

impl PromptError {
    fn new(path: &Path, reason: impl Into<String>) -> PromptError {
        PromptError {
            path: path.to_owned(),
            reason: reason.into(),
        }
    }
}

/// One decoded prompt, ready to packetise in either law. Cheap to clone (`Arc`s).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt {
    /// Relative name, e.g. `welcome` or `digits/5`.
    pub name: String,
    /// The language directory it came from (`en`, `fa`, …, or `common`).
    pub lang: String,
    /// 8 kHz mono linear samples.
    pub pcm: Arc<[i16]>,
    /// The same audio, G.711 µ-law, one byte per sample.
    pub ulaw: Arc<[u8]>,
    /// The same audio, G.711 A-law, one byte per sample.
    pub alaw: Arc<[u8]>,
}

impl Prompt {
    /// A prompt from 8 kHz mono samples (generated tones, tests).
    pub fn from_pcm(name: impl Into<String>, lang: impl Into<String>, pcm: Vec<i16>) -> Prompt {
        let ulaw: Vec<u8> = pcm.iter().map(|&s| linear_to_ulaw(s)).collect();
        let alaw: Vec<u8> = pcm.iter().map(|&s| linear_to_alaw(s)).collect();
        Prompt {
            name: name.into(),
            lang: lang.into(),
            pcm: pcm.into(),
            ulaw: ulaw.into(),
            alaw: alaw.into(),
        }
    }

    /// Read and convert one WAV file.
    pub fn from_wav_file(
        path: &Path,
        name: impl Into<String>,
        lang: impl Into<String>,
    ) -> Result<Prompt, PromptError> {
        Ok(Prompt::from_pcm(name, lang, read_wav_8k(path)?))
    }

    /// Number of 8 kHz samples (= G.711 bytes).
    pub fn samples(&self) -> usize {
        self.pcm.len()
    }

    /// Playing time.
    pub fn duration(&self) -> Duration {
        Duration::from_micros(self.pcm.len() as u64 * 1_000_000 / u64::from(SAMPLE_RATE))
    }
}

/// Read a PCM WAV file and convert it to 8 kHz mono 16-bit.
pub fn read_wav_8k(path: &Path) -> Result<Vec<i16>, PromptError> {
    let reader = hound::WavReader::open(path).map_err(|e| PromptError::new(path, e.to_string()))?;
    decode(reader).map_err(|reason| PromptError::new(path, reason))
}

/// Convert a WAV stream to 8 kHz mono 16-bit.
fn decode<R: std::io::Read>(mut reader: hound::WavReader<R>) -> Result<Vec<i16>, String> {
    let spec = reader.spec();
    let channels = usize::from(spec.channels);
    if channels == 0 {
        return Err("WAV header has 0 channels".into());
    }
    if !INPUT_RATES.contains(&spec.sample_rate) {
        return Err(format!(
            "unsupported sample rate {} Hz (need {}-{} Hz)",
            spec.sample_rate,
            INPUT_RATES.start(),
            INPUT_RATES.end()
        ));
    }
    let frames = u64::from(reader.duration());
    if frames == 0 {
        return Err("WAV file has no audio".into());
    }
    if frames / u64::from(spec.sample_rate) > MAX_PROMPT.as_secs() {
        return Err(format!(
            "longer than {} minutes ({} frames at {} Hz)",
            MAX_PROMPT.as_secs() / 60,
            frames,
            spec.sample_rate
        ));
    }
    // The header's length is not trusted for the allocation.
    let mut mono = Vec::with_capacity(frames.min(1 << 20) as usize);
    let mut acc = 0.0f32;
    let mut n = 0usize;
    let inv_channels = 1.0 / channels as f32;
    let mut push = |v: f32| {
        acc += v;
        n += 1;
        if n == channels {
            mono.push(acc * inv_channels);
            acc = 0.0;
            n = 0;
        }
    };
    match (spec.sample_format, spec.bits_per_sample) {
        (hound::SampleFormat::Int, bits @ 1..=32) => {
            // hound returns integers unscaled (an 8-bit sample is -128..=127), so
            // normalise by the declared width.
            let scale = 1.0 / (1u64 << (bits - 1)) as f64;
            for s in reader.samples::<i32>() {
                let s = s.map_err(|e| format!("reading samples: {e}"))?;
                push((f64::from(s) * scale) as f32);
            }
        }
        (hound::SampleFormat::Float, 32) => {
            for s in reader.samples::<f32>() {
                let s = s.map_err(|e| format!("reading samples: {e}"))?;
                push(if s.is_finite() { s } else { 0.0 });
            }
        }
        (format, bits) => {
            return Err(format!("unsupported sample format: {bits}-bit {format:?}"));
        }
    }
    if mono.is_empty() {
        return Err("WAV file has no complete frame".into());
    }
    let at_8k = resample::resample(&mono, spec.sample_rate, SAMPLE_RATE);
    Ok(at_8k.into_iter().map(to_i16).collect())
}

fn to_i16(v: f32) -> i16 {
    // `as` saturates (and maps NaN to 0).
    (v * 32768.0).round() as i16
}

/// All prompts, by language and name.
#[derive(Debug, Clone, Default)]
pub struct PromptLibrary {
    default_lang: String,
    langs: BTreeMap<String, HashMap<String, Arc<Prompt>>>,
}

impl PromptLibrary {
    /// A library with no prompts (fill it with [`PromptLibrary::insert`]).
    pub fn new(default_lang: &str) -> PromptLibrary {
        PromptLibrary {
            default_lang: default_lang.to_owned(),
            langs: BTreeMap::new(),
        }
    }

    /// Load `sounds_dir/<lang>/**/*.wav`. Files directly in `sounds_dir` (scripts,
    /// READMEs) and non-`.wav` files are ignored; every `.wav` that cannot be used
    /// is an error naming its path, and so is a missing default-language directory.
    pub fn load(sounds_dir: &Path, default_lang: &str) -> Result<PromptLibrary, Vec<PromptError>> {
        let mut lib = PromptLibrary::new(default_lang);
        let mut errors = Vec::new();
        let entries = match sorted_entries(sounds_dir) {
            Ok(e) => e,
            Err(e) => return Err(vec![e]),
        };
        for path in entries {
            if !path.is_dir() || is_hidden(&path) {
                continue;
            }
            let Some(lang) = path.file_name().and_then(|n| n.to_str()) else {
                errors.push(PromptError::new(
                    &path,
                    "language directory name is not UTF-8",
                ));
                continue;
            };
            let lang = lang.to_owned();
            let mut files = Vec::new();
            collect_wavs(&path, String::new(), 0, &mut files, &mut errors);
            for (name, file) in files {
                if lib.has(&lang, &name) {
                    errors.push(PromptError::new(
                        &file,
                        format!("duplicate prompt {lang}/{name}"),
                    ));
                    continue;
                }
                match Prompt::from_wav_file(&file, name, lang.clone()) {
                    Ok(p) => lib.insert(p),
                    Err(e) => errors.push(e),
                }
            }
        }
        if !lib.langs.contains_key(default_lang) {
            errors.push(PromptError::new(
                &sounds_dir.join(default_lang),
                "default language has no prompts (missing or empty directory)",
            ));
        }
        if errors.is_empty() {
            Ok(lib)
        } else {
            Err(errors)
        }
    }

    /// Add or replace a prompt under its `lang` and `name`.
    pub fn insert(&mut self, prompt: Prompt) {
        self.langs
            .entry(prompt.lang.clone())
            .or_default()
            .insert(prompt.name.clone(), Arc::new(prompt));
    }

    pub fn default_lang(&self) -> &str {
        &self.default_lang
    }

    /// The prompt `name` for a caller speaking `lang`: `lang`, its primary subtag,
    /// the default language, then [`COMMON_DIR`].
    pub fn get(&self, lang: &str, name: &str) -> Option<Arc<Prompt>> {
        let primary = lang.split(['-', '_']).next().unwrap_or(lang);
        [lang, primary, self.default_lang.as_str(), COMMON_DIR]
            .into_iter()
            .find_map(|l| self.langs.get(l)?.get(name))
            .cloned()
    }

    /// Whether `lang` itself (no fallback) has `name`; use [`PromptLibrary::get`]
    /// to ask whether a caller would hear something.
    pub fn has(&self, lang: &str, name: &str) -> bool {
        self.langs.get(lang).is_some_and(|m| m.contains_key(name))
    }

    /// The languages with prompts, sorted, without [`COMMON_DIR`].
    pub fn languages(&self) -> Vec<&str> {
        self.langs
            .keys()
            .map(String::as_str)
            .filter(|l| *l != COMMON_DIR)
            .collect()
    }

    /// The prompt names of one language directory, sorted.
    pub fn names(&self, lang: &str) -> Vec<&str> {
        let mut v: Vec<&str> = self
            .langs
            .get(lang)
            .map(|m| m.keys().map(String::as_str).collect())
            .unwrap_or_default();
        v.sort_unstable();
        v
    }

    /// Number of prompts in all languages.
    pub fn len(&self) -> usize {
        self.langs.values().map(HashMap::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The prompts that say `n`. English (`en`, `en-*`) uses words — "three
    /// hundred forty two thousand …" from `digits/0-9`, `numbers/10-19`,
    /// `numbers/20..90`, `numbers/hundred|thousand|million`; other languages, or an
    /// English set with a word missing, say the digits one by one.
    pub fn say_number(&self, n: u64, lang: &str) -> Vec<Arc<Prompt>> {
        if is_english(lang) {
            let mut names = Vec::new();
            english_words(n, &mut names);
            let prompts: Option<Vec<_>> = names.iter().map(|name| self.get(lang, name)).collect();
            if let Some(p) = prompts {
                return p;
            }
        }
        self.say_digits(&n.to_string(), lang)
    }

    /// `digits/<d>` for every digit of `s` (ASCII, Persian `۰-۹` or Arabic-Indic
    /// `٠-٩`); other characters are skipped, as are digits without a prompt.
    pub fn say_digits(&self, s: &str, lang: &str) -> Vec<Arc<Prompt>> {
        s.chars()
            .filter_map(digit_value)
            .filter_map(|d| self.get(lang, &format!("digits/{d}")))
            .collect()
    }
}

fn is_english(lang: &str) -> bool {
    lang == "en" || lang.starts_with("en-") || lang.starts_with("en_")
}

fn digit_value(c: char) -> Option<u32> {
    match c {
        '0'..='9' => c.to_digit(10),
        '\u{06F0}'..='\u{06F9}' => Some(c as u32 - 0x06F0),
        '\u{0660}'..='\u{0669}' => Some(c as u32 - 0x0660),
        _ => None,
    }
}

/// Prompt names for `n` in English (no "and": "one hundred five").
fn english_words(n: u64, out: &mut Vec<String>) {
    const MILLION: u64 = 1_000_000;
    let mut n = n;
    if n >= MILLION {
        english_words(n / MILLION, out);
        out.push("numbers/million".into());
        n %= MILLION;
        if n == 0 {
            return;
        }
    }
    if n >= 1000 {
        english_words(n / 1000, out);
        out.push("numbers/thousand".into());
        n %= 1000;
        if n == 0 {
            return;
        }
    }
    if n >= 100 {
        out.push(format!("digits/{}", n / 100));
        out.push("numbers/hundred".into());
        n %= 100;
        if n == 0 {
            return;
        }
    }
    match n {
        0..=9 => out.push(format!("digits/{n}")),
        10..=19 => out.push(format!("numbers/{n}")),
        _ => {
            out.push(format!("numbers/{}", n / 10 * 10));
            if n % 10 != 0 {
                out.push(format!("digits/{}", n % 10));
            }
        }
    }
}

fn is_hidden(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with('.'))
}

fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>, PromptError> {
    let rd = std::fs::read_dir(dir)
        .map_err(|e| PromptError::new(dir, format!("cannot read directory: {e}")))?;
    let mut v = Vec::new();
    for entry in rd {
        let entry =
            entry.map_err(|e| PromptError::new(dir, format!("cannot read directory: {e}")))?;
        v.push(entry.path());
    }
    v.sort();
    Ok(v)
}

/// `(name, path)` of every `*.wav` below `dir`; `prefix` is the name so far.
fn collect_wavs(
    dir: &Path,
    prefix: String,
    depth: usize,
    files: &mut Vec<(String, PathBuf)>,
    errors: &mut Vec<PromptError>,
) {
    if depth > MAX_DEPTH {
        errors.push(PromptError::new(
            dir,
            "directories nested too deeply (symlink loop?)",
        ));
        return;
    }
    let entries = match sorted_entries(dir) {
        Ok(e) => e,
        Err(e) => return errors.push(e),
    };
    for path in entries {
        if is_hidden(&path) {
            continue;
        }
        let Some(file_name) = path.file_name().and_then(|n| n.to_str()) else {
            errors.push(PromptError::new(&path, "file name is not UTF-8"));
            continue;
        };
        if path.is_dir() {
            collect_wavs(
                &path,
                format!("{prefix}{file_name}/"),
                depth + 1,
                files,
                errors,
            );
            continue;
        }
        let Some(stem) = file_name
            .len()
            .checked_sub(4)
            .filter(|&i| {
                file_name.is_char_boundary(i) && file_name[i..].eq_ignore_ascii_case(".wav")
            })
            .map(|i| &file_name[..i])
        else {
            continue;
        };
        if stem.is_empty() {
            errors.push(PromptError::new(&path, "empty prompt name"));
            continue;
        }
        files.push((format!("{prefix}{stem}"), path));
    }
}

// ------------------------------------------------------------ G.711 encoders
//
// The Sun/CCITT reference algorithm (as in CPython's audioop), bit-exact; private
// here until media::g711 lands, then deduplicated.

/// 16-bit linear → G.711 µ-law.
fn linear_to_ulaw(sample: i16) -> u8 {
    const SEG_END: [i16; 8] = [0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF];
    const BIAS: i16 = 0x84 >> 2;
    const CLIP: i16 = 8159;
    let mut v = sample >> 2; // 14-bit
    let mask: u8 = if v < 0 {
        v = -v;
        0x7F
    } else {
        0xFF
    };
    v = v.min(CLIP) + BIAS;
    match SEG_END.iter().position(|&end| v <= end) {
        Some(seg) => (((seg as u8) << 4) | ((v >> (seg + 1)) & 0xF) as u8) ^ mask,
        None => 0x7F ^ mask,
    }
}

/// 16-bit linear → G.711 A-law.
fn linear_to_alaw(sample: i16) -> u8 {
    const SEG_END: [i16; 8] = [0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF];
    let mut v = sample >> 3; // 13-bit
    let mask: u8 = if v >= 0 {
        0xD5
    } else {
        v = -v - 1;
        0x55
    };
    match SEG_END.iter().position(|&end| v <= end) {
        Some(seg) => {
            let shift = if seg < 2 { 1 } else { seg };
            (((seg as u8) << 4) | ((v >> shift) & 0xF) as u8) ^ mask
        }
        None => 0x7F ^ mask,
    }
}
