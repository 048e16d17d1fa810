//! The static engine: pairs OLD and NEW message types (by full name at the top, then by
//! field through every field that references another type) and applies the rules. Fields
//! are paired by number (bytes carry the number) and checked by name too: a name that moved
//! to another number is a `wire` finding, not a removal or a rename.

use std::collections::HashSet;
use std::ops::Range;

use prost_reflect::{
    Cardinality, DescriptorPool, EnumDescriptor, ExtensionDescriptor, FieldDescriptor, Kind,
    MessageDescriptor,
};

use super::{Finding, Rule, Selection};
use crate::features::{self, is_closed};

/// Applies every static rule to the selected OLD types and everything they reference.
/// Findings come sorted by group (type), then path, then rule; duplicates removed.
pub fn check(old: &DescriptorPool, new: &DescriptorPool, selection: &Selection) -> Vec<Finding> {
    let names = if selection.types.is_empty() {
        super::default_types(old)
    } else {
        selection
            .types
            .iter()
            .map(|t| t.strip_prefix('.').unwrap_or(t).to_owned())
            .collect()
    };
    let mut c = Checker {
        findings: Vec::new(),
        seen_messages: HashSet::new(),
        seen_enums: HashSet::new(),
    };
    let mut missing = Vec::new();
    for name in &names {
        let Some(o) = old.get_message_by_name(name) else {
            continue;
        };
        match new.get_message_by_name(name) {
            Some(n) => c.message(&o, &n),
            None => missing.push(o),
        }
    }
    // After the pairs are walked, a field that referenced a missing type tells what it became.
    for o in missing {
        let mut renamed: Vec<&str> = c
            .seen_messages
            .iter()
            .filter(|(a, b)| a == o.full_name() && b != o.full_name())
            .map(|(_, b)| b.as_str())
            .collect();
        renamed.sort_unstable();
        let hint = match renamed.as_slice() {
            [] => String::new(),
            names => format!(
                " (fields that referenced it now reference {}: a rename; routes and metadata naming it must change too)",
                names.join(", ")
            ),
        };
        let finding = Finding::new(
            Rule::MessageRemoved,
            o.full_name(),
            o.full_name().to_owned(),
            format!("message type {} is not in NEW{hint}", o.full_name()),
        );
        c.findings.push(finding);
    }
    let mut findings = c.findings;
    findings.sort_by(|a, b| {
        (&a.group, &a.path, a.rule.name(), &a.message).cmp(&(
            &b.group,
            &b.path,
            b.rule.name(),
            &b.message,
        ))
    });
    findings.dedup();
    findings
}

struct Checker {
    findings: Vec<Finding>,
    /// (OLD full name, NEW full name) pairs already compared: recursion stops there.
    seen_messages: HashSet<(String, String)>,
    seen_enums: HashSet<(String, String)>,
}

/// What the rules need to know about a field or an extension.
struct FieldView {
    /// Full name (`pkg.Message.field`, or the extension's own full name).
    path: String,
    name: String,
    number: u32,
    kind: Kind,
    cardinality: Cardinality,
    is_group: bool,
    is_map: bool,
    json_name: String,
    presence: bool,
    /// A proto2 custom default, as written in the descriptor.
    default: Option<String>,
    /// Whether a string's bytes are checked for UTF-8 when parsed.
    validates_utf8: bool,
    is_extension: bool,
    /// A map entry's key or value: always printed, so presence means nothing there.
    in_map_entry: bool,
}

impl FieldView {
    fn of_field(f: &FieldDescriptor) -> FieldView {
        FieldView {
            path: f.full_name().to_owned(),
            name: f.name().to_owned(),
            number: f.number(),
            kind: f.kind(),
            cardinality: f.cardinality(),
            is_group: f.is_group(),
            is_map: f.is_map(),
            json_name: f.json_name().to_owned(),
            presence: features::has_presence(f),
            default: f.field_descriptor_proto().default_value.clone(),
            validates_utf8: features::validates_utf8(&f.options(), f.parent_file().syntax()),
            is_extension: false,
            in_map_entry: f.parent_message().is_map_entry(),
        }
    }

