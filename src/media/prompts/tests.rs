use super::*;
use hound::{SampleFormat, WavSpec, WavWriter};
use proptest::prelude::*;
use std::f64::consts::PI;
use std::io::Cursor;

// ------------------------------------------------------------ helpers

/// Write a WAV with `f(t)` (t in seconds, value in -1..1) on every channel, or on
/// channel 0 only when `left_only`.
fn write_wav(path: &Path, spec: WavSpec, secs: f64, left_only: bool, f: impl Fn(f64) -> f64) {
    let (rate, channels, bits, format) = (
        spec.sample_rate,
        spec.channels,
        spec.bits_per_sample,
        spec.sample_format,
    );
    let mut w = WavWriter::create(path, spec).unwrap();
    let frames = (secs * f64::from(rate)) as usize;
    for i in 0..frames {
        let v = f(i as f64 / f64::from(rate));
        for ch in 0..channels {
            let v = if left_only && ch > 0 { 0.0 } else { v };
            match format {
                SampleFormat::Float => w.write_sample(v as f32).unwrap(),
                SampleFormat::Int => {
                    let full = (1i64 << (bits - 1)) as f64;
                    let s = (v * full).round().clamp(-full, full - 1.0) as i32;
                    if bits == 8 {
                        w.write_sample(s as i8).unwrap();
                    } else if bits == 16 {
                        w.write_sample(s as i16).unwrap();
                    } else {
                        w.write_sample(s).unwrap();
                    }
                }
            }
        }
    }
    w.finalize().unwrap();
}

fn spec(rate: u32, channels: u16, format: SampleFormat, bits: u16) -> WavSpec {
    WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: bits,
        sample_format: format,
    }
}

fn sine(freq: f64, amp: f64) -> impl Fn(f64) -> f64 {
    move |t| amp * (2.0 * PI * freq * t).sin()
}

