//! `schema publish --glue-database` against Glue over HTTP (moto server): the real binary
//! publishes to a registry in S3 and keeps one Glue table per route in step with it.

use std::time::Duration;

use crate::support::aws::bucket;
use crate::support::moto::{moto, unique};
use crate::support::{path_str, run, run_with, Run};

const V1: &str = r#"syntax = "proto3"; package shop;
message Order { string id = 1; int64 cents = 2; }"#;
/// Compatible: a new field.
const V2: &str = r#"syntax = "proto3"; package shop;
message Order { string id = 1; int64 cents = 2; string note = 3; }"#;
/// Refused by compat: field 2 changes its wire type.
const BREAKING: &str = r#"syntax = "proto3"; package shop;
message Order { string id = 1; string cents = 2; string note = 3; }"#;
const ROUTES: &str = r#"{"routes": [
  {"prefix": "orders/", "type": "shop.Order", "framing": "varint", "format": "parquet", "partitions": ["dt"]},
  {"prefix": "legacy/orders/", "type": "shop.Order", "table": "orders_json"}
]}"#;

async fn glue() -> aws_sdk_glue::Client {
    let conf = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(&moto().endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            "test", "test", None, None, "static",
        ))
        .load()
        .await;
    aws_sdk_glue::Client::new(&conf)
}

struct Setup {
    dir: tempfile::TempDir,
    registry: String,
    database: String,
}

impl Setup {
    fn compile(&self, name: &str, proto: &str) -> String {
        // The same file name in every version, as a schema repository would have it.
        let root = self.dir.path().join(name);
        std::fs::create_dir_all(&root).unwrap();
        let src = root.join("shop.proto");
        std::fs::write(&src, proto).unwrap();
        let out = root.join("shop.binpb");
        let r = run(&[
            "schema",
            "compile",
            "-I",
            &path_str(&root),
            &path_str(&src),
            "-o",
            &path_str(&out),
        ]);
        assert_eq!(r.status, Some(0), "{}", r.stderr);
        path_str(&out)
    }

    fn publish(&self, set: &str) -> Run {
        self.publish_with(set, &[])
    }

    fn publish_with(&self, set: &str, extra_env: &[(&str, &str)]) -> Run {
        let routes = self.dir.path().join("routes.json");
        std::fs::write(&routes, ROUTES).unwrap();
        let env = moto().env();
        let mut env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        env.extend_from_slice(extra_env);
        run_with(
            &[
                "schema",
                "publish",
                set,
                "--routes",
                &path_str(&routes),
                "--registry",
                &self.registry,
                "--glue-database",
                &self.database,
                "--landing",
                "s3://acme-lake/lake/",
                "--source-bucket",
                "acme-raw",
            ],
            None,
            &env,
            Duration::from_secs(120),
        )
    }
}

async fn setup() -> Setup {
    let s3 = moto().s3().await;
    let reg = bucket(&s3, "reg").await;
    Setup {
        dir: tempfile::tempdir().unwrap(),
        registry: format!("s3://{reg}/schemas/"),
        database: unique("lake").replace('-', "_"),
    }
}

/// (column name, type) of a Glue table, its partition keys, its location and version.
async fn table(db: &str, name: &str) -> (Vec<(String, String)>, Vec<String>, String, String) {
    let t = glue()
        .await
        .get_table()
        .database_name(db)
        .name(name)
        .send()
        .await
        .unwrap();
    let t = t.table().unwrap();
    let sd = t.storage_descriptor().unwrap();
    (
        sd.columns()
            .iter()
            .map(|c| {
                (
                    c.name().to_owned(),
                    c.r#type().unwrap_or_default().to_owned(),
                )
            })
            .collect(),
        t.partition_keys()
            .iter()
            .map(|c| c.name().to_owned())
            .collect(),
        sd.location().unwrap_or_default().to_owned(),
        t.version_id().unwrap_or_default().to_owned(),
    )
}

