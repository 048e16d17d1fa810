//! bench/run.py's codegen and decompression baselines (see bench/codegen/Cargo.toml).
//!
//!     baseline codegen --type analytics|otel FILE   decode + serde_json each message to stdout
//!     baseline gunzip [--bufs IN OUT] FILE          decompress FILE and discard the bytes
//!
//! and, built with the features Cargo.toml names, other inflaters to compare with `gunzip`:
//!
//!     baseline libdeflate [--passes N] FILE         read all of FILE, inflate it whole (libdeflate)
//!     baseline rapidgzip [--threads N] FILE         rapidgzip-core's parallel reader
//!     baseline zune FILE                            zune-inflate, whole buffer, first member only
//!     baseline isal FILE                            isa-l's streaming reader (isal-rs)
//!     baseline gzippy [--threads N] FILE            gzippy (whole input; parallel marker decoder)
//!     baseline rapidgzip-cpp [--threads N] FILE     the C++ rapidgzip, through the rapidgzip crate
//!
//! Each inflater mode takes `--stdout` before FILE to write the bytes out instead (to hash them).
//! `gunzip` inflates with zlib-rs (with or without its runtime CPU detection, as the build's
//! features say), or with zlib-ng in a `--features zlib-ng` build.
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

/// Where an inflater mode puts its bytes: counted and dropped, or written to stdout.
struct Sink {
    out: Option<io::Stdout>,
    total: u64,
}

impl Write for Sink {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.put(bytes)?;
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.out {
            Some(out) => out.flush(),
            None => Ok(()),
        }
    }
}

impl Sink {
    fn new(to_stdout: bool) -> Sink {
        Sink {
            out: to_stdout.then(io::stdout),
            total: 0,
        }
    }

    fn put(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.total += bytes.len() as u64;
        match &mut self.out {
            Some(out) => out.write_all(bytes),
            None => Ok(()),
        }
    }

    fn done(mut self) -> io::Result<u64> {
        if let Some(out) = &mut self.out {
            out.flush()?;
        }
        Ok(self.total)
    }
}

/// Drains a streaming decoder through a `size`-byte buffer.
fn drain_with(mut input: impl Read, size: usize, sink: &mut Sink) -> io::Result<()> {
    let mut buf = vec![0u8; size];
    loop {
        match input.read(&mut buf)? {
            0 => return Ok(()),
            k => sink.put(&buf[..k])?,
        }
    }
}

/// Drains a streaming decoder through a BUF-sized buffer.
fn drain(input: impl Read, sink: &mut Sink) -> io::Result<()> {
    drain_with(input, BUF, sink)
}

/// flate2's inflater: zlib-rs (which checks the CPU at run time: flate2's runtime_detection is
/// on in every build now), or zlib-ng in a `--features zlib-ng` build.
const FLATE2_BACKEND: &str = if cfg!(feature = "zlib-ng") {
    "zlib-ng"
} else {
    "zlib-rs, runtime CPU detection"
};

/// As protolake reads gzip (flate2::read::MultiGzDecoder, which feeds the inflater from a 32 KiB
/// buffer of its own, read BUF bytes at a time); or, given `bufs` = (input, output) sizes,
/// flate2::bufread::MultiGzDecoder over an input buffer of that size, read that many at a time.
fn gunzip(path: &str, bufs: Option<(usize, usize)>, sink: &mut Sink) -> io::Result<String> {
    match bufs {
        None => {
            drain(open_gz(path)?, sink)?;
            Ok(format!("flate2 {FLATE2_BACKEND}"))
        }
        Some((input, output)) => {
            let file = BufReader::with_capacity(input, File::open(path)?);
            drain_with(flate2::bufread::MultiGzDecoder::new(file), output, sink)?;
            Ok(format!(
                "flate2 {FLATE2_BACKEND}, bufread, {input}-byte input, {output}-byte reads"
            ))
        }
    }
}

