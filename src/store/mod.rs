//! Where objects come from and where their JSON lands: a local directory or an S3 prefix,
//! behind one interface. aws-sdk types stay inside `s3.rs`.

pub mod local;
pub mod s3;

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use bytes::Bytes;

/// A place: `s3://bucket/prefix/` or a local directory.
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
    /// Whether this is an S3 location.
    pub fn is_s3(&self) -> bool {
        matches!(self, Location::S3 { .. })
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

/// Errors of the store.
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

/// A store rooted at a [`Location`]; keys are relative to nothing (S3: full keys; local:
/// paths under the root).
#[derive(Debug, Clone)]
pub enum Store {
    /// A local directory.
    Local(local::LocalStore),
    /// An S3 bucket.
    S3(s3::S3Store),
}

impl Store {
    /// Opens the store for a location (S3 clients come from aws-config's standard chain,
    /// so `AWS_ENDPOINT_URL` points them at a local S3).
    pub async fn open(location: &Location) -> Store {
        match location {
            Location::Local(p) => Store::Local(local::LocalStore::new(p.clone())),
            Location::S3 { bucket, .. } => {
                Store::S3(s3::S3Store::new(s3::client().await, bucket.clone()))
            }
        }
    }

    /// Every object whose key starts with `prefix`, in key order (paginated underneath).
    pub async fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>, StoreError> {
        match self {
            Store::Local(s) => s.list(prefix),
            Store::S3(s) => s.list(prefix).await,
        }
    }

    /// Reads a whole (small) object.
    pub async fn get(&self, key: &str) -> Result<Fetched, StoreError> {
        match self {
            Store::Local(s) => s.get(key),
            Store::S3(s) => s.get(key).await,
        }
    }

    /// Writes a whole object.
    pub async fn put(&self, key: &str, body: Bytes) -> Result<(), StoreError> {
        match self {
            Store::Local(s) => s.put(key, &body),
            Store::S3(s) => s.put(key, body).await,
        }
    }

    /// Human-readable name of a key in this store.
    pub fn describe(&self, key: &str) -> String {
        match self {
            Store::Local(s) => s.path(key).display().to_string(),
            Store::S3(s) => format!("s3://{}/{key}", s.bucket()),
        }
    }
}