fn cols(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_v1_creates_one_table_per_route_with_the_expected_columns() {
    let s = setup().await;
    let v1 = s.compile("v1", V1);
    let r = s.publish(&v1);
    assert_eq!(r.status, Some(0), "{}", r.stderr);
    assert!(
        r.stderr
            .contains(&format!("glue table {}.orders created", s.database)),
        "{}",
        r.stderr
    );
    let (columns, partitions, location, _) = table(&s.database, "orders").await;
    assert_eq!(columns, cols(&[("id", "string"), ("cents", "bigint")]));
    assert_eq!(partitions, ["dt"]);
    assert_eq!(location, "s3://acme-lake/lake/acme-raw/orders/");
    // The NDJSON route: the JSON keys' columns, 64-bit integers as the strings JSON holds.
    let (columns, partitions, location, _) = table(&s.database, "orders_json").await;
    assert_eq!(columns, cols(&[("id", "string"), ("cents", "string")]));
    assert!(partitions.is_empty());
    assert_eq!(location, "s3://acme-lake/lake/acme-raw/legacy/orders/");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishing_a_compatible_v2_adds_the_column() {
    let s = setup().await;
    let r = s.publish(&s.compile("v1", V1));
    assert_eq!(r.status, Some(0), "{}", r.stderr);
    let r = s.publish(&s.compile("v2", V2));
    assert_eq!(r.status, Some(0), "{}", r.stderr);
    assert!(r.stderr.contains("orders updated"), "{}", r.stderr);
    let (columns, ..) = table(&s.database, "orders").await;
    assert_eq!(
        columns,
        cols(&[("id", "string"), ("cents", "bigint"), ("note", "string")])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publish_that_compat_refuses_leaves_the_tables_untouched() {
    let s = setup().await;
    let r = s.publish(&s.compile("v2", V2));
    assert_eq!(r.status, Some(0), "{}", r.stderr);
    let before = table(&s.database, "orders").await;
    let r = s.publish(&s.compile("breaking", BREAKING));
    assert_eq!(r.status, Some(1), "{}", r.stderr);
    assert!(!r.stderr.contains("glue table"), "{}", r.stderr);
    assert_eq!(table(&s.database, "orders").await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishing_twice_changes_nothing_the_second_time() {
    let s = setup().await;
    let v2 = s.compile("v2", V2);
    let r = s.publish(&v2);
    assert_eq!(r.status, Some(0), "{}", r.stderr);
    let first = table(&s.database, "orders").await;
    let first_json = table(&s.database, "orders_json").await;
    let r = s.publish(&v2);
    assert_eq!(r.status, Some(0), "{}", r.stderr);
    assert!(r.stderr.contains("orders unchanged"), "{}", r.stderr);
    assert!(r.stderr.contains("orders_json unchanged"), "{}", r.stderr);
    assert_eq!(table(&s.database, "orders").await, first);
    assert_eq!(table(&s.database, "orders_json").await, first_json);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_glue_call_after_the_publish_is_reported_and_a_rerun_converges() {
    let s = setup().await;
    let v1 = s.compile("v1", V1);
    // Glue unreachable (nothing listens on port 9), S3 as usual: the registry takes the set.
    let r = s.publish_with(&v1, &[("AWS_ENDPOINT_URL_GLUE", "http://127.0.0.1:9")]);
    assert_eq!(r.status, Some(1), "{}", r.stderr);
    assert!(
        r.stderr
            .contains("published, but the Glue tables are not in step"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("run the publish again"), "{}", r.stderr);
    let missing = glue()
        .await
        .get_table()
        .database_name(&s.database)
        .name("orders")
        .send()
        .await;
    assert!(missing.is_err(), "no table was written");
    let r = s.publish(&v1);
    assert_eq!(r.status, Some(0), "{}", r.stderr);
    assert!(r.stderr.contains("orders created"), "{}", r.stderr);
    let (columns, ..) = table(&s.database, "orders").await;
    assert_eq!(columns, cols(&[("id", "string"), ("cents", "bigint")]));
}
