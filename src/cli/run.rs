//! `protolake run`: the service's pipeline over local trees or S3 prefixes.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;

use super::{report, JsonArgs, LimitArgs};
use crate::pipeline::{self, Deps, LandingTarget, Source, StreamOptions, StreamStats};
use crate::registry::cache::DEFAULT_NEGATIVE_TTL;
use crate::registry::RegistryCache;
use crate::store::{local, Location, Store};
use crate::transcode::Engine;

#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// Registry: a directory or s3://bucket/prefix/ holding descriptor sets (*.binpb) and routes.json.
    #[arg(
        long,
        value_name = "DIR|s3://bucket/prefix/",
        env = "PROTOLAKE_REGISTRY"
    )]
    registry: Location,
    /// Landing: a directory or s3://bucket/prefix/. Local trees land at <landing>/<relative path>.ndjson,
    /// S3 objects at <landing><bucket>/<key>.ndjson.
    #[arg(
        long,
        value_name = "DIR|s3://bucket/prefix/",
        env = "PROTOLAKE_LANDING"
    )]
    landing: Location,
    /// Seconds a loaded registry is reused before it is re-checked.
    #[arg(
        long,
        value_name = "SECS",
        env = "PROTOLAKE_SCHEMA_TTL_SECS",
        default_value_t = 60
    )]
    schema_ttl_secs: u64,
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
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            report(&format_args!("cannot start the runtime: {e}"));
            return ExitCode::FAILURE;
        }
    };
    rt.block_on(run_async(a, jobs))
}

async fn run_async(a: RunArgs, jobs: usize) -> ExitCode {
    let started = Instant::now();
    let prefix = match &a.registry {
        Location::Local(_) => String::new(),
        Location::S3 { prefix, .. } => prefix.clone(),
    };
    let cache = Arc::new(RegistryCache::new(
        Store::open(&a.registry).await,
        prefix,
        Duration::from_secs(a.schema_ttl_secs),
        DEFAULT_NEGATIVE_TTL,
    ));
    if let Err(e) = cache.registry().await {
        report(&format_args!("{}: {e}", a.registry));
        return ExitCode::FAILURE;
    }
    // A backfill with a broken registry stops before it starts.
    if let Some(p) = cache.problems().first() {
        report(p);
        return ExitCode::FAILURE;
    }
    let deps = Arc::new(Deps {
        registry: cache.clone(),
        landing: LandingTarget::open(&a.landing).await,
        options: StreamOptions {
            json: a.json.options(),
            engine: Engine::Direct,
            limits: a.limits.limits(),
            ..StreamOptions::default()
        },
        gzip_output: false,
    });
    let mut sources: Vec<(Source, u64)> = Vec::new();
    for s in &a.sources {
        match s {
            Location::Local(p) => match local::list(p) {
                Ok(v) => sources.extend(v.into_iter().map(|o| {
                    (
                        Source::Local {
                            path: o.path,
                            key: o.key,
                        },
                        o.size,
                    )
                })),
                Err(e) => {
                    report(&format_args!("{}: {e}", p.display()));
                    return ExitCode::FAILURE;
                }
            },
            Location::S3 { prefix, .. } => {
                let Store::S3(store) = Store::open(s).await else {
                    unreachable!("an S3 location opens an S3 store")
                };
                match store.list(prefix).await {
                    Ok(v) => {
                        sources.extend(v.into_iter().filter(|o| !o.key.ends_with('/')).map(|o| {
                            (
                                Source::S3 {
                                    store: store.clone(),
                                    key: o.key,
                                    version_id: None,
                                    etag: Some(o.etag),
                                },
                                o.size,
                            )
                        }))
                    }
                    Err(e) => {
                        report(&e);
                        return ExitCode::FAILURE;
                    }
                }
            }
        }
    }
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
        "protolake run: {} objects ({ok} landed, {failed} failed), {} messages, {} bytes of protobuf in, {} bytes of JSON out, {:.2}s",
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
