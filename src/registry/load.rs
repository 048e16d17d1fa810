//! Loading descriptors into one pool: FileDescriptorSet files (`.binpb`, `.pb`, `.desc`),
//! `.proto` files (compiled in process with protox) and directories of either.

use std::path::{Path, PathBuf};

use prost::Message as _;
use prost_reflect::DescriptorPool;
use prost_types::{FileDescriptorProto, FileDescriptorSet};

use super::RegistryError;

/// Extensions taken as binary FileDescriptorSets.
pub const DESCRIPTOR_SET_EXTENSIONS: &[&str] = &["binpb", "pb", "desc"];

/// Decodes a binary FileDescriptorSet, its editions files lowered to the proto2 view
/// prost-reflect takes (see `editions`). Every reader of set bytes goes through here: the
/// features live only in the bytes, not in the prost-types structs.
pub fn decode_set(bytes: &[u8]) -> Result<FileDescriptorSet, String> {
    let mut set = FileDescriptorSet::decode(bytes).map_err(|e| e.to_string())?;
    super::editions::lower(&mut set, bytes)?;
    Ok(set)
}

/// Whether an object key or file name is a descriptor set (by extension).
pub fn is_descriptor_set_name(name: &str) -> bool {
    name.rsplit_once('.')
        .is_some_and(|(_, e)| DESCRIPTOR_SET_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// Accumulates descriptor sets into one pool. The same file carried by several sets (every
/// `--include_imports` set carries `google/protobuf/*.proto`) is merged when identical;
/// different contents under one file name are an error naming both sources.
#[derive(Default)]
pub struct PoolBuilder {
    files: Vec<(FileDescriptorProto, String)>,
}

impl PoolBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds every file of a descriptor set; `source` names where it came from. All or
    /// nothing: a set with a conflicting file adds none of its files.
    pub fn add_set(&mut self, set: FileDescriptorSet, source: &str) -> Result<(), RegistryError> {
        let mut fresh: Vec<FileDescriptorProto> = Vec::new();
        for mut file in set.file {
            // prost-reflect 0.16 panics (an index out of bounds while labelling the error)
            // on a syntax it does not know: refuse it here, by name. Editions files arrive
            // here lowered to proto2 by `add_set_bytes`, which alone has the bytes that
            // hold their features.
            if let Some(syntax) = file.syntax.as_deref() {
                if !matches!(syntax, "" | "proto2" | "proto3") {
                    let hint = if syntax == "editions" {
                        " here; give the descriptor set as bytes"
                    } else {
                        " (proto2, proto3 and editions are)"
                    };
                    return Err(RegistryError::InvalidDescriptorSet {
                        source_name: source.to_owned(),
                        reason: format!(
                            "{}: syntax {syntax:?} is not supported{hint}",
                            file.name()
                        ),
                    });
                }
            }
            // Comments and spans do not change what a schema means.
            file.source_code_info = None;
            let existing = self
                .files
                .iter()
                .map(|(f, from)| (f, from.as_str()))
                .chain(fresh.iter().map(|f| (f, source)))
                .find(|(f, _)| f.name() == file.name());
            match existing {
                Some((f, _)) if *f == file => {}
                Some((_, from)) => {
                    return Err(RegistryError::ConflictingFile {
                        file: file.name().to_owned(),
                        first: from.to_owned(),
                        second: source.to_owned(),
                    })
                }
                None => fresh.push(file),
            }
        }
        self.files
            .extend(fresh.into_iter().map(|f| (f, source.to_owned())));
        Ok(())
    }

    /// Decodes and adds a binary FileDescriptorSet.
    pub fn add_set_bytes(&mut self, bytes: &[u8], source: &str) -> Result<(), RegistryError> {
        let invalid = |reason: String| RegistryError::InvalidDescriptorSet {
            source_name: source.to_owned(),
            reason,
        };
        let set = decode_set(bytes).map_err(invalid)?;
        if set.file.is_empty() && !bytes.is_empty() {
            return Err(invalid("not a FileDescriptorSet (no files in it)".into()));
        }
        self.add_set(set, source)
    }

    /// Adds a path: a descriptor set file, a `.proto` file, or a directory of either.
    pub fn add_path(&mut self, path: &Path) -> Result<(), RegistryError> {
        let meta = std::fs::metadata(path).map_err(|e| RegistryError::Io {
            path: path.display().to_string(),
            source: e,
        })?;
        if meta.is_dir() {
            let mut protos = Vec::new();
            let mut sets = Vec::new();
            for entry in walkdir::WalkDir::new(path).sort_by_file_name() {
                let entry = entry.map_err(|e| RegistryError::Io {
                    path: path.display().to_string(),
                    source: e.into(),
                })?;
                if !entry.file_type().is_file() {
                    continue;
                }
                match extension(entry.path()).as_deref() {
                    Some("proto") => protos.push(entry.path().to_owned()),
                    Some(ext) if DESCRIPTOR_SET_EXTENSIONS.contains(&ext) => {
                        sets.push(entry.path().to_owned())
                    }
                    _ => {}
                }
            }
            for s in sets {
                self.add_set_file(&s)?;
            }
            if !protos.is_empty() {
                let set = compile_protos(&protos, &[path.to_owned()])?;
                self.add_set(set, &path.display().to_string())?;
            }
            return Ok(());
        }
        match extension(path).as_deref() {
            Some("proto") => {
                let include = path
                    .parent()
                    .map(Path::to_owned)
                    .unwrap_or_else(|| PathBuf::from("."));
                let include = if include.as_os_str().is_empty() {
                    PathBuf::from(".")
                } else {
                    include
                };
                let set = compile_protos(&[path.to_owned()], &[include])?;
                self.add_set(set, &path.display().to_string())
            }
            _ => self.add_set_file(path),
        }
    }

    fn add_set_file(&mut self, path: &Path) -> Result<(), RegistryError> {
        let bytes = std::fs::read(path).map_err(|e| RegistryError::Io {
            path: path.display().to_string(),
            source: e,
        })?;
        self.add_set_bytes(&bytes, &path.display().to_string())
    }

    /// Builds the pool.
    pub fn build(self) -> Result<DescriptorPool, RegistryError> {
        let mut pool = DescriptorPool::new();
        let sources: Vec<String> = self.files.iter().map(|(_, s)| s.clone()).collect();
        // Registry contents are untrusted bytes: a panic inside prost-reflect on some input
        // we did not foresee becomes this registry's error, not a crashed worker.
        let built = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            pool.add_file_descriptor_protos(self.files.into_iter().map(|(f, _)| f))
                .map(|_| pool)
        }));
        match built {
            Ok(Ok(pool)) => Ok(pool),
            Ok(Err(e)) => Err(RegistryError::InvalidDescriptorSet {
                source_name: dedup_join(&sources),
                reason: e.to_string(),
            }),
            Err(_) => Err(RegistryError::InvalidDescriptorSet {
                source_name: dedup_join(&sources),
                reason: "the descriptor library panicked on these descriptors".into(),
            }),
        }
    }
}

