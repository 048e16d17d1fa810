//! Editions files (`edition = "2023"`, `"2024"`), lowered to the proto2-shaped view that
//! prost-reflect accepts, with every field's resolved features carried along
//! (`crate::features` says how).
//!
//! Features resolve as protobuf resolves them: the edition's defaults, then the file's,
//! each enclosing message's, the oneof's and the field's own overrides; an enum takes its
//! file's and enclosing messages' features and its own; an extension those of the scope it
//! is declared in; a map entry those of its map field. protoc's descriptors carry no
//! resolved features, so resolving is ours. Language features (`features.(pb.cpp)` and
//! the like) are extensions of `FeatureSet` and do not change what the bytes mean: ignored.
//!
//! prost-types' `descriptor.proto` has no `edition` or `features` fields, so the same bytes
//! are decoded a second time here with the few messages that hold them.

use std::collections::{HashMap, HashSet};

use prost::Message as _;
use prost_types::field_descriptor_proto::{Label, Type};
use prost_types::{
    DescriptorProto, EnumDescriptorProto, EnumOptions, FieldDescriptorProto, FieldOptions,
    FileDescriptorProto, FileDescriptorSet,
};

use crate::features;

/// The editions this build resolves features for.
const EDITION_2023: i32 = 1000;
const EDITION_2024: i32 = 1001;

