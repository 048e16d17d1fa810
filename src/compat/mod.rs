//! Migration checks between two schema versions: can NEW replace OLD in the pipeline,
//! decoding every message OLD's producers write and giving the JSON OLD gave?
//!
//! - [`check`]: static rules over two descriptor pools (`rules.rs`), each [`Rule`] with a
//!   name, a [`Level`] and a one-line explanation a user can act on.
//! - [`samples::check_samples`]: real sample objects decoded under both schemas through the
//!   pipeline's own transcoder, compared message by message.
//!
//! The static rules use only prost-reflect, so `registry::publish` may call them too.

mod rules;
pub mod samples;
#[cfg(test)]
mod tests;

use prost_reflect::DescriptorPool;
use serde::Serialize;

pub use rules::check;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Bytes written with OLD fail under NEW, or decode to a different value.
    Wire,
    /// Same values, but the JSON differs for some message OLD can write.
    Json,
    /// Same JSON for every message OLD can write, but behaviour changes.
    Semantic,
}

impl Level {
    /// The lowercase name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Wire => "wire",
            Level::Json => "json",
            Level::Semantic => "semantic",
        }
    }

    /// Whether a finding of this level makes the check fail (exit status 1).
    pub fn fails(self) -> bool {
        matches!(self, Level::Wire | Level::Json)
    }
}

impl std::fmt::Display for Level {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

macro_rules! rules {
    ($( $variant:ident => $name:literal, $level:ident, $why:literal; )*) => {
        /// Every rule the check applies. The rule table in docs/compat.md lists each by name.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Rule {
            $(
                #[doc = $why]
                $variant,
            )*
        }

        impl Rule {
            /// All rules, in the order docs/compat.md lists them.
            pub const ALL: &'static [Rule] = &[$(Rule::$variant),*];

            /// The rule's name as reports print it.
            pub fn name(self) -> &'static str {
                match self { $(Rule::$variant => $name,)* }
            }

            /// The rule's level.
            pub fn level(self) -> Level {
                match self { $(Rule::$variant => Level::$level,)* }
            }

            /// One line: why it matters and what to do instead.
            pub fn advice(self) -> &'static str {
                match self { $(Rule::$variant => $why,)* }
            }
        }
    };
}

