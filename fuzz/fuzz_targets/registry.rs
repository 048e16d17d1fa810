//! Arbitrary registry contents (row F4): descriptor-set bytes into the pool builder, and
//! routes.json bytes into the route table. Ok or Err only, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use protolake::registry::routes::Routes;
use protolake::registry::PoolBuilder;

fuzz_target!(|data: &[u8]| {
    // libfuzzer-sys aborts on any panic, even one caught. The registry catches panics from
    // prost-reflect on purpose (untrusted bytes; the release build unwinds), so give back
    // the default hook: a panic that escapes still aborts through fuzz_target!'s own check.
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| drop(std::panic::take_hook()));
    let Some((&ctl, input)) = data.split_first() else {
        return;
    };
    if ctl & 1 == 0 {
        let mut builder = PoolBuilder::new();
        if builder.add_set_bytes(input, "fuzz.binpb").is_ok() {
            let _ = builder.build();
        }
    } else if let Ok(routes) = Routes::parse(input, "routes.json") {
        let _ = routes.resolve("events/a/b.pb");
    }
});