    fn of_extension(e: &ExtensionDescriptor) -> FieldView {
        FieldView {
            path: e.full_name().to_owned(),
            name: e.name().to_owned(),
            number: e.number(),
            kind: e.kind(),
            cardinality: e.cardinality(),
            is_group: e.is_group(),
            is_map: e.is_map(),
            json_name: e.json_name().to_owned(),
            presence: e.supports_presence(),
            default: e.field_descriptor_proto().default_value.clone(),
            validates_utf8: features::validates_utf8(&e.options(), e.parent_file().syntax()),
            is_extension: true,
            in_map_entry: false,
        }
    }

    fn repeated(&self) -> bool {
        self.cardinality == Cardinality::Repeated
    }
}

/// How a value travels on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WireClass {
    Varint,
    Fixed32,
    Fixed64,
    LengthDelimited,
    Group,
}

impl WireClass {
    fn of(f: &FieldView) -> WireClass {
        match f.kind {
            Kind::Double | Kind::Fixed64 | Kind::Sfixed64 => WireClass::Fixed64,
            Kind::Float | Kind::Fixed32 | Kind::Sfixed32 => WireClass::Fixed32,
            Kind::String | Kind::Bytes => WireClass::LengthDelimited,
            Kind::Message(_) if f.is_group => WireClass::Group,
            Kind::Message(_) => WireClass::LengthDelimited,
            _ => WireClass::Varint,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            WireClass::Varint => "varint",
            WireClass::Fixed32 => "fixed32",
            WireClass::Fixed64 => "fixed64",
            WireClass::LengthDelimited => "length-delimited",
            WireClass::Group => "group",
        }
    }
}

/// What a type change does to OLD values of the same wire class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TypeChange {
    /// Nothing (or the change is handled elsewhere: messages and enums recurse).
    Same,
    /// Same values, other JSON.
    Json,
    /// Other values, or failures.
    Wire,
}

/// How a message type prints in JSON: its well-known type's special form, or an object of
/// its fields (`google.protobuf.Empty` included: it prints as an empty object).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum JsonForm {
    Object,
    Timestamp,
    Duration,
    FieldMask,
    Any,
    Struct,
    Value,
    ListValue,
    /// `DoubleValue` ... `BytesValue`: the bare value (the `value` fields are compared as
    /// fields, so Int32Value -> Int64Value is a field_json_type_changed of its own).
    Wrapper,
}

impl JsonForm {
    fn of(m: &MessageDescriptor) -> JsonForm {
        match m.full_name() {
            "google.protobuf.Timestamp" => JsonForm::Timestamp,
            "google.protobuf.Duration" => JsonForm::Duration,
            "google.protobuf.FieldMask" => JsonForm::FieldMask,
            "google.protobuf.Any" => JsonForm::Any,
            "google.protobuf.Struct" => JsonForm::Struct,
            "google.protobuf.Value" => JsonForm::Value,
            "google.protobuf.ListValue" => JsonForm::ListValue,
            "google.protobuf.DoubleValue"
            | "google.protobuf.FloatValue"
            | "google.protobuf.Int64Value"
            | "google.protobuf.UInt64Value"
            | "google.protobuf.Int32Value"
            | "google.protobuf.UInt32Value"
            | "google.protobuf.BoolValue"
            | "google.protobuf.StringValue"
            | "google.protobuf.BytesValue" => JsonForm::Wrapper,
            _ => JsonForm::Object,
        }
    }

