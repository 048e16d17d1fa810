//! `protolake backfill`: history through the service. Lists every object under S3 prefixes
//! and sends the service's queue one classic S3 event notification per object, so the
//! Lambda fleet (or `poll` workers) lands old objects exactly as it lands new ones: same
//! routing, same pinned read, same landing keys.
//!
//! ```text
//!  list_page (S3, page by page) -> filter (LastModified, folder markers) -> body
//!        -> batches of 10 -> SendMessageBatch (N calls in flight, failed entries retried)
//! ```
//! Memory stays bounded whatever the number of objects: the listing feeds a bounded channel
//! that the senders drain. Each message carries the object's ETag and no version id, so the
//! service reads it with `If-Match`: an object overwritten after it was listed is skipped as
//! stale (its own live notification lands the new bytes), never landed from old bytes.
//!
//! Duplicates are harmless by design (a landing key is a function of bucket and key, its
//! bytes a function of the object's bytes), so a rerun after a failure converges. Within one
//! run nothing is sent twice by this module: only the entries that SQS reported failed, or
//! whole calls that SQS refused (throttling, 5xx) or that never reached it, are retried; a
//! call whose answer was lost (a timeout after it was sent) is counted failed, not resent.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use aws_sdk_sqs::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_sqs::types::{QueueAttributeName, SendMessageBatchRequestEntry};
use aws_sdk_sqs::Client;

use crate::store::s3::{ListedObject, S3Store};
use crate::store::StoreError;

/// SQS's limit on entries in one `SendMessageBatch` call.
pub const BATCH: usize = 10;

/// Recorded in each message's `configurationId`, where S3 puts the name of the bucket's
/// notification configuration: a message in the queue or the DLQ says it came from a backfill.
pub const CONFIGURATION_ID: &str = "protolake-backfill";

/// One `s3://bucket/prefix` SOURCE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// Bucket name.
    pub bucket: String,
    /// Key prefix (may be empty: the whole bucket).
    pub prefix: String,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.prefix)
    }
}

/// Parses a SOURCE: only `s3://bucket[/prefix]`.
pub fn parse_source(s: &str) -> Result<Source, String> {
    let Some(rest) = s.strip_prefix("s3://") else {
        return Err(format!(
            "SOURCE {s:?} is not an S3 location: backfill takes s3://bucket/prefix/ (for a local tree, use `protolake run`)"
        ));
    };
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return Err(format!(
            "SOURCE {s:?} names no bucket: backfill takes s3://bucket/prefix/"
        ));
    }
    Ok(Source {
        bucket: bucket.to_owned(),
        prefix: prefix.to_owned(),
    })
}

/// Checks that `--queue-url` looks like a queue URL (not a name or an ARN).
pub fn check_queue_url(url: &str) -> Result<(), String> {
    if url.starts_with("https://") || url.starts_with("http://") {
        return Ok(());
    }
    Err(format!(
        "--queue-url {url:?} is not a queue URL (https://sqs.REGION.amazonaws.com/ACCOUNT/NAME); `aws sqs get-queue-url --queue-name NAME` prints it"
    ))
}

/// Parses `--since`/`--until`: an RFC 3339 timestamp (`2026-11-26T09:30:00Z`,
/// `2026-11-26T09:30:00.250+02:00`) or a plain date (`2026-11-26`, its midnight UTC).
pub fn parse_time(s: &str) -> Result<SystemTime, String> {
    use time::format_description::well_known::Rfc3339;
    let t = s.trim();
    let is_date = t.len() == 10
        && t.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    let full = if is_date {
        format!("{t}T00:00:00Z")
    } else {
        t.to_owned()
    };
    time::OffsetDateTime::parse(&full, &Rfc3339)
        .map(SystemTime::from)
        .map_err(|e| {
            format!(
                "{s:?} is neither an RFC 3339 timestamp (2026-11-26T09:30:00Z) nor a date (2026-11-26): {e}"
            )
        })
}

/// Which LastModified times are backfilled: `since` inclusive, `until` exclusive, so
/// `--since 2026-11-01 --until 2026-12-01` is exactly November (UTC).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Window {
    /// Earliest LastModified included.
    pub since: Option<SystemTime>,
    /// First LastModified no longer included.
    pub until: Option<SystemTime>,
}

