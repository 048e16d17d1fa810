//! `protolake poll`: an SQS worker for hosts that are not Lambda. Long-polls, runs the same
//! per-record function as the Lambda, deletes only the messages that succeeded, extends
//! visibility only while records are still in flight, backs off (capped) when SQS fails,
//! and on shutdown stops receiving, gives the records in flight a grace period to finish,
//! deletes the successes and releases the rest unfinished (never deleted) for redelivery.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_sqs::types::{
    ChangeMessageVisibilityBatchRequestEntry, DeleteMessageBatchRequestEntry,
    MessageSystemAttributeName, QueueAttributeName,
};
use aws_sdk_sqs::Client;

use crate::service::{process_batch, Metrics, Progress, Service};

/// How `poll` runs.
#[derive(Debug, Clone)]
pub struct PollOptions {
    /// The queue.
    pub queue_url: String,
    /// Handle one receive and return.
    pub once: bool,
    /// Long-poll wait (0..=20 s).
    pub wait_seconds: i32,
    /// On shutdown, how long the records in flight may still take before they are
    /// abandoned (left undeleted, so SQS redelivers them).
    pub shutdown_grace: Duration,
}

/// What a poll run amounted to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PollSummary {
    /// Messages received.
    pub received: u64,
    /// Messages processed successfully and deleted.
    pub succeeded: u64,
    /// Messages that failed (left for retry).
    pub failed: u64,
    /// Messages abandoned unfinished at shutdown (left for retry, made visible again).
    pub abandoned: u64,
}

/// An SQS client from aws-config's standard chain.
pub async fn client() -> Client {
    Client::new(&crate::aws::sdk_config().await)
}

/// Why `poll` stopped.
#[derive(Debug, thiserror::Error)]
pub enum PollError {
    /// A receive failed with `--once` (without it, failed receives back off and retry).
    #[error("receiving from {queue}: {message}")]
    Receive {
        /// The queue URL.
        queue: String,
        /// What SQS said.
        message: String,
    },
}

/// First wait after a failed receive; doubled on each failure in a row.
const MIN_BACKOFF: Duration = Duration::from_millis(500);
/// Longest wait between failed receives (Vector caps its backoff at 30 s too).
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// The wait after one more failed receive: doubled, capped at [`MAX_BACKOFF`].
fn next_backoff(current: Duration) -> Duration {
    (current * 2).min(MAX_BACKOFF)
}

