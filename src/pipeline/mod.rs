//! The chain: open -> route -> decompress -> frame -> transcode -> output -> land. Every
//! entry point (`decode`, `run`, `poll`, the Lambda) goes through [`stream`]'s per-message
//! loop; `run` and the service go through [`process`], one object at a time.

pub mod error;
pub mod parallel;
pub mod stream;

use std::io::BufWriter;
use std::sync::Arc;

pub use error::{Error, Position};
pub use parallel::transcode_stream_parallel;
pub use stream::{
    for_each_frame, transcode_stream, transcode_stream_pipelined, StreamOptions, StreamStats,
};

use crate::landing::landing_key;
use crate::limits::Limits;
use crate::output::{self, OutputOptions, SinkOptions};
use crate::registry::RegistryCache;
use crate::route;
use crate::store::{Pin, Place, Store};
use crate::transcode::{Engine, JsonOptions};

/// A source object: a key in a store, read pinned to the version a notification names.
#[derive(Debug, Clone)]
pub struct ObjectRef {
    /// The store holding it.
    pub store: Arc<dyn Store>,
    /// Its key (also the routing key).
    pub key: String,
    /// Which version to read.
    pub pin: Pin,
    /// The source bucket, the first segment of its landing key (none for a local tree).
    pub bucket: Option<String>,
}

impl ObjectRef {
    /// The name errors use: `s3://bucket/key` or the path.
    pub fn describe(&self) -> String {
        self.store.describe(&self.key)
    }
}

/// What every object needs: built once per process, passed by reference.
#[derive(Debug)]
pub struct Deps {
    /// The schema registry (types and routes).
    pub registry: Arc<RegistryCache>,
    /// Where output lands.
    pub landing: Place,
    /// The landed format (unless a route pins one) and its settings.
    pub output: OutputOptions,
    /// JSON mapping options.
    pub json: JsonOptions,
    /// Resource limits.
    pub limits: Limits,
}

/// What became of one object.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Counts.
    pub stats: StreamStats,
    /// Where its output landed.
    pub landed: String,
    /// The message type it held.
    pub message_type: String,
}

/// Processes one object: open it (streamed, pinned), find its type, decompress, frame and
/// transcode it on a blocking thread into a spool file, and land that atomically, only once
/// the whole object decoded.
pub async fn process(deps: &Deps, object: ObjectRef) -> Result<Outcome, Error> {
    let name = object.describe();
    let opened = object
        .store
        .open(&object.key, &object.pin)
        .await
        .map_err(Error::Source)?;
    // Checked before a byte of the body is read; dropping the body closes the stream.
    if opened.size > deps.limits.max_object {
        return Err(Error::ObjectTooLarge {
            input: name,
            size: opened.size,
            max: deps.limits.max_object,
        });
    }
    let target = route::resolve(&deps.registry, &object.key, &opened.metadata)
        .await
        .map_err(|source| Error::Route {
            input: name.clone(),
            source,
        })?;
    let format = output::format(target.format.unwrap_or(deps.output.format), &deps.output);
    let key = landing_key(
        &deps.landing.prefix,
        object.bucket.as_deref(),
        &object.key,
        format.suffix(),
    );
    let landing = &deps.landing.store;
    let spool = landing.spool(&key)?;
    let stream = StreamOptions {
        framing: target.framing,
        compression: target.compression,
        limits: deps.limits,
    };
    let sink_options = SinkOptions {
        json: deps.json,
        engine: Engine::default(),
        max_depth: deps.limits.max_depth,
        max_output: deps.limits.max_output,
    };
    let message_type = target.message_name().to_owned();
    let (stats, spool, format) = tokio::task::spawn_blocking(move || {
        let file = BufWriter::with_capacity(256 << 10, spool.as_file());
        let transcoder = &target.registry.transcoder;
        let mut sink = format
            .sink(transcoder, target.message, sink_options, Box::new(file))
            .map_err(|e| Error::Format {
                input: name.clone(),
                reason: e.to_string(),
            })?;
        let mut stats = transcode_stream(&name, opened.body, &stream, sink.as_mut())?;
        stats.bytes_out = sink.finish().map_err(|source| Error::Io {
            input: name.clone(),
            source,
        })?;
        Ok::<_, Error>((stats, spool, format))
    })
    .await
    .map_err(|e| join_error(&object.describe(), e))??;
    // Written only now that the whole object decoded; large outputs go up in parts.
    landing.commit(&key, spool, format.content_type()).await?;
    Ok(Outcome {
        stats,
        landed: landing.describe(&key),
        message_type,
    })
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
