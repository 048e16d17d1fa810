//! Unit tests of the direct transcoder's corners on hand-built wire bytes. The reference
//! fixtures (tests/reference_fixtures.rs) check the same corners against Python; these pin
//! them close to the code and run without the binary.

use super::*;
use proptest::prelude::*;

const P3: &str = r#"
syntax = "proto3";
package t3;
import "google/protobuf/any.proto";
import "google/protobuf/wrappers.proto";
import "google/protobuf/struct.proto";
import "google/protobuf/empty.proto";
import "google/protobuf/duration.proto";
enum E { ZERO = 0; ONE = 1; }
message Sub { int32 a = 1; repeated int32 r = 2; }
message M {
  int32 i = 1; double d = 2; repeated int32 r = 3; Sub sub = 4; map<int32, string> m = 5;
  oneof o { Sub oa = 6; string ob = 7; }
  E e = 8; repeated E re = 9; google.protobuf.Any any = 10; google.protobuf.DoubleValue dv = 11;
  google.protobuf.Value v = 12; repeated M children = 13; google.protobuf.Duration du = 14;
  bool b = 15; string s = 16; bytes by = 17; float f = 18; sint32 z = 19; uint64 u = 20;
}
"#;

const P2: &str = r#"
syntax = "proto2";
package t2;
enum C { A = 1; B = 2; }
message M {
  optional C c = 1; repeated C rc = 2; repeated C pc = 3 [packed = true]; map<string, C> mc = 4;
  optional group G = 5 { optional int32 x = 6; }
  optional int32 withdef = 7 [default = 42];
  extensions 100 to 200;
}
extend M { optional string note = 100; }
"#;

/// Compiled once: the tests run in parallel and share it.
fn transcoder() -> Transcoder {
    static T: std::sync::OnceLock<Transcoder> = std::sync::OnceLock::new();
    T.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("t3.proto"), P3).unwrap();
        std::fs::write(dir.path().join("t2.proto"), P2).unwrap();
        let pool = crate::registry::load_paths(&[
            dir.path().join("t3.proto"),
            dir.path().join("t2.proto"),
        ])
        .unwrap();
        Transcoder::new(&pool)
    })
    .clone()
}

fn json(
    t: &Transcoder,
    ty: &str,
    bytes: &[u8],
    opts: JsonOptions,
) -> std::result::Result<String, TranscodeError> {
    let id = t.message(ty).unwrap();
    let mut s = t.session(id, opts, Engine::Direct, 100);
    let mut out = Vec::new();
    s.transcode(bytes, &mut out)?;
    Ok(String::from_utf8(out).unwrap())
}

fn j(ty: &str, bytes: &[u8]) -> String {
    json(&transcoder(), ty, bytes, JsonOptions::default()).unwrap()
}

