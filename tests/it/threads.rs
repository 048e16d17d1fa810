//! `decode --threads N` gives byte for byte the one-thread output, and the same error, on
//! streams built from every reference fixture (tests/fixtures/manifest.json): each type's
//! good messages as one long varint stream, long enough for many batches to be in flight at
//! once; every malformed message in the middle of such a stream; and the multi-frame
//! fixtures as they are. The bench corpora are covered by `corpora_*` below.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use crate::reference_fixtures::{fixtures_dir, load, Case};
use crate::support::{path_str, run_with, Run};

/// Frames in a stream of good messages: several batches of 512 per worker.
const STREAM_FRAMES: usize = 4_000;

fn varint_frame(message: &[u8], out: &mut Vec<u8>) {
    prost::encoding::encode_varint(message.len() as u64, out);
    out.extend_from_slice(message);
}

fn decode(
    case: &Case,
    flags: &[String],
    framing: &str,
    compression: &str,
    input: &Path,
    threads: u32,
) -> Run {
    let dir = fixtures_dir();
    let mut args: Vec<String> = vec!["decode".into()];
    for d in &case.descriptors {
        args.extend(["--descriptors".into(), path_str(&dir.join(d))]);
    }
    args.extend([
        "--type".into(),
        case.type_name.clone(),
        "--framing".into(),
        framing.into(),
        "--compression".into(),
        compression.into(),
        "--threads".into(),
        threads.to_string(),
    ]);
    args.extend(flags.iter().cloned());
    args.push(path_str(input));
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    run_with(&argv, None, &[], Duration::from_secs(120))
}

/// Runs `input` on one thread and on three: the one-thread run when they agree, else the
/// mismatch.
fn compare(
    case: &Case,
    flags: &[String],
    framing: &str,
    compression: &str,
    input: &Path,
) -> Result<Run, String> {
    let one = decode(case, flags, framing, compression, input, 1);
    let three = decode(case, flags, framing, compression, input, 3);
    if one.stderr.contains("panicked") || three.stderr.contains("panicked") {
        return Err(format!("panic: {}{}", one.stderr, three.stderr));
    }
    if one.status != three.status || one.stderr != three.stderr {
        return Err(format!(
            "one thread: {:?} {}; three: {:?} {}",
            one.status,
            one.stderr.trim(),
            three.status,
            three.stderr.trim()
        ));
    }
    if one.stdout != three.stdout {
        return Err(format!(
            "outputs differ ({} and {} bytes)",
            one.stdout.len(),
            three.stdout.len()
        ));
    }
    Ok(one)
}

fn fails(case: &Case) -> bool {
    case.expected.values().any(|e| e.error_at.is_some())
}

