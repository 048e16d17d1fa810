//! The integration tests, as one test binary: every module below would otherwise be its own
//! executable linking the whole crate and the AWS SDK, and those links were most of a cold
//! CI's disk and a good part of its time. Modules share one moto server (support::moto).
//!
//! `cargo test --test it` runs them all; `cargo test --test it parquet::` runs one module.

mod support;

mod backfill;
mod catalog;
mod cli_decode;
mod cli_run;
mod cli_schema;
mod compat;
mod docs;
mod editions;
mod eventbridge;
#[cfg(feature = "second-opinion")]
mod fuzz_regressions;
mod glue;
mod lambda_sqs;
mod parquet;
mod reference_fixtures;
mod reliability;
mod s3_registry;
mod threads;
