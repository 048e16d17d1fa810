//! Per-message-type plans compiled once from the descriptors: field number -> key bytes
//! (pre-escaped for both naming options), kind, label, oneof, nested plan. The transcoder
//! walks wire bytes with these instead of asking the reflection API per field.

use std::collections::HashMap;

use prost_reflect::{
    Cardinality, DescriptorPool, FieldDescriptor, Kind, MessageDescriptor, Syntax,
};

use super::json::escape_into;
use crate::features::{has_presence, validates_utf8};

/// Well-known types with a special JSON form. `google.protobuf.Empty` is deliberately
/// absent: the reference prints it as an ordinary (empty) message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wkt {
    Any,
    Timestamp,
    Duration,
    Struct,
    Value,
    ListValue,
    FieldMask,
    /// A wrapper (`DoubleValue` ... `BytesValue`): printed as its `value` field.
    Wrapper,
}

impl Wkt {
    pub(crate) fn from_name(name: &str) -> Option<Wkt> {
        Some(match name {
            "google.protobuf.Any" => Wkt::Any,
            "google.protobuf.Timestamp" => Wkt::Timestamp,
            "google.protobuf.Duration" => Wkt::Duration,
            "google.protobuf.Struct" => Wkt::Struct,
            "google.protobuf.Value" => Wkt::Value,
            "google.protobuf.ListValue" => Wkt::ListValue,
            "google.protobuf.FieldMask" => Wkt::FieldMask,
            "google.protobuf.DoubleValue"
            | "google.protobuf.FloatValue"
            | "google.protobuf.Int64Value"
            | "google.protobuf.UInt64Value"
            | "google.protobuf.Int32Value"
            | "google.protobuf.UInt32Value"
            | "google.protobuf.BoolValue"
            | "google.protobuf.StringValue"
            | "google.protobuf.BytesValue" => Wkt::Wrapper,
            _ => return None,
        })
    }
}

/// Scalar kinds, as they are read off the wire and printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scalar {
    Double,
    Float,
    Int64,
    Uint64,
    Int32,
    Fixed64,
    Fixed32,
    Bool,
    String {
        validate_utf8: bool,
    },
    Bytes,
    Uint32,
    Sfixed32,
    Sfixed64,
    Sint32,
    Sint64,
    /// Index into [`Plans::enums`].
    Enum(u32),
}

impl Scalar {
    /// The wire type a singular value of this kind is written with.
    pub(crate) fn wire_type(self) -> u8 {
        match self {
            Scalar::Double | Scalar::Fixed64 | Scalar::Sfixed64 => 1,
            Scalar::Float | Scalar::Fixed32 | Scalar::Sfixed32 => 5,
            Scalar::String { .. } | Scalar::Bytes => 2,
            _ => 0,
        }
    }
    pub(crate) fn packable(self) -> bool {
        !matches!(self, Scalar::String { .. } | Scalar::Bytes)
    }
}

/// What a field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FieldType {
    Scalar(Scalar),
    /// Length-delimited message; index into [`Plans::messages`].
    Message(u32),
    /// Group-encoded message (proto2 `group`); index into [`Plans::messages`].
    Group(u32),
}

/// How many values a field holds and whether an unset field is distinguishable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Label {
    /// A singular field without presence (proto3 plain scalar): the default is "unset".
    Implicit,
    /// A singular field with presence (proto2, proto3 `optional`, messages, oneof members,
    /// extensions).
    Explicit,
    Repeated,
    /// A map; the field type is the entry message.
    Map,
}

#[derive(Debug, Clone)]
pub(crate) struct FieldPlan {
    pub number: u32,
    /// `"jsonName":` with escaping done.
    pub json_key: Box<str>,
    /// `"proto_name":` with escaping done.
    pub proto_key: Box<str>,
    pub ty: FieldType,
    pub label: Label,
    /// Index of the (real or synthetic) oneof within the message.
    pub oneof: Option<u16>,
    pub is_extension: bool,
    /// Bit `w` set: wire type `w` is accepted ([`FieldPlan::accepts`], precomputed for the
    /// scan, which asks it of every occurrence).
    pub wire_mask: u8,
    /// What the scan checks of an occurrence beyond its wire type.
    pub scan_check: ScanCheck,
}

/// The per-occurrence check of the scan, decided once per field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ScanCheck {
    None,
    /// A string that must be UTF-8 (proto3, or editions `utf8_validation = VERIFY`).
    Utf8,
    /// A closed enum (index into [`Plans::enums`]): unknown numbers of a non-packed
    /// occurrence go to the unknown fields.
    ClosedEnum(u32),
}

impl FieldPlan {
    pub(crate) fn key(&self, proto_names: bool) -> &str {
        if proto_names {
            &self.proto_key
        } else {
            &self.json_key
        }
    }

