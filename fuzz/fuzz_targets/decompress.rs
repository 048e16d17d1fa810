//! Arbitrary compressed bytes through the capped decompressors (row F3): Ok or Err, never a
//! panic, and never more output than the cap. The first byte picks the compression.
#![no_main]

use std::io::Read;

use libfuzzer_sys::fuzz_target;
use protolake::decompress::{open, Compression};
use protolake::Limits;

const CAP: u64 = 4 << 20;

fuzz_target!(|data: &[u8]| {
    let Some((&ctl, input)) = data.split_first() else {
        return;
    };
    let compression = match ctl & 3 {
        0 => Compression::Auto,
        1 => Compression::Gzip,
        2 => Compression::Zstd,
        _ => Compression::None,
    };
    let limits = Limits {
        max_decompressed: CAP,
        zstd_window_log_max: 20,
        ..Limits::default()
    };
    let Ok((mut reader, _)) = open(input, compression, &limits) else {
        return;
    };
    let mut total = 0u64;
    let mut buf = [0u8; 8192];
    loop {
        match reader.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => total += n as u64,
        }
        assert!(total <= CAP, "{total} bytes out, past the {CAP}-byte cap");
    }
});
