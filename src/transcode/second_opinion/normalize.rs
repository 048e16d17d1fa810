//! The wire-level normalizer in front of prost-reflect's decoder: what upb moves to
//! unknown fields (or JSON never shows) is dropped before prost-reflect sees it.

use super::*;

fn put_varint(out: &mut Vec<u8>, v: u64) {
    prost::encoding::encode_varint(v, out);
}

fn put_tag(out: &mut Vec<u8>, number: u64, wire: u8) {
    put_varint(out, (number << 3) | u64::from(wire));
}

/// Rewrites a message body into the bytes upb would keep as known fields, canonically
/// encoded.
pub(super) struct Normalizer<'a> {
    pub(super) buf: &'a [u8],
    pub(super) base: usize,
    pub(super) max_depth: u32,
}

impl Normalizer<'_> {
    fn at(&self, pos: usize) -> usize {
        self.base + pos
    }

    fn depth_check(&self, depth: u32, pos: usize) -> Result<()> {
        if depth > self.max_depth {
            return Err(err(
                self.at(pos),
                TranscodeErrorKind::DepthLimit(self.max_depth),
            ));
        }
        Ok(())
    }

    /// Finds the end of a group body starting at `pos` (its start tag just read); returns
    /// (body end, position after the end tag).
    fn group_end(
        &self,
        mut pos: usize,
        end: usize,
        number: u64,
        depth: u32,
    ) -> Result<(usize, usize)> {
        self.depth_check(depth, pos)?;
        let buf = self.buf;
        loop {
            if pos >= end {
                return Err(err(
                    self.at(pos),
                    TranscodeErrorKind::UnterminatedGroup(number),
                ));
            }
            let tag_pos = pos;
            let tag = read_varint(buf, &mut pos, end).map_err(|e| self.shift(e))?;
            let n = tag >> 3;
            if n == 0 || n > MAX_FIELD_NUMBER {
                return Err(err(
                    self.at(tag_pos),
                    TranscodeErrorKind::InvalidFieldNumber(n),
                ));
            }
            match (tag & 7) as u8 {
                0 => {
                    read_varint(buf, &mut pos, end).map_err(|e| self.shift(e))?;
                }
                1 => {
                    read_fixed::<8>(buf, &mut pos, end).map_err(|e| self.shift(e))?;
                }
                2 => {
                    let len = read_varint(buf, &mut pos, end).map_err(|e| self.shift(e))?;
                    if len > (end - pos) as u64 {
                        return Err(err(self.at(tag_pos), TranscodeErrorKind::Truncated));
                    }
                    pos += len as usize;
                }
                3 => pos = self.group_end(pos, end, n, depth + 1)?.1,
                4 if n == number => return Ok((tag_pos, pos)),
                4 => {
                    return Err(err(
                        self.at(tag_pos),
                        TranscodeErrorKind::UnexpectedEndGroup(n),
                    ))
                }
                5 => {
                    read_fixed::<4>(buf, &mut pos, end).map_err(|e| self.shift(e))?;
                }
                wt => {
                    return Err(err(
                        self.at(tag_pos),
                        TranscodeErrorKind::InvalidWireType(wt),
                    ))
                }
            }
        }
    }

    fn shift(&self, mut e: TranscodeError) -> TranscodeError {
        e.offset += self.base;
        e
    }

    /// Normalizes the body `buf[start..end]` of a message `desc` into `out`; returns
    /// whether anything in it was dropped as unknown (at this level).
    pub(super) fn message(
        &self,
        desc: &MessageDescriptor,
        start: usize,
        end: usize,
        depth: u32,
        out: &mut Vec<u8>,
    ) -> Result<bool> {
        self.depth_check(depth, start)?;
        let buf = self.buf;
        let mut unknown = false;
        let mut pos = start;
        while pos < end {
            let tag_pos = pos;
            let tag = read_varint(buf, &mut pos, end).map_err(|e| self.shift(e))?;
            let number = tag >> 3;
            if number == 0 || number > MAX_FIELD_NUMBER {
                return Err(err(
                    self.at(tag_pos),
                    TranscodeErrorKind::InvalidFieldNumber(number),
                ));
            }
            let wt = (tag & 7) as u8;
            // The value: a number, or a byte range (LEN payload, group body).
            let (num, s, e) = match wt {
                0 => (
                    read_varint(buf, &mut pos, end).map_err(|e| self.shift(e))?,
                    0,
                    0,
                ),
                1 => (
                    read_fixed::<8>(buf, &mut pos, end).map_err(|e| self.shift(e))?,
                    0,
                    0,
                ),
                2 => {
                    let len = read_varint(buf, &mut pos, end).map_err(|e| self.shift(e))?;
                    if len > (end - pos) as u64 {
                        return Err(err(self.at(tag_pos), TranscodeErrorKind::Truncated));
                    }
                    let s = pos;
                    pos += len as usize;
                    (0, s, pos)
                }
                3 => {
                    let s = pos;
                    let (body_end, after) = self.group_end(pos, end, number, depth + 1)?;
                    pos = after;
                    (0, s, body_end)
                }
                4 => {
                    return Err(err(
                        self.at(tag_pos),
                        TranscodeErrorKind::UnexpectedEndGroup(number),
                    ))
                }
                5 => (
                    read_fixed::<4>(buf, &mut pos, end).map_err(|e| self.shift(e))?,
                    0,
                    0,
                ),
                _ => {
                    return Err(err(
                        self.at(tag_pos),
                        TranscodeErrorKind::InvalidWireType(wt),
                    ))
                }
            };
            let Some(f) = FieldInfo::of(desc, number as u32) else {
                unknown = true;
                continue;
            };
            let want = f.wire_type();
            let packed = wt == 2 && want != 2 && f.packable();
            if wt != want && !packed {
                unknown = true;
                continue;
            }
            let closed = f.closed_enum();
            let known = |n: u64| {
                closed
                    .as_ref()
                    .is_none_or(|e| e.get_value(n as i32).is_some())
            };
            match wt {
                0 | 1 | 5 => {
                    if !known(num) {
                        unknown = true;
                        continue;
                    }
                    put_tag(out, number, wt);
                    match wt {
                        0 => put_varint(out, num),
                        1 => out.extend_from_slice(&num.to_le_bytes()),
                        _ => out.extend_from_slice(&(num as u32).to_le_bytes()),
                    }
                }
                2 if packed => {
                    let mut run = Vec::with_capacity(e - s);
                    let mut p = s;
                    let size = match want {
                        1 => 8,
                        5 => 4,
                        _ => 0,
                    };
                    if size > 0 && (e - s) % size != 0 {
                        return Err(err(
                            self.at(s),
                            TranscodeErrorKind::BadPackedLength(number as u32),
                        ));
                    }
                    while p < e {
                        let v = match want {
                            0 => read_varint(buf, &mut p, e).map_err(|x| self.shift(x))?,
                            1 => read_fixed::<8>(buf, &mut p, e).map_err(|x| self.shift(x))?,
                            _ => read_fixed::<4>(buf, &mut p, e).map_err(|x| self.shift(x))?,
                        };
                        if !known(v) {
                            unknown = true;
                            continue;
                        }
                        match want {
                            0 => put_varint(&mut run, v),
                            1 => run.extend_from_slice(&v.to_le_bytes()),
                            _ => run.extend_from_slice(&(v as u32).to_le_bytes()),
                        }
                    }
                    put_tag(out, number, 2);
                    put_varint(out, run.len() as u64);
                    out.extend_from_slice(&run);
                    if run.is_empty() && f.extension {
                        // upb lists an extension seen on the wire even when it holds no
                        // element; prost-reflect cannot, so leave the printer a note.
                        put_tag(out, EMPTY_EXTENSION_NOTE, 0);
                        put_varint(out, number);
                    }
                }
                2 => match &f.kind {
                    Kind::Message(m) => {
                        let mut inner = Vec::with_capacity(e - s);
                        let entry_unknown = self.message(m, s, e, depth + 1, &mut inner)?;
                        if f.map && entry_unknown {
                            // upb moves a map entry with anything unknown in it to the
                            // unknown fields, whole.
                            unknown = true;
                            continue;
                        }
                        put_tag(out, number, 2);
                        put_varint(out, inner.len() as u64);
                        out.extend_from_slice(&inner);
                    }
                    Kind::String if std::str::from_utf8(&buf[s..e]).is_err() => {
                        if f.proto3 {
                            return Err(err(
                                self.at(s),
                                TranscodeErrorKind::InvalidUtf8 {
                                    field: f.name.clone(),
                                },
                            ));
                        }
                        // proto2 parses it; only printing it is an error (the contract). The
                        // marker lets the decoder keep or override it, the printer refuse it.
                        put_tag(out, number, 2);
                        put_varint(out, INVALID_UTF8.len() as u64);
                        out.extend_from_slice(INVALID_UTF8.as_bytes());
                    }
                    _ => {
                        put_tag(out, number, 2);
                        put_varint(out, (e - s) as u64);
                        out.extend_from_slice(&buf[s..e]);
                    }
                },
                3 => {
                    let Kind::Message(m) = &f.kind else {
                        unreachable!("only groups take wire type 3")
                    };
                    put_tag(out, number, 3);
                    self.message(m, s, e, depth + 1, out)?;
                    put_tag(out, number, 4);
                }
                _ => unreachable!("wire types 4, 6, 7 returned above"),
            }
        }
        Ok(unknown)
    }
}
