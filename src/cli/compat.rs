//! `protolake compat`: the migration report between two schema versions.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use prost_reflect::DescriptorPool;

use super::decode::unknown_type;
use super::report;
use crate::compat::samples::{check_samples, SampleSummary, Side};
use crate::compat::{check, default_types, fails, Finding, Level, Selection};
use crate::framing::Framing;
use crate::limits::Limits;
use crate::registry::load_paths;
use crate::transcode::Transcoder;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// A report grouped by type.
    Text,
    /// `{"findings": [{"level", "rule", "path", "message"}], "samples": {...}}`.
    Json,
}

#[derive(Debug, Args)]
pub(crate) struct CompatArgs {
    /// The schema in use: descriptor set (.binpb/.pb/.desc), .proto file, or a directory of
    /// them (repeatable), as for `decode`.
    #[arg(long, value_name = "PATH", required = true)]
    old: Vec<PathBuf>,
    /// The schema meant to replace it (same forms as --old).
    #[arg(long, value_name = "PATH", required = true)]
    new: Vec<PathBuf>,
    /// Check only these OLD message types (repeatable); default: every type OLD defines.
    /// With --samples, the one type the samples hold.
    #[arg(long = "type", short = 't', value_name = "FULL.MESSAGE.NAME")]
    types: Vec<String>,
    /// A sample object, or a directory of them: each message is decoded under OLD and NEW
    /// (gzip/zstd sniffed) and the JSON compared.
    #[arg(long, value_name = "PATH")]
    samples: Option<PathBuf>,
    /// How the sample messages are delimited: single, varint or fixed32.
    #[arg(long, default_value = "single", value_name = "FRAMING")]
    framing: Framing,
    /// Report format.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
}

/// Exit status 2 (bad usage or unreadable input), with one error line.
fn usage_error(e: &dyn std::fmt::Display) -> ExitCode {
    report(e);
    ExitCode::from(2)
}

pub(crate) fn run(a: CompatArgs) -> ExitCode {
    let old = match load_paths(&a.old) {
        Ok(p) => p,
        Err(e) => return usage_error(&format_args!("--old: {e}")),
    };
    let new = match load_paths(&a.new) {
        Ok(p) => p,
        Err(e) => return usage_error(&format_args!("--new: {e}")),
    };
    let mut types = Vec::new();
    for t in &a.types {
        let name = t.strip_prefix('.').unwrap_or(t);
        match old.get_message_by_name(name) {
            Some(m) => types.push(m.full_name().to_owned()),
            None => return usage_error(&format_args!("--type: {}", unknown_type(t, &old))),
        }
    }
    let mut findings = check(
        &old,
        &new,
        &Selection {
            types: types.clone(),
        },
    );
    let mut summary = None;
    if let Some(samples) = &a.samples {
        let type_name = match sample_type(&types, &old) {
            Ok(t) => t,
            Err(e) => return usage_error(&e),
        };
        let (ot, nt) = (Transcoder::new(&old), Transcoder::new(&new));
        match (ot.message(&type_name), nt.message(&type_name)) {
            (Some(om), Some(nm)) => {
                let limits = Limits::default();
                let sides = (
                    Side {
                        transcoder: &ot,
                        message: om,
                    },
                    Side {
                        transcoder: &nt,
                        message: nm,
                    },
                );
                match check_samples(samples, a.framing, &limits, sides.0, sides.1) {
                    Ok((s, mut f)) => {
                        summary = Some(s);
                        findings.append(&mut f);
                    }
                    Err(e) => return usage_error(&format_args!("--samples: {e}")),
                }
            }
            // The static check already reports the type as removed.
            _ => {
                summary = Some(SampleSummary {
                    skipped: Some(format!("NEW has no message type {type_name}")),
                    type_name,
                    ..SampleSummary::default()
                })
            }
        }
    }
    let out = match a.format {
        Format::Json => {
            let mut v = serde_json::json!({ "findings": findings });
            if let Some(s) = &summary {
                v["samples"] = serde_json::to_value(s).unwrap_or_default();
            }
            format!("{v}\n")
        }
        Format::Text => text_report(&findings, summary.as_ref()),
    };
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout
        .write_all(out.as_bytes())
        .and_then(|_| stdout.flush())
    {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            return usage_error(&format_args!("writing output: {e}"));
        }
    }
    if fails(&findings) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// The one type samples are decoded as: `--type` if given once, else OLD's only top-level
/// message type (outside google.protobuf).
fn sample_type(types: &[String], old: &DescriptorPool) -> Result<String, String> {
    match types {
        [t] => Ok(t.clone()),
        [] => {
            let candidates: Vec<String> = default_types(old)
                .into_iter()
                .filter(|t| {
                    old.get_message_by_name(t)
                        .is_some_and(|m| m.parent_message().is_none())
                })
                .collect();
            match candidates.as_slice() {
                [t] => Ok(t.clone()),
                _ => Err(format!(
                    "--samples: which type do the samples hold? OLD defines {} top-level message types ({}): name one with --type",
                    candidates.len(),
                    candidates.join(", ")
                )),
            }
        }
        _ => Err(format!(
            "--samples: the samples hold one type, but {} --type flags were given",
            types.len()
        )),
    }
}

fn text_report(findings: &[Finding], summary: Option<&SampleSummary>) -> String {
    let mut out = String::new();
    let (statics, samples): (Vec<&Finding>, Vec<&Finding>) =
        findings.iter().partition(|f| !f.is_sample());
    let mut group: Option<&str> = None;
    for f in &statics {
        if group != Some(f.group.as_str()) {
            if group.is_some() {
                out.push('\n');
            }
            out.push_str(&f.group);
            out.push('\n');
            group = Some(&f.group);
        }
        out.push_str(&format!(
            "  {:<8} {} {}\n           {}\n",
            f.level.as_str(),
            f.rule.name(),
            f.path,
            f.message
        ));
    }
    if statics.is_empty() {
        out.push_str("no schema changes found\n");
    }
    if let Some(s) = summary.filter(|s| s.skipped.is_some()) {
        out.push_str(&format!(
            "\nsamples ({}): skipped: {}\n",
            s.type_name,
            s.skipped.as_deref().unwrap_or_default()
        ));
    } else if let Some(s) = summary {
        out.push_str(&format!(
            "\nsamples ({}, {} file(s)): {} identical, {} different, {} failed\n",
            s.type_name, s.files, s.identical, s.different, s.failed
        ));
        for f in &samples {
            out.push_str(&format!(
                "  {:<8} {} {}: {}\n",
                f.level.as_str(),
                f.rule.name(),
                f.path,
                f.message
            ));
        }
    }
    let count = |l: Level| statics.iter().filter(|f| f.level == l).count();
    let (w, j, s) = (
        count(Level::Wire),
        count(Level::Json),
        count(Level::Semantic),
    );
    if fails(findings) {
        out.push_str(&format!(
            "\nresult: NEW cannot replace OLD: {w} wire, {j} json, {s} semantic schema finding(s), {} sample message(s) affected\n",
            samples.len()
        ));
    } else {
        out.push_str(&format!(
            "\nresult: NEW can replace OLD ({s} semantic finding(s) to review)\n"
        ));
    }
    out
}
