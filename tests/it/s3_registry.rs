//! The schema registry against a real S3 protocol (moto server on 127.0.0.1): publishing,
//! `run` with S3 on every side, hot reload in one long-lived registry instance, single-flight
//! misses, and broken updates that never displace what was good.

use std::sync::Arc;
use std::time::Duration;

use crate::support::moto::{moto, unique};
use crate::support::{run_with, Run};
use protolake::publish::publish_set;
use protolake::registry::{LookupError, RegistryCache};
use protolake::store::s3::S3Store;
use protolake::store::Place;

const V1: &str = r#"
syntax = "proto3";
package shop.v1;
message Order { string id = 1; int64 cents = 2; }
"#;

/// v1 with a field added: safe.
const V1_ADDED: &str = r#"
syntax = "proto3";
package shop.v1;
message Order { string id = 1; int64 cents = 2; string note = 3; }
"#;

/// v1 with `cents` renumbered: breaking.
const V1_RENUMBERED: &str = r#"
syntax = "proto3";
package shop.v1;
message Order { string id = 1; int64 cents = 3; }
"#;

const CLICKS: &str = r#"
syntax = "proto3";
package web.v1;
message Click { string page = 1; }
"#;

fn compile(name: &str, source: &str) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let proto = dir.path().join(format!("{name}.proto"));
    std::fs::write(&proto, source).unwrap();
    let out = dir.path().join(format!("{name}.binpb"));
    let r = crate::support::run(&[
        "schema",
        "compile",
        "-I",
        &dir.path().display().to_string(),
        &proto.display().to_string(),
        "-o",
        &out.display().to_string(),
    ]);
    assert_eq!(r.status, Some(0), "{}", r.stderr);
    std::fs::read(out).unwrap()
}

fn cli(args: &[&str]) -> Run {
    let env = moto().env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    run_with(args, None, &env, Duration::from_secs(120))
}

async fn bucket(s3: &aws_sdk_s3::Client, prefix: &str) -> String {
    let name = unique(prefix);
    s3.create_bucket().bucket(&name).send().await.unwrap();
    name
}

async fn put(s3: &aws_sdk_s3::Client, bucket: &str, key: &str, body: &[u8], meta: &[(&str, &str)]) {
    let mut req = s3
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(body.to_vec().into());
    for (k, v) in meta {
        req = req.metadata(*k, *v);
    }
    req.send().await.unwrap();
}

