//! One SQS record's fate, shared by the Lambda handler and `protolake poll`: parse the
//! notification, process every object it names through the pipeline, and decide whether the
//! record succeeded. Plus the per-invocation metrics (CloudWatch Embedded Metric Format).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::error::Error;
use crate::notify::{self, Notification};
use crate::pipeline::{self, Deps, Source};
use crate::store::s3::S3Store;
use crate::store::StoreError;

/// What to do when a notified object no longer exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnMissing {
    /// Log, count and acknowledge: retrying cannot bring a deleted object back.
    #[default]
    Ack,
    /// Fail the record, so it reaches the dead-letter queue.
    Fail,
}

impl std::str::FromStr for OnMissing {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "ack" => Ok(OnMissing::Ack),
            "fail" => Ok(OnMissing::Fail),
            o => Err(format!("unknown value {o:?} (expected ack or fail)")),
        }
    }
}

/// Everything the service needs, built once per process.
pub struct Service {
    /// Registry, landing, options.
    pub deps: Deps,
    /// The S3 client used for source buckets.
    pub s3: aws_sdk_s3::Client,
    /// Policy for objects deleted before they were read.
    pub on_missing: OnMissing,
    /// Records processed at once.
    pub concurrency: usize,
}

/// Counters of one invocation (or one `poll` batch).
#[derive(Debug, Default)]
pub struct Metrics {
    /// Objects landed.
    pub objects: AtomicU64,
    /// Messages transcoded.
    pub messages: AtomicU64,
    /// Protobuf bytes read (decompressed).
    pub bytes_in: AtomicU64,
    /// NDJSON bytes written (before output compression).
    pub bytes_out: AtomicU64,
    /// Records failed.
    pub failures: AtomicU64,
    /// Objects gone before they were read (acknowledged).
    pub missing: AtomicU64,
    /// Notifications for versions since overwritten (acknowledged).
    pub stale: AtomicU64,
    /// Test events, deletions and folder markers (acknowledged).
    pub skipped: AtomicU64,
}

impl Metrics {
    /// One CloudWatch Embedded Metric Format line.
    pub fn emf(&self, function: &str) -> String {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let ts = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        serde_json::json!({
            "_aws": {
                "Timestamp": ts,
                "CloudWatchMetrics": [{
                    "Namespace": "protolake",
                    "Dimensions": [["Function"]],
                    "Metrics": [
                        {"Name": "Objects", "Unit": "Count"},
                        {"Name": "Messages", "Unit": "Count"},
                        {"Name": "BytesIn", "Unit": "Bytes"},
                        {"Name": "BytesOut", "Unit": "Bytes"},
                        {"Name": "Failures", "Unit": "Count"},
                        {"Name": "MissingObjects", "Unit": "Count"},
                        {"Name": "StaleNotifications", "Unit": "Count"},
                        {"Name": "Skipped", "Unit": "Count"}
                    ]
                }]
            },
            "Function": function,
            "Objects": g(&self.objects),
            "Messages": g(&self.messages),
            "BytesIn": g(&self.bytes_in),
            "BytesOut": g(&self.bytes_out),
            "Failures": g(&self.failures),
            "MissingObjects": g(&self.missing),
            "StaleNotifications": g(&self.stale),
            "Skipped": g(&self.skipped),
        })
        .to_string()
    }
}

/// Processes one SQS message body. `Ok` acknowledges it (landed, or an explicit skip);
/// `Err` fails it (it will be retried, then dead-lettered) with the reason.
pub async fn process_record(svc: &Service, body: &str, metrics: &Metrics) -> Result<(), String> {
    let objects = match notify::parse(body) {
        Ok(Notification::Test) => {
            tracing::info!("s3:TestEvent acknowledged");
            metrics.skipped.fetch_add(1, Ordering::Relaxed);
            return Ok(());
        }
        Ok(Notification::Records { objects, skipped }) => {
            metrics.skipped.fetch_add(skipped as u64, Ordering::Relaxed);
            objects
        }
        Err(e) => return Err(e.to_string()),
    };
    for o in objects {
        let started = Instant::now();
        let source = Source::S3 {
            store: S3Store::new(svc.s3.clone(), o.bucket.clone()),
            key: o.key.clone(),
            // Pinned to what was notified: the version, else the ETag.
            etag: if o.version_id.is_none() {
                o.etag.clone()
            } else {
                None
            },
            version_id: o.version_id.clone(),
        };
        match pipeline::process(&svc.deps, source).await {
            Ok(out) => {
                metrics.objects.fetch_add(1, Ordering::Relaxed);
                metrics
                    .messages
                    .fetch_add(out.stats.messages, Ordering::Relaxed);
                metrics
                    .bytes_in
                    .fetch_add(out.stats.bytes_in, Ordering::Relaxed);
                metrics
                    .bytes_out
                    .fetch_add(out.stats.bytes_out, Ordering::Relaxed);
                tracing::info!(
                    bucket = %o.bucket, key = %o.key, r#type = %out.message_type, messages = out.stats.messages,
                    bytes_in = out.stats.bytes_in, bytes_out = out.stats.bytes_out, landed = %out.landed,
                    duration_ms = started.elapsed().as_millis() as u64, "object landed"
                );
            }
            Err(Error::Source(StoreError::NotFound { location }))
                if svc.on_missing == OnMissing::Ack =>
            {
                metrics.missing.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(%location, "object no longer exists; acknowledged (PROTOLAKE_ON_MISSING_OBJECT=fail to dead-letter it)");
            }
            Err(Error::Source(StoreError::PreconditionFailed { location })) => {
                // A newer version was written since; its own notification lands it.
                metrics.stale.fetch_add(1, Ordering::Relaxed);
                tracing::info!(%location, "notification is for a version since overwritten; skipped");
            }
            Err(e) => {
                let line = e.to_string().replace('\n', " ");
                tracing::error!(bucket = %o.bucket, key = %o.key, retryable = e.is_retryable(), error = %line, "object failed");
                return Err(line);
            }
        }
    }
    Ok(())
}

