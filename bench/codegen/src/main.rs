//! bench/run.py's codegen and decompression baselines (see bench/codegen/Cargo.toml).
//!
//!     baseline codegen --type analytics|otel FILE   decode + serde_json each message to stdout
//!     baseline gunzip FILE                          decompress FILE and discard the bytes
//!
//! FILE is a gzip'd stream of varint-delimited messages, as bench/run.py writes its corpora.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::process::ExitCode;

use flate2::read::MultiGzDecoder;
use prost::Message;
use serde::Serialize;

macro_rules! generated {
    ($pkg:literal) => {
        include!(concat!(env!("OUT_DIR"), "/", $pkg, ".rs"));
        include!(concat!(env!("OUT_DIR"), "/", $pkg, ".serde.rs"));
    };
}

#[allow(clippy::all)]
pub mod bench {
    pub mod analytics {
        pub mod v1 {
            generated!("bench.analytics.v1");
        }
    }
}

#[allow(clippy::all)]
pub mod opentelemetry {
    pub mod proto {
        pub mod common {
            pub mod v1 {
                generated!("opentelemetry.proto.common.v1");
            }
        }
        pub mod resource {
            pub mod v1 {
                generated!("opentelemetry.proto.resource.v1");
            }
        }
        pub mod trace {
            pub mod v1 {
                generated!("opentelemetry.proto.trace.v1");
            }
        }
        pub mod collector {
            pub mod trace {
                pub mod v1 {
                    generated!("opentelemetry.proto.collector.trace.v1");
                }
            }
        }
    }
}

use bench::analytics::v1::AnalyticsEvent;
use opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest;

const BUF: usize = 256 * 1024;

fn open_gz(path: &str) -> io::Result<MultiGzDecoder<BufReader<File>>> {
    Ok(MultiGzDecoder::new(BufReader::with_capacity(
        BUF,
        File::open(path)?,
    )))
}

/// The next varint length prefix, or None at a clean end of input.
fn read_len(r: &mut impl Read) -> io::Result<Option<usize>> {
    let mut len = 0u64;
    for i in 0..10 {
        let mut b = [0u8];
        if r.read(&mut b)? == 0 {
            return if i == 0 {
                Ok(None)
            } else {
                Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "truncated varint",
                ))
            };
        }
        len |= u64::from(b[0] & 0x7f) << (7 * i);
        if b[0] & 0x80 == 0 {
            return Ok(Some(len as usize));
        }
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidData,
        "varint longer than 10 bytes",
    ))
}

/// Decodes every frame of `path` as `M` and prints it as one JSON line; returns the count.
fn codegen<M: Message + Default + Serialize>(path: &str) -> Result<u64, String> {
    let mut input = BufReader::with_capacity(BUF, open_gz(path).map_err(|e| e.to_string())?);
    let mut out = BufWriter::with_capacity(BUF, io::stdout().lock());
    let mut frame = Vec::new();
    let mut n = 0u64;
    while let Some(len) = read_len(&mut input).map_err(|e| format!("message {n}: {e}"))? {
        frame.resize(len, 0);
        input
            .read_exact(&mut frame)
            .map_err(|e| format!("message {n}: {len}-byte frame: {e}"))?;
        let msg = M::decode(frame.as_slice()).map_err(|e| format!("message {n}: {e}"))?;
        serde_json::to_writer(&mut out, &msg).map_err(|e| format!("message {n}: {e}"))?;
        out.write_all(b"\n").map_err(|e| e.to_string())?;
        n += 1;
    }
    out.flush().map_err(|e| e.to_string())?;
    Ok(n)
}

fn gunzip(path: &str) -> io::Result<u64> {
    let mut input = open_gz(path)?;
    let mut buf = vec![0u8; BUF];
    let mut total = 0u64;
    loop {
        match input.read(&mut buf)? {
            0 => return Ok(total),
            k => total += k as u64,
        }
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        ["codegen", "--type", "analytics", file] => {
            codegen::<AnalyticsEvent>(file).map(|n| format!("{n} messages"))
        }
        ["codegen", "--type", "otel", file] => {
            codegen::<ExportTraceServiceRequest>(file).map(|n| format!("{n} messages"))
        }
        ["gunzip", file] => gunzip(file)
            .map(|n| format!("{n} bytes decompressed"))
            .map_err(|e| e.to_string()),
        _ => {
            eprintln!("usage: baseline codegen --type analytics|otel FILE | baseline gunzip FILE");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(summary) => {
            eprintln!("baseline: {summary}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("baseline: error: {e}");
            ExitCode::FAILURE
        }
    }
}
