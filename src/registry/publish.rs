//! Publishing descriptor sets and routes to a registry, refusing breaking changes.
//! Until the compat engine exists, "breaking" means: a message type already in the registry
//! disappears, or one of its field numbers disappears or changes wire type.

use prost::Message as _;
use prost_reflect::{DescriptorPool, Kind};
use prost_types::FileDescriptorSet;

use super::load::{is_descriptor_set_name, PoolBuilder};
use super::{RegistryError, Routes, ROUTES_FILE};
use crate::store::Store;

/// One change that would break decoding of data already written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreakingChange {
    /// Full name of the element (`acme.v1.Event`, `acme.v1.Event.user_id`).
    pub path: String,
    /// What changed and what to do instead.
    pub message: String,
}

/// Errors of publishing.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The new set, or the registry with it, does not load.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// Breaking changes, refused without `--allow-breaking`.
    #[error("refusing to publish {target}: {} breaking change(s) (use --allow-breaking to publish anyway):\n{}", .changes.len(), .changes.iter().map(|c| format!("  - {}: {}", c.path, c.message)).collect::<Vec<_>>().join("\n"))]
    Breaking {
        /// Where it would have been written.
        target: String,
        /// The changes.
        changes: Vec<BreakingChange>,
    },
}

fn wire_class(kind: &Kind, is_group: bool) -> &'static str {
    match kind {
        Kind::Double | Kind::Fixed64 | Kind::Sfixed64 => "fixed64",
        Kind::Float | Kind::Fixed32 | Kind::Sfixed32 => "fixed32",
        Kind::String | Kind::Bytes => "length-delimited",
        Kind::Message(_) if is_group => "group",
        Kind::Message(_) => "length-delimited",
        _ => "varint",
    }
}

/// What would break for data written with `old` if `new` replaced it.
pub fn breaking_changes(old: &DescriptorPool, new: &DescriptorPool) -> Vec<BreakingChange> {
    let mut out = Vec::new();
    for m in old.all_messages() {
        if m.is_map_entry() {
            continue;
        }
        let Some(n) = new.get_message_by_name(m.full_name()) else {
            out.push(BreakingChange {
                path: m.full_name().to_owned(),
                message: "message type removed (objects routed to it would fail)".into(),
            });
            continue;
        };
        for f in m.fields() {
            let path = format!("{}.{}", m.full_name(), f.name());
            match n.get_field(f.number()) {
                None => out.push(BreakingChange {
                    path,
                    message: format!(
                        "field number {} removed or renumbered (its data would become unknown): keep the number, or reserve it",
                        f.number()
                    ),
                }),
                Some(nf) => {
                    let (a, b) = (wire_class(&f.kind(), f.is_group()), wire_class(&nf.kind(), nf.is_group()));
                    // Packed and unpacked repeated scalars read each other: compare scalars only.
                    if a != b {
                        out.push(BreakingChange {
                            path,
                            message: format!("field {} changed wire type from {a} to {b}: old bytes would not decode", f.number()),
                        });
                    }
                }
            }
        }
    }
    out
}

/// What was published.
#[derive(Debug, Clone)]
pub struct Published {
    /// Where it was written.
    pub target: String,
    /// Breaking changes accepted with `--allow-breaking`.
    pub accepted_breaking: Vec<BreakingChange>,
}

async fn current_sets(
    store: &Store,
    prefix: &str,
) -> Result<Vec<(String, FileDescriptorSet)>, PublishError> {
    let mut sets = Vec::new();
    let listing = match store.list(prefix).await {
        Ok(l) => l,
        // A registry that does not exist yet is empty.
        Err(crate::store::StoreError::NotFound { .. }) => Vec::new(),
        Err(e) => return Err(e.into()),
    };
    for obj in listing {
        if !is_descriptor_set_name(&obj.key) {
            continue;
        }
        let f = store.get(&obj.key).await?;
        match FileDescriptorSet::decode(f.body.as_ref()) {
            Ok(s) => sets.push((obj.key, s)),
            // A garbage object already in the registry is skipped by readers too.
            Err(e) => {
                tracing::warn!(key = %obj.key, error = %e, "skipping an unreadable descriptor set in the registry")
            }
        }
    }
    Ok(sets)
}

fn pool_of(
    store: &Store,
    sets: &[(String, FileDescriptorSet)],
) -> Result<DescriptorPool, RegistryError> {
    let mut b = PoolBuilder::new();
    for (key, set) in sets {
        b.add_set(set.clone(), &store.describe(key))?;
    }
    b.build()
}

/// Publishes a descriptor set as `<prefix><file_name>` (replacing an object of that name),
/// after checking that the registry with it still loads and nothing already in it breaks.
pub async fn publish_set(
    store: &Store,
    prefix: &str,
    file_name: &str,
    bytes: &[u8],
    allow_breaking: bool,
) -> Result<Published, PublishError> {
    let target_key = format!("{prefix}{file_name}");
    let target = store.describe(&target_key);
    let new_set =
        FileDescriptorSet::decode(bytes).map_err(|e| RegistryError::InvalidDescriptorSet {
            source_name: file_name.to_owned(),
            reason: e.to_string(),
        })?;
    if new_set.file.is_empty() {
        return Err(RegistryError::InvalidDescriptorSet {
            source_name: file_name.to_owned(),
            reason: "not a FileDescriptorSet (no files in it)".into(),
        }
        .into());
    }
    let current = current_sets(store, prefix).await?;
    let old_pool = pool_of(store, &current)?;
    let mut next: Vec<(String, FileDescriptorSet)> = current
        .into_iter()
        .filter(|(k, _)| *k != target_key)
        .collect();
    next.push((target_key.clone(), new_set));
    let new_pool = pool_of(store, &next)?;
    let changes = breaking_changes(&old_pool, &new_pool);
    if !changes.is_empty() && !allow_breaking {
        return Err(PublishError::Breaking { target, changes });
    }
    store
        .put(&target_key, bytes::Bytes::copy_from_slice(bytes))
        .await?;
    Ok(Published {
        target,
        accepted_breaking: changes,
    })
}

/// Publishes `routes.json` after validating it against the registry's types.
pub async fn publish_routes(
    store: &Store,
    prefix: &str,
    bytes: &[u8],
) -> Result<Published, PublishError> {
    let key = format!("{prefix}{ROUTES_FILE}");
    let target = store.describe(&key);
    let routes = Routes::parse(bytes, "routes.json")?;
    let pool = pool_of(store, &current_sets(store, prefix).await?)?;
    routes.validate("routes.json", |t| pool.get_message_by_name(t).is_some())?;
    store
        .put(&key, bytes::Bytes::copy_from_slice(bytes))
        .await?;
    Ok(Published {
        target,
        accepted_breaking: Vec::new(),
    })
}