    /// Whether wire type `wt` is the declared encoding of this field (or packed for a
    /// repeated scalar). Anything else makes the occurrence an unknown field.
    pub(crate) fn accepts(&self, wt: u8) -> bool {
        match self.ty {
            FieldType::Scalar(s) => {
                wt == s.wire_type() || (wt == 2 && self.label == Label::Repeated && s.packable())
            }
            FieldType::Message(_) => wt == 2,
            FieldType::Group(_) => wt == 3,
        }
    }
}

#[derive(Debug)]
pub(crate) struct MessagePlan {
    pub full_name: Box<str>,
    pub wkt: Option<Wkt>,
    /// Sorted by field number; extensions of this message included.
    pub fields: Vec<FieldPlan>,
    /// `dense[n]` = index + 1 of field number `n` for small numbers; 0 = none.
    dense: Vec<u16>,
    pub oneof_count: u16,
}

impl MessagePlan {
    #[inline]
    pub(crate) fn field_index(&self, number: u32) -> Option<usize> {
        if let Some(&i) = self.dense.get(number as usize) {
            return (i != 0).then(|| usize::from(i) - 1);
        }
        self.fields.binary_search_by_key(&number, |f| f.number).ok()
    }
}

#[derive(Debug)]
pub(crate) struct EnumPlan {
    /// (number, `"NAME"` quoted) sorted by number; for aliases the first declared name.
    pub values: Vec<(i32, Box<str>)>,
    /// proto2 enums are closed: unknown numbers are not stored in the field.
    pub closed: bool,
    /// `google.protobuf.NullValue`: always printed as `null`.
    pub null_value: bool,
}

impl EnumPlan {
    pub(crate) fn name(&self, number: i32) -> Option<&str> {
        self.values
            .binary_search_by_key(&number, |(n, _)| *n)
            .ok()
            .map(|i| &*self.values[i].1)
    }
    pub(crate) fn is_known(&self, number: i32) -> bool {
        self.values
            .binary_search_by_key(&number, |(n, _)| *n)
            .is_ok()
    }
}

/// Every message and enum of a pool, compiled.
#[derive(Debug)]
pub(crate) struct Plans {
    pub messages: Vec<MessagePlan>,
    pub enums: Vec<EnumPlan>,
    pub by_name: HashMap<Box<str>, u32>,
}

fn quoted_key(name: &str) -> Box<str> {
    let mut s = String::with_capacity(name.len() + 3);
    escape_into(&mut s, name);
    s.push(':');
    s.into_boxed_str()
}

impl Plans {
    pub(crate) fn compile(pool: &DescriptorPool) -> Plans {
        let mut by_name = HashMap::new();
        let messages: Vec<MessageDescriptor> = pool.all_messages().collect();
        for (i, m) in messages.iter().enumerate() {
            by_name.insert(Box::from(m.full_name()), i as u32);
        }
        let mut enum_index = HashMap::new();
        let mut enums = Vec::new();
        for e in pool.all_enums() {
            let mut values: Vec<(i32, Box<str>)> = Vec::new();
            // Declaration order comes from the proto (prost-reflect's `values()` is not in
            // it): for aliases the first declared name wins, as json_format prints it.
            for v in &e.enum_descriptor_proto().value {
                if !values.iter().any(|(n, _)| *n == v.number()) {
                    let mut s = String::new();
                    escape_into(&mut s, v.name());
                    values.push((v.number(), s.into_boxed_str()));
                }
            }
            values.sort_by_key(|(n, _)| *n);
            enum_index.insert(e.full_name().to_owned(), enums.len() as u32);
            enums.push(EnumPlan {
                values,
                closed: crate::features::is_closed(&e),
                null_value: e.full_name() == "google.protobuf.NullValue",
            });
        }
        let mut extensions: HashMap<String, Vec<FieldPlan>> = HashMap::new();
        for ext in pool.all_extensions() {
            let key = quoted_key(&format!("[{}]", ext.full_name()));
            let label = if ext.cardinality() == Cardinality::Repeated {
                Label::Repeated
            } else {
                Label::Explicit
            };
            let ty = field_type(
                &ext.kind(),
                ext.is_group(),
                &by_name,
                &enum_index,
                validates_utf8(&ext.options(), ext.parent_file().syntax()),
            );
            extensions
                .entry(ext.containing_message().full_name().to_owned())
                .or_default()
                .push(FieldPlan {
                    number: ext.number(),
                    json_key: key.clone(),
                    proto_key: key,
                    ty,
                    label,
                    oneof: None,
                    is_extension: true,
                    wire_mask: 0,
                    scan_check: ScanCheck::None,
                });
        }
        let messages = messages
            .iter()
            .map(|m| {
                let syntax = m.parent_file().syntax();
                let mut fields: Vec<FieldPlan> = m
                    .fields()
                    .map(|f| field_plan(m, &f, syntax, &by_name, &enum_index))
                    .collect();
                if let Some(exts) = extensions.remove(m.full_name()) {
                    for e in exts {
                        // A field number wins over an extension that claims it.
                        if !fields.iter().any(|f| f.number == e.number) {
                            fields.push(e);
                        }
                    }
                }
                fields.sort_by_key(|f| f.number);
                for f in &mut fields {
                    f.wire_mask = (0..8u8)
                        .filter(|&w| f.accepts(w))
                        .fold(0, |m, w| m | 1 << w);
                    f.scan_check = match f.ty {
                        FieldType::Scalar(Scalar::String {
                            validate_utf8: true,
                        }) => ScanCheck::Utf8,
                        FieldType::Scalar(Scalar::Enum(e)) if enums[e as usize].closed => {
                            ScanCheck::ClosedEnum(e)
                        }
                        _ => ScanCheck::None,
                    };
                }
                let max_dense = fields
                    .iter()
                    .map(|f| f.number)
                    .filter(|&n| n < 256)
                    .max()
                    .map_or(0, |n| n as usize + 1);
                let mut dense = vec![0u16; max_dense];
                for (i, f) in fields.iter().enumerate() {
                    if (f.number as usize) < max_dense {
                        dense[f.number as usize] = u16::try_from(i + 1).unwrap_or(0);
                    }
                }
                MessagePlan {
                    full_name: Box::from(m.full_name()),
                    wkt: Wkt::from_name(m.full_name()),
                    fields,
                    dense,
                    oneof_count: u16::try_from(m.oneofs().len()).unwrap_or(u16::MAX),
                }
            })
            .collect();
        Plans {
            messages,
            enums,
            by_name,
        }
    }
}

