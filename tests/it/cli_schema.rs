//! `protolake schema compile`: deterministic bytes, protoc-style errors, imports included.

use crate::support::{root, run};

#[test]
fn compiling_twice_gives_identical_bytes_and_matches_the_checked_in_descriptors() {
    let dir = tempfile::tempdir().unwrap();
    let schemas = root().join("schemas");
    let mut outputs = Vec::new();
    for i in 0..2 {
        let out = dir.path().join(format!("v2-{i}.binpb"));
        let r = run(&[
            "schema",
            "compile",
            "-I",
            &schemas.display().to_string(),
            &schemas.join("acme/events/v2").display().to_string(),
            "-o",
            &out.display().to_string(),
        ]);
        assert_eq!(r.status, Some(0), "{}", r.stderr);
        outputs.push(std::fs::read(out).unwrap());
    }
    assert_eq!(outputs[0], outputs[1]);
    let checked_in = std::fs::read(root().join("descriptors/acme_events_v2.binpb")).unwrap();
    assert_eq!(
        outputs[0], checked_in,
        "descriptors/ is stale: run `make descriptors`"
    );
    // Imports are included: google/protobuf/timestamp.proto travels with the set.
    let set =
        <prost_types::FileDescriptorSet as prost::Message>::decode(outputs[0].as_slice()).unwrap();
    assert!(set
        .file
        .iter()
        .any(|f| f.name() == "google/protobuf/timestamp.proto"));
}

#[test]
fn a_syntax_error_names_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.proto"),
        "syntax = \"proto3\";\n\nmessage A {\n  string name = 1\n}\n",
    )
    .unwrap();
    let out = dir.path().join("x.binpb");
    let r = run(&[
        "schema",
        "compile",
        "-I",
        &dir.path().display().to_string(),
        &dir.path().join("bad.proto").display().to_string(),
        "-o",
        &out.display().to_string(),
    ]);
    let line = r.assert_clean_failure();
    assert!(line.contains("bad.proto:5:1: expected ';'"), "{line}");
    assert!(!out.exists());
}

#[test]
fn an_unresolved_import_is_named() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("a.proto"),
        "syntax = \"proto3\";\nimport \"missing/b.proto\";\n",
    )
    .unwrap();
    let r = run(&[
        "schema",
        "compile",
        "-I",
        &dir.path().display().to_string(),
        &dir.path().join("a.proto").display().to_string(),
        "-o",
        &dir.path().join("x.binpb").display().to_string(),
    ]);
    let line = r.assert_clean_failure();
    assert!(
        line.contains("a.proto:2:") && line.contains("missing/b.proto"),
        "{line}"
    );
}
