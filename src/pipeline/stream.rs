//! One stream through the stages: bytes -> decompress -> frames -> a [`Sink`]. The
//! per-message loop ([`for_each_frame`]) is the one every caller runs: the sinks of the
//! landed formats, and compat's sample check.

use std::io::{self, BufRead, BufReader, Read};

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
    frames_of(
        name,
        BufReader::with_capacity(READ_BUFFER, reader),
        options,
        each,
    )
}

/// Frames an already decompressed, buffered stream.
pub(super) fn frames_of<R: BufRead>(
    name: &str,
    reader: R,
    options: &StreamOptions,
    mut each: impl FnMut(Frame<'_>) -> Result<(), Error>,
) -> Result<u64, Error> {
    let mut frames = FrameReader::new(reader, options.framing, options.limits);
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

/// A sink's error for the message at (`index`, `offset`), placed in the stream.
pub(super) fn place(name: &str, index: u64, offset: u64, e: SinkError) -> Error {
    match e {
        SinkError::Transcode(source) => Error::Transcode {
            input: name.to_owned(),
            at: Position {
                index,
                offset: offset + source.offset as u64,
            },
            source,
        },
        SinkError::TooLarge { max } => Error::OutputTooLarge {
            input: name.to_owned(),
            at: Position { index, offset },
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
    }
}

/// The per-message step of a sink: hands it the frame and places its error.
fn to_sink<'s>(
    name: &'s str,
    sink: &'s mut dyn Sink,
    messages: &'s mut u64,
) -> impl FnMut(Frame<'_>) -> Result<(), Error> + 's {
    move |frame| {
        sink.message(frame.data)
            .map_err(|e| place(name, frame.index, frame.offset, e))?;
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
    std::thread::scope(|scope| {
        let chunks = decompress_on(scope, input, options);
        sink_stream(sink, |each| frames_of(name, chunks, options, each), name)
    })
}

/// Starts decompressing `input` on a thread of `scope`; returns the reading end. Memory
/// stays bounded (`PIPELINE_DEPTH` chunks in flight); dropping the reader stops the thread.
pub(super) fn decompress_on<'scope, R: Read + Send + 'scope>(
    scope: &'scope std::thread::Scope<'scope, '_>,
    input: R,
    options: &StreamOptions,
) -> ChunkReader {
    // A chunk travels with how much of it is filled: chunks keep their full length, so a
    // recycled one is not cleared and refilled with zeros each time.
    let (full_tx, full_rx) =
        std::sync::mpsc::sync_channel::<io::Result<(Vec<u8>, usize)>>(PIPELINE_DEPTH);
    let (empty_tx, empty_rx) = std::sync::mpsc::channel::<Vec<u8>>();
    let (compression, limits) = (options.compression, options.limits);
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
    ChunkReader {
        full: full_rx,
        empty: empty_tx,
        current: Vec::new(),
        len: 0,
        pos: 0,
    }
}

/// The reading end of the pipeline: a `Read` over the chunks the decompressor sends.
pub(super) struct ChunkReader {
    full: std::sync::mpsc::Receiver<io::Result<(Vec<u8>, usize)>>,
    empty: std::sync::mpsc::Sender<Vec<u8>>,
    current: Vec<u8>,
    /// Bytes of `current` that hold data.
    len: usize,
    pos: usize,
}

impl BufRead for ChunkReader {
    /// The current chunk: the framer reads straight from it (no second buffer).
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
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
                Err(_) => return Ok(&[]),
            }
        }
        Ok(&self.current[self.pos..self.len])
    }

    fn consume(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.len);
    }
}

