//! Small JSON writing helpers: string escaping, numbers in the canonical forms.

use base64::Engine as _;

/// Appends `s` as a JSON string literal (quotes included) to a `String`.
pub(crate) fn escape_into(out: &mut String, s: &str) {
    let mut v = std::mem::take(out).into_bytes();
    write_str(&mut v, s);
    // Only valid UTF-8 was appended.
    *out = String::from_utf8(v).unwrap_or_default();
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// How a byte is written inside a JSON string: copied as is, escaped, or (>= 0x80) the
/// start of a multi-byte UTF-8 sequence, copied as is once the string is known valid.
const COPY: u8 = 0;
const ESCAPE: u8 = 1;
const NON_ASCII: u8 = 2;

static CLASS: [u8; 256] = {
    let mut t = [COPY; 256];
    let mut i = 0;
    while i < 256 {
        if i < 0x20 || i == b'"' as usize || i == b'\\' as usize {
            t[i] = ESCAPE;
        } else if i >= 0x80 {
            t[i] = NON_ASCII;
        }
        i += 1;
    }
    t
};

#[cold]
fn write_escape(out: &mut Vec<u8>, b: u8) {
    let esc: &[u8] = match b {
        b'"' => b"\\\"",
        b'\\' => b"\\\\",
        b'\n' => b"\\n",
        b'\r' => b"\\r",
        b'\t' => b"\\t",
        0x08 => b"\\b",
        0x0c => b"\\f",
        _ => {
            out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[(b >> 4) as usize],
                HEX[(b & 15) as usize],
            ]);
            return;
        }
    };
    out.extend_from_slice(esc);
}

/// Appends `s` as a JSON string literal (quotes included).
pub(crate) fn write_str(out: &mut Vec<u8>, s: &str) {
    // Already valid: the UTF-8 check inside cannot fail.
    let _ = write_utf8(out, s.as_bytes());
}

/// Appends `bytes`, which must be UTF-8, as a JSON string literal (quotes included): one
/// pass that escapes and, only when a non-ASCII byte shows up, validates. On invalid
/// UTF-8 `out` holds a partial literal (callers discard the line).
#[inline]
pub(crate) fn write_utf8(out: &mut Vec<u8>, bytes: &[u8]) -> Result<(), std::str::Utf8Error> {
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let mut start = 0;
    let mut validated = false;
    let mut i = 0;
    while i < bytes.len() {
        // Eight bytes at a time while none needs a look (most text): copied in bulk below.
        if let Some(word) = bytes.get(i..i + 8) {
            let word = u64::from_le_bytes(word.try_into().unwrap_or_default());
            let special = needs_look(word, validated);
            if special == 0 {
                i += 8;
                continue;
            }
            // The first flagged byte (the lowest set high bit is exact).
            i += (special.trailing_zeros() / 8) as usize;
        }
        let b = bytes[i];
        match CLASS[b as usize] {
            COPY => {}
            ESCAPE => {
                out.extend_from_slice(&bytes[start..i]);
                write_escape(out, b);
                start = i + 1;
            }
            _ => {
                if !validated {
                    // Everything before `i` is ASCII, so `i` is a character boundary.
                    std::str::from_utf8(&bytes[i..])?;
                    validated = true;
                }
            }
        }
        i += 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
    Ok(())
}

/// The high bit of each byte of `word` that must be escaped (`"`, `\\`, controls) or, until
/// the string is validated, that is not ASCII. (SWAR: a set bit can be spurious only above
/// a real one, so the lowest set bit is always a real byte.)
#[inline(always)]
fn needs_look(word: u64, validated: bool) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero_byte = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    let control = word.wrapping_sub(ONES * 0x20) & !word & HIGH;
    let quote = zero_byte(word ^ (ONES * u64::from(b'"')));
    let backslash = zero_byte(word ^ (ONES * u64::from(b'\\')));
    let non_ascii = if validated { 0 } else { word & HIGH };
    control | quote | backslash | non_ascii
}

/// NaN and infinities, which JSON numbers cannot hold, as json_format's strings.
/// Returns false for a finite value (nothing written).
fn write_non_finite(out: &mut Vec<u8>, v: f64) -> bool {
    if v.is_nan() {
        out.extend_from_slice(b"\"NaN\"");
    } else if v.is_infinite() {
        out.extend_from_slice(if v > 0.0 {
            b"\"Infinity\""
        } else {
            b"\"-Infinity\""
        });
    } else {
        return false;
    }
    true
}

/// A double in the canonical form: shortest round-trip digits, NaN and infinities quoted.
pub(crate) fn write_f64(out: &mut Vec<u8>, v: f64) {
    if !write_non_finite(out, v) {
        let mut buf = ryu::Buffer::new();
        out.extend_from_slice(buf.format_finite(v).as_bytes());
    }
}

/// A float printed as json_format's `ToShortestFloat` does: the value rounded to the
/// fewest significant digits, but at least 6, that read back as the same float32.
/// For normal floats that is exactly the shortest round-trip form (ryu): the float32 grid is
/// finer than 6 digits, so a shorter form rounds to itself at 6. Subnormals are coarser and
/// take the slow, literal path.
pub(crate) fn write_f32(out: &mut Vec<u8>, v: f32) {
    if write_non_finite(out, f64::from(v)) {
        return;
    }
    if v.is_subnormal() {
        for digits in 6..=9 {
            let s = format!("{:.*e}", digits - 1, f64::from(v));
            if let Ok(d) = s.parse::<f64>() {
                if d as f32 == v {
                    write_f64(out, d);
                    return;
                }
            }
        }
    }
    let mut buf = ryu::Buffer::new();
    out.extend_from_slice(buf.format_finite(v).as_bytes());
}

