//! The one place the stages are chained: bytes -> decompress -> framing -> transcode ->
//! NDJSON. Every entry point (`decode`, `run`, and the service) goes through
//! [`transcode_stream`].

use std::io::{self, BufReader, Read, Write};

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
    out: W,
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
    transcode_decompressed(name, reader, transcoder, message, options, out)
}

/// Chunks in flight between the decompressing thread and the transcoding one.
const PIPELINE_DEPTH: usize = 4;
/// Size of one chunk.
const PIPELINE_CHUNK: usize = 256 << 10;

/// As [`transcode_stream`], with decompression on a second thread: it fills the next
/// chunks while this thread frames and transcodes the current one. Output order is the
/// input order, errors are the same, and memory stays bounded (`PIPELINE_DEPTH` chunks).
pub fn transcode_stream_pipelined<R: Read + Send, W: Write>(
    name: &str,
    input: R,
    transcoder: &Transcoder,
    message: MessageId,
    options: &StreamOptions,
    out: W,
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
        transcode_decompressed(name, chunks, transcoder, message, options, out)
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

/// Frames and transcodes an already decompressed stream.
fn transcode_decompressed<R: Read, W: Write>(
    name: &str,
    reader: R,
    transcoder: &Transcoder,
    message: MessageId,
    options: &StreamOptions,
    mut out: W,
) -> Result<StreamStats, Error> {
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
        if stats.bytes_out > options.limits.max_output {
            return Err(Error::OutputTooLarge {
                input: name.to_owned(),
                at: Position {
                    index: frame.index,
                    offset: frame.offset,
                },
                max: options.limits.max_output,
            });
        }
        out.write_all(&line).map_err(|e| Error::Io {
            input: name.to_owned(),
            source: e,
        })?;
    }
    stats.bytes_in = frames.position();
    Ok(stats)
}

/// An object to process.
#[derive(Debug, Clone)]
pub enum Source {
    /// A file of a local tree; `key` is its path relative to the tree.
    Local {
        /// The file.
        path: std::path::PathBuf,
        /// Routing key.
        key: String,
    },
    /// An S3 object, optionally pinned to a version or ETag.
    S3 {
        /// The bucket's store.
        store: crate::store::s3::S3Store,
        /// Full key (also the routing key).
        key: String,
        /// Version to read, when known.
        version_id: Option<String>,
        /// ETag the object must still have, when known.
        etag: Option<String>,
    },
}

impl Source {
    /// The name errors use: the path or `s3://bucket/key`.
    pub fn name(&self) -> String {
        match self {
            Source::Local { path, .. } => path.display().to_string(),
            Source::S3 { store, key, .. } => format!("s3://{}/{key}", store.bucket()),
        }
    }
}

/// Where NDJSON lands.
#[derive(Debug, Clone)]
pub enum LandingTarget {
    /// A local directory.
    Local(std::path::PathBuf),
    /// An S3 prefix.
    S3 {
        /// The landing bucket's store.
        store: crate::store::s3::S3Store,
        /// Key prefix.
        prefix: String,
    },
}

impl LandingTarget {
    /// Builds the target for a location.
    pub async fn open(location: &crate::store::Location) -> LandingTarget {
        match location {
            crate::store::Location::Local(p) => LandingTarget::Local(p.clone()),
            crate::store::Location::S3 { bucket, prefix } => LandingTarget::S3 {
                store: crate::store::s3::S3Store::new(
                    crate::store::s3::client().await,
                    bucket.clone(),
                ),
                prefix: prefix.clone(),
            },
        }
    }
}

/// What one object needs: built once per process, passed by reference.
pub struct Deps {
    /// The schema registry.
    pub registry: std::sync::Arc<crate::registry::RegistryCache>,
    /// Where NDJSON lands.
    pub landing: LandingTarget,
    /// JSON options, engine and limits (framing and compression come from the route).
    pub options: StreamOptions,
    /// Gzip the NDJSON (`.ndjson.gz`).
    pub gzip_output: bool,
}

