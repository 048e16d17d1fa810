//! `protolake backfill` (the real binary) against moto server: objects under a prefix become
//! one S3 notification each on the queue, `protolake poll` drains them, and the landing
//! holds exactly what `protolake run` lands over the same prefix; failed batch entries and
//! throttled calls through the fault proxy (tests/it/support/fault_proxy.rs); usage errors.

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use crate::support::aws::{bucket, clients, depth, publish_examples};
use crate::support::fault_proxy::{Action, FaultProxy, Match};
use crate::support::moto::{moto, unique};
use crate::support::{root, run_with, Run};
use aws_sdk_sqs::types::QueueAttributeName;
use protolake::notify::{self, Notification};

async fn queue(sqs: &aws_sdk_sqs::Client) -> String {
    sqs.create_queue()
        .queue_name(unique("bf"))
        // Longer than any drain here: a message is received once unless it fails.
        .attributes(QueueAttributeName::VisibilityTimeout, "60")
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_owned()
}

/// Example objects, by the route their key must be under.
const SINGLES: [&str; 4] = [
    "3d577cb4-ddbf-4d07-a9fe-294a859be7df.pb",
    "69e898a0-2bbf-4c7a-b33d-a73721b307f7.pb.gz",
    "6fb12946-171c-4e96-820c-20e5316e9e21.pb.gz",
    "d13093fc-95b0-4435-a320-763bd4d03ca8.pb.gz",
];
const VARINTS: [&str; 4] = [
    "hour=09/part-0000.pb.gz",
    "hour=09/part-0001.pb.gz",
    "hour=10/part-0000.pb.gz",
    "hour=11/part-0000.pb.gz",
];

/// `n` (key, body) pairs under `events/`: singles and varint streams from examples/, with
/// keys that hold spaces, `+`, `=`, `%` and non-ASCII characters.
fn objects(n: usize) -> Vec<(String, Vec<u8>)> {
    let ex = |rel: String| std::fs::read(root().join("examples").join(rel)).unwrap();
    let names = [
        "plain",
        "with space",
        "plus+sign",
        "été ünï",
        "日本 語",
        "100% + 1",
    ];
    (0..n)
        .map(|i| {
            let name = names[i % names.len()];
            if i % 2 == 0 {
                let f = SINGLES[i / 2 % SINGLES.len()];
                (
                    format!("events/pageview-singles/dt=2026-11-26/{name} {i:04}.pb"),
                    ex(format!("events/pageview-singles/dt=2026-11-26/{f}")),
                )
            } else {
                let f = VARINTS[i / 2 % VARINTS.len()];
                (
                    format!(
                        "events/pageviews/dt=2026-11-26/{name}/{i:04}-{}",
                        f.replace('/', "-")
                    ),
                    ex(format!("events/pageviews/dt=2026-11-26/{f}")),
                )
            }
        })
        .collect()
}

