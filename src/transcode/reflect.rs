//! The reflect engine: prost-reflect `DynamicMessage` decoding, printed by a tree walker.
//!
//! It is the second opinion the direct engine is checked against (fixtures, property tests,
//! the `differential` fuzz target): merging of repeated singular messages, last-one-wins,
//! oneof switches, packed and unpacked runs, map entries and extensions are all decided by
//! prost-reflect's own decoder, not by the direct engine's occurrence lists.
//!
//! prost-reflect alone does not follow upb in three places, so two thin layers sit around
//! its decoder:
//! - before: `Normalizer` drops, at the wire level, what upb moves to unknown fields
//!   (a known field sent with a wire type it does not accept, a number a closed enum does
//!   not know, a map entry holding anything unknown) and what JSON never shows (unknown
//!   fields); prost-reflect would instead fail the message or keep the number;
//! - after: `Printer` writes the canonical JSON from the `DynamicMessage`, with the
//!   contract's corners (`-0.0` present in implicit fields, NaN in wrappers, float32
//!   printing, `Any` of `Empty`, Timestamp/Duration/FieldMask validity) that prost-reflect's
//!   serde does not follow.
//!
//! `transcode_serde` is prost-reflect's own serde path, untouched: the benchmark baseline.

use std::borrow::Cow;

use prost::Message as _;
use prost_reflect::{
    DynamicMessage, EnumDescriptor, FieldDescriptor, Kind, MapKey, MessageDescriptor,
    ReflectMessage, SerializeOptions, Syntax, Value,
};

use super::json;
use super::plan::Wkt;
use super::wkt;
use super::{
    err, read_fixed, read_varint, JsonOptions, Result, TranscodeError, TranscodeErrorKind,
    MAX_FIELD_NUMBER,
};

/// prost-reflect decode + serde_json, as the crates ship them (benchmark baseline).
pub(super) fn transcode_serde(
    desc: &MessageDescriptor,
    bytes: &[u8],
    opts: &JsonOptions,
    out: &mut Vec<u8>,
) -> Result<()> {
    let mut msg = DynamicMessage::new(desc.clone());
    msg.merge(bytes).map_err(|e| reflect_error(0, e))?;
    let options = SerializeOptions::new()
        .use_proto_field_name(opts.proto_field_names)
        .use_enum_numbers(opts.enum_numbers)
        .skip_default_fields(!opts.emit_defaults);
    let mut ser = serde_json::Serializer::new(&mut *out);
    msg.serialize_with_options(&mut ser, &options)
        .map_err(|e| reflect_error(0, e))
}

/// The reference engine: normalize, decode into a `DynamicMessage`, print.
pub(super) fn transcode(
    desc: &MessageDescriptor,
    bytes: &[u8],
    opts: &JsonOptions,
    max_depth: u32,
    out: &mut Vec<u8>,
) -> Result<()> {
    let msg = decode(desc, bytes, 0, 0, max_depth)?;
    Printer { opts, max_depth }.message(&msg, 0, out)
}

fn reflect_error(offset: usize, e: impl std::fmt::Display) -> TranscodeError {
    err(offset, TranscodeErrorKind::Reflect(e.to_string()))
}

/// Decodes `bytes` (at `base` in the input, for error offsets) as a message `desc` at
/// nesting `depth`.
fn decode(
    desc: &MessageDescriptor,
    bytes: &[u8],
    base: usize,
    depth: u32,
    max_depth: u32,
) -> Result<DynamicMessage> {
    let mut clean = Vec::with_capacity(bytes.len());
    Normalizer {
        buf: bytes,
        base,
        max_depth,
    }
    .message(desc, 0, bytes.len(), depth, &mut clean)?;
    DynamicMessage::decode(desc.clone(), clean.as_slice()).map_err(|e| reflect_error(base, e))
}

/// What the normalizer needs to know of a field or an extension.
struct FieldInfo {
    /// Full name, for errors.
    name: String,
    /// proto3 strings must be UTF-8 in every occurrence.
    proto3: bool,
    kind: Kind,
    list: bool,
    map: bool,
    group: bool,
    extension: bool,
}

impl FieldInfo {
    fn of(desc: &MessageDescriptor, number: u32) -> Option<FieldInfo> {
        if let Some(f) = desc.get_field(number) {
            return Some(FieldInfo {
                name: f.full_name().to_owned(),
                proto3: f.parent_file().syntax() == Syntax::Proto3,
                kind: f.kind(),
                list: f.is_list(),
                map: f.is_map(),
                group: f.is_group(),
                extension: false,
            });
        }
        desc.get_extension(number).map(|x| FieldInfo {
            name: x.full_name().to_owned(),
            proto3: x.parent_file().syntax() == Syntax::Proto3,
            kind: x.kind(),
            list: x.is_list(),
            map: x.is_map(),
            group: x.is_group(),
            extension: true,
        })
    }

