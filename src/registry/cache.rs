//! The registry as a long-lived service holds it: loaded from a store (S3 prefix or
//! directory), cached with moka for the TTL, re-checked incrementally (only objects whose
//! ETag changed are read again), refreshed at once when a type or key is not found
//! (single-flight: concurrent misses share one load), with misses negatively cached so a
//! flood of unknown types cannot hammer S3. A broken update (garbage object, invalid
//! routes.json) never replaces what was good: it is logged loudly with its key.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prost_types::FileDescriptorSet;

use super::load::{is_descriptor_set_name, PoolBuilder};
use super::{Registry, RegistryError, Route, Routes, ROUTES_FILE};
use crate::store::{Place, Store};
use crate::transcode::{MessageId, Transcoder};

/// How long a type or key that was not found stays "not found" before another miss may
/// force a reload.
pub const DEFAULT_NEGATIVE_TTL: Duration = Duration::from_secs(10);

/// Registry objects fetched at once during a load.
const FETCH_CONCURRENCY: usize = 32;

/// Why a lookup failed.
#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    /// The registry could not be loaded at all (retryable: S3 trouble).
    #[error("registry unavailable: {0}")]
    Unavailable(Arc<RegistryError>),
    /// The message type is not in the registry, even after a re-check.
    #[error("message type {0:?} is not in the registry")]
    UnknownType(String),
    /// No route matches the key, even after a re-check.
    #[error("no route in routes.json matches key {0:?}")]
    NoRoute(String),
}

#[derive(Default)]
struct LoadState {
    /// key -> (etag, parsed set) of every descriptor object last read successfully.
    sets: BTreeMap<String, (String, FileDescriptorSet)>,
    /// (etag, routes) of the last good routes.json.
    routes: Option<(String, Routes)>,
    /// The last registry built.
    last_good: Option<Arc<Registry>>,
    /// Problems of the latest load, one line each, naming the object.
    problems: Vec<String>,
}

/// A cached, self-refreshing registry over a store prefix.
pub struct RegistryCache {
    store: Arc<dyn Store>,
    prefix: String,
    current: moka::future::Cache<(), Arc<Registry>>,
    negative: moka::future::Cache<String, ()>,
    refresh: tokio::sync::Mutex<()>,
    generation: AtomicU64,
    state: Mutex<LoadState>,
    loads: AtomicU64,
    object_reads: AtomicU64,
}

impl std::fmt::Debug for RegistryCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryCache")
            .field("registry", &self.store.describe(&self.prefix))
            .finish()
    }
}

impl RegistryCache {
    /// A cache over the registry at `place`; nothing is read until the first lookup.
    pub fn new(place: Place, ttl: Duration, negative_ttl: Duration) -> Self {
        RegistryCache {
            store: place.store,
            prefix: place.prefix,
            current: moka::future::Cache::builder()
                .max_capacity(1)
                .time_to_live(ttl)
                .build(),
            negative: moka::future::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(negative_ttl)
                .build(),
            refresh: tokio::sync::Mutex::new(()),
            generation: AtomicU64::new(0),
            state: Mutex::new(LoadState::default()),
            loads: AtomicU64::new(0),
            object_reads: AtomicU64::new(0),
        }
    }

    /// Where the registry lives, for messages.
    pub fn describe(&self) -> String {
        self.store.describe(&self.prefix)
    }

    /// How many times the registry was (re)loaded: listings, not object reads.
    pub fn loads(&self) -> u64 {
        self.loads.load(Ordering::SeqCst)
    }

    /// How many registry objects were read (a re-check reads only changed ones).
    pub fn object_reads(&self) -> u64 {
        self.object_reads.load(Ordering::SeqCst)
    }

