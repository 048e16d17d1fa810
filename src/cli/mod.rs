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

use clap::{Args, Parser, Subcommand};

use crate::limits::{parse_size, Limits};
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
    /// Most NDJSON bytes one input or object may produce.
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

/// Prints a one-line error the way every subcommand does.
pub(crate) fn report(err: &dyn std::fmt::Display) {
    let line = err.to_string().replace('\n', " ");
    eprintln!("protolake: error: {line}");
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match &cli.command {
        Command::Lambda(_) => init_tracing_json(),
        Command::Poll(_) => init_tracing_service(),
        _ => init_tracing(),
    }
    match cli.command {
        Command::Decode(a) => decode::run(a),
        Command::Run(a) => run::run(a),
        Command::Schema(c) => schema::run(c),
        Command::Compat(a) => compat::run(a),
        Command::Poll(a) => service::poll(a),
        Command::Backfill(a) => backfill::run(a),
        Command::Lambda(a) => {
            // The Lambda logs JSON lines for CloudWatch, whichever entry point started it.
            service::lambda(a)
        }
    }
}

/// Text logs at info for the long-running worker, registry problems included.
fn init_tracing_service() {
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_from_env("PROTOLAKE_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// JSON logs for CloudWatch (Lambda).
pub(crate) fn init_tracing_json() {
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_from_env("PROTOLAKE_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

fn init_tracing() {
    // The CLI reports registry problems itself (`run` stops on them at start); the service
    // logs them through tracing.
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("PROTOLAKE_LOG")
        .unwrap_or_else(|_| EnvFilter::new("warn,protolake::registry::cache=off"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