/// Amplitude of the `freq` component of 8 kHz samples (Goertzel, normalised so a
/// full-scale sine reads 1.0).
fn goertzel_amp(x: &[i16], freq: f64) -> f64 {
    let w = 2.0 * PI * freq / 8000.0;
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &v in x {
        let s = f64::from(v) / 32768.0 + coeff * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    let power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
    2.0 * power.max(0.0).sqrt() / x.len() as f64
}

fn rms(x: &[i16]) -> f64 {
    (x.iter()
        .map(|&v| (f64::from(v) / 32768.0).powi(2))
        .sum::<f64>()
        / x.len() as f64)
        .sqrt()
}

fn zero_crossings(x: &[i16]) -> usize {
    x.windows(2).filter(|w| (w[0] < 0) != (w[1] < 0)).count()
}

/// The middle of a signal, away from the start/end transients; a whole number of
/// 1 kHz periods (8 samples) for the Goertzel.
fn middle(x: &[i16]) -> &[i16] {
    let n = x.len() / 4 / 8 * 8;
    &x[n..n + 2 * n]
}

// ------------------------------------------------------------ G.711

/// FNV-1a over the codes of every 16-bit input, -32768..=32767.
fn fnv_all(enc: fn(i16) -> u8) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for s in i16::MIN..=i16::MAX {
        h ^= u64::from(enc(s));
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

#[test]
fn g711_encoders_match_reference_bit_exactly() {
    // Hashes of CPython audioop.lin2ulaw / lin2alaw over all 65,536 inputs.
    assert_eq!(fnv_all(linear_to_ulaw), 0xd5ee_23f7_d0ff_ae91);
    assert_eq!(fnv_all(linear_to_alaw), 0xf030_666e_b780_cf25);
    for (s, u, a) in [
        (0i16, 255u8, 213u8),
        (-1, 126, 85),
        (100, 242, 211),
        (-100, 114, 83),
        (1000, 206, 250),
        (-1000, 78, 122),
        (12345, 151, 189),
        (-12345, 23, 61),
        (32767, 128, 170),
        (-32768, 0, 42),
    ] {
        assert_eq!((linear_to_ulaw(s), linear_to_alaw(s)), (u, a), "{s}");
    }
}

// ------------------------------------------------------------ conversion

#[test]
fn tone_keeps_amplitude_and_frequency_across_formats() {
    let dir = tempfile::tempdir().unwrap();
    let formats = [
        (SampleFormat::Int, 8),
        (SampleFormat::Int, 16),
        (SampleFormat::Int, 24),
        (SampleFormat::Int, 32),
        (SampleFormat::Float, 32),
    ];
    let mut checked = 0;
    for rate in [8000, 11025, 16000, 22050, 44100, 48000] {
        for (format, bits) in formats {
            for channels in [1u16, 2] {
                let path = dir
                    .path()
                    .join(format!("t{rate}_{bits}_{format:?}_{channels}.wav"));
                write_wav(
                    &path,
                    spec(rate, channels, format, bits),
                    0.5,
                    false,
                    sine(1000.0, 0.4),
                );
                let pcm = read_wav_8k(&path).unwrap();
                let what = format!("{rate} Hz {bits}-bit {format:?} x{channels}");
                assert!(
                    (pcm.len() as i64 - 4000).abs() <= 1,
                    "{what}: {} samples",
                    pcm.len()
                );
                let mid = middle(&pcm);
                let amp = goertzel_amp(mid, 1000.0);
                assert!((amp - 0.4).abs() < 0.004, "{what}: amplitude {amp}");
                // 1 kHz = 2 zero crossings per ms.
                let zc = zero_crossings(mid) as f64 / (mid.len() as f64 / 8.0);
                assert!((zc - 2.0).abs() < 0.02, "{what}: {zc} crossings/ms");
                // Nothing else: the residual after the tone is tiny (8-bit: its own noise).
                let floor = if bits == 8 { 0.01 } else { 0.001 };
                let resid = (rms(mid).powi(2) - amp * amp / 2.0).max(0.0).sqrt();
                assert!(resid < floor, "{what}: residual {resid}");
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 60);
}

#[test]
fn downsampling_removes_content_above_4khz() {
    let dir = tempfile::tempdir().unwrap();
    for (rate, freq) in [
        (44100, 6000.0),
        (44100, 5000.0),
        (48000, 4500.0),
        (22050, 7000.0),
        (16000, 6000.0),
    ] {
        let path = dir.path().join(format!("hf{rate}_{freq}.wav"));
        write_wav(
            &path,
            spec(rate, 1, SampleFormat::Float, 32),
            0.5,
            false,
            sine(freq, 0.4),
        );
        let pcm = read_wav_8k(&path).unwrap();
        let alias = 8000.0 - freq;
        let level = rms(middle(&pcm));
        // 0.4 amplitude in; at least 70 dB down out (the filter gives ~85 dB).
        assert!(
            level < 0.4 * 10f64.powf(-70.0 / 20.0),
            "{rate} Hz, {freq} Hz tone: rms {level}"
        );
        assert!(
            goertzel_amp(middle(&pcm), alias) < 1e-4,
            "{freq} Hz aliased to {alias} Hz"
        );
    }
}

#[test]
fn telephone_band_passes_flat() {
    let dir = tempfile::tempdir().unwrap();
    for freq in [300.0, 1000.0, 2000.0, 3000.0, 3400.0] {
        let path = dir.path().join(format!("pb{freq}.wav"));
        write_wav(
            &path,
            spec(44100, 1, SampleFormat::Float, 32),
            0.5,
            false,
            sine(freq, 0.4),
        );
        let pcm = read_wav_8k(&path).unwrap();
        let amp = goertzel_amp(middle(&pcm), freq);
        let db = 20.0 * (amp / 0.4).log10();
        assert!(db.abs() < 0.5, "{freq} Hz: {db:.2} dB");
    }
}

#[test]
fn stereo_is_averaged_and_upsampling_works() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("left.wav");
    write_wav(
        &path,
        spec(48000, 2, SampleFormat::Int, 16),
        0.5,
        true,
        sine(1000.0, 0.4),
    );
    let amp = goertzel_amp(middle(&read_wav_8k(&path).unwrap()), 1000.0);
    assert!((amp - 0.2).abs() < 0.003, "left only → half: {amp}");
    // Below 8 kHz (rare, but legal): upsampled.
    let path = dir.path().join("6k.wav");
    write_wav(
        &path,
        spec(6000, 1, SampleFormat::Int, 16),
        0.5,
        false,
        sine(1000.0, 0.4),
    );
    let pcm = read_wav_8k(&path).unwrap();
    assert!((pcm.len() as i64 - 4000).abs() <= 1);
    assert!((goertzel_amp(middle(&pcm), 1000.0) - 0.4).abs() < 0.004);
}

#[test]
fn eight_khz_16_bit_is_passed_through_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("exact.wav");
    let spec = WavSpec {
        channels: 1,
        sample_rate: 8000,
        bits_per_sample: 16,
        sample_format: SampleFormat::Int,
    };
    let samples: Vec<i16> = (0..2000)
        .map(|i| ((i * 7919) % 65536 - 32768) as i16)
        .collect();
    let mut w = WavWriter::create(&path, spec).unwrap();
    for &s in &samples {
        w.write_sample(s).unwrap();
    }
    w.finalize().unwrap();
    let p = Prompt::from_wav_file(&path, "x", "en").unwrap();
    assert_eq!(&*p.pcm, &samples[..]);
    assert_eq!(p.ulaw.len(), 2000);
    assert_eq!(p.alaw[0], linear_to_alaw(samples[0]));
    assert_eq!(p.duration(), Duration::from_millis(250));
    assert_eq!(p.samples(), 2000);
}

// ------------------------------------------------------------ errors

fn tone_file(path: &Path) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    write_wav(
        path,
        spec(8000, 1, SampleFormat::Int, 16),
        0.4,
        false,
        sine(440.0, 0.3),
    );
}

/// A RIFF/WAVE file with a µ-law `fmt ` chunk (format tag 7).
fn ulaw_wav() -> Vec<u8> {
    let data = [0xFFu8; 800];
    let mut v = Vec::new();
    v.extend_from_slice(b"RIFF");
    v.extend_from_slice(&(4 + 8 + 18 + 8 + data.len() as u32).to_le_bytes());
    v.extend_from_slice(b"WAVEfmt ");
    v.extend_from_slice(&18u32.to_le_bytes());
    for x in [7u16, 1] {
        v.extend_from_slice(&x.to_le_bytes());
    }
    v.extend_from_slice(&8000u32.to_le_bytes());
    v.extend_from_slice(&8000u32.to_le_bytes());
    for x in [1u16, 8, 0] {
        v.extend_from_slice(&x.to_le_bytes());
    }
    v.extend_from_slice(b"data");
    v.extend_from_slice(&(data.len() as u32).to_le_bytes());
    v.extend_from_slice(&data);
    v
}

#[test]
fn every_bad_file_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    tone_file(&root.join("en/welcome.wav"));
    tone_file(&root.join("en/digits/1.wav"));
    std::fs::write(root.join("en/readme.txt"), "not a prompt").unwrap();
    std::fs::write(root.join("en/text.wav"), "hello, I am not a WAV file").unwrap();
    std::fs::write(root.join("en/ulaw.wav"), ulaw_wav()).unwrap();
    std::fs::write(root.join("en/empty.wav"), b"").unwrap();
    // Truncated: a valid header claiming 0.4 s, cut in the data.
    let mut buf = Cursor::new(Vec::new());
    {
        let spec = WavSpec {
            channels: 1,
            sample_rate: 8000,
            bits_per_sample: 16,
            sample_format: SampleFormat::Int,
        };
        let mut w = WavWriter::new(&mut buf, spec).unwrap();
        for _ in 0..3200 {
            w.write_sample(1000i16).unwrap();
        }
        w.finalize().unwrap();
    }
    let bytes = buf.into_inner();
    std::fs::write(root.join("en/truncated.wav"), &bytes[..2000]).unwrap();
    // No samples at all.
    let silent = root.join("fa/nothing.wav");
    std::fs::create_dir_all(silent.parent().unwrap()).unwrap();
    write_wav(
        &silent,
        spec(8000, 1, SampleFormat::Int, 16),
        0.0,
        false,
        |_| 0.0,
    );
    // A sample rate we refuse.
    write_wav(
        &root.join("fa/slow.wav"),
        spec(1000, 1, SampleFormat::Int, 16),
        0.1,
        false,
        |_| 0.0,
    );

    let errors = PromptLibrary::load(root, "en").unwrap_err();
    let mut got: Vec<String> = errors
        .iter()
        .map(|e| e.path.strip_prefix(root).unwrap().display().to_string())
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            "en/empty.wav",
            "en/text.wav",
            "en/truncated.wav",
            "en/ulaw.wav",
            "fa/nothing.wav",
            "fa/slow.wav"
        ]
    );
    for e in &errors {
        let shown = e.to_string();
        assert!(shown.starts_with(&e.path.display().to_string()), "{shown}");
        assert!(
            shown.len() > e.path.display().to_string().len() + 4,
            "{shown}"
        );
    }
    let find = |name: &str| {
        errors
            .iter()
            .find(|e| e.path.ends_with(name))
            .unwrap()
            .reason
            .clone()
    };
    assert!(
        find("ulaw.wav").contains("not supported"),
        "{}",
        find("ulaw.wav")
    );
    assert!(find("slow.wav").contains("1000 Hz"), "{}", find("slow.wav"));
    assert!(
        find("nothing.wav").contains("no audio"),
        "{}",
        find("nothing.wav")
    );
}

