//! What an object holds: its key, its metadata and the registry give the [`Target`] (message
//! type, framing, compression, and the output format a route may pin). Object metadata
//! wins; otherwise the longest matching prefix of `routes.json`.

use std::collections::HashMap;
use std::sync::Arc;

use crate::decompress::Compression;
use crate::framing::Framing;
use crate::output::FormatName;
use crate::registry::{LookupError, Registry, RegistryCache};
use crate::transcode::MessageId;

/// Object metadata naming the message type (S3 header `x-amz-meta-proto-type`).
pub const META_TYPE: &str = "proto-type";
/// Object metadata naming the framing.
pub const META_FRAMING: &str = "proto-framing";
/// Object metadata pinning the compression.
pub const META_COMPRESSION: &str = "proto-compression";

/// How to read one object, and with which schemas.
#[derive(Debug, Clone)]
pub struct Target {
    /// The registry generation the type was found in (its transcoder decodes the object).
    pub registry: Arc<Registry>,
    /// The message type.
    pub message: MessageId,
    /// How messages are delimited.
    pub framing: Framing,
    /// How the object is compressed (`Auto` sniffs it).
    pub compression: Compression,
    /// The landed format a route pins, if any.
    pub format: Option<FormatName>,
}

impl Target {
    /// Full name of the message type.
    pub fn message_name(&self) -> &str {
        self.registry.transcoder.message_name(self.message)
    }
}

/// Why an object's target could not be decided.
#[derive(Debug, thiserror::Error)]
pub enum RouteError {
    /// The registry could not answer (unavailable, unknown type, no route).
    #[error(transparent)]
    Lookup(#[from] LookupError),
    /// Object metadata that does not parse.
    #[error("metadata {name}: {reason}")]
    BadMetadata {
        /// The metadata key.
        name: &'static str,
        /// Why.
        reason: String,
    },
    /// A route naming a type the registry does not hold.
    #[error("route {prefix:?} names message type {type_name:?}, which is not in the registry")]
    UnknownRouteType {
        /// The route's prefix.
        prefix: String,
        /// The type it names.
        type_name: String,
    },
}

impl RouteError {
    /// Only an unavailable registry is worth retrying.
    pub fn is_retryable(&self) -> bool {
        matches!(self, RouteError::Lookup(LookupError::Unavailable(_)))
    }
}

fn parse_meta<T: std::str::FromStr<Err = String>>(
    metadata: &HashMap<String, String>,
    name: &'static str,
) -> Result<Option<T>, RouteError> {
    metadata
        .get(name)
        .map(|v| {
            v.parse()
                .map_err(|reason| RouteError::BadMetadata { name, reason })
        })
        .transpose()
}

/// The target of the object at `key` with `metadata`.
pub async fn resolve(
    registry: &RegistryCache,
    key: &str,
    metadata: &HashMap<String, String>,
) -> Result<Target, RouteError> {
    if let Some(type_name) = metadata.get(META_TYPE) {
        let (registry, message) = registry.message(type_name).await?;
        return Ok(Target {
            registry,
            message,
            framing: parse_meta(metadata, META_FRAMING)?.unwrap_or_default(),
            compression: parse_meta(metadata, META_COMPRESSION)?.unwrap_or_default(),
            format: None,
        });
    }
    let (registry, route) = registry.route(key).await?;
    let message = registry
        .transcoder
        .message(&route.type_name)
        .ok_or_else(|| RouteError::UnknownRouteType {
            prefix: route.prefix.clone(),
            type_name: route.type_name.clone(),
        })?;
    Ok(Target {
        registry,
        message,
        framing: route.framing,
        compression: route.compression.unwrap_or_default(),
        format: route.format,
    })
}