impl Window {
    /// Whether an object modified at `t` is in the window (an unknown time is in it only
    /// when the window is unbounded).
    pub fn contains(&self, t: Option<SystemTime>) -> bool {
        match t {
            Some(t) => self.since.is_none_or(|s| t >= s) && self.until.is_none_or(|u| t < u),
            None => self.since.is_none() && self.until.is_none(),
        }
    }
}

/// A key encoded as S3 encodes it in notifications (`application/x-www-form-urlencoded`,
/// with `/` kept): ASCII letters, digits, `-_.*` and `/` as they are, a space as `+`, every
/// other byte of the UTF-8 key as `%XX`. [`crate::notify::decode_key`] inverts it.
pub fn encode_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len() + key.len() / 4);
    for b in key.bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' | b'/' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => {
                const HEX: &[u8; 16] = b"0123456789ABCDEF";
                out.push('%');
                out.push(HEX[(b >> 4) as usize] as char);
                out.push(HEX[(b & 15) as usize] as char);
            }
        }
    }
    out
}

/// `2026-11-26T18:09:20.501Z`, as S3 writes `eventTime`; `None` outside years 1970-9999.
fn event_time(t: SystemTime) -> Option<String> {
    let nanos = t.duration_since(SystemTime::UNIX_EPOCH).ok()?.as_nanos();
    let d = time::OffsetDateTime::from_unix_timestamp_nanos(i128::try_from(nanos).ok()?).ok()?;
    Some(format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        d.year(),
        u8::from(d.month()),
        d.day(),
        d.hour(),
        d.minute(),
        d.second(),
        d.millisecond()
    ))
}

/// The message for one object: a classic S3 notification (`Records`, one
/// `ObjectCreated:Put` record) with the key encoded as S3 encodes it, the size, the ETag
/// (so the service reads exactly these bytes) and LastModified as `eventTime`.
/// `configurationId` is [`CONFIGURATION_ID`]. No `awsRegion`: the bucket's region is not
/// known here and the service does not need it.
pub fn notification_body(bucket: &str, o: &ListedObject) -> String {
    let mut object = serde_json::json!({"key": encode_key(&o.key), "size": o.size});
    if !o.etag.is_empty() {
        object["eTag"] = o.etag.clone().into();
    }
    let mut record = serde_json::json!({
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "eventName": "ObjectCreated:Put",
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": CONFIGURATION_ID,
            "bucket": {"name": bucket, "arn": format!("arn:aws:s3:::{bucket}")},
            "object": object,
        },
    });
    if let Some(t) = o.last_modified.and_then(event_time) {
        record["eventTime"] = t.into();
    }
    serde_json::json!({ "Records": [record] }).to_string()
}

/// A folder marker (`a/b/`, empty): nothing to land, and the service would skip it.
fn is_folder_marker(o: &ListedObject) -> bool {
    o.key.ends_with('/') && o.size == 0
}

/// How a backfill runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// The service's queue.
    pub queue_url: String,
    /// LastModified window.
    pub window: Window,
    /// Count and collect the first keys; send nothing.
    pub dry_run: bool,
    /// `SendMessageBatch` calls in flight at once.
    pub concurrency: usize,
    /// Attempts per entry before it counts as failed (1: no retry beyond the SDK's own).
    pub max_attempts: u32,
    /// First wait before a retry; doubled per attempt, capped at [`MAX_BACKOFF`], jittered.
    pub backoff: Duration,
    /// How many keys a dry run keeps to show.
    pub show_first: usize,
    /// Page size of the listing (`None`: S3's 1,000).
    pub page_size: Option<i32>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            queue_url: String::new(),
            window: Window::default(),
            dry_run: false,
            concurrency: 8,
            max_attempts: 6,
            backoff: Duration::from_millis(200),
            show_first: 10,
            page_size: None,
        }
    }
}

