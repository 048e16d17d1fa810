//! `protolake poll`: an SQS worker for hosts that are not Lambda. Long-polls, runs the same
//! per-record function as the Lambda, deletes only the messages that succeeded, extends
//! visibility only while records are still in flight, backs off (capped) when SQS fails,
//! and on shutdown stops receiving, finishes what is in flight and deletes its successes.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_sqs::types::{
    ChangeMessageVisibilityBatchRequestEntry, DeleteMessageBatchRequestEntry,
    MessageSystemAttributeName, QueueAttributeName,
};
use aws_sdk_sqs::Client;

use crate::service::{process_batch, Metrics, Service};

/// How `poll` runs.
#[derive(Debug, Clone)]
pub struct PollOptions {
    /// The queue.
    pub queue_url: String,
    /// Handle one receive and return.
    pub once: bool,
    /// Long-poll wait (0..=20 s).
    pub wait_seconds: i32,
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
}

/// An SQS client from aws-config's standard chain.
pub async fn client() -> Client {
    let shared = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    Client::new(&shared)
}

const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Polls until `shutdown` resolves (or after one receive with `once`).
pub async fn run(
    svc: Arc<Service>,
    sqs: Client,
    opts: PollOptions,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<PollSummary, String> {
    tokio::pin!(shutdown);
    let visibility = queue_visibility(&sqs, &opts.queue_url).await;
    let mut summary = PollSummary::default();
    let mut backoff = Duration::from_millis(500);
    loop {
        let received = tokio::select! {
            r = sqs.receive_message()
                .queue_url(&opts.queue_url)
                .max_number_of_messages(10)
                .wait_time_seconds(opts.wait_seconds)
                .message_system_attribute_names(MessageSystemAttributeName::All)
                .send() => r,
            () = &mut shutdown => return Ok(summary),
        };
        let messages = match received {
            Ok(r) => {
                backoff = Duration::from_millis(500);
                r.messages.unwrap_or_default()
            }
            Err(e) => {
                let msg = aws_sdk_sqs::error::DisplayErrorContext(&e).to_string();
                if opts.once {
                    return Err(format!("receiving from {}: {msg}", opts.queue_url));
                }
                tracing::warn!(queue = %opts.queue_url, error = %msg, backoff_ms = backoff.as_millis() as u64, "receive failed; backing off");
                tokio::select! {
                    () = tokio::time::sleep(backoff) => {}
                    () = &mut shutdown => return Ok(summary),
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
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
        // Keep in-flight messages invisible while they are processed, and no longer.
        let heartbeat = visibility.map(|vt| {
            let (sqs, url) = (sqs.clone(), opts.queue_url.clone());
            let in_flight: Vec<(String, String)> = handles.iter().map(|(i, h)| (i.clone(), h.clone())).collect();
            tokio::spawn(async move {
                let period = Duration::from_secs(u64::from((vt / 2).max(1)));
                loop {
                    tokio::time::sleep(period).await;
                    let entries: Vec<_> = in_flight
                        .iter()
                        .enumerate()
                        .filter_map(|(n, (_, h))| {
                            ChangeMessageVisibilityBatchRequestEntry::builder()
                                .id(n.to_string())
                                .receipt_handle(h)
                                .visibility_timeout(vt as i32)
                                .build()
                                .ok()
                        })
                        .collect();
                    if let Err(e) = sqs.change_message_visibility_batch().queue_url(&url).set_entries(Some(entries)).send().await {
                        tracing::warn!(error = %aws_sdk_sqs::error::DisplayErrorContext(&e), "visibility heartbeat failed");
                    }
                }
            })
        });
        let ids: Vec<String> = records.iter().map(|(i, _)| i.clone()).collect();
        // In flight records always finish, even on shutdown: abandoning them half-way buys nothing.
        let failed = process_batch(&svc, records, None, &metrics).await;
        if let Some(h) = heartbeat {
            h.abort();
        }
        let succeeded: Vec<&String> = ids.iter().filter(|i| !failed.contains(i)).collect();
        delete(&sqs, &opts.queue_url, &succeeded, &handles).await;
        summary.succeeded += succeeded.len() as u64;
        summary.failed += failed.len() as u64;
        println!("{}", metrics.emf("protolake-poll"));
        if opts.once {
            return Ok(summary);
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
