//! One stream through the stages: bytes -> decompress -> frames -> a [`Sink`]. The
//! per-message loop ([`for_each_frame`]) is the one every caller runs: the sinks of the
//! landed formats, and compat's sample check.

use std::io::{self, BufReader, Read};

use super::error::{Error, Position};
use crate::decompress::{self, Compression};
use crate::framing::{Frame, FrameError, FrameReader, Framing};
use crate::limits::Limits;
use crate::output::{Sink, SinkError};

/// How to read one stream.
#[derive(Debug, Clone, Copy, Default)]
pub struct StreamOptions {
    /// How messages are delimited.
    pub framing: Framing,
    /// How the stream is compressed (or `Auto`).
    pub compression: Compression,
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
    /// Output bytes written (before output compression).
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

/// Decompresses and frames `input`, calling `each` with every message in order; `name`
/// labels errors. A failing `each` stops the stream with its error. Returns the
/// decompressed bytes read.
pub fn for_each_frame<R: Read>(
    name: &str,
    input: R,
    options: &StreamOptions,
    each: impl FnMut(Frame<'_>) -> Result<(), Error>,
) -> Result<u64, Error> {
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
    frames_of(name, reader, options, each)
}

/// Frames an already decompressed stream.
fn frames_of<R: Read>(
    name: &str,
    reader: R,
    options: &StreamOptions,
    mut each: impl FnMut(Frame<'_>) -> Result<(), Error>,
) -> Result<u64, Error> {
    let mut frames = FrameReader::new(
        BufReader::with_capacity(READ_BUFFER, reader),
        options.framing,
        options.limits,
    );
    loop {
        let index = frames.next_index();
        match frames.next_frame() {
            Ok(Some(frame)) => each(frame)?,
            Ok(None) => return Ok(frames.position()),
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
        }
    }
}

/// The per-message step of a sink: hands it the frame and places its error.
fn to_sink<'s>(
    name: &'s str,
    sink: &'s mut dyn Sink,
    messages: &'s mut u64,
) -> impl FnMut(Frame<'_>) -> Result<(), Error> + 's {
    move |frame| {
        sink.message(frame.data).map_err(|e| match e {
            SinkError::Transcode(source) => Error::Transcode {
                input: name.to_owned(),
                at: Position {
                    index: frame.index,
                    offset: frame.offset + source.offset as u64,
                },
                source,
            },
            SinkError::TooLarge { max } => Error::OutputTooLarge {
                input: name.to_owned(),
                at: Position {
                    index: frame.index,
                    offset: frame.offset,
                },
                max,
            },
            SinkError::Unsupported(reason) => Error::Format {
                input: name.to_owned(),
                reason,
            },
            SinkError::Io(source) => Error::Io {
                input: name.to_owned(),
                source,
            },
        })?;
        *messages += 1;
        Ok(())
    }
}

/// Writes every message of `input` to `sink`, as soon as each is ready (so output before a
/// failure is already written). The sink is not finished: the caller does that.
pub fn transcode_stream<R: Read>(
    name: &str,
    input: R,
    options: &StreamOptions,
    sink: &mut dyn Sink,
) -> Result<StreamStats, Error> {
    sink_stream(
        sink,
        |each| for_each_frame(name, input, options, each),
        name,
    )
}

/// Runs `frames` (a framing loop) with the sink's per-message step and counts what it did.
fn sink_stream(
    sink: &mut dyn Sink,
    frames: impl FnOnce(&mut dyn FnMut(Frame<'_>) -> Result<(), Error>) -> Result<u64, Error>,
    name: &str,
) -> Result<StreamStats, Error> {
    let mut messages = 0;
    let bytes_in = frames(&mut to_sink(name, sink, &mut messages))?;
    Ok(StreamStats {
        messages,
        bytes_in,
        bytes_out: sink.bytes_out(),
    })
}

/// Chunks in flight between the decompressing thread and the transcoding one.
const PIPELINE_DEPTH: usize = 4;
/// Size of one chunk.
const PIPELINE_CHUNK: usize = 256 << 10;

/// As [`transcode_stream`], with decompression on a second thread: it fills the next
/// chunks while this thread frames and transcodes the current one. Output order is the
/// input order, errors are the same, and memory stays bounded (`PIPELINE_DEPTH` chunks).
pub fn transcode_stream_pipelined<R: Read + Send>(
    name: &str,
    input: R,
    options: &StreamOptions,
    sink: &mut dyn Sink,
) -> Result<StreamStats, Error> {
    // A chunk travels with how much of it is filled: chunks keep their full length, so a
    // recycled one is not cleared and refilled with zeros each time.
    let (full_tx, full_rx) =
        std::sync::mpsc::sync_channel::<io::Result<(Vec<u8>, usize)>>(PIPELINE_DEPTH);
    let (empty_tx, empty_rx) = std::sync::mpsc::channel::<Vec<u8>>();
    let (compression, limits) = (options.compression, options.limits);
    std::thread::scope(|scope| {
        scope.spawn(move || {
            // Any error (opening included) reaches the reader as a read error, as it would
            // without the pipeline. A dropped sender is the end of the stream.
            let mut reader = match decompress::open(input, compression, &limits) {
                Ok((r, _)) => r,
                Err(e) => {
                    let _ = full_tx.send(Err(e));
                    return;
                }
            };
            loop {
                let mut chunk = empty_rx
                    .try_recv()
                    .unwrap_or_else(|_| vec![0; PIPELINE_CHUNK]);
                let mut filled = 0;
                // Fill most of the chunk: fewer hand-overs.
                let result = loop {
                    match reader.read(&mut chunk[filled..]) {
                        Ok(0) => break Ok(()),
                        Ok(n) => {
                            filled += n;
                            if filled >= PIPELINE_CHUNK / 2 {
                                break Ok(());
                            }
                        }
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => break Err(e),
                    }
                };
                if filled > 0 && full_tx.send(Ok((chunk, filled))).is_err() {
                    return; // the transcoding side stopped (an error): nothing more to do
                }
                match result {
                    Ok(()) if filled == 0 => return,
                    Ok(()) => {}
                    Err(e) => {
                        let _ = full_tx.send(Err(e));
                        return;
                    }
                }
            }
        });
        let chunks = ChunkReader {
            full: full_rx,
            empty: empty_tx,
            current: Vec::new(),
            len: 0,
            pos: 0,
        };
        sink_stream(sink, |each| frames_of(name, chunks, options, each), name)
    })
}

/// The reading end of the pipeline: a `Read` over the chunks the decompressor sends.
struct ChunkReader {
    full: std::sync::mpsc::Receiver<io::Result<(Vec<u8>, usize)>>,
    empty: std::sync::mpsc::Sender<Vec<u8>>,
    current: Vec<u8>,
    /// Bytes of `current` that hold data.
    len: usize,
    pos: usize,
}

impl Read for ChunkReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.len {
            match self.full.recv() {
                Ok(Ok((chunk, len))) => {
                    let used = std::mem::replace(&mut self.current, chunk);
                    self.len = len;
                    // Hand the spent chunk back for reuse (ignored once the producer ended).
                    if !used.is_empty() {
                        let _ = self.empty.send(used);
                    }
                    self.pos = 0;
                }
                Ok(Err(e)) => return Err(e),
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.len - self.pos);
        buf[..n].copy_from_slice(&self.current[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::{Format, SinkOptions};
    use crate::transcode::{MessageId, Transcoder};
    use std::io::Write;

    fn transcoder() -> (Transcoder, MessageId) {
        let dir = tempfile::tempdir().unwrap();
        let proto = dir.path().join("p.proto");
        std::fs::write(
            &proto,
            "syntax = \"proto3\"; package p; message M { int32 n = 1; string s = 2; }",
        )
        .unwrap();
        let t = Transcoder::new(&crate::registry::load_paths(&[proto]).unwrap());
        let id = t.message("p.M").unwrap();
        (t, id)
    }

    /// `count` varint-framed messages; message `bad` (if any) is truncated.
    fn stream(count: u32, bad: Option<u32>) -> Vec<u8> {
        let mut raw = Vec::new();
        for i in 0..count {
            let s = format!("message number {i}");
            let mut m = vec![0x08];
            prost::encoding::encode_varint(u64::from(i), &mut m);
            m.push(0x12);
            prost::encoding::encode_varint(s.len() as u64, &mut m);
            m.extend_from_slice(s.as_bytes());
            if Some(i) == bad {
                m.truncate(m.len() - 3);
            }
            prost::encoding::encode_varint(m.len() as u64, &mut raw);
            raw.extend_from_slice(&m);
        }
        raw
    }

    fn gzip(b: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(b).unwrap();
        e.finish().unwrap()
    }

    /// Output and result of both paths over the same input.
    /// Output and result of both paths over the same input, through the NDJSON sink.
    fn both(input: &[u8], options: &StreamOptions) -> [(Vec<u8>, Result<StreamStats, String>); 2] {
        let (t, id) = transcoder();
        let sink_options = SinkOptions {
            json: Default::default(),
            engine: Default::default(),
            max_depth: 100,
            max_output: u64::MAX,
        };
        let ndjson = crate::output::ndjson::Ndjson { gzip: false };
        let mut a = Vec::new();
        let ra = {
            let mut sink = ndjson.sink(&t, id, sink_options, Box::new(&mut a)).unwrap();
            transcode_stream("x", input, options, sink.as_mut()).map_err(|e| e.to_string())
        };
        let mut b = Vec::new();
        let rb = {
            let mut sink = ndjson.sink(&t, id, sink_options, Box::new(&mut b)).unwrap();
            transcode_stream_pipelined("x", input, options, sink.as_mut())
                .map_err(|e| e.to_string())
        };
        [(a, ra), (b, rb)]
    }

    fn varint_options() -> StreamOptions {
        StreamOptions {
            framing: Framing::Varint,
            ..StreamOptions::default()
        }
    }

    #[test]
    fn the_pipeline_gives_the_same_lines_in_the_same_order() {
        // Several MB, so many chunks cross the channel and buffers are recycled.
        let raw = stream(200_000, None);
        let [(a, ra), (b, rb)] = both(&gzip(&raw), &varint_options());
        assert_eq!(ra.as_ref().unwrap().messages, 200_000);
        assert_eq!(ra, rb);
        assert!(a == b, "outputs differ");
        assert!(a.starts_with(b"{\"s\":\"message number 0\"}\n{\"n\":1,"));
    }

    #[test]
    fn the_pipeline_fails_at_the_same_message_with_the_same_lines_written() {
        let raw = stream(50_000, Some(30_000));
        let [(a, ra), (b, rb)] = both(&gzip(&raw), &varint_options());
        let err = ra.unwrap_err();
        assert!(err.contains("message 30000 at byte"), "{err}");
        assert_eq!(Err(err), rb);
        assert_eq!(a.iter().filter(|&&c| c == b'\n').count(), 30_000);
        assert!(a == b, "outputs differ");
    }

    #[test]
    fn the_pipeline_keeps_the_decompression_cap_and_corrupt_input_errors() {
        let bomb = gzip(&vec![0u8; 8 << 20]);
        let capped = StreamOptions {
            limits: Limits {
                max_decompressed: 1 << 20,
                ..Limits::default()
            },
            ..varint_options()
        };
        let [(_, ra), (_, rb)] = both(&bomb, &capped);
        let err = ra.unwrap_err();
        assert!(err.contains("exceeds"), "{err}");
        assert_eq!(Err(err), rb);

        let mut corrupt = gzip(&stream(1000, None));
        let mid = corrupt.len() / 2;
        corrupt[mid] ^= 0xff;
        let [(a, ra), (b, rb)] = both(&corrupt, &varint_options());
        assert!(ra.is_err());
        assert_eq!(ra, rb);
        assert!(a == b, "outputs differ");
    }
}