/// Uploads with 16 requests in flight.
async fn upload(s3: &aws_sdk_s3::Client, bucket: &str, objects: &[(String, Vec<u8>)]) {
    let sem = std::sync::Arc::new(tokio::sync::Semaphore::new(16));
    let mut tasks = tokio::task::JoinSet::new();
    for (k, body) in objects.iter().cloned() {
        let (s3, bucket, sem) = (s3.clone(), bucket.to_owned(), sem.clone());
        tasks.spawn(async move {
            let _p = sem.acquire().await.unwrap();
            s3.put_object()
                .bucket(bucket)
                .key(k)
                .body(body.into())
                .send()
                .await
                .unwrap();
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.unwrap();
    }
}

/// Every object under `bucket`, key -> bytes (paginated; fetched 16 at a time).
async fn contents(s3: &aws_sdk_s3::Client, bucket: &str) -> BTreeMap<String, Vec<u8>> {
    let mut keys = Vec::new();
    let mut pages = s3.list_objects_v2().bucket(bucket).into_paginator().send();
    while let Some(page) = pages.next().await {
        keys.extend(
            page.unwrap()
                .contents()
                .iter()
                .map(|o| o.key().unwrap().to_owned()),
        );
    }
    let sem = std::sync::Arc::new(tokio::sync::Semaphore::new(16));
    let mut tasks = tokio::task::JoinSet::new();
    for k in keys {
        let (s3, bucket, sem) = (s3.clone(), bucket.to_owned(), sem.clone());
        tasks.spawn(async move {
            let _p = sem.acquire().await.unwrap();
            let o = s3.get_object().bucket(bucket).key(&k).send().await.unwrap();
            (k, o.body.collect().await.unwrap().to_vec())
        });
    }
    let mut out = BTreeMap::new();
    while let Some(r) = tasks.join_next().await {
        let (k, v) = r.unwrap();
        out.insert(k, v);
    }
    out
}

/// Receives every message (they stay invisible for the rest of the test) and returns the
/// `s3://bucket/key` each names, decoded by the service's own parser.
async fn queued_objects(sqs: &aws_sdk_sqs::Client, url: &str) -> Vec<String> {
    let mut out = Vec::new();
    // A hang is a minute without a message; a slow moto (a loaded machine) is not.
    let mut until = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(Instant::now() < until, "hang guard: receiving");
        assert!(out.len() < 100_000, "the queue never empties");
        let r = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .visibility_timeout(600)
            .send()
            .await
            .unwrap();
        let messages = r.messages();
        if messages.is_empty() {
            return out;
        }
        until = Instant::now() + Duration::from_secs(60);
        for m in messages {
            let Notification::Records { objects, skipped } =
                notify::parse(m.body().unwrap()).unwrap()
            else {
                panic!("a test event on the queue")
            };
            assert_eq!((objects.len(), skipped), (1, 0), "one object per message");
            out.push(format!("s3://{}/{}", objects[0].bucket, objects[0].key));
        }
    }
}

fn env_at(endpoint: &str) -> Vec<(&'static str, String)> {
    let mut env = moto().env();
    for (k, v) in env.iter_mut() {
        if *k == "AWS_ENDPOINT_URL" {
            *v = endpoint.to_owned();
        }
    }
    env.push(("NO_COLOR", "1".into()));
    env
}

/// The real binary's `backfill`, through `endpoint` (moto, or the proxy in front of it).
fn backfill_at(endpoint: &str, args: &[&str]) -> Run {
    let env = env_at(endpoint);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut all = vec!["backfill"];
    all.extend_from_slice(args);
    run_with(&all, None, &env, Duration::from_secs(120))
}

fn backfill(args: &[&str]) -> Run {
    backfill_at(&moto().endpoint, args)
}

/// The summary line.
fn summary(r: &Run) -> &str {
    r.stderr
        .lines()
        .rev()
        .find(|l| l.starts_with("protolake backfill: "))
        .unwrap_or_else(|| panic!("no summary in: {}", r.stderr))
}

/// `protolake poll` workers (the real binary, as the fleet runs it), logging to files so a
/// full pipe never blocks them.
struct Workers {
    children: Vec<(Child, std::fs::File)>,
}

fn start_workers(n: usize, queue: &str, reg: &str, land: &str) -> Workers {
    let children = (0..n)
        .map(|_| {
            let log = tempfile::tempfile().unwrap();
            let mut cmd = Command::new(crate::support::bin());
            cmd.args(["poll", "--queue-url", queue, "--wait-seconds", "1"])
                .env("PROTOLAKE_REGISTRY", format!("s3://{reg}/schemas/"))
                .env("PROTOLAKE_LANDING", format!("s3://{land}/json/"))
                .env("PROTOLAKE_CONCURRENCY", "10")
                .env("PROTOLAKE_LOG", "info,protolake::service=warn")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log.try_clone().unwrap());
            for (k, v) in moto().env() {
                cmd.env(k, v);
            }
            (cmd.spawn().unwrap(), log)
        })
        .collect();
    Workers { children }
}

