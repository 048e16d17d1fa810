//! `protolake decode` on good and malformed input: every failure is one line naming the
//! input, the message index and the byte offset, with a non-zero exit, no panic, no hang.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::support::{run, run_with, Run};

const SCHEMA: &str = r#"
syntax = "proto3";
package demo;
message Item { int64 id = 1; string name = 2; repeated int32 tags = 3; }
message Node { Node child = 1; int32 value = 2; }
"#;

struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("demo.proto"), SCHEMA).unwrap();
        Fixture { dir }
    }
    fn proto(&self) -> String {
        self.dir.path().join("demo.proto").display().to_string()
    }
    fn write(&self, name: &str, bytes: &[u8]) -> String {
        let p = self.dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p.display().to_string()
    }
    fn decode(&self, ty: &str, extra: &[&str], input: &str) -> Run {
        let proto = self.proto();
        let mut args = vec!["decode", "--descriptors", &proto, "--type", ty];
        args.extend_from_slice(extra);
        args.push(input);
        run_with(&args, None, &[], Duration::from_secs(60))
    }
}

fn varint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Item { id: 7, name: "abc", tags: [1, 2] }
fn item() -> Vec<u8> {
    vec![0x08, 7, 0x12, 3, b'a', b'b', b'c', 0x1a, 2, 1, 2]
}

