//! What several targets share: the reference-fixture schemas (proto2 and proto3, every
//! well-known type, extensions, groups, maps), compiled once per process.

use std::path::PathBuf;
use std::sync::OnceLock;

use protolake::transcode::MessageId;
use protolake::Transcoder;

pub struct State {
    pub transcoder: Transcoder,
    pub proto3: MessageId,
    pub proto2: MessageId,
}

pub fn state() -> &'static State {
    static STATE: OnceLock<State> = OnceLock::new();
    STATE.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/schemas/protolake/test");
        let pool = protolake::registry::load_paths(&[
            dir.join("proto3_all.proto"),
            dir.join("proto2_all.proto"),
        ])
        .expect("test schemas compile");
        let transcoder = Transcoder::new(&pool);
        let proto3 = transcoder
            .message("protolake.test3.TestAllTypesProto3")
            .expect("proto3 type");
        let proto2 = transcoder
            .message("protolake.test2.TestAllTypesProto2")
            .expect("proto2 type");
        State {
            transcoder,
            proto3,
            proto2,
        }
    })
}
