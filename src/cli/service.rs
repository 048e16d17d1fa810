//! `protolake lambda` and `protolake poll`: one configuration struct whose flags also read
//! the `PROTOLAKE_*` environment, so the Lambda's environment and `poll`'s flags cannot drift.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Parser};

use super::{report, runtime, JsonArgs, LandingArgs, LimitArgs, Logs, RegistryArgs};
use crate::pipeline::Deps;
use crate::service::{OnMissing, Service};

#[derive(Debug, Args)]
pub(crate) struct ServiceArgs {
    #[command(flatten)]
    registry: RegistryArgs,
    #[command(flatten)]
    landing: LandingArgs,
    /// An object deleted before it was read: ack (log, count, acknowledge) or fail (dead-letter it).
    #[arg(
        long,
        env = "PROTOLAKE_ON_MISSING_OBJECT",
        default_value = "ack",
        value_name = "ack|fail"
    )]
    on_missing_object: OnMissing,
    /// Records processed at once.
    #[arg(
        long,
        env = "PROTOLAKE_CONCURRENCY",
        default_value_t = 4,
        value_name = "N"
    )]
    concurrency: usize,
    /// Longest one record may take once started (0: no limit but the Lambda's deadline).
    #[arg(
        long,
        env = "PROTOLAKE_RECORD_TIMEOUT_SECS",
        default_value_t = 900,
        value_name = "SECS"
    )]
    record_timeout_secs: u64,
    #[command(flatten)]
    json: JsonArgs,
    #[command(flatten)]
    limits: LimitArgs,
}

impl ServiceArgs {
    async fn service(&self) -> Service {
        Service {
            deps: Deps {
                registry: Arc::new(self.registry.cache().await),
                landing: self.landing.landing.open().await,
                output: self.landing.output(),
                json: self.json.options(),
                limits: self.limits.limits(),
            },
            buckets: crate::store::s3::buckets(crate::store::s3::client().await),
            on_missing: self.on_missing_object,
            concurrency: self.concurrency.max(1),
            record_timeout: (self.record_timeout_secs > 0)
                .then(|| Duration::from_secs(self.record_timeout_secs)),
        }
    }
}

#[derive(Debug, Args)]
pub(crate) struct LambdaArgs {
    #[command(flatten)]
    service: ServiceArgs,
}

#[derive(Debug, Args)]
pub(crate) struct PollArgs {
    /// The SQS queue receiving the S3 notifications.
    #[arg(long, env = "PROTOLAKE_QUEUE_URL", value_name = "URL")]
    queue_url: String,
    /// Handle one receive and exit: 0 when every message succeeded (or none came), 1 otherwise.
    #[arg(long)]
    once: bool,
    /// Long-poll wait in seconds (0-20).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(i32).range(0..=20), value_name = "SECS")]
    wait_seconds: i32,
    /// On SIGTERM/SIGINT, seconds the records in flight may still take before they are
    /// abandoned (not deleted: SQS redelivers them).
    #[arg(
        long,
        env = "PROTOLAKE_SHUTDOWN_GRACE_SECS",
        default_value_t = 20,
        value_name = "SECS"
    )]
    shutdown_grace_secs: u64,
    #[command(flatten)]
    service: ServiceArgs,
}

pub(crate) fn lambda(a: LambdaArgs) -> ExitCode {
    let Some(rt) = runtime() else {
        return ExitCode::FAILURE;
    };
    rt.block_on(async {
        let svc = Arc::new(a.service.service().await);
        match crate::lambda::run(svc).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                report(&format_args!("lambda runtime: {e}"));
                ExitCode::FAILURE
            }
        }
    })
}

pub(crate) fn poll(a: PollArgs) -> ExitCode {
    let Some(rt) = runtime() else {
        return ExitCode::FAILURE;
    };
    rt.block_on(async {
        // Handlers installed before anything else, so an early SIGTERM is not fatal.
        let shutdown = shutdown_signal();
        let svc = Arc::new(a.service.service().await);
        let sqs = crate::poll::client().await;
        let opts = crate::poll::PollOptions {
            queue_url: a.queue_url.clone(),
            once: a.once,
            wait_seconds: a.wait_seconds,
            shutdown_grace: Duration::from_secs(a.shutdown_grace_secs),
        };
        match crate::poll::run(svc, sqs, opts, shutdown).await {
            Ok(s) => {
                eprintln!(
                    "protolake poll: {} received, {} succeeded, {} failed, {} abandoned",
                    s.received, s.succeeded, s.failed, s.abandoned
                );
                if a.once && s.failed > 0 {
                    ExitCode::FAILURE
                } else {
                    ExitCode::SUCCESS
                }
            }
            Err(e) => {
                report(&e);
                ExitCode::FAILURE
            }
        }
    })
}

/// SIGTERM or SIGINT. The handlers are installed when this is called, not when the future
/// is first polled.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{signal, SignalKind};
    let term = signal(SignalKind::terminate()).ok();
    let int = signal(SignalKind::interrupt()).ok();
    async move {
        let (Some(mut term), Some(mut int)) = (term, int) else {
            return std::future::pending().await;
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        tracing::info!("shutdown requested");
    }
}

/// The `bootstrap` binary: configuration from the environment only.
#[derive(Debug, Parser)]
#[command(
    name = "bootstrap",
    about = "protolake's AWS Lambda entry (configured by PROTOLAKE_* variables)"
)]
struct Bootstrap {
    #[command(flatten)]
    service: ServiceArgs,
}

/// Entry point of the `bootstrap` binary.
pub fn lambda_main() -> ExitCode {
    let args = Bootstrap::parse();
    super::init_tracing(Logs::Lambda);
    lambda(LambdaArgs {
        service: args.service,
    })
}
