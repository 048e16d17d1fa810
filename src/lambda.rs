//! The Lambda handler: an SQS event in, a partial batch response out. Every record is
//! processed independently; only the ones that failed are reported, by their real
//! `messageId`, so SQS retries just those and dead-letters them after `maxReceiveCount`.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use lambda_runtime::LambdaEvent;

use crate::service::{process_batch, Metrics, Progress, Service};

/// Records still running this close to the invocation deadline are failed, so the response
/// reaches Lambda in time and the finished records are not retried.
pub const DEADLINE_MARGIN: Duration = Duration::from_secs(5);

/// Handles one invocation.
pub async fn handler(
    event: LambdaEvent<SqsEvent>,
    svc: Arc<Service>,
) -> Result<SqsBatchResponse, lambda_runtime::Error> {
    let deadline = event
        .context
        .deadline()
        .duration_since(SystemTime::now())
        .ok()
        .map(|left| left.saturating_sub(DEADLINE_MARGIN));
    let mut records = Vec::new();
    let mut failed = Vec::new();
    for r in event.payload.records {
        match (r.message_id, r.body) {
            (Some(id), Some(body)) if !id.is_empty() => records.push((id, body)),
            (Some(id), None) if !id.is_empty() => {
                tracing::error!(message_id = %id, "record has no body");
                failed.push(id);
            }
            // Without an id a failure cannot be reported; an empty id would fail the batch.
            _ => tracing::error!("record without a messageId skipped"),
        }
    }
    let metrics = Arc::new(Metrics::default());
    let progress = Arc::new(Progress::default());
    failed.extend(process_batch(&svc, records, deadline, &metrics, &progress).await);
    let function = std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|_| "protolake".into());
    println!("{}", metrics.emf(&function));
    let mut response = SqsBatchResponse::default();
    response.batch_item_failures = failed
        .into_iter()
        .map(|id| {
            let mut f = BatchItemFailure::default();
            f.item_identifier = id;
            f
        })
        .collect();
    Ok(response)
}

/// Runs the Lambda runtime loop with `svc`.
pub async fn run(svc: Arc<Service>) -> Result<(), lambda_runtime::Error> {
    lambda_runtime::run(lambda_runtime::service_fn(move |event| {
        handler(event, svc.clone())
    }))
    .await
}
