//! Unit tests of the direct transcoder's corners on hand-built wire bytes. The reference
//! fixtures (tests/it/reference_fixtures.rs) check the same corners against Python; these pin
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

/// Differential: the direct engine against the reflect engine (prost-reflect's decoder) on
/// schema-shaped random messages of the reference-fixture schemas, every JSON option set.
/// Both fail, or both give the same JSON value.
#[cfg(feature = "second-opinion")]
mod differential {
    use super::*;
    use prost_reflect::{Kind, MessageDescriptor};

    /// splitmix64: a fixed seed per case keeps the test deterministic.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n.max(1)
        }
        fn chance(&mut self, percent: u64) -> bool {
            self.below(100) < percent
        }
    }

    fn pool() -> &'static prost_reflect::DescriptorPool {
        static P: std::sync::OnceLock<prost_reflect::DescriptorPool> = std::sync::OnceLock::new();
        P.get_or_init(|| {
            prost_reflect::DescriptorPool::decode(
                &include_bytes!("../../tests/fixtures/testschemas.binpb")[..],
            )
            .unwrap()
        })
    }

    fn varint(out: &mut Vec<u8>, v: u64) {
        prost::encoding::encode_varint(v, out);
    }

    fn tag(out: &mut Vec<u8>, number: u32, wt: u8) {
        varint(out, (u64::from(number) << 3) | u64::from(wt));
    }

    /// A number biased to the interesting ones: small, boundaries, enum-sized.
    fn number(r: &mut Rng) -> u64 {
        match r.below(6) {
            0 => r.below(4),
            1 => r.below(130),
            2 => [
                u64::MAX,
                i64::MAX as u64,
                u32::MAX as u64,
                1 << 31,
                (-1i64) as u64,
            ][r.below(5) as usize],
            3 => (r.below(8) as i64 - 2) as u64,
            _ => r.next() >> r.below(64),
        }
    }

    fn text(r: &mut Rng, out: &mut Vec<u8>) {
        const PIECES: &[&str] = &["a", "Ж", "😀", "\"", "\\", "\n", "\u{0}", "x_y", "é", " "];
        for _ in 0..r.below(6) {
            out.extend_from_slice(PIECES[r.below(PIECES.len() as u64) as usize].as_bytes());
        }
        if r.chance(3) {
            out.push(0xff); // invalid UTF-8
        }
    }

    fn scalar_value(r: &mut Rng, kind: &Kind, wt: u8, out: &mut Vec<u8>) {
        match wt {
            0 => {
                let v = match kind {
                    Kind::Enum(e) if r.chance(80) => {
                        let vals: Vec<i32> = e.values().map(|v| v.number()).collect();
                        vals[r.below(vals.len() as u64) as usize] as i64 as u64
                    }
                    _ => number(r),
                };
                varint(out, v);
            }
            1 => {
                let v = if r.chance(30) {
                    [0.0f64, -0.0, f64::NAN, f64::INFINITY, 1e-320, 0.1][r.below(6) as usize]
                        .to_bits()
                } else {
                    number(r)
                };
                out.extend_from_slice(&v.to_le_bytes());
            }
            5 => {
                let v = if r.chance(30) {
                    [0.0f32, -0.0, f32::NAN, f32::NEG_INFINITY, 1e-45, 0.1][r.below(6) as usize]
                        .to_bits()
                } else {
                    number(r) as u32
                };
                out.extend_from_slice(&v.to_le_bytes());
            }
            _ => {
                let mut payload = Vec::new();
                match kind {
                    Kind::String => text(r, &mut payload),
                    _ => {
                        for _ in 0..r.below(5) {
                            payload.push(r.next() as u8);
                        }
                    }
                }
                varint(out, payload.len() as u64);
                out.extend_from_slice(&payload);
            }
        }
    }

    fn natural_wire_type(kind: &Kind, group: bool) -> u8 {
        if group {
            return 3;
        }
        match kind {
            Kind::Double | Kind::Fixed64 | Kind::Sfixed64 => 1,
            Kind::Float | Kind::Fixed32 | Kind::Sfixed32 => 5,
            Kind::String | Kind::Bytes | Kind::Message(_) => 2,
            _ => 0,
        }
    }

    /// Special payloads for the well-known types, so they are mostly valid.
    fn wkt_body(r: &mut Rng, desc: &MessageDescriptor, depth: u32) -> Option<Vec<u8>> {
        let mut b = Vec::new();
        match desc.full_name() {
            "google.protobuf.Timestamp" | "google.protobuf.Duration" if r.chance(80) => {
                tag(&mut b, 1, 0);
                varint(&mut b, (r.below(4_000_000_000) as i64 - 100) as u64);
                if r.chance(50) {
                    tag(&mut b, 2, 0);
                    varint(&mut b, r.below(1_000_000_000));
                }
            }
            "google.protobuf.Any" if r.chance(80) => {
                const TYPES: &[&str] = &[
                    "protolake.test3.ForeignMessage",
                    "protolake.test2.TestAllTypesProto2",
                    "google.protobuf.Int32Value",
                    "google.protobuf.Empty",
                    "google.protobuf.Any",
                    "google.protobuf.Timestamp",
                    "protolake.test3.TestAllTypesProto3",
                ];
                let name = TYPES[r.below(TYPES.len() as u64) as usize];
                let inner = pool().get_message_by_name(name)?;
                let url = format!("type.googleapis.com/{name}");
                tag(&mut b, 1, 2);
                varint(&mut b, url.len() as u64);
                b.extend_from_slice(url.as_bytes());
                let value = message(r, &inner, depth + 1);
                tag(&mut b, 2, 2);
                varint(&mut b, value.len() as u64);
                b.extend_from_slice(&value);
            }
            _ => return None,
        }
        Some(b)
    }

    fn message(r: &mut Rng, desc: &MessageDescriptor, depth: u32) -> Vec<u8> {
        if let Some(b) = wkt_body(r, desc, depth) {
            return b;
        }
        let fields: Vec<_> = desc.fields().collect();
        let exts: Vec<_> = desc.extensions().collect();
        let mut out = Vec::new();
        let count = if depth > 3 { r.below(3) } else { r.below(12) };
        for _ in 0..count {
            if r.chance(5) || (fields.is_empty() && exts.is_empty()) {
                // An unknown field.
                let n = 3000 + r.below(50) as u32;
                let wt = [0u8, 1, 2, 5][r.below(4) as usize];
                tag(&mut out, n, wt);
                scalar_value(r, &Kind::Bytes, wt, &mut out);
                continue;
            }
            let (number, kind, list, group) = if !exts.is_empty() && r.chance(15) {
                let x = &exts[r.below(exts.len() as u64) as usize];
                (x.number(), x.kind(), x.is_list(), x.is_group())
            } else {
                let f = &fields[r.below(fields.len() as u64) as usize];
                (f.number(), f.kind(), f.is_list(), f.is_group())
            };
            let natural = natural_wire_type(&kind, group);
            let packable = list && natural != 2 && natural != 3;
            let wt = if r.chance(5) {
                [0u8, 1, 2, 5][r.below(4) as usize]
            } else if packable && r.chance(50) {
                2
            } else {
                natural
            };
            match (wt, &kind) {
                (3, Kind::Message(m)) => {
                    tag(&mut out, number, 3);
                    let body = if depth < 6 {
                        message(r, m, depth + 1)
                    } else {
                        Vec::new()
                    };
                    out.extend_from_slice(&body);
                    tag(&mut out, number, 4);
                }
                (3, _) => {
                    tag(&mut out, number, 3);
                    tag(&mut out, number, 4);
                }
                (2, Kind::Message(m)) => {
                    let body = if depth < 6 {
                        message(r, m, depth + 1)
                    } else {
                        Vec::new()
                    };
                    tag(&mut out, number, 2);
                    varint(&mut out, body.len() as u64);
                    out.extend_from_slice(&body);
                }
                (2, k) if packable && natural != 2 => {
                    let mut run = Vec::new();
                    for _ in 0..r.below(4) {
                        scalar_value(r, k, natural, &mut run);
                    }
                    tag(&mut out, number, 2);
                    varint(&mut out, run.len() as u64);
                    out.extend_from_slice(&run);
                }
                (wt, k) => {
                    tag(&mut out, number, wt);
                    scalar_value(r, k, wt, &mut out);
                }
            }
        }
        out
    }

    fn run(
        t: &Transcoder,
        ty: &str,
        bytes: &[u8],
        opts: JsonOptions,
        engine: Engine,
    ) -> std::result::Result<serde_json::Value, String> {
        let id = t.message(ty).unwrap();
        let mut s = t.session(id, opts, engine, 100);
        let mut out = Vec::new();
        s.transcode(bytes, &mut out).map_err(|e| e.to_string())?;
        Ok(serde_json::from_slice(&out).unwrap_or_else(|e| {
            panic!(
                "{engine:?} wrote invalid JSON ({e}): {}",
                String::from_utf8_lossy(&out)
            )
        }))
    }

    /// Both fail, or both give the same JSON value.
    fn agree(
        direct: &std::result::Result<serde_json::Value, String>,
        reflect: &std::result::Result<serde_json::Value, String>,
    ) -> bool {
        match (direct, reflect) {
            (Ok(a), Ok(b)) => a == b,
            (Err(_), Err(_)) => true,
            _ => false,
        }
    }

    #[test]
    fn direct_and_reflect_engines_agree_on_random_schema_shaped_messages() {
        let t = Transcoder::new(pool());
        let mut decoded = 0;
        for seed in 0..10_000u64 {
            let mut r = Rng(seed);
            let ty = if seed % 2 == 0 {
                "protolake.test3.TestAllTypesProto3"
            } else {
                "protolake.test2.TestAllTypesProto2"
            };
            let desc = pool().get_message_by_name(ty).unwrap();
            let bytes = message(&mut r, &desc, 0);
            let opts = JsonOptions {
                emit_defaults: seed % 3 == 0,
                proto_field_names: seed % 5 == 0,
                enum_numbers: seed % 7 == 0,
            };
            let direct = run(&t, ty, &bytes, opts, Engine::Direct);
            let reflect = run(&t, ty, &bytes, opts, Engine::Reflect);
            assert!(
                agree(&direct, &reflect),
                "seed {seed}: engines disagree on {ty} {opts:?}, bytes {}\n{}",
                hex(&bytes),
                match (&direct, &reflect) {
                    (Ok(a), Ok(b)) => format!(
                        "first difference (direct as OLD, reflect as NEW): {:?}",
                        crate::compat::samples::first_difference(a, b, "$".into())
                    ),
                    _ => format!("direct: {direct:?}\nreflect: {reflect:?}"),
                }
            );
            decoded += usize::from(direct.is_ok());
        }
        // The generator must mostly produce messages that decode, or this proves little.
        assert!(
            decoded > 5000,
            "only {decoded} of 10,000 random messages decoded"
        );
    }

    /// The Parquet path reads the same bytes with the same plans: a message fails in both or
    /// lands in both, and the rows that landed make a valid batch and a readable file.
    #[test]
    fn json_and_parquet_agree_on_random_schema_shaped_messages() {
        let t = Transcoder::new(pool());
        let mut landed = 0;
        for (ty, parity) in [
            ("protolake.test3.TestAllTypesProto3", 0),
            ("protolake.test2.TestAllTypesProto2", 1),
        ] {
            let id = t.message(ty).unwrap();
            let schema = std::sync::Arc::new(RowSchema::compile(&t, id, false).unwrap());
            let mut rows = RowBuilder::new(&t, schema.clone(), 100);
            let desc = pool().get_message_by_name(ty).unwrap();
            for seed in 0..2_000u64 {
                let mut r = Rng(seed * 2 + parity);
                let bytes = message(&mut r, &desc, 0);
                let json = run(&t, ty, &bytes, JsonOptions::default(), Engine::Direct);
                // A failed append leaves part of a row behind: try each on its own builder.
                let row = RowBuilder::new(&t, schema.clone(), 100).append(&bytes);
                assert_eq!(
                    json.is_ok(),
                    row.is_ok(),
                    "seed {seed}: {ty}: JSON {json:?}, Parquet {row:?}, bytes {}",
                    hex(&bytes)
                );
                if row.is_ok() {
                    rows.append(&bytes).unwrap();
                    landed += 1;
                }
            }
            let batch = rows.finish_batch().unwrap();
            let mut file = Vec::new();
            let mut w =
                parquet::arrow::ArrowWriter::try_new(&mut file, schema.schema(), None).unwrap();
            w.write(&batch).unwrap();
            w.close().unwrap();
            assert!(file.len() > 1000);
        }
        assert!(
            landed > 2000,
            "only {landed} of 4,000 random messages landed"
        );
    }

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }
}