fn delimited(msgs: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for m in msgs {
        varint(m.len() as u64, &mut out);
        out.extend_from_slice(m);
    }
    out
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// Asserts the error line names `input`, message `index`, and contains `cause`.
fn assert_error(r: &Run, input: &str, index: u64, cause: &str) -> u64 {
    let line = r.assert_clean_failure().to_owned();
    let prefix = format!("protolake: error: {input}: message {index} at byte ");
    assert!(
        line.starts_with(&prefix),
        "expected {prefix:?}..., got {line:?}"
    );
    assert!(line.contains(cause), "expected {cause:?} in {line:?}");
    let rest = &line[prefix.len()..];
    rest.split(':')
        .next()
        .unwrap()
        .parse()
        .expect("byte offset")
}

#[test]
fn good_varint_stream_decodes_from_a_proto_file_with_a_leading_dot_type() {
    let f = Fixture::new();
    let input = f.write("s.bin", &delimited(&[item(), vec![], item()]));
    let r = f.decode(".demo.Item", &["--framing", "varint"], &input);
    assert_eq!(r.status, Some(0), "{}", r.stderr);
    assert_eq!(
        r.lines(),
        vec![
            r#"{"id":"7","name":"abc","tags":[1,2]}"#,
            "{}",
            r#"{"id":"7","name":"abc","tags":[1,2]}"#
        ]
    );
}

#[test]
fn stdin_and_flags_work_together() {
    let f = Fixture::new();
    let proto = f.proto();
    let r = run_with(
        &[
            "decode",
            "-d",
            &proto,
            "-t",
            "demo.Item",
            "--proto-field-names",
            "--emit-defaults",
            "-",
        ],
        Some(&gzip(&[0x08, 1])),
        &[],
        Duration::from_secs(60),
    );
    assert_eq!(r.status, Some(0), "{}", r.stderr);
    assert_eq!(r.lines(), vec![r#"{"id":"1","name":"","tags":[]}"#]);
}

#[test]
fn truncated_message_names_input_index_and_offset() {
    let f = Fixture::new();
    let mut bad = item();
    bad.truncate(5); // inside the string field
    let input = f.write("trunc.bin", &bad);
    let r = f.decode("demo.Item", &[], &input);
    let offset = assert_error(&r, &input, 0, "truncated message");
    assert_eq!(offset, 2, "the string field's tag is at byte 2");
}

#[test]
fn truncated_varint_prefix_is_reported_after_the_good_messages() {
    let f = Fixture::new();
    let mut s = delimited(&[item()]);
    s.extend_from_slice(&[0x80, 0x80]);
    let input = f.write("tv.bin", &s);
    let r = f.decode("demo.Item", &["--framing", "varint"], &input);
    assert_error(&r, &input, 1, "stream ends inside a length prefix");
    assert_eq!(
        r.lines().len(),
        1,
        "the message before the failure is written"
    );
}

#[test]
fn length_past_end_is_an_error_at_the_frame() {
    let f = Fixture::new();
    let mut s = delimited(&[item(), item()]);
    s.extend_from_slice(&[50, 1, 2, 3]);
    let input = f.write("lp.bin", &s);
    let r = f.decode("demo.Item", &["--framing", "varint"], &input);
    assert_error(
        &r,
        &input,
        2,
        "frame declares 50 bytes but the stream ends after 3",
    );
    assert_eq!(r.lines().len(), 2);
}

#[test]
fn fixed32_length_of_4_gib_is_refused_without_allocating() {
    let f = Fixture::new();
    let input = f.write("big.bin", &[0xff, 0xff, 0xff, 0xff, 0]);
    let r = f.decode("demo.Item", &["--framing", "fixed32"], &input);
    assert_error(&r, &input, 0, "frame length 4294967295 exceeds the limit");
}

#[test]
fn corrupt_gzip_is_a_clear_error() {
    let f = Fixture::new();
    let mut z = gzip(&delimited(&vec![item(); 500]));
    let mid = z.len() / 2;
    z[mid] ^= 0x55;
    z[mid + 1] ^= 0xaa;
    let input = f.write("bad.gz", &z);
    let r = f.decode("demo.Item", &["--framing", "varint"], &input);
    let line = r.assert_clean_failure();
    assert!(
        line.contains(&input) && line.contains("at byte") && line.contains("gzip"),
        "{line}"
    );
}

#[test]
fn garbage_descriptor_file_names_the_file() {
    let f = Fixture::new();
    let garbage = f.write(
        "garbage.binpb",
        b"\xff\xff\xff\xffnot a descriptor set at all",
    );
    let input = f.write("x.bin", &item());
    let r = run(&[
        "decode",
        "--descriptors",
        &garbage,
        "--type",
        "demo.Item",
        &input,
    ]);
    let line = r.assert_clean_failure();
    assert!(
        line.contains("garbage.binpb") && line.contains("invalid descriptor set"),
        "{line}"
    );
}

#[test]
fn unknown_type_lists_the_closest_known_names() {
    let f = Fixture::new();
    let input = f.write("x.bin", &item());
    let r = f.decode("demo.Itme", &[], &input);
    let line = r.assert_clean_failure();
    assert_eq!(r.status, Some(2));
    assert!(
        line.contains("unknown message type \"demo.Itme\"; closest known: demo.Item"),
        "{line}"
    );
}

#[test]
fn proto_syntax_error_names_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("broken.proto");
    std::fs::write(&p, "syntax = \"proto3\";\nmessage A {\n  int32 x = ;\n}\n").unwrap();
    let r = run(&[
        "decode",
        "--descriptors",
        &p.display().to_string(),
        "--type",
        "A",
        "/dev/null",
    ]);
    let line = r.assert_clean_failure();
    assert!(line.contains("broken.proto:3:13"), "{line}");
}

fn nested(depth: usize) -> Vec<u8> {
    // Node { child: Node { child: ... { value: 1 } } }
    let mut msg = vec![0x10, 1];
    for _ in 0..depth {
        let mut outer = vec![0x0a];
        varint(msg.len() as u64, &mut outer);
        outer.extend_from_slice(&msg);
        msg = outer;
    }
    msg
}

#[test]
fn nesting_of_100_decodes_and_101_hits_the_recursion_limit() {
    let f = Fixture::new();
    let ok = f.write("n100.bin", &nested(100));
    let r = f.decode("demo.Node", &[], &ok);
    assert_eq!(r.status, Some(0), "{}", r.stderr);
    assert_eq!(r.stdout_str().matches("child").count(), 100);
    let bad = f.write("n101.bin", &nested(101));
    let r = f.decode("demo.Node", &[], &bad);
    assert_error(&r, &bad, 0, "recursion limit");
}

#[test]
fn ten_thousand_deep_nesting_is_an_error_not_a_stack_overflow() {
    let f = Fixture::new();
    let input = f.write("deep.bin", &nested(10_000));
    let r = f.decode("demo.Node", &[], &input);
    assert_error(&r, &input, 0, "recursion limit");
    // Unknown groups nested 10,000 deep are skipped with the same limit.
    // Field 3 start-group tags, then as many end-group tags.
    let mut groups = vec![0x1b; 10_000];
    groups.extend(vec![0x1c; 10_000]);
    let input = f.write("groups.bin", &groups);
    let r = f.decode("demo.Node", &[], &input);
    assert_error(&r, &input, 0, "recursion limit");
}

fn bomb(zeros: usize) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let chunk = vec![0u8; 1 << 20];
    for _ in 0..zeros >> 20 {
        e.write_all(&chunk).unwrap();
    }
    e.finish().unwrap()
}

#[test]
fn decompression_bomb_stops_at_the_cap() {
    let f = Fixture::new();
    let z = bomb(256 << 20);
    assert!(z.len() < 1 << 20, "the bomb is small: {} bytes", z.len());
    let input = f.write("bomb.gz", &z);
    // Single framing: the one message would be 256 MiB, past the 64 MiB frame limit.
    let r = f.decode("demo.Item", &[], &input);
    assert_error(&r, &input, 0, "frame length");
    // Varint framing: 256 Mi empty messages; the decompressed cap stops it.
    let r = f.decode(
        "demo.Item",
        &["--framing", "varint", "--max-decompressed", "16MiB"],
        &input,
    );
    let line = r.assert_clean_failure();
    assert!(
        line.contains("decompressed size exceeds the limit of 16777216 bytes"),
        "{line}"
    );
    // And the message cap, for streams of empty frames.
    let r = f.decode(
        "demo.Item",
        &["--framing", "varint", "--max-messages", "1000"],
        &input,
    );
    let line = r.assert_clean_failure();
    assert!(
        line.contains("message 1000 at byte") && line.contains("more than 1000 messages"),
        "{line}"
    );
}

#[test]
fn wire_type_mismatch_is_an_unknown_field_not_an_error() {
    let f = Fixture::new();
    // id (int64) sent as a length-delimited field, then name as a varint: both unknown.
    let input = f.write("wt.bin", &[0x0a, 1, 0x00, 0x10, 5, 0x12, 1, b'z']);
    let r = f.decode("demo.Item", &[], &input);
    assert_eq!(r.status, Some(0), "{}", r.stderr);
    assert_eq!(r.lines(), vec![r#"{"name":"z"}"#]);
}

#[test]
fn several_inputs_go_to_one_output_file() {
    let f = Fixture::new();
    let a = f.write("a.bin", &item());
    let b = f.write("b.bin", &gzip(&item()));
    let out: PathBuf = f.dir.path().join("out.ndjson");
    let proto = f.proto();
    let o = out.display().to_string();
    let r = run(&["decode", "-d", &proto, "-t", "demo.Item", "-o", &o, &a, &b]);
    assert_eq!(r.status, Some(0), "{}", r.stderr);
    assert_eq!(
        std::fs::read_to_string(Path::new(&out))
            .unwrap()
            .lines()
            .count(),
        2
    );
}

#[test]
fn bad_usage_exits_2() {
    let r = run(&["decode", "--type", "x.Y"]);
    assert_eq!(r.status, Some(2));
    let r = run(&["decode", "-d", "x", "-t", "x.Y", "--framing", "lines"]);
    assert_eq!(r.status, Some(2));
    assert!(r.stderr.contains("unknown framing"), "{}", r.stderr);
}
