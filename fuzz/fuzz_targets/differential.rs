//! Differential: the direct engine (the product) against the reflect engine (prost-reflect's
//! decoder behind the normalizer and tree printer) on one arbitrary message. Both must fail,
//! or both must give the same JSON value; anything else aborts the run with the input saved.
//!
//! The first byte chooses: bit 0 the type (0 proto3, 1 proto2), bit 1 --emit-defaults,
//! bit 2 --proto-field-names, bit 3 --enum-numbers. The rest is the message.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use protolake::{Engine, JsonOptions};

fn run(ctl: u8, engine: Engine, bytes: &[u8]) -> Result<serde_json::Value, String> {
    let s = common::state();
    let id = if ctl & 1 == 0 { s.proto3 } else { s.proto2 };
    let opts = JsonOptions {
        emit_defaults: ctl & 2 != 0,
        proto_field_names: ctl & 4 != 0,
        enum_numbers: ctl & 8 != 0,
    };
    let mut session = s.transcoder.session(id, opts, engine, 100);
    let mut out = Vec::new();
    session
        .transcode(bytes, &mut out)
        .map_err(|e| e.to_string())?;
    Ok(serde_json::from_slice(&out).expect("an engine wrote invalid JSON"))
}

fuzz_target!(|data: &[u8]| {
    let Some((&ctl, bytes)) = data.split_first() else {
        return;
    };
    let direct = run(ctl, Engine::Direct, bytes);
    let reflect = run(ctl, Engine::Reflect, bytes);
    match (&direct, &reflect) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "the engines print different JSON"),
        (Err(_), Err(_)) => {}
        _ => panic!("one engine failed: direct {direct:?}, reflect {reflect:?}"),
    }
});
