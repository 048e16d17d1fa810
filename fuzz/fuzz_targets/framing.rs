//! Arbitrary bytes as a varint or fixed32 stream (row F1): no panic, every frame inside the
//! input, indices counting up and offsets moving forward.
#![no_main]

use libfuzzer_sys::fuzz_target;
use protolake::framing::FrameReader;
use protolake::{Framing, Limits};

fuzz_target!(|data: &[u8]| {
    let Some((&ctl, input)) = data.split_first() else {
        return;
    };
    let framing = match ctl & 3 {
        0 => Framing::Varint,
        1 => Framing::Fixed32,
        _ => Framing::Single,
    };
    let limits = Limits {
        max_frame: 1 << 16,
        max_messages: 100_000,
        ..Limits::default()
    };
    let mut reader = FrameReader::new(input, framing, limits);
    let mut next_index = 0u64;
    let mut last_end = 0u64;
    // Ends at the end of the input or at the first error.
    while let Ok(Some(frame)) = reader.next_frame() {
        assert_eq!(
            frame.index, next_index,
            "frame indices must count up by one"
        );
        assert!(frame.offset >= last_end, "frames must not overlap");
        let end = frame.offset + frame.data.len() as u64;
        assert!(
            end <= input.len() as u64,
            "a frame past the end of the input"
        );
        last_end = end;
        next_index += 1;
    }
});
