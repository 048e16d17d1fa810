//! Arbitrary SQS message bodies through the S3 notification parser (row F4): classic, SNS-wrapped
//! and EventBridge shapes; Ok or Err only.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(body) = std::str::from_utf8(data) {
        let _ = protolake::notify::parse(body);
        let _ = protolake::notify::decode_key(body);
        let _ = protolake::notify::eventbridge_key(body);
    }
});