/// Longest wait between two attempts of one batch.
pub const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// What a backfill did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Objects listed (every one under the SOURCEs, before filtering).
    pub listed: u64,
    /// Listed objects outside `--since`/`--until`.
    pub outside_window: u64,
    /// Folder markers skipped.
    pub folders: u64,
    /// Objects selected for sending (listed less the two above).
    pub selected: u64,
    /// Their total size.
    pub bytes: u64,
    /// Messages SQS accepted.
    pub sent: u64,
    /// Messages not sent (after every retry), or whose outcome is unknown.
    pub failed: u64,
    /// Retries: entries sent again after SQS reported them failed or refused their call.
    pub retried: u64,
    /// Dry run: the first selected objects, `s3://bucket/key`.
    pub first: Vec<String>,
    /// Why the run stopped before the end (a listing failed, the queue went away ...).
    pub stopped: Option<String>,
}

impl Summary {
    /// Selected objects that were neither sent nor counted failed (the run stopped early).
    pub fn unsent(&self) -> u64 {
        self.selected.saturating_sub(self.sent + self.failed)
    }
}

/// Errors that stop a backfill before anything is sent.
#[derive(Debug, thiserror::Error)]
pub enum BackfillError {
    /// The queue URL names no queue.
    #[error("queue {url} does not exist ({message})")]
    NoSuchQueue {
        /// The URL.
        url: String,
        /// What SQS said.
        message: String,
    },
    /// The queue could not be checked (credentials, network, permissions).
    #[error("checking queue {url}: {message}")]
    Queue {
        /// The URL.
        url: String,
        /// What SQS said.
        message: String,
    },
    /// A SOURCE's bucket does not exist.
    #[error("listing {location}: bucket {bucket} does not exist", bucket = location.bucket)]
    NoSuchBucket {
        /// The SOURCE.
        location: Source,
    },
    /// The first page of a SOURCE could not be listed (access denied, network ...).
    #[error("listing {location}: {message}")]
    Listing {
        /// The SOURCE.
        location: Source,
        /// What S3 said.
        message: String,
    },
}

impl BackfillError {
    /// Whether the command named a queue or bucket that does not exist (bad usage: exit 2).
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            BackfillError::NoSuchQueue { .. } | BackfillError::NoSuchBucket { .. }
        )
    }
}

/// What a failed listing says, without repeating the location.
fn listing_error(source: &Source, e: StoreError) -> BackfillError {
    match e {
        StoreError::NotFound { .. } => BackfillError::NoSuchBucket {
            location: source.clone(),
        },
        StoreError::Other { message, .. } => BackfillError::Listing {
            location: source.clone(),
            message,
        },
        other => BackfillError::Listing {
            location: source.clone(),
            message: other.to_string(),
        },
    }
}

/// Told of progress as it happens (the CLI draws a progress bar and prints errors).
pub trait Observer: Send + Sync {
    /// `n` more objects selected for sending (the total grows while listing goes on).
    fn selected(&self, _n: u64) {}
    /// `n` more messages sent.
    fn sent(&self, _n: u64) {}
    /// `n` more messages failed for good, and why (lines naming the queue and the objects).
    fn failed(&self, _n: u64, _errors: &[String]) {}
    /// The listing finished (or stopped).
    fn listing_done(&self) {}
}

/// An observer that ignores everything.
pub struct Quiet;
impl Observer for Quiet {}

/// An SQS client with per-attempt and per-operation timeouts, so a call that hangs fails
/// (and counts) instead of holding a backfill forever.
pub fn with_timeouts(sqs: Client) -> Client {
    let timeouts = aws_sdk_sqs::config::timeout::TimeoutConfig::builder()
        .operation_attempt_timeout(Duration::from_secs(20))
        .operation_timeout(Duration::from_secs(60))
        .build();
    Client::from_conf(sqs.config().to_builder().timeout_config(timeouts).build())
}

/// Checks that the queue exists (and can be reached) before anything is listed.
pub async fn check_queue(sqs: &Client, url: &str) -> Result<(), BackfillError> {
    match sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) => {
            let code = e.code().unwrap_or_default().to_owned();
            let missing = e
                .as_service_error()
                .is_some_and(|s| s.is_queue_does_not_exist())
                || code.contains("NonExistentQueue")
                || code.contains("QueueDoesNotExist");
            let message = DisplayErrorContext(&e).to_string();
            if missing {
                Err(BackfillError::NoSuchQueue {
                    url: url.to_owned(),
                    message: code,
                })
            } else {
                Err(BackfillError::Queue {
                    url: url.to_owned(),
                    message,
                })
            }
        }
    }
}

