//! The local directory store: source trees for `run`, and a landing directory written
//! atomically (temporary file, then rename), so a failed object never leaves partial output.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use super::{Fetched, ObjectInfo, StoreError};

/// A directory seen as a bucket: keys are `/`-separated paths under the root.
#[derive(Debug, Clone)]
pub struct LocalStore {
    root: PathBuf,
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

impl LocalStore {
    /// A store rooted at `root`.
    pub fn new(root: PathBuf) -> Self {
        LocalStore { root }
    }

    /// The path of a key (keys cannot leave the root: see `object::local_landing_path`).
    pub fn path(&self, key: &str) -> PathBuf {
        let mut p = self.root.clone();
        for part in key
            .split('/')
            .filter(|c| !c.is_empty() && *c != "." && *c != "..")
        {
            p.push(part);
        }
        p
    }

    /// Every file whose key starts with `prefix`, in key order. The ETag is a fingerprint of
    /// size and modification time, enough to notice a rewritten file.
    pub fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>, StoreError> {
        if !self.root.exists() {
            return Err(io_err(&self.root, io::Error::from(io::ErrorKind::NotFound)));
        }
        let objects = list(&self.root).map_err(|e| io_err(&self.root, e))?;
        Ok(objects
            .into_iter()
            .filter(|o| o.key.starts_with(prefix))
            .map(|o| ObjectInfo {
                etag: fs::metadata(&o.path)
                    .map(|m| fingerprint(&m))
                    .unwrap_or_default(),
                key: o.key,
                size: o.size,
            })
            .collect())
    }

    /// Reads a whole file.
    pub fn get(&self, key: &str) -> Result<Fetched, StoreError> {
        let path = self.path(key);
        let body = fs::read(&path).map_err(|e| io_err(&path, e))?;
        let meta = fs::metadata(&path).map_err(|e| io_err(&path, e))?;
        Ok(Fetched {
            etag: fingerprint(&meta),
            body: body.into(),
        })
    }

    /// Writes a whole file atomically.
    pub fn put(&self, key: &str, body: &[u8]) -> Result<(), StoreError> {
        let path = self.path(key);
        let mut l = Landing::create(path.clone()).map_err(|e| io_err(&path, e))?;
        l.write_all(body).map_err(|e| io_err(&path, e))?;
        l.commit().map_err(|e| io_err(&path, e))?;
        Ok(())
    }
}

/// A source object in a local tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalObject {
    /// Path on disk.
    pub path: PathBuf,
    /// Key: the path relative to the source root, `/`-separated.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
}

/// Every file under `root` (or `root` itself when it is a file), in sorted key order.
pub fn list(root: &Path) -> io::Result<Vec<LocalObject>> {
    let meta = fs::metadata(root)?;
    if meta.is_file() {
        let key = root
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        return Ok(vec![LocalObject {
            path: root.to_owned(),
            key,
            size: meta.len(),
        }]);
    }
    let mut out = Vec::new();
    for entry in walkdir::WalkDir::new(root).sort_by_file_name() {
        let entry = entry.map_err(io::Error::from)?;
        if !entry.file_type().is_file() {
            continue;
        }
        let rel = entry.path().strip_prefix(root).unwrap_or(entry.path());
        let key = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        out.push(LocalObject {
            path: entry.path().to_owned(),
            key,
            size: entry.metadata().map(|m| m.len()).unwrap_or(0),
        });
    }
    Ok(out)
}

/// An output file being written; it appears at its final path only on [`Landing::commit`].
pub struct Landing {
    tmp: PathBuf,
    dest: PathBuf,
    writer: Option<BufWriter<File>>,
}

impl Landing {
    /// Starts writing `dest` (directories are created).
    pub fn create(dest: PathBuf) -> io::Result<Landing> {
        if let Some(dir) = dest.parent() {
            fs::create_dir_all(dir)?;
        }
        let mut name = dest.file_name().unwrap_or_default().to_os_string();
        // Unique per writer: two records landing the same key at once (a duplicate
        // notification in one batch) must not write into one temporary file.
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        name.push(format!(".tmp-{}-{n}", std::process::id()));
        let tmp = dest.with_file_name(name);
        let writer = BufWriter::with_capacity(256 << 10, File::create(&tmp)?);
        Ok(Landing {
            tmp,
            dest,
            writer: Some(writer),
        })
    }

    /// The final path.
    pub fn path(&self) -> &Path {
        &self.dest
    }

    /// Flushes and moves the file into place.
    pub fn commit(mut self) -> io::Result<PathBuf> {
        if let Some(w) = self.writer.take() {
            let f = w.into_inner().map_err(|e| e.into_error())?;
            f.sync_data()?;
        }
        fs::rename(&self.tmp, &self.dest)?;
        Ok(self.dest.clone())
    }
}

impl Write for Landing {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.writer {
            Some(w) => w.write(buf),
            None => Err(io::Error::other("landing already committed")),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match &mut self.writer {
            Some(w) => w.flush(),
            None => Ok(()),
        }
    }
}

impl Drop for Landing {
    fn drop(&mut self) {
        if self.writer.take().is_some() {
            // Not committed: the object failed; leave nothing behind.
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uncommitted_landing_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("a/b.ndjson");
        {
            let mut l = Landing::create(dest.clone()).unwrap();
            l.write_all(b"{}\n").unwrap();
        }
        assert!(!dest.exists());
        assert_eq!(fs::read_dir(dir.path().join("a")).unwrap().count(), 0);
        let mut l = Landing::create(dest.clone()).unwrap();
        l.write_all(b"{}\n").unwrap();
        l.commit().unwrap();
        assert_eq!(fs::read(&dest).unwrap(), b"{}\n");
    }

    #[test]
    fn two_writers_of_one_key_each_commit_whole_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("k.ndjson");
        let mut a = Landing::create(dest.clone()).unwrap();
        let mut b = Landing::create(dest.clone()).unwrap();
        a.write_all(b"{\"n\":1}\n").unwrap();
        b.write_all(b"{\"n\":1}\n").unwrap();
        a.commit().unwrap();
        b.commit().unwrap();
        assert_eq!(fs::read(&dest).unwrap(), b"{\"n\":1}\n");
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary left"
        );
    }

    #[test]
    fn listing_gives_relative_slash_keys_in_order() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("x/y")).unwrap();
        fs::write(dir.path().join("x/y/2.pb"), b"ab").unwrap();
        fs::write(dir.path().join("1.pb"), b"a").unwrap();
        let keys: Vec<_> = list(dir.path())
            .unwrap()
            .into_iter()
            .map(|o| (o.key, o.size))
            .collect();
        assert_eq!(
            keys,
            vec![("1.pb".to_string(), 1), ("x/y/2.pb".to_string(), 2)]
        );
    }
}