/// Lowers every editions file of `set` (decoded from `bytes` by prost-types) in place.
/// Files in proto2 or proto3 are left as they are.
pub(crate) fn lower(set: &mut FileDescriptorSet, bytes: &[u8]) -> Result<(), String> {
    if !set.file.iter().any(|f| f.syntax() == "editions") {
        return Ok(());
    }
    let raw = raw::Set::decode(bytes).map_err(|e| e.to_string())?;
    if raw.file.len() != set.file.len() {
        return Err("the descriptor set decodes to two different file lists".into());
    }
    for (file, raw) in set.file.iter_mut().zip(&raw.file) {
        if file.syntax() == "editions" {
            lower_file(file, raw).map_err(|e| format!("{}: {e}", file.name()))?;
        }
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Presence {
    Explicit,
    Implicit,
    LegacyRequired,
}

/// The features that change what bytes mean or how they print, resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Features {
    presence: Presence,
    closed_enum: bool,
    packed: bool,
    verify_utf8: bool,
    delimited: bool,
    /// `json_format = ALLOW`: JSON name conflicts are errors.
    json_allow: bool,
}

impl Features {
    /// The defaults of an edition (2023 and 2024 agree on every feature above).
    fn of_edition(edition: i32) -> Option<Features> {
        matches!(edition, EDITION_2023 | EDITION_2024).then_some(Features {
            presence: Presence::Explicit,
            closed_enum: false,
            packed: true,
            verify_utf8: true,
            delimited: false,
            json_allow: true,
        })
    }

    /// These features overridden by those set in `set`. Unset (0) keeps the parent's; a
    /// value this build does not know is an error, as protoc would give.
    fn with(mut self, set: Option<&raw::FeatureSet>) -> Result<Features, String> {
        let Some(set) = set else { return Ok(self) };
        let pick =
            |name: &str, v: Option<i32>, known: &[(i32, bool)]| -> Result<Option<bool>, String> {
                match v.unwrap_or(0) {
                    0 => Ok(None),
                    n => known
                        .iter()
                        .find(|(k, _)| *k == n)
                        .map(|(_, b)| Some(*b))
                        .ok_or_else(|| {
                            format!("features.{name} = {n} is not a value this build knows")
                        }),
                }
            };
        match set.field_presence.unwrap_or(0) {
            0 => {}
            1 => self.presence = Presence::Explicit,
            2 => self.presence = Presence::Implicit,
            3 => self.presence = Presence::LegacyRequired,
            n => {
                return Err(format!(
                    "features.field_presence = {n} is not a value this build knows"
                ))
            }
        }
        if let Some(closed) = pick("enum_type", set.enum_type, &[(1, false), (2, true)])? {
            self.closed_enum = closed;
        }
        if let Some(packed) = pick(
            "repeated_field_encoding",
            set.repeated_field_encoding,
            &[(1, true), (2, false)],
        )? {
            self.packed = packed;
        }
        if let Some(verify) = pick(
            "utf8_validation",
            set.utf8_validation,
            &[(2, true), (3, false)],
        )? {
            self.verify_utf8 = verify;
        }
        if let Some(delimited) = pick(
            "message_encoding",
            set.message_encoding,
            &[(1, false), (2, true)],
        )? {
            self.delimited = delimited;
        }
        if let Some(allow) = pick("json_format", set.json_format, &[(1, true), (2, false)])? {
            self.json_allow = allow;
        }
        Ok(self)
    }
}

fn edition_name(edition: i32) -> String {
    match edition {
        0 => "unset".into(),
        998 => "EDITION_PROTO2".into(),
        999 => "EDITION_PROTO3".into(),
        1002 => "2026".into(),
        n => n.to_string(),
    }
}

fn lower_file(file: &mut FileDescriptorProto, raw: &raw::File) -> Result<(), String> {
    let edition = raw.edition.unwrap_or(0);
    let defaults = Features::of_edition(edition).ok_or_else(|| {
        format!(
            "edition {} is not supported (editions 2023 and 2024 are)",
            edition_name(edition)
        )
    })?;
    let features = defaults.with(raw.options.as_ref().and_then(|o| o.features.as_ref()))?;
    file.syntax = Some("proto2".into());
    let presence = match features.presence {
        Presence::Explicit => "EXPLICIT",
        Presence::Implicit => "IMPLICIT",
        Presence::LegacyRequired => "LEGACY_REQUIRED",
    };
    file.options
        .get_or_insert_with(Default::default)
        .uninterpreted_option
        .push(features::record(features::FIELD_PRESENCE, presence));
    let scope = match file.package() {
        "" => String::new(),
        p => format!(".{p}"),
    };
    same_len(file.message_type.len(), raw.message_type.len())?;
    for (m, r) in file.message_type.iter_mut().zip(&raw.message_type) {
        lower_message(m, r, features, &scope)?;
    }
    same_len(file.enum_type.len(), raw.enum_type.len())?;
    for (e, r) in file.enum_type.iter_mut().zip(&raw.enum_type) {
        lower_enum(e, r, features)?;
    }
    same_len(file.extension.len(), raw.extension.len())?;
    for (f, r) in file.extension.iter_mut().zip(&raw.extension) {
        lower_field(f, r, features, Place::Extension)?;
    }
    Ok(())
}

fn same_len(a: usize, b: usize) -> Result<(), String> {
    if a == b {
        Ok(())
    } else {
        Err("the descriptor set decodes to two different shapes".into())
    }
}

/// Where a field sits, for the rules that depend on it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    Field,
    Oneof,
    /// A map field (its values are the entry's business).
    Map,
    /// The key or value of a map entry.
    MapEntry,
    Extension,
}

fn lower_message(
    m: &mut DescriptorProto,
    raw: &raw::Message,
    inherited: Features,
    scope: &str,
) -> Result<(), String> {
    let features = inherited.with(raw.options.as_ref().and_then(|o| o.features.as_ref()))?;
    let full = format!("{scope}.{}", m.name());
    let map_entry = m.options.as_ref().and_then(|o| o.map_entry) == Some(true);
    if !map_entry {
        check_json_names(m, &full, features.json_allow)?;
    }
    let oneofs: Vec<Features> = raw
        .oneof_decl
        .iter()
        .map(|o| features.with(o.options.as_ref().and_then(|o| o.features.as_ref())))
        .collect::<Result<_, _>>()?;
    same_len(m.field.len(), raw.field.len())?;
    let entries: HashSet<String> = m
        .nested_type
        .iter()
        .filter(|n| n.options.as_ref().and_then(|o| o.map_entry) == Some(true))
        .map(|n| format!("{full}.{}", n.name()))
        .collect();
    // A map entry takes the features of its map field: resolved here, used below.
    let mut map_fields: HashMap<String, Features> = HashMap::new();
    for (f, r) in m.field.iter_mut().zip(&raw.field) {
        let is_map = f.label() == Label::Repeated && entries.contains(f.type_name());
        let (parent, place) = match f.oneof_index.and_then(|i| oneofs.get(i as usize)) {
            Some(o) if !f.proto3_optional() => (*o, Place::Oneof),
            _ if map_entry => (features, Place::MapEntry),
            _ if is_map => (features, Place::Map),
            _ => (features, Place::Field),
        };
        let resolved = lower_field(f, r, parent, place)?;
        if is_map {
            map_fields.insert(f.type_name().to_owned(), resolved);
        }
    }
    same_len(m.nested_type.len(), raw.nested_type.len())?;
    for (n, r) in m.nested_type.iter_mut().zip(&raw.nested_type) {
        let parent = map_fields
            .get(&format!("{full}.{}", n.name()))
            .copied()
            .unwrap_or(features);
        lower_message(n, r, parent, &full)?;
    }
    same_len(m.enum_type.len(), raw.enum_type.len())?;
    for (e, r) in m.enum_type.iter_mut().zip(&raw.enum_type) {
        lower_enum(e, r, features)?;
    }
    same_len(m.extension.len(), raw.extension.len())?;
    for (f, r) in m.extension.iter_mut().zip(&raw.extension) {
        lower_field(f, r, features, Place::Extension)?;
    }
    Ok(())
}