#[test]
fn last_value_wins_and_repeated_interleave_in_wire_order() {
    // i=1, r=[5], i=2, r packed [6,7], r=8
    let b = [0x08, 1, 0x18, 5, 0x08, 2, 0x1a, 2, 6, 7, 0x18, 8];
    assert_eq!(j("t3.M", &b), r#"{"i":2,"r":[5,6,7,8]}"#);
}

#[test]
fn singular_message_occurrences_merge() {
    // sub{a=1, r=[1]} then sub{r=[2]}
    let b = [0x22, 4, 0x08, 1, 0x10, 1, 0x22, 2, 0x10, 2];
    assert_eq!(j("t3.M", &b), r#"{"sub":{"a":1,"r":[1,2]}}"#);
}

#[test]
fn oneof_switch_clears_the_earlier_member() {
    // oa{a=1}, ob="x", oa{r=[3]}: only the last oa run counts.
    let b = [0x32, 2, 0x08, 1, 0x3a, 1, b'x', 0x32, 2, 0x10, 3];
    assert_eq!(j("t3.M", &b), r#"{"oa":{"r":[3]}}"#);
}

#[test]
fn duplicate_map_keys_keep_the_last_value_and_entries_with_unknowns_are_dropped() {
    // m{1:"a"}, m{1:"b"}, m{2: <value sent as varint: wire mismatch>}
    let b = [
        0x2a, 5, 0x08, 1, 0x12, 1, b'a', 0x2a, 5, 0x08, 1, 0x12, 1, b'b', 0x2a, 4, 0x08, 2, 0x10, 1,
    ];
    assert_eq!(j("t3.M", &b), r#"{"m":{"1":"b"}}"#);
}

#[test]
fn open_enums_print_unknown_numbers_closed_enums_drop_them() {
    assert_eq!(
        j("t3.M", &[0x40, 7, 0x48, 1, 0x48, 9]),
        r#"{"e":7,"re":["ONE",9]}"#
    );
    // c=A, c=99 (kept A), rc=[B, 99] -> [B], pc packed [99, A] -> [A], mc{"k": 99} dropped.
    let b = [
        0x08, 1, 0x08, 99, 0x10, 2, 0x10, 99, 0x1a, 2, 99, 1, 0x22, 5, 0x0a, 1, b'k', 0x10, 99,
    ];
    assert_eq!(j("t2.M", &b), r#"{"c":"A","rc":["B"],"pc":["A"]}"#);
}

#[test]
fn wire_type_mismatch_is_unknown() {
    // i as fixed32, d as varint, sub as varint: all unknown.
    assert_eq!(j("t3.M", &[0x0d, 1, 0, 0, 0, 0x10, 1, 0x20, 1]), "{}");
}

#[test]
fn negative_zero_is_printed_and_wrappers_print_nan_as_a_string() {
    let mut b = vec![0x11];
    b.extend_from_slice(&(-0.0f64).to_le_bytes());
    b.extend_from_slice(&[0x5a, 9, 0x09]);
    b.extend_from_slice(&f64::NAN.to_le_bytes());
    assert_eq!(j("t3.M", &b), r#"{"d":-0.0,"dv":"NaN"}"#);
}

#[test]
fn any_of_empty_prints_only_its_type_and_unresolvable_any_is_an_error() {
    let url = b"type.googleapis.com/google.protobuf.Empty";
    let mut any = vec![0x0a, url.len() as u8];
    any.extend_from_slice(url);
    let mut b = vec![0x52, any.len() as u8];
    b.extend_from_slice(&any);
    assert_eq!(
        j("t3.M", &b),
        r#"{"any":{"@type":"type.googleapis.com/google.protobuf.Empty"}}"#
    );
    assert_eq!(j("t3.M", &[0x52, 0]), r#"{"any":{}}"#);
    let e = json(
        &transcoder(),
        "t3.M",
        &[0x52, 5, 0x0a, 3, b'x', b'/', b'y'],
        JsonOptions::default(),
    )
    .unwrap_err();
    assert_eq!(e.kind, TranscodeErrorKind::AnyTypeNotFound("x/y".into()));
}

#[test]
fn value_with_infinity_and_out_of_range_duration_are_errors() {
    let mut b = vec![0x62, 9, 0x11];
    b.extend_from_slice(&f64::INFINITY.to_le_bytes());
    assert!(matches!(
        json(&transcoder(), "t3.M", &b, JsonOptions::default())
            .unwrap_err()
            .kind,
        TranscodeErrorKind::Unrepresentable(_)
    ));
    // Duration{seconds: 1, nanos: -1}: signs differ.
    let b = [
        0x72, 13, 0x08, 1, 0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
    ];
    assert!(json(&transcoder(), "t3.M", &b, JsonOptions::default()).is_err());
}

#[test]
fn emit_defaults_prints_fields_without_presence_only() {
    let opts = JsonOptions {
        emit_defaults: true,
        proto_field_names: true,
        ..JsonOptions::default()
    };
    let out = json(&transcoder(), "t3.M", &[], opts).unwrap();
    assert_eq!(
        out,
        r#"{"i":0,"d":0.0,"r":[],"m":{},"e":"ZERO","re":[],"children":[],"b":false,"s":"","by":"","f":0.0,"z":0,"u":"0"}"#
    );
    // proto2: singular fields have presence, so only repeated and maps appear.
    let out = json(&transcoder(), "t2.M", &[], opts).unwrap();
    assert_eq!(out, r#"{"rc":[],"pc":[],"mc":{}}"#);
}

#[test]
fn groups_and_extensions_print_like_json_format() {
    // G{x=3}, note="n"
    let b = [0x2b, 0x30, 3, 0x2c, 0xa2, 0x06, 1, b'n'];
    assert_eq!(j("t2.M", &b), r#"{"g":{"x":3},"[t2.note]":"n"}"#);
}

#[test]
fn recursion_limit_counts_nested_messages() {
    let mut msg = vec![];
    for _ in 0..101 {
        let mut outer = vec![0x6a, msg.len() as u8];
        if msg.len() >= 0x80 {
            outer = vec![0x6a, (msg.len() as u8) | 0x80, (msg.len() >> 7) as u8];
        }
        outer.extend_from_slice(&msg);
        msg = outer;
    }
    let e = json(&transcoder(), "t3.M", &msg, JsonOptions::default()).unwrap_err();
    assert_eq!(e.kind, TranscodeErrorKind::DepthLimit(100));
}

#[test]
fn invalid_utf8_in_a_proto3_string_is_an_error() {
    let e = json(
        &transcoder(),
        "t3.M",
        &[0x82, 0x01, 1, 0xff],
        JsonOptions::default(),
    )
    .unwrap_err();
    assert_eq!(e.offset, 3);
    assert!(matches!(e.kind, TranscodeErrorKind::InvalidUtf8 { .. }));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]
    /// Arbitrary bytes give JSON or an error, never a panic; and when they give JSON it parses.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256), p2 in any::<bool>()) {
        let t = transcoder();
        let ty = if p2 { "t2.M" } else { "t3.M" };
        if let Ok(s) = json(&t, ty, &bytes, JsonOptions { emit_defaults: true, ..JsonOptions::default() }) {
            prop_assert!(serde_json::from_str::<serde_json::Value>(&s).is_ok(), "{}", s);
        }
    }
}