#[test]
fn missing_directories_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let errs = PromptLibrary::load(&dir.path().join("nope"), "en").unwrap_err();
    assert_eq!(errs.len(), 1);
    assert!(
        errs[0].to_string().contains("nope: cannot read directory"),
        "{}",
        errs[0]
    );
    // Directory exists but has no default language.
    tone_file(&dir.path().join("fa/welcome.wav"));
    let errs = PromptLibrary::load(dir.path(), "en").unwrap_err();
    assert_eq!(errs.len(), 1);
    assert!(errs[0].path.ends_with("en"), "{}", errs[0]);
}

#[test]
fn duplicate_names_differing_in_extension_case() {
    let dir = tempfile::tempdir().unwrap();
    tone_file(&dir.path().join("en/a.wav"));
    tone_file(&dir.path().join("en/a.WAV"));
    let errs = PromptLibrary::load(dir.path(), "en").unwrap_err();
    assert_eq!(errs.len(), 1);
    assert!(
        errs[0].reason.contains("duplicate prompt en/a"),
        "{}",
        errs[0]
    );
}

// ------------------------------------------------------------ library

#[test]
fn load_names_languages_and_fallback() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for f in [
        "en/welcome",
        "en/digits/5",
        "en/only-en",
        "fa/welcome",
        "ru/welcome",
        "common/moh",
        ".git/x",
    ] {
        tone_file(&root.join(format!("{f}.wav")));
    }
    std::fs::write(root.join("make-prompts.sh"), "#!/bin/sh\n").unwrap();
    let lib = PromptLibrary::load(root, "en").unwrap();
    assert_eq!(lib.languages(), ["en", "fa", "ru"]);
    assert_eq!(lib.names("en"), ["digits/5", "only-en", "welcome"]);
    assert_eq!(lib.len(), 6);
    assert_eq!(lib.default_lang(), "en");
    let p = lib.get("fa", "welcome").unwrap();
    assert_eq!((p.lang.as_str(), p.name.as_str()), ("fa", "welcome"));
    assert_eq!(lib.get("fa", "only-en").unwrap().lang, "en");
    assert_eq!(lib.get("ru", "moh").unwrap().lang, COMMON_DIR);
    assert_eq!(lib.get("en-GB", "welcome").unwrap().lang, "en");
    assert_eq!(lib.get("fa_IR", "welcome").unwrap().lang, "fa");
    assert_eq!(lib.get("de", "welcome").unwrap().lang, "en");
    assert!(lib.get("fa", "missing").is_none());
    assert!(lib.has("en", "digits/5") && !lib.has("fa", "digits/5") && !lib.has("fa", "moh"));
    // Shared, not copied.
    assert!(Arc::ptr_eq(
        &lib.get("en", "welcome").unwrap(),
        &lib.get("de", "welcome").unwrap()
    ));
    let p = lib.get("en", "welcome").unwrap();
    assert_eq!(p.duration(), Duration::from_millis(400));
}