/// Writes a field's resolved features into its proto2 form; returns them.
fn lower_field(
    f: &mut FieldDescriptorProto,
    raw: &raw::Field,
    parent: Features,
    place: Place,
) -> Result<Features, String> {
    let features = parent
        .with(raw.options.as_ref().and_then(|o| o.features.as_ref()))
        .map_err(|e| format!("field {}: {e}", f.name()))?;
    let ty = f.r#type();
    let repeated = f.label() == Label::Repeated;
    let message = matches!(ty, Type::Message | Type::Group);
    let mut records = Vec::new();
    if !repeated {
        match features.presence {
            // Messages, oneof members and extensions always have presence.
            Presence::Implicit if !message && matches!(place, Place::Field | Place::MapEntry) => {
                records.push(features::record(features::FIELD_PRESENCE, "IMPLICIT"));
            }
            Presence::LegacyRequired => f.set_label(Label::Required),
            _ => {}
        }
    }
    // Map entries are length-prefixed, and so are their values, in any file.
    if ty == Type::Message && features.delimited && !matches!(place, Place::Map | Place::MapEntry) {
        f.set_type(Type::Group);
    }
    if repeated && !message && !matches!(ty, Type::String | Type::Bytes) {
        f.options.get_or_insert_with(FieldOptions::default).packed = Some(features.packed);
    }
    if ty == Type::String {
        let v = if features.verify_utf8 {
            "VERIFY"
        } else {
            "NONE"
        };
        records.push(features::record(features::UTF8_VALIDATION, v));
    }
    if !records.is_empty() {
        f.options
            .get_or_insert_with(FieldOptions::default)
            .uninterpreted_option
            .extend(records);
    }
    Ok(features)
}

fn lower_enum(
    e: &mut EnumDescriptorProto,
    raw: &raw::Enum,
    parent: Features,
) -> Result<(), String> {
    let features = parent
        .with(raw.options.as_ref().and_then(|o| o.features.as_ref()))
        .map_err(|err| format!("enum {}: {err}", e.name()))?;
    let v = if features.closed_enum {
        "CLOSED"
    } else {
        "OPEN"
    };
    e.options
        .get_or_insert_with(EnumOptions::default)
        .uninterpreted_option
        .push(features::record(features::ENUM_TYPE, v));
    Ok(())
}

