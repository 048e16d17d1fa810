//! `protolake run`: the service's pipeline over local trees or S3 prefixes.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use clap::Args;

use super::{report, runtime, JsonArgs, LandingArgs, LimitArgs, RegistryArgs};
use crate::pipeline::{self, Deps, ObjectRef, StreamStats};
use crate::store::{Location, Pin};

#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    #[command(flatten)]
    registry: RegistryArgs,
    #[command(flatten)]
    landing: LandingArgs,
    #[command(flatten)]
    json: JsonArgs,
    #[command(flatten)]
    limits: LimitArgs,
    /// Objects processed at once (default: number of CPUs).
    #[arg(long, short = 'j', value_name = "N")]
    jobs: Option<usize>,
    /// Do not print one line per landed object.
    #[arg(long, short = 'q')]
    quiet: bool,
    /// Files, directories (keys are paths relative to each) or s3://bucket/prefix/ (keys are the
    /// full object keys, as the Lambda sees them).
    #[arg(value_name = "SOURCE", required = true)]
    sources: Vec<Location>,
}

pub(crate) fn run(a: RunArgs) -> ExitCode {
    let jobs = a
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .clamp(1, 256);
    let Some(rt) = runtime() else {
        return ExitCode::FAILURE;
    };
    rt.block_on(run_async(a, jobs))
}

/// Every object under each source, with its size.
async fn list_sources(sources: &[Location]) -> Result<Vec<(ObjectRef, u64)>, String> {
    let mut objects = Vec::new();
    for location in sources {
        let place = location.open().await;
        let listed = place
            .store
            .list(&place.prefix)
            .await
            .map_err(|e| e.to_string())?;
        // "Folder" markers carry nothing to transcode.
        objects.extend(
            listed
                .into_iter()
                .filter(|o| !o.key.ends_with('/'))
                .map(|o| {
                    let object = ObjectRef {
                        store: place.store.clone(),
                        // Read what was listed: a file or object rewritten meanwhile fails.
                        pin: Pin {
                            version_id: None,
                            etag: Some(o.etag),
                        },
                        key: o.key,
                        bucket: location.bucket().map(str::to_owned),
                    };
                    (object, o.size)
                }),
        );
    }
    Ok(objects)
}

async fn run_async(a: RunArgs, jobs: usize) -> ExitCode {
    let started = Instant::now();
    let cache = Arc::new(a.registry.cache().await);
    if let Err(e) = cache.registry().await {
        report(&e);
        return ExitCode::FAILURE;
    }
    // A backfill with a broken registry stops before it starts.
    if let Some(p) = cache.problems().first() {
        report(p);
        return ExitCode::FAILURE;
    }
    let deps = Arc::new(Deps {
        registry: cache.clone(),
        landing: a.landing.landing.open().await,
        output: a.landing.output(),
        json: a.json.options(),
        limits: a.limits.limits(),
    });
    let sources = match list_sources(&a.sources).await {
        Ok(s) => s,
        Err(e) => {
            report(&e);
            return ExitCode::FAILURE;
        }
    };
    let total_bytes: u64 = sources.iter().map(|(_, n)| n).sum();
    let progress = (std::io::stderr().is_terminal() && sources.len() > 1).then(|| {
        let pb = indicatif::ProgressBar::new(total_bytes);
        pb.set_style(
            indicatif::ProgressStyle::with_template("{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} ({bytes_per_sec}) {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        pb
    });
    let semaphore = Arc::new(tokio::sync::Semaphore::new(jobs));
    let mut tasks = tokio::task::JoinSet::new();
    for (src, size) in sources {
        let deps = deps.clone();
        let semaphore = semaphore.clone();
        tasks.spawn(async move {
            let _permit = semaphore.acquire_owned().await;
            (pipeline::process(&deps, src).await, size)
        });
    }
    let (mut stats, mut ok, mut failed) = (StreamStats::default(), 0usize, 0usize);
    let say = |line: String, err: bool| match &progress {
        Some(pb) => pb.suspend(|| {
            if err {
                eprintln!("{line}")
            } else {
                println!("{line}")
            }
        }),
        None if err => eprintln!("{line}"),
        None => println!("{line}"),
    };
    while let Some(joined) = tasks.join_next().await {
        let (result, size) = match joined {
            Ok(r) => r,
            Err(e) => {
                failed += 1;
                say(
                    format!("protolake: error: an object task failed: {e}"),
                    true,
                );
                continue;
            }
        };
        match result {
            Ok(outcome) => {
                stats += outcome.stats;
                ok += 1;
                if !a.quiet {
                    say(
                        format!(
                            "landed {} ({} messages of {})",
                            outcome.landed, outcome.stats.messages, outcome.message_type
                        ),
                        false,
                    );
                }
            }
            Err(e) => {
                failed += 1;
                say(
                    format!("protolake: error: {}", e.to_string().replace('\n', " ")),
                    true,
                );
            }
        }
        if let Some(pb) = &progress {
            pb.inc(size);
        }
    }
    if let Some(pb) = progress {
        pb.finish_and_clear();
    }
    for p in cache.problems() {
        eprintln!("protolake: warning: registry: {p}");
    }
    eprintln!(
        "protolake run: {} objects ({ok} landed, {failed} failed), {} messages, {} bytes of protobuf in, {} bytes out, {:.2}s",
        ok + failed,
        stats.messages,
        stats.bytes_in,
        stats.bytes_out,
        started.elapsed().as_secs_f64()
    );
    if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
