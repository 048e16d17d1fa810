//! The second-opinion engines (feature `second-opinion`), kept out of the Lambda binary.
//!
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
use super::wire::{err, read_fixed, read_varint, Result, MAX_FIELD_NUMBER};
use super::wkt;
use super::{JsonOptions, TranscodeError, TranscodeErrorKind};

mod normalize;
mod print;

use normalize::Normalizer;
use print::Printer;

/// prost-reflect decode + serde_json, as the crates ship them (benchmark baseline).
pub(in crate::transcode) fn transcode_serde(
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
pub(in crate::transcode) fn transcode(
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