/// Two fields of a message may not print under one JSON name, as the reference runtime
/// (upb) refuses such a set under either `json_format`: a field's JSON name may be neither
/// another field's JSON name nor its name. Under `ALLOW` the default JSON names (from the
/// field names) may not collide either, as protoc refuses.
fn check_json_names(m: &DescriptorProto, full: &str, allow: bool) -> Result<(), String> {
    let clash = |a: &str, b: &str, name: &str| {
        Err(format!(
            "message {}: fields {a:?} and {b:?} have the same JSON name {name:?}",
            full.trim_start_matches('.'),
        ))
    };
    let json =
        |f: &FieldDescriptorProto| f.json_name.clone().unwrap_or_else(|| camel_case(f.name()));
    // Each field against the ones before it, through maps: linear in the field count, as a
    // registry of untrusted bytes needs (a message may declare very many fields).
    let mut jsons: HashMap<String, &str> = HashMap::new();
    let mut names: HashSet<&str> = HashSet::new();
    let mut defaults: HashMap<String, &str> = HashMap::new();
    for b in &m.field {
        let jb = json(b);
        if let Some(a) = jsons.get(&jb) {
            return clash(a, b.name(), &jb);
        }
        if let Some(a) = names.get(jb.as_str()) {
            return clash(a, b.name(), &jb);
        }
        if let Some(a) = jsons.get(b.name()) {
            return clash(a, b.name(), b.name());
        }
        let db = camel_case(b.name());
        if allow {
            if let Some(a) = defaults.get(&db) {
                return clash(a, b.name(), &db);
            }
        }
        jsons.insert(jb, b.name());
        names.insert(b.name());
        defaults.insert(db, b.name());
    }
    Ok(())
}

/// protobuf's default JSON name: underscores dropped, the letter after each upper-cased.
fn camel_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = false;
    for c in name.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// The parts of `descriptor.proto` that carry editions, decoded beside prost-types' own.
