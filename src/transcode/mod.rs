//! Transcoding: one serialized message + its descriptor -> one line of canonical proto3 JSON.
//!
//! The default engine ([`Engine::Direct`]) reads wire bytes straight into JSON, driven by
//! plans compiled once per descriptor pool (see `plan.rs`). It follows protobuf's reference
//! runtimes (upb/Python `json_format`) in every corner the contract lists: wire-type
//! mismatches and closed-enum misses become unknown fields, `-0.0` is not a default,
//! wrappers print NaN as `"NaN"`, `Any` of `Empty` prints only `@type`, and so on.
//!
//! Files by job: `plan.rs` (per-type plans), `wire.rs` (varints, fixed values), `writer.rs`
//! (the wire -> JSON pass), `columns.rs` (the wire -> Arrow columns pass, for Parquet), `json.rs` (escaping, numbers), `wkt.rs` (well-known types).
//! The second-opinion engines it is tested against live in `second_opinion/`, compiled
//! only with the `second-opinion` feature.

mod columns;
mod json;
mod plan;
#[cfg(feature = "second-opinion")]
mod second_opinion;
mod wire;
mod wkt;
mod writer;

use std::sync::Arc;

use prost_reflect::DescriptorPool;
#[cfg(feature = "second-opinion")]
use prost_reflect::MessageDescriptor;

pub use columns::{ColumnsError, RowBuilder, RowSchema};
pub(crate) use plan::declared_fields;
use plan::Plans;
use wire::Result;
use writer::Writer;

/// JSON mapping options (the `json_format` flags).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JsonOptions {
    /// Keep the `.proto` field names instead of lowerCamelCase `json_name`s.
    pub proto_field_names: bool,
    /// Print fields without presence (proto3 scalars, repeated, maps) even when at their
    /// default (`always_print_fields_with_no_presence`).
    pub emit_defaults: bool,
    /// Print enum values as numbers.
    pub enum_numbers: bool,
}

/// Which transcoder to run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Engine {
    /// Wire bytes straight to JSON, reference-exact (the default).
    #[default]
    Direct,
    /// prost-reflect `DynamicMessage` decode, printed by a tree walker: the second opinion
    /// the direct engine is tested against (see `second_opinion`).
    #[cfg(feature = "second-opinion")]
    Reflect,
    /// prost-reflect `DynamicMessage` decode + its serde serialization, as shipped: the
    /// benchmark baseline. Not reference-exact in corners.
    #[cfg(feature = "second-opinion")]
    Serde,
}

impl std::str::FromStr for Engine {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "direct" => Ok(Engine::Direct),
            #[cfg(feature = "second-opinion")]
            "reflect" => Ok(Engine::Reflect),
            #[cfg(feature = "second-opinion")]
            "serde" => Ok(Engine::Serde),
            o => Err(format!(
                "unknown engine {o:?} (expected direct, reflect or serde)"
            )),
        }
    }
}

/// A message that could not be transcoded. `offset` is the byte position inside the
/// serialized message where the problem was found.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{kind}")]
pub struct TranscodeError {
    /// Byte offset within the message's bytes.
    pub offset: usize,
    /// What went wrong.
    pub kind: TranscodeErrorKind,
}

/// What went wrong while transcoding one message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TranscodeErrorKind {
    /// The message ends inside a field.
    #[error("truncated message: a field runs past the end of its message")]
    Truncated,
    /// A varint longer than 10 bytes.
    #[error("invalid varint (more than 10 bytes)")]
    InvalidVarint,
    /// Field number 0 or above 2^29-1.
    #[error("invalid field number {0}")]
    InvalidFieldNumber(u64),
    /// Wire types 6 and 7 do not exist.
    #[error("invalid wire type {0}")]
    InvalidWireType(u8),
    /// An end-group tag without a matching start.
    #[error("unexpected end-group tag for field {0}")]
    UnexpectedEndGroup(u64),
    /// A group that never ends.
    #[error("group of field {0} is not terminated")]
    UnterminatedGroup(u64),
    /// A packed field whose length is not a multiple of its element size.
    #[error("packed field {0} has a length that is not a multiple of its element size")]
    BadPackedLength(u32),
    /// Nesting deeper than the limit.
    #[error("nesting exceeds the depth limit of {0} (recursion limit reached)")]
    DepthLimit(u32),
    /// A proto3 string field that is not UTF-8.
    #[error("string field {field} is not valid UTF-8")]
    InvalidUtf8 {
        /// Full field name.
        field: String,
    },
    /// `Any.type_url` names a type the descriptors do not have.
    #[error("cannot resolve Any type URL {0:?}: message type not found in the descriptors")]
    AnyTypeNotFound(String),
    /// A value the JSON mapping cannot express (Timestamp/Duration out of range, FieldMask
    /// path that does not round-trip, non-finite `Value.number_value`).
    #[error("{0}")]
    Unrepresentable(String),
    /// The reflect engine's own error.
    #[cfg(feature = "second-opinion")]
    #[error("{0}")]
    Reflect(String),
}