/// One message to send: its batch entry id, body and the object it names.
#[derive(Debug, Clone)]
struct Entry {
    id: String,
    body: String,
    object: String,
}

/// What sending one batch came to.
#[derive(Debug, Default)]
struct Outcome {
    sent: u64,
    failed: u64,
    retried: u64,
    /// An error that will fail every later call too (no such queue, access denied).
    fatal: Option<String>,
}

/// Throttling and server errors: SQS refused the call, nothing of it was applied.
fn refused_retryably<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>, status: Option<u16>) -> bool {
    match e {
        // Never reached SQS (connection refused or reset before an answer): the SDK
        // already retried; trying later may work.
        SdkError::DispatchFailure(d) => !d.is_user(),
        SdkError::ServiceError(_) => {
            let code = e.code().unwrap_or_default();
            status.is_some_and(|s| s >= 500)
                || [
                    "Throttl",
                    "RequestThrottled",
                    "TooManyRequests",
                    "ServiceUnavailable",
                    "InternalError",
                    "KmsThrottled",
                ]
                .iter()
                .any(|c| code.contains(c))
        }
        _ => false,
    }
}

/// The wait before attempt `attempt + 1` (attempt counts from 1): `base * 2^(attempt-1)`,
/// capped at [`MAX_BACKOFF`], then a uniformly random part of its upper half (jitter, so
/// senders throttled together do not retry together).
pub fn backoff(base: Duration, attempt: u32) -> Duration {
    let full = base
        .saturating_mul(1u32 << attempt.saturating_sub(1).min(16))
        .min(MAX_BACKOFF);
    let half = full / 2;
    half + Duration::from_nanos(fastrand::u64(0..=half.as_nanos() as u64))
}

/// Sends one batch, retrying what SQS reports failed (unless it is the sender's fault) and
/// calls it refused, never what it accepted.
async fn send_batch(sqs: &Client, opts: &Options, batch: Vec<Entry>) -> (Outcome, Vec<String>) {
    let mut out = Outcome::default();
    let mut errors = Vec::new();
    let mut pending = batch;
    let mut attempt = 0;
    while !pending.is_empty() {
        attempt += 1;
        if attempt > 1 {
            out.retried += pending.len() as u64;
        }
        let entries: Vec<SendMessageBatchRequestEntry> = pending
            .iter()
            .filter_map(|e| {
                SendMessageBatchRequestEntry::builder()
                    .id(&e.id)
                    .message_body(&e.body)
                    .build()
                    .ok()
            })
            .collect();
        let result = sqs
            .send_message_batch()
            .queue_url(&opts.queue_url)
            .set_entries(Some(entries))
            .send()
            .await;
        let last = attempt >= opts.max_attempts;
        let mut fail = |entries: &[Entry], why: &str, out: &mut Outcome| {
            out.failed += entries.len() as u64;
            let names: Vec<&str> = entries.iter().map(|e| e.object.as_str()).collect();
            errors.push(format!(
                "sending to {}: {} message(s) not sent ({}): {why}",
                opts.queue_url,
                entries.len(),
                names.join(", ")
            ));
        };
        match result {
            Ok(resp) => {
                let ok: std::collections::HashSet<&str> =
                    resp.successful().iter().map(|s| s.id()).collect();
                let mut retry = Vec::new();
                let mut permanent: Vec<(Entry, String)> = Vec::new();
                let mut reasons = Vec::new();
                for e in std::mem::take(&mut pending) {
                    if ok.contains(e.id.as_str()) {
                        out.sent += 1;
                        continue;
                    }
                    match resp.failed().iter().find(|f| f.id() == e.id) {
                        Some(f) if f.sender_fault() => {
                            let why =
                                format!("{} ({})", f.code(), f.message().unwrap_or("no message"));
                            permanent.push((e, why));
                        }
                        Some(f) => {
                            reasons.push(format!(
                                "{} ({})",
                                f.code(),
                                f.message().unwrap_or("no message")
                            ));
                            retry.push(e);
                        }
                        // Neither accepted nor failed: an answer SQS does not give; the
                        // entry may or may not be queued, so it is not sent again.
                        None => permanent.push((
                            e,
                            "SQS's answer names this entry neither successful nor failed"
                                .to_owned(),
                        )),
                    }
                }
                for (e, why) in &permanent {
                    fail(std::slice::from_ref(e), why, &mut out);
                }
                if !retry.is_empty() && last {
                    reasons.dedup();
                    let why = format!(
                        "SendMessageBatch reported them failed on each of {attempt} attempt(s), last: {}",
                        reasons.join("; ")
                    );
                    fail(&retry, &why, &mut out);
                    retry.clear();
                }
                pending = retry;
            }
            Err(e) => {
                let status = e.raw_response().map(|r| r.status().as_u16());
                let why = DisplayErrorContext(&e).to_string();
                if refused_retryably(&e, status) {
                    if last {
                        let why = format!(
                            "SendMessageBatch failed on each of {attempt} attempt(s), last: {why}"
                        );
                        fail(&pending, &why, &mut out);
                        pending.clear();
                    }
                } else {
                    let ambiguous =
                        matches!(e, SdkError::TimeoutError(_) | SdkError::ResponseError(_));
                    if ambiguous {
                        // Sent, but the answer was lost: they may be queued. Not resent
                        // (no duplicates within a run); a rerun converges.
                        let why =
                            format!("no answer from SQS, so they may or may not be queued: {why}");
                        fail(&pending, &why, &mut out);
                    } else {
                        fail(&pending, &why, &mut out);
                        out.fatal = Some(format!("sending to {}: {why}", opts.queue_url));
                    }
                    pending.clear();
                }
            }
        }
        if !pending.is_empty() {
            tokio::time::sleep(backoff(opts.backoff, attempt)).await;
        }
    }
    (out, errors)
}

