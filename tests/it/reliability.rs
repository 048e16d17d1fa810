//! The failure catalogue (rows E*, S*, W*, L*, Q*, D*, P*; docs/guarantees.md maps each row
//! to its test): every
//! test is named `row_<id>_...` after the row it proves. S3 and SQS faults go through a
//! fault-injecting proxy in front of moto server (tests/it/support/fault_proxy.rs); the
//! decoding rows run the real binary under an address-space limit (`prlimit --as`), where
//! success means a clean one-line error with exit status 1, never a signal.
//!
//! `cargo test --test it reliability::` runs them; `cargo test --test it --lib -- row_`
//! adds the row tests that live in the library (L3, L4, S4's unit half, Q3's backoff).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use crate::support::events::{notification, sqs_event};
use crate::support::fault_proxy::{Action, FaultProxy, Match};
use crate::support::moto::{moto, unique};
use crate::support::root;
use aws_sdk_s3::types::{Event, NotificationConfiguration, QueueConfiguration};
use aws_sdk_sqs::types::QueueAttributeName;
use lambda_runtime::{Context, LambdaEvent};
use protolake::limits::Limits;
use protolake::pipeline::{Deps, ObjectRef};
use protolake::registry::RegistryCache;
use protolake::service::{OnMissing, Service};
use protolake::store::local::LocalStore;
use protolake::store::s3::{self, S3Store, PART_SIZE};
use protolake::store::{Pin, Place};

// ---------------------------------------------------------------------------------------
// Harness: clients (direct to moto, or through the proxy), buckets, the example registry.

async fn sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            "test", "test", None, None, "static",
        ))
        .load()
        .await
}

async fn s3_at(endpoint: &str) -> aws_sdk_s3::Client {
    let conf = sdk_config(endpoint).await;
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&conf)
            .force_path_style(true)
            .build(),
    )
}

async fn sqs_at(endpoint: &str) -> aws_sdk_sqs::Client {
    aws_sdk_sqs::Client::new(&sdk_config(endpoint).await)
}

const VARINT_V2: &str = "events/pageviews/dt=2026-11-26/hour=09/part-0001.pb.gz";
const VARINT_V2_B: &str = "events/pageviews/dt=2026-11-26/hour=10/part-0000.pb.gz";
const SINGLE_V2: &str =
    "events/pageview-singles/dt=2026-11-26/3d577cb4-ddbf-4d07-a9fe-294a859be7df.pb";
const SINGLE_V2_GZ: &str =
    "events/pageview-singles/dt=2026-11-26/69e898a0-2bbf-4c7a-b33d-a73721b307f7.pb.gz";
const VARINT_V1: &str = "legacy/pageviews/dt=2026-11-25/part-0001.pb.gz";

fn example(rel: &str) -> Vec<u8> {
    std::fs::read(root().join("examples").join(rel)).unwrap()
}

/// What `protolake decode` prints for an example (pinned against Python by the fixture
/// tests): the bytes every landing must hold.
fn decoded(rel: &str) -> String {
    let (ty, framing) = if rel.starts_with("legacy/") {
        ("acme.events.v1.PageView", "varint")
    } else if rel.contains("pageview-singles") {
        ("acme.events.v2.PageView", "single")
    } else {
        ("acme.events.v2.PageView", "varint")
    };
    let d = root().join("descriptors").display().to_string();
    let p = root().join("examples").join(rel).display().to_string();
    let r = crate::support::run(&["decode", "-d", &d, "-t", ty, "--framing", framing, &p]);
    assert_eq!(r.status, Some(0), "{}", r.stderr);
    r.stdout_str()
}

/// Buckets for one test, a proxy in front of moto, and clients both ways.
struct World {
    proxy: FaultProxy,
    /// Through the proxy (what the code under test uses).
    s3: aws_sdk_s3::Client,
    /// Straight to moto (what the test uses to set up and check).
    direct: aws_sdk_s3::Client,
    reg: String,
    src: String,
    land: String,
}

async fn world() -> World {
    let m = moto();
    let proxy = FaultProxy::start(&m.endpoint).await;
    let direct = m.s3().await;
    let s3 = s3_at(&proxy.endpoint).await;
    let mut names = Vec::new();
    for p in ["reg", "src", "land"] {
        let name = unique(p);
        direct.create_bucket().bucket(&name).send().await.unwrap();
        names.push(name);
    }
    for f in [
        "acme_events_v1.binpb",
        "acme_events_v2.binpb",
        "routes.json",
    ] {
        let body = std::fs::read(root().join("descriptors").join(f)).unwrap();
        direct
            .put_object()
            .bucket(&names[0])
            .key(format!("schemas/{f}"))
            .body(body.into())
            .send()
            .await
            .unwrap();
    }
    let land = names.pop().unwrap();
    let src = names.pop().unwrap();
    let reg = names.pop().unwrap();
    World {
        proxy,
        s3,
        direct,
        reg,
        src,
        land,
    }
}

impl World {
    /// The service: source and landing through the proxy, the registry straight to moto.
    fn service_with(
        &self,
        landing: Place,
        limits: Limits,
        record_timeout: Option<u64>,
    ) -> Arc<Service> {
        let registry = RegistryCache::new(
            Place {
                store: Arc::new(S3Store::new(self.direct.clone(), self.reg.clone())),
                prefix: "schemas/".into(),
            },
            Duration::from_secs(60),
            Duration::from_secs(10),
        );
        Arc::new(Service {
            deps: Deps {
                registry: Arc::new(registry),
                landing,
                output: Default::default(),
                json: Default::default(),
                limits,
            },
            buckets: s3::buckets(self.s3.clone()),
            on_missing: OnMissing::Ack,
            concurrency: 3,
            record_timeout: record_timeout.map(Duration::from_secs),
        })
    }