rules! {
    MessageRemoved => "message_removed", Wire,
        "objects routed to this type fail: keep the type (deprecate it) or route its objects to a registry that still has it";
    MessageSetWireFormatChanged => "message_set_wire_format_changed", Wire,
        "MessageSet and ordinary messages are encoded differently: keep message_set_wire_format as it was";
    FieldRemoved => "field_removed", Json,
        "its values become unknown fields and vanish from the JSON: keep the field (deprecated), or reserve its number and name once the data is dead";
    FieldNumberChanged => "field_number_changed", Wire,
        "bytes carry the number, not the name, so OLD's values become unknown fields or land in another field's column: keep each field on its number (add a new field instead)";
    FieldWireTypeChanged => "field_wire_type_changed", Wire,
        "old bytes carry another wire type, so the value becomes an unknown field or fails: add a new field with a new number instead";
    FieldTypeChanged => "field_type_changed", Wire,
        "same wire type, but old bytes decode to other values (int32 -> sint32 or uint32, 64 -> 32 bits, float <-> fixed32, bytes -> string or message): add a new field instead";
    FieldJsonTypeChanged => "field_json_type_changed", Json,
        "old values decode, but print differently (int32 -> int64 becomes a string, string or a message -> bytes becomes base64, enum <-> integer): keep the type, or add a new field";
    FieldJsonFormChanged => "field_json_form_changed", Json,
        "old values decode, but the message type prints in another JSON form (a well-known type's special form, such as Timestamp's \"1970-01-01T00:02:30Z\" vs Duration's \"150s\", or a plain object): keep the type, or add a new field";
    FieldJsonFormStricter => "field_json_form_stricter", Wire,
        "NEW's well-known type cannot print some values OLD's type holds, so messages carrying them fail: keep the type, or add a new field";
    FieldGroupChanged => "field_group_changed", Wire,
        "a group is delimited by start/end tags, a message by a length: keep the group (proto3 cannot declare one, so stay proto2 or use editions' DELIMITED encoding)";
    FieldRepeatedToSingular => "field_repeated_to_singular", Wire,
        "only the last of the old values survives: keep the field repeated";
    FieldJsonArrayLost => "field_json_array_lost", Json,
        "the JSON value is no longer an array, even for OLD messages with one element: keep the field repeated";
    FieldSingularToRepeated => "field_singular_to_repeated", Json,
        "old values decode, but the JSON value becomes an array: keep the field singular, or add a new repeated field";
    FieldMapChanged => "field_map_changed", Json,
        "a map and a repeated entry message share the wire format but print as an object vs an array: keep the map-ness";
    FieldJsonNameChanged => "field_json_name_changed", Json,
        "the JSON key changes, so consumers lose the column: keep json_name = the old JSON name when renaming";
    FieldNameChanged => "field_name_changed", Json,
        "the default JSON key is unchanged (json_name kept), but --proto-field-names output, Parquet column names (the .proto names) and generated code change: keep the .proto name, or add a new field";
    FieldPresenceLost => "field_presence_lost", Json,
        "an explicitly set zero/empty value (or an enum's 0 value) is no longer printed: declare the proto3 field `optional` to keep presence";
    FieldPresenceLostUnobservable => "field_presence_lost_unobservable", Semantic,
        "OLD cannot write the value NEW treats as unset (a closed enum with no value numbered 0), so the JSON is the same for every OLD message; but NEW cannot tell unset from 0, and unset now reads as 0: declare the proto3 field `optional` to keep presence";
    FieldRequiredDropped => "field_required_dropped", Semantic,
        "messages without the field are accepted now: make sure consumers do not rely on it always being there";
    FieldRequiredAdded => "field_required_added", Semantic,
        "old messages may lack the field: strict parsers reject them (protolake does not); prefer optional";
    FieldDefaultLost => "field_default_lost", Semantic,
        "an unset field now reads as the type's zero instead of the proto2 custom default (JSON omits unset fields either way): apply the default in consumers";
    FieldDefaultChanged => "field_default_changed", Semantic,
        "an unset field now reads as another default: keep the default, or apply it in consumers";
    FieldMovedIntoOneof => "field_moved_into_oneof", Semantic,
        "the field joined a oneof: setting another member now clears it; OLD data is unaffected";
    OneofFieldsMerged => "oneof_fields_merged", Wire,
        "fields OLD could set together now share a oneof, so only the last one decoded survives: keep them out of one oneof";
    OneofJsonKeysExclusive => "oneof_json_keys_exclusive", Json,
        "a message that set several of them prints only one of their JSON keys, so the keys (columns) OLD filled together become alternatives: keep them out of one oneof";
    FieldMovedOutOfOneof => "field_moved_out_of_oneof", Semantic,
        "the field left its oneof: members can now be set together; OLD data is unaffected";
    FieldUtf8ValidationAdded => "field_utf8_validation_added", Semantic,
        "proto3 strings must be UTF-8: a proto2 producer's invalid UTF-8 now fails the message; use bytes if producers may write it";
    ExtensionBecameField => "extension_became_field", Json,
        "the JSON key changes from \"[pkg.extension]\" to the field's json_name: tell consumers, or keep the extension (proto2)";
    FieldBecameExtension => "field_became_extension", Json,
        "the JSON key changes from the field's json_name to \"[pkg.extension]\": keep it a field";
    ExtensionRemoved => "extension_removed", Json,
        "the extension's values become unknown fields and vanish from the JSON: keep the extension, or turn it into a field (a json finding of its own)";
    ExtensionRangeRemoved => "extension_range_removed", Semantic,
        "extensions other schemas declare in this range can no longer be declared against NEW: keep the extension range";
    EnumValueRemoved => "enum_value_removed", Json,
        "old values print as a number (open enum) or vanish (closed enum) instead of the name: keep the value (deprecated)";
    EnumValueRenamed => "enum_value_renamed", Json,
        "the JSON prints the new name: keep the old name, or add the new one as an alias after it (allow_alias; JSON prints the first declared name)";
    EnumValueRenumbered => "enum_value_renumbered", Wire,
        "bytes carry the number, so old values decode as another value or none: keep each name on its number";
    EnumClosedToOpen => "enum_closed_to_open", Semantic,
        "a proto3 (open) enum keeps unknown numbers in the field and prints them as numbers, where proto2 moved them to unknown fields";
    EnumOpenToClosed => "enum_open_to_closed", Json,
        "a closed (proto2) enum moves numbers it does not declare to unknown fields, so they vanish from the JSON: keep the enum open";
    ReservedNumberReused => "reserved_number_reused", Wire,
        "a number OLD reserved (data from even older producers may carry it) now decodes into a new field: pick a fresh number and keep the reservation";
    ReservedNumberReleased => "reserved_number_released", Semantic,
        "a reservation was dropped, so a later change may reuse the number: keep `reserved`";
    SampleJsonDiffers => "sample_json_differs", Json,
        "a real sample message prints different JSON under NEW: see the path of the first difference";
    SampleDecodeFails => "sample_decode_fails", Wire,
        "a real sample message decodes under one schema only";
}