fn dedup_join(v: &[String]) -> String {
    let mut seen: Vec<&str> = Vec::new();
    for s in v {
        if !seen.contains(&s.as_str()) {
            seen.push(s);
        }
    }
    seen.join(", ")
}

fn extension(p: &Path) -> Option<String> {
    p.extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
}

/// Compiles `.proto` files with protox, imports included, without source info, so the
/// output is the same bytes for the same input on any machine.
pub fn compile_protos(
    files: &[PathBuf],
    includes: &[PathBuf],
) -> Result<FileDescriptorSet, RegistryError> {
    use protox::file::{ChainFileResolver, GoogleFileResolver, IncludeFileResolver};
    let error = |e| protox_error(e, files, includes);
    // `google/protobuf/*.proto` resolve to the built-in well-known types first, as buf
    // resolves them: an include path holding another protobuf release's copies (every
    // schema with custom options imports descriptor.proto) cannot change their meaning.
    let mut resolver = ChainFileResolver::new();
    resolver.add(GoogleFileResolver::new());
    for include in includes {
        resolver.add(IncludeFileResolver::new(include.clone()));
    }
    let mut compiler = protox::Compiler::with_file_resolver(resolver);
    compiler.include_imports(true).include_source_info(false);
    for f in files {
        compiler.open_file(f).map_err(error)?;
    }
    Ok(compiler.file_descriptor_set())
}

