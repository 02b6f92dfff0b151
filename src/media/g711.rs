//! G.711 µ-law (PCMU) and A-law (PCMA), bit-exact with ITU-T G.711 as implemented by the
//! Sun/CCITT reference code that CPython's `audioop` uses.
//!
//! Decoding is a 256-entry table built at compile time. Encoding is a few integer operations
//! (segment = position of the highest set bit), which costs about as much as a lookup in a
//! 64 KiB table and keeps 128 KiB out of the cache.

/// A G.711 variant, as negotiated in SDP (RFC 3551 §4.5.14, static payload types).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    /// µ-law, static RTP payload type 0.
    Pcmu,
    /// A-law, static RTP payload type 8.
    Pcma,
}

impl Codec {
    /// Static RTP payload type (RFC 3551 table 4).
    pub const fn payload_type(&self) -> u8 {
        match self {
            Codec::Pcmu => 0,
            Codec::Pcma => 8,
        }
    }

    /// Encoding name as used in `a=rtpmap` (RFC 3551 §4.5.14).
    pub const fn name(&self) -> &'static str {
        match self {
            Codec::Pcmu => "PCMU",
            Codec::Pcma => "PCMA",
        }
    }

    /// Codec for a static payload type, if it is one of ours.
    pub const fn from_payload_type(pt: u8) -> Option<Codec> {
        match pt {
            0 => Some(Codec::Pcmu),
            8 => Some(Codec::Pcma),
            _ => None,
        }
    }

    /// Codec for an `a=rtpmap` encoding name (case-insensitive, RFC 4855 §3).
    pub fn from_name(name: &str) -> Option<Codec> {
        if name.eq_ignore_ascii_case("PCMU") {
            Some(Codec::Pcmu)
        } else if name.eq_ignore_ascii_case("PCMA") {
            Some(Codec::Pcma)
        } else {
            None
        }
    }

    /// Appends one code byte per sample to `out`.
    pub fn encode(&self, pcm: &[i16], out: &mut Vec<u8>) {
        out.reserve(pcm.len());
        match self {
            Codec::Pcmu => out.extend(pcm.iter().map(|&s| ulaw_encode(s))),
            Codec::Pcma => out.extend(pcm.iter().map(|&s| alaw_encode(s))),
        }
    }

    /// Appends one 16-bit sample per code byte to `out`.
    pub fn decode(&self, data: &[u8], out: &mut Vec<i16>) {
        let table = match self {
            Codec::Pcmu => &ULAW_DECODE,
            Codec::Pcma => &ALAW_DECODE,
        };
        out.reserve(data.len());
        out.extend(data.iter().map(|&b| table[usize::from(b)]));
    }

    /// The code byte for digital silence: encoding of 0 (0xFF for µ-law, 0xD5 for A-law).
    pub const fn silence(&self) -> u8 {
        match self {
            Codec::Pcmu => 0xFF,
            Codec::Pcma => 0xD5,
        }
    }
}

/// µ-law encoder bias (G.711 §3.2, 0x84 on the 16-bit scale).
const ULAW_BIAS: i32 = 0x84;
/// Largest magnitude µ-law represents, on the 16-bit scale (8159 on the 14-bit scale).
const ULAW_CLIP: i32 = 32635;

/// Encodes one sample as µ-law.
pub const fn ulaw_encode(sample: i16) -> u8 {
    // The reference works on 14-bit magnitudes (sample >> 2, arithmetic shift, so -1 stays
    // negative and maps to 0x7E rather than 0xFF).
    let mut v = (sample as i32) >> 2;
    let mask: u8 = if v < 0 {
        v = -v;
        0x7F
    } else {
        0xFF
    };
    if v > ULAW_CLIP >> 2 {
        v = ULAW_CLIP >> 2;
    }
    v += ULAW_BIAS >> 2;
    // Segment n covers values below 0x40 << n; the clipped maximum (0x2000) is past segment 7.
    let seg = (31 - (v as u32 | 0x3F).leading_zeros()) - 5;
    if seg >= 8 {
        return 0x7F ^ mask;
    }
    let code = ((seg << 4) as i32 | ((v >> (seg + 1)) & 0x0F)) as u8;
    code ^ mask
}

/// Decodes one µ-law code.
pub fn ulaw_decode(code: u8) -> i16 {
    ULAW_DECODE[usize::from(code)]
}

/// Encodes one sample as A-law.
pub const fn alaw_encode(sample: i16) -> u8 {
    // 13-bit magnitudes; negative values use one's complement (-v - 1), which is what
    // makes A-law symmetric without a code for "negative zero" distinct from zero.
    let mut v = (sample as i32) >> 3;
    let mask: u8 = if v >= 0 {
        0xD5
    } else {
        v = -v - 1;
        0x55
    };
    if v > 0xFFF {
        // Beyond segment 7: the largest code.
        return 0x7F ^ mask;
    }
    // Segment n (n >= 1) covers values below 0x20 << n; segment 0 covers 0..0x20.
    let seg = (31 - (v as u32 | 0x1F).leading_zeros()) - 4;
    let shift = if seg < 2 { 1 } else { seg };
    let code = ((seg << 4) as i32 | ((v >> shift) & 0x0F)) as u8;
    code ^ mask
}

/// Decodes one A-law code.
pub fn alaw_decode(code: u8) -> i16 {
    ALAW_DECODE[usize::from(code)]
}

const fn ulaw_decode_calc(code: u8) -> i16 {
    let u = !code;
    let mut t = (((u & 0x0F) as i32) << 3) + ULAW_BIAS;
    t <<= (u & 0x70) >> 4;
    (if u & 0x80 != 0 {
        ULAW_BIAS - t
    } else {
        t - ULAW_BIAS
    }) as i16
}

const fn alaw_decode_calc(code: u8) -> i16 {
    let a = code ^ 0x55;
    let mut t = ((a & 0x0F) as i32) << 4;
    let seg = (a & 0x70) >> 4;
    match seg {
        0 => t += 8,
        1 => t += 0x108,
        _ => {
            t += 0x108;
            t <<= seg - 1;
        }
    }
    (if a & 0x80 != 0 { t } else { -t }) as i16
}

const fn build_table(law: Codec) -> [i16; 256] {
    let mut table = [0i16; 256];
    let mut i = 0;
    while i < 256 {
        table[i] = match law {
            Codec::Pcmu => ulaw_decode_calc(i as u8),
            Codec::Pcma => alaw_decode_calc(i as u8),
        };
        i += 1;
    }
    table
}

/// µ-law code → 16-bit linear.
pub static ULAW_DECODE: [i16; 256] = build_table(Codec::Pcmu);
/// A-law code → 16-bit linear.
pub static ALAW_DECODE: [i16; 256] = build_table(Codec::Pcma);

#[cfg(test)]
mod tests;