/// What became of one object.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Counts.
    pub stats: StreamStats,
    /// Where its NDJSON landed.
    pub landed: String,
    /// The message type it held.
    pub message_type: String,
}

/// Object metadata naming the message type (S3 header `x-amz-meta-proto-type`).
pub const META_TYPE: &str = "proto-type";
/// Object metadata naming the framing.
pub const META_FRAMING: &str = "proto-framing";
/// Object metadata pinning the compression.
pub const META_COMPRESSION: &str = "proto-compression";

/// Processes one object: open it (streamed), find its type (metadata first, then the
/// longest route prefix), decompress, frame and transcode it on a blocking thread, and land
/// its NDJSON atomically, only once the whole object decoded.
pub async fn process(deps: &Deps, source: Source) -> Result<Outcome, Error> {
    use crate::registry::LookupError;
    let name = source.name();
    let (reader, metadata, routing_key, bucket): (
        Box<dyn Read + Send>,
        std::collections::HashMap<String, String>,
        String,
        Option<String>,
    ) = match &source {
        Source::Local { path, key } => {
            let f = std::fs::File::open(path).map_err(|e| Error::Io {
                input: name.clone(),
                source: e,
            })?;
            (Box::new(f), Default::default(), key.clone(), None)
        }
        Source::S3 {
            store,
            key,
            version_id,
            etag,
        } => {
            // A source that is gone or changed is not a store failure: the service decides.
            let obj = store
                .open(key, version_id.as_deref(), etag.as_deref())
                .await
                .map_err(Error::Source)?;
            // Checked before a byte of the body is read; dropping the body closes the stream.
            if obj.size > deps.options.limits.max_object {
                return Err(Error::ObjectTooLarge {
                    input: name.clone(),
                    size: obj.size,
                    max: deps.options.limits.max_object,
                });
            }
            let reader = tokio_util::io::SyncIoBridge::new(obj.body);
            (
                Box::new(reader),
                obj.metadata,
                key.clone(),
                Some(store.bucket().to_owned()),
            )
        }
    };
    let lookup_err = |e: LookupError| match e {
        LookupError::Unavailable(reason) => Error::Unavailable {
            input: name.clone(),
            reason,
        },
        other => Error::Routing {
            input: name.clone(),
            reason: other.to_string(),
        },
    };
    let routing_err = |reason: String| Error::Routing {
        input: name.clone(),
        reason,
    };
    let (registry, message, framing, compression) = match metadata.get(META_TYPE) {
        Some(type_name) => {
            let (reg, id) = deps.registry.message(type_name).await.map_err(lookup_err)?;
            let framing = match metadata.get(META_FRAMING) {
                Some(f) => f
                    .parse()
                    .map_err(|e| routing_err(format!("metadata {META_FRAMING}: {e}")))?,
                None => Framing::Single,
            };
            let compression = match metadata.get(META_COMPRESSION) {
                Some(c) => c
                    .parse()
                    .map_err(|e| routing_err(format!("metadata {META_COMPRESSION}: {e}")))?,
                None => Compression::Auto,
            };
            (reg, id, framing, compression)
        }
        None => {
            let (reg, route) = deps
                .registry
                .route(&routing_key)
                .await
                .map_err(lookup_err)?;
            let id = reg.transcoder.message(&route.type_name).ok_or_else(|| {
                routing_err(format!(
                    "route {:?} names message type {:?}, which is not in the registry",
                    route.prefix, route.type_name
                ))
            })?;
            (
                reg,
                id,
                route.framing,
                route.compression.unwrap_or_default(),
            )
        }
    };
    let transcoder = registry.transcoder.clone();
    let message_type = transcoder.message_name(message).to_owned();
    let options = StreamOptions {
        framing,
        compression,
        ..deps.options
    };
    let landed;
    let stats = match &deps.landing {
        LandingTarget::Local(root) => {
            let rel = match &bucket {
                Some(b) => format!("{b}/{routing_key}"),
                None => routing_key.clone(),
            };
            let dest = root.join(crate::object::local_landing_path(&rel, deps.gzip_output));
            landed = dest.display().to_string();
            let mut sink = crate::store::local::Landing::create(dest).map_err(|e| Error::Io {
                input: landed.clone(),
                source: e,
            })?;
            let n = name.clone();
            let gzip = deps.gzip_output;
            let (stats, sink) = tokio::task::spawn_blocking(move || {
                let stats =
                    write_ndjson(&n, reader, &transcoder, message, &options, &mut sink, gzip)?;
                Ok::<_, Error>((stats, sink))
            })
            .await
            .map_err(|e| join_error(&name, e))??;
            sink.commit().map_err(|e| Error::Io {
                input: landed.clone(),
                source: e,
            })?;
            stats
        }
        LandingTarget::S3 { store, prefix } => {
            let key = crate::object::landing_key(
                prefix,
                bucket.as_deref(),
                &routing_key,
                deps.gzip_output,
            );
            landed = format!("s3://{}/{key}", store.bucket());
            let tmp = tempfile::NamedTempFile::new().map_err(|e| Error::Io {
                input: "temporary file".into(),
                source: e,
            })?;
            let file = tmp.reopen().map_err(|e| Error::Io {
                input: "temporary file".into(),
                source: e,
            })?;
            let n = name.clone();
            let gzip = deps.gzip_output;
            let stats = tokio::task::spawn_blocking(move || {
                let mut w = std::io::BufWriter::with_capacity(READ_BUFFER, file);
                let stats = write_ndjson(&n, reader, &transcoder, message, &options, &mut w, gzip)?;
                w.flush().map_err(|e| Error::Io {
                    input: "temporary file".into(),
                    source: e,
                })?;
                Ok::<_, Error>(stats)
            })
            .await
            .map_err(|e| join_error(&name, e))??;
            let content_type = if deps.gzip_output {
                "application/gzip"
            } else {
                "application/x-ndjson"
            };
            // Written only now that the whole object decoded; large outputs go up in parts.
            store.put_file(&key, tmp.path(), content_type).await?;
            stats
        }
    };
    Ok(Outcome {
        stats,
        landed,
        message_type,
    })
}

