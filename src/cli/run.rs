//! `protolake run` over local trees.

use std::fs::File;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use clap::Args;

use super::{report, JsonArgs, LimitArgs};
use crate::error::Error;
use crate::object::local_landing_path;
use crate::pipeline::{StreamOptions, StreamStats};
use crate::registry::Registry;
use crate::store::local::{self, Landing, LocalObject};
use crate::transcode::Engine;

#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// Registry directory: descriptor sets (*.binpb) and routes.json.
    #[arg(long, value_name = "DIR", env = "PROTOLAKE_REGISTRY")]
    registry: PathBuf,
    /// Landing directory: one NDJSON file per source object, at <landing>/<relative path>.ndjson.
    #[arg(long, value_name = "DIR", env = "PROTOLAKE_LANDING")]
    landing: PathBuf,
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
    /// Source files or directories; keys are paths relative to each.
    #[arg(value_name = "SOURCE", required = true)]
    sources: Vec<PathBuf>,
}

pub(crate) fn run(a: RunArgs) -> ExitCode {
    let started = Instant::now();
    let registry = match Registry::load_dir(&a.registry) {
        Ok(r) => r,
        Err(e) => {
            report(&e);
            return ExitCode::FAILURE;
        }
    };
    let mut objects: Vec<LocalObject> = Vec::new();
    for s in &a.sources {
        match local::list(s) {
            Ok(mut v) => objects.append(&mut v),
            Err(e) => {
                report(&format_args!("{}: {e}", s.display()));
                return ExitCode::FAILURE;
            }
        }
    }
    let base = StreamOptions {
        json: a.json.options(),
        engine: Engine::Direct,
        limits: a.limits.limits(),
        ..StreamOptions::default()
    };
    let total_bytes: u64 = objects.iter().map(|o| o.size).sum();
    let progress = if std::io::stderr().is_terminal() && objects.len() > 1 {
        let pb = indicatif::ProgressBar::new(total_bytes);
        pb.set_style(
            indicatif::ProgressStyle::with_template("{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} ({bytes_per_sec}) {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        Some(pb)
    } else {
        None
    };
    let next = AtomicUsize::new(0);
    let totals = Mutex::new((StreamStats::default(), 0usize, 0usize));
    let jobs = a
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .clamp(1, 64)
        .min(objects.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(obj) = objects.get(i) else { break };
                let result = process(obj, &registry, &base, &a.landing);
                let mut t = totals.lock().unwrap_or_else(|p| p.into_inner());
                match result {
                    Ok((stats, path)) => {
                        t.0 += stats;
                        t.1 += 1;
                        if !a.quiet {
                            let line =
                                format!("landed {} ({} messages)", path.display(), stats.messages);
                            match &progress {
                                Some(pb) => pb.println(line),
                                None => println!("{line}"),
                            }
                        }
                    }
                    Err(e) => {
                        t.2 += 1;
                        let line =
                            format!("protolake: error: {}", e.to_string().replace('\n', " "));
                        match &progress {
                            Some(pb) => pb.suspend(|| eprintln!("{line}")),
                            None => eprintln!("{line}"),
                        }
                    }
                }
                drop(t);
                if let Some(pb) = &progress {
                    pb.inc(obj.size);
                }
            });
        }
    });
    if let Some(pb) = progress {
        pb.finish_and_clear();
    }
    let (stats, ok, failed) = totals.into_inner().unwrap_or_else(|p| p.into_inner());
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "protolake run: {} objects ({ok} landed, {failed} failed), {} messages, {} bytes of protobuf in, {} bytes of JSON out, {secs:.2}s",
        ok + failed,
        stats.messages,
        stats.bytes_in,
        stats.bytes_out
    );
    if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn process(
    obj: &LocalObject,
    registry: &Registry,
    base: &StreamOptions,
    landing: &std::path::Path,
) -> Result<(StreamStats, PathBuf), Error> {
    let route = registry
        .routes
        .resolve(&obj.key)
        .ok_or_else(|| Error::Routing {
            input: obj.path.display().to_string(),
            reason: format!("no route in routes.json matches key {:?}", obj.key),
        })?;
    let message = registry
        .transcoder
        .message(&route.type_name)
        .ok_or_else(|| Error::Routing {
            input: obj.path.display().to_string(),
            reason: format!("message type {:?} is not in the registry", route.type_name),
        })?;
    let options = StreamOptions {
        framing: route.framing,
        compression: route.compression.unwrap_or_default(),
        ..*base
    };
    let io_err = |e| Error::Io {
        input: obj.path.display().to_string(),
        source: e,
    };
    let file = File::open(&obj.path).map_err(io_err)?;
    let dest = landing.join(local_landing_path(&obj.key, false));
    let mut out = Landing::create(dest).map_err(|e| Error::Io {
        input: landing.display().to_string(),
        source: e,
    })?;
    let stats = crate::pipeline::transcode_stream(
        &obj.path.display().to_string(),
        file,
        &registry.transcoder,
        message,
        &options,
        &mut out,
    )?;
    let path = out.commit().map_err(|e| Error::Io {
        input: landing.display().to_string(),
        source: e,
    })?;
    Ok((stats, path))
}
