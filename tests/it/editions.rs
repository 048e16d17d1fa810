//! Editions end to end, and the schema syntax beside it that protox alone does not take:
//! a protoc-built editions set published with the real binary, routed and landed by the
//! service against moto (S3 over HTTP); `schema compile` on an editions file; protobuf's own
//! current `descriptor.proto` as a schema; `google/protobuf/*` imports resolved to the
//! built-in well-known types first. (The editions JSON itself is judged case by case against
//! the reference runtime in tests/it/reference_fixtures.rs.)

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use crate::support::aws::{bucket, clients, get};
use crate::support::events::{notification, sqs_event};
use crate::support::moto::moto;
use crate::support::{json_diff, path_str, root, run, run_with, Run};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::Value;

fn python() -> PathBuf {
    root().join(".venv/bin/python")
}

fn editions_set() -> PathBuf {
    root().join("tests/fixtures/editions.binpb")
}

/// The first editions fixture that is a varint stream of several messages the reference
/// decodes whole: (type, input path, expected JSON per message).
fn editions_stream_case() -> (String, PathBuf, Vec<Value>) {
    let manifest = crate::reference_fixtures::load();
    let case = manifest
        .cases
        .into_iter()
        .find(|c| {
            c.descriptors == ["editions.binpb"]
                && c.framing == "varint"
                && c.expected["default"].error_at.is_none()
                && c.expected["default"].messages.len() > 1
        })
        .expect("an editions varint stream fixture (make fixtures)");
    let input = crate::reference_fixtures::fixtures_dir().join(&case.input);
    let mut expected = case.expected;
    let messages = expected.remove("default").unwrap().messages;
    (case.type_name, input, messages)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_protoc_built_editions_set_publishes_routes_and_lands_through_the_service() {
    let (s3, _) = clients().await;
    let (reg, src, land) = (
        bucket(&s3, "reg").await,
        bucket(&s3, "src").await,
        bucket(&s3, "land").await,
    );
    let (ty, input, expected) = editions_stream_case();
    let dir = tempfile::tempdir().unwrap();
    let routes = dir.path().join("routes.json");
    std::fs::write(
        &routes,
        serde_json::json!({"routes": [{"prefix": "orders/", "type": ty, "framing": "varint"}]})
            .to_string(),
    )
    .unwrap();
    let env = moto().env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let registry = format!("s3://{reg}/schemas/");
    let publish = run_with(
        &[
            "schema",
            "publish",
            &path_str(&editions_set()),
            "--routes",
            &path_str(&routes),
            "--registry",
            &registry,
        ],
        None,
        &env,
        Duration::from_secs(120),
    );
    assert_eq!(publish.status, Some(0), "{}", publish.stderr);

    let body = std::fs::read(&input).unwrap();
    let key = "orders/dt=2026-12-01/part-0001.pb";
    let etag = s3
        .put_object()
        .bucket(&src)
        .key(key)
        .body(body.into())
        .send()
        .await
        .unwrap()
        .e_tag()
        .unwrap()
        .trim_matches('"')
        .to_owned();
    let svc = crate::support::aws::service(&s3, &reg, &land, "json/", Default::default()).await;
    let event = sqs_event(&[("m-1", notification(&src, key, Some(&etag)))]);
    let response = protolake::lambda::handler(LambdaEvent::new(event, Context::default()), svc)
        .await
        .unwrap();
    assert!(
        response.batch_item_failures.is_empty(),
        "{:?}",
        response.batch_item_failures
    );
    let landed = get(&s3, &land, &format!("json/{src}/{key}.ndjson"))
        .await
        .expect("landed");
    let lines: Vec<Value> = landed
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), expected.len(), "{landed}");
    for (i, (ours, reference)) in lines.iter().zip(&expected).enumerate() {
        if let Some(d) = json_diff(ours, reference, "$") {
            panic!("message {i}: {d}\n  ours: {ours}\n  ref:  {reference}");
        }
    }
}

/// `schema compile -I INCLUDE PROTO -o OUT`.
fn compile(include: &std::path::Path, proto: &std::path::Path, out: &std::path::Path) -> Run {
    run(&[
        "schema",
        "compile",
        "-I",
        &path_str(include),
        &path_str(proto),
        "-o",
        &path_str(out),
    ])
}

