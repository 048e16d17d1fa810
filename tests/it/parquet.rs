//! Parquet landings judged by the readers users run: every reference fixture read back with
//! pyarrow and DuckDB (tests/parquet_check.py), `run --format parquet` over the examples,
//! and the service landing Parquet against moto (S3 over HTTP) with NDJSON's guarantees.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use crate::support::aws::{bucket, clients, example, publish_examples};
use crate::support::events::{notification, sqs_event};
use crate::support::{path_str, root, run};
use lambda_runtime::{Context, LambdaEvent};
use protolake::output::parquet::Parquet;
use protolake::output::{FormatName, OutputOptions};
use protolake::service::Service;

fn python() -> std::path::PathBuf {
    root().join(".venv/bin/python")
}

/// Runs SQL in DuckDB (PyPI `duckdb`, in the test venv); the rows as JSON.
fn duckdb(sql: &str) -> serde_json::Value {
    let out = Command::new(python())
        .args([
            "-c",
            "import duckdb, json, sys; print(json.dumps(duckdb.sql(sys.argv[1]).fetchall(), default=str))",
            sql,
        ])
        .output()
        .expect("the test venv's python (make setup)");
    assert!(
        out.status.success(),
        "duckdb: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn every_reference_fixture_reads_back_in_pyarrow_and_duckdb_as_the_mapping_table_says() {
    let last = crate::support::python_check("parquet_check.py");
    // Every case ran, under both enum forms (a check that ran nothing must not pass).
    let passed: u64 = last
        .split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(passed >= 1000, "{last}");
}

fn copy_tree(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.unwrap();
        let rel = entry.path().strip_prefix(from).unwrap();
        let dest = to.join(rel);
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&dest).unwrap();
        } else {
            std::fs::copy(entry.path(), &dest).unwrap();
        }
    }
}

#[test]
fn run_format_parquet_over_the_examples_lands_files_duckdb_counts_and_groups() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("examples");
    copy_tree(&root().join("examples"), &source);
    let corrupt = "events/pageviews/dt=2026-11-26/hour=12/corrupt.pb.gz";
    std::fs::create_dir_all(source.join(corrupt).parent().unwrap()).unwrap();
    std::fs::write(source.join(corrupt), b"\x1f\x8b\x08\x00garbage").unwrap();
    let landing = dir.path().join("landing");
    let r = run(&[
        "run",
        "--registry",
        &path_str(&root().join("descriptors")),
        "--landing",
        &path_str(&landing),
        "--format",
        "parquet",
        &path_str(&source),
    ]);
    assert_eq!(
        r.status,
        Some(1),
        "the corrupt object fails the run: {}",
        r.stderr
    );
    assert!(r.stderr.contains("corrupt.pb.gz"), "{}", r.stderr);
    let landed: Vec<String> = walkdir::WalkDir::new(&landing)
        .into_iter()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            e.path()
                .strip_prefix(&landing)
                .unwrap()
                .display()
                .to_string()
        })
        .collect();
    let objects = walkdir::WalkDir::new(root().join("examples"))
        .into_iter()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_file())
        .count();
    assert!(objects > 5);
    assert_eq!(
        landed.len(),
        objects,
        "one file per good object: {landed:?}"
    );
    assert!(landed.iter().all(|k| k.ends_with(".parquet")), "{landed:?}");
    assert!(
        !landed.iter().any(|k| k.contains("corrupt")),
        "a corrupt object lands nothing: {landed:?}"
    );

    // The same rows NDJSON gives, counted and grouped by an enum column in DuckDB.
    let glob = path_str(&landing.join("events/pageviews/**/*.parquet"));
    let ndjson = run(&[
        "decode",
        "-d",
        &path_str(&root().join("descriptors")),
        "-t",
        "acme.events.v2.PageView",
        "--framing",
        "varint",
        &path_str(&root().join("examples/events/pageviews/dt=2026-11-26/hour=09/part-0000.pb.gz")),
        &path_str(&root().join("examples/events/pageviews/dt=2026-11-26/hour=09/part-0001.pb.gz")),
        &path_str(&root().join("examples/events/pageviews/dt=2026-11-26/hour=10/part-0000.pb.gz")),
        &path_str(&root().join("examples/events/pageviews/dt=2026-11-26/hour=11/part-0000.pb.gz")),
    ]);
    assert_eq!(ndjson.status, Some(0), "{}", ndjson.stderr);
    let lines = ndjson.lines();
    let count = duckdb(&format!("SELECT count(*) FROM read_parquet('{glob}')"));
    assert_eq!(count[0][0], lines.len());
    let mut by_source = std::collections::BTreeMap::<String, u64>::new();
    for l in &lines {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        let s = v["source"]
            .as_str()
            .unwrap_or("SOURCE_UNSPECIFIED")
            .to_owned();
        *by_source.entry(s).or_default() += 1;
    }
    assert!(by_source.len() > 1, "the examples hold several sources");
    let grouped = duckdb(&format!(
        "SELECT source, count(*) FROM read_parquet('{glob}') GROUP BY source ORDER BY source"
    ));
    let grouped: std::collections::BTreeMap<String, u64> = grouped
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r[0].as_str().unwrap().to_owned(), r[1].as_u64().unwrap()))
        .collect();
    assert_eq!(grouped, by_source);
    // Hive-style partitions from the landing keys, as an engine reads them.
    let hours = duckdb(&format!(
        "SELECT DISTINCT hour FROM read_parquet('{glob}', hive_partitioning = true) ORDER BY hour"
    ));
    assert_eq!(hours, serde_json::json!([["09"], ["10"], ["11"]]));

    // A rerun lands the same bytes (no timestamps or random ids in the file).
    let key = "events/pageviews/dt=2026-11-26/hour=09/part-0001.pb.gz.parquet";
    let first = std::fs::read(landing.join(key)).unwrap();
    let again = dir.path().join("again");
    let r = run(&[
        "run",
        "--registry",
        &path_str(&root().join("descriptors")),
        "--landing",
        &path_str(&again),
        "--format",
        "parquet",
        &path_str(&source),
    ]);
    assert_eq!(r.status, Some(1));
    assert!(
        std::fs::read(again.join(key)).unwrap() == first,
        "same bytes on a rerun"
    );
}