    fn describe(self) -> &'static str {
        match self {
            JsonForm::Object => "a JSON object of its fields",
            JsonForm::Timestamp => "an RFC 3339 string such as \"1970-01-01T00:02:30Z\"",
            JsonForm::Duration => "a string of seconds such as \"150s\"",
            JsonForm::FieldMask => "one string of comma-separated paths",
            JsonForm::Any => "an object with \"@type\" and the packed message's fields",
            JsonForm::Struct => "a JSON object of its map",
            JsonForm::Value => "any JSON value",
            JsonForm::ListValue => "a JSON array",
            JsonForm::Wrapper => "its bare value",
        }
    }

    /// The numbers of the fields whose values the special form constrains (a message that
    /// holds a value the form cannot express fails), with NEW reading them as OLD does.
    fn constrained_fields(self) -> &'static [u32] {
        match self {
            // seconds and nanos: ranges and signs.
            JsonForm::Timestamp | JsonForm::Duration => &[1, 2],
            // paths that do not round-trip to lowerCamelCase.
            JsonForm::FieldMask => &[1],
            // a type URL that does not resolve.
            JsonForm::Any => &[1],
            // number_value: NaN and infinities.
            JsonForm::Value => &[2],
            _ => &[],
        }
    }
}

/// Why some value OLD's type holds (and prints) cannot be printed in NEW's special form,
/// or None when every OLD value prints.
fn rejected_by_new(
    of: JsonForm,
    om: &MessageDescriptor,
    nf: JsonForm,
    nm: &MessageDescriptor,
) -> Option<String> {
    match (of, nf) {
        (JsonForm::Timestamp, JsonForm::Duration) => Some(
            "a Timestamp before 1970 with a fraction (seconds -1, nanos 500000000: 1969-12-31T23:59:59.500Z) is a Duration whose nanos have the wrong sign".to_owned(),
        ),
        (JsonForm::Duration, JsonForm::Timestamp) => Some(
            "a negative Duration with a fraction (nanos < 0), or one beyond 9999-12-31 (seconds > 253402300799), is no Timestamp".to_owned(),
        ),
        (JsonForm::Object, _) => {
            // A plain message holds whatever its fields can: if NEW's form reads one of
            // them as OLD wrote it, OLD can write a value the form rejects.
            let shared: Vec<String> = nf
                .constrained_fields()
                .iter()
                .filter_map(|&num| {
                    let (o, n) = (om.get_field(num)?, nm.get_field(num)?);
                    (o.kind() == n.kind() && o.cardinality() == n.cardinality())
                        .then(|| n.name().to_owned())
                })
                .collect();
            (!shared.is_empty()).then(|| {
                format!(
                    "OLD's plain message puts no bound on {}, which NEW's form requires to be expressible",
                    shared.join(" and ")
                )
            })
        }
        _ => None,
    }
}

fn kind_name(k: &Kind) -> String {
    match k {
        Kind::Message(m) => m.full_name().to_owned(),
        Kind::Enum(e) => e.full_name().to_owned(),
        other => format!("{other:?}").to_lowercase(),
    }
}

/// The integers a non-zigzag varint kind can hold, as (min, max) in i128.
fn varint_domain(k: &Kind) -> Option<(i128, i128)> {
    Some(match k {
        Kind::Int32 | Kind::Enum(_) => (i32::MIN as i128, i32::MAX as i128),
        Kind::Int64 => (i64::MIN as i128, i64::MAX as i128),
        Kind::Uint32 => (0, u32::MAX as i128),
        Kind::Uint64 => (0, u64::MAX as i128),
        Kind::Bool => (0, 1),
        _ => return None,
    })
}

fn scalar_change(o: &Kind, n: &Kind) -> TypeChange {
    use Kind::*;
    match (o, n) {
        (Message(_), Message(_)) | (Enum(_), Enum(_)) => TypeChange::Same,
        (a, b) if a == b => TypeChange::Same,
        // Zigzag is its own varint encoding: 32 -> 64 bits widens, anything else misreads.
        (Sint32, Sint64) => TypeChange::Json,
        (Sint32 | Sint64, _) | (_, Sint32 | Sint64) => TypeChange::Wire,
        // Every old value must fit the new domain; bool reads any non-zero as true.
        (a, b) if varint_domain(a).is_some() && varint_domain(b).is_some() => {
            let (omin, omax) = varint_domain(a).unwrap_or_default();
            let (nmin, nmax) = varint_domain(b).unwrap_or_default();
            if matches!(b, Bool) || omin < nmin || omax > nmax {
                TypeChange::Wire
            } else {
                TypeChange::Json
            }
        }
        (String, Bytes) => TypeChange::Json,
        // A (length-delimited) message's bytes are kept whole: the object becomes base64.
        (Message(_), Bytes) => TypeChange::Json,
        _ => TypeChange::Wire,
    }
}