#[test]
fn schema_compile_of_an_editions_file_says_so_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let proto = dir.path().join("orders.proto");
    std::fs::write(
        &proto,
        "edition = \"2023\";\npackage shop;\nmessage Order { string id = 1; }\n",
    )
    .unwrap();
    let out = dir.path().join("orders.binpb");
    let r = compile(dir.path(), &proto, &out);
    let line = r.assert_clean_failure();
    assert!(line.contains("orders.proto: an editions file"), "{line}");
    assert!(
        line.contains("protoc --include_imports -o") && line.contains("buf build -o"),
        "{line}"
    );
    assert!(!out.exists(), "nothing written");
}

/// protobuf's own current `google/protobuf/descriptor.proto`, as the protoc in the test venv
/// (PyPI grpcio-tools) ships it.
fn current_descriptor_proto() -> PathBuf {
    let out = Command::new(python())
        .args([
            "-c",
            "import grpc_tools, os; print(os.path.join(os.path.dirname(grpc_tools.__file__), '_proto', 'google', 'protobuf', 'descriptor.proto'))",
        ])
        .output()
        .expect("the test venv's python (make setup)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let path = PathBuf::from(String::from_utf8(out.stdout).unwrap().trim());
    assert!(path.is_file(), "{}", path.display());
    path
}

#[test]
fn decode_with_protobufs_own_descriptor_proto_prints_what_json_format_prints() {
    let proto = current_descriptor_proto();
    // `extensions 536000000 [declaration = ...];`: one number with options, which protox
    // 0.10.0 did not parse (vendor/protox-parse carries the fix).
    let text = std::fs::read_to_string(&proto).unwrap();
    assert!(
        text.lines()
            .any(|l| l.trim_start().starts_with("extensions 536000000 [")),
        "the construct under test is still in this descriptor.proto"
    );
    for set in [
        root().join("descriptors/acme_events_v2.binpb"),
        editions_set(),
    ] {
        let r = run(&[
            "decode",
            "-d",
            &path_str(&proto),
            "-t",
            "google.protobuf.FileDescriptorSet",
            &path_str(&set),
        ]);
        assert_eq!(r.status, Some(0), "{}", r.stderr);
        let ours: Value = serde_json::from_str(r.stdout_str().trim()).unwrap();
        let reference = Command::new(python())
            .args([
                "-c",
                "import sys, json\n\
                 from google.protobuf import descriptor_pb2, json_format\n\
                 m = descriptor_pb2.FileDescriptorSet.FromString(open(sys.argv[1], 'rb').read())\n\
                 print(json.dumps(json_format.MessageToDict(m)))",
                &path_str(&set),
            ])
            .output()
            .unwrap();
        assert!(
            reference.status.success(),
            "{}",
            String::from_utf8_lossy(&reference.stderr)
        );
        let reference: Value = serde_json::from_slice(&reference.stdout).unwrap();
        if let Some(d) = json_diff(&ours, &reference, "$") {
            panic!("{}: {d}", set.display());
        }
    }
}

#[test]
fn google_protobuf_imports_resolve_to_the_built_in_types_before_the_include_path() {
    let dir = tempfile::tempdir().unwrap();
    // A copy under the include path that is not even protobuf: never read.
    let google = dir.path().join("google/protobuf");
    std::fs::create_dir_all(&google).unwrap();
    std::fs::write(
        google.join("timestamp.proto"),
        "this is not a .proto file\n",
    )
    .unwrap();
    let proto = dir.path().join("event.proto");
    std::fs::write(
        &proto,
        "syntax = \"proto3\";\npackage shop;\nimport \"google/protobuf/timestamp.proto\";\nmessage Event { google.protobuf.Timestamp at = 1; }\n",
    )
    .unwrap();
    let out = dir.path().join("event.binpb");
    let r = compile(dir.path(), &proto, &out);
    assert_eq!(r.status, Some(0), "{}", r.stderr);
    // The set works: a Timestamp prints in its RFC 3339 form.
    let r = run_with(
        &["decode", "-d", &path_str(&out), "-t", "shop.Event", "-"],
        Some(b"\x0a\x02\x08\x01"),
        &[],
        Duration::from_secs(60),
    );
    assert_eq!(r.status, Some(0), "{}", r.stderr);
    assert_eq!(r.stdout_str().trim(), r#"{"at":"1970-01-01T00:00:01Z"}"#);
}