mod raw {
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Set {
        #[prost(message, repeated, tag = "1")]
        pub file: Vec<File>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct File {
        #[prost(message, repeated, tag = "4")]
        pub message_type: Vec<Message>,
        #[prost(message, repeated, tag = "5")]
        pub enum_type: Vec<Enum>,
        #[prost(message, repeated, tag = "7")]
        pub extension: Vec<Field>,
        #[prost(message, optional, tag = "8")]
        pub options: Option<FileOptions>,
        #[prost(int32, optional, tag = "14")]
        pub edition: Option<i32>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct FileOptions {
        #[prost(message, optional, tag = "50")]
        pub features: Option<FeatureSet>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Message {
        #[prost(message, repeated, tag = "2")]
        pub field: Vec<Field>,
        #[prost(message, repeated, tag = "3")]
        pub nested_type: Vec<Message>,
        #[prost(message, repeated, tag = "4")]
        pub enum_type: Vec<Enum>,
        #[prost(message, repeated, tag = "6")]
        pub extension: Vec<Field>,
        #[prost(message, optional, tag = "7")]
        pub options: Option<MessageOptions>,
        #[prost(message, repeated, tag = "8")]
        pub oneof_decl: Vec<Oneof>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct MessageOptions {
        #[prost(message, optional, tag = "12")]
        pub features: Option<FeatureSet>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Field {
        #[prost(message, optional, tag = "8")]
        pub options: Option<FieldOptions>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct FieldOptions {
        #[prost(message, optional, tag = "21")]
        pub features: Option<FeatureSet>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Oneof {
        #[prost(message, optional, tag = "2")]
        pub options: Option<OneofOptions>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct OneofOptions {
        #[prost(message, optional, tag = "1")]
        pub features: Option<FeatureSet>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Enum {
        #[prost(message, optional, tag = "3")]
        pub options: Option<EnumOptions>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct EnumOptions {
        #[prost(message, optional, tag = "7")]
        pub features: Option<FeatureSet>,
    }

    /// `google.protobuf.FeatureSet`'s language-independent features, as enum numbers.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct FeatureSet {
        #[prost(int32, optional, tag = "1")]
        pub field_presence: Option<i32>,
        #[prost(int32, optional, tag = "2")]
        pub enum_type: Option<i32>,
        #[prost(int32, optional, tag = "3")]
        pub repeated_field_encoding: Option<i32>,
        #[prost(int32, optional, tag = "4")]
        pub utf8_validation: Option<i32>,
        #[prost(int32, optional, tag = "5")]
        pub message_encoding: Option<i32>,
        #[prost(int32, optional, tag = "6")]
        pub json_format: Option<i32>,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost_types::FieldDescriptorProto;

    /// A set of one editions file: `fields` in message `M`, the file's `edition` number
    /// appended as raw bytes (prost-types has no field for it).
    fn set_bytes(edition: i32, fields: Vec<FieldDescriptorProto>) -> Vec<u8> {
        let file = FileDescriptorProto {
            name: Some("e.proto".into()),
            package: Some("e".into()),
            syntax: Some("editions".into()),
            message_type: vec![DescriptorProto {
                name: Some("M".into()),
                field: fields,
                ..Default::default()
            }],
            ..Default::default()
        };
        let mut file = file.encode_to_vec();
        prost::encoding::int32::encode(14, &edition, &mut file);
        let mut set = Vec::new();
        prost::encoding::bytes::encode(1, &file, &mut set);
        set
    }

    fn field(name: &str, number: i32, json: &str) -> FieldDescriptorProto {
        FieldDescriptorProto {
            name: Some(name.into()),
            number: Some(number),
            label: Some(Label::Optional as i32),
            r#type: Some(Type::Int32 as i32),
            json_name: Some(json.into()),
            ..Default::default()
        }
    }

    fn lowered(bytes: &[u8]) -> Result<FileDescriptorSet, String> {
        let mut set = FileDescriptorSet::decode(bytes).unwrap();
        lower(&mut set, bytes).map(|()| set)
    }

    #[test]
    fn an_edition_this_build_does_not_resolve_is_refused_by_name() {
        let err = lowered(&set_bytes(1002, vec![field("a", 1, "a")])).unwrap_err();
        assert_eq!(
            err,
            "e.proto: edition 2026 is not supported (editions 2023 and 2024 are)"
        );
        let set = lowered(&set_bytes(EDITION_2024, vec![field("a", 1, "a")])).unwrap();
        assert_eq!(set.file[0].syntax(), "proto2");
    }

    #[test]
    fn fields_printing_under_one_json_name_are_refused_naming_both() {
        let err = lowered(&set_bytes(
            EDITION_2023,
            vec![field("foo_bar", 1, "fooBar"), field("fooBar", 2, "fooBar")],
        ))
        .unwrap_err();
        assert!(
            err.contains("message e.M: fields \"foo_bar\" and \"fooBar\""),
            "{err}"
        );
        // A custom JSON name that is another field's name.
        let err = lowered(&set_bytes(
            EDITION_2023,
            vec![field("a", 1, "b"), field("b", 2, "b2")],
        ))
        .unwrap_err();
        assert!(
            err.contains("fields \"a\" and \"b\" have the same JSON name \"b\""),
            "{err}"
        );
    }

    #[test]
    fn the_json_name_check_takes_many_fields_and_finds_the_one_clash() {
        let mut fields: Vec<FieldDescriptorProto> = (1..=20_000)
            .map(|n| field(&format!("f{n}"), n, &format!("f{n}")))
            .collect();
        assert!(lowered(&set_bytes(EDITION_2023, fields.clone())).is_ok());
        fields.push(field("last", 20_001, "f7"));
        let err = lowered(&set_bytes(EDITION_2023, fields)).unwrap_err();
        assert!(
            err.contains("fields \"f7\" and \"last\" have the same JSON name \"f7\""),
            "{err}"
        );
    }

    #[test]
    fn defaults_of_2023_explicit_presence_verified_strings_open_enums() {
        let mut s = field("s", 1, "s");
        s.r#type = Some(Type::String as i32);
        let mut r = field("r", 2, "r");
        r.label = Some(Label::Repeated as i32);
        let set = lowered(&set_bytes(EDITION_2023, vec![s, r])).unwrap();
        let m = &set.file[0].message_type[0];
        let records = |f: &FieldDescriptorProto| -> Vec<(String, String)> {
            f.options
                .iter()
                .flat_map(|o| &o.uninterpreted_option)
                .map(|u| (u.name[1].name_part.clone(), u.identifier_value().to_owned()))
                .collect()
        };
        // Explicit presence is proto2's own: no record; the string is verified.
        assert_eq!(
            records(&m.field[0]),
            [("utf8_validation".into(), "VERIFY".into())]
        );
        // Repeated scalars are packed.
        assert_eq!(m.field[1].options.as_ref().unwrap().packed, Some(true));
    }
}
