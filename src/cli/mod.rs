//! Command line: clap structs, one file per subcommand. Each parses, builds what it needs
//! from the library, and calls it. Exit status: 0 success, 1 failure, 2 bad usage.

mod backfill;
mod compat;
mod decode;
mod run;
mod schema;
mod service;

pub use service::lambda_main;

use std::process::ExitCode;

use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::limits::{parse_size, Limits};
use crate::output::parquet::{Parquet, ParquetCompression};
use crate::output::{FormatName, OutputOptions};
use crate::registry::cache::DEFAULT_NEGATIVE_TTL;
use crate::registry::RegistryCache;
use crate::store::Location;
use crate::transcode::JsonOptions;

/// protolake: protobuf objects in, canonical proto3 JSON (NDJSON) out, for any schema.
#[derive(Debug, Parser)]
#[command(name = "protolake", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Decode one file or stream of protobuf messages to NDJSON.
    Decode(decode::DecodeArgs),
    /// Run the pipeline (routing, decompression, framing, transcoding, landing) over local
    /// trees: the service's work without SQS, for backfills and trying things out.
    Run(run::RunArgs),
    /// Compile and manage schemas.
    #[command(subcommand)]
    Schema(schema::SchemaCommand),
    /// Check whether a NEW schema can replace an OLD one: wire, JSON and semantic changes,
    /// optionally proven on sample objects. Exit status: 1 on any wire or json finding, 0
    /// otherwise (semantic findings are reported, not failed), 2 on bad usage or unreadable input.
    Compat(compat::CompatArgs),
    /// Long-poll an SQS queue of S3 notifications and process them (a worker for hosts that
    /// are not Lambda); deletes only the messages that succeeded.
    Poll(service::PollArgs),
    /// Run as the AWS Lambda handler (what the `bootstrap` binary does).
    Lambda(service::LambdaArgs),
    /// Send the service's queue one S3 notification per object under s3:// prefixes, so the
    /// deployed fleet lands (or re-lands) history as it lands new objects.
    Backfill(backfill::BackfillArgs),
}

/// JSON mapping flags shared by the commands that print JSON.
#[derive(Debug, Clone, Args)]
pub(crate) struct JsonArgs {
    /// Use the .proto field names instead of lowerCamelCase JSON names.
    #[arg(long)]
    proto_field_names: bool,
    /// Also print fields without presence that hold their default (0, "", [], {}).
    #[arg(long)]
    emit_defaults: bool,
    /// Print enum values as numbers instead of names.
    #[arg(long)]
    enum_numbers: bool,
}

impl JsonArgs {
    fn options(&self) -> JsonOptions {
        JsonOptions {
            proto_field_names: self.proto_field_names,
            emit_defaults: self.emit_defaults,
            enum_numbers: self.enum_numbers,
        }
    }
}

/// Parquet's settings, shared by `decode` and the landing commands.
#[derive(Debug, Clone, Args)]
pub(crate) struct ParquetArgs {
    /// Parquet page compression.
    #[arg(
        long,
        value_name = "zstd|snappy|none",
        default_value = "zstd",
        env = "PROTOLAKE_PARQUET_COMPRESSION"
    )]
    parquet_compression: ParquetCompression,
    /// Most rows in one Parquet row group.
    #[arg(long, value_name = "N", default_value = "1048576", value_parser = clap::value_parser!(u64).range(1..), env = "PROTOLAKE_ROW_GROUP_ROWS")]
    row_group_rows: u64,
    /// Most encoded bytes in one Parquet row group (what one row group holds in memory).
    #[arg(long, value_name = "SIZE", value_parser = parse_size, default_value = "64MiB", env = "PROTOLAKE_ROW_GROUP_SIZE")]
    row_group_size: u64,
}

impl ParquetArgs {
    fn parquet(&self) -> Parquet {
        Parquet {
            compression: self.parquet_compression,
            row_group_rows: usize::try_from(self.row_group_rows).unwrap_or(usize::MAX),
            row_group_bytes: usize::try_from(self.row_group_size.max(1)).unwrap_or(usize::MAX),
        }
    }
}

/// Resource limits, each with a safe default.
#[derive(Debug, Clone, Args)]
pub(crate) struct LimitArgs {
    /// Largest message (frame) accepted, e.g. 64MiB.
    #[arg(long, value_name = "SIZE", value_parser = parse_size, default_value = "64MiB", env = "PROTOLAKE_MAX_FRAME")]
    max_frame: u64,
    /// Largest decompressed size of one input or object (guards against decompression bombs).
    #[arg(long, value_name = "SIZE", value_parser = parse_size, default_value = "8GiB", env = "PROTOLAKE_MAX_DECOMPRESSED")]
    max_decompressed: u64,
    /// Largest stored (compressed) S3 object, checked before it is read.
    #[arg(long, value_name = "SIZE", value_parser = parse_size, default_value = "8GiB", env = "PROTOLAKE_MAX_OBJECT")]
    max_object: u64,
    /// Most output bytes one input or object may produce (NDJSON before compression; the
    /// Parquet file, to within one batch of rows).
    #[arg(long, value_name = "SIZE", value_parser = parse_size, default_value = "8GiB", env = "PROTOLAKE_MAX_OUTPUT")]
    max_output: u64,
    /// Most messages in one input or object.
    #[arg(long, value_name = "N", default_value_t = Limits::DEFAULT_MAX_MESSAGES, env = "PROTOLAKE_MAX_MESSAGES")]
    max_messages: u64,
    /// Deepest nesting of messages (protobuf's reference runtimes use 100).
    #[arg(long, value_name = "N", default_value_t = Limits::DEFAULT_MAX_DEPTH, env = "PROTOLAKE_MAX_DEPTH")]
    max_depth: u32,
}

