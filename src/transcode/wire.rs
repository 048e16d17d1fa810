//! Wire-format primitives of the direct engine: varints, fixed-width values, zigzag, and
//! the error constructor every reader uses.

use super::{TranscodeError, TranscodeErrorKind};

pub(super) fn err(offset: usize, kind: TranscodeErrorKind) -> TranscodeError {
    TranscodeError { offset, kind }
}

pub(super) type Result<T> = std::result::Result<T, TranscodeError>;

/// Highest valid field number.
pub(super) const MAX_FIELD_NUMBER: u64 = (1 << 29) - 1;

/// Reads a varint. Tags and most values fit in one byte: that case stays inline.
#[inline(always)]
pub(super) fn read_varint(buf: &[u8], pos: &mut usize, end: usize) -> Result<u64> {
    if *pos < end {
        if let Some(&b) = buf.get(*pos) {
            if b < 0x80 {
                *pos += 1;
                return Ok(u64::from(b));
            }
        }
    }
    read_varint_slow(buf, pos, end)
}

#[inline(never)]
pub(super) fn read_varint_slow(buf: &[u8], pos: &mut usize, end: usize) -> Result<u64> {
    let start = *pos;
    let mut value = 0u64;
    for i in 0..10 {
        let Some(&b) = buf.get(*pos).filter(|_| *pos < end) else {
            return Err(err(start, TranscodeErrorKind::Truncated));
        };
        *pos += 1;
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(err(start, TranscodeErrorKind::InvalidVarint))
}

#[inline]
pub(super) fn read_fixed<const N: usize>(buf: &[u8], pos: &mut usize, end: usize) -> Result<u64> {
    if end - *pos < N {
        return Err(err(*pos, TranscodeErrorKind::Truncated));
    }
    let mut b = [0u8; 8];
    b[..N].copy_from_slice(&buf[*pos..*pos + N]);
    *pos += N;
    Ok(u64::from_le_bytes(b))
}

pub(super) fn zigzag32(n: u64) -> i32 {
    let n = n as u32;
    ((n >> 1) as i32) ^ -((n & 1) as i32)
}

pub(super) fn zigzag64(n: u64) -> i64 {
    ((n >> 1) as i64) ^ -((n & 1) as i64)
}
