//! Every input a fuzz target ever failed on, replayed as the target would run it
//! (tests/fuzz_regressions/TARGET/*). The fix for each is in the history; this keeps it fixed.

use std::path::PathBuf;

use protolake::{Engine, JsonOptions, Transcoder};

fn inputs(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz_regressions")
        .join(target);
    let mut v: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| {
            let p = e.unwrap().path();
            (p.display().to_string(), std::fs::read(&p).unwrap())
        })
        .collect();
    v.sort();
    v
}

fn transcoder() -> Transcoder {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/schemas/protolake/test");
    let pool = protolake::registry::load_paths(&[
        dir.join("proto3_all.proto"),
        dir.join("proto2_all.proto"),
    ])
    .expect("test schemas compile");
    Transcoder::new(&pool)
}

/// The `differential` target: the first byte picks type and flags; both engines must fail
/// or print the same JSON.
#[test]
fn differential_inputs_that_once_split_the_engines_now_agree() {
    let t = transcoder();
    let cases = inputs("differential");
    assert!(!cases.is_empty());
    for (name, data) in cases {
        let (&ctl, bytes) = data.split_first().expect("non-empty input");
        let ty = if ctl & 1 == 0 {
            "protolake.test3.TestAllTypesProto3"
        } else {
            "protolake.test2.TestAllTypesProto2"
        };
        let opts = JsonOptions {
            emit_defaults: ctl & 2 != 0,
            proto_field_names: ctl & 4 != 0,
            enum_numbers: ctl & 8 != 0,
        };
        let run = |engine| {
            let mut s = t.session(t.message(ty).unwrap(), opts, engine, 100);
            let mut out = Vec::new();
            s.transcode(bytes, &mut out)
                .map(|()| serde_json::from_slice::<serde_json::Value>(&out).unwrap())
                .map_err(|e| e.to_string())
        };
        let (direct, reflect) = (run(Engine::Direct), run(Engine::Reflect));
        match (&direct, &reflect) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "{name}: the engines print different JSON"),
            (Err(_), Err(_)) => {}
            _ => panic!("{name}: direct {direct:?}, reflect {reflect:?}"),
        }
    }
}

/// The `registry` target: the first byte picks descriptor set (even) or routes.json (odd);
/// either way the answer is Ok or a named error, never a panic.
#[test]
fn registry_inputs_that_once_panicked_now_load_or_fail_by_name() {
    let cases = inputs("registry");
    assert!(!cases.is_empty());
    for (name, data) in cases {
        let (&ctl, bytes) = data.split_first().expect("non-empty input");
        if ctl & 1 == 0 {
            let mut builder = protolake::registry::PoolBuilder::new();
            let result = builder
                .add_set_bytes(bytes, "fuzz.binpb")
                .and_then(|()| builder.build().map(|_| ()));
            // Ok or an error that names the object (a panic fails this test by itself).
            if let Err(e) = result {
                let err = e.to_string();
                assert!(
                    err.contains("fuzz.binpb"),
                    "{name}: the error names the object: {err}"
                );
            }
        } else {
            let _ = protolake::registry::Routes::parse(bytes, "routes.json");
        }
    }
}