impl Checker {
    fn push(&mut self, rule: Rule, group: &str, path: String, what: String) {
        self.findings.push(Finding::new(rule, group, path, what));
    }

    fn message(&mut self, o: &MessageDescriptor, n: &MessageDescriptor) {
        if !self
            .seen_messages
            .insert((o.full_name().to_owned(), n.full_name().to_owned()))
        {
            return;
        }
        let group = o.full_name().to_owned();
        let mset = |m: &MessageDescriptor| {
            m.descriptor_proto()
                .options
                .as_ref()
                .and_then(|x| x.message_set_wire_format)
                .unwrap_or(false)
        };
        if mset(o) != mset(n) {
            self.push(
                Rule::MessageSetWireFormatChanged,
                &group,
                group.clone(),
                format!(
                    "message_set_wire_format changed from {} to {}",
                    mset(o),
                    mset(n)
                ),
            );
        }
        for of in o.fields() {
            let ov = FieldView::of_field(&of);
            let by_number = n.get_field(of.number());
            let by_name = n.get_field_by_name(of.name());
            // NEW's field at this number is another OLD field, moved here from its own number.
            let moved_here = by_number.as_ref().and_then(|nf| {
                o.get_field_by_name(nf.name())
                    .filter(|x| x.number() != of.number())
            });
            if let Some(nf) = by_number.as_ref().filter(|nf| nf.name() == of.name()) {
                self.field(&group, &ov, &FieldView::of_field(nf));
            } else if let Some(moved) = by_name {
                let lands = match &by_number {
                    Some(x) => format!("now decode as NEW's field {} {}", x.number(), x.name()),
                    None => "are unknown fields under NEW".to_owned(),
                };
                self.push(
                    Rule::FieldNumberChanged,
                    &group,
                    ov.path.clone(),
                    format!(
                        "field {} changed number from {} to {}: OLD's values at {} {lands}",
                        of.name(),
                        of.number(),
                        moved.number(),
                        of.number()
                    ),
                );
            } else if let (Some(nf), Some(other)) = (&by_number, moved_here) {
                self.push(
                    Rule::FieldNumberChanged,
                    &group,
                    ov.path.clone(),
                    format!(
                        "number {} ({}) now belongs to {}, which OLD numbered {}: OLD's {} values land in {}'s column",
                        of.number(),
                        of.name(),
                        nf.name(),
                        other.number(),
                        of.name(),
                        nf.name()
                    ),
                );
            } else if let Some(nf) = by_number {
                self.field(&group, &ov, &FieldView::of_field(&nf));
            } else if let Some(ne) = n.get_extension(of.number()) {
                self.push(
                    Rule::FieldBecameExtension,
                    &group,
                    ov.path.clone(),
                    format!(
                        "field {} ({}) became extension {} (JSON key {:?} becomes {:?})",
                        ov.number,
                        ov.name,
                        ne.full_name(),
                        ov.json_name,
                        ne.json_name()
                    ),
                );
            } else {
                let reserved = n.reserved_ranges().any(|r| r.contains(&of.number()));
                self.push(
                    Rule::FieldRemoved,
                    &group,
                    ov.path.clone(),
                    format!(
                        "field number {} removed{} (JSON key {:?})",
                        of.number(),
                        if reserved { ", reserved in NEW" } else { "" },
                        ov.json_name
                    ),
                );
            }
        }
        for oe in o.extensions() {
            let ov = FieldView::of_extension(&oe);
            if let Some(nf) = n.get_field(oe.number()) {
                self.push(
                    Rule::ExtensionBecameField,
                    &group,
                    ov.path.clone(),
                    format!(
                        "extension {} ({}) became field {} (JSON key {:?} becomes {:?})",
                        ov.number,
                        ov.path,
                        nf.name(),
                        ov.json_name,
                        nf.json_name()
                    ),
                );
                // The values themselves must still read the same.
                let mut nv = FieldView::of_field(&nf);
                nv.json_name = ov.json_name.clone();
                nv.name = ov.name.clone();
                nv.is_extension = true;
                self.field(&group, &ov, &nv);
            } else if let Some(ne) = n.get_extension(oe.number()) {
                self.field(&group, &ov, &FieldView::of_extension(&ne));
            } else {
                self.push(
                    Rule::ExtensionRemoved,
                    &group,
                    ov.path.clone(),
                    format!(
                        "extension {} ({}) of {} is not in NEW",
                        ov.number,
                        ov.path,
                        o.full_name()
                    ),
                );
            }
        }
        self.oneofs(&group, o, n);
        self.reserved(
            &group,
            o.reserved_ranges().map(|r| (r.start as i64, r.end as i64)),
            &n.reserved_ranges()
                .map(|r| (r.start as i64, r.end as i64))
                .collect::<Vec<_>>(),
            &n.fields().map(|f| f.number() as i64).collect::<Vec<_>>(),
        );
        let new_ext: Vec<Range<u32>> = n.extension_ranges().collect();
        for r in o.extension_ranges() {
            if !new_ext.iter().any(|x| x.start <= r.start && x.end >= r.end) {
                self.push(
                    Rule::ExtensionRangeRemoved,
                    &group,
                    group.clone(),
                    format!(
                        "extension range {} to {} is not an extension range in NEW",
                        r.start,
                        r.end - 1
                    ),
                );
            }
        }
    }