impl LimitArgs {
    fn limits(&self) -> Limits {
        Limits {
            max_frame: self.max_frame,
            max_decompressed: self.max_decompressed,
            max_messages: self.max_messages,
            max_object: self.max_object,
            max_output: self.max_output,
            max_depth: self.max_depth,
            ..Limits::default()
        }
    }
}

/// Where schemas live, shared by `run`, `poll` and the Lambda.
#[derive(Debug, Clone, Args)]
pub(crate) struct RegistryArgs {
    /// Registry: a directory or s3://bucket/prefix/ holding descriptor sets (*.binpb) and routes.json.
    #[arg(
        long,
        value_name = "DIR|s3://bucket/prefix/",
        env = "PROTOLAKE_REGISTRY"
    )]
    registry: Location,
    /// Seconds a loaded registry is reused before it is re-checked (a miss re-checks at once).
    #[arg(
        long,
        value_name = "SECS",
        env = "PROTOLAKE_SCHEMA_TTL_SECS",
        default_value_t = 60
    )]
    schema_ttl_secs: u64,
}

impl RegistryArgs {
    async fn cache(&self) -> RegistryCache {
        RegistryCache::new(
            self.registry.open().await,
            Duration::from_secs(self.schema_ttl_secs),
            DEFAULT_NEGATIVE_TTL,
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum OutputCompression {
    None,
    Gzip,
}

/// Where output lands and in which format, shared by `run`, `poll` and the Lambda.
#[derive(Debug, Clone, Args)]
pub(crate) struct LandingArgs {
    /// Landing: a directory or s3://bucket/prefix/. S3 objects land at
    /// <landing><bucket>/<key>.ndjson, files of a local tree at <landing><relative path>.ndjson.
    #[arg(
        long,
        value_name = "DIR|s3://bucket/prefix/",
        env = "PROTOLAKE_LANDING"
    )]
    landing: Location,
    /// The landed format, unless a route pins one.
    #[arg(
        long,
        value_name = "ndjson|parquet",
        env = "PROTOLAKE_OUTPUT_FORMAT",
        default_value = "ndjson"
    )]
    format: FormatName,
    /// Compress landed NDJSON (.ndjson.gz).
    #[arg(
        long,
        env = "PROTOLAKE_OUTPUT_COMPRESSION",
        value_enum,
        default_value = "none"
    )]
    output_compression: OutputCompression,
    #[command(flatten)]
    parquet: ParquetArgs,
}

impl LandingArgs {
    fn output(&self) -> OutputOptions {
        OutputOptions {
            format: self.format,
            gzip: self.output_compression == OutputCompression::Gzip,
            parquet: self.parquet.parquet(),
        }
    }
}

/// The multi-threaded runtime every async subcommand runs on.
pub(crate) fn runtime() -> Option<tokio::runtime::Runtime> {
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

/// Prints a one-line error the way every subcommand does.
pub(crate) fn report(err: &dyn std::fmt::Display) {
    let line = err.to_string().replace('\n', " ");
    eprintln!("protolake: error: {line}");
}

/// How logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Logs {
    /// Warnings only, text: the CLI reports its own errors (registry problems included).
    Cli,
    /// Info and up, text: the long-running worker.
    Worker,
    /// Info and up, JSON lines for CloudWatch: the Lambda.
    Lambda,
}

/// Sets up `tracing` once; `PROTOLAKE_LOG` (an `EnvFilter`) overrides the level.
pub(crate) fn init_tracing(logs: Logs) {
    use tracing_subscriber::EnvFilter;
    let default = match logs {
        Logs::Cli => "warn,protolake::registry::cache=off",
        Logs::Worker | Logs::Lambda => "info",
    };
    let filter =
        EnvFilter::try_from_env("PROTOLAKE_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match logs {
        Logs::Lambda => builder.json().try_init(),
        _ => builder.try_init(),
    };
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(match &cli.command {
        Command::Lambda(_) => Logs::Lambda,
        Command::Poll(_) => Logs::Worker,
        _ => Logs::Cli,
    });
    match cli.command {
        Command::Decode(a) => decode::run(a),
        Command::Run(a) => run::run(a),
        Command::Schema(c) => schema::run(c),
        Command::Compat(a) => compat::run(a),
        Command::Poll(a) => service::poll(a),
        Command::Backfill(a) => backfill::run(a),
        Command::Lambda(a) => service::lambda(a),
    }
}