#[test]
fn every_fixture_gives_the_same_bytes_and_errors_on_several_threads() {
    let m = load();
    let tmp = tempfile::tempdir().unwrap();
    // Single-message fixtures by (descriptors, type).
    let mut groups: BTreeMap<(Vec<String>, String), Vec<&Case>> = BTreeMap::new();
    for case in &m.cases {
        if case.framing == "single" && case.compression == "none" {
            groups
                .entry((case.descriptors.clone(), case.type_name.clone()))
                .or_default()
                .push(case);
        }
    }
    let read = |c: &Case| std::fs::read(fixtures_dir().join(&c.input)).unwrap();
    let (mut failures, mut streams, mut malformed) = (Vec::new(), 0, 0);
    for (n, cases) in groups.values().enumerate() {
        let good: Vec<Vec<u8>> = cases
            .iter()
            .filter(|c| !fails(c))
            .map(|c| read(c))
            .collect();
        if good.is_empty() {
            continue;
        }
        let cycle = |count: usize, out: &mut Vec<u8>| {
            for m in good.iter().cycle().take(count) {
                varint_frame(m, out);
            }
        };
        let mut stream = Vec::new();
        cycle(STREAM_FRAMES, &mut stream);
        let path = tmp.path().join(format!("group{n}.bin"));
        std::fs::write(&path, &stream).unwrap();
        // Two flag sets: none, and all of them (the options reach every worker); each set on
        // its own is reference_fixtures' business.
        for set in ["default", "all"] {
            let flags = &m.flag_sets[set];
            streams += 1;
            if let Err(d) = compare(cases[0], flags, "varint", "none", &path) {
                failures.push(format!(
                    "{} and its type's stream [{set}]: {d}",
                    cases[0].name
                ));
            }
        }
        // Each malformed message after 1,300 good ones (batches 0-2 written, the failing one
        // in the third) and before 700 more.
        for bad in cases.iter().filter(|c| fails(c)) {
            let mut stream = Vec::new();
            cycle(1_300, &mut stream);
            varint_frame(&read(bad), &mut stream);
            cycle(700, &mut stream);
            let path = tmp.path().join(format!("{}.bin", bad.name));
            std::fs::write(&path, &stream).unwrap();
            for set in ["default", "all"] {
                malformed += 1;
                let one = match compare(bad, &m.flag_sets[set], "varint", "none", &path) {
                    Ok(one) => one,
                    Err(d) => {
                        failures.push(format!("{} inside a stream [{set}]: {d}", bad.name));
                        continue;
                    }
                };
                let should_fail = bad.expected.get(set).is_some_and(|e| e.error_at.is_some());
                if should_fail && !one.stderr.contains("message 1300 at byte") {
                    failures.push(format!(
                        "{} [{set}]: one thread does not fail at message 1300: {}",
                        bad.name,
                        one.stderr.trim()
                    ));
                }
            }
        }
    }
    // The multi-frame and compressed fixtures as they are.
    for case in m
        .cases
        .iter()
        .filter(|c| c.framing != "single" || c.compression != "none")
    {
        for (set, flags) in &m.flag_sets {
            streams += 1;
            let input = fixtures_dir().join(&case.input);
            if let Err(d) = compare(case, flags, &case.framing, &case.compression, &input) {
                failures.push(format!("{} [{set}]: {d}", case.name));
            }
        }
    }
    assert!(
        streams >= 100 && malformed >= 100,
        "too few streams: {streams}, {malformed}"
    );
    assert!(
        failures.is_empty(),
        "{} of {} runs differ between one thread and three:\n  {}",
        failures.len(),
        streams + malformed,
        failures.join("\n  ")
    );
}

#[test]
fn corpora_give_the_same_bytes_on_one_two_and_three_threads() {
    // The bench corpora (bench/run.py, --quick: ~4 MB of protobuf each, seeded), built with
    // the binary under test: analytics events and OpenTelemetry traces, gzip'd varint streams.
    let root = crate::support::root();
    let out = std::process::Command::new(root.join(".venv/bin/python"))
        .arg(root.join("bench/run.py"))
        .args(["--quick", "--corpora-only", "--protolake"])
        .arg(crate::support::bin())
        .output()
        .expect("run bench/run.py (make setup installs its packages)");
    assert!(
        out.status.success(),
        "bench/run.py --corpora-only: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let corpora: BTreeMap<String, serde_json::Value> =
        serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(corpora.len(), 2, "{corpora:?}");
    for (name, c) in &corpora {
        let run = |threads: &str| {
            run_with(
                &[
                    "decode",
                    "-d",
                    c["descriptors"].as_str().unwrap(),
                    "-t",
                    c["type"].as_str().unwrap(),
                    "--framing",
                    "varint",
                    "--threads",
                    threads,
                    c["path"].as_str().unwrap(),
                ],
                None,
                &[],
                Duration::from_secs(300),
            )
        };
        let one = run("1");
        assert_eq!(one.status, Some(0), "{name}: {}", one.stderr);
        let lines = one.stdout.iter().filter(|&&b| b == b'\n').count() as u64;
        assert_eq!(lines, c["messages"].as_u64().unwrap(), "{name}");
        for threads in ["2", "3"] {
            let many = run(threads);
            assert_eq!(
                many.status,
                Some(0),
                "{name} --threads {threads}: {}",
                many.stderr
            );
            assert!(
                many.stdout == one.stdout,
                "{name}: --threads {threads} gave other bytes"
            );
        }
    }
}