/// A message type resolved in a [`Transcoder`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MessageId(u32);

/// Transcodes messages of any type of one descriptor pool. Cheap to clone (shared plans).
#[derive(Clone)]
pub struct Transcoder {
    plans: Arc<Plans>,
    pool: DescriptorPool,
}

impl std::fmt::Debug for Transcoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transcoder")
            .field("messages", &self.plans.messages.len())
            .finish()
    }
}

impl Transcoder {
    /// Compiles plans for every message type of `pool`.
    pub fn new(pool: &DescriptorPool) -> Self {
        Transcoder {
            plans: Arc::new(Plans::compile(pool)),
            pool: pool.clone(),
        }
    }

    /// The pool this transcoder was built from.
    pub fn pool(&self) -> &DescriptorPool {
        &self.pool
    }

    /// Looks up a message type by full name, with or without a leading dot.
    pub fn message(&self, name: &str) -> Option<MessageId> {
        let name = name.strip_prefix('.').unwrap_or(name);
        self.plans.by_name.get(name).map(|&i| MessageId(i))
    }

    /// Full name of a resolved type.
    pub fn message_name(&self, id: MessageId) -> &str {
        &self.plans.messages[id.0 as usize].full_name
    }

    /// A reusable session that transcodes messages of type `id`.
    pub fn session(
        &self,
        id: MessageId,
        options: JsonOptions,
        engine: Engine,
        max_depth: u32,
    ) -> Session<'_> {
        Session {
            plans: &self.plans,
            root: id.0,
            options,
            max_depth,
            stack: Vec::new(),
            #[cfg(feature = "second-opinion")]
            descriptor: match engine {
                Engine::Reflect | Engine::Serde => {
                    self.pool.get_message_by_name(self.message_name(id))
                }
                Engine::Direct => None,
            },
            // prost-reflect sees an editions file as the proto2 view the registry made of
            // it, without the features recorded beside it: a second opinion it cannot give.
            // Decided once here, not per message (the serde engine is the bench baseline).
            #[cfg(feature = "second-opinion")]
            refusal: (engine != Engine::Direct)
                .then(|| self.pool.files().find(crate::features::is_editions))
                .flatten()
                .map(|file| {
                    format!(
                        "the {} engine does not support editions ({} is an editions file): use the direct engine",
                        if engine == Engine::Serde { "serde" } else { "reflect" },
                        file.name()
                    )
                }),
            engine,
        }
    }
}

/// Transcodes messages of one type, reusing scratch buffers across messages.
pub struct Session<'t> {
    plans: &'t Plans,
    root: u32,
    options: JsonOptions,
    max_depth: u32,
    /// One occurrence list per nesting depth, reused.
    stack: Vec<Vec<writer::Occ>>,
    /// Set for the reflect and serde engines.
    #[cfg(feature = "second-opinion")]
    descriptor: Option<MessageDescriptor>,
    /// Why the reflect or serde engine refuses this pool (editions), if it does.
    #[cfg(feature = "second-opinion")]
    refusal: Option<String>,
    #[cfg_attr(not(feature = "second-opinion"), allow(dead_code))]
    engine: Engine,
}

impl Session<'_> {
    /// Appends the JSON of one serialized message to `out` (no newline). On error `out` may
    /// hold a partial line: callers truncate it.
    pub fn transcode(&mut self, bytes: &[u8], out: &mut Vec<u8>) -> Result<()> {
        #[cfg(feature = "second-opinion")]
        if let Some(desc) = &self.descriptor {
            if let Some(reason) = &self.refusal {
                return Err(TranscodeError {
                    offset: 0,
                    kind: TranscodeErrorKind::Reflect(reason.clone()),
                });
            }
            return match self.engine {
                Engine::Serde => second_opinion::transcode_serde(desc, bytes, &self.options, out),
                _ => second_opinion::transcode(desc, bytes, &self.options, self.max_depth, out),
            };
        }
        let mut w = Writer {
            plans: self.plans,
            buf: bytes,
            opts: self.options,
            max_depth: self.max_depth,
            stack: std::mem::take(&mut self.stack),
        };
        let r = w.write_message(self.root, &[(0, bytes.len())], 0, out);
        self.stack = w.stack;
        r
    }
}

#[cfg(test)]
mod tests;