/// A message's fields in declaration order, as the `.proto` lists them (prost-reflect's
/// `fields()` gives them by number): the order of Parquet and catalog columns.
pub(crate) fn declared_fields(desc: &MessageDescriptor) -> Vec<FieldDescriptor> {
    desc.descriptor_proto()
        .field
        .iter()
        .filter_map(|p| desc.get_field(u32::try_from(p.number()).ok()?))
        .collect()
}

fn field_type(
    kind: &Kind,
    is_group: bool,
    by_name: &HashMap<Box<str>, u32>,
    enum_index: &HashMap<String, u32>,
    validate_utf8: bool,
) -> FieldType {
    let s = match kind {
        Kind::Double => Scalar::Double,
        Kind::Float => Scalar::Float,
        Kind::Int64 => Scalar::Int64,
        Kind::Uint64 => Scalar::Uint64,
        Kind::Int32 => Scalar::Int32,
        Kind::Fixed64 => Scalar::Fixed64,
        Kind::Fixed32 => Scalar::Fixed32,
        Kind::Bool => Scalar::Bool,
        Kind::String => Scalar::String { validate_utf8 },
        Kind::Bytes => Scalar::Bytes,
        Kind::Uint32 => Scalar::Uint32,
        Kind::Sfixed32 => Scalar::Sfixed32,
        Kind::Sfixed64 => Scalar::Sfixed64,
        Kind::Sint32 => Scalar::Sint32,
        Kind::Sint64 => Scalar::Sint64,
        Kind::Enum(e) => Scalar::Enum(enum_index[e.full_name()]),
        Kind::Message(m) => {
            let idx = by_name[m.full_name()];
            return if is_group {
                FieldType::Group(idx)
            } else {
                FieldType::Message(idx)
            };
        }
    };
    FieldType::Scalar(s)
}

fn field_plan(
    m: &MessageDescriptor,
    f: &FieldDescriptor,
    syntax: Syntax,
    by_name: &HashMap<Box<str>, u32>,
    enum_index: &HashMap<String, u32>,
) -> FieldPlan {
    let label = if f.is_map() {
        Label::Map
    } else if f.is_list() {
        Label::Repeated
    } else if has_presence(f) {
        Label::Explicit
    } else {
        Label::Implicit
    };
    FieldPlan {
        number: f.number(),
        json_key: quoted_key(f.json_name()),
        proto_key: quoted_key(f.name()),
        ty: field_type(
            &f.kind(),
            f.is_group(),
            by_name,
            enum_index,
            validates_utf8(&f.options(), syntax),
        ),
        label,
        oneof: f
            .containing_oneof()
            .and_then(|o| m.oneofs().position(|x| x.name() == o.name()))
            .map(|i| i as u16),
        is_extension: false,
        wire_mask: 0,
        scan_check: ScanCheck::None,
    }
}
