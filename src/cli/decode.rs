//! `protolake decode`.

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::{report, JsonArgs, LimitArgs, ParquetArgs};
use crate::decompress::Compression;
use crate::framing::Framing;
use crate::output::{self, FormatName, OutputOptions, SinkOptions};
use crate::pipeline::{transcode_stream, transcode_stream_parallel, StreamOptions};
use crate::registry::load_paths;
use crate::transcode::{Engine, Transcoder};

#[derive(Debug, Args)]
pub(crate) struct DecodeArgs {
    /// FileDescriptorSet (.binpb/.pb/.desc), .proto file, or a directory of them. Repeatable.
    #[arg(
        long = "descriptors",
        short = 'd',
        value_name = "PATH",
        required = true
    )]
    descriptors: Vec<PathBuf>,
    /// Fully qualified message type, with or without a leading dot.
    #[arg(long = "type", short = 't', value_name = "FULL.MESSAGE.NAME")]
    type_name: String,
    /// How messages are delimited: single, varint (writeDelimitedTo) or fixed32 (4-byte big-endian).
    #[arg(long, default_value = "single", value_name = "FRAMING")]
    framing: Framing,
    /// auto detects gzip and zstd from the first bytes; pin it for raw streams that might look compressed.
    #[arg(long, default_value = "auto", value_name = "auto|none|gzip|zstd")]
    compression: Compression,
    #[command(flatten)]
    json: JsonArgs,
    #[command(flatten)]
    limits: LimitArgs,
    /// The output format: ndjson, or parquet (one file; needs -o OUT or a redirected
    /// standard output).
    #[arg(long, value_name = "ndjson|parquet", default_value = "ndjson")]
    format: FormatName,
    #[command(flatten)]
    parquet: ParquetArgs,
    /// Transcoder: direct (the product), or a second opinion it is tested against: reflect
    /// (prost-reflect's decoder behind a normalizer and printer) or serde (prost-reflect +
    /// serde as shipped). Built only with the `second-opinion` feature.
    #[cfg(feature = "second-opinion")]
    #[arg(long, default_value = "direct", hide = true)]
    engine: Engine,
    /// Threads transcoding the messages of a stream, in input order (NDJSON; Parquet uses
    /// one). Default: the number of CPUs. Decompression runs on a thread of its own when
    /// there is a second CPU.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    threads: Option<u16>,
    /// Write the output here instead of standard output.
    #[arg(short = 'o', long = "output", value_name = "OUT")]
    output: Option<PathBuf>,
    /// Input files; none or `-` reads standard input.
    #[arg(value_name = "INPUT")]
    inputs: Vec<PathBuf>,
}

