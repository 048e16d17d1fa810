//! The one place the stages are chained: bytes -> decompress -> framing -> transcode ->
//! NDJSON. Every entry point (`decode`, `run`, and the service) goes through
//! [`transcode_stream`].

use std::io::{BufReader, Read, Write};

use crate::decompress::{self, Compression};
use crate::error::{Error, Position};
use crate::framing::{FrameError, FrameReader, Framing};
use crate::limits::Limits;
use crate::transcode::{Engine, JsonOptions, MessageId, Transcoder};

/// How to read and print one stream.
#[derive(Debug, Clone, Copy, Default)]
pub struct StreamOptions {
    /// How messages are delimited.
    pub framing: Framing,
    /// How the stream is compressed (or `Auto`).
    pub compression: Compression,
    /// JSON mapping options.
    pub json: JsonOptions,
    /// Which transcoder.
    pub engine: Engine,
    /// Resource limits.
    pub limits: Limits,
}

/// What one stream amounted to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StreamStats {
    /// Messages transcoded.
    pub messages: u64,
    /// Decompressed protobuf bytes read.
    pub bytes_in: u64,
    /// NDJSON bytes written.
    pub bytes_out: u64,
}

impl std::ops::AddAssign for StreamStats {
    fn add_assign(&mut self, o: Self) {
        self.messages += o.messages;
        self.bytes_in += o.bytes_in;
        self.bytes_out += o.bytes_out;
    }
}

/// Size of the read buffer between the decompressor and the framer.
const READ_BUFFER: usize = 256 << 10;

/// Transcodes every message of `input` to one JSON line each, written to `out` as soon as
/// it is ready (so lines before a failure are already written). `name` labels errors.
pub fn transcode_stream<R: Read, W: Write>(
    name: &str,
    input: R,
    transcoder: &Transcoder,
    message: MessageId,
    options: &StreamOptions,
    mut out: W,
) -> Result<StreamStats, Error> {
    let (reader, _) =
        decompress::open(input, options.compression, &options.limits).map_err(|e| {
            Error::Frame {
                input: name.to_owned(),
                at: Position {
                    index: 0,
                    offset: 0,
                },
                source: FrameError::Read(e),
            }
        })?;
    let mut frames = FrameReader::new(
        BufReader::with_capacity(READ_BUFFER, reader),
        options.framing,
        options.limits,
    );
    let mut session = transcoder.session(
        message,
        options.json,
        options.engine,
        options.limits.max_depth,
    );
    let mut line = Vec::with_capacity(4096);
    let mut stats = StreamStats::default();
    loop {
        let index = frames.next_index();
        let frame = match frames.next_frame() {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(source) => {
                return Err(Error::Frame {
                    input: name.to_owned(),
                    at: Position {
                        index,
                        offset: frames.position(),
                    },
                    source,
                })
            }
        };
        line.clear();
        if let Err(source) = session.transcode(frame.data, &mut line) {
            return Err(Error::Transcode {
                input: name.to_owned(),
                at: Position {
                    index: frame.index,
                    offset: frame.offset + source.offset as u64,
                },
                source,
            });
        }
        line.push(b'\n');
        stats.messages += 1;
        stats.bytes_out += line.len() as u64;
        out.write_all(&line).map_err(|e| Error::Io {
            input: name.to_owned(),
            source: e,
        })?;
    }
    stats.bytes_in = frames.position();
    Ok(stats)
}
