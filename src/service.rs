//! One SQS record's fate, shared by the Lambda handler and `protolake poll`: parse the
//! notification, process every object it names through the pipeline, and decide whether the
//! record succeeded. Plus the per-invocation metrics (CloudWatch Embedded Metric Format).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::notify::{self, Notification, NotifyError};
use crate::pipeline::{self, Deps, Error, ObjectRef};
use crate::store::{Buckets, Pin, StoreError};

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
    /// The stores of the source buckets that notifications name.
    pub buckets: Buckets,
    /// Policy for objects deleted before they were read.
    pub on_missing: OnMissing,
    /// Records processed at once.
    pub concurrency: usize,
    /// Longest one record may take once it started (its own clock, inside the invocation's
    /// deadline): a source body that stalls fails its record, not the batch.
    pub record_timeout: Option<Duration>,
}

/// Which records of a batch have finished, and how. `poll` extends the visibility of the
/// others only, and when it abandons a batch at shutdown it deletes only the successes.
#[derive(Debug, Default)]
pub struct Progress {
    finished: std::sync::Mutex<std::collections::HashMap<String, bool>>,
    changed: tokio::sync::Notify,
}

impl Progress {
    fn finished(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, bool>> {
        // A panic elsewhere cannot leave the map half-updated (one insert at a time).
        self.finished.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn record(&self, id: &str, ok: bool) {
        self.finished().insert(id.to_owned(), ok);
        self.changed.notify_one();
    }

    /// Resolves when a record finished since the last call (a finish with nobody waiting
    /// is kept, so none is missed).
    pub async fn changed(&self) {
        self.changed.notified().await;
    }

    /// Whether record `id` has finished (either way).
    pub fn is_finished(&self, id: &str) -> bool {
        self.finished().contains_key(id)
    }

    /// The records that finished successfully so far.
    pub fn succeeded(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .finished()
            .iter()
            .filter(|(_, ok)| **ok)
            .map(|(id, _)| id.clone())
            .collect();
        ids.sort();
        ids
    }
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

/// Why one SQS record failed (it will be retried, then dead-lettered).
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The body is not a notification this service understands.
    #[error(transparent)]
    Notification(#[from] NotifyError),
    /// An object it names failed in the pipeline.
    #[error(transparent)]
    Object(#[from] Error),
    /// The record ran past its own timeout.
    #[error("not finished within the record timeout of {} s", .0.as_secs_f64())]
    TimedOut(Duration),
    /// The record ran past the invocation's deadline (less its safety margin).
    #[error("not finished before the invocation deadline (less its safety margin)")]
    Deadline,
}

impl RecordError {
    /// Whether a retry may succeed: I/O and registry trouble, a timeout. A bad body or bad
    /// bytes fail the same way each time (they reach the dead-letter queue).
    pub fn is_retryable(&self) -> bool {
        match self {
            RecordError::Notification(_) => false,
            RecordError::Object(e) => e.is_retryable(),
            RecordError::TimedOut(_) | RecordError::Deadline => true,
        }
    }
}

/// Processes one SQS message body. `Ok` acknowledges it (landed, or an explicit skip);
/// `Err` fails it.
pub async fn process_record(
    svc: &Service,
    body: &str,
    metrics: &Metrics,
) -> Result<(), RecordError> {
    let objects = match notify::parse(body)? {
        Notification::Test => {
            tracing::info!("s3:TestEvent acknowledged");
            metrics.skipped.fetch_add(1, Ordering::Relaxed);
            return Ok(());
        }
        Notification::Records { objects, skipped } => {
            metrics.skipped.fetch_add(skipped as u64, Ordering::Relaxed);
            objects
        }
    };
    for o in objects {
        let started = Instant::now();
        let object = ObjectRef {
            store: (svc.buckets)(&o.bucket),
            key: o.key.clone(),
            // Pinned to what was notified: the version, else the ETag.
            pin: Pin {
                version_id: o.version_id.clone(),
                etag: o.etag.clone(),
            },
            bucket: Some(o.bucket.clone()),
        };
        match pipeline::process(&svc.deps, object).await {
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
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Runs `records` (id, body) through [`process_record`] with bounded concurrency, each in
/// its own task so a panic fails only its record, each bounded by the service's record
/// timeout and all by `deadline`; `progress` learns of each record as it finishes. Returns
/// the ids that failed.
pub async fn process_batch(
    svc: &Arc<Service>,
    records: Vec<(String, String)>,
    deadline: Option<Duration>,
    metrics: &Arc<Metrics>,
    progress: &Arc<Progress>,
) -> Vec<String> {
    let (s, m) = (svc.clone(), metrics.clone());
    let bounds = Bounds {
        concurrency: svc.concurrency,
        deadline,
        record_timeout: svc.record_timeout,
    };
    let failed = run_isolated(records, bounds, progress.clone(), move |body| {
        let (svc, metrics) = (s.clone(), m.clone());
        async move { process_record(&svc, &body, &metrics).await }
    })
    .await;
    metrics
        .failures
        .fetch_add(failed.len() as u64, Ordering::Relaxed);
    failed
}

/// How a batch is bounded.
#[derive(Debug, Clone, Copy, Default)]
pub struct Bounds {
    /// Records run at once.
    pub concurrency: usize,
    /// The whole batch's budget, counted from its start (the invocation deadline less a margin).
    pub deadline: Option<Duration>,
    /// One record's budget, counted from when it gets a slot.
    pub record_timeout: Option<Duration>,
}

/// Runs `work` on every (id, body): at most `concurrency` at once, each in its own task (a
/// panic fails that record only), each bounded by its own timeout and all of them by one
/// deadline counted from now, so records waiting for a slot do not get a fresh budget.
/// Returns the ids that failed.
pub async fn run_isolated<F, Fut>(
    records: Vec<(String, String)>,
    bounds: Bounds,
    progress: Arc<Progress>,
    work: F,
) -> Vec<String>
where
    F: Fn(String) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<(), RecordError>> + Send + 'static,
{
    let work = Arc::new(work);
    let until = bounds.deadline.map(|d| tokio::time::Instant::now() + d);
    let record_timeout = bounds.record_timeout;
    let semaphore = Arc::new(tokio::sync::Semaphore::new(bounds.concurrency.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    let mut ids = std::collections::HashMap::new();
    for (id, body) in records {
        let (work, semaphore, progress) = (work.clone(), semaphore.clone(), progress.clone());
        let record_id = id.clone();
        let handle = tasks.spawn(async move {
            let run = async move {
                let _permit = semaphore.acquire_owned().await;
                match record_timeout {
                    Some(t) => tokio::time::timeout(t, work(body))
                        .await
                        .unwrap_or(Err(RecordError::TimedOut(t))),
                    None => work(body).await,
                }
            };
            let result = match until {
                Some(t) => tokio::time::timeout_at(t, run)
                    .await
                    .unwrap_or(Err(RecordError::Deadline)),
                None => run.await,
            };
            progress.record(&record_id, result.is_ok());
            (record_id, result)
        });
        ids.insert(handle.id(), id);
    }
    let mut failed = Vec::new();
    while let Some(joined) = tasks.join_next_with_id().await {
        match joined {
            Ok((_, (_, Ok(())))) => {}
            Ok((_, (id, Err(e)))) => {
                let error = e.to_string().replace('\n', " ");
                tracing::error!(message_id = %id, retryable = e.is_retryable(), %error, "record failed");
                failed.push(id);
            }
            Err(e) => {
                let id = ids.get(&e.id()).cloned().unwrap_or_default();
                progress.record(&id, false);
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

    fn bounds(concurrency: usize, deadline: Option<u64>, record: Option<u64>) -> Bounds {
        Bounds {
            concurrency,
            deadline: deadline.map(Duration::from_secs),
            record_timeout: record.map(Duration::from_secs),
        }
    }

    /// Catalogue row L3.
    #[tokio::test]
    async fn row_l3_a_panicking_record_fails_alone() {
        let progress = Arc::new(Progress::default());
        let failed = run_isolated(
            records(&["ok-1", "boom", "ok-2", "bad"]),
            bounds(2, None, None),
            progress.clone(),
            |body| async move {
                match body.as_str() {
                    "boom" => panic!("a bug while processing one record"),
                    "bad" => Err(RecordError::Notification(notify::parse("{}").unwrap_err())),
                    _ => Ok(()),
                }
            },
        )
        .await;
        assert_eq!(failed, vec!["bad", "boom"]);
        assert_eq!(progress.succeeded(), vec!["ok-1", "ok-2"]);
        assert!(progress.is_finished("boom"));
    }

    /// Catalogue row L4. Virtual time: the slow record and the one queued behind it
    /// (concurrency 1) miss the deadline; the one that finished first is not reported.
    #[tokio::test(start_paused = true)]
    async fn row_l4_records_past_the_deadline_fail_and_queued_ones_get_no_fresh_budget() {
        let failed = run_isolated(
            records(&["a-fast", "b-slow", "c-queued"]),
            bounds(1, Some(10), None),
            Arc::default(),
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

    /// Catalogue row S4 (unit half). Virtual time: a record that hangs fails at its own
    /// timeout, long before the batch deadline; its neighbours, queued behind it, still run
    /// with their own full budget.
    #[tokio::test(start_paused = true)]
    async fn row_s4_a_hanging_record_fails_at_its_own_timeout_and_the_others_finish() {
        let started = tokio::time::Instant::now();
        let failed = run_isolated(
            records(&["a-hangs", "b-ok", "c-ok"]),
            bounds(1, Some(600), Some(5)),
            Arc::default(),
            |body| async move {
                let secs = if body == "a-hangs" { 3600 } else { 4 };
                tokio::time::sleep(Duration::from_secs(secs)).await;
                Ok(())
            },
        )
        .await;
        assert_eq!(failed, vec!["a-hangs"]);
        assert!(started.elapsed() < Duration::from_secs(600));
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