fn fake_library() -> PromptLibrary {
    let mut lib = PromptLibrary::new("en");
    let mut names: Vec<String> = (0..10).map(|d| format!("digits/{d}")).collect();
    names.extend((10..20).map(|n| format!("numbers/{n}")));
    names.extend((2..10).map(|t| format!("numbers/{}", t * 10)));
    names.extend(["numbers/hundred", "numbers/thousand", "numbers/million"].map(String::from));
    for n in names {
        lib.insert(Prompt::from_pcm(n, "en", vec![0; 80]));
    }
    for d in 0..10 {
        lib.insert(Prompt::from_pcm(format!("digits/{d}"), "fa", vec![0; 80]));
    }
    lib
}

fn said(v: &[Arc<Prompt>]) -> String {
    v.iter()
        .map(|p| {
            let n = p.name.rsplit('/').next().unwrap();
            if p.lang == "en" {
                n.to_owned()
            } else {
                format!("{}:{n}", p.lang)
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn say_number_english_words() {
    let lib = fake_library();
    for (n, want) in [
        (0, "0"),
        (7, "7"),
        (10, "10"),
        (13, "13"),
        (20, "20"),
        (42, "40 2"),
        (99, "90 9"),
        (100, "1 hundred"),
        (105, "1 hundred 5"),
        (342, "3 hundred 40 2"),
        (1000, "1 thousand"),
        (1234, "1 thousand 2 hundred 30 4"),
        (20_019, "20 thousand 19"),
        (999_999, "9 hundred 90 9 thousand 9 hundred 90 9"),
        (1_000_000, "1 million"),
        (2_000_005, "2 million 5"),
        (3_000_000_000, "3 thousand million"),
    ] {
        assert_eq!(said(&lib.say_number(n, "en")), want, "{n}");
    }
    assert_eq!(said(&lib.say_number(42, "en-US")), "40 2");
    assert!(!lib.say_number(u64::MAX, "en").is_empty());
}

#[test]
fn say_number_other_languages_digit_by_digit() {
    let mut lib = fake_library();
    assert_eq!(said(&lib.say_number(305, "fa")), "fa:3 fa:0 fa:5");
    // ru has no digits at all: falls back to the default language's.
    assert_eq!(said(&lib.say_number(42, "ru")), "4 2");
    // English with a word missing: digits rather than a gap.
    lib.langs.get_mut("en").unwrap().remove("numbers/hundred");
    assert_eq!(said(&lib.say_number(342, "en")), "3 4 2");
    assert_eq!(said(&lib.say_number(42, "en")), "40 2");
}

#[test]
fn say_digits_accepts_persian_and_arabic_indic() {
    let lib = fake_library();
    assert_eq!(said(&lib.say_digits("12#3*", "en")), "1 2 3");
    assert_eq!(said(&lib.say_digits("۱۲۳", "fa")), "fa:1 fa:2 fa:3");
    assert_eq!(said(&lib.say_digits("٤٥", "fa")), "fa:4 fa:5");
    assert!(lib.say_digits("", "en").is_empty());
}

/// The committed demo prompts load, and every prompt the demo flows use exists in
/// every language (directly or via `common`) and is audible.
#[test]
fn committed_sounds_load() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("sounds");
    let lib = PromptLibrary::load(&dir, "en").unwrap_or_else(|e| {
        panic!(
            "{}",
            e.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        )
    });
    assert_eq!(lib.languages(), ["en", "fa", "ru"]);
    let per_lang = [
        "welcome",
        "main-menu",
        "main-menu-short",
        "invalid",
        "timeout",
        "enter-order",
        "closed",
        "goodbye",
        "please-hold",
        "position",
        "in-queue",
        "wait-minutes",
        "minutes",
        "callback-offer",
        "echo-test",
        "survey",
        "thank-you",
    ];
    for lang in ["en", "fa", "ru"] {
        let digits = (0..10).map(|d| format!("digits/{d}"));
        for name in per_lang.iter().map(|s| s.to_string()).chain(digits) {
            let name = name.as_str();
            assert!(lib.has(lang, name), "{lang}/{name} missing");
            let p = lib.get(lang, name).unwrap();
            assert!(
                p.duration() > Duration::from_millis(300),
                "{lang}/{name} too short"
            );
            assert!(rms(&p.pcm) > 0.01, "{lang}/{name} silent");
        }
        for name in ["language-menu", "voicemail-beep", "moh"] {
            assert_eq!(lib.get(lang, name).unwrap().lang, COMMON_DIR, "{name}");
        }
    }
    let moh = lib.get("en", "moh").unwrap();
    assert!(
        moh.duration() >= Duration::from_secs(15),
        "moh {:?}",
        moh.duration()
    );
    let beep = lib.get("en", "voicemail-beep").unwrap();
    assert!(goertzel_amp(&beep.pcm[400..2400], 1000.0) > 0.2);
    // Every English number word exists, so numbers are said as words.
    // one million two hundred thirty four thousand five hundred sixty seven
    assert_eq!(lib.say_number(1_234_567, "en").len(), 11);
    assert!(lib
        .say_number(1_234_567, "en")
        .iter()
        .any(|p| p.name == "numbers/million"));
}

// ------------------------------------------------------------ robustness

fn valid_wav_bytes() -> Vec<u8> {
    let mut buf = Cursor::new(Vec::new());
    let spec = WavSpec {
        channels: 2,
        sample_rate: 44100,
        bits_per_sample: 24,
        sample_format: SampleFormat::Int,
    };
    let mut w = WavWriter::new(&mut buf, spec).unwrap();
    for i in 0..400 {
        w.write_sample((i * 1000) % 8_000_000).unwrap();
    }
    w.finalize().unwrap();
    buf.into_inner()
}

/// `default_cases` per property unless `PROPTEST_CASES` is set (for long fuzz runs:
/// `PROPTEST_CASES=1000000 cargo test --release --lib media`).
fn config(default_cases: u32) -> ProptestConfig {
    let mut c = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        c.cases = default_cases;
    }
    c
}

proptest! {
    #![proptest_config(config(3000))]

    /// Mangled WAV headers and data never panic (hound + our conversion).
    #[test]
    fn mangled_wav_never_panics(
        flips in proptest::collection::vec((0usize..120, any::<u8>()), 1..6),
        cut in 0usize..1400,
    ) {
        let mut bytes = valid_wav_bytes();
        for (i, b) in flips {
            let i = i % bytes.len();
            bytes[i] = b;
        }
        bytes.truncate(cut.max(1));
        if let Ok(reader) = hound::WavReader::new(Cursor::new(bytes)) {
            let _ = decode(reader);
        }
    }

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let mut v = b"RIFF\x00\x10\x00\x00WAVEfmt ".to_vec();
        v.extend(bytes);
        if let Ok(reader) = hound::WavReader::new(Cursor::new(v)) {
            let _ = decode(reader);
        }
    }
}