async fn get(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> String {
    let o = s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{key}: {e:?}"));
    String::from_utf8(o.body.collect().await.unwrap().to_vec()).unwrap()
}

fn order(id: &str, cents: u8) -> Vec<u8> {
    let mut m = vec![0x0a, id.len() as u8];
    m.extend_from_slice(id.as_bytes());
    m.extend_from_slice(&[0x10, cents]);
    m
}

fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn write_tmp(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> String {
    let p = dir.path().join(name);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, bytes).unwrap();
    p.display().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_then_run_with_s3_registry_source_and_landing() {
    let s3 = moto().s3().await;
    let (reg, src, land) = (
        bucket(&s3, "reg").await,
        bucket(&s3, "src").await,
        bucket(&s3, "land").await,
    );
    let tmp = tempfile::tempdir().unwrap();
    let set = write_tmp(&tmp, "shop.binpb", &compile("shop", V1));
    let routes = write_tmp(
        &tmp,
        "routes.json",
        br#"{"routes": [{"prefix": "orders/", "type": "shop.v1.Order", "framing": "varint"}]}"#,
    );
    let registry = format!("s3://{reg}/schemas/");
    let r = cli(&[
        "schema",
        "publish",
        &set,
        "--routes",
        &routes,
        "--registry",
        &registry,
    ]);
    assert_eq!(r.status, Some(0), "{}", r.stderr);
    assert!(
        r.stderr
            .contains(&format!("published s3://{reg}/schemas/shop.binpb")),
        "{}",
        r.stderr
    );

    let mut stream = Vec::new();
    for (i, id) in ["a", "b"].iter().enumerate() {
        let m = order(id, i as u8 + 1);
        stream.push(m.len() as u8);
        stream.extend_from_slice(&m);
    }
    put(
        &s3,
        &src,
        "orders/dt=2026-11-26/part 1.pb.gz",
        &gzip(&stream),
        &[],
    )
    .await;
    // Metadata wins over routes: this key matches no route.
    put(
        &s3,
        &src,
        "misc/one.pb",
        &order("m", 7),
        &[("proto-type", "shop.v1.Order"), ("proto-framing", "single")],
    )
    .await;

    let r = cli(&[
        "run",
        "--registry",
        &registry,
        "--landing",
        &format!("s3://{land}/out/"),
        &format!("s3://{src}/"),
    ]);
    assert_eq!(r.status, Some(0), "{}\n{}", r.stderr, r.stdout_str());
    assert_eq!(
        get(
            &s3,
            &land,
            &format!("out/{src}/orders/dt=2026-11-26/part 1.pb.gz.ndjson")
        )
        .await,
        "{\"id\":\"a\",\"cents\":\"1\"}\n{\"id\":\"b\",\"cents\":\"2\"}\n"
    );
    assert_eq!(
        get(&s3, &land, &format!("out/{src}/misc/one.pb.ndjson")).await,
        "{\"id\":\"m\",\"cents\":\"7\"}\n"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_refuses_a_renumbered_field_and_accepts_an_added_one() {
    let s3 = moto().s3().await;
    let reg = bucket(&s3, "reg").await;
    let registry = format!("s3://{reg}/");
    let tmp = tempfile::tempdir().unwrap();
    let r = cli(&[
        "schema",
        "publish",
        &write_tmp(&tmp, "v1/shop.binpb", &compile("shop", V1)),
        "--registry",
        &registry,
    ]);
    assert_eq!(r.status, Some(0), "{}", r.stderr);
    let renumbered = write_tmp(
        &tmp,
        "renumbered/shop.binpb",
        &compile("shop", V1_RENUMBERED),
    );
    let r = cli(&["schema", "publish", &renumbered, "--registry", &registry]);
    assert_eq!(r.status, Some(1), "{}", r.stderr);
    assert!(r.stderr.contains("refusing to publish"), "{}", r.stderr);
    assert!(
        r.stderr
            .contains("shop.v1.Order.cents: field cents changed number from 2 to 3"),
        "{}",
        r.stderr
    );
    let r = cli(&[
        "schema",
        "publish",
        &write_tmp(&tmp, "added/shop.binpb", &compile("shop", V1_ADDED)),
        "--registry",
        &registry,
    ]);
    assert_eq!(r.status, Some(0), "an added field is fine: {}", r.stderr);
    // --allow-breaking publishes anyway, saying what it accepted.
    let r = cli(&[
        "schema",
        "publish",
        &renumbered,
        "--registry",
        &registry,
        "--allow-breaking",
    ]);
    assert_eq!(r.status, Some(0), "{}", r.stderr);
    assert!(
        r.stderr.contains("breaking change accepted"),
        "{}",
        r.stderr
    );
}

async fn cache_over(s3: &aws_sdk_s3::Client, reg: &str, ttl: Duration) -> Arc<RegistryCache> {
    let place = Place {
        store: Arc::new(S3Store::new(s3.clone(), reg.to_owned())),
        prefix: String::new(),
    };
    Arc::new(RegistryCache::new(place, ttl, Duration::from_secs(30)))
}

async fn publish(s3: &aws_sdk_s3::Client, reg: &str, name: &str, source: &str) {
    let place = Place {
        store: Arc::new(S3Store::new(s3.clone(), reg.to_owned())),
        prefix: String::new(),
    };
    publish_set(
        &place,
        &format!("{name}.binpb"),
        &compile(name, source),
        false,
    )
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_lived_registry_picks_up_a_new_type_at_once_on_a_miss() {
    let s3 = moto().s3().await;
    let reg = bucket(&s3, "reg").await;
    publish(&s3, &reg, "shop", V1).await;
    put(
        &s3,
        &reg,
        "routes.json",
        br#"{"routes": [{"prefix": "orders/", "type": "shop.v1.Order"}]}"#,
        &[],
    )
    .await;
    // A TTL of an hour: only a miss can make it look again.
    let cache = cache_over(&s3, &reg, Duration::from_secs(3600)).await;
    cache.message("shop.v1.Order").await.unwrap();
    assert_eq!(cache.loads(), 1);

    publish(&s3, &reg, "clicks", CLICKS).await;
    put(&s3, &reg, "routes.json", br#"{"routes": [{"prefix": "orders/", "type": "shop.v1.Order"}, {"prefix": "clicks/", "type": "web.v1.Click"}]}"#, &[]).await;
    let (registry, id) = cache
        .message(".web.v1.Click")
        .await
        .expect("the new type is found without a restart");
    assert_eq!(registry.transcoder.message_name(id), "web.v1.Click");
    assert_eq!(cache.loads(), 2, "one forced re-check");
    let (_, route) = cache.route("clicks/2026/x.pb").await.unwrap();
    assert_eq!(route.type_name, "web.v1.Click");
    assert_eq!(
        cache.loads(),
        2,
        "the re-check already brought the new route"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_the_ttl_only_changed_objects_are_read_again() {
    let s3 = moto().s3().await;
    let reg = bucket(&s3, "reg").await;
    publish(&s3, &reg, "shop", V1).await;
    publish(&s3, &reg, "clicks", CLICKS).await;
    let cache = cache_over(&s3, &reg, Duration::from_millis(500)).await;
    cache.registry().await.unwrap();
    assert_eq!(cache.object_reads(), 2);
    publish(&s3, &reg, "shop", V1_ADDED).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let r = cache.registry().await.unwrap();
    assert_eq!(cache.loads(), 2, "the TTL expired once");
    assert_eq!(
        cache.object_reads(),
        3,
        "only the changed shop.binpb was read again"
    );
    let order = r
        .transcoder
        .pool()
        .get_message_by_name("shop.v1.Order")
        .unwrap();
    assert!(
        order.get_field_by_name("note").is_some(),
        "the new version is in use"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_concurrent_misses_cause_exactly_one_load() {
    let s3 = moto().s3().await;
    let reg = bucket(&s3, "reg").await;
    publish(&s3, &reg, "shop", V1).await;
    let cache = cache_over(&s3, &reg, Duration::from_secs(3600)).await;
    cache.registry().await.unwrap();
    let before = cache.loads();
    let lookups: Vec<_> = (0..100)
        .map(|_| {
            let c = cache.clone();
            tokio::spawn(async move { c.message("no.such.Type").await })
        })
        .collect();
    for l in lookups {
        assert!(
            matches!(l.await.unwrap(), Err(LookupError::UnknownType(t)) if t == "no.such.Type")
        );
    }
    assert_eq!(
        cache.loads() - before,
        1,
        "100 concurrent misses share one load"
    );
    // Negatively cached: a second flood costs nothing.
    for _ in 0..100 {
        assert!(cache.message("no.such.Type").await.is_err());
    }
    assert_eq!(cache.loads() - before, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_update_keeps_the_good_types_and_routes_and_names_the_object() {
    let s3 = moto().s3().await;
    let reg = bucket(&s3, "reg").await;
    publish(&s3, &reg, "shop", V1).await;
    put(
        &s3,
        &reg,
        "routes.json",
        br#"{"routes": [{"prefix": "orders/", "type": "shop.v1.Order"}]}"#,
        &[],
    )
    .await;
    let cache = cache_over(&s3, &reg, Duration::from_secs(3600)).await;
    cache.route("orders/x").await.unwrap();
    assert!(cache.problems().is_empty());
    // Garbage next to the good set, a good set now garbled, and routes that do not parse.
    put(
        &s3,
        &reg,
        "zz-garbage.binpb",
        b"\xff\xff\xff not a descriptor set",
        &[],
    )
    .await;
    put(&s3, &reg, "shop.binpb", b"\x0a\xff\xff\xff\x0f", &[]).await;
    put(&s3, &reg, "routes.json", b"{\"routes\": [", &[]).await;
    // A miss forces the re-check that sees the broken update.
    assert!(cache.message("still.Missing").await.is_err());
    assert_eq!(cache.loads(), 2);
    let problems = cache.problems().join("\n");
    assert!(
        problems.contains(&format!(
            "s3://{reg}/zz-garbage.binpb: not a FileDescriptorSet"
        )),
        "{problems}"
    );
    assert!(
        problems.contains(&format!("s3://{reg}/shop.binpb: not a FileDescriptorSet")),
        "{problems}"
    );
    assert!(problems.contains("routes.json"), "{problems}");
    // What was good still decodes and routes.
    let (reg_now, id) = cache
        .message("shop.v1.Order")
        .await
        .expect("the last good shop.binpb stays in use");
    let mut out = Vec::new();
    let mut session = reg_now
        .transcoder
        .session(id, Default::default(), Default::default(), 100);
    session.transcode(&order("z", 3), &mut out).unwrap();
    assert_eq!(String::from_utf8(out).unwrap(), r#"{"id":"z","cents":"3"}"#);
    assert_eq!(
        cache.route("orders/y").await.unwrap().1.type_name,
        "shop.v1.Order"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conflicting_copies_of_one_proto_file_are_named_and_the_first_kept() {
    let s3 = moto().s3().await;
    let reg = bucket(&s3, "reg").await;
    publish(&s3, &reg, "shop", V1).await;
    // Another object carrying shop.proto with different contents.
    put(
        &s3,
        &reg,
        "zz-other.binpb",
        &compile("shop", V1_RENUMBERED),
        &[],
    )
    .await;
    let cache = cache_over(&s3, &reg, Duration::from_secs(3600)).await;
    let r = cache.registry().await.unwrap();
    let problems = cache.problems().join("\n");
    assert!(
        problems.contains(&format!("shop.proto is defined differently in s3://{reg}/shop.binpb and s3://{reg}/zz-other.binpb")),
        "{problems}"
    );
    let cents = r
        .transcoder
        .pool()
        .get_message_by_name("shop.v1.Order")
        .unwrap()
        .get_field_by_name("cents")
        .unwrap();
    assert_eq!(cents.number(), 2);
}