#[test]
fn decode_format_parquet_refuses_a_type_without_columns_and_leaves_no_out_on_failure() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.parquet");
    let desc = path_str(&root().join("descriptors"));
    let r = run(&[
        "decode",
        "-d",
        &desc,
        "-t",
        "google.protobuf.Timestamp",
        "--format",
        "parquet",
        "-o",
        &path_str(&out),
        &path_str(&root().join("examples/events/pageview-singles/dt=2026-11-26/3d577cb4-ddbf-4d07-a9fe-294a859be7df.pb")),
    ]);
    assert_eq!(r.status, Some(2), "a usage error: {}", r.stderr);
    assert!(r.stderr.contains("has no columns"), "{}", r.stderr);
    assert!(!out.exists());

    // A stream that breaks after good messages: no OUT, and an existing OUT is untouched.
    std::fs::write(&out, b"previous").unwrap();
    let mut stream = example("events/pageviews/dt=2026-11-26/hour=09/part-0000.pb.gz");
    let gz = flate2::read::GzDecoder::new(&stream[..]);
    let mut raw = Vec::new();
    std::io::Read::read_to_end(&mut { gz }, &mut raw).unwrap();
    raw.extend_from_slice(&[0x05, 0x0a, 0x09, b'x']); // a message that runs past its end
    stream = raw;
    let input = dir.path().join("broken.pb");
    std::fs::write(&input, &stream).unwrap();
    let r = run(&[
        "decode",
        "-d",
        &desc,
        "-t",
        "acme.events.v2.PageView",
        "--framing",
        "varint",
        "--format",
        "parquet",
        "-o",
        &path_str(&out),
        &path_str(&input),
    ]);
    assert_eq!(r.status, Some(1), "{}", r.stderr);
    assert!(r.stderr.contains("broken.pb: message"), "{}", r.stderr);
    assert_eq!(std::fs::read(&out).unwrap(), b"previous");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn row_groups_are_bounded_by_rows_and_compression_is_chosen() {
    let dir = tempfile::tempdir().unwrap();
    let desc = path_str(&root().join("descriptors"));
    let input =
        path_str(&root().join("examples/events/pageviews/dt=2026-11-26/hour=09/part-0000.pb.gz"));
    let write = |name: &str, extra: &[&str]| {
        let out = dir.path().join(name);
        let mut args = vec![
            "decode",
            "-d",
            &desc,
            "-t",
            "acme.events.v2.PageView",
            "--framing",
            "varint",
            "--format",
            "parquet",
        ];
        args.extend_from_slice(extra);
        let out_s = path_str(&out);
        args.extend_from_slice(&["-o", &out_s, &input]);
        let r = run(&args);
        assert_eq!(r.status, Some(0), "{}", r.stderr);
        out_s
    };
    let small = write(
        "small.parquet",
        &["--row-group-rows", "10", "--parquet-compression", "snappy"],
    );
    let meta = Command::new(python())
        .args([
            "-c",
            "import pyarrow.parquet as pq, sys, json; m = pq.ParquetFile(sys.argv[1]).metadata; \
             print(json.dumps([m.num_rows, m.num_row_groups, max(m.row_group(i).num_rows for i in range(m.num_row_groups)), \
             m.row_group(0).column(0).compression, m.metadata[b'protolake.message_type'].decode()]))",
            &small,
        ])
        .output()
        .unwrap();
    assert!(
        meta.status.success(),
        "{}",
        String::from_utf8_lossy(&meta.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&meta.stdout).unwrap();
    let rows = meta[0].as_u64().unwrap();
    assert!(rows > 10, "{meta}");
    assert_eq!(meta[1].as_u64().unwrap(), rows.div_ceil(10), "{meta}");
    assert_eq!(meta[2], 10);
    assert_eq!(meta[3], "SNAPPY");
    assert_eq!(meta[4], "acme.events.v2.PageView");
}

async fn parquet_service(
    s3: &aws_sdk_s3::Client,
    reg: &str,
    land: &str,
    format: FormatName,
) -> Arc<Service> {
    let output = OutputOptions {
        format,
        gzip: false,
        parquet: Parquet::default(),
    };
    crate::support::aws::service(s3, reg, land, "lake/", output).await
}

async fn get_bytes(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Option<Vec<u8>> {
    let o = s3.get_object().bucket(bucket).key(key).send().await.ok()?;
    Some(o.body.collect().await.unwrap().into_bytes().to_vec())
}

const VARINT_V2: &str = "events/pageviews/dt=2026-11-26/hour=09/part-0001.pb.gz";
const SINGLE_V2: &str =
    "events/pageview-singles/dt=2026-11-26/3d577cb4-ddbf-4d07-a9fe-294a859be7df.pb";
const CORRUPT: &str = "events/pageviews/dt=2026-11-26/corrupt.pb.gz";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_lands_parquet_under_output_format_once_whole_and_idempotently() {
    let (s3, _) = clients().await;
    let (reg, src, land) = (
        bucket(&s3, "reg").await,
        bucket(&s3, "src").await,
        bucket(&s3, "land").await,
    );
    publish_examples(&s3, &reg).await;
    let mut etags = Vec::new();
    for (key, body) in [
        (VARINT_V2, example(VARINT_V2)),
        (CORRUPT, b"\x1f\x8b\x08\x00garbage".to_vec()),
    ] {
        let put = s3
            .put_object()
            .bucket(&src)
            .key(key)
            .body(body.into())
            .send()
            .await
            .unwrap();
        etags.push(put.e_tag().unwrap().trim_matches('"').to_owned());
    }
    let event = || {
        sqs_event(&[
            ("m-good", notification(&src, VARINT_V2, Some(&etags[0]))),
            ("m-corrupt", notification(&src, CORRUPT, Some(&etags[1]))),
        ])
    };
    let svc = parquet_service(&s3, &reg, &land, FormatName::Parquet).await;
    let response =
        protolake::lambda::handler(LambdaEvent::new(event(), Context::default()), svc.clone())
            .await
            .unwrap();
    let failed: Vec<&str> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    assert_eq!(failed, ["m-corrupt"]);
    let key = format!("lake/{src}/{VARINT_V2}.parquet");
    let landed = get_bytes(&s3, &land, &key).await.expect("landed");
    assert!(
        get_bytes(&s3, &land, &format!("lake/{src}/{CORRUPT}.parquet"))
            .await
            .is_none(),
        "a corrupt object lands nothing"
    );
    let listing = s3.list_objects_v2().bucket(&land).send().await.unwrap();
    assert_eq!(
        listing.contents().len(),
        1,
        "nothing half-written beside it"
    );

    // DuckDB reads what landed: as many rows as NDJSON lines, grouped by the enum.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("landed.parquet");
    std::fs::write(&file, &landed).unwrap();
    let lines = crate::support::aws::decode_example(VARINT_V2, "acme.events.v2.PageView", "varint");
    let rows = duckdb(&format!(
        "SELECT count(*) FROM read_parquet('{}')",
        path_str(&file)
    ));
    assert_eq!(rows[0][0], lines.lines().count());
    let mut by_source = std::collections::BTreeMap::<String, u64>::new();
    for l in lines.lines() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        let s = v["source"]
            .as_str()
            .unwrap_or("SOURCE_UNSPECIFIED")
            .to_owned();
        *by_source.entry(s).or_default() += 1;
    }
    let grouped = duckdb(&format!(
        "SELECT source, count(*) FROM read_parquet('{}') GROUP BY source",
        path_str(&file)
    ));
    let grouped: std::collections::BTreeMap<String, u64> = grouped
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r[0].as_str().unwrap().to_owned(), r[1].as_u64().unwrap()))
        .collect();
    assert_eq!(grouped, by_source);

    // Redelivery lands the same key with the same bytes.
    let again = protolake::lambda::handler(LambdaEvent::new(event(), Context::default()), svc)
        .await
        .unwrap();
    assert_eq!(again.batch_item_failures.len(), 1);
    assert!(
        get_bytes(&s3, &land, &key).await.unwrap() == landed,
        "same bytes"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_route_pins_parquet_for_its_prefix_while_the_rest_lands_ndjson() {
    let (s3, _) = clients().await;
    let (reg, src, land) = (
        bucket(&s3, "reg").await,
        bucket(&s3, "src").await,
        bucket(&s3, "land").await,
    );
    publish_examples(&s3, &reg).await;
    let routes = r#"{"routes": [
      {"prefix": "events/pageviews/", "type": "acme.events.v2.PageView", "framing": "varint", "format": "parquet"},
      {"prefix": "events/pageview-singles/", "type": "acme.events.v2.PageView", "framing": "single"}
    ]}"#;
    s3.put_object()
        .bucket(&reg)
        .key("schemas/routes.json")
        .body(routes.as_bytes().to_vec().into())
        .send()
        .await
        .unwrap();
    let mut records = Vec::new();
    for (id, key) in [("m-varint", VARINT_V2), ("m-single", SINGLE_V2)] {
        let put = s3
            .put_object()
            .bucket(&src)
            .key(key)
            .body(example(key).into())
            .send()
            .await
            .unwrap();
        records.push((
            id,
            notification(&src, key, put.e_tag().map(|e| e.trim_matches('"'))),
        ));
    }
    let svc = parquet_service(&s3, &reg, &land, FormatName::Ndjson).await;
    let response = protolake::lambda::handler(
        LambdaEvent::new(sqs_event(&records), Context::default()),
        svc,
    )
    .await
    .unwrap();
    assert!(response.batch_item_failures.is_empty());
    let parquet = get_bytes(&s3, &land, &format!("lake/{src}/{VARINT_V2}.parquet"))
        .await
        .expect("the pinned route lands Parquet");
    assert_eq!(&parquet[..4], b"PAR1");
    assert_eq!(&parquet[parquet.len() - 4..], b"PAR1");
    let ndjson = get_bytes(&s3, &land, &format!("lake/{src}/{SINGLE_V2}.ndjson"))
        .await
        .expect("the other route lands NDJSON");
    assert_eq!(
        String::from_utf8(ndjson).unwrap(),
        crate::support::aws::decode_example(SINGLE_V2, "acme.events.v2.PageView", "single")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poll_binary_lands_parquet_under_protolake_output_format() {
    let (s3, sqs) = clients().await;
    let (reg, src, land) = (
        bucket(&s3, "reg").await,
        bucket(&s3, "src").await,
        bucket(&s3, "land").await,
    );
    publish_examples(&s3, &reg).await;
    let etag = s3
        .put_object()
        .bucket(&src)
        .key(VARINT_V2)
        .body(example(VARINT_V2).into())
        .send()
        .await
        .unwrap()
        .e_tag()
        .unwrap()
        .trim_matches('"')
        .to_owned();
    let queue = sqs
        .create_queue()
        .queue_name(crate::support::moto::unique("q"))
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_owned();
    sqs.send_message()
        .queue_url(&queue)
        .message_body(notification(&src, VARINT_V2, Some(&etag)))
        .send()
        .await
        .unwrap();
    let env = crate::support::moto::moto().env();
    let mut env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let registry = format!("s3://{reg}/schemas/");
    let landing = format!("s3://{land}/lake/");
    env.extend([
        ("PROTOLAKE_REGISTRY", registry.as_str()),
        ("PROTOLAKE_LANDING", landing.as_str()),
        ("PROTOLAKE_OUTPUT_FORMAT", "parquet"),
        ("PROTOLAKE_PARQUET_COMPRESSION", "snappy"),
    ]);
    let r = crate::support::run_with(
        &[
            "poll",
            "--queue-url",
            &queue,
            "--once",
            "--wait-seconds",
            "1",
        ],
        None,
        &env,
        Duration::from_secs(120),
    );
    assert_eq!(r.status, Some(0), "{}", r.stderr);
    let landed = get_bytes(&s3, &land, &format!("lake/{src}/{VARINT_V2}.parquet"))
        .await
        .expect("poll landed Parquet");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("x.parquet");
    std::fs::write(&file, &landed).unwrap();
    let lines = crate::support::aws::decode_example(VARINT_V2, "acme.events.v2.PageView", "varint");
    let rows = duckdb(&format!(
        "SELECT count(*), min(event_id) IS NOT NULL FROM read_parquet('{}')",
        path_str(&file)
    ));
    assert_eq!(rows[0][0], lines.lines().count());
    assert_eq!(rows[0][1], true);
}