    /// `old` ranges are half-open [start, end); NEW's numbers are checked against them.
    fn reserved(
        &mut self,
        group: &str,
        old: impl Iterator<Item = (i64, i64)>,
        new_reserved: &[(i64, i64)],
        new_numbers: &[i64],
    ) {
        for (start, end) in old {
            let describe = if end - start == 1 {
                format!("reserved number {start}")
            } else {
                format!("reserved numbers {start} to {}", end - 1)
            };
            if let Some(num) = new_numbers.iter().find(|n| (start..end).contains(n)) {
                self.push(
                    Rule::ReservedNumberReused,
                    group,
                    group.to_owned(),
                    format!("{describe}: NEW uses {num}"),
                );
            } else if !new_reserved.iter().any(|&(s, e)| s <= start && e >= end) {
                self.push(
                    Rule::ReservedNumberReleased,
                    group,
                    group.to_owned(),
                    format!("{describe} no longer reserved in NEW"),
                );
            }
        }
    }

    fn oneofs(&mut self, group: &str, o: &MessageDescriptor, n: &MessageDescriptor) {
        for noneof in n.oneofs().filter(|x| !x.is_synthetic()) {
            // Where each member came from: its OLD oneof, or itself.
            let mut sources: Vec<String> = Vec::new();
            let mut members: Vec<String> = Vec::new();
            for nf in noneof.fields() {
                let Some(of) = o.get_field(nf.number()) else {
                    continue;
                };
                let src = match of.containing_oneof().filter(|x| !x.is_synthetic()) {
                    Some(x) => format!("oneof {}", x.name()),
                    None => format!("field {}", of.name()),
                };
                if !sources.contains(&src) {
                    sources.push(src);
                }
                members.push(of.full_name().to_owned());
            }
            if sources.len() > 1 {
                self.push(
                    Rule::OneofFieldsMerged,
                    group,
                    members[0].clone(),
                    format!(
                        "oneof {} in NEW joins {}",
                        noneof.name(),
                        sources.join(", ")
                    ),
                );
                // Besides the lost values, the JSON of such a message loses keys.
                let keys: Vec<String> = noneof
                    .fields()
                    .filter_map(|nf| o.get_field(nf.number()))
                    .map(|of| format!("{:?}", of.json_name()))
                    .collect();
                self.push(
                    Rule::OneofJsonKeysExclusive,
                    group,
                    members[0].clone(),
                    format!(
                        "JSON keys {} become alternatives in oneof {}",
                        keys.join(", "),
                        noneof.name()
                    ),
                );
            } else if let [src] = sources.as_slice() {
                if src.starts_with("field ") {
                    self.push(
                        Rule::FieldMovedIntoOneof,
                        group,
                        members[0].clone(),
                        format!("moved into oneof {}", noneof.name()),
                    );
                }
            }
        }
        for of in o.fields() {
            let Some(oneof) = of.containing_oneof().filter(|x| !x.is_synthetic()) else {
                continue;
            };
            let Some(nf) = n.get_field(of.number()) else {
                continue;
            };
            if nf
                .containing_oneof()
                .filter(|x| !x.is_synthetic())
                .is_none()
            {
                self.push(
                    Rule::FieldMovedOutOfOneof,
                    group,
                    of.full_name().to_owned(),
                    format!("no longer in oneof {}", oneof.name()),
                );
            }
        }
    }

