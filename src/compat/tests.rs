//! One test per rule, each with a minimal OLD/NEW pair compiled with protox, proving its
//! level; where the claim is about bytes, OLD writes them and NEW's transcoder shows it.

use prost::Message as _;
use prost_reflect::{DescriptorPool, DynamicMessage, Value};

use super::samples::{check_samples, first_difference, Side};
use super::{check, Finding, Level, Rule, Selection};
use crate::framing::Framing;
use crate::limits::Limits;
use crate::transcode::{Engine, JsonOptions, Transcoder};

fn pool(source: &str) -> DescriptorPool {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("t.proto");
    std::fs::write(&file, source).unwrap();
    let set = crate::registry::compile_protos(&[file], &[dir.path().to_owned()]).unwrap();
    DescriptorPool::from_file_descriptor_set(set).unwrap()
}

fn p2(body: &str) -> String {
    format!("syntax = \"proto2\";\npackage t;\n{body}\n")
}

fn p3(body: &str) -> String {
    format!("syntax = \"proto3\";\npackage t;\n{body}\n")
}

fn findings(old: &str, new: &str) -> Vec<Finding> {
    check(&pool(old), &pool(new), &Selection::default())
}

/// Asserts a finding of `rule` at `path` with `level` (the level is spelled out in each test,
/// so a rule's level cannot change without a test saying so).
fn assert_finds(old: &str, new: &str, rule: Rule, path: &str, level: Level) -> Vec<Finding> {
    let all = findings(old, new);
    let hit = all
        .iter()
        .find(|f| f.rule == rule && f.path == path)
        .unwrap_or_else(|| panic!("no {} at {path}; got {all:#?}", rule.name()));
    assert_eq!(hit.level, level, "{}", rule.name());
    assert_eq!(rule.level(), level);
    assert!(
        hit.message.contains(rule.advice()),
        "the message carries the advice"
    );
    all
}

/// As [`assert_finds`], and nothing else is found.
fn assert_only(old: &str, new: &str, rule: Rule, path: &str, level: Level) {
    let all = assert_finds(old, new, rule, path, level);
    assert_eq!(all.len(), 1, "{all:#?}");
}

fn assert_none(old: &str, new: &str) {
    let all = findings(old, new);
    assert!(all.is_empty(), "{all:#?}");
}

/// A message of type `name` built from (field, value) pairs in `pool`.
fn msg(pool: &DescriptorPool, name: &str, fields: &[(&str, Value)]) -> Value {
    let desc = pool.get_message_by_name(name).unwrap();
    let mut m = DynamicMessage::new(desc);
    for (name, v) in fields {
        m.set_field_by_name(name, v.clone());
    }
    Value::Message(m)
}

/// `t.M` built from (field, value) pairs in the OLD pool, encoded.
fn encode(pool: &DescriptorPool, fields: &[(&str, Value)]) -> Vec<u8> {
    match msg(pool, "t.M", fields) {
        Value::Message(m) => m.encode_to_vec(),
        _ => unreachable!(),
    }
}

/// The JSON the pipeline's transcoder prints for `bytes` as `t.M` (default options).
fn json(pool: &DescriptorPool, bytes: &[u8]) -> Result<String, String> {
    json_with(pool, bytes, JsonOptions::default())
}

fn json_with(pool: &DescriptorPool, bytes: &[u8], options: JsonOptions) -> Result<String, String> {
    let t = Transcoder::new(pool);
    let id = t.message("t.M").unwrap();
    let mut s = t.session(id, options, Engine::Direct, 100);
    let mut out = Vec::new();
    s.transcode(bytes, &mut out).map_err(|e| e.to_string())?;
    Ok(String::from_utf8(out).unwrap())
}

fn rules_of(all: &[Finding]) -> Vec<(Rule, &str)> {
    all.iter().map(|f| (f.rule, f.path.as_str())).collect()
}

/// Writes with OLD, returns (JSON under OLD, JSON under NEW).
fn both(old: &str, new: &str, fields: &[(&str, Value)]) -> (String, String) {
    let (o, n) = (pool(old), pool(new));
    let bytes = encode(&o, fields);
    (json(&o, &bytes).unwrap(), json(&n, &bytes).unwrap())
}

// ---- types ----

#[test]
fn message_removed_is_wire() {
    assert_only(
        &p3("message M {} message Gone {}"),
        &p3("message M {}"),
        Rule::MessageRemoved,
        "t.Gone",
        Level::Wire,
    );
}

#[test]
fn a_renamed_type_is_removed_under_its_old_name_and_the_finding_names_the_new_one() {
    let all = assert_finds(
        &p3("message M { B b = 1; } message B { string s = 1; }"),
        &p3("message M { Renamed b = 1; } message Renamed { string s = 1; }"),
        Rule::MessageRemoved,
        "t.B",
        Level::Wire,
    );
    assert_eq!(all.len(), 1, "{all:#?}");
    assert!(
        all[0].message.contains("now reference t.Renamed"),
        "{all:#?}"
    );
}

#[test]
fn message_set_wire_format_changed_is_wire() {
    assert_finds(
        &p2("message M { option message_set_wire_format = true; extensions 4 to max; }"),
        &p2("message M { extensions 4 to max; }"),
        Rule::MessageSetWireFormatChanged,
        "t.M",
        Level::Wire,
    );
}

// ---- fields ----