#[allow(dead_code)]
fn bad(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

/// The whole file in memory, then libdeflate's one-shot gzip inflate, member by member, into one
/// output buffer sized from the last member's ISIZE trailer (the exact size of a single-member
/// file under 4 GiB) and doubled whenever a member does not fit (ISIZE is the size mod 2^32, and
/// says nothing of the other members). Peak memory: the compressed file + its largest member.
///
/// `passes` > 1 inflates the file that many times into the same (by then faulted-in) buffer and
/// reports each pass's time, to tell the inflater's speed from the cost of the fresh pages.
#[cfg(feature = "alt-inflaters")]
#[allow(non_upper_case_globals)]
fn libdeflate(path: &str, passes: usize, sink: &mut Sink) -> io::Result<String> {
    use libdeflate_sys::*;
    let data = std::fs::read(path)?;
    if data.len() < 18 {
        return Err(bad(format!("{} bytes is too short for gzip", data.len())));
    }
    let isize = u32::from_le_bytes(data[data.len() - 4..].try_into().unwrap()) as usize;
    let mut out = vec![0u8; isize.max(data.len()).max(1)];
    // SAFETY: a fresh decompressor, freed below; every call gets in and out slices' true lengths.
    let d = unsafe { libdeflate_alloc_decompressor() };
    if d.is_null() {
        return Err(io::Error::new(
            io::ErrorKind::OutOfMemory,
            "libdeflate_alloc_decompressor",
        ));
    }
    let mut times = Vec::new();
    let mut result = Ok(());
    let mut members = 0u64;
    for pass in 0..passes.max(1) {
        let started = std::time::Instant::now();
        let mut pos = 0;
        members = 0;
        result = loop {
            if pos == data.len() {
                break Ok(());
            }
            let (mut used_in, mut used_out) = (0usize, 0usize);
            let rest = &data[pos..];
            let r = unsafe {
                libdeflate_gzip_decompress_ex(
                    d,
                    rest.as_ptr().cast(),
                    rest.len(),
                    out.as_mut_ptr().cast(),
                    out.len(),
                    &mut used_in,
                    &mut used_out,
                )
            };
            match r {
                libdeflate_result_LIBDEFLATE_SUCCESS => {
                    if pass == 0 {
                        if let Err(e) = sink.put(&out[..used_out]) {
                            break Err(e);
                        }
                    }
                    pos += used_in;
                    members += 1;
                }
                libdeflate_result_LIBDEFLATE_INSUFFICIENT_SPACE => {
                    let n = out.len() * 2;
                    out = vec![0u8; n];
                }
                _ => {
                    break Err(bad(format!(
                        "bad gzip data in member {members} at byte {pos}"
                    )))
                }
            }
        };
        times.push(format!("{:.1}", started.elapsed().as_secs_f64() * 1e3));
        if result.is_err() {
            break;
        }
    }
    unsafe { libdeflate_free_decompressor(d) };
    let passes = if times.len() > 1 {
        format!(", passes {} ms", times.join(" "))
    } else {
        String::new()
    };
    result.map(|()| {
        format!(
            "libdeflate {members} member(s), {} MiB output buffer{passes}",
            out.len() >> 20
        )
    })
}

/// rapidgzip-core's `Read` over the file: the marker/window parallel inflater (zlib-rs inside),
/// with `threads` decoder workers.
#[cfg(feature = "alt-inflaters")]
fn rapidgzip(path: &str, threads: usize, sink: &mut Sink) -> io::Result<String> {
    let decoder = rapidgzip_core::Decoder::builder()
        .decoder_threads(threads)
        .build()
        .map_err(|e| bad(e.to_string()))?;
    let mut reader = decoder.open(path).map_err(|e| bad(e.to_string()))?;
    drain(&mut reader, sink)?;
    let path_taken = reader.stats().path;
    let report = reader.finish().map_err(|e| bad(e.to_string()))?;
    Ok(format!(
        "rapidgzip-core {threads} thread(s), path {path_taken:?}, {} member(s)",
        report.member_count
    ))
}

/// zune-inflate's one-shot gzip decode of the whole file. It decodes the first member only and
/// does not say where that member ended, so a multi-member file would be cut short: refused when
/// the last member's ISIZE trailer does not match the output (a last member the same length as
/// the first, mod 2^32, gets through; this mode is for single-member files).
#[cfg(feature = "alt-inflaters")]
fn zune(path: &str, sink: &mut Sink) -> io::Result<String> {
    let data = std::fs::read(path)?;
    let options = zune_inflate::DeflateOptions::default()
        .set_limit(usize::MAX)
        .set_confirm_checksum(true);
    let out = zune_inflate::DeflateDecoder::new_with_options(&data, options)
        .decode_gzip()
        .map_err(|e| bad(format!("{e:?}")))?;
    let isize = u32::from_le_bytes(data[data.len() - 4..].try_into().unwrap());
    if isize != out.len() as u32 {
        return Err(bad(
            "more than one gzip member (zune-inflate decodes only the first)".into(),
        ));
    }
    sink.put(&out)?;
    Ok("zune-inflate, 1 member".into())
}

/// isal-rs's streaming gzip `Read` (isa-l's igzip inflate), which resets for each member.
#[cfg(feature = "isal")]
fn isal(path: &str, sink: &mut Sink) -> io::Result<String> {
    let file = BufReader::with_capacity(BUF, File::open(path)?);
    drain(isal::read::Decoder::new(file, isal::Codec::Gzip), sink)?;
    Ok("isa-l (isal-rs)".into())
}

/// gzippy's decoder over the whole file in memory (its API takes a slice), writing to the sink
/// as it goes; `threads` > 1 lets it run its parallel single-member (marker) pipeline. Note that
/// gzippy returns Ok with no output for input that is not gzip at all.
#[cfg(feature = "gzippy")]
fn gzippy(path: &str, threads: usize, sink: &mut Sink) -> io::Result<String> {
    let data = std::fs::read(path)?;
    gzippy::decompress_to_writer_with_threads(&data, sink, threads)
        .map_err(|e| bad(format!("{e:?}")))?;
    Ok(format!("gzippy {threads} thread(s)"))
}

/// The C++ rapidgzip (with its ISA-L) through the rapidgzip crate's `Read`, `threads` workers,
/// no index kept (so its memory does not grow with the file).
#[cfg(feature = "rapidgzip-cpp")]
fn rapidgzip_cpp(path: &str, threads: usize, sink: &mut Sink) -> io::Result<String> {
    let reader = rapidgzip::ReaderBuilder::new()
        .parallelism(threads as u32)
        .keep_index(false)
        .open(path)
        .map_err(|e| bad(e.to_string()))?;
    drain(reader, sink)?;
    Ok(format!("rapidgzip (C++) {threads} thread(s)"))
}

#[cfg(not(feature = "gzippy"))]
fn gzippy(_: &str, _: usize, _: &mut Sink) -> io::Result<String> {
    Err(missing("gzippy"))
}
#[cfg(not(feature = "rapidgzip-cpp"))]
fn rapidgzip_cpp(_: &str, _: usize, _: &mut Sink) -> io::Result<String> {
    Err(missing("rapidgzip-cpp"))
}
#[cfg(not(feature = "alt-inflaters"))]
fn libdeflate(_: &str, _: usize, _: &mut Sink) -> io::Result<String> {
    Err(missing("alt-inflaters"))
}
#[cfg(not(feature = "alt-inflaters"))]
fn rapidgzip(_: &str, _: usize, _: &mut Sink) -> io::Result<String> {
    Err(missing("alt-inflaters"))
}
#[cfg(not(feature = "alt-inflaters"))]
fn zune(_: &str, _: &mut Sink) -> io::Result<String> {
    Err(missing("alt-inflaters"))
}
#[cfg(not(feature = "isal"))]
fn isal(_: &str, _: &mut Sink) -> io::Result<String> {
    Err(missing("isal"))
}

#[allow(dead_code)]
fn missing(feature: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        format!("this baseline was built without --features {feature}"),
    )
}

