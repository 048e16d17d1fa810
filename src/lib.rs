//! protolake turns protobuf objects into canonical proto3 JSON (NDJSON), for any schema a
//! team registers, without a redeploy.
//!
//! ```text
//!  SQS event ─┐                           ┌ registry: *.binpb + routes.json
//!  S3 prefix ─┼─> object ─> routing ──────┤
//!  local tree ┘                           └> message type + framing
//!                  │
//!                  v
//!    read (streamed) -> decompress -> framing -> transcode -> NDJSON -> landing
//! ```
//! Every entry point feeds [`pipeline::transcode_stream`]; they differ only in where
//! objects come from and how results are reported.
#![warn(missing_docs)]

pub mod backfill;
pub mod cli;
pub mod compat;
pub mod decompress;
pub mod error;
pub mod framing;
pub mod lambda;
pub mod limits;
pub mod notify;
pub mod object;
pub mod pipeline;
pub mod poll;
pub mod registry;
pub mod service;
pub mod store;
pub mod transcode;

pub use error::Error;
pub use framing::Framing;
pub use limits::Limits;
pub use transcode::{Engine, JsonOptions, Transcoder};