/// Runs `records` (id, body) through [`process_record`] with bounded concurrency, each in
/// its own task so a panic fails only its record, all bounded by `deadline`. Returns the ids
/// that failed.
pub async fn process_batch(
    svc: &Arc<Service>,
    records: Vec<(String, String)>,
    deadline: Option<Duration>,
    metrics: &Arc<Metrics>,
) -> Vec<String> {
    let (s, m) = (svc.clone(), metrics.clone());
    let failed = run_isolated(records, svc.concurrency, deadline, move |body| {
        let (svc, metrics) = (s.clone(), m.clone());
        async move { process_record(&svc, &body, &metrics).await }
    })
    .await;
    metrics
        .failures
        .fetch_add(failed.len() as u64, Ordering::Relaxed);
    failed
}

/// Runs `work` on every (id, body): at most `concurrency` at once, each in its own task (a
/// panic fails that record only), all of them bounded by one deadline counted from now, so
/// records waiting for a slot do not get a fresh budget. Returns the ids that failed.
pub async fn run_isolated<F, Fut>(
    records: Vec<(String, String)>,
    concurrency: usize,
    deadline: Option<Duration>,
    work: F,
) -> Vec<String>
where
    F: Fn(String) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<(), String>> + Send + 'static,
{
    let work = Arc::new(work);
    let until = deadline.map(|d| tokio::time::Instant::now() + d);
    let semaphore = Arc::new(tokio::sync::Semaphore::new(concurrency.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    let mut ids = std::collections::HashMap::new();
    for (id, body) in records {
        let (work, semaphore) = (work.clone(), semaphore.clone());
        let record_id = id.clone();
        let handle = tasks.spawn(async move {
            let run = async move {
                let _permit = semaphore.acquire_owned().await;
                work(body).await
            };
            let result = match until {
                Some(t) => tokio::time::timeout_at(t, run).await.unwrap_or_else(|_| {
                    Err(
                        "not finished before the invocation deadline (less its safety margin)"
                            .to_owned(),
                    )
                }),
                None => run.await,
            };
            (record_id, result)
        });
        ids.insert(handle.id(), id);
    }
    let mut failed = Vec::new();
    while let Some(joined) = tasks.join_next_with_id().await {
        match joined {
            Ok((_, (_, Ok(())))) => {}
            Ok((_, (id, Err(reason)))) => {
                tracing::error!(message_id = %id, %reason, "record failed");
                failed.push(id);
            }
            Err(e) => {
                let id = ids.get(&e.id()).cloned().unwrap_or_default();
                tracing::error!(message_id = %id, panic = e.is_panic(), "record task failed; only this record fails");
                failed.push(id);
            }
        }
    }
    failed.sort();
    failed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(ids: &[&str]) -> Vec<(String, String)> {
        ids.iter().map(|i| (i.to_string(), i.to_string())).collect()
    }

    #[tokio::test]
    async fn a_panicking_record_fails_alone() {
        let failed = run_isolated(
            records(&["ok-1", "boom", "ok-2", "bad"]),
            2,
            None,
            |body| async move {
                match body.as_str() {
                    "boom" => panic!("a bug while processing one record"),
                    "bad" => Err("bad bytes".to_owned()),
                    _ => Ok(()),
                }
            },
        )
        .await;
        assert_eq!(failed, vec!["bad", "boom"]);
    }

    /// Virtual time: the slow record and the one queued behind it (concurrency 1) miss the
    /// deadline; the one that finished first is not reported.
    #[tokio::test(start_paused = true)]
    async fn records_past_the_deadline_fail_and_queued_ones_get_no_fresh_budget() {
        let failed = run_isolated(
            records(&["a-fast", "b-slow", "c-queued"]),
            1,
            Some(Duration::from_secs(10)),
            |body| async move {
                let secs = match body.as_str() {
                    "a-fast" => 1,
                    "b-slow" => 60,
                    _ => 8,
                };
                tokio::time::sleep(Duration::from_secs(secs)).await;
                Ok(())
            },
        )
        .await;
        assert_eq!(failed, vec!["b-slow", "c-queued"]);
    }

    #[test]
    fn metrics_print_as_embedded_metric_format() {
        let m = Metrics::default();
        m.objects.fetch_add(3, Ordering::Relaxed);
        m.failures.fetch_add(1, Ordering::Relaxed);
        let v: serde_json::Value = serde_json::from_str(&m.emf("fn")).unwrap();
        assert_eq!(v["_aws"]["CloudWatchMetrics"][0]["Namespace"], "protolake");
        assert_eq!(v["Objects"], 3);
        assert_eq!(v["Failures"], 1);
        assert_eq!(v["Function"], "fn");
    }
}