/// Polls until `shutdown` resolves (or after one receive with `once`).
pub async fn run(
    svc: Arc<Service>,
    sqs: Client,
    opts: PollOptions,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<PollSummary, PollError> {
    tokio::pin!(shutdown);
    let visibility = queue_visibility(&sqs, &opts.queue_url).await;
    let mut summary = PollSummary::default();
    let mut backoff = MIN_BACKOFF;
    loop {
        let received = tokio::select! {
            biased;
            () = &mut shutdown => return Ok(summary),
            r = sqs.receive_message()
                .queue_url(&opts.queue_url)
                .max_number_of_messages(10)
                .wait_time_seconds(opts.wait_seconds)
                .message_system_attribute_names(MessageSystemAttributeName::All)
                .send() => r,
        };
        let messages = match received {
            Ok(r) => {
                backoff = MIN_BACKOFF;
                r.messages.unwrap_or_default()
            }
            Err(e) => {
                let msg = aws_sdk_sqs::error::DisplayErrorContext(&e).to_string();
                if opts.once {
                    return Err(PollError::Receive {
                        queue: opts.queue_url.clone(),
                        message: msg,
                    });
                }
                tracing::warn!(queue = %opts.queue_url, error = %msg, backoff_ms = backoff.as_millis() as u64, "receive failed; backing off");
                tokio::select! {
                    () = tokio::time::sleep(backoff) => {}
                    () = &mut shutdown => return Ok(summary),
                }
                backoff = next_backoff(backoff);
                continue;
            }
        };
        if messages.is_empty() {
            if opts.once {
                return Ok(summary);
            }
            continue;
        }
        summary.received += messages.len() as u64;
        let mut handles = std::collections::HashMap::new();
        let mut records = Vec::new();
        for m in messages {
            let (Some(id), Some(handle)) = (m.message_id, m.receipt_handle) else {
                continue;
            };
            handles.insert(id.clone(), handle);
            records.push((id, m.body.unwrap_or_default()));
        }
        let metrics = Arc::new(Metrics::default());
        let progress = Arc::new(Progress::default());
        // Beside the batch: delete each success as soon as it finishes, and keep the
        // records still in flight (only those) invisible until they finish.
        let (stop_tending, stopped) = tokio::sync::oneshot::channel::<()>();
        let tender = tokio::spawn(tend(
            sqs.clone(),
            opts.queue_url.clone(),
            handles.clone(),
            progress.clone(),
            visibility,
            stopped,
        ));
        let ids: Vec<String> = records.iter().map(|(i, _)| i.clone()).collect();
        let mut batch = Box::pin(process_batch(&svc, records, None, &metrics, &progress));
        // On shutdown the records in flight get a grace period to finish; past it they are
        // abandoned: not deleted, and made visible again for another worker.
        let mut stopping = false;
        let failed = tokio::select! {
            biased;
            failed = &mut batch => Some(failed),
            () = &mut shutdown => {
                stopping = true;
                tracing::info!(grace_secs = opts.shutdown_grace.as_secs_f64(), in_flight = ids.iter().filter(|i| !progress.is_finished(i)).count(), "shutdown requested: finishing the records in flight");
                tokio::select! {
                    failed = &mut batch => Some(failed),
                    () = tokio::time::sleep(opts.shutdown_grace) => None,
                }
            }
        };
        // Dropping the batch aborts its abandoned tasks: no landing starts after this point.
        drop(batch);
        let _ = stop_tending.send(());
        let deleted = tender.await.unwrap_or_default();
        let (succeeded, failed, abandoned): (Vec<&String>, Vec<String>, Vec<&String>) = match failed
        {
            Some(failed) => (
                ids.iter().filter(|i| !failed.contains(i)).collect(),
                failed,
                Vec::new(),
            ),
            None => {
                let ok = progress.succeeded();
                let (done, open): (Vec<&String>, Vec<&String>) =
                    ids.iter().partition(|i| progress.is_finished(i));
                (
                    ids.iter().filter(|i| ok.contains(i)).collect(),
                    done.into_iter()
                        .filter(|i| !ok.contains(i))
                        .cloned()
                        .collect(),
                    open,
                )
            }
        };
        let undeleted: Vec<&String> = succeeded
            .iter()
            .copied()
            .filter(|i| !deleted.contains(*i))
            .collect();
        delete(&sqs, &opts.queue_url, &undeleted, &handles).await;
        if !abandoned.is_empty() {
            tracing::warn!(
                abandoned = abandoned.len(),
                "records abandoned unfinished at shutdown; released for redelivery"
            );
            release(&sqs, &opts.queue_url, &abandoned, &handles).await;
        }
        summary.succeeded += succeeded.len() as u64;
        summary.failed += failed.len() as u64;
        summary.abandoned += abandoned.len() as u64;
        println!("{}", metrics.emf("protolake-poll"));
        if opts.once || stopping {
            return Ok(summary);
        }
    }
}

/// Runs beside a batch until `stop`: deletes each success as soon as it finishes (a finished
/// message is no longer extended, so it must go before its visibility timeout passes), and
/// every `visibility / 2` extends the messages still in flight. Returns the ids deleted.
async fn tend(
    sqs: Client,
    url: String,
    handles: std::collections::HashMap<String, String>,
    progress: Arc<Progress>,
    visibility: Option<u32>,
    mut stop: tokio::sync::oneshot::Receiver<()>,
) -> std::collections::HashSet<String> {
    let mut deleted = std::collections::HashSet::new();
    let period = visibility.map(|vt| Duration::from_secs(u64::from((vt / 2).max(1))));
    let mut next_beat = period.map(|p| tokio::time::Instant::now() + p);
    loop {
        let beat = async {
            match next_beat {
                Some(t) => tokio::time::sleep_until(t).await,
                None => std::future::pending().await,
            }
        };
        let mut extend = false;
        tokio::select! {
            _ = &mut stop => return deleted,
            () = progress.changed() => {}
            () = beat => extend = true,
        }
        let done: Vec<String> = progress
            .succeeded()
            .into_iter()
            .filter(|i| !deleted.contains(i))
            .collect();
        if !done.is_empty() {
            let refs: Vec<&String> = done.iter().collect();
            delete(&sqs, &url, &refs, &handles).await;
            deleted.extend(done);
        }
        if let (true, Some(vt), Some(p)) = (extend, visibility, period) {
            next_beat = Some(tokio::time::Instant::now() + p);
            let open: Vec<&String> = handles
                .keys()
                .filter(|i| !progress.is_finished(i))
                .collect();
            set_visibility(
                &sqs,
                &url,
                &open,
                &handles,
                vt as i32,
                "visibility heartbeat failed",
            )
            .await;
        }
    }
}

/// Makes abandoned messages visible at once, so another worker need not wait out the
/// visibility timeout. Best effort: if it fails they come back after the timeout anyway.
async fn release(
    sqs: &Client,
    url: &str,
    ids: &[&String],
    handles: &std::collections::HashMap<String, String>,
) {
    set_visibility(
        sqs,
        url,
        ids,
        handles,
        0,
        "releasing abandoned messages failed; they return after the visibility timeout",
    )
    .await;
}

/// Sets the visibility timeout of `ids`, ten per call; failures are logged (`what`), not
/// fatal: a message whose visibility was not changed keeps its current timeout.
async fn set_visibility(
    sqs: &Client,
    url: &str,
    ids: &[&String],
    handles: &std::collections::HashMap<String, String>,
    seconds: i32,
    what: &str,
) {
    for chunk in ids.chunks(10) {
        let entries: Vec<_> = chunk
            .iter()
            .enumerate()
            .filter_map(|(n, id)| {
                ChangeMessageVisibilityBatchRequestEntry::builder()
                    .id(n.to_string())
                    .receipt_handle(&handles[*id])
                    .visibility_timeout(seconds)
                    .build()
                    .ok()
            })
            .collect();
        if let Err(e) = sqs
            .change_message_visibility_batch()
            .queue_url(url)
            .set_entries(Some(entries))
            .send()
            .await
        {
            tracing::warn!(error = %aws_sdk_sqs::error::DisplayErrorContext(&e), "{what}");
        }
    }
}

async fn delete(
    sqs: &Client,
    url: &str,
    ids: &[&String],
    handles: &std::collections::HashMap<String, String>,
) {
    for chunk in ids.chunks(10) {
        let entries: Vec<_> = chunk
            .iter()
            .enumerate()
            .filter_map(|(n, id)| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(n.to_string())
                    .receipt_handle(&handles[*id])
                    .build()
                    .ok()
            })
            .collect();
        match sqs
            .delete_message_batch()
            .queue_url(url)
            .set_entries(Some(entries))
            .send()
            .await
        {
            Ok(r) => {
                for f in r.failed() {
                    // The message comes back after its visibility timeout and lands again,
                    // byte-identical: a duplicate delivery, not a duplicate object.
                    tracing::warn!(entry = %f.id(), code = %f.code(), "delete failed; the message will be redelivered");
                }
            }
            Err(e) => {
                tracing::warn!(error = %aws_sdk_sqs::error::DisplayErrorContext(&e), "delete batch failed; messages will be redelivered")
            }
        }
    }
}

async fn queue_visibility(sqs: &Client, url: &str) -> Option<u32> {
    let r = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::VisibilityTimeout)
        .send()
        .await
        .ok()?;
    r.attributes()?
        .get(&QueueAttributeName::VisibilityTimeout)?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Catalogue row Q3 (the cap; tests/it/reliability.rs shows there is no spin).
    #[test]
    fn row_q3_receive_backoff_doubles_and_is_capped_at_30_s() {
        let mut b = MIN_BACKOFF;
        let mut seen = vec![b];
        for _ in 0..10 {
            b = next_backoff(b);
            seen.push(b);
        }
        assert_eq!(seen[1], Duration::from_secs(1));
        assert_eq!(seen[4], Duration::from_secs(8));
        assert!(seen.windows(2).all(|w| w[1] >= w[0]));
        assert_eq!(*seen.last().unwrap(), MAX_BACKOFF);
        assert_eq!(MAX_BACKOFF, Duration::from_secs(30));
    }
}
