//! The local directory store: source trees for `run`, registries in a directory, and a
//! landing directory written atomically (a spool file beside the destination, renamed into
//! place on commit), so a failed object never leaves partial output.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use bytes::Bytes;
use tempfile::NamedTempFile;

use super::{Fetched, ObjectInfo, Opened, Pin, Store, StoreError};

/// A directory seen as a bucket: keys are `/`-separated paths under the root. A root that is
/// a file holds one object, keyed by its file name.
#[derive(Debug, Clone)]
pub struct LocalStore {
    root: PathBuf,
    /// The root is one file (decided once: `path` runs several times per object).
    single_file: bool,
}

fn io_err(path: &Path, e: io::Error) -> StoreError {
    if e.kind() == io::ErrorKind::NotFound {
        StoreError::NotFound {
            location: path.display().to_string(),
        }
    } else {
        StoreError::Other {
            location: path.display().to_string(),
            message: e.to_string(),
            retryable: false,
        }
    }
}

/// A local file's stand-in for an ETag: size and modification time, enough to notice a
/// rewritten file.
fn fingerprint(meta: &fs::Metadata) -> String {
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    format!("{:x}-{mtime:x}", meta.len())
}

/// The relative path of `key` under a root, which cannot leave it: empty and `.`
/// components are dropped, `..` and NUL are escaped, a leading `/` is ignored. Keys come
/// from notifications and source trees, so they may hold anything.
pub fn relative_path(key: &str) -> PathBuf {
    let mut p = PathBuf::new();
    for part in key.split(['/', '\\']) {
        match part {
            "" | "." => {}
            ".." => p.push("%2E%2E"),
            other => p.push(other.replace('\0', "%00")),
        }
    }
    if p.as_os_str().is_empty() {
        p.push("%EMPTY");
    }
    p
}

impl LocalStore {
    /// A store rooted at `root` (a directory, or a single file).
    pub fn new(root: PathBuf) -> Self {
        let single_file = root.is_file();
        LocalStore { root, single_file }
    }

    /// The path of a key.
    pub fn path(&self, key: &str) -> PathBuf {
        if self.single_file {
            return self.root.clone();
        }
        self.root.join(relative_path(key))
    }

    fn list_sync(&self, prefix: &str) -> Result<Vec<ObjectInfo>, StoreError> {
        let meta = fs::metadata(&self.root).map_err(|e| io_err(&self.root, e))?;
        if meta.is_file() {
            let key = self
                .root
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            return Ok(vec![ObjectInfo {
                key,
                size: meta.len(),
                etag: fingerprint(&meta),
            }]);
        }
        let mut out = Vec::new();
        for entry in walkdir::WalkDir::new(&self.root).sort_by_file_name() {
            let entry = entry.map_err(|e| io_err(&self.root, e.into()))?;
            if !entry.file_type().is_file() {
                continue;
            }
            let rel = entry
                .path()
                .strip_prefix(&self.root)
                .unwrap_or(entry.path());
            let key = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            if !key.starts_with(prefix) {
                continue;
            }
            let meta = entry
                .metadata()
                .map_err(|e| io_err(entry.path(), e.into()))?;
            out.push(ObjectInfo {
                key,
                size: meta.len(),
                etag: fingerprint(&meta),
            });
        }
        Ok(out)
    }
}

#[async_trait::async_trait]
impl Store for LocalStore {
    fn describe(&self, key: &str) -> String {
        self.path(key).display().to_string()
    }

    async fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>, StoreError> {
        self.list_sync(prefix)
    }

    async fn get(&self, key: &str) -> Result<Fetched, StoreError> {
        let path = self.path(key);
        let body = fs::read(&path).map_err(|e| io_err(&path, e))?;
        let meta = fs::metadata(&path).map_err(|e| io_err(&path, e))?;
        Ok(Fetched {
            etag: fingerprint(&meta),
            body: body.into(),
        })
    }

    async fn open(&self, key: &str, pin: &Pin) -> Result<Opened, StoreError> {
        let path = self.path(key);
        let file = fs::File::open(&path).map_err(|e| io_err(&path, e))?;
        let meta = file.metadata().map_err(|e| io_err(&path, e))?;
        // Files have no versions; an ETag pin is checked against the fingerprint.
        if pin.etag.as_ref().is_some_and(|e| *e != fingerprint(&meta)) {
            return Err(StoreError::PreconditionFailed {
                location: path.display().to_string(),
            });
        }
        Ok(Opened {
            body: Box::new(file),
            metadata: Default::default(),
            size: meta.len(),
        })
    }