    fn field(&mut self, group: &str, o: &FieldView, n: &FieldView) {
        let path = o.path.clone();
        let (oc, nc) = (WireClass::of(o), WireClass::of(n));
        if o.is_group != n.is_group
            && matches!(o.kind, Kind::Message(_))
            && matches!(n.kind, Kind::Message(_))
        {
            self.push(
                Rule::FieldGroupChanged,
                group,
                path,
                format!(
                    "field {} changed from {} to {}",
                    o.number,
                    if o.is_group { "a group" } else { "a message" },
                    if n.is_group { "a group" } else { "a message" }
                ),
            );
            return;
        }
        if oc != nc {
            self.push(
                Rule::FieldWireTypeChanged,
                group,
                path,
                format!(
                    "field {} changed from {} ({}) to {} ({})",
                    o.number,
                    kind_name(&o.kind),
                    oc.as_str(),
                    kind_name(&n.kind),
                    nc.as_str()
                ),
            );
            return;
        }
        if o.is_map != n.is_map {
            self.push(
                Rule::FieldMapChanged,
                group,
                path.clone(),
                format!(
                    "field {} changed from {} to {}",
                    o.number,
                    if o.is_map {
                        "a map"
                    } else {
                        "a repeated message"
                    },
                    if n.is_map {
                        "a map"
                    } else {
                        "a repeated message"
                    }
                ),
            );
        }
        match scalar_change(&o.kind, &n.kind) {
            TypeChange::Wire => {
                self.push(
                    Rule::FieldTypeChanged,
                    group,
                    path,
                    format!(
                        "field {} changed from {} to {}",
                        o.number,
                        kind_name(&o.kind),
                        kind_name(&n.kind)
                    ),
                );
                return;
            }
            TypeChange::Json => self.push(
                Rule::FieldJsonTypeChanged,
                group,
                path.clone(),
                format!(
                    "field {} changed from {} to {}",
                    o.number,
                    kind_name(&o.kind),
                    kind_name(&n.kind)
                ),
            ),
            TypeChange::Same => {}
        }
        match (&o.kind, &n.kind) {
            (Kind::Message(om), Kind::Message(nm)) => {
                self.json_form(group, &path, o.number, om, nm);
                self.message(om, nm)
            }
            (Kind::Enum(oe), Kind::Enum(ne)) => self.enumeration(oe, ne),
            _ => {}
        }
        // Cardinality (a map is repeated on both sides when map-ness is kept).
        if o.repeated() && !n.repeated() {
            self.push(
                Rule::FieldRepeatedToSingular,
                group,
                path.clone(),
                format!("field {} is no longer repeated", o.number),
            );
            self.push(
                Rule::FieldJsonArrayLost,
                group,
                path.clone(),
                format!(
                    "field {} prints as a single value instead of an array",
                    o.number
                ),
            );
        } else if !o.repeated() && n.repeated() {
            self.push(
                Rule::FieldSingularToRepeated,
                group,
                path.clone(),
                format!("field {} is now repeated", o.number),
            );
        }
        if o.is_extension == n.is_extension {
            if o.json_name != n.json_name {
                let renamed = if o.name != n.name {
                    format!("renamed from {} to {}, so ", o.name, n.name)
                } else {
                    String::new()
                };
                self.push(
                    Rule::FieldJsonNameChanged,
                    group,
                    path.clone(),
                    format!(
                        "field {} {renamed}its JSON key {:?} becomes {:?}",
                        o.number, o.json_name, n.json_name
                    ),
                );
            } else if o.name != n.name {
                self.push(
                    Rule::FieldNameChanged,
                    group,
                    path.clone(),
                    format!(
                        "field {} renamed from {} to {} (JSON key {:?} kept)",
                        o.number, o.name, n.name, o.json_name
                    ),
                );
            }
        }
        if o.presence && !n.presence && !o.repeated() && !n.repeated() && !o.in_map_entry {
            // NEW omits its default (zero, empty, an enum's 0): what matters is whether OLD
            // can write that value, which a closed enum without a value 0 cannot.
            let zero = zero_of_new(&n.kind);
            match &o.kind {
                Kind::Enum(e) if is_closed(e) && e.get_value(0).is_none() => self.push(
                    Rule::FieldPresenceLostUnobservable,
                    group,
                    path.clone(),
                    format!(
                        "field {} loses explicit presence, but OLD's closed enum {} has no value 0, so no OLD message sets {zero}; unset now reads as {zero} instead of {}",
                        o.number,
                        e.full_name(),
                        o.default.clone().unwrap_or_else(|| e
                            .values()
                            .next()
                            .map(|v| v.name().to_owned())
                            .unwrap_or_default())
                    ),
                ),
                _ => self.push(
                    Rule::FieldPresenceLost,
                    group,
                    path.clone(),
                    format!(
                        "field {} loses explicit presence (a set {zero} is no longer printed)",
                        o.number
                    ),
                ),
            }
        }
        let req = |f: &FieldView| f.cardinality == Cardinality::Required;
        if req(o) && !req(n) {
            self.push(
                Rule::FieldRequiredDropped,
                group,
                path.clone(),
                format!("field {} is no longer required", o.number),
            );
        } else if !req(o) && req(n) {
            self.push(
                Rule::FieldRequiredAdded,
                group,
                path.clone(),
                format!("field {} is now required", o.number),
            );
        }
        match (&o.default, &n.default) {
            // `[default = false]`, `[default = 0]`: what proto3 reads anyway.
            (Some(d), None) if is_zero_default(&o.kind, d) => {}
            (Some(d), None) => self.push(
                Rule::FieldDefaultLost,
                group,
                path.clone(),
                format!(
                    "field {} loses its custom default {d:?} (unset now reads as {})",
                    o.number,
                    zero_of(&n.kind)
                ),
            ),
            (od, Some(nd)) if od.as_ref() != Some(nd) => self.push(
                Rule::FieldDefaultChanged,
                group,
                path.clone(),
                format!(
                    "field {} default changed from {} to {nd:?}",
                    o.number,
                    od.as_ref()
                        .map(|d| format!("{d:?}"))
                        .unwrap_or_else(|| zero_of(&o.kind).to_owned())
                ),
            ),
            _ => {}
        }
        if matches!(o.kind, Kind::String)
            && matches!(n.kind, Kind::String)
            && !o.validates_utf8
            && n.validates_utf8
        {
            self.push(
                Rule::FieldUtf8ValidationAdded,
                group,
                path,
                format!("string field {} is now validated as UTF-8", o.number),
            );
        }
    }

