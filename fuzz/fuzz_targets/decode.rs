//! Fuzzes the whole decode path (decompress -> framing -> transcode -> NDJSON) with
//! arbitrary bytes. It must never panic, whatever the input: every problem is an `Err`.
//!
//! The first byte chooses how the rest is read:
//!   bits 0-1  framing      0 single, 1 varint, 2 fixed32, 3 single
//!   bits 2-3  compression  0 none, 1 auto (sniff), 2 gzip, 3 zstd
//!   bit  4    type         0 protolake.test3.TestAllTypesProto3, 1 protolake.test2.TestAllTypesProto2
//!   bit  5    engine       0 direct, 1 reflect
//!   bit  6    --emit-defaults
//!   bit  7    --proto-field-names and --enum-numbers
//! (bench/fuzz.sh builds its seeds with the same layout.)
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use protolake::decompress::Compression;
use protolake::output::{ndjson::Ndjson, Format, SinkOptions};
use protolake::pipeline::{transcode_stream, StreamOptions};
use protolake::{Engine, Framing, JsonOptions, Limits};

use common::state;

fuzz_target!(|data: &[u8]| {
    let Some((&ctl, input)) = data.split_first() else {
        return;
    };
    let s = state();
    let framing = match ctl & 3 {
        1 => Framing::Varint,
        2 => Framing::Fixed32,
        _ => Framing::Single,
    };
    let compression = match (ctl >> 2) & 3 {
        0 => Compression::None,
        1 => Compression::Auto,
        2 => Compression::Gzip,
        _ => Compression::Zstd,
    };
    let message = if ctl & 0x10 == 0 { s.proto3 } else { s.proto2 };
    let engine = if ctl & 0x20 == 0 {
        Engine::Direct
    } else {
        Engine::Reflect
    };
    let json = JsonOptions {
        emit_defaults: ctl & 0x40 != 0,
        proto_field_names: ctl & 0x80 != 0,
        enum_numbers: ctl & 0x80 != 0,
    };
    let limits = Limits {
        max_frame: 1 << 20,
        max_decompressed: 16 << 20,
        max_messages: 100_000,
        zstd_window_log_max: 20,
        ..Limits::default()
    };
    let options = StreamOptions {
        framing,
        compression,
        limits,
    };
    let sink_options = SinkOptions {
        json,
        engine,
        max_depth: limits.max_depth,
        max_output: limits.max_output,
    };
    let mut sink = Ndjson::default()
        .sink(
            &s.transcoder,
            message,
            sink_options,
            Box::new(std::io::sink()),
        )
        .expect("NDJSON holds every type");
    // Errors are fine; panics, aborts, hangs and runaway memory are the bugs.
    let _ = transcode_stream("fuzz", input, &options, sink.as_mut());
});
