//! The landed format. A [`Format`] names its key suffix and content type and makes one
//! [`Sink`] per object; the pipeline hands the sink every message's bytes in order and then
//! finishes it (the searcher/printer split of ripgrep's `Sink`). NDJSON and Parquet are
//! the implementations; a new format is one new file here and one arm in [`format`].

pub mod ndjson;
pub mod parquet;

use std::io::{self, Write};
use std::str::FromStr;

use crate::transcode::{Engine, JsonOptions, MessageId, TranscodeError, Transcoder};

/// Why one message could not be written.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// The message's bytes do not decode (or their JSON cannot be expressed).
    #[error(transparent)]
    Transcode(TranscodeError),
    /// The output grew past [`SinkOptions::max_output`]; nothing of this message was written.
    #[error("output exceeds the limit of {max} bytes (raise --max-output if this is real)")]
    TooLarge {
        /// The limit in force.
        max: u64,
    },
    /// The format cannot hold messages of this type (Parquet of a well-known type).
    #[error("{0}")]
    Unsupported(String),
    /// Writing failed.
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// Receives one stream's messages, in order, and writes them in its format.
pub trait Sink {
    /// Adds one serialized message (the sink decodes it itself: the format decides how).
    fn message(&mut self, bytes: &[u8]) -> Result<(), SinkError>;

    /// Bytes of output so far, before any output compression.
    fn bytes_out(&self) -> u64;

    /// Completes the output (trailers, compression) and flushes it; returns the output's
    /// bytes (before output compression), now final.
    fn finish(self: Box<Self>) -> io::Result<u64>;

    /// The sink as its two halves, when each message's output depends on that message alone
    /// (NDJSON): then the pipeline may encode messages on several threads and append their
    /// output in order. `None` (the default) keeps it to [`Sink::message`], one at a time
    /// (Parquet: rows go into shared column builders).
    fn split(&mut self) -> Option<Split<'_>> {
        None
    }
}

/// A sink taken apart for encoding on several threads (see [`Sink::split`]).
pub struct Split<'s> {
    /// Makes one encoder per thread.
    pub encoders: &'s (dyn MakeEncoder + Sync),
    /// Appends encoded messages to the output, in input order, as [`Sink::message`] would.
    pub writer: &'s mut dyn Append,
}

/// Makes [`Encode`]rs: one per transcoding thread.
pub trait MakeEncoder {
    /// A fresh encoder (its own scratch buffers).
    fn encoder(&self) -> Box<dyn Encode + '_>;
}

/// The per-message half of a split sink: bytes in, the message's output appended.
pub trait Encode {
    /// Appends the output of one serialized message to `out`. On error `out` may hold part
    /// of it: the caller truncates.
    fn encode(&mut self, bytes: &[u8], out: &mut Vec<u8>) -> Result<(), SinkError>;
}

/// The in-order half of a split sink.
pub trait Append {
    /// Writes one message's encoded output, enforcing the output limit.
    fn append(&mut self, encoded: &[u8]) -> Result<(), SinkError>;
}

/// How a sink decodes: the JSON options, the engine, and the limits it enforces.
#[derive(Debug, Clone, Copy)]
pub struct SinkOptions {
    /// JSON mapping options.
    pub json: JsonOptions,
    /// Which transcoder.
    pub engine: Engine,
    /// Deepest message nesting.
    pub max_depth: u32,
    /// Most output bytes (before compression) one stream may produce.
    pub max_output: u64,
}

/// A landed format.
pub trait Format: std::fmt::Debug + Send + Sync {
    /// What landing keys end in (`.ndjson`, `.ndjson.gz`).
    fn suffix(&self) -> &'static str;

    /// The landed object's content type.
    fn content_type(&self) -> &'static str;

    /// A sink writing messages of type `message` to `out` (`Send`, so a format may hand
    /// encoding to another thread); [`SinkError::Unsupported`] when the format cannot hold
    /// that type.
    fn sink<'a>(
        &self,
        transcoder: &'a Transcoder,
        message: MessageId,
        options: SinkOptions,
        out: Box<dyn Write + Send + 'a>,
    ) -> Result<Box<dyn Sink + 'a>, SinkError>;
}

/// The formats by name, as flags, environment variables and routes spell them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FormatName {
    /// One canonical proto3 JSON object per line.
    #[default]
    Ndjson,
    /// Columns typed by the descriptor, one row per message.
    Parquet,
}

impl FromStr for FormatName {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "ndjson" => Ok(FormatName::Ndjson),
            "parquet" => Ok(FormatName::Parquet),
            o => Err(format!(
                "unknown output format {o:?} (expected ndjson or parquet)"
            )),
        }
    }
}

/// Output settings that are not per route.
#[derive(Debug, Clone, Copy, Default)]
pub struct OutputOptions {
    /// The format, unless a route pins one.
    pub format: FormatName,
    /// Gzip NDJSON (`.ndjson.gz`).
    pub gzip: bool,
    /// Parquet's compression and row groups.
    pub parquet: parquet::Parquet,
}

/// The format named `name`, with `options`.
pub fn format(name: FormatName, options: &OutputOptions) -> Box<dyn Format> {
    match name {
        FormatName::Ndjson => Box::new(ndjson::Ndjson { gzip: options.gzip }),
        FormatName::Parquet => Box::new(options.parquet),
    }
}
