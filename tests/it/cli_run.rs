//! `protolake run` over local trees: routing by longest prefix, one landing file per
//! object at a mirrored path, nothing landed for a failed object, a summary, exit status.

use std::io::Write;
use std::path::Path;

use crate::support::run;

const SCHEMA: &str = r#"
syntax = "proto3";
package shop;
message Order { string id = 1; int64 cents = 2; }
message Click { string page = 1; }
"#;

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn order(id: &str, cents: u8) -> Vec<u8> {
    let mut m = vec![0x0a, id.len() as u8];
    m.extend_from_slice(id.as_bytes());
    m.extend_from_slice(&[0x10, cents]);
    m
}

fn write(root: &Path, rel: &str, bytes: &[u8]) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, bytes).unwrap();
}

struct Tree {
    _dir: tempfile::TempDir,
    registry: String,
    source: String,
    landing: std::path::PathBuf,
}

fn tree() -> Tree {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "schemas/shop.proto", SCHEMA.as_bytes());
    std::fs::create_dir_all(root.join("registry")).unwrap();
    let r = run(&[
        "schema",
        "compile",
        "-I",
        &root.join("schemas").display().to_string(),
        &root.join("schemas/shop.proto").display().to_string(),
        "-o",
        &root.join("registry/shop.binpb").display().to_string(),
    ]);
    assert_eq!(r.status, Some(0), "{}", r.stderr);
    write(
        root,
        "registry/routes.json",
        br#"{"routes": [
            {"prefix": "orders/", "type": "shop.Order", "framing": "varint"},
            {"prefix": "orders/single/", "type": ".shop.Order"},
            {"prefix": "clicks/", "type": "shop.Click", "framing": "fixed32"}]}"#,
    );
    let mut stream = Vec::new();
    for (i, id) in ["a", "b", "c"].iter().enumerate() {
        let m = order(id, i as u8 + 1);
        stream.push(m.len() as u8);
        stream.extend_from_slice(&m);
    }
    write(
        root,
        "src/orders/dt=2026-11-26/part-1.pb.gz",
        &gzip(&stream),
    );
    write(root, "src/orders/single/one.pb", &order("solo", 9));
    let mut clicks = Vec::new();
    clicks.extend_from_slice(&3u32.to_be_bytes());
    clicks.extend_from_slice(&[0x0a, 1, b'/']);
    write(root, "src/clicks/c.bin", &clicks);
    write(
        root,
        "src/orders/dt=2026-11-26/broken.pb",
        &[5, 0x0a, 9, b'x'],
    );
    write(root, "src/unrouted/x.pb", b"");
    Tree {
        registry: root.join("registry").display().to_string(),
        source: root.join("src").display().to_string(),
        landing: root.join("landing"),
        _dir: dir,
    }
}

#[test]
fn run_lands_one_file_per_good_object_and_fails_the_bad_ones() {
    let t = tree();
    let landing = t.landing.display().to_string();
    let r = run(&[
        "run",
        "--registry",
        &t.registry,
        "--landing",
        &landing,
        &t.source,
    ]);
    assert_eq!(r.status, Some(1), "two objects fail: {}", r.stderr);
    let read = |rel: &str| std::fs::read_to_string(t.landing.join(rel)).unwrap();
    assert_eq!(
        read("orders/dt=2026-11-26/part-1.pb.gz.ndjson"),
        "{\"id\":\"a\",\"cents\":\"1\"}\n{\"id\":\"b\",\"cents\":\"2\"}\n{\"id\":\"c\",\"cents\":\"3\"}\n"
    );
    assert_eq!(
        read("orders/single/one.pb.ndjson"),
        "{\"id\":\"solo\",\"cents\":\"9\"}\n",
        "longest prefix wins"
    );
    assert_eq!(read("clicks/c.bin.ndjson"), "{\"page\":\"/\"}\n");
    assert!(
        !t.landing
            .join("orders/dt=2026-11-26/broken.pb.ndjson")
            .exists(),
        "nothing lands for a failed object"
    );
    assert!(!t.landing.join("unrouted").exists());
    assert!(
        r.stderr.contains("broken.pb: message 0 at byte"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("no route in routes.json matches key \"unrouted/x.pb\""),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("5 objects (3 landed, 2 failed), 5 messages"),
        "summary: {}",
        r.stderr
    );
    let names: Vec<_> = walk(&t.landing);
    assert_eq!(names.len(), 3, "no temporary files left behind: {names:?}");
}

#[test]
fn rerunning_overwrites_with_identical_bytes() {
    let t = tree();
    let landing = t.landing.display().to_string();
    let src = t.source.clone();
    run(&[
        "run",
        "--registry",
        &t.registry,
        "--landing",
        &landing,
        "-q",
        &src,
    ]);
    let first: Vec<_> = walk(&t.landing)
        .into_iter()
        .map(|p| (p.clone(), std::fs::read(&p).unwrap()))
        .collect();
    run(&[
        "run",
        "--registry",
        &t.registry,
        "--landing",
        &landing,
        "-q",
        "-j",
        "1",
        &src,
    ]);
    let second: Vec<_> = walk(&t.landing)
        .into_iter()
        .map(|p| (p.clone(), std::fs::read(&p).unwrap()))
        .collect();
    assert_eq!(first.len(), 3);
    assert_eq!(first, second);
}

#[test]
fn invalid_routes_are_refused_with_the_offending_route_named() {
    let t = tree();
    std::fs::write(
        Path::new(&t.registry).join("routes.json"),
        br#"{"routes": [{"prefix": "a/", "type": "shop.Missing"}]}"#,
    )
    .unwrap();
    let landing = t.landing.display().to_string();
    let r = run(&[
        "run",
        "--registry",
        &t.registry,
        "--landing",
        &landing,
        &t.source,
    ]);
    let line = r.assert_clean_failure();
    assert!(
        line.contains(
            "route 0 (prefix \"a/\"): message type \"shop.Missing\" is not in the registry"
        ),
        "{line}"
    );
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| e.path().to_owned())
        .collect();
    v.sort();
    v
}