impl Read for ChunkReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = buf.len().min(available.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.consume(n);
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

    /// Output and result of every path over the same input, through the NDJSON sink: one
    /// thread, decompression pipelined, and the parallel path with 2, 3 and 8 threads.
    fn all_paths(
        input: &[u8],
        options: &StreamOptions,
        max_output: u64,
    ) -> Vec<(Vec<u8>, Result<StreamStats, String>)> {
        let (t, id) = transcoder();
        let sink_options = SinkOptions {
            json: Default::default(),
            engine: Default::default(),
            max_depth: 100,
            max_output,
        };
        let ndjson = crate::output::ndjson::Ndjson { gzip: false };
        (0..5)
            .map(|path| {
                let mut out = Vec::new();
                let result = {
                    let mut sink = ndjson
                        .sink(&t, id, sink_options, Box::new(&mut out))
                        .unwrap();
                    let sink = sink.as_mut();
                    match path {
                        0 => transcode_stream("x", input, options, sink),
                        1 => transcode_stream_pipelined("x", input, options, sink),
                        p => super::super::transcode_stream_parallel(
                            "x",
                            input,
                            options,
                            sink,
                            [2, 3, 8][p - 2],
                        ),
                    }
                    .map_err(|e| e.to_string())
                };
                (out, result)
            })
            .collect()
    }

    /// Asserts every path gave the first path's output and result; returns that.
    fn same(
        paths: Vec<(Vec<u8>, Result<StreamStats, String>)>,
    ) -> (Vec<u8>, Result<StreamStats, String>) {
        let mut paths = paths.into_iter();
        let first = paths.next().unwrap();
        for (i, (out, result)) in paths.enumerate() {
            assert_eq!(result, first.1, "path {} gave another result", i + 1);
            assert!(out == first.0, "path {} gave other bytes", i + 1);
        }
        first
    }

    /// The output every path agreed on (`same` asserts that they do).
    fn agreed(input: &[u8], options: &StreamOptions) -> (Vec<u8>, Result<StreamStats, String>) {
        same(all_paths(input, options, u64::MAX))
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
        let (a, ra) = agreed(&gzip(&raw), &varint_options());
        assert_eq!(ra.as_ref().unwrap().messages, 200_000);
        assert!(a.starts_with(b"{\"s\":\"message number 0\"}\n{\"n\":1,"));
    }

    #[test]
    fn the_pipeline_fails_at_the_same_message_with_the_same_lines_written() {
        let raw = stream(50_000, Some(30_000));
        let (a, ra) = agreed(&gzip(&raw), &varint_options());
        let err = ra.unwrap_err();
        assert!(err.contains("message 30000 at byte"), "{err}");
        assert_eq!(a.iter().filter(|&&c| c == b'\n').count(), 30_000);
    }

    #[test]
    fn every_path_stops_at_the_output_limit_at_the_same_line() {
        let raw = stream(20_000, None);
        let all = all_paths(&gzip(&raw), &varint_options(), u64::MAX);
        let full = all[0].0.len() as u64;
        let (out, result) = same(all_paths(&gzip(&raw), &varint_options(), full / 2));
        let err = result.unwrap_err();
        assert!(err.contains("output exceeds the limit"), "{err}");
        assert!(out.len() as u64 <= full / 2 && out.ends_with(b"\n"));
        // Exactly the lines that fit.
        let next = all[0].0[out.len()..]
            .iter()
            .position(|&c| c == b'\n')
            .unwrap()
            + 1;
        assert!(out.len() as u64 + next as u64 > full / 2);
    }

    #[test]
    fn every_path_fails_at_a_bad_message_in_any_batch() {
        // The bad message early, at a batch's edge, in the middle and last: the first one in
        // input order is the error, whatever batch a worker finished first.
        for bad in [0, 511, 512, 513, 7_777, 9_999] {
            let raw = stream(10_000, Some(bad));
            let (out, result) = same(all_paths(&gzip(&raw), &varint_options(), u64::MAX));
            let err = result.unwrap_err();
            assert!(err.contains(&format!("message {bad} at byte")), "{err}");
            assert_eq!(out.iter().filter(|&&c| c == b'\n').count(), bad as usize);
        }
        // A framing error after many batches: everything before it is written.
        let mut raw = stream(10_000, None);
        raw.extend_from_slice(&[0x80, 0x80]);
        let (out, result) = same(all_paths(&raw, &varint_options(), u64::MAX));
        assert!(result.is_err());
        assert_eq!(out.iter().filter(|&&c| c == b'\n').count(), 10_000);
    }

    #[test]
    fn streams_shorter_than_a_batch_are_encoded_on_the_callers_thread_the_same() {
        for count in [0, 1, 5, 511] {
            let (out, result) = same(all_paths(&stream(count, None), &varint_options(), u64::MAX));
            assert_eq!(result.unwrap().messages, u64::from(count));
            assert_eq!(out.iter().filter(|&&c| c == b'\n').count(), count as usize);
        }
        let (out, result) = same(all_paths(
            &stream(100, Some(42)),
            &varint_options(),
            u64::MAX,
        ));
        assert!(result.unwrap_err().contains("message 42 at byte"));
        assert_eq!(out.iter().filter(|&&c| c == b'\n').count(), 42);
    }

    #[test]
    fn big_messages_are_batched_alone_and_come_out_the_same() {
        // 300 KiB strings: each frame is over a batch's byte budget, so it is a batch alone.
        let mut raw = Vec::new();
        for i in 0..40u32 {
            let s = "x".repeat(300 << 10) + &i.to_string();
            let mut m = vec![0x12];
            prost::encoding::encode_varint(s.len() as u64, &mut m);
            m.extend_from_slice(s.as_bytes());
            prost::encoding::encode_varint(m.len() as u64, &mut raw);
            raw.extend_from_slice(&m);
        }
        let (out, result) = same(all_paths(&raw, &varint_options(), u64::MAX));
        assert_eq!(result.unwrap().messages, 40);
        assert!(out.ends_with(b"39\"}\n"));
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
        let (_, ra) = agreed(&bomb, &capped);
        let err = ra.unwrap_err();
        assert!(err.contains("exceeds"), "{err}");

        let mut corrupt = gzip(&stream(1000, None));
        let mid = corrupt.len() / 2;
        corrupt[mid] ^= 0xff;
        let (_, ra) = agreed(&corrupt, &varint_options());
        assert!(ra.is_err());
    }
}
