//! `protolake compat`: the real binary on the example schemas and samples, exit statuses,
//! the JSON report, usage errors, and the rule table in docs/compat.md.

use crate::support::{path_str, root, run};
use serde_json::Value;

fn compat(args: &[&str]) -> (Option<i32>, Value, String) {
    let mut all = vec!["compat", "--format", "json"];
    all.extend_from_slice(args);
    let r = run(&all);
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    let v: Value = serde_json::from_slice(&r.stdout)
        .unwrap_or_else(|e| panic!("{e}: {} / {}", r.stdout_str(), r.stderr));
    (r.status, v, r.stderr)
}

fn findings(v: &Value) -> &Vec<Value> {
    v["findings"].as_array().expect("findings array")
}

fn static_findings(v: &Value) -> Vec<&Value> {
    findings(v)
        .iter()
        .filter(|f| !f["rule"].as_str().unwrap().starts_with("sample_"))
        .collect()
}

const V2: &str = "schemas/acme/events/v2";
const RENAME: &str = "schemas/migration/v2_rename.proto";
const FIXED: &str = "schemas/migration/v2_fixed.proto";

fn p(rel: &str) -> String {
    path_str(&root().join(rel))
}

#[test]
fn a_rename_is_a_json_finding_and_exit_1_and_keeping_the_name_fixes_it() {
    let (status, v, err) = compat(&["--old", &p(V2), "--new", &p(RENAME)]);
    assert_eq!(status, Some(1), "{err}");
    let f = static_findings(&v);
    assert_eq!(f.len(), 1, "{v:#}");
    assert_eq!(f[0]["level"], "json");
    assert_eq!(f[0]["rule"], "field_json_name_changed");
    assert_eq!(f[0]["path"], "acme.events.v2.PageView.url");
    assert!(f[0]["message"].as_str().unwrap().contains("\"pageUrl\""));
    assert!(v.get("samples").is_none());

    let (status, v, err) = compat(&["--old", &p(V2), "--new", &p(FIXED)]);
    assert_eq!(status, Some(0), "{err}");
    assert!(static_findings(&v).is_empty(), "{v:#}");
}

#[test]
fn a_rename_with_json_name_kept_is_still_a_json_finding_and_exit_1() {
    // The default JSON key stays "url", but --proto-field-names output and Parquet columns
    // are named by the .proto name.
    let dir = tempfile::tempdir().unwrap();
    let v2 = std::fs::read_to_string(root().join(V2_FILE)).unwrap();
    assert_eq!(v2.matches("string url = 3;").count(), 1);
    let kept = v2.replace(
        "string url = 3;",
        "string page_url = 3 [json_name = \"url\"];",
    );
    let file = dir.path().join("kept.proto");
    std::fs::write(&file, kept).unwrap();
    let (status, v, err) = compat(&["--old", &p(V2), "--new", &path_str(&file)]);
    assert_eq!(status, Some(1), "{err}");
    let f = static_findings(&v);
    assert_eq!(f.len(), 1, "{v:#}");
    assert_eq!(f[0]["level"], "json");
    assert_eq!(f[0]["rule"], "field_name_changed");
    assert_eq!(f[0]["path"], "acme.events.v2.PageView.url");
    let message = f[0]["message"].as_str().unwrap();
    assert!(message.contains("JSON key \"url\" kept"), "{message}");
    assert!(message.contains("--proto-field-names"), "{message}");
}

#[test]
fn samples_count_identical_different_failed_and_name_the_first_difference() {
    let (status, v, err) = compat(&[
        "--old",
        &p(V2),
        "--new",
        &p(RENAME),
        "--samples",
        &p("examples/events/pageviews"),
        "--framing",
        "varint",
    ]);
    assert_eq!(status, Some(1), "{err}");
    let s = &v["samples"];
    assert_eq!(s["type"], "acme.events.v2.PageView");
    assert_eq!(s["files"], 4);
    assert_eq!(
        (&s["identical"], &s["different"], &s["failed"]),
        (&Value::from(0), &Value::from(107), &Value::from(0))
    );
    let samples: Vec<&Value> = findings(&v)
        .iter()
        .filter(|f| f["rule"] == "sample_json_differs")
        .collect();
    assert_eq!(samples.len(), 107);
    for f in &samples {
        assert_eq!(f["level"], "json");
        assert!(f["path"].as_str().unwrap().contains(".pb.gz#"), "{f}");
        assert!(
            f["message"]
                .as_str()
                .unwrap()
                .starts_with("first difference at $.url: OLD has "),
            "{f}"
        );
    }

    // Under the fix every sample message is identical.
    let (status, v, err) = compat(&[
        "--old",
        &p(V2),
        "--new",
        &p(FIXED),
        "--samples",
        &p("examples/events/pageviews"),
        "--framing",
        "varint",
    ]);
    assert_eq!(status, Some(0), "{err}");
    assert_eq!(v["samples"]["identical"], 107);
    assert_eq!(v["samples"]["different"], 0);
}

