//! The schema registry: descriptor sets merged into one pool, plus `routes.json`, loaded
//! from a store (an S3 prefix or a directory) and cached with hot reload.

pub mod cache;
mod editions;
pub mod load;
pub mod routes;

pub use cache::{LookupError, RegistryCache};
pub use load::{compile_protos, decode_set, load_paths, PoolBuilder};
pub use routes::{Route, Routes};

use crate::transcode::Transcoder;

/// Errors of loading schemas and routes.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The registry's store could not be listed or read (worth a retry).
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// A file or directory could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Bytes that are not a valid FileDescriptorSet, or files that do not link.
    #[error("{source_name}: invalid descriptor set: {reason}")]
    InvalidDescriptorSet {
        /// Which object or file.
        source_name: String,
        /// What is wrong.
        reason: String,
    },
    /// One .proto file name with different contents in two sets.
    #[error("{file} is defined differently in {first} and {second}")]
    ConflictingFile {
        /// The .proto file name.
        file: String,
        /// Where it was first seen.
        first: String,
        /// Where the conflicting copy is.
        second: String,
    },
    /// A .proto file that does not compile (protoc-style `file:line:col: message`).
    #[error("{0}")]
    Compile(String),
    /// `routes.json` that does not parse or validate.
    #[error("{source_name}: invalid routes: {reason}")]
    InvalidRoutes {
        /// Which object or file.
        source_name: String,
        /// What is wrong.
        reason: String,
    },
}

/// A loaded registry: every message type of its descriptor sets, and its routes.
#[derive(Debug, Clone)]
pub struct Registry {
    /// Plans for every message type.
    pub transcoder: Transcoder,
    /// The routes (empty when the registry has no `routes.json`).
    pub routes: Routes,
    /// Which load of a [`RegistryCache`] built it (0 outside a cache).
    pub generation: u64,
}

/// Name of the routes file in a registry.
pub const ROUTES_FILE: &str = "routes.json";
