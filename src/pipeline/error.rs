//! The pipeline's error: the stage errors, each with the input and position it happened at,
//! and the one place that decides what is worth retrying.

use crate::decompress::DecompressError;
use crate::framing::FrameError;
use crate::route::RouteError;
use crate::store::StoreError;
use crate::transcode::TranscodeError;

/// Where in an input a failure happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    /// 0-based index of the message.
    pub index: u64,
    /// Byte offset in the decompressed stream.
    pub offset: u64,
}

/// Any failure of the pipeline for one object or input.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading, decompressing or framing the stream failed.
    #[error("{input}: message {} at byte {}: {source}", .at.index, .at.offset)]
    Frame {
        /// Input or object name.
        input: String,
        /// Where.
        at: Position,
        /// What.
        source: FrameError,
    },
    /// A message could not be transcoded.
    #[error("{input}: message {} at byte {}: {source}", .at.index, .at.offset)]
    Transcode {
        /// Input or object name.
        input: String,
        /// Where (offset = message start + position inside it).
        at: Position,
        /// What.
        source: TranscodeError,
    },
    /// The output of one input grew past [`crate::limits::Limits::max_output`].
    #[error("{input}: message {} at byte {}: output exceeds the limit of {max} bytes (raise --max-output if this is real)", .at.index, .at.offset)]
    OutputTooLarge {
        /// Input or object name.
        input: String,
        /// The message whose output crossed the limit.
        at: Position,
        /// The limit in force.
        max: u64,
    },
    /// The stored object is larger than [`crate::limits::Limits::max_object`].
    #[error("{input}: object of {size} bytes exceeds the limit of {max} bytes (raise --max-object if this is real)")]
    ObjectTooLarge {
        /// Object name.
        input: String,
        /// Its size.
        size: u64,
        /// The limit in force.
        max: u64,
    },
    /// What the object holds could not be decided (no route, unknown type, registry down).
    #[error("{input}: {source}")]
    Route {
        /// Object name.
        input: String,
        /// Why.
        source: RouteError,
    },
    /// Opening the source object failed (missing, changed since the notification, S3
    /// trouble): the service decides what each means.
    #[error("{0}")]
    Source(StoreError),
    /// Writing the landing object failed in the store.
    #[error("{0}")]
    Store(#[from] StoreError),
    /// The landed format cannot hold this message type (Parquet of a well-known type).
    #[error("{input}: {reason}")]
    Format {
        /// Input or object name.
        input: String,
        /// Why.
        reason: String,
    },
    /// Reading the input or writing the output failed.
    #[error("{input}: {source}")]
    Io {
        /// Input, object or output name.
        input: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

impl Error {
    /// Whether trying the same object again may succeed (I/O trouble) as opposed to a
    /// permanent property of its bytes or schema.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Io { .. } => true,
            Error::Store(e) | Error::Source(e) => e.is_retryable(),
            Error::Route { source, .. } => source.is_retryable(),
            Error::Frame {
                source: FrameError::Read(e),
                ..
            } => {
                DecompressError::from_io(e).is_none()
                    && !matches!(e.kind(), std::io::ErrorKind::InvalidData)
            }
            _ => false,
        }
    }
}