/// NDJSON of one stream into `out`, gzip'd if asked.
fn write_ndjson<R: Read, W: Write>(
    name: &str,
    reader: R,
    transcoder: &Transcoder,
    message: MessageId,
    options: &StreamOptions,
    out: W,
    gzip: bool,
) -> Result<StreamStats, Error> {
    if !gzip {
        return transcode_stream(name, reader, transcoder, message, options, out);
    }
    let mut enc = flate2::write::GzEncoder::new(out, flate2::Compression::fast());
    let stats = transcode_stream(name, reader, transcoder, message, options, &mut enc)?;
    enc.finish().map_err(|e| Error::Io {
        input: name.to_owned(),
        source: e,
    })?;
    Ok(stats)
}

fn join_error(name: &str, e: tokio::task::JoinError) -> Error {
    Error::Io {
        input: name.to_owned(),
        source: std::io::Error::other(if e.is_panic() {
            "transcoding panicked (a bug: please report it with the object)".to_owned()
        } else {
            e.to_string()
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn both(input: &[u8], options: &StreamOptions) -> [(Vec<u8>, Result<StreamStats, String>); 2] {
        let (t, id) = transcoder();
        let mut a = Vec::new();
        let ra = transcode_stream("x", input, &t, id, options, &mut a).map_err(|e| e.to_string());
        let mut b = Vec::new();
        let rb = transcode_stream_pipelined("x", input, &t, id, options, &mut b)
            .map_err(|e| e.to_string());
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