#[test]
fn field_removed_is_json_and_its_data_vanishes() {
    let old = p3("message M { int32 a = 1; string b = 2; }");
    let new = p3("message M { int32 a = 1; }");
    assert_only(&old, &new, Rule::FieldRemoved, "t.M.b", Level::Json);
    let (o, n) = both(&old, &new, &[("b", Value::String("x".into()))]);
    assert_eq!((o.as_str(), n.as_str()), (r#"{"b":"x"}"#, "{}"));
    // Reserving the number is still a json finding (the data still vanishes), and says so.
    let all = findings(
        &old,
        &p3("message M { int32 a = 1; reserved 2; reserved \"b\"; }"),
    );
    assert_eq!(all.len(), 1);
    assert!(all[0].message.contains("reserved in NEW"), "{all:#?}");
}

#[test]
fn field_number_changed_is_wire_its_old_bytes_become_unknown_fields() {
    let old = p3("message M { string a = 1; string b = 2; }");
    let new = p3("message M { string b = 2; string a = 3; }");
    let all = findings(&old, &new);
    assert_only(&old, &new, Rule::FieldNumberChanged, "t.M.a", Level::Wire);
    assert!(
        all[0].message.contains("changed number from 1 to 3"),
        "names both numbers: {all:#?}"
    );
    assert!(all[0].message.contains("unknown fields"), "{all:#?}");
    let (o, n) = both(
        &old,
        &new,
        &[
            ("a", Value::String("x".into())),
            ("b", Value::String("y".into())),
        ],
    );
    assert_eq!(
        (o.as_str(), n.as_str()),
        (r#"{"a":"x","b":"y"}"#, r#"{"b":"y"}"#)
    );
}

#[test]
fn two_fields_that_swap_numbers_are_wire_their_values_land_in_each_others_columns() {
    let old = p3("message M { string a = 1; string b = 2; }");
    let new = p3("message M { string b = 1; string a = 2; }");
    let all = assert_finds(&old, &new, Rule::FieldNumberChanged, "t.M.a", Level::Wire);
    assert_eq!(
        rules_of(&all),
        vec![
            (Rule::FieldNumberChanged, "t.M.a"),
            (Rule::FieldNumberChanged, "t.M.b")
        ],
        "no json_name finding for what is a swap: {all:#?}"
    );
    assert!(all[0].message.contains("from 1 to 2"), "{all:#?}");
    assert!(all[0].message.contains("NEW's field 1 b"), "{all:#?}");
    assert!(all[1].message.contains("from 2 to 1"), "{all:#?}");
    let (o, n) = both(
        &old,
        &new,
        &[
            ("a", Value::String("x".into())),
            ("b", Value::String("y".into())),
        ],
    );
    assert_eq!(
        (o.as_str(), n.as_str()),
        (r#"{"a":"x","b":"y"}"#, r#"{"b":"x","a":"y"}"#)
    );
}

#[test]
fn a_number_taken_over_by_a_moved_field_is_wire_for_its_old_owner_too() {
    // `b` moves onto `a`'s number; `a` is gone.
    let old = p3("message M { string a = 1; string b = 2; }");
    let new = p3("message M { string b = 1; }");
    let all = findings(&old, &new);
    assert_eq!(
        rules_of(&all),
        vec![
            (Rule::FieldNumberChanged, "t.M.a"),
            (Rule::FieldNumberChanged, "t.M.b")
        ],
        "{all:#?}"
    );
    assert!(all.iter().all(|f| f.level == Level::Wire));
    assert!(
        all[0]
            .message
            .contains("now belongs to b, which OLD numbered 2"),
        "{all:#?}"
    );
    let (o, n) = both(
        &old,
        &new,
        &[
            ("a", Value::String("x".into())),
            ("b", Value::String("y".into())),
        ],
    );
    assert_eq!(
        (o.as_str(), n.as_str()),
        (r#"{"a":"x","b":"y"}"#, r#"{"b":"x"}"#)
    );
}

#[test]
fn field_wire_type_changed_is_wire() {
    let old = p3("message M { int32 a = 1; }");
    let new = p3("message M { fixed32 a = 1; }");
    assert_only(&old, &new, Rule::FieldWireTypeChanged, "t.M.a", Level::Wire);
    let (o, n) = both(&old, &new, &[("a", Value::I32(7))]);
    assert_eq!((o.as_str(), n.as_str()), (r#"{"a":7}"#, "{}"));
}

#[test]
fn field_type_changed_int32_to_sint32_is_wire_and_misreads_the_bytes() {
    let old = p3("message M { int32 a = 1; }");
    let new = p3("message M { sint32 a = 1; }");
    assert_only(&old, &new, Rule::FieldTypeChanged, "t.M.a", Level::Wire);
    let (o, n) = both(&old, &new, &[("a", Value::I32(150))]);
    assert_eq!((o.as_str(), n.as_str()), (r#"{"a":150}"#, r#"{"a":75}"#));
}

#[test]
fn field_type_changed_covers_narrowing_and_reinterpretation() {
    for (a, b) in [
        ("int32", "uint32"),
        ("int64", "int32"),
        ("uint64", "int64"),
        ("int32", "bool"),
        ("float", "fixed32"),
        ("fixed64", "sfixed64"),
        ("double", "fixed64"),
        ("sint64", "sint32"),
        ("bytes", "string"),
        ("string", "N"),
    ] {
        let old = p3(&format!("message N {{}} message M {{ {a} a = 1; }}"));
        let new = p3(&format!("message N {{}} message M {{ {b} a = 1; }}"));
        let all = findings(&old, &new);
        assert!(
            all.iter()
                .any(|f| f.rule == Rule::FieldTypeChanged && f.level == Level::Wire),
            "{a} -> {b}: {all:#?}"
        );
    }
    let (o, n) = both(
        &p3("message M { int32 a = 1; }"),
        &p3("message M { uint32 a = 1; }"),
        &[("a", Value::I32(-1))],
    );
    assert_eq!(
        (o.as_str(), n.as_str()),
        (r#"{"a":-1}"#, r#"{"a":4294967295}"#)
    );
}

#[test]
fn a_message_changed_to_bytes_keeps_every_byte_json_not_wire() {
    let old = p3("message N { string s = 1; } message M { N n = 1; }");
    let new = p3("message N { string s = 1; } message M { bytes n = 1; }");
    assert_finds(&old, &new, Rule::FieldJsonTypeChanged, "t.M.n", Level::Json);
    // An implicit-presence bytes field cannot show a set empty message.
    let all = assert_finds(&old, &new, Rule::FieldPresenceLost, "t.M.n", Level::Json);
    assert_eq!(all.len(), 2, "{all:#?}");
    assert!(all.iter().all(|f| f.level == Level::Json), "{all:#?}");
    let o = pool(&old);
    let n = msg(&o, "t.N", &[("s", Value::String("x".into()))]);
    let bytes = encode(&o, &[("n", n)]);
    // The object becomes the base64 of its bytes (0a 01 78).
    assert_eq!(json(&o, &bytes).unwrap(), r#"{"n":{"s":"x"}}"#);
    assert_eq!(json(&pool(&new), &bytes).unwrap(), r#"{"n":"CgF4"}"#);
    let empty = encode(&o, &[("n", msg(&o, "t.N", &[]))]);
    assert_eq!(json(&o, &empty).unwrap(), r#"{"n":{}}"#);
    assert_eq!(json(&pool(&new), &empty).unwrap(), "{}");
    // The other way, arbitrary bytes need not parse as N: wire.
    assert_finds(&new, &old, Rule::FieldTypeChanged, "t.M.n", Level::Wire);
    assert!(json(&pool(&old), &[0x0a, 0x01, 0xff]).is_err());
}

#[test]
fn field_json_type_changed_int32_to_int64_is_json_a_quoted_string() {
    let old = p3("message M { int32 a = 1; }");
    let new = p3("message M { int64 a = 1; }");
    assert_only(&old, &new, Rule::FieldJsonTypeChanged, "t.M.a", Level::Json);
    let (o, n) = both(&old, &new, &[("a", Value::I32(-5))]);
    assert_eq!((o.as_str(), n.as_str()), (r#"{"a":-5}"#, r#"{"a":"-5"}"#));
    for (a, b) in [
        ("string", "bytes"),
        ("uint32", "uint64"),
        ("bool", "int32"),
        ("sint32", "sint64"),
        ("E", "int32"),
    ] {
        let decl = "enum E { E0 = 0; }";
        let all = findings(
            &p3(&format!("{decl} message M {{ {a} a = 1; }}")),
            &p3(&format!("{decl} message M {{ {b} a = 1; }}")),
        );
        assert!(
            all.iter().any(|f| f.rule == Rule::FieldJsonTypeChanged),
            "{a} -> {b}: {all:#?}"
        );
        assert!(
            !all.iter().any(|f| f.level == Level::Wire),
            "{a} -> {b}: {all:#?}"
        );
    }
}

const WKT: &str = "import \"google/protobuf/timestamp.proto\";
import \"google/protobuf/duration.proto\";
import \"google/protobuf/wrappers.proto\";
message Ts { int64 seconds = 1; int32 nanos = 2; }";

fn with_wkt(field: &str) -> String {
    p3(&format!("{WKT}\nmessage M {{ {field} t = 1; }}"))
}

/// `t.M` whose `t` is a `type_name` message of (seconds, nanos), encoded with `pool`.
fn seconds_nanos(pool: &DescriptorPool, type_name: &str, seconds: i64, nanos: i32) -> Vec<u8> {
    let t = msg(
        pool,
        type_name,
        &[
            ("seconds", Value::I64(seconds)),
            ("nanos", Value::I32(nanos)),
        ],
    );
    encode(pool, &[("t", t)])
}

#[test]
fn timestamp_to_duration_is_json_another_form_and_wire_where_duration_cannot_print_it() {
    let old = with_wkt("google.protobuf.Timestamp");
    let new = with_wkt("google.protobuf.Duration");
    assert_finds(&old, &new, Rule::FieldJsonFormChanged, "t.M.t", Level::Json);
    let all = assert_finds(
        &old,
        &new,
        Rule::FieldJsonFormStricter,
        "t.M.t",
        Level::Wire,
    );
    assert_eq!(all.len(), 2, "{all:#?}");
    let (o, n) = (pool(&old), pool(&new));
    // Same wire shape, same values, another JSON form.
    let bytes = seconds_nanos(&o, "google.protobuf.Timestamp", 150, 0);
    assert_eq!(json(&o, &bytes).unwrap(), r#"{"t":"1970-01-01T00:02:30Z"}"#);
    assert_eq!(json(&n, &bytes).unwrap(), r#"{"t":"150s"}"#);
    // A valid Timestamp before 1970 with a fraction is a Duration whose signs disagree.
    let bytes = seconds_nanos(&o, "google.protobuf.Timestamp", -1, 500_000_000);
    assert_eq!(
        json(&o, &bytes).unwrap(),
        r#"{"t":"1969-12-31T23:59:59.500Z"}"#
    );
    assert!(json(&n, &bytes).is_err());
    // Duration -> Timestamp: a negative fraction is no Timestamp.
    assert_finds(
        &new,
        &old,
        Rule::FieldJsonFormStricter,
        "t.M.t",
        Level::Wire,
    );
    let bytes = seconds_nanos(&n, "google.protobuf.Duration", -1, -500_000_000);
    assert_eq!(json(&n, &bytes).unwrap(), r#"{"t":"-1.500s"}"#);
    assert!(json(&o, &bytes).is_err());
}

#[test]
fn a_plain_seconds_nanos_message_to_timestamp_is_json_and_wire_for_out_of_range_values() {
    let old = with_wkt("Ts");
    let new = with_wkt("google.protobuf.Timestamp");
    assert_finds(&old, &new, Rule::FieldJsonFormChanged, "t.M.t", Level::Json);
    let all = assert_finds(
        &old,
        &new,
        Rule::FieldJsonFormStricter,
        "t.M.t",
        Level::Wire,
    );
    assert_eq!(all.len(), 2, "{all:#?}");
    let (o, n) = (pool(&old), pool(&new));
    let bytes = seconds_nanos(&o, "t.Ts", 150, 0);
    assert_eq!(json(&o, &bytes).unwrap(), r#"{"t":{"seconds":"150"}}"#);
    assert_eq!(json(&n, &bytes).unwrap(), r#"{"t":"1970-01-01T00:02:30Z"}"#);
    let bytes = seconds_nanos(&o, "t.Ts", 1, -1);
    assert_eq!(
        json(&o, &bytes).unwrap(),
        r#"{"t":{"seconds":"1","nanos":-1}}"#
    );
    assert!(json(&n, &bytes).is_err());
}

#[test]
fn a_well_known_type_to_a_plain_message_is_json_only_every_value_prints() {
    let old = with_wkt("google.protobuf.Timestamp");
    let new = with_wkt("Ts");
    assert_only(&old, &new, Rule::FieldJsonFormChanged, "t.M.t", Level::Json);
    let (o, n) = (pool(&old), pool(&new));
    let bytes = seconds_nanos(&o, "google.protobuf.Timestamp", 150, 0);
    assert_eq!(json(&o, &bytes).unwrap(), r#"{"t":"1970-01-01T00:02:30Z"}"#);
    assert_eq!(json(&n, &bytes).unwrap(), r#"{"t":{"seconds":"150"}}"#);
    // A wrapper stays a wrapper: only its value field's type is compared.
    let all = findings(
        &with_wkt("google.protobuf.Int32Value"),
        &with_wkt("google.protobuf.Int64Value"),
    );
    assert_eq!(
        rules_of(&all),
        vec![(
            Rule::FieldJsonTypeChanged,
            "google.protobuf.Int32Value.value"
        )],
        "{all:#?}"
    );
}

#[test]
fn field_group_changed_is_wire() {
    assert_finds(
        &p2("message M { optional group G = 1 { optional int32 x = 1; } }"),
        &p2("message M { message G { optional int32 x = 1; } optional G g = 1; }"),
        Rule::FieldGroupChanged,
        "t.M.g",
        Level::Wire,
    );
}

#[test]
fn field_repeated_to_singular_is_wire_only_the_last_survives_and_json_no_array() {
    let old = p3("message M { repeated int32 a = 1 [packed = false]; }");
    let new = p3("message M { int32 a = 1; }");
    assert_finds(
        &old,
        &new,
        Rule::FieldRepeatedToSingular,
        "t.M.a",
        Level::Wire,
    );
    let all = assert_finds(&old, &new, Rule::FieldJsonArrayLost, "t.M.a", Level::Json);
    assert_eq!(all.len(), 2, "{all:#?}");
    // Values lost (wire) ...
    let (o, n) = both(
        &old,
        &new,
        &[("a", Value::List(vec![Value::I32(1), Value::I32(2)]))],
    );
    assert_eq!((o.as_str(), n.as_str()), (r#"{"a":[1,2]}"#, r#"{"a":2}"#));
    // ... and where none is lost, the JSON shape still changes (json).
    let (o, n) = both(&old, &new, &[("a", Value::List(vec![Value::I32(1)]))]);
    assert_eq!((o.as_str(), n.as_str()), (r#"{"a":[1]}"#, r#"{"a":1}"#));
}

#[test]
fn field_singular_to_repeated_is_json() {
    let old = p3("message M { string a = 1; }");
    let new = p3("message M { repeated string a = 1; }");
    assert_only(
        &old,
        &new,
        Rule::FieldSingularToRepeated,
        "t.M.a",
        Level::Json,
    );
    let (o, n) = both(&old, &new, &[("a", Value::String("x".into()))]);
    assert_eq!((o.as_str(), n.as_str()), (r#"{"a":"x"}"#, r#"{"a":["x"]}"#));
}

#[test]
fn field_map_changed_is_json() {
    let old = p3("message M { map<string, string> a = 1; }");
    let new = p3("message M { message E { string key = 1; string value = 2; } repeated E a = 1; }");
    assert_finds(&old, &new, Rule::FieldMapChanged, "t.M.a", Level::Json);
    assert!(!findings(&old, &new).iter().any(|f| f.level == Level::Wire));
}

#[test]
fn field_json_name_changed_is_json_for_a_rename() {
    let old = p3("message M { string user_id = 1; }");
    let new = p3("message M { string account_id = 1; }");
    assert_only(
        &old,
        &new,
        Rule::FieldJsonNameChanged,
        "t.M.user_id",
        Level::Json,
    );
    let (o, n) = both(&old, &new, &[("user_id", Value::String("u".into()))]);
    assert_eq!(
        (o.as_str(), n.as_str()),
        (r#"{"userId":"u"}"#, r#"{"accountId":"u"}"#)
    );
    // An explicit json_name change with the same field name, too.
    assert_only(
        &old,
        &p3("message M { string user_id = 1 [json_name = \"uid\"]; }"),
        Rule::FieldJsonNameChanged,
        "t.M.user_id",
        Level::Json,
    );
}

#[test]
fn field_name_changed_with_json_name_kept_is_json_the_proto_field_names_output_changes() {
    let old = p3("message M { string user_id = 1; }");
    let new = p3("message M { string account_id = 1 [json_name = \"userId\"]; }");
    assert_only(
        &old,
        &new,
        Rule::FieldNameChanged,
        "t.M.user_id",
        Level::Json,
    );
    let all = findings(&old, &new);
    assert!(
        all[0].message.contains("default JSON key is unchanged"),
        "{all:#?}"
    );
    // The default JSON is the same ...
    let (o, n) = both(&old, &new, &[("user_id", Value::String("u".into()))]);
    assert_eq!(o, n);
    // ... but --proto-field-names (and Parquet's columns, named by .proto names) change.
    let (op, np) = (pool(&old), pool(&new));
    let bytes = encode(&op, &[("user_id", Value::String("u".into()))]);
    let names = JsonOptions {
        proto_field_names: true,
        ..JsonOptions::default()
    };
    assert_eq!(json_with(&op, &bytes, names).unwrap(), r#"{"user_id":"u"}"#);
    assert_eq!(
        json_with(&np, &bytes, names).unwrap(),
        r#"{"account_id":"u"}"#
    );
}

#[test]
fn field_presence_lost_is_json_an_explicit_zero_vanishes() {
    let old = p3("message M { optional int32 a = 1; }");
    let new = p3("message M { int32 a = 1; }");
    assert_only(&old, &new, Rule::FieldPresenceLost, "t.M.a", Level::Json);
    let (o, n) = both(&old, &new, &[("a", Value::I32(0))]);
    assert_eq!((o.as_str(), n.as_str()), (r#"{"a":0}"#, "{}"));
}

#[test]
fn field_presence_lost_on_a_closed_enum_with_a_zero_value_is_json() {
    let old = p2("enum E { Z = 0; A = 1; } message M { optional E e = 1; }");
    let new = p3("enum E { Z = 0; A = 1; } message M { E e = 1; }");
    let all = assert_finds(&old, &new, Rule::FieldPresenceLost, "t.M.e", Level::Json);
    assert!(
        all.iter().any(|f| f.message.contains("a set Z (0)")),
        "{all:#?}"
    );
    let (o, n) = both(&old, &new, &[("e", Value::EnumNumber(0))]);
    assert_eq!((o.as_str(), n.as_str()), (r#"{"e":"Z"}"#, "{}"));
}

#[test]
fn field_presence_lost_where_old_cannot_write_zero_is_semantic() {
    // A proto2 enum with no value 0: no OLD message holds 0, the value NEW leaves out.
    let old = p2("enum E { A = 1; B = 2; } message M { optional E e = 1; }");
    let new = p3("enum E { E_UNSPECIFIED = 0; A = 1; B = 2; } message M { E e = 1; }");
    let all = assert_finds(
        &old,
        &new,
        Rule::FieldPresenceLostUnobservable,
        "t.M.e",
        Level::Semantic,
    );
    assert!(
        all.iter().all(|f| f.level == Level::Semantic),
        "no json finding: {all:#?}"
    );
    assert!(
        all.iter().any(|f| f
            .message
            .contains("reads as E_UNSPECIFIED (0) instead of A")),
        "{all:#?}"
    );
    // Every message OLD can write prints the same under NEW: unset, A, B ...
    for fields in [
        vec![],
        vec![("e", Value::EnumNumber(1))],
        vec![("e", Value::EnumNumber(2))],
    ] {
        let (o, n) = both(&old, &new, &fields);
        assert_eq!(o, n, "{fields:?}");
    }
    // ... and even a 0 on the wire (another producer's) is not a value under OLD.
    let bytes = [0x08, 0x00];
    assert_eq!(json(&pool(&old), &bytes).unwrap(), "{}");
    assert_eq!(json(&pool(&new), &bytes).unwrap(), "{}");
    // Where OLD can write every value of the type, losing presence is json.
    assert_finds(
        &p2("message M { optional bool b = 1; }"),
        &p3("message M { bool b = 1; }"),
        Rule::FieldPresenceLost,
        "t.M.b",
        Level::Json,
    );
}

#[test]
fn field_required_dropped_is_semantic() {
    assert_only(
        &p2("message M { required int32 a = 1; }"),
        &p2("message M { optional int32 a = 1; }"),
        Rule::FieldRequiredDropped,
        "t.M.a",
        Level::Semantic,
    );
}

#[test]
fn field_required_added_is_semantic() {
    assert_only(
        &p2("message M { optional int32 a = 1; }"),
        &p2("message M { required int32 a = 1; }"),
        Rule::FieldRequiredAdded,
        "t.M.a",
        Level::Semantic,
    );
}

#[test]
fn field_default_lost_is_semantic_in_a_proto3_port() {
    let old = p2("message M { optional int32 a = 1 [default = 5]; }");
    let new = p3("message M { optional int32 a = 1; }");
    assert_only(&old, &new, Rule::FieldDefaultLost, "t.M.a", Level::Semantic);
    // Unset prints nothing under both: the JSON is the same.
    let (o, n) = both(&old, &new, &[]);
    assert_eq!((o.as_str(), n.as_str()), ("{}", "{}"));
}

#[test]
fn a_default_that_is_the_zero_value_anyway_is_not_lost() {
    let all = findings(
        &p2("enum E { E0 = 0; E1 = 1; } message M { optional bool a = 1 [default = false]; optional int32 b = 2 [default = 0]; optional E e = 3 [default = E0]; }"),
        &p3("enum E { E0 = 0; E1 = 1; } message M { optional bool a = 1; optional int32 b = 2; optional E e = 3; }"),
    );
    // Only the enum's closedness changes.
    let rules: Vec<Rule> = all.iter().map(|f| f.rule).collect();
    assert_eq!(rules, vec![Rule::EnumClosedToOpen], "{all:#?}");
}

#[test]
fn field_default_changed_is_semantic() {
    assert_only(
        &p2("message M { optional int32 a = 1 [default = 5]; }"),
        &p2("message M { optional int32 a = 1 [default = 6]; }"),
        Rule::FieldDefaultChanged,
        "t.M.a",
        Level::Semantic,
    );
}

#[test]
fn field_moved_into_oneof_alone_is_semantic() {
    assert_only(
        &p3("message M { string a = 1; string b = 2; }"),
        &p3("message M { oneof x { string a = 1; } string b = 2; }"),
        Rule::FieldMovedIntoOneof,
        "t.M.a",
        Level::Semantic,
    );
}

#[test]
fn oneof_fields_merged_is_wire_only_the_last_survives_and_json_a_key_vanishes() {
    let old = p3("message M { string a = 1; string b = 2; }");
    let new = p3("message M { oneof x { string a = 1; string b = 2; } }");
    assert_finds(&old, &new, Rule::OneofFieldsMerged, "t.M.a", Level::Wire);
    let all = assert_finds(
        &old,
        &new,
        Rule::OneofJsonKeysExclusive,
        "t.M.a",
        Level::Json,
    );
    assert_eq!(all.len(), 2, "{all:#?}");
    assert!(
        all.iter().any(|f| f.message.contains(r#""a", "b""#)),
        "{all:#?}"
    );
    let (o, n) = both(
        &old,
        &new,
        &[
            ("a", Value::String("1".into())),
            ("b", Value::String("2".into())),
        ],
    );
    assert_eq!(
        (o.as_str(), n.as_str()),
        (r#"{"a":"1","b":"2"}"#, r#"{"b":"2"}"#)
    );
}

#[test]
fn field_moved_out_of_oneof_is_semantic() {
    assert_only(
        &p2("message M { oneof x { string a = 1; } }"),
        &p2("message M { optional string a = 1; }"),
        Rule::FieldMovedOutOfOneof,
        "t.M.a",
        Level::Semantic,
    );
}

#[test]
fn field_utf8_validation_added_is_semantic() {
    let old = p2("message M { optional string a = 1; }");
    let new = p3("message M { optional string a = 1; }");
    assert_only(
        &old,
        &new,
        Rule::FieldUtf8ValidationAdded,
        "t.M.a",
        Level::Semantic,
    );
    // Semantic for the pipeline: JSON cannot carry invalid UTF-8, so such a message fails
    // under OLD already; other proto3 readers of NEW now reject what proto2 ones accepted.
    let bytes = [0x0a, 0x01, 0xff];
    assert!(json(&pool(&old), &bytes).is_err());
    assert!(json(&pool(&new), &bytes).is_err());
}

// ---- extensions ----

const WITH_EXTENSION: &str = "message M { optional int32 a = 1; extensions 100 to 199; }
extend M { optional string tag = 100; }";

#[test]
fn extension_became_field_is_json_the_key_changes() {
    let old = p2(WITH_EXTENSION);
    let new =
        p2("message M { optional int32 a = 1; optional string tag = 100; extensions 101 to 199; }");
    assert_finds(&old, &new, Rule::ExtensionBecameField, "t.tag", Level::Json);
    let (o, n) = (pool(&old), pool(&new));
    let bytes = [0xa2, 0x06, 0x01, b'x']; // field 100, length-delimited, "x"
    assert_eq!(json(&o, &bytes).unwrap(), r#"{"[t.tag]":"x"}"#);
    assert_eq!(json(&n, &bytes).unwrap(), r#"{"tag":"x"}"#);
}

#[test]
fn field_became_extension_is_json() {
    assert_finds(
        &p2(
            "message M { optional int32 a = 1; optional string tag = 100; extensions 101 to 199; }",
        ),
        &p2(WITH_EXTENSION),
        Rule::FieldBecameExtension,
        "t.M.tag",
        Level::Json,
    );
}

#[test]
fn extension_removed_is_json() {
    assert_only(
        &p2(WITH_EXTENSION),
        &p2("message M { optional int32 a = 1; extensions 100 to 199; }"),
        Rule::ExtensionRemoved,
        "t.tag",
        Level::Json,
    );
}

#[test]
fn extension_range_removed_is_semantic() {
    assert_only(
        &p2("message M { optional int32 a = 1; extensions 100 to 199; }"),
        &p2("message M { optional int32 a = 1; }"),
        Rule::ExtensionRangeRemoved,
        "t.M",
        Level::Semantic,
    );
}

// ---- enums ----

#[test]
fn enum_value_removed_is_json() {
    let old = p3("enum E { E0 = 0; E1 = 1; } message M { E e = 1; }");
    let new = p3("enum E { E0 = 0; } message M { E e = 1; }");
    assert_only(&old, &new, Rule::EnumValueRemoved, "t.E.E1", Level::Json);
    let (o, n) = both(&old, &new, &[("e", Value::EnumNumber(1))]);
    assert_eq!((o.as_str(), n.as_str()), (r#"{"e":"E1"}"#, r#"{"e":1}"#));
}

#[test]
fn enum_value_renamed_is_json() {
    let old = p3("enum E { E0 = 0; OK = 1; } message M { E e = 1; }");
    let new = p3("enum E { E0 = 0; STATUS_OK = 1; } message M { E e = 1; }");
    assert_only(&old, &new, Rule::EnumValueRenamed, "t.E.OK", Level::Json);
    let (o, n) = both(&old, &new, &[("e", Value::EnumNumber(1))]);
    assert_eq!(
        (o.as_str(), n.as_str()),
        (r#"{"e":"OK"}"#, r#"{"e":"STATUS_OK"}"#)
    );
}

#[test]
fn an_alias_added_after_the_old_name_is_safe_but_before_it_is_a_rename() {
    let old = p3("enum E { E0 = 0; OK = 1; } message M { E e = 1; }");
    assert_none(
        &old,
        &p3("enum E { option allow_alias = true; E0 = 0; OK = 1; STATUS_OK = 1; } message M { E e = 1; }"),
    );
    assert_only(
        &old,
        &p3("enum E { option allow_alias = true; E0 = 0; STATUS_OK = 1; OK = 1; } message M { E e = 1; }"),
        Rule::EnumValueRenamed,
        "t.E.OK",
        Level::Json,
    );
}

#[test]
fn enum_value_renumbered_is_wire() {
    let old = p3("enum E { E0 = 0; A = 1; B = 2; } message M { E e = 1; }");
    let new = p3("enum E { E0 = 0; B = 1; A = 2; } message M { E e = 1; }");
    let all = assert_finds(&old, &new, Rule::EnumValueRenumbered, "t.E.A", Level::Wire);
    assert!(all
        .iter()
        .any(|f| f.path == "t.E.B" && f.rule == Rule::EnumValueRenumbered));
    let (o, n) = both(&old, &new, &[("e", Value::EnumNumber(1))]);
    assert_eq!((o.as_str(), n.as_str()), (r#"{"e":"A"}"#, r#"{"e":"B"}"#));
}

#[test]
fn enum_closed_to_open_is_semantic() {
    let old = p2("enum E { E0 = 0; E1 = 1; } message M { optional E e = 1; }");
    let new = p3("enum E { E0 = 0; E1 = 1; } message M { optional E e = 1; }");
    assert_only(&old, &new, Rule::EnumClosedToOpen, "t.E", Level::Semantic);
    let (o, n) = both(&old, &new, &[("e", Value::EnumNumber(1))]);
    assert_eq!(o, n);
}

#[test]
fn enum_open_to_closed_is_json_unknown_numbers_vanish() {
    let old = p3("enum E { E0 = 0; E1 = 1; } message M { optional E e = 1; }");
    let new = p2("enum E { E0 = 0; E1 = 1; } message M { optional E e = 1; }");
    assert_finds(&old, &new, Rule::EnumOpenToClosed, "t.E", Level::Json);
    let (o, n) = (pool(&old), pool(&new));
    let bytes = [0x08, 0x07]; // e = 7, a number E does not declare
    assert_eq!(json(&o, &bytes).unwrap(), r#"{"e":7}"#);
    assert_eq!(json(&n, &bytes).unwrap(), "{}");
}

// ---- reserved ----

#[test]
fn reserved_number_reused_is_wire() {
    assert_only(
        &p3("message M { int32 a = 1; reserved 2; }"),
        &p3("message M { int32 a = 1; string b = 2; }"),
        Rule::ReservedNumberReused,
        "t.M",
        Level::Wire,
    );
    assert_only(
        &p3("enum E { E0 = 0; reserved 1; } message M { E e = 1; }"),
        &p3("enum E { E0 = 0; E1 = 1; } message M { E e = 1; }"),
        Rule::ReservedNumberReused,
        "t.E",
        Level::Wire,
    );
}

#[test]
fn reserved_number_released_is_semantic() {
    assert_only(
        &p3("message M { int32 a = 1; reserved 2 to 5; }"),
        &p3("message M { int32 a = 1; }"),
        Rule::ReservedNumberReleased,
        "t.M",
        Level::Semantic,
    );
}

// ---- safe changes ----

#[test]
fn safe_changes_find_nothing() {
    let base = p3("// A comment.
message M {
  int32 a = 1;
  repeated int32 r = 2;
  reserved 3, 10 to 20;
  reserved \"old\";
  message N { string s = 1; }
  N n = 4;
}
message Other { string x = 1; }");
    // Field added, packed -> unpacked, reserved kept, comments changed, fields and
    // messages reordered.
    let changed = p3("message Other { string x = 1; }
// Another comment, elsewhere.
message M {
  message N { string s = 1; /* new comment */ }
  N n = 4;
  repeated int32 r = 2 [packed = false];
  int32 a = 1;
  reserved 10 to 20, 3;
  reserved \"old\";
  string added = 5;
}");
    assert_none(&base, &changed);
}

#[test]
fn packed_and_unpacked_bytes_read_the_same() {
    let packed = p3("message M { repeated int32 r = 1; }");
    let unpacked = p3("message M { repeated int32 r = 1 [packed = false]; }");
    assert_none(&packed, &unpacked);
    let v = [("r", Value::List(vec![Value::I32(1), Value::I32(300)]))];
    let (o, n) = both(&packed, &unpacked, &v);
    assert_eq!(o, n);
    let (o, n) = both(&unpacked, &packed, &v);
    assert_eq!(o, n);
}

#[test]
fn a_change_deep_inside_a_referenced_message_is_found_at_its_full_path() {
    let old = p3("message M { B b = 1; } message B { C c = 1; } message C { int32 x = 1; }");
    // The referenced types are renamed (structure kept) and C.x changes type.
    let new = p3("message M { B2 b = 1; } message B2 { C2 c = 1; } message C2 { sint32 x = 1; }");
    let all = check(
        &pool(&old),
        &pool(&new),
        &Selection {
            types: vec!["t.M".into()],
        },
    );
    assert_eq!(all.len(), 1, "{all:#?}");
    assert_eq!(all[0].rule, Rule::FieldTypeChanged);
    assert_eq!(all[0].path, "t.C.x");
    assert_eq!(all[0].group, "t.C");
}

#[test]
fn every_rule_has_a_distinct_name_and_advice() {
    let mut names: Vec<&str> = Rule::ALL.iter().map(|r| r.name()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), Rule::ALL.len());
    assert!(Rule::ALL.iter().all(|r| !r.advice().is_empty()));
}

// ---- samples ----

fn sample_sides(old: &str, new: &str) -> (Transcoder, Transcoder) {
    (Transcoder::new(&pool(old)), Transcoder::new(&pool(new)))
}

fn varint_framed(messages: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for m in messages {
        prost::encoding::encode_varint(m.len() as u64, &mut out);
        out.extend_from_slice(m);
    }
    out
}

#[test]
fn sample_json_differs_is_json_with_the_path_of_the_first_difference() {
    let old = p3("message M { U user = 1; int32 n = 2; } message U { string id = 1; }");
    let new = p3("message M { U user = 1; int32 n = 2; } message U { string uid = 1; }");
    let (ot, nt) = sample_sides(&old, &new);
    let o = pool(&old);
    let u = o.get_message_by_name("t.U").unwrap();
    let mut user = DynamicMessage::new(u);
    user.set_field_by_name("id", Value::String("u1".into()));
    let differs = encode(&o, &[("user", Value::Message(user)), ("n", Value::I32(1))]);
    let same = encode(&o, &[("n", Value::I32(2))]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("a.pb"),
        varint_framed(&[same.clone(), differs]),
    )
    .unwrap();
    let (summary, found) = check_samples(
        dir.path(),
        Framing::Varint,
        &Limits::default(),
        Side {
            transcoder: &ot,
            message: ot.message("t.M").unwrap(),
        },
        Side {
            transcoder: &nt,
            message: nt.message("t.M").unwrap(),
        },
    )
    .unwrap();
    assert_eq!(
        (
            summary.files,
            summary.identical,
            summary.different,
            summary.failed
        ),
        (1, 1, 1, 0)
    );
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].rule, Rule::SampleJsonDiffers);
    assert_eq!(found[0].level, Level::Json);
    assert!(found[0].path.ends_with("a.pb#1"), "{}", found[0].path);
    assert!(
        found[0]
            .message
            .starts_with("first difference at $.user.id:"),
        "{}",
        found[0].message
    );
}

#[test]
fn sample_decode_fails_is_wire_when_only_one_side_decodes() {
    // bytes -> string: OLD prints base64, NEW rejects the invalid UTF-8.
    let old = p3("message M { bytes a = 1; }");
    let new = p3("message M { string a = 1; }");
    let (ot, nt) = sample_sides(&old, &new);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("one.pb");
    std::fs::write(&file, [0x0a, 0x01, 0xff]).unwrap();
    let (summary, found) = check_samples(
        &file,
        Framing::Single,
        &Limits::default(),
        Side {
            transcoder: &ot,
            message: ot.message("t.M").unwrap(),
        },
        Side {
            transcoder: &nt,
            message: nt.message("t.M").unwrap(),
        },
    )
    .unwrap();
    assert_eq!(
        (summary.identical, summary.different, summary.failed),
        (0, 0, 1)
    );
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].rule, Rule::SampleDecodeFails);
    assert_eq!(found[0].level, Level::Wire);
    assert!(found[0]
        .message
        .contains("decodes under OLD, fails under NEW"));
}

#[test]
fn first_difference_paths_quote_keys_that_are_not_identifiers() {
    let a: serde_json::Value = serde_json::json!({"a": [1, {"[t.ext]": 1}], "b": 1});
    let b: serde_json::Value = serde_json::json!({"a": [1, {"[t.ext]": 2}], "b": 1});
    let (path, _) = first_difference(&a, &b, "$".into()).unwrap();
    assert_eq!(path, r#"$.a[1]["[t.ext]"]"#);
    let c: serde_json::Value = serde_json::json!({"a": [1, {"[t.ext]": 1}], "b": 1, "z": 0});
    let (path, what) = first_difference(&a, &c, "$".into()).unwrap();
    assert_eq!(path, "$.z");
    assert!(what.starts_with("OLD has nothing"));
    assert!(first_difference(&a, &a, "$".into()).is_none());
}

#[test]
fn a_proto2_map_ported_to_proto3_finds_nothing_map_entries_always_print() {
    assert_none(
        &p2("message M { map<int32, int32> m = 1; }"),
        &p3("message M { map<int32, int32> m = 1; }"),
    );
}

// Editions: compat compares resolved features, so a proto3 -> editions move that keeps
// behaviour finds nothing, and one that changes it finds what the proto2/proto3 change
// would. The editions sets are built by protoc from tests/schemas_compat_editions.

/// The proto3 schema those editions files translate.
fn p3_base(b: &str, e: &str) -> String {
    p3(&format!(
        "enum E {{ E0 = 0; E1 = 1; }}
         message Inner {{ int32 x = 1; }}
         message M {{ {a} int32 a = 1; optional int32 b = 2; {e} E e = 3; repeated int32 r = 4;
           string s = 5; Inner m = 6; map<string, int32> counts = 7; }}",
        a = b
    ))
}

fn editions(name: &str) -> DescriptorPool {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/compat_editions")
        .join(format!("{name}.binpb"));
    crate::registry::load_paths(&[path]).unwrap()
}

fn levels(all: &[Finding]) -> Vec<(Rule, &str, Level)> {
    all.iter()
        .map(|f| (f.rule, f.path.as_str(), f.level))
        .collect()
}

#[test]
fn a_faithful_editions_translation_of_proto3_finds_nothing_either_way() {
    let p3 = pool(&p3_base("", ""));
    let ed = editions("faithful");
    let there = check(&p3, &ed, &Selection::default());
    assert!(there.is_empty(), "{there:#?}");
    let back = check(&ed, &p3, &Selection::default());
    assert!(back.is_empty(), "{back:#?}");
}

#[test]
fn explicit_presence_in_editions_finds_what_proto3_optional_finds() {
    let base = pool(&p3_base("", ""));
    // Gaining presence: what proto3 finds (nothing today), editions finds.
    let ours = check(&base, &editions("presence"), &Selection::default());
    let proto3 = check(
        &base,
        &pool(&p3_base("optional", "")),
        &Selection::default(),
    );
    assert_eq!(levels(&ours), levels(&proto3));
    // Losing it: a finding, the same.
    let ours = check(&editions("presence"), &base, &Selection::default());
    let proto3 = check(
        &pool(&p3_base("optional", "")),
        &base,
        &Selection::default(),
    );
    assert!(!proto3.is_empty(), "the proto3 change is a finding");
    assert_eq!(levels(&ours), levels(&proto3));
}

#[test]
fn a_closed_editions_enum_is_open_to_closed() {
    let old = pool(&p3_base("", "optional"));
    let all = check(&old, &editions("closed"), &Selection::default());
    assert_eq!(
        levels(&all),
        vec![(Rule::EnumOpenToClosed, "t.E", Level::Json)],
        "{all:#?}"
    );
}

#[test]
fn a_delimited_editions_field_is_a_group() {
    let all = check(
        &pool(&p3_base("", "")),
        &editions("delimited"),
        &Selection::default(),
    );
    assert!(
        all.iter()
            .any(|f| f.rule == Rule::FieldGroupChanged && f.path == "t.M.m"),
        "{all:#?}"
    );
}

#[test]
fn utf8_validation_follows_the_editions_feature() {
    let p3 = pool(&p3_base("", ""));
    let none = editions("utf8_none");
    let added = check(&none, &p3, &Selection::default());
    assert_eq!(
        levels(&added),
        vec![(
            Rule::FieldUtf8ValidationAdded,
            "t.M.s",
            Rule::FieldUtf8ValidationAdded.level()
        )],
        "{added:#?}"
    );
    let dropped = check(&p3, &none, &Selection::default());
    assert!(dropped.is_empty(), "{dropped:#?}");
}