    /// The wire type of one value of this field, unpacked.
    fn wire_type(&self) -> u8 {
        if self.group {
            return 3;
        }
        match self.kind {
            Kind::Double | Kind::Fixed64 | Kind::Sfixed64 => 1,
            Kind::Float | Kind::Fixed32 | Kind::Sfixed32 => 5,
            Kind::String | Kind::Bytes | Kind::Message(_) => 2,
            _ => 0,
        }
    }

    fn packable(&self) -> bool {
        self.list && !matches!(self.kind, Kind::String | Kind::Bytes | Kind::Message(_))
    }

    fn closed_enum(&self) -> Option<EnumDescriptor> {
        match &self.kind {
            Kind::Enum(e) if e.parent_file().syntax() == Syntax::Proto2 => Some(e.clone()),
            _ => None,
        }
    }
}

/// Stands in for a proto2 string that is not UTF-8 (prost-reflect only holds valid
/// strings). Noncharacters around it: no interchange text carries them.
const INVALID_UTF8: &str = "\u{fdd0}protolake: invalid UTF-8\u{fdd1}";

/// The field number of the note above. The normalizer drops every unknown field, so any
/// unknown field prost-reflect hands back is one of these notes.
const EMPTY_EXTENSION_NOTE: u64 = MAX_FIELD_NUMBER;

/// The extension numbers noted as seen-but-empty in `msg`.
fn empty_extension_notes(msg: &DynamicMessage) -> Vec<u32> {
    msg.unknown_fields()
        .filter(|u| u64::from(u.number()) == EMPTY_EXTENSION_NOTE)
        .filter_map(|u| {
            let mut bytes = Vec::new();
            u.encode(&mut bytes);
            let mut rest = &bytes[..];
            prost::encoding::decode_key(&mut rest).ok()?;
            prost::encoding::decode_varint(&mut rest)
                .ok()
                .map(|n| n as u32)
        })
        .collect()
}

fn invalid_utf8() -> TranscodeError {
    err(
        0,
        TranscodeErrorKind::InvalidUtf8 {
            field: "(a proto2 string field)".into(),
        },
    )
}

fn put_varint(out: &mut Vec<u8>, v: u64) {
    prost::encoding::encode_varint(v, out);
}

fn put_tag(out: &mut Vec<u8>, number: u64, wire: u8) {
    put_varint(out, (number << 3) | u64::from(wire));
}

/// Rewrites a message body into the bytes upb would keep as known fields, canonically
/// encoded.
struct Normalizer<'a> {
    buf: &'a [u8],
    base: usize,
    max_depth: u32,
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
    fn message(
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

/// Writes canonical proto3 JSON from a decoded message.
struct Printer<'o> {
    opts: &'o JsonOptions,
    max_depth: u32,
}

/// Whether a value of a field without presence is its default (so not printed); `-0.0`
/// is not a default, as upb decides presence by bits.
fn is_default(v: &Value) -> bool {
    match v {
        Value::Bool(b) => !b,
        Value::I32(n) => *n == 0,
        Value::I64(n) => *n == 0,
        Value::U32(n) => *n == 0,
        Value::U64(n) => *n == 0,
        Value::F32(x) => x.to_bits() == 0,
        Value::F64(x) => x.to_bits() == 0,
        Value::String(s) => s.is_empty(),
        Value::Bytes(b) => b.is_empty(),
        Value::EnumNumber(n) => *n == 0,
        Value::Message(_) => false,
        Value::List(l) => l.is_empty(),
        Value::Map(m) => m.is_empty(),
    }
}

