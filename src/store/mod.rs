//! Where objects come from and where their output lands, behind one trait: [`Store`].
//! A local directory and an S3 bucket both implement it; the pipeline never asks which it
//! has. aws-sdk types stay inside `s3.rs`. A new backend is one new file here plus one arm
//! in [`Location::open`].

pub mod local;
pub mod s3;

use std::collections::HashMap;
use std::fmt;
use std::io::Read;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;

use bytes::Bytes;
use tempfile::NamedTempFile;

/// A place as the user writes it: `s3://bucket/prefix/` or a local path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A local directory (or file).
    Local(PathBuf),
    /// An S3 bucket and key prefix (empty, or ending in `/` by convention).
    S3 {
        /// Bucket name.
        bucket: String,
        /// Key prefix.
        prefix: String,
    },
}

impl FromStr for Location {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.strip_prefix("s3://") {
            Some(rest) => {
                let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
                if bucket.is_empty() {
                    return Err(format!(
                        "{s:?}: an S3 location needs a bucket: s3://bucket/prefix/"
                    ));
                }
                Ok(Location::S3 {
                    bucket: bucket.to_owned(),
                    prefix: prefix.to_owned(),
                })
            }
            None => Ok(Location::Local(PathBuf::from(s))),
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Local(p) => write!(f, "{}", p.display()),
            Location::S3 { bucket, prefix } => write!(f, "s3://{bucket}/{prefix}"),
        }
    }
}

impl Location {
    /// The bucket of an S3 location: the first segment of its objects' landing keys.
    pub fn bucket(&self) -> Option<&str> {
        match self {
            Location::Local(_) => None,
            Location::S3 { bucket, .. } => Some(bucket),
        }
    }

    /// The store holding this location and the key prefix inside it. S3 clients come from
    /// aws-config's standard chain, so `AWS_ENDPOINT_URL` points them at a local S3.
    pub async fn open(&self) -> Place {
        match self {
            Location::Local(p) => Place {
                store: Arc::new(local::LocalStore::new(p.clone())),
                prefix: String::new(),
            },
            Location::S3 { bucket, prefix } => Place {
                store: Arc::new(s3::S3Store::new(s3::client().await, bucket.clone())),
                prefix: prefix.clone(),
            },
        }
    }
}

/// A store and a key prefix in it: where a registry, a landing or a source tree lives.
#[derive(Debug, Clone)]
pub struct Place {
    /// The store.
    pub store: Arc<dyn Store>,
    /// Keys of this place start with it.
    pub prefix: String,
}

impl Place {
    /// How messages name the place: `s3://bucket/prefix/` or a path.
    pub fn describe(&self) -> String {
        self.store.describe(&self.prefix)
    }
}

/// One object as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    /// Full key (S3) or `/`-separated path relative to the root (local).
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// Entity tag without quotes (S3), or a size+mtime fingerprint (local).
    pub etag: String,
}

/// An object read whole (small objects: descriptor sets, routes).
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The bytes.
    pub body: Bytes,
    /// Its entity tag.
    pub etag: String,
}

/// Which version of an object to read. A notification names the version it is about; a
/// read pinned to it fails with [`StoreError::PreconditionFailed`] once it was overwritten.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pin {
    /// The version id, when the bucket is versioned.
    pub version_id: Option<String>,
    /// The ETag the object must still have, when no version id is known.
    pub etag: Option<String>,
}

/// An object opened for streaming. The body is a blocking reader: decoding runs on a
/// blocking thread, and the S3 store bridges its async body into it.
pub struct Opened {
    /// The body, read incrementally.
    pub body: Box<dyn Read + Send>,
    /// User metadata (`x-amz-meta-*` on S3; none locally).
    pub metadata: HashMap<String, String>,
    /// Its size in bytes, known before a byte of the body is read.
    pub size: u64,
}

/// Errors of a store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The object does not exist (deleted, or never written).
    #[error("{location}: no such object")]
    NotFound {
        /// `s3://bucket/key` or a path.
        location: String,
    },
    /// A conditional request failed (the object changed).
    #[error("{location}: precondition failed (the object changed)")]
    PreconditionFailed {
        /// `s3://bucket/key` or a path.
        location: String,
    },
    /// Anything else: network, throttling, permissions, local I/O.
    #[error("{location}: {message}")]
    Other {
        /// `s3://bucket/key` or a path.
        location: String,
        /// What the service or the OS said.
        message: String,
        /// Whether trying again may help (throttling, 5xx, network).
        retryable: bool,
    },
}

impl StoreError {
    /// Whether trying again may help.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            StoreError::Other {
                retryable: true,
                ..
            }
        )
    }
}

/// A bucket of objects addressed by `/`-separated keys: a local directory or an S3 bucket.
///
/// Writes are atomic: an object appears whole or not at all. Large outputs are written to a
/// local spool file first ([`Store::spool`]) and then committed ([`Store::commit`]), which
/// renames it into place locally and uploads it (in parts above a threshold) to S3.
#[async_trait::async_trait]
pub trait Store: fmt::Debug + Send + Sync {
    /// How messages name a key of this store: `s3://bucket/key` or a path.
    fn describe(&self, key: &str) -> String;

    /// Every object whose key starts with `prefix`, in key order.
    async fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>, StoreError>;

    /// Reads a whole (small) object.
    async fn get(&self, key: &str) -> Result<Fetched, StoreError>;

    /// Opens an object for streaming, pinned to a version or an ETag when `pin` names one.
    async fn open(&self, key: &str, pin: &Pin) -> Result<Opened, StoreError>;

    /// Writes a whole (small) object atomically.
    async fn put(&self, key: &str, body: Bytes) -> Result<(), StoreError>;

    /// A new, empty local file to write the object `key` into before [`Store::commit`]: in
    /// the destination's directory for a local store (so the commit is a rename), in the
    /// system's temporary directory otherwise. Dropped uncommitted, it leaves nothing.
    fn spool(&self, key: &str) -> Result<NamedTempFile, StoreError>;

    /// Lands a spooled file at `key` atomically, with its content type.
    async fn commit(
        &self,
        key: &str,
        file: NamedTempFile,
        content_type: &str,
    ) -> Result<(), StoreError>;
}

/// The store of an S3 bucket named in a notification (the service reads source objects
/// from whichever bucket notified).
pub type Buckets = Arc<dyn Fn(&str) -> Arc<dyn Store> + Send + Sync>;