#[test]
fn the_text_report_groups_by_type_and_prints_the_sample_summary() {
    let r = run(&[
        "compat",
        "--old",
        &p(V2),
        "--new",
        &p(RENAME),
        "--samples",
        &p("examples/events/pageview-singles"),
    ]);
    assert_eq!(r.status, Some(1), "{}", r.stderr);
    let out = r.stdout_str();
    assert!(out.starts_with("acme.events.v2.PageView\n"), "{out}");
    assert!(
        out.contains("  json     field_json_name_changed acme.events.v2.PageView.url\n"),
        "{out}"
    );
    assert!(
        out.contains(
            "samples (acme.events.v2.PageView, 4 file(s)): 0 identical, 4 different, 0 failed"
        ),
        "{out}"
    );
    // .pb and .pb.gz alike: decompression is sniffed as in the pipeline.
    assert!(out.contains(".pb#0: first difference at $.url"), "{out}");
    assert!(out.contains(".pb.gz#0: first difference at $.url"), "{out}");
    assert!(out.contains("result: NEW cannot replace OLD"), "{out}");
}

#[test]
fn a_proto3_port_of_the_legacy_schema_reports_what_proto2_loses() {
    let (status, v, err) = compat(&[
        "--old",
        &p("descriptors/acme_events_v1.binpb"),
        "--new",
        &p("schemas/migration/v1_proto3.proto"),
        "--type",
        "acme.events.v1.PageView",
        "--samples",
        &p("examples/legacy"),
        "--framing",
        "varint",
    ]);
    assert_eq!(status, Some(1), "{err}");
    let has = |rule: &str, path: &str, level: &str| {
        findings(&v)
            .iter()
            .any(|f| f["rule"] == rule && f["path"] == path && f["level"] == level)
    };
    let pv = "acme.events.v1.PageView";
    assert!(
        has("extension_became_field", "acme.events.v1.campaign", "json"),
        "{v:#}"
    );
    assert!(
        has("field_default_lost", &format!("{pv}.source"), "semantic"),
        "{v:#}"
    );
    assert!(
        has("field_default_lost", &format!("{pv}.locale"), "semantic"),
        "{v:#}"
    );
    assert!(
        has("enum_closed_to_open", &format!("{pv}.Source"), "semantic"),
        "{v:#}"
    );
    assert!(
        has(
            "enum_closed_to_open",
            &format!("{pv}.Device.Kind"),
            "semantic"
        ),
        "{v:#}"
    );
    assert!(
        has(
            "field_utf8_validation_added",
            &format!("{pv}.url"),
            "semantic"
        ),
        "{v:#}"
    );
    assert!(has("extension_range_removed", pv, "semantic"), "{v:#}");
    // The only json finding is the extension; presence was kept with proto3 `optional`.
    let failing: Vec<&Value> = static_findings(&v)
        .into_iter()
        .filter(|f| f["level"] != "semantic")
        .collect();
    assert_eq!(failing.len(), 1, "{failing:#?}");
    // The samples show it: messages carrying the campaign differ at its key, the rest match.
    let s = &v["samples"];
    assert_eq!(s["failed"], 0);
    assert!(s["different"].as_u64().unwrap() > 0, "{s}");
    assert!(s["identical"].as_u64().unwrap() > 0, "{s}");
    for f in findings(&v)
        .iter()
        .filter(|f| f["rule"] == "sample_json_differs")
    {
        assert!(
            f["message"]
                .as_str()
                .unwrap()
                .starts_with(r#"first difference at $["[acme.events.v1.campaign]"]"#),
            "{f}"
        );
    }
}

#[test]
fn samples_without_a_single_type_ask_for_type_with_exit_2() {
    let r = run(&[
        "compat",
        "--old",
        &p("descriptors/acme_events_v1.binpb"),
        "--new",
        &p("schemas/migration/v1_proto3.proto"),
        "--samples",
        &p("examples/legacy"),
    ]);
    assert_eq!(r.status, Some(2));
    let line = r.assert_clean_failure();
    assert!(line.contains("name one with --type"), "{line}");
    assert!(line.contains("acme.events.v1.PageView"), "{line}");
}

#[test]
fn bad_inputs_are_usage_errors_that_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = path_str(&dir.path().join("missing.binpb"));
    let r = run(&["compat", "--old", &missing, "--new", &p(V2)]);
    assert_eq!(r.status, Some(2));
    let line = r.assert_clean_failure();
    assert!(
        line.contains("--old") && line.contains("missing.binpb"),
        "{line}"
    );

    let garbage = dir.path().join("garbage.pb");
    std::fs::write(&garbage, [0x0a, 0x05, 1]).unwrap();
    let r = run(&[
        "compat",
        "--old",
        &p(V2),
        "--new",
        &p(FIXED),
        "--samples",
        &path_str(&garbage),
        "--framing",
        "varint",
    ]);
    assert_eq!(r.status, Some(2), "{}", r.stderr);
    let line = r.assert_clean_failure();
    assert!(line.contains("garbage.pb"), "{line}");

    let r = run(&[
        "compat",
        "--old",
        &p(V2),
        "--new",
        &p(FIXED),
        "-t",
        "acme.events.v2.PageVeiw",
    ]);
    assert_eq!(r.status, Some(2));
    let line = r.assert_clean_failure();
    assert!(
        line.contains("closest known: acme.events.v2.PageView"),
        "{line}"
    );
}

