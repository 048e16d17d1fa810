//! The crate's error, aggregating the stage errors, and the one place that decides what is
//! worth retrying.

use crate::decompress::DecompressError;
use crate::framing::FrameError;
use crate::registry::RegistryError;
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
    /// The NDJSON of one input grew past [`crate::limits::Limits::max_output`].
    #[error("{input}: message {} at byte {}: output exceeds the limit of {max} bytes (raise --max-output if this is real)", .at.index, .at.offset)]
    OutputTooLarge {
        /// Input or object name.
        input: String,
        /// The message whose line crossed the limit.
        at: Position,
        /// The limit in force.
        max: u64,
    },
    /// The stored object is larger than [`crate::limits::Limits::max_object`].
    #[error("{input}: object of {size} bytes exceeds the limit of {max} bytes (raise --max-object if this is real)")]
    ObjectTooLarge {
        /// Object name.
        input: String,
        /// Its Content-Length.
        size: u64,
        /// The limit in force.
        max: u64,
    },
    /// Schemas or routes could not be loaded.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// No route or metadata says what the object holds, or the type is unknown.
    #[error("{input}: {reason}")]
    Routing {
        /// Input or object name.
        input: String,
        /// Why.
        reason: String,
    },
    /// The registry could not be read: worth a retry.
    #[error("{input}: {reason}")]
    Unavailable {
        /// Input or object name.
        input: String,
        /// Why.
        reason: String,
    },
    /// Opening the source object failed (missing, changed since the notification, S3 trouble).
    #[error("{0}")]
    Source(crate::store::StoreError),
    /// Reading the source or writing the landing object failed in the store.
    #[error("{0}")]
    Store(#[from] crate::store::StoreError),
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
            Error::Io { .. } | Error::Unavailable { .. } => true,
            Error::Store(e) | Error::Source(e) => e.is_retryable(),
            Error::Frame {
                source: FrameError::Read(e),
                ..
            } => {
                DecompressError::from_io(e).is_none()
                    && !matches!(e.kind(), std::io::ErrorKind::InvalidData)
            }
            Error::Registry(RegistryError::Io { .. }) => true,
            _ => false,
        }
    }
}
