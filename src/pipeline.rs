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