    async fn put(&self, key: &str, body: Bytes) -> Result<(), StoreError> {
        let mut file = self.spool(key)?;
        file.write_all(&body).map_err(|e| io_err(file.path(), e))?;
        self.commit(key, file, "").await
    }

    fn spool(&self, key: &str) -> Result<NamedTempFile, StoreError> {
        let dest = self.path(key);
        let dir = dest.parent().unwrap_or(Path::new("."));
        fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
        // Unique per writer: two records landing the same key at once (a duplicate
        // notification in one batch) never write into one file.
        spool_in(dir, ".tmp").map_err(|e| io_err(dir, e))
    }

    async fn commit(
        &self,
        key: &str,
        file: NamedTempFile,
        _content_type: &str,
    ) -> Result<(), StoreError> {
        let dest = self.path(key);
        file.as_file().sync_data().map_err(|e| io_err(&dest, e))?;
        file.persist(&dest).map_err(|e| io_err(&dest, e.error))?;
        Ok(())
    }
}

/// A temporary file in `dir` that is renamed into place once written: `.protolake-*<suffix>`,
/// created with the mode `File::create` gives (0666 less the umask) rather than tempfile's
/// private 0600, so landed files are as readable as any other the user writes.
pub fn spool_in(dir: &Path, suffix: &str) -> std::io::Result<NamedTempFile> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(".protolake-").suffix(suffix);
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    builder.tempfile_in(dir)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Component;

    #[tokio::test]
    async fn an_uncommitted_spool_leaves_nothing_and_a_commit_lands_whole() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path().to_owned());
        {
            let mut f = store.spool("a/b.ndjson").unwrap();
            f.write_all(b"{}\n").unwrap();
        }
        assert!(!dir.path().join("a/b.ndjson").exists());
        assert_eq!(fs::read_dir(dir.path().join("a")).unwrap().count(), 0);
        store
            .put("a/b.ndjson", Bytes::from_static(b"{}\n"))
            .await
            .unwrap();
        assert_eq!(fs::read(dir.path().join("a/b.ndjson")).unwrap(), b"{}\n");
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn landed_files_get_the_mode_file_create_gives() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path().to_owned());
        store
            .put("k.ndjson", Bytes::from_static(b"{}\n"))
            .await
            .unwrap();
        let plain = dir.path().join("plain");
        fs::File::create(&plain).unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir.path().join("k.ndjson")), mode(&plain));
    }

    #[tokio::test]
    async fn two_writers_of_one_key_each_commit_whole_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path().to_owned());
        let mut a = store.spool("k.ndjson").unwrap();
        let mut b = store.spool("k.ndjson").unwrap();
        a.write_all(b"{\"n\":1}\n").unwrap();
        b.write_all(b"{\"n\":1}\n").unwrap();
        store.commit("k.ndjson", a, "").await.unwrap();
        store.commit("k.ndjson", b, "").await.unwrap();
        assert_eq!(
            fs::read(dir.path().join("k.ndjson")).unwrap(),
            b"{\"n\":1}\n"
        );
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary left"
        );
    }

    #[tokio::test]
    async fn listing_gives_relative_slash_keys_in_order_and_a_file_root_is_one_object() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("x/y")).unwrap();
        fs::write(dir.path().join("x/y/2.pb"), b"ab").unwrap();
        fs::write(dir.path().join("1.pb"), b"a").unwrap();
        let store = LocalStore::new(dir.path().to_owned());
        let keys: Vec<_> = store
            .list("")
            .await
            .unwrap()
            .into_iter()
            .map(|o| (o.key, o.size))
            .collect();
        assert_eq!(
            keys,
            vec![("1.pb".to_string(), 1), ("x/y/2.pb".to_string(), 2)]
        );
        let file = LocalStore::new(dir.path().join("x/y/2.pb"));
        let listed = file.list("").await.unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].key, "2.pb");
        assert_eq!(&file.get("2.pb").await.unwrap().body[..], b"ab");
    }

    #[test]
    fn keys_never_escape_the_root() {
        for key in [
            "../../etc/passwd",
            "/abs/path",
            "a/../../b",
            "..",
            "nul\0byte",
            "",
            "./x",
        ] {
            let p = relative_path(key);
            assert!(
                p.components().all(|c| matches!(c, Component::Normal(_))),
                "{key:?} -> {p:?}"
            );
        }
        assert_eq!(
            relative_path("a/b.pb.ndjson"),
            PathBuf::from("a/b.pb.ndjson")
        );
    }
}
