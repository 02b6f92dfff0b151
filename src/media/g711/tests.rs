use super::*;

/// FNV-1a 64, to compare whole tables with values computed by CPython `audioop`.
fn fnv1a(bytes: impl IntoIterator<Item = u8>) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

fn all_pcm() -> impl Iterator<Item = i16> {
    i16::MIN..=i16::MAX
}

#[test]
fn known_vectors_match_audioop() {
    // (sample, lin2ulaw, lin2alaw) from CPython 3.12 audioop.
    let cases: &[(i16, u8, u8)] = &[
        (0, 0xFF, 0xD5),
        (-1, 0x7E, 0x55),
        (1, 0xFF, 0xD5),
        (4, 0xFE, 0xD5),
        (-5, 0x7E, 0x55),
        (100, 0xF2, 0xD3),
        (-100, 0x72, 0x53),
        (1000, 0xCE, 0xFA),
        (-1000, 0x4E, 0x7A),
        (4000, 0xAF, 0x9A),
        (8000, 0xA0, 0x8A),
        (-8000, 0x20, 0x0A),
        (12345, 0x97, 0xBD),
        (-12345, 0x17, 0x3D),
        (32124, 0x80, 0xAA),
        (32767, 0x80, 0xAA),
        (-32768, 0x00, 0x2A),
    ];
    for &(pcm, u, a) in cases {
        assert_eq!(ulaw_encode(pcm), u, "ulaw_encode({pcm})");
        assert_eq!(alaw_encode(pcm), a, "alaw_encode({pcm})");
    }
    // (code, ulaw2lin, alaw2lin)
    let codes: &[(u8, i16, i16)] = &[
        (0x00, -32124, -5504),
        (0x01, -31100, -5248),
        (0x7F, 0, -848),
        (0x80, 32124, 5504),
        (0xFF, 0, 848),
        (0xFE, 8, 880),
        (0x55, -716, -8),
        (0xD5, 716, 8),
        (0x2A, -5372, -32256),
        (0xAA, 5372, 32256),
        (0x10, -15996, -2752),
        (0x90, 15996, 2752),
    ];
    for &(code, u, a) in codes {
        assert_eq!(ulaw_decode(code), u, "ulaw_decode({code:#x})");
        assert_eq!(alaw_decode(code), a, "alaw_decode({code:#x})");
    }
}

#[test]
fn every_input_matches_audioop() {
    // Hashes of audioop.lin2ulaw / lin2alaw over all 65,536 inputs (ascending from -32768),
    // and of ulaw2lin / alaw2lin over codes 0..=255 (little-endian i16).
    assert_eq!(fnv1a(all_pcm().map(ulaw_encode)), 0xd5ee_23f7_d0ff_ae91);
    assert_eq!(fnv1a(all_pcm().map(alaw_encode)), 0xf030_666e_b780_cf25);
    let le = |t: &[i16; 256]| t.iter().flat_map(|s| s.to_le_bytes()).collect::<Vec<u8>>();
    assert_eq!(fnv1a(le(&ULAW_DECODE)), 0xb91e_65d6_8481_a1a8);
    assert_eq!(fnv1a(le(&ALAW_DECODE)), 0x693a_40ca_62a3_d2a5);
}

#[test]
fn every_code_round_trips() {
    for code in 0..=255u8 {
        // µ-law has two zeros (0xFF and 0x7F); the encoder only produces +0.
        let expected = if code == 0x7F { 0xFF } else { code };
        assert_eq!(ulaw_encode(ulaw_decode(code)), expected, "ulaw {code:#x}");
        assert_eq!(alaw_encode(alaw_decode(code)), code, "alaw {code:#x}");
    }
}

#[test]
fn quantisation_is_monotonic_and_bounded() {
    for codec in [Codec::Pcmu, Codec::Pcma] {
        let mut prev = i16::MIN;
        for x in all_pcm() {
            let mut enc = Vec::new();
            codec.encode(&[x], &mut enc);
            let mut dec = Vec::new();
            codec.decode(&enc, &mut dec);
            let y = dec[0];
            assert!(y >= prev, "{codec:?} not monotonic at {x}");
            prev = y;
            // Largest step is 1024 (µ-law) / 1024 (A-law) in the top segment; clipping adds
            // up to 643 at full scale for µ-law.
            let err = (i32::from(x) - i32::from(y)).abs();
            let bound = (i32::from(x).abs() / 16).max(16) + 700;
            assert!(err <= bound, "{codec:?} x={x} y={y}");
        }
    }
}

#[test]
fn sine_keeps_snr_above_30_db() {
    for codec in [Codec::Pcmu, Codec::Pcma] {
        for amp in [30000.0f64, 10000.0, 1000.0] {
            let pcm: Vec<i16> = (0..8000)
                .map(|n| {
                    (amp * (2.0 * std::f64::consts::PI * 1004.0 * n as f64 / 8000.0).sin()) as i16
                })
                .collect();
            let mut enc = Vec::new();
            codec.encode(&pcm, &mut enc);
            assert_eq!(enc.len(), pcm.len());
            let mut dec = Vec::new();
            codec.decode(&enc, &mut dec);
            let (mut sig, mut noise) = (0.0f64, 0.0f64);
            for (&x, &y) in pcm.iter().zip(&dec) {
                sig += f64::from(x).powi(2);
                noise += (f64::from(x) - f64::from(y)).powi(2);
            }
            let snr = 10.0 * (sig / noise).log10();
            assert!(snr > 30.0, "{codec:?} amp {amp}: SNR {snr:.1} dB");
        }
    }
}

#[test]
fn codec_metadata() {
    assert_eq!(Codec::Pcmu.payload_type(), 0);
    assert_eq!(Codec::Pcma.payload_type(), 8);
    assert_eq!(Codec::Pcmu.name(), "PCMU");
    assert_eq!(Codec::Pcma.name(), "PCMA");
    assert_eq!(Codec::from_payload_type(8), Some(Codec::Pcma));
    assert_eq!(Codec::from_payload_type(18), None);
    assert_eq!(Codec::from_name("pcmu"), Some(Codec::Pcmu));
    assert_eq!(Codec::from_name("G729"), None);
    for c in [Codec::Pcmu, Codec::Pcma] {
        let mut out = Vec::new();
        c.encode(&[0], &mut out);
        assert_eq!(out, [c.silence()]);
    }
}

#[test]
fn encode_appends() {
    let mut out = vec![1u8];
    Codec::Pcmu.encode(&[0, 0], &mut out);
    assert_eq!(out, [1, 0xFF, 0xFF]);
    let mut pcm = vec![5i16];
    Codec::Pcma.decode(&[0xD5], &mut pcm);
    assert_eq!(pcm, [5, 8]);
}
