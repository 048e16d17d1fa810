//! Parquet against JSON on one arbitrary message: the column builder (the Parquet path) and
//! the JSON writer read the same bytes with the same plans, so a message either fails in both
//! or lands in both; a row that was appended must make a valid batch and a readable file.
//!
//! The first byte chooses: bit 0 the type (0 proto3, 1 proto2), bit 1 --enum-numbers.
#![no_main]

mod common;

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use protolake::transcode::{RowBuilder, RowSchema};
use protolake::{Engine, JsonOptions};

fn schemas() -> &'static [Arc<RowSchema>; 4] {
    static SCHEMAS: OnceLock<[Arc<RowSchema>; 4]> = OnceLock::new();
    SCHEMAS.get_or_init(|| {
        let s = common::state();
        let compile = |id, enums| Arc::new(RowSchema::compile(&s.transcoder, id, enums).unwrap());
        [
            compile(s.proto3, false),
            compile(s.proto2, false),
            compile(s.proto3, true),
            compile(s.proto2, true),
        ]
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&ctl, bytes)) = data.split_first() else {
        return;
    };
    let s = common::state();
    let id = if ctl & 1 == 0 { s.proto3 } else { s.proto2 };
    let schema = schemas()[usize::from(ctl & 3)].clone();
    let mut session = s
        .transcoder
        .session(id, JsonOptions::default(), Engine::Direct, 100);
    let json = session.transcode(bytes, &mut Vec::new());
    let mut rows = RowBuilder::new(&s.transcoder, schema.clone(), 100);
    let row = rows.append(bytes);
    match (&json, &row) {
        (Ok(()), Ok(())) => {
            let batch = rows
                .finish_batch()
                .expect("an appended row makes a valid batch");
            let mut file = Vec::new();
            let mut w = parquet::arrow::ArrowWriter::try_new(&mut file, schema.schema(), None)
                .expect("writer");
            w.write(&batch).expect("a valid batch writes");
            w.close().expect("the file closes");
        }
        (Err(_), Err(_)) => {}
        _ => panic!("JSON {json:?} but Parquet {row:?}"),
    }
});
