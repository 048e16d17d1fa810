//! Differential decoding: every sample message through the pipeline's own stages
//! (decompression sniffing, framing, the direct transcoder with default JSON options) under
//! OLD and under NEW, compared as JSON values.
//!
//! Paths of the first difference are JSONPath-like: `$.device.kind`, `$.experimentIds[2]`,
//! `$["[acme.events.v1.campaign]"]` for keys that are not plain identifiers.

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use super::{CompatError, Finding, Rule};
use crate::decompress::Compression;
use crate::framing::Framing;
use crate::limits::Limits;
use crate::pipeline::{for_each_frame, Error, StreamOptions};
use crate::transcode::{Engine, JsonOptions, MessageId, Transcoder};

/// One side of the comparison: a transcoder and the type to decode as.
#[derive(Clone, Copy)]
pub struct Side<'a> {
    /// Plans of the side's pool.
    pub transcoder: &'a Transcoder,
    /// The sample type in that pool.
    pub message: MessageId,
}

/// What the samples amounted to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SampleSummary {
    /// The type the samples were decoded as.
    #[serde(rename = "type")]
    pub type_name: String,
    /// Sample files read.
    pub files: u64,
    /// Messages whose JSON is the same under both schemas.
    pub identical: u64,
    /// Messages whose JSON differs.
    pub different: u64,
    /// Messages that failed under one schema or both.
    pub failed: u64,
    /// Why no sample was decoded (NEW lacks the type: a `message_removed` finding).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
}

/// The files under `path` (itself when it is a file), sorted.
fn sample_files(path: &Path) -> Result<Vec<PathBuf>, Error> {
    let io = |e: std::io::Error| Error::Io {
        input: path.display().to_string(),
        source: e,
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    if !meta.is_dir() {
        return Ok(vec![path.to_owned()]);
    }
    let mut files = Vec::new();
    for entry in walkdir::WalkDir::new(path).sort_by_file_name() {
        let entry = entry.map_err(|e| io(e.into()))?;
        if entry.file_type().is_file() {
            files.push(entry.into_path());
        }
    }
    Ok(files)
}

/// Decodes every message of every sample file under OLD and NEW and compares the JSON.
/// Unreadable, undecompressable or unframeable files are errors naming the file.
pub fn check_samples(
    path: &Path,
    framing: Framing,
    limits: &Limits,
    old: Side<'_>,
    new: Side<'_>,
) -> Result<(SampleSummary, Vec<Finding>), CompatError> {
    let mut summary = SampleSummary {
        type_name: old.transcoder.message_name(old.message).to_owned(),
        ..SampleSummary::default()
    };
    let mut findings = Vec::new();
    let json = JsonOptions::default();
    let mut old_session =
        old.transcoder
            .session(old.message, json, Engine::Direct, limits.max_depth);
    let mut new_session =
        new.transcoder
            .session(new.message, json, Engine::Direct, limits.max_depth);
    let (mut a, mut b) = (Vec::new(), Vec::new());
    let stream = StreamOptions {
        framing,
        compression: Compression::Auto,
        limits: *limits,
    };
    for file in sample_files(path)? {
        let name = file.display().to_string();
        let f = std::fs::File::open(&file).map_err(|e| Error::Io {
            input: name.clone(),
            source: e,
        })?;
        summary.files += 1;
        for_each_frame(&name, f, &stream, |frame| {
            let at = format!("{name}#{}", frame.index);
            a.clear();
            b.clear();
            let ra = old_session.transcode(frame.data, &mut a);
            let rb = new_session.transcode(frame.data, &mut b);
            match (ra, rb) {
                (Ok(()), Ok(())) => {
                    if a == b {
                        summary.identical += 1;
                        return Ok(());
                    }
                    let (va, vb) = match (
                        serde_json::from_slice::<Value>(&a),
                        serde_json::from_slice::<Value>(&b),
                    ) {
                        (Ok(va), Ok(vb)) => (va, vb),
                        // The transcoder writes valid JSON; byte inequality is then enough.
                        _ => (Value::Null, Value::Bool(true)),
                    };
                    match first_difference(&va, &vb, "$".to_owned()) {
                        None => summary.identical += 1,
                        Some((json_path, what)) => {
                            summary.different += 1;
                            findings.push(Finding::bare(
                                Rule::SampleJsonDiffers,
                                &name,
                                at,
                                format!("first difference at {json_path}: {what}"),
                            ));
                        }
                    }
                }
                (Ok(()), Err(e)) => {
                    summary.failed += 1;
                    findings.push(Finding::bare(
                        Rule::SampleDecodeFails,
                        &name,
                        at,
                        format!("decodes under OLD, fails under NEW: {e}"),
                    ));
                }
                (Err(e), Ok(())) => {
                    summary.failed += 1;
                    findings.push(Finding::bare(
                        Rule::SampleDecodeFails,
                        &name,
                        at,
                        format!("fails under OLD ({e}), decodes under NEW"),
                    ));
                }
                // A bad sample, not a schema difference: counted, not a finding.
                (Err(_), Err(_)) => summary.failed += 1,
            }
            Ok(())
        })?;
    }
    Ok((summary, findings))
}

fn key_path(parent: &str, key: &str) -> String {
    let plain = key
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if plain {
        format!("{parent}.{key}")
    } else {
        format!("{parent}[{}]", Value::String(key.to_owned()))
    }
}

/// A value shortened for a one-line report.
fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 60 {
        format!("{}...", s.chars().take(57).collect::<String>())
    } else {
        s
    }
}

/// The path of the first difference between OLD's `a` and NEW's `b` (object keys in OLD's
/// order, then keys only NEW has), with what differs there.
pub fn first_difference(a: &Value, b: &Value, path: String) -> Option<(String, String)> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, va) in x {
                let p = key_path(&path, k);
                match y.get(k) {
                    None => return Some((p, format!("OLD has {}, NEW has nothing", short(va)))),
                    Some(vb) => {
                        if let Some(d) = first_difference(va, vb, p) {
                            return Some(d);
                        }
                    }
                }
            }
            y.iter().find(|(k, _)| !x.contains_key(*k)).map(|(k, vb)| {
                (
                    key_path(&path, k),
                    format!("OLD has nothing, NEW has {}", short(vb)),
                )
            })
        }
        (Value::Array(x), Value::Array(y)) => {
            for (i, (va, vb)) in x.iter().zip(y).enumerate() {
                if let Some(d) = first_difference(va, vb, format!("{path}[{i}]")) {
                    return Some(d);
                }
            }
            (x.len() != y.len()).then(|| {
                (
                    path,
                    format!("OLD has {} element(s), NEW has {}", x.len(), y.len()),
                )
            })
        }
        _ if a == b => None,
        _ => Some((path, format!("OLD {}, NEW {}", short(a), short(b)))),
    }
}