/// Lists every SOURCE and sends one message per selected object (or, with `dry_run`, only
/// counts them). Errors before anything is sent (no such queue, a SOURCE that cannot be
/// listed) are `Err`; a failure later (a page that cannot be listed, a queue that goes away)
/// stops the run and is reported in [`Summary::stopped`], with the counts so far.
pub async fn run(
    sqs: &Client,
    sources: Vec<(Source, S3Store)>,
    opts: Options,
    observer: Arc<dyn Observer>,
) -> Result<Summary, BackfillError> {
    check_queue(sqs, &opts.queue_url).await?;
    // The first page of every SOURCE before a message is sent: a missing bucket or a
    // denied listing fails the whole command, not its second half.
    let mut first_pages = Vec::with_capacity(sources.len());
    for (source, store) in &sources {
        let page = store
            .list_page(&source.prefix, None, opts.page_size)
            .await
            .map_err(|e| listing_error(source, e))?;
        first_pages.push(page);
    }
    let opts = Arc::new(opts);
    let summary = Arc::new(Mutex::new(Summary::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let (tx, rx) = tokio::sync::mpsc::channel::<Vec<Entry>>(opts.concurrency.max(1) * 2);
    let rx = Arc::new(tokio::sync::Mutex::new(rx));

    let mut senders = tokio::task::JoinSet::new();
    if !opts.dry_run {
        for _ in 0..opts.concurrency.max(1) {
            let (sqs, opts, rx, summary, stop, observer) = (
                sqs.clone(),
                opts.clone(),
                rx.clone(),
                summary.clone(),
                stop.clone(),
                observer.clone(),
            );
            senders.spawn(async move {
                loop {
                    let Some(batch) = rx.lock().await.recv().await else {
                        return;
                    };
                    if stop.load(Ordering::Relaxed) {
                        // Stopping: what is still queued here is left unsent (counted by
                        // Summary::unsent), never half-sent.
                        continue;
                    }
                    let (out, errors) = send_batch(&sqs, &opts, batch).await;
                    observer.sent(out.sent);
                    if out.failed > 0 || !errors.is_empty() {
                        observer.failed(out.failed, &errors);
                    }
                    let mut s = summary.lock().unwrap();
                    s.sent += out.sent;
                    s.failed += out.failed;
                    s.retried += out.retried;
                    if let Some(f) = out.fatal {
                        stop.store(true, Ordering::Relaxed);
                        s.stopped.get_or_insert(f);
                    }
                }
            });
        }
    }
    drop(rx);

    let mut pending: Vec<Entry> = Vec::with_capacity(BATCH);
    'sources: for ((source, store), first) in sources.iter().zip(first_pages) {
        let mut page = first;
        loop {
            let mut counts = Summary {
                listed: page.objects.len() as u64,
                ..Summary::default()
            };
            let mut batches = Vec::new();
            for o in &page.objects {
                if is_folder_marker(o) {
                    counts.folders += 1;
                    continue;
                }
                if !opts.window.contains(o.last_modified) {
                    counts.outside_window += 1;
                    continue;
                }
                counts.selected += 1;
                counts.bytes += o.size;
                if opts.dry_run {
                    if counts.first.len() < opts.show_first {
                        counts
                            .first
                            .push(format!("s3://{}/{}", source.bucket, o.key));
                    }
                    continue;
                }
                pending.push(Entry {
                    id: pending.len().to_string(),
                    body: notification_body(&source.bucket, o),
                    object: format!("s3://{}/{}", source.bucket, o.key),
                });
                if pending.len() == BATCH {
                    batches.push(std::mem::replace(&mut pending, Vec::with_capacity(BATCH)));
                }
            }
            {
                let mut s = summary.lock().unwrap();
                s.listed += counts.listed;
                s.folders += counts.folders;
                s.outside_window += counts.outside_window;
                s.selected += counts.selected;
                s.bytes += counts.bytes;
                let room = opts.show_first.saturating_sub(s.first.len());
                s.first.extend(counts.first.into_iter().take(room));
            }
            observer.selected(counts.selected);
            for batch in batches {
                // A full channel waits for the senders: bounded memory.
                if stop.load(Ordering::Relaxed) || tx.send(batch).await.is_err() {
                    break 'sources;
                }
            }
            if stop.load(Ordering::Relaxed) {
                break 'sources;
            }
            let Some(token) = page.next else {
                break;
            };
            match store
                .list_page(&source.prefix, Some(&token), opts.page_size)
                .await
            {
                Ok(p) => page = p,
                Err(e) => {
                    stop.store(true, Ordering::Relaxed);
                    summary
                        .lock()
                        .unwrap()
                        .stopped
                        .get_or_insert(listing_error(source, e).to_string());
                    break 'sources;
                }
            }
        }
    }
    if !pending.is_empty() && !stop.load(Ordering::Relaxed) {
        let _ = tx.send(pending).await;
    }
    observer.listing_done();
    drop(tx);
    while senders.join_next().await.is_some() {}
    let s = summary.lock().unwrap().clone();
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::{self, CreatedObject, Notification};

    fn listed(key: &str) -> ListedObject {
        ListedObject {
            key: key.into(),
            size: 42,
            etag: "9dd4e461268c8034f5c8564e155c67a6".into(),
            last_modified: Some(SystemTime::UNIX_EPOCH + Duration::from_millis(1_764_180_560_501)),
        }
    }

    #[test]
    fn keys_are_encoded_as_s3_encodes_them() {
        assert_eq!(encode_key("in/with space.pb"), "in/with+space.pb");
        assert_eq!(encode_key("a+b"), "a%2Bb");
        assert_eq!(
            encode_key("dt=2026-11-26/été.pb"),
            "dt%3D2026-11-26/%C3%A9t%C3%A9.pb"
        );
        assert_eq!(encode_key("100%"), "100%25");
        assert_eq!(encode_key("q?a&b#c~"), "q%3Fa%26b%23c%7E");
        assert_eq!(encode_key("A-Z_0.9*/"), "A-Z_0.9*/");
    }

    #[test]
    fn bodies_round_trip_through_the_services_parser() {
        for key in [
            "events/pageview-singles/dt=2026-11-26/obj 1+2 été ünï 日本.pb",
            "a//b/../c%2F.pb",
            "+ +",
            "x",
        ] {
            let body = notification_body("src-bucket", &listed(key));
            assert_eq!(
                notify::parse(&body).unwrap(),
                Notification::Records {
                    objects: vec![CreatedObject {
                        bucket: "src-bucket".into(),
                        key: key.into(),
                        version_id: None,
                        etag: Some("9dd4e461268c8034f5c8564e155c67a6".into()),
                        size: Some(42),
                    }],
                    skipped: 0
                },
                "{key}"
            );
        }
    }

    #[test]
    fn body_has_the_classic_shape() {
        let v: serde_json::Value =
            serde_json::from_str(&notification_body("b", &listed("k 1"))).unwrap();
        let r = &v["Records"][0];
        assert_eq!(r["eventSource"], "aws:s3");
        assert_eq!(r["eventName"], "ObjectCreated:Put");
        assert_eq!(r["eventTime"], "2025-11-26T18:09:20.501Z");
        assert_eq!(r["s3"]["configurationId"], CONFIGURATION_ID);
        assert_eq!(r["s3"]["bucket"]["arn"], "arn:aws:s3:::b");
        assert_eq!(r["s3"]["object"]["key"], "k+1");
        assert_eq!(r["s3"]["object"]["size"], 42);
        assert!(r["s3"]["object"].get("versionId").is_none());
        let mut no_time = listed("k");
        no_time.last_modified = None;
        no_time.etag.clear();
        let v: serde_json::Value = serde_json::from_str(&notification_body("b", &no_time)).unwrap();
        assert!(v["Records"][0].get("eventTime").is_none());
        assert!(v["Records"][0]["s3"]["object"].get("eTag").is_none());
    }

    #[test]
    fn times_parse_as_rfc_3339_or_plain_dates() {
        let at = |secs: u64| SystemTime::UNIX_EPOCH + Duration::from_secs(secs);
        assert_eq!(parse_time("2026-11-26").unwrap(), at(1_795_651_200));
        assert_eq!(
            parse_time("2026-11-26T00:00:00Z").unwrap(),
            at(1_795_651_200)
        );
        assert_eq!(
            parse_time("2026-11-26T02:00:00+02:00").unwrap(),
            at(1_795_651_200)
        );
        assert_eq!(
            parse_time("2026-11-26T00:00:00.250Z").unwrap(),
            at(1_795_651_200) + Duration::from_millis(250)
        );
        for bad in [
            "yesterday",
            "2026-13-01",
            "2026-11-26T10:00",
            "26/11/2026",
            "",
        ] {
            let e = parse_time(bad).unwrap_err();
            assert!(
                e.contains(&format!("{bad:?}")) && e.contains("RFC 3339"),
                "{e}"
            );
        }
    }

    #[test]
    fn the_window_includes_since_and_excludes_until() {
        let t = |s| Some(parse_time(s).unwrap());
        let w = Window {
            since: t("2026-11-01"),
            until: t("2026-12-01"),
        };
        assert!(w.contains(t("2026-11-01T00:00:00Z")));
        assert!(w.contains(t("2026-11-30T23:59:59.999Z")));
        assert!(!w.contains(t("2026-12-01T00:00:00Z")));
        assert!(!w.contains(t("2026-10-31T23:59:59Z")));
        assert!(!w.contains(None));
        assert!(Window::default().contains(None));
        assert!(Window::default().contains(t("1999-01-01")));
    }

    #[test]
    fn sources_must_be_s3_and_queue_urls_urls() {
        assert_eq!(
            parse_source("s3://b/events/").unwrap(),
            Source {
                bucket: "b".into(),
                prefix: "events/".into()
            }
        );
        assert_eq!(parse_source("s3://b").unwrap().prefix, "");
        let e = parse_source("events/").unwrap_err();
        assert!(
            e.contains("not an S3 location") && e.contains("protolake run"),
            "{e}"
        );
        assert!(parse_source("s3:///x").unwrap_err().contains("no bucket"));
        assert!(check_queue_url("https://sqs.us-east-1.amazonaws.com/1/q").is_ok());
        let e = check_queue_url("arn:aws:sqs:us-east-1:1:q").unwrap_err();
        assert!(e.contains("get-queue-url"), "{e}");
    }

    #[test]
    fn backoff_doubles_is_capped_and_jittered_within_its_upper_half() {
        let base = Duration::from_millis(200);
        for attempt in 1..=20 {
            let full = (base * 2u32.pow((attempt - 1).min(16))).min(MAX_BACKOFF);
            for _ in 0..50 {
                let d = backoff(base, attempt);
                assert!(d >= full / 2 && d <= full, "attempt {attempt}: {d:?}");
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn any_key_round_trips(key in "\\PC{1,60}") {
            proptest::prop_assert_eq!(notify::decode_key(&encode_key(&key)).unwrap(), key);
        }
    }
}