pub(crate) fn write_int<I: itoa::Integer>(out: &mut Vec<u8>, v: I) {
    let mut buf = itoa::Buffer::new();
    out.extend_from_slice(buf.format(v).as_bytes());
}

/// 64-bit integers are strings in proto3 JSON (JavaScript numbers lose precision).
pub(crate) fn write_int_quoted<I: itoa::Integer>(out: &mut Vec<u8>, v: I) {
    out.push(b'"');
    write_int(out, v);
    out.push(b'"');
}

pub(crate) fn write_base64(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push(b'"');
    let start = out.len();
    let len = base64::encoded_len(bytes.len(), true).unwrap_or(0);
    out.resize(start + len, 0);
    let written = base64::engine::general_purpose::STANDARD
        .encode_slice(bytes, &mut out[start..])
        .unwrap_or(0);
    out.truncate(start + written);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut v = Vec::new();
        f(&mut v);
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn strings_escape_quotes_backslashes_and_controls() {
        assert_eq!(
            s(|o| write_str(o, "a\"b\\c\n\u{1}é")),
            r#""a\"b\\c\n\u0001é""#
        );
    }

    #[test]
    fn utf8_is_validated_and_escaped_in_one_pass() {
        let w = |b: &[u8]| {
            let mut v = Vec::new();
            write_utf8(&mut v, b).map(|()| String::from_utf8(v).unwrap())
        };
        assert_eq!(w(b"ab\xc3\xa9\n\"").unwrap(), "\"ab\u{e9}\\n\\\"\"");
        assert_eq!(
            w("\u{1f600}\u{1}".as_bytes()).unwrap(),
            "\"\u{1f600}\\u0001\""
        );
        // Invalid after an ASCII prefix, a lone continuation byte, a truncated sequence.
        assert!(w(b"abc\xff").is_err());
        assert!(w(b"\x80").is_err());
        assert!(w(b"ok \xe2\x82").is_err());
        assert_eq!(w(b"").unwrap(), "\"\"");
    }

    #[test]
    fn bulk_scanning_finds_every_special_byte_at_every_position() {
        // Each special byte at each position of strings long enough for the 8-byte words,
        // against the byte-at-a-time definition.
        fn reference(b: &[u8]) -> Option<String> {
            let s = std::str::from_utf8(b).ok()?;
            let mut o = String::from("\"");
            for c in s.chars() {
                match c {
                    '"' => o.push_str("\\\""),
                    '\\' => o.push_str("\\\\"),
                    '\n' => o.push_str("\\n"),
                    '\r' => o.push_str("\\r"),
                    '\t' => o.push_str("\\t"),
                    '\u{8}' => o.push_str("\\b"),
                    '\u{c}' => o.push_str("\\f"),
                    c if (c as u32) < 0x20 => o.push_str(&format!("\\u{:04x}", c as u32)),
                    c => o.push(c),
                }
            }
            o.push('"');
            Some(o)
        }
        let specials: [&[u8]; 9] = [
            b"\"",
            b"\\",
            b"\n",
            b"\x00",
            b"\x1f",
            b"\x7f",
            "\u{e9}".as_bytes(),
            "\u{1f600}".as_bytes(),
            b"\xff",
        ];
        for len in [0usize, 1, 7, 8, 9, 15, 16, 17, 31] {
            for at in 0..=len {
                for sp in specials {
                    for (a, b) in [(b'a', b'z'), (b' ', b'~')] {
                        let mut v: Vec<u8> = (0..len).map(|i| a + (i as u8 % (b - a))).collect();
                        v.splice(at..at, sp.iter().copied());
                        let mut got = Vec::new();
                        let ok = write_utf8(&mut got, &v).is_ok();
                        match reference(&v) {
                            Some(want) => {
                                assert_eq!(String::from_utf8(got).unwrap(), want, "{v:?}")
                            }
                            None => assert!(!ok, "{v:?} is not UTF-8"),
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn floats_use_shortest_forms_and_quoted_specials() {
        assert_eq!(s(|o| write_f32(o, 0.1)), "0.1");
        assert_eq!(s(|o| write_f64(o, -0.0)), "-0.0");
        assert_eq!(s(|o| write_f64(o, f64::NAN)), "\"NaN\"");
        assert_eq!(s(|o| write_f32(o, f32::NEG_INFINITY)), "\"-Infinity\"");
        assert_eq!(s(|o| write_f64(o, 1e300)), "1e300");
        // json_format keeps at least 6 significant digits, which matters for subnormals.
        assert_eq!(s(|o| write_f32(o, f32::from_bits(1))), "1.4013e-45");
        assert_eq!(s(|o| write_f32(o, 3.402_823_5e38)), "3.4028235e38");
    }

    #[test]
    fn base64_is_standard_with_padding() {
        assert_eq!(s(|o| write_base64(o, b"\xff\xfe")), "\"//4=\"");
        assert_eq!(s(|o| write_base64(o, b"")), "\"\"");
    }
}