    /// A message field's type, followed into NEW: the JSON form of the type itself (a
    /// well-known type's special form, or a plain object) must stay, not only its fields.
    fn json_form(
        &mut self,
        group: &str,
        path: &str,
        number: u32,
        om: &MessageDescriptor,
        nm: &MessageDescriptor,
    ) {
        let (of, nf) = (JsonForm::of(om), JsonForm::of(nm));
        if of == nf {
            return;
        }
        self.push(
            Rule::FieldJsonFormChanged,
            group,
            path.to_owned(),
            format!(
                "field {number} changed from {} ({}) to {} ({})",
                om.full_name(),
                of.describe(),
                nm.full_name(),
                nf.describe()
            ),
        );
        if let Some(example) = rejected_by_new(of, om, nf, nm) {
            self.push(
                Rule::FieldJsonFormStricter,
                group,
                path.to_owned(),
                format!(
                    "field {number} changed from {} to {}: {example}",
                    om.full_name(),
                    nm.full_name()
                ),
            );
        }
    }

    fn enumeration(&mut self, o: &EnumDescriptor, n: &EnumDescriptor) {
        if !self
            .seen_enums
            .insert((o.full_name().to_owned(), n.full_name().to_owned()))
        {
            return;
        }
        let group = o.full_name().to_owned();
        let closed = is_closed;
        if closed(o) && !closed(n) {
            self.push(
                Rule::EnumClosedToOpen,
                &group,
                group.clone(),
                format!(
                    "enum {} is closed (proto2) in OLD, open in NEW",
                    o.full_name()
                ),
            );
        } else if !closed(o) && closed(n) {
            self.push(
                Rule::EnumOpenToClosed,
                &group,
                group.clone(),
                format!(
                    "enum {} is open in OLD, closed (proto2) in NEW",
                    o.full_name()
                ),
            );
        }
        let new_values = first_names(n);
        for (number, name) in first_names(o) {
            let path = format!("{}.{name}", o.full_name());
            let new_name = new_values
                .iter()
                .find(|(k, _)| *k == number)
                .map(|(_, v)| v.as_str());
            let same_name = n.get_value_by_name(&name);
            match (new_name, same_name) {
                (Some(nn), _) if nn == name => {}
                (_, Some(sn)) if sn.number() != number => self.push(
                    Rule::EnumValueRenumbered,
                    &group,
                    path,
                    format!("{name} was {number} in OLD and is {} in NEW", sn.number()),
                ),
                (Some(nn), _) => self.push(
                    Rule::EnumValueRenamed,
                    &group,
                    path,
                    format!("value {number} renamed from {name} to {nn}"),
                ),
                (None, _) => self.push(
                    Rule::EnumValueRemoved,
                    &group,
                    path,
                    format!("value {number} ({name}) is not in NEW"),
                ),
            }
        }
        // Enum reserved ranges are inclusive.
        self.reserved(
            &group,
            o.reserved_ranges()
                .map(|r| (*r.start() as i64, *r.end() as i64 + 1)),
            &n.reserved_ranges()
                .map(|r| (*r.start() as i64, *r.end() as i64 + 1))
                .collect::<Vec<_>>(),
            &n.values().map(|v| v.number() as i64).collect::<Vec<_>>(),
        );
    }
}