    /// Problems found by the latest load (each names its object); empty when all is well.
    pub fn problems(&self) -> Vec<String> {
        self.lock().problems.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LoadState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The current registry: cached for the TTL, then re-checked.
    pub async fn registry(&self) -> Result<Arc<Registry>, LookupError> {
        self.current
            .try_get_with((), self.load())
            .await
            .map_err(LookupError::Unavailable)
    }

    /// Resolves a message type; a miss forces one re-check (shared by concurrent misses).
    pub async fn message(&self, name: &str) -> Result<(Arc<Registry>, MessageId), LookupError> {
        let name = name.strip_prefix('.').unwrap_or(name);
        self.lookup(
            &format!("type:{name}"),
            |r| r.transcoder.message(name),
            || LookupError::UnknownType(name.to_owned()),
        )
        .await
    }

    /// The route for an object key; a miss forces one re-check.
    pub async fn route(&self, key: &str) -> Result<(Arc<Registry>, Route), LookupError> {
        self.lookup(
            &format!("key:{key}"),
            |r| r.routes.resolve(key).cloned(),
            || LookupError::NoRoute(key.to_owned()),
        )
        .await
    }

    async fn lookup<T>(
        &self,
        negative_key: &str,
        find: impl Fn(&Registry) -> Option<T>,
        missing: impl Fn() -> LookupError,
    ) -> Result<(Arc<Registry>, T), LookupError> {
        let reg = self.registry().await?;
        if let Some(v) = find(&reg) {
            return Ok((reg.clone(), v));
        }
        if self.negative.contains_key(negative_key) {
            return Err(missing());
        }
        // Of many concurrent misses, the first reloads and the others wait for it and use
        // its result. The re-check and the negative entry happen under the same lock, so a
        // miss that read the registry just after a reload (but before that reload's miss
        // was recorded) finds the negative entry here instead of reloading again.
        let _guard = self.refresh.lock().await;
        if self.negative.contains_key(negative_key) {
            return Err(missing());
        }
        if self.generation.load(Ordering::SeqCst) == reg.generation {
            self.current.invalidate(&()).await;
        }
        let reg = self.registry().await?;
        match find(&reg) {
            Some(v) => Ok((reg.clone(), v)),
            None => {
                self.negative.insert(negative_key.to_owned(), ()).await;
                Err(missing())
            }
        }
    }

    /// One (incremental) load. Never replaces a good registry with a broken one.
    async fn load(&self) -> Result<Arc<Registry>, RegistryError> {
        self.loads.fetch_add(1, Ordering::SeqCst);
        let listing = match self.store.list(&self.prefix).await {
            Ok(l) => l,
            Err(e) => return self.keep_last_good(vec![format!("listing failed: {e}")], e.into()),
        };
        let (mut sets, old_routes) = {
            let st = self.lock();
            (st.sets.clone(), st.routes.clone())
        };
        let mut problems = Vec::new();
        let routes_key = format!("{}{ROUTES_FILE}", self.prefix);
        let mut present = std::collections::BTreeSet::new();
        let mut routes_obj = None;
        let mut to_read = Vec::new();
        for obj in &listing {
            if obj.key == routes_key {
                routes_obj = Some(obj.clone());
                continue;
            }
            if !is_descriptor_set_name(&obj.key) {
                continue;
            }
            present.insert(obj.key.clone());
            if sets.get(&obj.key).is_none_or(|(etag, _)| *etag != obj.etag) {
                to_read.push(obj.key.clone());
            }
        }
        // Changed objects are fetched concurrently: a cold start reads them all.
        let semaphore = std::sync::Arc::new(tokio::sync::Semaphore::new(FETCH_CONCURRENCY));
        let mut fetches = tokio::task::JoinSet::new();
        for key in to_read {
            let (store, semaphore) = (self.store.clone(), semaphore.clone());
            fetches.spawn(async move {
                let _permit = semaphore.acquire_owned().await;
                let fetched = store.get(&key).await;
                (key, fetched)
            });
        }
        let mut fetched = BTreeMap::new();
        while let Some(joined) = fetches.join_next().await {
            match joined {
                Ok((key, r)) => {
                    fetched.insert(key, r);
                }
                Err(e) => problems.push(format!(
                    "{}: reading a registry object failed: {e}",
                    self.describe()
                )),
            }
        }
        for (key, r) in fetched {
            self.object_reads.fetch_add(1, Ordering::SeqCst);
            let name = self.store.describe(&key);
            let parsed = r.map_err(|e| e.to_string()).and_then(|f| {
                match super::decode_set(f.body.as_ref()) {
                    Ok(s) if !s.file.is_empty() => Ok((f.etag, s)),
                    Ok(_) => Err(format!("{name}: not a FileDescriptorSet: no files in it")),
                    Err(e) => Err(format!("{name}: not a FileDescriptorSet: {e}")),
                }
            });
            match parsed {
                Ok(v) => {
                    sets.insert(key, v);
                }
                // The previous good version of this object (if any) stays in use.
                Err(p) => problems.push(p),
            }
        }
        // Objects deleted from the registry are dropped.
        sets.retain(|k, _| present.contains(k));
        if sets.is_empty() {
            problems.push(format!(
                "{}: no descriptor sets (*.binpb) in the registry",
                self.describe()
            ));
            return self.keep_last_good(
                problems,
                RegistryError::InvalidDescriptorSet {
                    source_name: self.describe(),
                    reason: "no descriptor sets (*.binpb) in the registry".into(),
                },
            );
        }
        let mut builder = PoolBuilder::new();
        for (key, (_, set)) in &sets {
            // A set that conflicts with the ones before it is left out, not the whole registry.
            if let Err(e) = builder.add_set(set.clone(), &self.store.describe(key)) {
                problems.push(e.to_string());
            }
        }
        let pool = match builder.build() {
            Ok(p) => p,
            Err(e) => {
                problems.push(e.to_string());
                return self.keep_last_good(problems, e);
            }
        };
        let transcoder = Transcoder::new(&pool);
        let mut routes_state = old_routes.clone();
        if let Some(obj) = routes_obj {
            let unchanged = old_routes
                .as_ref()
                .is_some_and(|(etag, _)| *etag == obj.etag);
            if !unchanged {
                self.object_reads.fetch_add(1, Ordering::SeqCst);
                let name = self.store.describe(&obj.key);
                match self.store.get(&obj.key).await {
                    Ok(f) => match Routes::parse(&f.body, &name) {
                        Ok(r) => routes_state = Some((f.etag, r)),
                        Err(e) => problems.push(e.to_string()),
                    },
                    Err(e) => problems.push(e.to_string()),
                }
            }
        } else {
            routes_state = None;
        }
        let mut routes = routes_state
            .as_ref()
            .map(|(_, r)| r.clone())
            .unwrap_or_default();
        if let Err(e) = routes.validate(&self.store.describe(&routes_key), |t| {
            transcoder.message(t).is_some()
        }) {
            problems.push(e.to_string());
            // Fall back to the last routes that still validate, else to none.
            routes = old_routes
                .as_ref()
                .map(|(_, r)| r.clone())
                .filter(|r| r.validate("", |t| transcoder.message(t).is_some()).is_ok())
                .unwrap_or_default();
        }
        let generation = self.generation.fetch_add(1, Ordering::SeqCst) + 1;
        let registry = Arc::new(Registry {
            transcoder,
            routes,
            generation,
        });
        for p in &problems {
            tracing::error!(registry = %self.describe(), problem = %p, "registry update has a problem; the last good version of the object stays in use");
        }
        let mut st = self.lock();
        st.sets = sets;
        st.routes = routes_state;
        st.last_good = Some(registry.clone());
        st.problems = problems;
        Ok(registry)
    }

    fn keep_last_good(
        &self,
        problems: Vec<String>,
        err: RegistryError,
    ) -> Result<Arc<Registry>, RegistryError> {
        for p in &problems {
            tracing::error!(registry = %self.describe(), problem = %p, "registry load failed; serving the last good registry");
        }
        let mut st = self.lock();
        st.problems = problems;
        match &st.last_good {
            Some(r) => Ok(r.clone()),
            None => Err(err),
        }
    }
}