impl Printer<'_> {
    fn message(&self, msg: &DynamicMessage, depth: u32, out: &mut Vec<u8>) -> Result<()> {
        let desc = msg.descriptor();
        if Wkt::from_name(desc.full_name()).is_some() {
            return self.well_known(msg, depth, out);
        }
        out.push(b'{');
        self.fields(msg, depth, out, true)?;
        out.push(b'}');
        Ok(())
    }

    fn key(&self, out: &mut Vec<u8>, first: &mut bool, name: &str) {
        if !*first {
            out.push(b',');
        }
        *first = false;
        json::write_str(out, name);
        out.push(b':');
    }

    /// Writes the members of `msg` (no braces); `first` says whether none was written yet.
    fn fields(
        &self,
        msg: &DynamicMessage,
        depth: u32,
        out: &mut Vec<u8>,
        mut first: bool,
    ) -> Result<()> {
        let desc = msg.descriptor();
        let mut fields: Vec<FieldDescriptor> = desc.fields().collect();
        fields.sort_by_key(FieldDescriptor::number);
        for f in &fields {
            let value = msg.get_field(f);
            let present = if f.supports_presence() {
                msg.has_field(f)
            } else {
                !is_default(&value)
            };
            // Unset: printed only with --emit-defaults, and only for fields without presence.
            let print_default = self.opts.emit_defaults && !f.supports_presence();
            if !present && !print_default {
                continue;
            }
            let name = if self.opts.proto_field_names {
                f.name()
            } else {
                f.json_name()
            };
            self.key(out, &mut first, name);
            self.value(&f.kind(), &value, depth, out)?;
        }
        let mut extensions: Vec<_> = msg.extensions().collect();
        extensions.sort_by_key(|(x, _)| x.number());
        for (x, value) in extensions {
            self.key(out, &mut first, &format!("[{}]", x.full_name()));
            self.value(&x.kind(), value, depth, out)?;
        }
        // A repeated extension seen on the wire but left empty: upb lists it.
        let mut noted = empty_extension_notes(msg);
        noted.sort_unstable();
        noted.dedup();
        for number in noted {
            if let Some(x) = desc.get_extension(number) {
                if !msg.has_extension(&x) {
                    self.key(out, &mut first, &format!("[{}]", x.full_name()));
                    out.extend_from_slice(b"[]");
                }
            }
        }
        Ok(())
    }

    fn value(&self, kind: &Kind, v: &Value, depth: u32, out: &mut Vec<u8>) -> Result<()> {
        match v {
            Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
            Value::I32(n) => json::write_int(out, *n),
            Value::U32(n) => json::write_int(out, *n),
            Value::I64(n) => json::write_int_quoted(out, *n),
            Value::U64(n) => json::write_int_quoted(out, *n),
            Value::F32(x) => json::write_f32(out, *x),
            Value::F64(x) => json::write_f64(out, *x),
            Value::String(s) if s == INVALID_UTF8 => return Err(invalid_utf8()),
            Value::String(s) => json::write_str(out, s),
            Value::Bytes(b) => json::write_base64(out, b),
            Value::EnumNumber(n) => match kind {
                Kind::Enum(e) => self.enum_value(e, *n, out),
                _ => json::write_int(out, *n),
            },
            Value::Message(m) => self.message(m, depth + 1, out)?,
            Value::List(items) => {
                out.push(b'[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    self.value(kind, item, depth, out)?;
                }
                out.push(b']');
            }
            Value::Map(entries) => {
                let Kind::Message(entry) = kind else {
                    unreachable!("map fields are entry messages")
                };
                let value_kind = entry.get_field(2).map(|f| f.kind()).unwrap_or(Kind::Bool);
                out.push(b'{');
                for (i, (k, item)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    match k {
                        MapKey::Bool(b) => {
                            out.extend_from_slice(if *b { b"\"true\"" } else { b"\"false\"" })
                        }
                        MapKey::I32(n) => json::write_int_quoted(out, *n),
                        MapKey::I64(n) => json::write_int_quoted(out, *n),
                        MapKey::U32(n) => json::write_int_quoted(out, *n),
                        MapKey::U64(n) => json::write_int_quoted(out, *n),
                        MapKey::String(s) if s == INVALID_UTF8 => return Err(invalid_utf8()),
                        MapKey::String(s) => json::write_str(out, s),
                    }
                    out.push(b':');
                    // Entry values sit one level below the entry.
                    self.value(&value_kind, item, depth + 1, out)?;
                }
                out.push(b'}');
            }
        }
        Ok(())
    }

    fn enum_value(&self, e: &EnumDescriptor, n: i32, out: &mut Vec<u8>) {
        if e.full_name() == "google.protobuf.NullValue" {
            out.extend_from_slice(b"null");
        } else if self.opts.enum_numbers {
            json::write_int(out, n);
        } else if let Some(v) = e
            .enum_descriptor_proto()
            .value
            .iter()
            .find(|v| v.number() == n)
        {
            // The first declared name of an aliased number, as json_format prints it
            // (`values()` is not in declaration order).
            json::write_str(out, v.name());
        } else {
            json::write_int(out, n);
        }
    }

    /// The special JSON forms of the well-known types (`Wkt`).
    fn well_known(&self, msg: &DynamicMessage, depth: u32, out: &mut Vec<u8>) -> Result<()> {
        let desc = msg.descriptor();
        let field =
            |n: u32| -> Option<Cow<'_, Value>> { desc.get_field(n).map(|f| msg.get_field(&f)) };
        let int = |n: u32| -> i64 {
            match field(n).as_deref() {
                Some(Value::I64(v)) => *v,
                Some(Value::I32(v)) => i64::from(*v),
                _ => 0,
            }
        };
        let Some(wkt) = Wkt::from_name(desc.full_name()) else {
            unreachable!(
                "{} is not a well-known type with a JSON form",
                desc.full_name()
            )
        };
        match wkt {
            Wkt::Timestamp => {
                let (seconds, nanos) = (int(1), int(2));
                if !(wkt::TIMESTAMP_MIN_SECONDS..=wkt::TIMESTAMP_MAX_SECONDS).contains(&seconds)
                    || !(0..1_000_000_000).contains(&nanos)
                {
                    return Err(err(
                        0,
                        TranscodeErrorKind::Unrepresentable(format!(
                            "Timestamp {{seconds: {seconds}, nanos: {nanos}}} is outside 0001-01-01..9999-12-31 or has invalid nanos"
                        )),
                    ));
                }
                wkt::write_timestamp(out, seconds, nanos as i32);
            }
            Wkt::Duration => {
                let (seconds, nanos) = (int(1), int(2));
                if !(-wkt::DURATION_MAX_SECONDS..=wkt::DURATION_MAX_SECONDS).contains(&seconds)
                    || nanos.abs() >= 1_000_000_000
                    || (nanos < 0 && seconds > 0)
                    || (nanos > 0 && seconds < 0)
                {
                    return Err(err(
                        0,
                        TranscodeErrorKind::Unrepresentable(format!(
                            "Duration {{seconds: {seconds}, nanos: {nanos}}} is out of range or its signs differ"
                        )),
                    ));
                }
                wkt::write_duration(out, seconds, nanos as i32);
            }
            Wkt::Wrapper => match desc.get_field(1) {
                Some(f) => self.value(&f.kind(), &msg.get_field(&f), depth, out)?,
                None => out.extend_from_slice(b"null"),
            },
            Wkt::FieldMask => {
                let mut joined = String::new();
                if let Some(Value::List(paths)) = field(1).as_deref() {
                    for (i, p) in paths.iter().enumerate() {
                        if i > 0 {
                            joined.push(',');
                        }
                        let path = p.as_str().unwrap_or_default();
                        wkt::snake_to_camel(path, &mut joined)
                            .map_err(|m| err(0, TranscodeErrorKind::Unrepresentable(m)))?;
                    }
                }
                json::write_str(out, &joined);
            }
            Wkt::Struct => match desc.get_field(1) {
                Some(f) => self.value(&f.kind(), &msg.get_field(&f), depth, out)?,
                None => out.extend_from_slice(b"{}"),
            },
            Wkt::ListValue => match desc.get_field(1) {
                Some(f) => self.value(&f.kind(), &msg.get_field(&f), depth, out)?,
                None => out.extend_from_slice(b"[]"),
            },
            Wkt::Value => {
                let set = desc.fields().find(|f| msg.has_field(f));
                match set {
                    None => out.extend_from_slice(b"null"),
                    Some(f) => {
                        let v = msg.get_field(&f);
                        if let (2, Value::F64(x)) = (f.number(), v.as_ref()) {
                            if !x.is_finite() {
                                return Err(err(
                                    0,
                                    TranscodeErrorKind::Unrepresentable(format!(
                                        "Value.number_value {x} has no JSON form (it would read back as a string)"
                                    )),
                                ));
                            }
                        }
                        self.value(&f.kind(), &v, depth, out)?;
                    }
                }
            }
            Wkt::Any => {
                let type_url = match field(1).as_deref() {
                    Some(Value::String(s)) => s.clone(),
                    _ => String::new(),
                };
                let value = match field(2).as_deref() {
                    Some(Value::Bytes(b)) => b.clone(),
                    _ => Default::default(),
                };
                if type_url.is_empty() && value.is_empty() {
                    out.extend_from_slice(b"{}");
                    return Ok(());
                }
                let name = type_url.rsplit('/').next().unwrap_or("");
                // prost-reflect also finds ".pkg.Msg"; the reference looks names up exactly.
                let found = match name.strip_prefix('.') {
                    Some(_) => None,
                    None => desc.parent_pool().get_message_by_name(name),
                };
                let Some(inner_desc) = found else {
                    return Err(err(0, TranscodeErrorKind::AnyTypeNotFound(type_url)));
                };
                let inner = decode(&inner_desc, &value, 0, depth + 1, self.max_depth)?;
                out.extend_from_slice(b"{\"@type\":");
                json::write_str(out, &type_url);
                if Wkt::from_name(inner_desc.full_name()).is_some() {
                    out.extend_from_slice(b",\"value\":");
                    self.message(&inner, depth + 1, out)?;
                } else {
                    self.fields(&inner, depth + 1, out, false)?;
                }
                out.push(b'}');
            }
        }
        Ok(())
    }
}