/// Runs one inflater mode; `args` is `[options] FILE` (see `usage`).
fn inflate(mode: &str, args: &[&str]) -> Result<String, String> {
    let (mut threads, mut passes, mut bufs, mut to_stdout, mut rest) = (1, 1, None, false, args);
    let number = |flag: &str, n: &str| {
        n.parse::<usize>()
            .ok()
            .filter(|&n| n > 0)
            .ok_or_else(|| format!("{flag} {n}: not a positive number"))
    };
    loop {
        match rest {
            ["--threads", n, tail @ ..] if mode.starts_with("rapidgzip") || mode == "gzippy" => {
                threads = number("--threads", n)?;
                rest = tail;
            }
            ["--passes", n, tail @ ..] if mode == "libdeflate" => {
                passes = number("--passes", n)?;
                rest = tail;
            }
            ["--bufs", i, o, tail @ ..] if mode == "gunzip" => {
                bufs = Some((number("--bufs", i)?, number("--bufs", o)?));
                rest = tail;
            }
            ["--stdout", tail @ ..] => {
                to_stdout = true;
                rest = tail;
            }
            _ => break,
        }
    }
    let [file] = rest else {
        return Err(format!("{mode}: expected [options] FILE, got {args:?}"));
    };
    let mut sink = Sink::new(to_stdout);
    let what = match mode {
        "gunzip" => gunzip(file, bufs, &mut sink),
        "libdeflate" => libdeflate(file, passes, &mut sink),
        "rapidgzip" => rapidgzip(file, threads, &mut sink),
        "zune" => zune(file, &mut sink),
        "gzippy" => gzippy(file, threads, &mut sink),
        "rapidgzip-cpp" => rapidgzip_cpp(file, threads, &mut sink),
        "isal" => isal(file, &mut sink),
        _ => unreachable!(),
    }
    .map_err(|e| format!("{mode}: {e}"))?;
    let n = sink.done().map_err(|e| e.to_string())?;
    Ok(format!("{n} bytes decompressed ({what})"))
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
        [mode @ ("gunzip" | "libdeflate" | "rapidgzip" | "zune" | "isal" | "gzippy"
        | "rapidgzip-cpp"), rest @ ..] => inflate(mode, rest),
        _ => {
            eprintln!(
                "usage: baseline codegen --type analytics|otel FILE\n       \
                 baseline gunzip [--bufs IN OUT] [--stdout] FILE\n       \
                 baseline libdeflate [--passes N] [--stdout] FILE\n       \
                 baseline rapidgzip|rapidgzip-cpp|gzippy [--threads N] [--stdout] FILE\n       \
                 baseline zune|isal [--stdout] FILE"
            );
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