/// NEW's implicit-presence default, as a report names it (an enum's value 0 by name).
fn zero_of_new(k: &Kind) -> String {
    match k {
        Kind::Enum(e) => match e.get_value(0) {
            Some(v) => format!("{} (0)", v.name()),
            None => "0".to_owned(),
        },
        other => zero_of(other).to_owned(),
    }
}

/// Each number with its first declared name (what JSON prints when aliases exist), in
/// declaration order.
fn first_names(e: &EnumDescriptor) -> Vec<(i32, String)> {
    let mut out: Vec<(i32, String)> = Vec::new();
    for v in &e.enum_descriptor_proto().value {
        if !out.iter().any(|(n, _)| *n == v.number()) {
            out.push((v.number(), v.name().to_owned()));
        }
    }
    out
}

/// Whether a written default is the type's zero value anyway.
fn is_zero_default(kind: &Kind, default: &str) -> bool {
    match kind {
        Kind::String | Kind::Bytes => default.is_empty(),
        Kind::Bool => default == "false",
        Kind::Enum(e) => e.values().any(|v| v.number() == 0 && v.name() == default),
        Kind::Message(_) => false,
        _ => default
            .parse::<f64>()
            .is_ok_and(|x| x == 0.0 && x.is_sign_positive()),
    }
}

fn zero_of(k: &Kind) -> &'static str {
    match k {
        Kind::String => "\"\"",
        Kind::Bytes => "empty bytes",
        Kind::Bool => "false",
        Kind::Enum(_) => "the first enum value",
        Kind::Message(_) => "empty message",
        _ => "0",
    }
}
