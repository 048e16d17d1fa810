//! `schema publish`: descriptor sets and routes into a registry, refusing breaking changes.
//! "Breaking" is what `protolake compat` fails on: its `wire` and `json` findings for every
//! message type already in the registry. It sits above the store, the registry and compat,
//! which know nothing of it.

use prost_reflect::DescriptorPool;
use prost_types::FileDescriptorSet;

use crate::registry::load::{is_descriptor_set_name, PoolBuilder};
use crate::registry::{RegistryError, Routes, ROUTES_FILE};
use crate::store::{Place, Store, StoreError};

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
    Store(#[from] StoreError),
    /// Breaking changes, refused without `--allow-breaking`.
    #[error("refusing to publish {target}: {} breaking change(s) (use --allow-breaking to publish anyway):\n{}", .changes.len(), .changes.iter().map(|c| format!("  - {}: {}", c.path, c.message)).collect::<Vec<_>>().join("\n"))]
    Breaking {
        /// Where it would have been written.
        target: String,
        /// The changes.
        changes: Vec<BreakingChange>,
    },
}

/// What would break for data written with `old` if `new` replaced it: the compat engine's
/// `wire` and `json` findings (semantic ones do not change what lands).
pub fn breaking_changes(old: &DescriptorPool, new: &DescriptorPool) -> Vec<BreakingChange> {
    crate::compat::check(old, new, &crate::compat::Selection::default())
        .into_iter()
        .filter(|f| f.level.fails())
        .map(|f| BreakingChange {
            path: f.path,
            message: format!("{} [{} {}]", f.message, f.level, f.rule.name()),
        })
        .collect()
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
    store: &dyn Store,
    prefix: &str,
) -> Result<Vec<(String, FileDescriptorSet)>, PublishError> {
    let mut sets = Vec::new();
    let listing = match store.list(prefix).await {
        Ok(l) => l,
        // A registry that does not exist yet is empty.
        Err(StoreError::NotFound { .. }) => Vec::new(),
        Err(e) => return Err(e.into()),
    };
    for obj in listing {
        if !is_descriptor_set_name(&obj.key) {
            continue;
        }
        let f = store.get(&obj.key).await?;
        match crate::registry::decode_set(f.body.as_ref()) {
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
    store: &dyn Store,
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
    registry: &Place,
    file_name: &str,
    bytes: &[u8],
    allow_breaking: bool,
) -> Result<Published, PublishError> {
    let (store, prefix) = (registry.store.as_ref(), registry.prefix.as_str());
    let target_key = format!("{prefix}{file_name}");
    let target = store.describe(&target_key);
    let new_set = crate::registry::decode_set(bytes).map_err(|reason| {
        RegistryError::InvalidDescriptorSet {
            source_name: file_name.to_owned(),
            reason,
        }
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
pub async fn publish_routes(registry: &Place, bytes: &[u8]) -> Result<Published, PublishError> {
    let (store, prefix) = (registry.store.as_ref(), registry.prefix.as_str());
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
