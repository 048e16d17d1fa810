//! Editions features, as the registry records them on the view of an editions file that it
//! gives prost-reflect (see `registry::editions`), read back by the transcoder's plan and by
//! compat.
//!
//! prost-types' `descriptor.proto` predates editions, and prost-reflect refuses
//! `syntax = "editions"`; so an editions file is handed over as proto2, and what proto2
//! cannot say is recorded on each field and enum in descriptor.proto's own form for an option
//! not yet interpreted: `features.field_presence = IMPLICIT`, `features.utf8_validation =
//! VERIFY`, `features.enum_type = OPEN`. prost-reflect interprets those into the element's
//! options (its descriptor.proto has `FeatureSet`), where they are read back here. The rest
//! needs no record: LEGACY_REQUIRED becomes `LABEL_REQUIRED`, DELIMITED becomes `TYPE_GROUP`
//! and the repeated encoding becomes `[packed = ...]`, all of which proto2 has.

use prost_reflect::{DynamicMessage, EnumDescriptor, FieldDescriptor, Syntax, Value};
use prost_types::{uninterpreted_option::NamePart, UninterpretedOption};

/// `features.field_presence`: on a field, recorded (as `IMPLICIT`) only where presence is
/// implicit; on the file, always (it marks the file as editions).
pub(crate) const FIELD_PRESENCE: &str = "field_presence";
/// `features.utf8_validation`: `VERIFY` or `NONE`, on string fields.
pub(crate) const UTF8_VALIDATION: &str = "utf8_validation";
/// `features.enum_type`: `OPEN` or `CLOSED`, on enums.
pub(crate) const ENUM_TYPE: &str = "enum_type";

// FeatureSet's enum numbers, as descriptor.proto numbers them.
const IMPLICIT: i32 = 2;
const VERIFY: i32 = 2;
const CLOSED: i32 = 2;

/// The uninterpreted option `features.NAME = VALUE`, as the registry records it.
pub(crate) fn record(name: &str, value: &str) -> UninterpretedOption {
    let part = |p: &str| NamePart {
        name_part: p.to_owned(),
        is_extension: false,
    };
    UninterpretedOption {
        name: vec![part("features"), part(name)],
        identifier_value: Some(value.to_owned()),
        ..Default::default()
    }
}

/// A feature set in decoded options (`FileOptions`, `FieldOptions`, `EnumOptions`), as an
/// enum number. prost-reflect interprets the recorded options into these when it builds
/// the pool.
fn feature(options: &DynamicMessage, name: &str) -> Option<i32> {
    if !options.has_field_by_name("features") {
        return None;
    }
    let features = options.get_field_by_name("features")?;
    let features = features.as_message()?;
    if !features.has_field_by_name(name) {
        return None;
    }
    match &*features.get_field_by_name(name)? {
        Value::EnumNumber(n) => Some(*n),
        _ => None,
    }
}

/// Whether a file is an editions file the registry lowered: it carries its own resolved
/// `features.field_presence`, which no proto2 or proto3 file does.
#[cfg(feature = "second-opinion")]
pub(crate) fn is_editions(file: &prost_reflect::FileDescriptor) -> bool {
    feature(&file.options(), FIELD_PRESENCE).is_some()
}

/// Whether a singular field distinguishes unset from its default: prost-reflect's answer by
/// syntax, less the editions fields with implicit presence.
pub(crate) fn has_presence(f: &FieldDescriptor) -> bool {
    f.supports_presence() && feature(&f.options(), FIELD_PRESENCE) != Some(IMPLICIT)
}

/// Whether a string field's bytes are checked for UTF-8 when parsed, given its decoded
/// options and its file's syntax: proto3 does, proto2 does not (upb and C++ agree), an
/// editions field as its `utf8_validation` says.
pub(crate) fn validates_utf8(options: &DynamicMessage, syntax: Syntax) -> bool {
    feature(options, UTF8_VALIDATION).map_or(syntax == Syntax::Proto3, |v| v == VERIFY)
}

/// Whether an enum is closed (numbers it does not declare go to unknown fields): proto2
/// enums are, proto3 enums are not, an editions enum as its `enum_type` says.
pub(crate) fn is_closed(e: &EnumDescriptor) -> bool {
    feature(&e.options(), ENUM_TYPE)
        .map_or(e.parent_file().syntax() == Syntax::Proto2, |v| v == CLOSED)
}