pub(crate) fn run(a: DecodeArgs) -> ExitCode {
    let pool = match load_paths(&a.descriptors) {
        Ok(p) => p,
        Err(e) => {
            report(&e);
            return ExitCode::FAILURE;
        }
    };
    let transcoder = Transcoder::new(&pool);
    let Some(message) = transcoder.message(&a.type_name) else {
        report(&unknown_type(&a.type_name, &pool));
        return ExitCode::from(2);
    };
    let limits = a.limits.limits();
    let options = StreamOptions {
        framing: a.framing,
        compression: a.compression,
        limits,
    };
    #[cfg(feature = "second-opinion")]
    let engine = a.engine;
    #[cfg(not(feature = "second-opinion"))]
    let engine = Engine::default();
    let sink_options = SinkOptions {
        json: a.json.options(),
        engine,
        max_depth: limits.max_depth,
        max_output: limits.max_output,
    };
    let format = output::format(
        a.format,
        &OutputOptions {
            format: a.format,
            gzip: false,
            parquet: a.parquet.parquet(),
        },
    );
    let parquet = a.format == FormatName::Parquet;
    if parquet && a.output.is_none() && io::stdout().is_terminal() {
        report(&"--format parquet writes a binary file: give -o OUT or redirect standard output");
        return ExitCode::from(2);
    }
    // Parquet to a file is written beside it and renamed at the end, so a failure leaves
    // no OUT; NDJSON goes straight there (the lines before a failure stay written).
    let (out, spool): (Box<dyn Write + Send>, Option<tempfile::NamedTempFile>) = match &a.output {
        // A regular file (or a new one); /dev/null and FIFOs are written as they are.
        Some(p) if parquet && std::fs::metadata(p).map_or(true, |m| m.is_file()) => {
            let dir = p
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(std::path::Path::new("."));
            match crate::store::local::spool_in(dir, ".parquet.tmp")
                .and_then(|t| Ok((t.as_file().try_clone()?, t)))
            {
                Ok((f, t)) => (Box::new(f), Some(t)),
                Err(e) => {
                    report(&format_args!("{}: {e}", p.display()));
                    return ExitCode::FAILURE;
                }
            }
        }
        Some(p) => match File::create(p) {
            Ok(f) => (Box::new(f), None),
            Err(e) => {
                report(&format_args!("{}: {e}", p.display()));
                return ExitCode::FAILURE;
            }
        },
        None => (Box::new(io::stdout()), None),
    };
    let mut out = BufWriter::with_capacity(256 << 10, out);
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = a.threads.map_or(cpus, usize::from);
    let inputs = if a.inputs.is_empty() {
        vec![PathBuf::from("-")]
    } else {
        a.inputs.clone()
    };
    // One sink for every input: one Parquet file with their rows in argument order.
    let mut sink = match format.sink(&transcoder, message, sink_options, Box::new(&mut out)) {
        Ok(sink) => sink,
        Err(e) => {
            // The error names the type.
            report(&e);
            return ExitCode::from(2);
        }
    };
    for input in &inputs {
        let (name, reader): (String, Box<dyn Read + Send>) = if input.as_os_str() == "-" {
            ("<stdin>".into(), Box::new(io::stdin()))
        } else {
            match File::open(input) {
                Ok(f) => (input.display().to_string(), Box::new(f)),
                Err(e) => {
                    drop(sink);
                    let _ = out.flush();
                    report(&format_args!("{}: {e}", input.display()));
                    return ExitCode::FAILURE;
                }
            }
        };
        // With a second core, decompression runs beside transcoding.
        let result = if cpus > 1 || threads > 1 {
            transcode_stream_parallel(&name, reader, &options, sink.as_mut(), threads)
        } else {
            transcode_stream(&name, reader, &options, sink.as_mut())
        };
        if let Err(e) = result {
            // Lines before the failure stay written (NDJSON); a Parquet spool is removed.
            drop(sink);
            let _ = out.flush();
            report(&e);
            return ExitCode::FAILURE;
        }
    }
    match sink.finish() {
        // A reader that stopped early (`| head`) is not a failure.
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
            report(&format_args!("writing output: {e}"));
            return ExitCode::FAILURE;
        }
        _ => {}
    }
    if let Err(e) = out.flush() {
        if e.kind() != io::ErrorKind::BrokenPipe {
            report(&format_args!("writing output: {e}"));
            return ExitCode::FAILURE;
        }
    }
    drop(out);
    if let (Some(spool), Some(path)) = (spool, &a.output) {
        if let Err(e) = spool.persist(path) {
            report(&format_args!("{}: {}", path.display(), e.error));
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}

/// "unknown message type X; closest known: A, B, C".
pub(crate) fn unknown_type(name: &str, pool: &prost_reflect::DescriptorPool) -> String {
    let wanted = name.strip_prefix('.').unwrap_or(name);
    let mut scored: Vec<(f64, String)> = pool
        .all_messages()
        .filter(|m| !m.is_map_entry())
        .map(|m| {
            let full = m.full_name();
            let short = m.name();
            let wanted_short = wanted.rsplit('.').next().unwrap_or(wanted);
            let s = strsim::jaro_winkler(wanted, full).max(strsim::jaro_winkler(
                &wanted_short.to_lowercase(),
                &short.to_lowercase(),
            ));
            (s, full.to_owned())
        })
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    let names: Vec<String> = scored.into_iter().take(5).map(|(_, n)| n).collect();
    if names.is_empty() {
        format!("unknown message type {wanted:?}: the descriptors define no message types")
    } else {
        format!(
            "unknown message type {wanted:?}; closest known: {}",
            names.join(", ")
        )
    }
}