impl Serialize for Rule {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// One thing that changes between OLD and NEW.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The rule's level.
    pub level: Level,
    /// Which rule.
    pub rule: Rule,
    /// The OLD element's full name (`acme.v1.Event.user_id`, `acme.v1.Status.STATUS_OK`); for
    /// a sample, `FILE#INDEX`.
    pub path: String,
    /// What changed, and what to do instead.
    pub message: String,
    /// The OLD message or enum type the element belongs to (groups the text report); for a
    /// sample, the file.
    #[serde(skip)]
    pub group: String,
}

impl Finding {
    pub(crate) fn new(rule: Rule, group: &str, path: String, what: String) -> Finding {
        Finding {
            level: rule.level(),
            rule,
            path,
            message: format!("{what}: {}", rule.advice()),
            group: group.to_owned(),
        }
    }

    /// A finding whose message says it all (samples: the advice would repeat on every line).
    pub(crate) fn bare(rule: Rule, group: &str, path: String, message: String) -> Finding {
        Finding {
            level: rule.level(),
            rule,
            path,
            message,
            group: group.to_owned(),
        }
    }

    /// Whether the finding comes from a sample rather than the static rules.
    pub fn is_sample(&self) -> bool {
        matches!(self.rule, Rule::SampleJsonDiffers | Rule::SampleDecodeFails)
    }
}

/// Which OLD message types to check.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Full names; empty means every message type OLD defines (map entries and the
    /// `google.protobuf` package's own types excepted: they are checked where used).
    pub types: Vec<String>,
}

/// Errors of the compat check: the static rules cannot fail; samples can be unreadable.
#[derive(Debug, thiserror::Error)]
pub enum CompatError {
    /// A sample file or directory that cannot be read, decompressed or framed.
    #[error(transparent)]
    Samples(#[from] crate::pipeline::Error),
}

/// Whether findings make the check fail: any `wire` or `json` finding.
pub fn fails(findings: &[Finding]) -> bool {
    findings.iter().any(|f| f.level.fails())
}

/// The OLD message types checked without `--type`.
pub fn default_types(old: &DescriptorPool) -> Vec<String> {
    old.all_messages()
        .filter(|m| !m.is_map_entry() && m.package_name() != "google.protobuf")
        .map(|m| m.full_name().to_owned())
        .collect()
}
