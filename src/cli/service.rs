//! `protolake lambda` and `protolake poll`: one configuration struct whose flags also read
//! the `PROTOLAKE_*` environment, so the Lambda's environment and `poll`'s flags cannot drift.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Parser};

use super::{report, JsonArgs, LimitArgs};
use crate::pipeline::{Deps, LandingTarget, StreamOptions};
use crate::registry::cache::DEFAULT_NEGATIVE_TTL;
use crate::registry::RegistryCache;
use crate::service::{OnMissing, Service};
use crate::store::{Location, Store};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum OutputCompression {
    None,
    Gzip,
}

#[derive(Debug, Args)]
pub(crate) struct ServiceArgs {
    /// Registry: s3://bucket/prefix/ or a directory (descriptor sets + routes.json).
    #[arg(
        long,
        env = "PROTOLAKE_REGISTRY",
        value_name = "s3://bucket/prefix/|DIR"
    )]
    registry: Location,
    /// Landing: s3://bucket/prefix/ or a directory; NDJSON lands at <landing><bucket>/<key>.ndjson.
    #[arg(
        long,
        env = "PROTOLAKE_LANDING",
        value_name = "s3://bucket/prefix/|DIR"
    )]
    landing: Location,
    /// Seconds a loaded registry is reused before it is re-checked.
    #[arg(
        long,
        env = "PROTOLAKE_SCHEMA_TTL_SECS",
        default_value_t = 60,
        value_name = "SECS"
    )]
    schema_ttl_secs: u64,
    /// An object deleted before it was read: ack (log, count, acknowledge) or fail (dead-letter it).
    #[arg(
        long,
        env = "PROTOLAKE_ON_MISSING_OBJECT",
        default_value = "ack",
        value_name = "ack|fail"
    )]
    on_missing_object: OnMissing,
    /// Compress the landed NDJSON.
    #[arg(
        long,
        env = "PROTOLAKE_OUTPUT_COMPRESSION",
        value_enum,
        default_value = "none"
    )]
    output_compression: OutputCompression,
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
        let prefix = match &self.registry {
            Location::Local(_) => String::new(),
            Location::S3 { prefix, .. } => prefix.clone(),
        };
        let registry = RegistryCache::new(
            Store::open(&self.registry).await,
            prefix,
            Duration::from_secs(self.schema_ttl_secs),
            DEFAULT_NEGATIVE_TTL,
        );
        Service {
            deps: Deps {
                registry: Arc::new(registry),
                landing: LandingTarget::open(&self.landing).await,
                options: StreamOptions {
                    json: self.json.options(),
                    limits: self.limits.limits(),
                    ..StreamOptions::default()
                },
                gzip_output: self.output_compression == OutputCompression::Gzip,
            },
            s3: crate::store::s3::client().await,
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

fn runtime() -> Option<tokio::runtime::Runtime> {
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => Some(rt),
        Err(e) => {
            report(&format_args!("cannot start the runtime: {e}"));
            None
        }
    }
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
    super::init_tracing_json();
    lambda(LambdaArgs {
        service: args.service,
    })
}
