//! `protolake backfill`: every object under S3 prefixes, one S3 notification each, to the
//! service's queue (the logic is in [`crate::backfill`]).

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use clap::Args;

use super::report;
use crate::backfill::{self, Observer, Options, Window};
use crate::store::s3::{self, S3Store};

#[derive(Debug, Args)]
#[command(after_help = "\
Each message is a classic S3 notification (key URL-encoded as S3 encodes it, size, ETag): the \
service reads the object pinned to that ETag, as for a live notification. Landing keys are \
deterministic, so objects already landed are rewritten in place (same bytes, or the new JSON \
after a schema change), and a rerun after a failure converges.

Exit status: 0 when every selected object was sent; 1 when any was not (the summary counts \
what was sent); 2 for bad usage, including a queue or bucket that does not exist. \
See docs/relanding.md.")]
pub(crate) struct BackfillArgs {
    /// The service's SQS queue, by URL (https://sqs.REGION.amazonaws.com/ACCOUNT/NAME). It
    /// is checked before anything is listed.
    #[arg(long, env = "PROTOLAKE_QUEUE_URL", value_name = "URL")]
    queue_url: String,
    /// Only objects last modified at or after T: an RFC 3339 timestamp
    /// (2026-11-26T09:30:00Z, 2026-11-26T10:30:00+01:00) or a date (2026-11-26: its
    /// midnight UTC).
    #[arg(long, value_name = "T")]
    since: Option<String>,
    /// Only objects last modified before T (exclusive: --since 2026-11-01 --until
    /// 2026-12-01 is November). Same forms as --since.
    #[arg(long, value_name = "T")]
    until: Option<String>,
    /// List and count what would be sent, print the first keys, send nothing.
    #[arg(long)]
    dry_run: bool,
    /// SendMessageBatch calls (10 messages each) in flight at once.
    #[arg(long, default_value_t = 8, value_name = "N",
          value_parser = clap::value_parser!(u16).range(1..=256))]
    concurrency: u16,
    /// Attempts per message: entries a batch call reports failed, and calls SQS refuses
    /// (throttling, 5xx), are retried with backoff up to this many times in all.
    #[arg(long, default_value_t = 6, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=100))]
    max_attempts: u32,
    /// Where the objects are: s3://bucket/prefix/ (every object under it; the whole bucket
    /// with s3://bucket/).
    #[arg(value_name = "SOURCE", required = true)]
    sources: Vec<String>,
}

/// Exit status 2 with one error line.
fn usage_error(e: &dyn std::fmt::Display) -> ExitCode {
    report(e);
    ExitCode::from(2)
}

/// At most this many error lines; the summary counts the rest.
const MAX_ERROR_LINES: usize = 20;

/// A progress bar on a terminal (its length grows as the listing goes on) and the error
/// lines, printed above it.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    errors: AtomicUsize,
}

impl Progress {
    fn new(dry_run: bool) -> Progress {
        let bar = (std::io::stderr().is_terminal() && !dry_run).then(|| {
            let pb = indicatif::ProgressBar::new(0);
            pb.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} messages ({per_sec}) {msg}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            pb.set_message("listing...");
            pb.enable_steady_tick(std::time::Duration::from_millis(200));
            pb
        });
        Progress {
            bar,
            errors: AtomicUsize::new(0),
        }
    }

    fn say(&self, line: &str) {
        match &self.bar {
            Some(pb) => pb.suspend(|| eprintln!("{line}")),
            None => eprintln!("{line}"),
        }
    }
}