fn protox_error(e: protox::Error, files: &[PathBuf], includes: &[PathBuf]) -> RegistryError {
    // protox parses proto2 and proto3 only: an editions file fails on its first line, with
    // a message that does not say why. Say why, and what builds such a set.
    if e.is_parse() {
        let failed: Vec<PathBuf> = match e.file() {
            Some(name) => includes
                .iter()
                .map(|i| i.join(name))
                .chain([PathBuf::from(name)])
                .collect(),
            None => files.to_vec(),
        };
        if let Some(path) = failed.iter().find(|p| declares_edition(p)) {
            return RegistryError::Compile(format!(
                "{}: an editions file (`edition = ...`), which protox cannot compile: build the \
                 descriptor set with `protoc --include_imports -o SET.binpb` or `buf build -o \
                 SET.binpb`, and give protolake the set",
                path.display()
            ));
        }
    }
    // protox's Debug form is protoc-like: `file.proto:LINE:COL: message`.
    RegistryError::Compile(format!("{e:?}"))
}

/// Whether a `.proto` file opens with an `edition = "..."` declaration.
fn declares_edition(path: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(path) else {
        return false;
    };
    let mut in_block_comment = false;
    for line in text.lines() {
        let mut line = line.trim();
        if in_block_comment {
            match line.find("*/") {
                Some(end) => {
                    line = line[end + 2..].trim();
                    in_block_comment = false;
                }
                None => continue,
            }
        }
        if line.starts_with("/*") {
            in_block_comment = !line.contains("*/");
            continue;
        }
        if line.is_empty() || line.starts_with("//") {
            continue;
        }
        return line
            .strip_prefix("edition")
            .is_some_and(|rest| rest.trim_start().starts_with('='));
    }
    false
}

/// Loads and merges every path into one pool.
pub fn load_paths(paths: &[PathBuf]) -> Result<DescriptorPool, RegistryError> {
    let mut b = PoolBuilder::new();
    for p in paths {
        b.add_path(p)?;
    }
    b.build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost_types::FileDescriptorProto;

    #[test]
    fn an_unknown_syntax_is_a_named_error_not_a_panic() {
        // prost-reflect 0.16 panics on this while building its own error.
        let set = FileDescriptorSet {
            file: vec![FileDescriptorProto {
                name: Some("new.proto".into()),
                package: Some("p".into()),
                syntax: Some("editions".into()),
                ..Default::default()
            }],
        };
        let mut b = PoolBuilder::new();
        let err = b
            .add_set(set, "s3://reg/new.binpb")
            .unwrap_err()
            .to_string();
        assert!(err.contains("s3://reg/new.binpb"), "{err}");
        assert!(
            err.contains("new.proto: syntax \"editions\" is not supported"),
            "{err}"
        );
    }

    #[test]
    fn an_editions_proto_gets_one_line_naming_protoc_and_buf() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ed.proto");
        std::fs::write(
            &path,
            "// A schema in editions.\n/* a block\n comment */\nedition = \"2023\";\npackage e;\nmessage M { int32 a = 1; }\n",
        )
        .unwrap();
        let err = compile_protos(std::slice::from_ref(&path), &[dir.path().to_owned()])
            .unwrap_err()
            .to_string();
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.starts_with(&format!("{}: an editions file", path.display())),
            "{err}"
        );
        assert!(
            err.contains("protoc --include_imports -o") && err.contains("buf build -o"),
            "{err}"
        );
        // A proto3 file with a parse error keeps protox's own message.
        std::fs::write(&path, "syntax = \"proto3\";\nmessage M { int32 a = ; }\n").unwrap();
        let err = compile_protos(&[path], &[dir.path().to_owned()])
            .unwrap_err()
            .to_string();
        assert!(!err.contains("editions"), "{err}");
    }
}