#[test]
fn a_type_missing_in_new_is_a_wire_finding() {
    let (status, v, err) = compat(&[
        "--old",
        &p("descriptors/acme_events_v1.binpb"),
        "--new",
        &p("descriptors/acme_events_v2.binpb"),
        "--type",
        "acme.events.v1.PageView",
    ]);
    assert_eq!(status, Some(1), "{err}");
    let f = static_findings(&v);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0]["rule"], "message_removed");
    assert_eq!(f[0]["level"], "wire");
    assert_eq!(f[0]["path"], "acme.events.v1.PageView");

    // Samples of a type NEW lacks are not decoded, and the report says why.
    let (status, v, err) = compat(&[
        "--old",
        &p("descriptors/acme_events_v1.binpb"),
        "--new",
        &p("descriptors/acme_events_v2.binpb"),
        "--type",
        "acme.events.v1.PageView",
        "--samples",
        &p("examples/legacy"),
        "--framing",
        "varint",
    ]);
    assert_eq!(status, Some(1), "{err}");
    assert_eq!(
        v["samples"]["skipped"],
        "NEW has no message type acme.events.v1.PageView"
    );
}

#[test]
fn publish_refuses_a_json_breaking_rename_found_by_compat() {
    let dir = tempfile::tempdir().unwrap();
    let registry = path_str(&dir.path().join("registry"));
    std::fs::create_dir_all(dir.path().join("registry")).unwrap();
    let compile = |src: &str, out: &str| {
        let out = dir.path().join(out);
        std::fs::create_dir_all(out.parent().unwrap()).unwrap();
        let out = path_str(&out);
        let include = root().join(src).parent().unwrap().to_owned();
        let r = run(&[
            "schema",
            "compile",
            "-I",
            &path_str(&include),
            &p(src),
            "-o",
            &out,
        ]);
        assert_eq!(r.status, Some(0), "{}", r.stderr);
        out
    };
    let v2 = compile(V2_FILE, "v2/pageview.binpb");
    let renamed = compile(RENAME, "renamed/pageview.binpb");
    let fixed = compile(FIXED, "fixed/pageview.binpb");
    let publish = |set: &str| run(&["schema", "publish", set, "--registry", &registry]);
    let r = publish(&v2);
    assert_eq!(r.status, Some(0), "{}", r.stderr);
    let r = publish(&renamed);
    assert_eq!(r.status, Some(1), "{}", r.stderr);
    assert!(r.stderr.contains("refusing to publish"), "{}", r.stderr);
    assert!(
        r.stderr
            .contains("acme.events.v2.PageView.url: field 3 renamed from url to page_url"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("[json field_json_name_changed]"),
        "{}",
        r.stderr
    );
    let r = publish(&fixed);
    assert_eq!(r.status, Some(0), "the fix publishes: {}", r.stderr);
}

/// The v2 schema as one file.
const V2_FILE: &str = "schemas/acme/events/v2/events.proto";

#[test]
fn the_docs_rule_table_lists_every_rule_with_its_level() {
    let docs = std::fs::read_to_string(root().join("docs/compat.md")).unwrap();
    for rule in protolake::compat::Rule::ALL {
        let row = format!("| `{}` | {} |", rule.name(), rule.level());
        assert!(
            docs.contains(&row),
            "docs/compat.md lacks the rule table row starting {row:?}"
        );
    }
    let rows = docs
        .lines()
        .filter(|l| {
            l.starts_with("| `")
                && (l.contains("` | wire |")
                    || l.contains("` | json |")
                    || l.contains("` | semantic |"))
        })
        .count();
    assert_eq!(
        rows,
        protolake::compat::Rule::ALL.len(),
        "docs/compat.md lists a rule the code does not have"
    );
}