    fn s3_landing(&self) -> Place {
        Place {
            store: Arc::new(S3Store::new(self.s3.clone(), self.land.clone())),
            prefix: "json/".into(),
        }
    }

    fn service(&self) -> Arc<Service> {
        self.service_with(self.s3_landing(), Limits::default(), None)
    }

    async fn put(&self, key: &str, body: Vec<u8>) -> String {
        let r = self
            .direct
            .put_object()
            .bucket(&self.src)
            .key(key)
            .body(body.into())
            .send()
            .await
            .unwrap();
        r.e_tag().unwrap().trim_matches('"').to_owned()
    }

    /// Puts examples under their own keys; returns (key, etag).
    async fn put_examples(&self, keys: &[&str]) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for k in keys {
            out.push((k.to_string(), self.put(k, example(k)).await));
        }
        out
    }

    fn landing_key(&self, key: &str) -> String {
        format!("json/{}/{key}.ndjson", self.src)
    }

    /// The landing bucket: key -> body.
    async fn landed(&self) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        let list = self
            .direct
            .list_objects_v2()
            .bucket(&self.land)
            .send()
            .await
            .unwrap();
        for o in list.contents() {
            let key = o.key().unwrap().to_owned();
            let body = self
                .direct
                .get_object()
                .bucket(&self.land)
                .key(&key)
                .send()
                .await
                .unwrap()
                .body
                .collect()
                .await
                .unwrap()
                .to_vec();
            out.insert(key, String::from_utf8(body).unwrap());
        }
        out
    }

    /// The landing the given example keys must produce, and nothing else.
    fn expected(&self, keys: &[&str]) -> BTreeMap<String, String> {
        keys.iter()
            .map(|k| (self.landing_key(k), decoded(k)))
            .collect()
    }

    /// A match for GETs of one source object.
    fn get_of(&self, key: &str) -> Match {
        Match::default()
            .method("GET")
            .path(uri_path(&format!("/{}/{key}", self.src)))
    }
}