impl Workers {
    /// Waits until the queue is empty, stops the workers with SIGTERM (each must exit 0
    /// having failed nothing) and returns how many messages they received in all.
    async fn drain(self, sqs: &aws_sdk_sqs::Client, queue: &str) -> u64 {
        // A hang guard, not a speed limit: it fires only when the queue stops moving.
        let mut last = depth(sqs, queue).await;
        let mut moved = Instant::now();
        while last != (0, 0) {
            let now = depth(sqs, queue).await;
            if now != last {
                (last, moved) = (now, Instant::now());
            }
            if moved.elapsed() > Duration::from_secs(120) {
                let mut logs = String::new();
                for (mut child, mut log) in self.children {
                    let _ = child.kill();
                    let _ = child.wait();
                    use std::io::{Read, Seek};
                    log.rewind().unwrap();
                    log.read_to_string(&mut logs).unwrap();
                }
                panic!(
                    "hang guard: the queue stopped draining for 120 s at {:?}; workers' logs:\n{logs}",
                    depth(sqs, queue).await
                );
            }
            if last != (0, 0) {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
        let mut received = 0;
        for (mut child, mut log) in self.children {
            Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status()
                .unwrap();
            let guard = Instant::now() + Duration::from_secs(60);
            let status = loop {
                if let Some(s) = child.try_wait().unwrap() {
                    break s;
                }
                assert!(Instant::now() < guard, "hang guard: poll did not stop");
                std::thread::sleep(Duration::from_millis(20));
            };
            use std::io::{Read, Seek};
            let mut err = String::new();
            log.rewind().unwrap();
            log.read_to_string(&mut err).unwrap();
            assert_eq!(status.code(), Some(0), "{err}");
            // "protolake poll: N received, N succeeded, 0 failed, 0 abandoned"
            let line = err
                .lines()
                .find_map(|l| l.strip_prefix("protolake poll: "))
                .unwrap_or_else(|| panic!("no poll summary: {err}"));
            let n: Vec<u64> = line
                .split(", ")
                .map(|p| p.split(' ').next().unwrap().parse().unwrap())
                .collect();
            assert_eq!((n[1], n[2], n[3]), (n[0], 0, 0), "{line}");
            received += n[0];
        }
        received
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backfill_of_1000_objects_lands_what_run_lands_and_a_second_backfill_changes_no_byte() {
    let started = Instant::now();
    let (s3, sqs) = clients().await;
    let (reg, src, land, land_run) = (
        bucket(&s3, "reg").await,
        bucket(&s3, "src").await,
        bucket(&s3, "land").await,
        bucket(&s3, "landrun").await,
    );
    publish_examples(&s3, &reg).await;
    let q = queue(&sqs).await;
    let objs = objects(1000);
    upload(&s3, &src, &objs).await;
    // A folder marker is listed but not sent (the service would skip it).
    upload(
        &s3,
        &src,
        &[("events/pageviews/folder/".into(), Vec::new())],
    )
    .await;
    let uploaded = started.elapsed();

    // The fleet runs while the backfill sends, as in production (and moto's SendMessage
    // slows down with the queue's depth: about 0.4 ms per queued message per call).
    let source = format!("s3://{src}/events/");
    let workers = start_workers(2, &q, &reg, &land);
    // Through the proxy, which records every SendMessageBatch request it forwards.
    let proxy = FaultProxy::start(&moto().endpoint).await;
    let t = Instant::now();
    let r = backfill_at(&proxy.endpoint, &["--queue-url", &q, &source]);
    let backfill_secs = t.elapsed();
    assert_eq!(r.status, Some(0), "{}", r.stderr);
    let line = summary(&r);
    assert!(
        line.contains("1001 listed, 1000 sent") && line.contains(" 0 failed"),
        "{line}"
    );
    assert!(line.contains("1 folder markers skipped"), "{line}");
    let mut sent: Vec<String> = proxy
        .seen()
        .iter()
        .filter(|s| s.target.contains("SendMessageBatch"))
        .flat_map(|s| {
            let v: serde_json::Value = serde_json::from_slice(&s.body).unwrap();
            v["Entries"]
                .as_array()
                .unwrap()
                .iter()
                .map(
                    |e| match notify::parse(e["MessageBody"].as_str().unwrap()).unwrap() {
                        Notification::Records { objects, .. } => objects[0].key.clone(),
                        Notification::Test => panic!("a test event"),
                    },
                )
                .collect::<Vec<_>>()
        })
        .collect();
    sent.sort();
    let mut want: Vec<String> = objs.iter().map(|(k, _)| k.clone()).collect();
    want.sort();
    assert_eq!(
        sent, want,
        "exactly one message per object was sent, none twice"
    );
    let t = Instant::now();
    // At least once: under load a message may be redelivered (and lands the same bytes).
    let received = workers.drain(&sqs, &q).await;
    assert!(received >= 1000, "{received}");
    let drain_secs = t.elapsed();
    let t_run = Instant::now();
    let r = crate::support::run_with(
        &[
            "run",
            "-q",
            "--registry",
            &format!("s3://{reg}/schemas/"),
            "--landing",
            &format!("s3://{land_run}/json/"),
            &source,
        ],
        None,
        &moto()
            .env()
            .iter()
            .map(|(k, v)| (*k, v.as_str()))
            .collect::<Vec<_>>(),
        Duration::from_secs(120),
    );
    assert_eq!(r.status, Some(0), "{}", r.stderr);

    let run_secs = t_run.elapsed();
    let landed = contents(&s3, &land).await;
    let expected: BTreeSet<String> = objs
        .iter()
        .map(|(k, _)| format!("json/{src}/{k}.ndjson"))
        .collect();
    assert_eq!(
        landed.keys().cloned().collect::<BTreeSet<_>>(),
        expected,
        "exactly the 1,000 objects landed, under their decoded keys"
    );
    assert!(landed.values().all(|v| !v.is_empty()));
    let by_run = contents(&s3, &land_run).await;
    assert!(
        landed == by_run,
        "the fleet's landing is byte-identical to `run` over the same prefix"
    );

    // Again over landed objects: the same keys are rewritten with the same bytes.
    let workers = start_workers(2, &q, &reg, &land);
    let r = backfill(&["--queue-url", &q, &source]);
    assert_eq!(r.status, Some(0), "{}", r.stderr);
    assert!(summary(&r).contains("1000 sent"), "{}", r.stderr);
    assert!(workers.drain(&sqs, &q).await >= 1000);
    assert!(
        contents(&s3, &land).await == landed,
        "a second backfill changed no landed byte and added no object"
    );
    eprintln!(
        "timing: upload {uploaded:?}, backfill {backfill_secs:?}, drain after it {drain_secs:?}, run {run_secs:?}, total {:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_batch_entries_and_throttled_calls_are_retried_and_nothing_is_sent_twice() {
    let (s3, sqs) = clients().await;
    let src = bucket(&s3, "src").await;
    let q = queue(&sqs).await;
    let objs = objects(200);
    upload(&s3, &src, &objs).await;
    let proxy = FaultProxy::start(&moto().endpoint).await;
    let batch = Match::default().target("AmazonSQS.SendMessageBatch");
    // The first calls are refused outright (SQS queues nothing of them), then every third
    // entry of the next ones is reported failed (SQS queued the others).
    proxy.rule(
        batch.clone(),
        Some(3),
        Action::Fail {
            status: 400,
            code: "ThrottlingException",
        },
    );
    proxy.rule(
        batch.clone(),
        Some(12),
        Action::FailBatchEntries { every: 3 },
    );
    let r = backfill_at(
        &proxy.endpoint,
        &["--queue-url", &q, &format!("s3://{src}/events/")],
    );
    assert_eq!(r.status, Some(0), "{}", r.stderr);
    let line = summary(&r);
    assert!(
        line.contains("200 listed, 200 sent") && line.contains(" 0 failed"),
        "{line}"
    );
    let faulted = proxy
        .seen()
        .iter()
        .filter(|s| s.faulted && s.target.contains("SendMessageBatch"))
        .count();
    assert_eq!(faulted, 15, "every injected fault was hit");
    let retries: u64 = line
        .split(" retries)")
        .next()
        .and_then(|head| head.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{line}"));
    assert!(
        retries >= 12,
        "each partly failed call had an entry retried: {line}"
    );

    let mut queued = queued_objects(&sqs, &q).await;
    queued.sort();
    let mut want: Vec<String> = objs
        .iter()
        .map(|(k, _)| format!("s3://{src}/{k}"))
        .collect();
    want.sort();
    assert_eq!(queued, want, "each object queued exactly once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttled_queue_fails_clearly_counts_what_was_sent_and_a_rerun_converges() {
    let (s3, sqs) = clients().await;
    let src = bucket(&s3, "src").await;
    let q = queue(&sqs).await;
    let objs = objects(60);
    upload(&s3, &src, &objs).await;
    let proxy = FaultProxy::start(&moto().endpoint).await;
    let batch = Match::default().target("AmazonSQS.SendMessageBatch");
    // One call at a time: five batches go through, then SQS throttles every call.
    proxy.rule(batch.clone(), Some(5), Action::Delay(Duration::ZERO));
    proxy.rule(
        batch.clone(),
        None,
        Action::Fail {
            status: 400,
            code: "ThrottlingException",
        },
    );
    let source = format!("s3://{src}/events/");
    let r = backfill_at(
        &proxy.endpoint,
        &[
            "--queue-url",
            &q,
            "--concurrency",
            "1",
            "--max-attempts",
            "2",
            &source,
        ],
    );
    assert_eq!(r.status, Some(1), "{}", r.stderr);
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    let line = summary(&r);
    assert!(
        line.contains("60 listed, 50 sent") && line.contains(" 10 failed"),
        "{line}"
    );
    let err = r
        .stderr
        .lines()
        .find(|l| l.starts_with("protolake: error: "))
        .unwrap();
    assert!(
        err.contains(&q)
            && err.contains("ThrottlingException")
            && err.contains("10 message(s) not sent"),
        "{err}"
    );
    assert!(
        err.contains(&format!("s3://{src}/events/")),
        "names the objects: {err}"
    );
    assert_eq!(
        depth(&sqs, &q).await,
        (50, 0),
        "the summary counts what was sent"
    );

    // Rerun once the throttling is over: every object is queued; the 50 sent twice are
    // harmless (the landing is idempotent: the 1,000-object test's second backfill).
    proxy.clear();
    let r = backfill_at(&proxy.endpoint, &["--queue-url", &q, &source]);
    assert_eq!(r.status, Some(0), "{}", r.stderr);
    assert!(summary(&r).contains("60 sent"), "{}", r.stderr);
    let queued: BTreeSet<String> = queued_objects(&sqs, &q).await.into_iter().collect();
    let want: BTreeSet<String> = objs
        .iter()
        .map(|(k, _)| format!("s3://{src}/{k}"))
        .collect();
    assert_eq!(queued, want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn since_and_until_select_by_last_modified_and_dry_run_sends_nothing() {
    let (s3, sqs) = clients().await;
    let src = bucket(&s3, "src").await;
    let q = queue(&sqs).await;
    let objs = objects(24);
    let (old, new) = objs.split_at(12);
    upload(&s3, &src, old).await;
    // T: the next whole second after the old uploads (LastModified may be truncated to
    // seconds), then the new ones after it.
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap();
    let t = now.as_secs() + 1;
    tokio::time::sleep(Duration::from_secs(t) - now + Duration::from_millis(200)).await;
    let secs = |s: u64| {
        let (d, r) = (s / 86_400, s % 86_400);
        // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
        let z = d as i64 + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        format!(
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
            r / 3600,
            r % 3600 / 60,
            r % 60
        )
    };
    let since = secs(t);
    upload(&s3, &src, new).await;
    let source = format!("s3://{src}/");

    let r = backfill(&["--queue-url", &q, "--dry-run", "--since", &since, &source]);
    assert_eq!(r.status, Some(0), "{}", r.stderr);
    let line = summary(&r);
    assert!(
        line.contains("dry run: 24 listed, 12 would be sent")
            && line.contains("12 outside --since/--until"),
        "{line}"
    );
    let shown: BTreeSet<String> = r.lines().into_iter().collect();
    let want_new: BTreeSet<String> = new.iter().map(|(k, _)| format!("s3://{src}/{k}")).collect();
    assert_eq!(shown.len(), 10, "the first 10 keys are shown");
    assert!(shown.is_subset(&want_new), "{shown:?}");
    assert_eq!(depth(&sqs, &q).await, (0, 0), "a dry run sends nothing");

    let r = backfill(&["--queue-url", &q, "--until", &since, &source]);
    assert_eq!(r.status, Some(0), "{}", r.stderr);
    let queued: BTreeSet<String> = queued_objects(&sqs, &q).await.into_iter().collect();
    let want_old: BTreeSet<String> = old.iter().map(|(k, _)| format!("s3://{src}/{k}")).collect();
    assert_eq!(
        queued, want_old,
        "--until is exclusive of T, and only the old ones"
    );

    // Plain dates: the whole window in the past, then in the future.
    let r = backfill(&[
        "--queue-url",
        &q,
        "--dry-run",
        "--until",
        "2001-01-01",
        &source,
    ]);
    assert!(summary(&r).contains("0 would be sent"), "{}", r.stderr);
    let r = backfill(&[
        "--queue-url",
        &q,
        "--dry-run",
        "--since",
        "2001-01-01",
        &source,
    ]);
    assert!(summary(&r).contains("24 would be sent"), "{}", r.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_errors_are_one_line_exit_2_and_nothing_is_listed_or_sent() {
    let (s3, sqs) = clients().await;
    let src = bucket(&s3, "src").await;
    let q = queue(&sqs).await;
    upload(&s3, &src, &objects(3)).await;
    let source = format!("s3://{src}/");

    // Not an S3 SOURCE.
    let dir = root().join("examples").display().to_string();
    let r = backfill(&["--queue-url", &q, &dir]);
    let line = r.assert_clean_failure();
    assert_eq!(r.status, Some(2));
    assert!(
        line.contains(&dir) && line.contains("not an S3 location"),
        "{line}"
    );

    // A queue that does not exist: said before anything is listed.
    let proxy = FaultProxy::start(&moto().endpoint).await;
    let missing = q.replace("/bf-", "/no-such-queue-");
    let r = backfill_at(&proxy.endpoint, &["--queue-url", &missing, &source]);
    let line = r.assert_clean_failure();
    assert_eq!(r.status, Some(2));
    assert!(
        line.contains(&missing) && line.contains("does not exist"),
        "{line}"
    );
    assert_eq!(
        proxy.count(&Match::default().query("list-type=2")),
        0,
        "nothing listed"
    );

    // A queue name or ARN instead of its URL; bad times; an empty window.
    for (args, needle) in [
        (vec!["--queue-url", "bf-queue"], "not a queue URL"),
        (
            vec!["--queue-url", q.as_str(), "--since", "yesterday"],
            "--since: \"yesterday\" is neither an RFC 3339 timestamp",
        ),
        (
            vec![
                "--queue-url",
                q.as_str(),
                "--since",
                "2026-12-01",
                "--until",
                "2026-11-01",
            ],
            "is not before --until",
        ),
    ] {
        let mut args = args.clone();
        args.push(&source);
        let r = backfill(&args);
        let line = r.assert_clean_failure();
        assert_eq!(r.status, Some(2), "{args:?}");
        assert!(line.contains(needle), "{line}");
    }

    // A bucket that does not exist: named, and nothing sent, not even the good SOURCE's.
    let r = backfill(&[
        "--queue-url",
        &q,
        &source,
        "s3://protolake-no-such-bucket/x/",
    ]);
    let line = r.assert_clean_failure();
    assert_eq!(r.status, Some(2));
    assert!(
        line.contains("s3://protolake-no-such-bucket/x/") && line.contains("does not exist"),
        "{line}"
    );
    assert_eq!(
        depth(&sqs, &q).await,
        (0, 0),
        "the good SOURCE was not sent either"
    );
}