impl Observer for Progress {
    fn selected(&self, n: u64) {
        if let Some(pb) = &self.bar {
            pb.inc_length(n);
        }
    }
    fn sent(&self, n: u64) {
        if let Some(pb) = &self.bar {
            pb.inc(n);
        }
    }
    fn failed(&self, n: u64, errors: &[String]) {
        if let Some(pb) = &self.bar {
            pb.inc(n);
        }
        for e in errors {
            match self.errors.fetch_add(1, Ordering::Relaxed) {
                i if i < MAX_ERROR_LINES => {
                    self.say(&format!("protolake: error: {}", e.replace('\n', " ")))
                }
                MAX_ERROR_LINES => self.say(
                    "protolake: error: more messages failed; their errors are not printed (the summary counts them)",
                ),
                _ => {}
            }
        }
    }
    fn listing_done(&self) {
        if let Some(pb) = &self.bar {
            pb.set_message("");
        }
    }
}

pub(crate) fn run(a: BackfillArgs) -> ExitCode {
    if let Err(e) = backfill::check_queue_url(&a.queue_url) {
        return usage_error(&e);
    }
    let mut sources = Vec::new();
    for s in &a.sources {
        match backfill::parse_source(s) {
            Ok(s) => sources.push(s),
            Err(e) => return usage_error(&e),
        }
    }
    let mut window = Window::default();
    for (flag, value, slot) in [
        ("--since", &a.since, &mut window.since),
        ("--until", &a.until, &mut window.until),
    ] {
        if let Some(v) = value {
            match backfill::parse_time(v) {
                Ok(t) => *slot = Some(t),
                Err(e) => return usage_error(&format_args!("{flag}: {e}")),
            }
        }
    }
    if let (Some(s), Some(u)) = (window.since, window.until) {
        if s >= u {
            return usage_error(&format_args!(
                "--since {} is not before --until {}: nothing would be selected",
                a.since.as_deref().unwrap_or_default(),
                a.until.as_deref().unwrap_or_default()
            ));
        }
    }
    let Some(rt) = super::runtime() else {
        return ExitCode::FAILURE;
    };
    let opts = Options {
        queue_url: a.queue_url.clone(),
        window,
        dry_run: a.dry_run,
        concurrency: a.concurrency.into(),
        max_attempts: a.max_attempts,
        ..Options::default()
    };
    rt.block_on(async move {
        let started = Instant::now();
        let sqs = backfill::with_timeouts(crate::poll::client().await);
        let s3 = s3::client().await;
        let sources = sources
            .into_iter()
            .map(|s| {
                let store = S3Store::new(s3.clone(), s.bucket.clone());
                (s, store)
            })
            .collect();
        let progress = Arc::new(Progress::new(opts.dry_run));
        let result = backfill::run(&sqs, sources, opts.clone(), progress.clone()).await;
        if let Some(pb) = &progress.bar {
            pb.finish_and_clear();
        }
        let s = match result {
            Ok(s) => s,
            Err(e) if e.is_usage() => return usage_error(&e),
            Err(e) => {
                report(&e);
                return ExitCode::FAILURE;
            }
        };
        let secs = started.elapsed().as_secs_f64();
        let skipped = format!(
            "{} outside --since/--until, {} folder markers skipped",
            s.outside_window, s.folders
        );
        if opts.dry_run {
            for k in &s.first {
                println!("{k}");
            }
            eprintln!(
                "protolake backfill: dry run: {} listed, {} would be sent to {} ({} bytes of objects; {skipped}); {} shown above; nothing sent",
                s.listed,
                s.selected,
                opts.queue_url,
                s.bytes,
                if s.first.len() as u64 == s.selected { "all".to_owned() } else { format!("the first {}", s.first.len()) },
            );
            return ExitCode::SUCCESS;
        }
        if let Some(why) = &s.stopped {
            report(&format_args!(
                "stopped early: {why}; {} selected objects were not sent",
                s.unsent()
            ));
        }
        eprintln!(
            "protolake backfill: {} listed, {} sent, {} failed ({skipped}, {} retries) to {} in {secs:.2}s: {:.0} messages/s",
            s.listed,
            s.sent,
            s.failed,
            s.retried,
            opts.queue_url,
            s.sent as f64 / secs.max(1e-9),
        );
        if s.failed > 0 || s.stopped.is_some() {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        }
    })
}
