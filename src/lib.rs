//! protolake turns protobuf objects into query-ready data (canonical proto3 JSON lines, or
//! Parquet typed by the schema), for any schema a team registers, without a redeploy.
//!
//! ```text
//!  SQS event ─┐                            ┌ registry: *.binpb + routes.json (cached)
//!  S3 prefix ─┼─> ObjectRef ─> route ──────┤
//!  local tree ┘                            └> Target { type, framing, compression, format }
//!                  │
//!                  v
//!    store.open (streamed, pinned) -> decompress -> framing -> transcode -> output
//!        -> store.commit (landing, whole object or nothing)
//! ```
//! Every entry point feeds [`pipeline`]; they differ only in where object references come
//! from and how results are reported. `ARCHITECTURE.md` has the module map and which way
//! dependencies point.
#![warn(missing_docs)]

pub mod aws;
pub mod backfill;
pub mod catalog;
pub mod cli;
pub mod compat;
pub mod decompress;
mod features;
pub mod framing;
pub mod glue;
pub mod lambda;
pub mod landing;
pub mod limits;
pub mod notify;
pub mod output;
pub mod pipeline;
pub mod poll;
pub mod publish;
pub mod registry;
pub mod route;
pub mod service;
pub mod store;
pub mod transcode;

pub use framing::Framing;
pub use limits::Limits;
pub use pipeline::Error;
pub use transcode::{Engine, JsonOptions, Transcoder};