/// A path as the SDK sends it (every byte but unreserved ones and `/` percent-encoded).
fn uri_path(path: &str) -> String {
    path.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// One Lambda invocation; `deadline_in` sets the context's deadline from now.
async fn invoke(
    svc: &Arc<Service>,
    records: &[(&str, String)],
    deadline_in: Option<Duration>,
) -> Vec<String> {
    let mut ctx = Context::default();
    if let Some(d) = deadline_in {
        ctx.deadline = (SystemTime::now() + d)
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
    }
    let r = protolake::lambda::handler(LambdaEvent::new(sqs_event(records), ctx), svc.clone())
        .await
        .unwrap();
    let mut failed: Vec<String> = r
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect();
    failed.sort();
    failed
}

/// Polls `check` every 100 ms until it holds; fails the test after `guard` (a hang guard,
/// not a timing assertion).
async fn eventually<F, Fut>(what: &str, guard: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let until = Instant::now() + guard;
    while !check().await {
        assert!(
            Instant::now() < until,
            "hang guard: {what} within {guard:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

// ---------------------------------------------------------------------------------------
// S: reading the source object.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row_s1_get_object_503_slowdown_twice_then_ok_lands_once() {
    let w = world().await;
    let objs = w.put_examples(&[VARINT_V2]).await;
    w.proxy.rule(
        w.get_of(VARINT_V2),
        Some(2),
        Action::Fail {
            status: 503,
            code: "SlowDown",
        },
    );
    let failed = invoke(
        &w.service(),
        &[("m1", notification(&w.src, VARINT_V2, Some(&objs[0].1)))],
        None,
    )
    .await;
    assert!(failed.is_empty(), "the SDK's retries absorb two 503s");
    assert_eq!(
        w.proxy.count(&w.get_of(VARINT_V2)),
        3,
        "two refused, one served"
    );
    assert_eq!(w.landed().await, w.expected(&[VARINT_V2]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row_s2_get_object_503_on_every_attempt_fails_only_that_record_as_retryable() {
    let w = world().await;
    let objs = w.put_examples(&[VARINT_V2, VARINT_V1]).await;
    w.proxy.rule(
        w.get_of(VARINT_V2),
        None,
        Action::Fail {
            status: 503,
            code: "SlowDown",
        },
    );
    let svc = w.service();
    let failed = invoke(
        &svc,
        &[
            (
                "m-throttled",
                notification(&w.src, VARINT_V2, Some(&objs[0].1)),
            ),
            ("m-ok", notification(&w.src, VARINT_V1, Some(&objs[1].1))),
        ],
        None,
    )
    .await;
    assert_eq!(failed, vec!["m-throttled"]);
    assert_eq!(w.landed().await, w.expected(&[VARINT_V1]));
    let err = protolake::pipeline::process(
        &svc.deps,
        ObjectRef {
            store: Arc::new(S3Store::new(w.s3.clone(), w.src.clone())),
            key: VARINT_V2.into(),
            pin: Pin::default(),
            bucket: Some(w.src.clone()),
        },
    )
    .await
    .unwrap_err();
    assert!(err.is_retryable(), "throttling is worth a retry: {err}");
    assert!(
        err.to_string()
            .contains(&format!("s3://{}/{VARINT_V2}", w.src)),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row_s3_body_cut_mid_object_fails_the_record_and_lands_nothing() {
    let w = world().await;
    // One gzip'd varint stream and one raw single message.
    let objs = w.put_examples(&[VARINT_V2, SINGLE_V2]).await;
    for (key, _) in &objs {
        let half = example(key).len() / 2;
        w.proxy
            .rule(w.get_of(key), None, Action::CutBodyAfter(half));
    }
    let records: Vec<(&str, String)> = vec![
        ("m-gz", notification(&w.src, VARINT_V2, Some(&objs[0].1))),
        ("m-raw", notification(&w.src, SINGLE_V2, Some(&objs[1].1))),
    ];
    let svc = w.service();
    let failed = invoke(&svc, &records, None).await;
    assert_eq!(failed, vec!["m-gz", "m-raw"]);
    assert!(w.landed().await.is_empty(), "no partial output lands");
    // The redelivery, with the network healthy again, lands the whole objects.
    w.proxy.clear();
    assert!(invoke(&svc, &records, None).await.is_empty());
    assert_eq!(w.landed().await, w.expected(&[VARINT_V2, SINGLE_V2]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row_s4_body_stalled_after_headers_fails_at_the_record_timeout_and_the_others_finish() {
    let w = world().await;
    let objs = w.put_examples(&[VARINT_V2, VARINT_V1, SINGLE_V2]).await;
    w.proxy
        .rule(w.get_of(VARINT_V2), None, Action::StallAfter(100));
    // A 2 s record timeout inside a 30 s invocation.
    let svc = w.service_with(w.s3_landing(), Limits::default(), Some(2));
    let started = Instant::now();
    let failed = invoke(
        &svc,
        &[
            (
                "m-stalled",
                notification(&w.src, VARINT_V2, Some(&objs[0].1)),
            ),
            ("m-ok-1", notification(&w.src, VARINT_V1, Some(&objs[1].1))),
            ("m-ok-2", notification(&w.src, SINGLE_V2, Some(&objs[2].1))),
        ],
        Some(Duration::from_secs(30)),
    )
    .await;
    assert_eq!(failed, vec!["m-stalled"]);
    assert!(
        started.elapsed() < Duration::from_secs(25),
        "the response comes before the invocation's deadline"
    );
    assert_eq!(w.landed().await, w.expected(&[VARINT_V1, SINGLE_V2]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row_s5_oversized_forbidden_or_missing_object_fails_fast_permanently_naming_it() {
    let w = world().await;
    let objs = w.put_examples(&[VARINT_V2, VARINT_V1]).await;
    let limits = Limits {
        max_object: 64,
        ..Limits::default()
    };
    let small = w.service_with(w.s3_landing(), limits, None);
    let source = |key: &str| ObjectRef {
        store: Arc::new(S3Store::new(w.s3.clone(), w.src.clone())),
        key: key.into(),
        pin: Pin::default(),
        bucket: Some(w.src.clone()),
    };
    // Larger than max_object: refused on its Content-Length.
    let err = protolake::pipeline::process(&small.deps, source(VARINT_V2))
        .await
        .unwrap_err();
    let line = err.to_string();
    assert!(
        line.contains(&format!("s3://{}/{VARINT_V2}", w.src)),
        "{line}"
    );
    assert!(line.contains("exceeds the limit of 64 bytes"), "{line}");
    assert!(!err.is_retryable(), "{line}");
    // 403: permanent, names the object.
    w.proxy.rule(
        w.get_of(VARINT_V1),
        None,
        Action::Fail {
            status: 403,
            code: "AccessDenied",
        },
    );
    let svc = w.service();
    let err = protolake::pipeline::process(&svc.deps, source(VARINT_V1))
        .await
        .unwrap_err();
    assert!(!err.is_retryable(), "{err}");
    assert!(
        err.to_string()
            .contains(&format!("s3://{}/{VARINT_V1}", w.src)),
        "{err}"
    );
    assert_eq!(
        w.proxy.count(&w.get_of(VARINT_V1)),
        1,
        "a permanent error is not retried"
    );
    // NoSuchKey with PROTOLAKE_ON_MISSING_OBJECT=fail: the record fails (to the DLQ).
    let mut strict = Arc::try_unwrap(w.service()).ok().unwrap();
    strict.on_missing = OnMissing::Fail;
    let failed = invoke(
        &Arc::new(strict),
        &[
            (
                "m-gone",
                notification(&w.src, "events/pageviews/gone.pb.gz", None),
            ),
            ("m-big", notification(&w.src, VARINT_V2, Some(&objs[0].1))),
        ],
        None,
    )
    .await;
    assert_eq!(failed, vec!["m-gone"]);
    assert_eq!(w.landed().await, w.expected(&[VARINT_V2]));
}

// ---------------------------------------------------------------------------------------
// L: the Lambda invocation.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row_l4_invocation_deadline_near_reports_only_the_unfinished_records() {
    let w = world().await;
    let objs = w.put_examples(&[VARINT_V2, VARINT_V1]).await;
    w.proxy.rule(
        w.get_of(VARINT_V2),
        None,
        Action::Delay(Duration::from_secs(90)),
    );
    // 8 s left, less the 5 s safety margin: 3 s for the batch.
    let failed = invoke(
        &w.service(),
        &[
            ("m-slow", notification(&w.src, VARINT_V2, Some(&objs[0].1))),
            ("m-ok", notification(&w.src, VARINT_V1, Some(&objs[1].1))),
        ],
        Some(Duration::from_secs(8)),
    )
    .await;
    assert_eq!(failed, vec!["m-slow"]);
    assert_eq!(w.landed().await, w.expected(&[VARINT_V1]));
}

// ---------------------------------------------------------------------------------------
// E, W: duplicates, stale notifications, redelivery, races.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row_e7_duplicate_notifications_in_one_batch_and_across_batches_land_one_object() {
    let w = world().await;
    let objs = w.put_examples(&[VARINT_V2]).await;
    let body = notification(&w.src, VARINT_V2, Some(&objs[0].1));
    let local = tempfile::tempdir().unwrap();
    for svc in [
        w.service(),
        w.service_with(
            Place {
                store: Arc::new(LocalStore::new(local.path().to_path_buf())),
                prefix: String::new(),
            },
            Limits::default(),
            None,
        ),
    ] {
        // Three copies at once (concurrency 3), then once more in a later batch.
        let dupes = [
            ("d1", body.clone()),
            ("d2", body.clone()),
            ("d3", body.clone()),
        ];
        assert!(invoke(&svc, &dupes, None).await.is_empty());
        assert!(invoke(&svc, &[("d4", body.clone())], None).await.is_empty());
    }
    assert_eq!(w.landed().await, w.expected(&[VARINT_V2]));
    let files: Vec<PathBuf> = walk(local.path());
    assert_eq!(
        files,
        vec![local
            .path()
            .join(&w.src)
            .join(format!("{VARINT_V2}.ndjson"))],
        "one file, no temporaries left"
    );
    assert_eq!(
        std::fs::read_to_string(&files[0]).unwrap(),
        decoded(VARINT_V2)
    );
}

fn walk(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}

/// A queue receiving the source bucket's real (moto) notifications.
async fn notified_queue(w: &World, sqs: &aws_sdk_sqs::Client, visibility: u32) -> String {
    let queue = sqs
        .create_queue()
        .queue_name(unique("q"))
        .attributes(
            QueueAttributeName::VisibilityTimeout,
            visibility.to_string(),
        )
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_owned();
    let arn = sqs
        .get_queue_attributes()
        .queue_url(&queue)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes()
        .unwrap()[&QueueAttributeName::QueueArn]
        .clone();
    w.direct
        .put_bucket_notification_configuration()
        .bucket(&w.src)
        .notification_configuration(
            NotificationConfiguration::builder()
                .queue_configurations(
                    QueueConfiguration::builder()
                        .queue_arn(&arn)
                        .events(Event::from("s3:ObjectCreated:*"))
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    queue
}

/// Every message body in the queue (received once, left invisible).
async fn drain_bodies(sqs: &aws_sdk_sqs::Client, queue: &str) -> Vec<String> {
    let mut out = Vec::new();
    loop {
        let r = sqs
            .receive_message()
            .queue_url(queue)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap();
        let msgs = r.messages();
        if msgs.is_empty() {
            return out;
        }
        out.extend(msgs.iter().filter_map(|m| m.body().map(str::to_owned)));
    }
}

/// Receives and deletes every visible message.
async fn delete_all(sqs: &aws_sdk_sqs::Client, queue: &str) {
    loop {
        let r = sqs
            .receive_message()
            .queue_url(queue)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap();
        if r.messages().is_empty() {
            return;
        }
        for m in r.messages() {
            sqs.delete_message()
                .queue_url(queue)
                .receipt_handle(m.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row_e8_stale_notification_is_skipped_and_the_newer_version_lands() {
    let w = world().await;
    let sqs = sqs_at(&moto().endpoint).await;
    let queue = notified_queue(&w, &sqs, 30).await;
    let key = "events/pageview-singles/overwritten.pb";
    let etag_a = w.put(key, example(SINGLE_V2)).await;
    let etag_b = w.put(key, example(SINGLE_V2_GZ)).await;
    assert_ne!(etag_a, etag_b);
    // moto's own notification bodies, the test event left out.
    let bodies: Vec<String> = drain_bodies(&sqs, &queue)
        .await
        .into_iter()
        .filter(|b| b.contains("\"Records\""))
        .collect();
    let find = |etag: &str| bodies.iter().find(|b| b.contains(etag)).unwrap().clone();
    let (a, b) = (find(&etag_a), find(&etag_b));
    let svc = w.service();
    // A is delivered late, after B was written: acknowledged, nothing landed.
    assert!(invoke(&svc, &[("m-a", a.clone())], None).await.is_empty());
    assert!(
        w.landed().await.is_empty(),
        "the stale version is not landed"
    );
    assert!(invoke(&svc, &[("m-b", b)], None).await.is_empty());
    // And A once more after B: still B's data.
    assert!(invoke(&svc, &[("m-a-again", a)], None).await.is_empty());
    let expected: BTreeMap<_, _> = [(w.landing_key(key), decoded(SINGLE_V2_GZ))].into();
    assert_eq!(w.landed().await, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row_w1_redelivery_after_a_put_whose_reply_was_lost_lands_one_identical_object() {
    let w = world().await;
    let objs = w.put_examples(&[VARINT_V2]).await;
    let landing_put = Match::default().method("PUT").path(uri_path(&format!(
        "/{}/{}",
        w.land,
        w.landing_key(VARINT_V2)
    )));
    // moto stores every attempt, the client sees only 503s: the record fails after the PUT
    // happened (a crash after the PUT looks the same to SQS).
    w.proxy.rule(
        landing_put.clone(),
        None,
        Action::FailAfterForward {
            status: 503,
            code: "ServiceUnavailable",
        },
    );
    let records = [("m1", notification(&w.src, VARINT_V2, Some(&objs[0].1)))];
    let svc = w.service();
    assert_eq!(invoke(&svc, &records, None).await, vec!["m1"]);
    assert!(w.proxy.count(&landing_put) >= 1);
    let etag = |w: &World| {
        let (c, b, k) = (w.direct.clone(), w.land.clone(), w.landing_key(VARINT_V2));
        async move {
            c.head_object()
                .bucket(b)
                .key(k)
                .send()
                .await
                .unwrap()
                .e_tag()
                .unwrap()
                .to_owned()
        }
    };
    let first = etag(&w).await;
    w.proxy.clear();
    // Redelivered twice more.
    assert!(invoke(&svc, &records, None).await.is_empty());
    assert!(invoke(&svc, &records, None).await.is_empty());
    assert_eq!(etag(&w).await, first, "the same bytes each time");
    assert_eq!(w.landed().await, w.expected(&[VARINT_V2]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row_w2_two_workers_racing_on_one_key_both_succeed_and_leave_one_object() {
    let w = world().await;
    let objs = w.put_examples(&[VARINT_V2, VARINT_V2_B]).await;
    // Two independent workers (own registry caches), same notifications, at once.
    let (one, two) = (w.service(), w.service());
    let records: Vec<(&str, String)> = objs
        .iter()
        .zip(["a", "b"])
        .map(|((k, e), id)| (id, notification(&w.src, k, Some(e))))
        .collect();
    let (r1, r2) = tokio::join!(invoke(&one, &records, None), invoke(&two, &records, None));
    assert!(r1.is_empty() && r2.is_empty(), "{r1:?} {r2:?}");
    assert_eq!(w.landed().await, w.expected(&[VARINT_V2, VARINT_V2_B]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row_w3_failed_multipart_upload_is_aborted_and_leaves_no_parts() {
    let w = world().await;
    let objs = w.put_examples(&[VARINT_V2]).await;
    let body = notification(&w.src, VARINT_V2, Some(&objs[0].1));
    // Every output goes up in parts (one part: the last part may be small).
    let multipart = |timeout: Option<u64>| {
        w.service_with(
            Place {
                store: Arc::new(
                    S3Store::new(w.s3.clone(), w.land.clone()).with_multipart(1, PART_SIZE),
                ),
                prefix: "json/".into(),
            },
            Limits::default(),
            timeout,
        )
    };
    let uploads = || {
        let (c, b) = (w.direct.clone(), w.land.clone());
        async move {
            c.list_multipart_uploads()
                .bucket(b)
                .send()
                .await
                .unwrap()
                .uploads()
                .len()
        }
    };
    let upload_part = Match::default().method("PUT").query("partNumber=");
    let complete = Match::default().method("POST").query("uploadId=");
    let abort = Match::default().method("DELETE").query("uploadId=");
    let fail = Action::Fail {
        status: 503,
        code: "ServiceUnavailable",
    };
    // UploadPart fails, then CompleteMultipartUpload fails: aborted each time.
    for step in [upload_part.clone(), complete] {
        w.proxy.clear();
        w.proxy.rule(step.clone(), None, fail.clone());
        let aborts = w.proxy.count(&abort);
        assert_eq!(
            invoke(&multipart(None), &[("m1", body.clone())], None).await,
            vec!["m1"]
        );
        assert!(w.proxy.count(&step) >= 1, "the fault was hit");
        assert_eq!(
            w.proxy.count(&abort),
            aborts + 1,
            "AbortMultipartUpload sent"
        );
        assert_eq!(uploads().await, 0, "ListMultipartUploads is empty");
        assert!(w.landed().await.is_empty());
    }
    // UploadPart hangs past the record timeout: the dropped upload is aborted all the same.
    w.proxy.clear();
    w.proxy
        .rule(upload_part, None, Action::Delay(Duration::from_secs(90)));
    assert_eq!(
        invoke(&multipart(Some(2)), &[("m1", body.clone())], None).await,
        vec!["m1"]
    );
    eventually(
        "the abandoned upload is aborted",
        Duration::from_secs(30),
        || async { uploads().await == 0 },
    )
    .await;
    assert!(w.landed().await.is_empty());
    // Healthy again: the multipart result is the same bytes a single PUT lands.
    w.proxy.clear();
    assert!(invoke(&multipart(None), &[("m1", body)], None)
        .await
        .is_empty());
    assert_eq!(w.landed().await, w.expected(&[VARINT_V2]));
    assert_eq!(uploads().await, 0);
}

// ---------------------------------------------------------------------------------------
// L5, Q: `protolake poll` as a child process, through the proxy.

fn poll_command(w: &World, endpoint: &str, queue: &str, extra: &[&str]) -> Command {
    let mut cmd = Command::new(crate::support::bin());
    cmd.arg("poll")
        .args(["--queue-url", queue, "--wait-seconds", "1"])
        .args(extra)
        .env("PROTOLAKE_REGISTRY", format!("s3://{}/schemas/", w.reg))
        .env("PROTOLAKE_LANDING", format!("s3://{}/json/", w.land))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, v) in moto().env() {
        cmd.env(k, v);
    }
    cmd.env("AWS_ENDPOINT_URL", endpoint);
    cmd
}

/// Waits for a child with a hang guard; returns (exit code, stderr).
fn wait_child(mut child: Child, guard: Duration) -> (Option<i32>, String) {
    let until = Instant::now() + guard;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            use std::io::Read;
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            return (status.code(), err);
        }
        if Instant::now() > until {
            let _ = child.kill();
            panic!("hang guard: child did not exit within {guard:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
}

async fn queue_depth(sqs: &aws_sdk_sqs::Client, url: &str) -> u64 {
    let a = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .unwrap();
    let attrs = a.attributes().unwrap();
    [
        QueueAttributeName::ApproximateNumberOfMessages,
        QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
    ]
    .iter()
    .map(|k| {
        attrs
            .get(k)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    })
    .sum()
}

/// Runs `poll --once` until the queue is empty (hang guard).
async fn drain_with_poll(w: &World, sqs: &aws_sdk_sqs::Client, queue: &str) {
    let until = Instant::now() + Duration::from_secs(90);
    while queue_depth(sqs, queue).await > 0 {
        assert!(Instant::now() < until, "hang guard: queue not drained");
        let child = poll_command(w, &moto().endpoint, queue, &["--once"])
            .spawn()
            .unwrap();
        let (code, err) = wait_child(child, Duration::from_secs(60));
        assert!(!err.contains("panicked"), "{err}");
        assert!(code.is_some(), "poll killed by a signal: {err}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row_l5_poll_sigkilled_mid_batch_then_rerun_lands_identical_outputs_and_no_extras() {
    let w = world().await;
    let sqs = sqs_at(&moto().endpoint).await;
    let queue = notified_queue(&w, &sqs, 2).await;
    let keys = [VARINT_V2, VARINT_V2_B, VARINT_V1, SINGLE_V2];
    w.put_examples(&keys).await;
    // One object hangs, so the batch is in flight when the worker dies.
    w.proxy.rule(
        w.get_of(SINGLE_V2),
        None,
        Action::Delay(Duration::from_secs(90)),
    );
    let mut child = poll_command(&w, &w.proxy.endpoint, &queue, &["--concurrency", "4"])
        .spawn()
        .unwrap();
    eventually(
        "the worker is mid-batch",
        Duration::from_secs(60),
        || async { w.proxy.count(&w.get_of(SINGLE_V2)) >= 1 },
    )
    .await;
    child.kill().unwrap(); // SIGKILL
    let (code, _) = wait_child(child, Duration::from_secs(10));
    assert_eq!(code, None, "killed by the signal");
    assert!(
        queue_depth(&sqs, &queue).await > 0,
        "the unfinished batch stays queued"
    );
    drain_with_poll(&w, &sqs, &queue).await;
    assert_eq!(w.landed().await, w.expected(&keys));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row_q1_failed_or_partial_delete_is_logged_and_the_redelivery_lands_identically() {
    let w = world().await;
    let sqs = sqs_at(&moto().endpoint).await;
    let queue = notified_queue(&w, &sqs, 1).await;
    w.put_examples(&[VARINT_V2]).await;
    let delete = Match::default().target("DeleteMessageBatch");
    // First the whole DeleteMessageBatch fails, then it reports every entry failed (a stale
    // receipt handle).
    let faults = [
        Action::Fail {
            status: 500,
            code: "InternalError",
        },
        Action::Reply {
            status: 200,
            body: r#"{"Successful":[],"Failed":[{"Id":"0","Code":"ReceiptHandleIsInvalid","SenderFault":true,"Message":"stale"}]}"#,
        },
    ];
    for fault in faults {
        w.proxy.clear();
        w.proxy.rule(delete.clone(), None, fault);
        let before = w.proxy.count(&delete);
        let mut got = 0;
        // Receive until the notification (not the test event) was processed once.
        let until = Instant::now() + Duration::from_secs(60);
        while got == 0 {
            assert!(Instant::now() < until, "hang guard");
            let child = poll_command(&w, &w.proxy.endpoint, &queue, &["--once"])
                .spawn()
                .unwrap();
            let (code, err) = wait_child(child, Duration::from_secs(60));
            assert_eq!(
                code,
                Some(0),
                "a failed delete is not a failed record: {err}"
            );
            assert!(!err.contains("panicked"), "{err}");
            if w.proxy.count(&delete) > before && !w.landed().await.is_empty() {
                assert!(
                    err.contains("redelivered"),
                    "the failed delete is logged: {err}"
                );
                got += 1;
            }
        }
        tokio::time::sleep(Duration::from_millis(1100)).await;
        assert!(
            queue_depth(&sqs, &queue).await >= 1,
            "the message comes back"
        );
    }
    w.proxy.clear();
    drain_with_poll(&w, &sqs, &queue).await;
    assert_eq!(w.landed().await, w.expected(&[VARINT_V2]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row_q2_heartbeat_keeps_a_slow_record_invisible_and_only_records_in_flight_are_extended() {
    let w = world().await;
    let sqs = sqs_at(&moto().endpoint).await;
    let queue = notified_queue(&w, &sqs, 4).await;
    delete_all(&sqs, &queue).await; // the test event
    w.put_examples(&[VARINT_V2, VARINT_V1]).await;
    // The slow record takes more than twice the visibility timeout.
    w.proxy.rule(
        w.get_of(VARINT_V1),
        None,
        Action::Delay(Duration::from_secs(10)),
    );
    let svc = w.service_with(w.s3_landing(), Limits::default(), None);
    let opts = protolake::poll::PollOptions {
        queue_url: queue.clone(),
        once: true,
        wait_seconds: 1,
        shutdown_grace: Duration::from_secs(1),
    };
    let worker_sqs = sqs_at(&w.proxy.endpoint).await;
    let poll = tokio::spawn(protolake::poll::run(
        svc,
        worker_sqs,
        opts,
        std::future::pending(),
    ));
    eventually(
        "the worker holds the batch",
        Duration::from_secs(60),
        || async { w.proxy.count(&w.get_of(VARINT_V1)) >= 1 },
    )
    .await;
    // Another consumer never sees the messages while the worker holds them.
    let mut stolen = 0;
    while !poll.is_finished() {
        let r = sqs
            .receive_message()
            .queue_url(&queue)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap();
        stolen += r.messages().len();
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let summary = poll.await.unwrap().unwrap();
    // Neither the slow record (extended) nor the fast one (deleted as it finished, long
    // before the batch did) came back to another consumer.
    assert_eq!(
        stolen, 0,
        "a message was redelivered while the worker held it"
    );
    assert_eq!((summary.received, summary.succeeded), (2, 2));
    // Heartbeats carried the slow record's receipt handle only, never the finished one's.
    let beats: Vec<String> = w
        .proxy
        .seen()
        .into_iter()
        .filter(|s| s.target.contains("ChangeMessageVisibilityBatch"))
        .map(|s| String::from_utf8_lossy(&s.body).into_owned())
        .collect();
    assert!(beats.len() >= 2, "heartbeats sent: {beats:?}");
    for b in &beats {
        let v: serde_json::Value = serde_json::from_str(b).unwrap();
        assert_eq!(
            v["Entries"].as_array().unwrap().len(),
            1,
            "only the record in flight: {b}"
        );
    }
    assert_eq!(w.landed().await, w.expected(&[VARINT_V2, VARINT_V1]));
    assert_eq!(queue_depth(&sqs, &queue).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row_q3_sigterm_mid_batch_abandons_unfinished_records_undeleted_and_exits_0() {
    let w = world().await;
    let sqs = sqs_at(&moto().endpoint).await;
    let queue = notified_queue(&w, &sqs, 30).await;
    w.put_examples(&[VARINT_V2, SINGLE_V2]).await;
    w.proxy
        .rule(w.get_of(SINGLE_V2), None, Action::StallAfter(10));
    let child = poll_command(
        &w,
        &w.proxy.endpoint,
        &queue,
        &["--shutdown-grace-secs", "1"],
    )
    .spawn()
    .unwrap();
    let done = w.landing_key(VARINT_V2);
    eventually(
        "one record landed, one in flight",
        Duration::from_secs(60),
        || async {
            w.proxy.count(&w.get_of(SINGLE_V2)) >= 1 && w.landed().await.contains_key(&done)
        },
    )
    .await;
    signal(&child, "-TERM");
    let (code, err) = wait_child(child, Duration::from_secs(30));
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("1 abandoned"), "{err}");
    // The finished record was deleted; the abandoned one is back in the queue, visible.
    let bodies = drain_bodies(&sqs, &queue).await;
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    assert!(bodies[0].contains("3d577cb4"), "{bodies:?}");
    assert_eq!(w.landed().await, w.expected(&[VARINT_V2]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row_q3_sqs_receive_failures_back_off_without_spinning_and_sigterm_exits_0() {
    let w = world().await;
    let sqs = sqs_at(&moto().endpoint).await;
    let queue = notified_queue(&w, &sqs, 30).await;
    let receive = Match::default().target("ReceiveMessage");
    w.proxy.rule(
        receive.clone(),
        None,
        Action::Fail {
            status: 503,
            code: "ServiceUnavailable",
        },
    );
    let child = poll_command(&w, &w.proxy.endpoint, &queue, &[])
        .spawn()
        .unwrap();
    eventually("receives refused", Duration::from_secs(60), || async {
        w.proxy.count(&receive) >= 3
    })
    .await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    signal(&child, "-TERM");
    let (code, err) = wait_child(child, Duration::from_secs(30));
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("backing off"), "{err}");
    // A spinning worker would send hundreds in these seconds; SDK retries (3 attempts a
    // call) and poll's doubling backoff keep it to a handful.
    let n = w.proxy.count(&receive);
    assert!(n <= 30, "{n} receives: no backoff");
}

// ---------------------------------------------------------------------------------------
// D, P: hostile bytes through the real binary under an address-space limit.

/// The address space the decoder gets: a few times its working set, far below what any of
/// these inputs would take if their lengths were believed.
const AS_LIMIT: &str = "--as=1073741824";

const SCHEMA: &str = r#"
syntax = "proto3";
package demo;
import "google/protobuf/any.proto";
message Item { int64 id = 1; string name = 2; repeated int32 tags = 3; }
message Node { Node child = 1; int32 value = 2; }
message Holder { google.protobuf.Any any = 1; }
"#;

struct Decoder {
    dir: tempfile::TempDir,
}

impl Decoder {
    fn new() -> Decoder {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("demo.proto"), SCHEMA).unwrap();
        Decoder { dir }
    }

    fn write(&self, name: &str, bytes: &[u8]) -> String {
        let p = self.dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p.display().to_string()
    }

    /// `protolake decode` under `prlimit`; output to /dev/null. Returns (exit code, stderr).
    fn decode(&self, ty: &str, extra: &[&str], input: &str) -> (Option<i32>, String) {
        let proto = self.dir.path().join("demo.proto");
        let child = Command::new("prlimit")
            .arg(AS_LIMIT)
            .arg("--")
            .arg(crate::support::bin())
            .args(["decode", "-d"])
            .arg(&proto)
            .args(["-t", ty, "-o", "/dev/null"])
            .args(extra)
            .arg(input)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("prlimit (util-linux)");
        wait_child(child, Duration::from_secs(120))
    }

    /// Asserts a clean failure: exit status 1 (not a signal), one line naming the input
    /// and containing `cause`.
    fn fails(&self, ty: &str, extra: &[&str], input: &str, cause: &str) -> String {
        let (code, err) = self.decode(ty, extra, input);
        assert_eq!(code, Some(1), "exit status (None: a signal): {err}");
        let lines: Vec<&str> = err.lines().collect();
        assert_eq!(lines.len(), 1, "one line: {err}");
        assert!(
            lines[0].starts_with(&format!("protolake: error: {input}")),
            "{err}"
        );
        assert!(lines[0].contains(cause), "{cause:?} in {err}");
        lines[0].to_owned()
    }

    fn succeeds(&self, ty: &str, extra: &[&str], input: &str) {
        let (code, err) = self.decode(ty, extra, input);
        assert_eq!(code, Some(0), "{err}");
    }
}

fn varint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(data).unwrap();
    e.finish().unwrap()
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

#[test]
fn row_d1_gzip_bomb_of_1_gib_stops_at_the_caps_with_bounded_memory() {
    let d = Decoder::new();
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let chunk = vec![0u8; 1 << 20];
    for _ in 0..1024 {
        e.write_all(&chunk).unwrap();
    }
    let bomb = e.finish().unwrap();
    assert!(bomb.len() < 2 << 20, "{} bytes", bomb.len());
    let input = d.write("bomb.gz", &bomb);
    // One message of 1 GiB: refused at the frame limit, not buffered.
    d.fails(
        "demo.Item",
        &[],
        &input,
        "exceeds the limit of 67108864 bytes",
    );
    // A stream of empty messages: stopped by the decompressed-size cap.
    d.fails(
        "demo.Item",
        &["--framing", "varint", "--max-decompressed", "64MiB"],
        &input,
        "decompressed size exceeds the limit of 67108864 bytes",
    );
}

#[test]
fn row_d2_zstd_frame_demanding_a_2_gib_window_is_refused_before_allocating() {
    let d = Decoder::new();
    // Magic, frame header descriptor 0 (no single segment: a window descriptor follows),
    // window descriptor 0xA8 = 2^(10+21) = 2 GiB, then one raw last block of one byte.
    let frame = [0x28, 0xB5, 0x2F, 0xFD, 0x00, 0xA8, 0x09, 0x00, 0x00, 0x00];
    let input = d.write("window.zst", &frame);
    d.fails("demo.Item", &[], &input, "Frame requires too much memory");
}

#[test]
fn row_d3_gzip_members_decode_and_junk_truncation_or_bad_crc_fail_cleanly() {
    let d = Decoder::new();
    let one = gzip(&delimited(&[item(), item()]));
    let mut members = one.clone();
    members.extend_from_slice(&gzip(&delimited(&[item()])));
    let ok = d.write("members.gz", &members);
    d.succeeds("demo.Item", &["--framing", "varint"], &ok);
    let mut junk = one.clone();
    junk.extend_from_slice(b"trailing junk, not a gzip member");
    let junk = d.write("junk.gz", &junk);
    d.fails("demo.Item", &["--framing", "varint"], &junk, "message");
    let truncated = d.write("truncated.gz", &one[..one.len() - 6]);
    d.fails("demo.Item", &["--framing", "varint"], &truncated, "message");
    let mut crc = one.clone();
    let at = crc.len() - 8;
    crc[at] ^= 0xFF;
    let crc = d.write("crc.gz", &crc);
    d.fails("demo.Item", &["--framing", "varint"], &crc, "message");
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
fn row_p1_nesting_100_decodes_101_and_10000_deep_fail_with_the_recursion_limit() {
    let d = Decoder::new();
    let ok = d.write("n100.bin", &nested(100));
    d.succeeds("demo.Node", &[], &ok);
    for depth in [101, 10_000] {
        let input = d.write(&format!("n{depth}.bin"), &nested(depth));
        d.fails("demo.Node", &[], &input, "recursion limit");
    }
    // Unknown groups nested 10,000 deep.
    let mut groups = vec![0x1b; 10_000];
    groups.extend(vec![0x1c; 10_000]);
    let input = d.write("groups.bin", &groups);
    d.fails("demo.Node", &[], &input, "recursion limit");
}

#[test]
fn row_p2_lying_lengths_fail_at_the_frame_without_allocating_them() {
    let d = Decoder::new();
    // A varint length past the end of the stream.
    let mut past = Vec::new();
    varint(1 << 20, &mut past);
    past.extend_from_slice(&item());
    let input = d.write("past.bin", &past);
    d.fails(
        "demo.Item",
        &["--framing", "varint"],
        &input,
        "frame declares 1048576 bytes but the stream ends after 11",
    );
    // An 11-byte varint.
    let input = d.write("varint11.bin", &[0xFF; 11]);
    d.fails(
        "demo.Item",
        &["--framing", "varint"],
        &input,
        "invalid varint",
    );
    // A fixed32 length of 4 GiB - 1: believing it would not fit under the limit.
    let mut huge = vec![0xFF, 0xFF, 0xFF, 0xFF];
    huge.extend_from_slice(&item());
    let input = d.write("fixed32.bin", &huge);
    d.fails(
        "demo.Item",
        &["--framing", "fixed32", "--max-frame", "8GiB"],
        &input,
        "frame declares 4294967295 bytes but the stream ends after 11",
    );
}

#[test]
fn row_p3_ten_million_empty_frames_hit_the_message_and_output_caps() {
    let d = Decoder::new();
    let zeros = gzip(&vec![0u8; 10_000_000]);
    assert!(zeros.len() < 64 << 10, "{} bytes", zeros.len());
    let input = d.write("empty-frames.gz", &zeros);
    d.fails(
        "demo.Item",
        &[
            "--framing",
            "varint",
            "--emit-defaults",
            "--max-messages",
            "1000000",
        ],
        &input,
        "more than 1000000 messages",
    );
    d.fails(
        "demo.Item",
        &[
            "--framing",
            "varint",
            "--emit-defaults",
            "--max-output",
            "16MiB",
        ],
        &input,
        "output exceeds the limit of 16777216 bytes",
    );
}

#[test]
fn row_p6_any_in_any_10000_deep_is_an_error_not_a_stack_overflow() {
    let d = Decoder::new();
    // Holder { any: Any { type_url: Any, value: Any { type_url: Any, value: ... } } }
    let url = b"type.googleapis.com/google.protobuf.Any";
    let mut any: Vec<u8> = Vec::new();
    for _ in 0..10_000 {
        let mut outer = vec![0x0a];
        varint(url.len() as u64, &mut outer);
        outer.extend_from_slice(url);
        outer.push(0x12);
        varint(any.len() as u64, &mut outer);
        outer.extend_from_slice(&any);
        any = outer;
    }
    let mut holder = vec![0x0a];
    varint(any.len() as u64, &mut holder);
    holder.extend_from_slice(&any);
    let input = d.write("any.bin", &holder);
    d.fails("demo.Holder", &[], &input, "message 0 at byte");
    // An Any whose type is not in the pool names the type.
    let url = b"type.googleapis.com/acme.Missing";
    let mut any = vec![0x0a];
    varint(url.len() as u64, &mut any);
    any.extend_from_slice(url);
    let mut holder = vec![0x0a];
    varint(any.len() as u64, &mut holder);
    holder.extend_from_slice(&any);
    let input = d.write("any-missing.bin", &holder);
    d.fails("demo.Holder", &[], &input, "acme.Missing");
}
