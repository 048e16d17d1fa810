//! `protolake compat`'s static check on two versions of a generated schema set of 500 message
//! types (plus nested types, enums, maps, oneofs and cross-references), the second version
//! with the kinds of edits a migration brings (renames, retypes, added and removed fields).
//!
//!     cargo bench --bench compat        (or `make bench-compat`)
//!
//! The target: well under a second for the whole check. Loading (protox) is measured apart.

use std::fmt::Write as _;
use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use prost_reflect::DescriptorPool;
use protolake::compat::{check, Selection};

const TYPES: usize = 500;

/// One .proto with `TYPES` top-level messages; `changed` applies migration edits to every
/// tenth type so the check has findings to build.
fn schema(changed: bool) -> String {
    let mut s = String::from("syntax = \"proto3\";\npackage bench.compat.v1;\n\n");
    s.push_str("import \"google/protobuf/timestamp.proto\";\n\n");
    for i in 0..TYPES {
        let edit = changed && i % 10 == 0;
        let next = (i + 1) % TYPES;
        let _ = writeln!(s, "message Type{i} {{");
        let _ = writeln!(
            s,
            "  enum Kind{i} {{ KIND_{i}_UNSPECIFIED = 0; KIND_{i}_A = 1; KIND_{i}_B = 2; }}"
        );
        let _ = writeln!(
            s,
            "  message Inner {{ string id = 1; int64 at = 2; repeated string tags = 3; }}"
        );
        let _ = writeln!(s, "  string id = 1;");
        if edit {
            // A rename that breaks JSON and a retype that breaks the wire.
            let _ = writeln!(s, "  string display_name = 2;");
            let _ = writeln!(s, "  sint64 count = 3;");
        } else {
            let _ = writeln!(s, "  string name = 2;");
            let _ = writeln!(s, "  int64 count = 3;");
        }
        let _ = writeln!(s, "  Kind{i} kind = 4;");
        let _ = writeln!(s, "  Inner inner = 5;");
        let _ = writeln!(s, "  repeated Inner inners = 6;");
        let _ = writeln!(s, "  map<string, int32> counters = 7;");
        let _ = writeln!(s, "  google.protobuf.Timestamp created_at = 8;");
        let _ = writeln!(s, "  Type{next} next = 9;");
        let _ = writeln!(
            s,
            "  oneof owner {{ string user_id = 10; string team_id = 11; }}"
        );
        let _ = writeln!(s, "  optional double score = 12;");
        let _ = writeln!(s, "  repeated int32 samples = 13;");
        if !edit {
            let _ = writeln!(s, "  bytes payload = 14;");
        }
        if changed {
            let _ = writeln!(s, "  string added = 15;");
        }
        let _ = writeln!(s, "  reserved 100 to 110;");
        let _ = writeln!(s, "}}\n");
    }
    s
}

fn load(dir: &Path, name: &str, source: &str) -> DescriptorPool {
    let file = dir.join(name);
    std::fs::write(&file, source).expect("write the generated schema");
    protolake::registry::load_paths(&[file]).expect("the generated schema compiles")
}

fn compat(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let old = load(dir.path(), "old.proto", &schema(false));
    let new = load(dir.path(), "new.proto", &schema(true));
    let findings = check(&old, &new, &Selection::default());
    eprintln!(
        "compat bench: {} message types in OLD (nested included), {} findings",
        old.all_messages().filter(|m| !m.is_map_entry()).count(),
        findings.len()
    );
    let mut group = c.benchmark_group("compat");
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(5));
    group.bench_function("check_500_types", |b| {
        b.iter(|| check(black_box(&old), black_box(&new), &Selection::default()))
    });
    group.bench_function("load_500_types_from_proto", |b| {
        let source = schema(true);
        b.iter(|| load(dir.path(), "again.proto", black_box(&source)))
    });
    group.finish();
}

criterion_group!(benches, compat);
criterion_main!(benches);
