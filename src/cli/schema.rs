//! `protolake schema compile`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use prost::Message as _;

use super::{report, runtime};
use crate::registry::compile_protos;

#[derive(Debug, Subcommand)]
pub(crate) enum SchemaCommand {
    /// Compile .proto files (imports included) into one FileDescriptorSet, byte-for-byte
    /// deterministic. Errors name file:line:column.
    Compile(CompileArgs),
    /// Publish a descriptor set and/or routes.json to a registry, refusing changes that would
    /// break decoding of data already written.
    Publish(PublishArgs),
}

#[derive(Debug, Args)]
pub(crate) struct PublishArgs {
    /// The descriptor set to publish (written as <registry>/<file name>, replacing one of that name).
    #[arg(value_name = "FILE.binpb", required_unless_present = "routes")]
    set: Option<PathBuf>,
    /// A routes.json to validate against the registry and publish.
    #[arg(long, value_name = "routes.json")]
    routes: Option<PathBuf>,
    /// The registry: a directory or s3://bucket/prefix/.
    #[arg(
        long,
        value_name = "DIR|s3://bucket/prefix/",
        env = "PROTOLAKE_REGISTRY"
    )]
    registry: crate::store::Location,
    /// Publish even if message types or field numbers already in the registry would break.
    #[arg(long)]
    allow_breaking: bool,
}

#[derive(Debug, Args)]
pub(crate) struct CompileArgs {
    /// Import root (repeatable). Defaults to each input directory, or the current directory.
    #[arg(long = "include", short = 'I', value_name = "DIR")]
    includes: Vec<PathBuf>,
    /// .proto files, or directories whose .proto files are all compiled.
    #[arg(value_name = "PROTO_OR_DIR", required = true)]
    inputs: Vec<PathBuf>,
    /// Where to write the descriptor set.
    #[arg(
        short = 'o',
        long = "output",
        value_name = "OUT.binpb",
        required = true
    )]
    output: PathBuf,
}

pub(crate) fn run(c: SchemaCommand) -> ExitCode {
    match c {
        SchemaCommand::Compile(a) => compile(a),
        SchemaCommand::Publish(a) => match runtime() {
            Some(rt) => rt.block_on(publish(a)),
            None => ExitCode::FAILURE,
        },
    }
}

async fn publish(a: PublishArgs) -> ExitCode {
    use crate::publish::{publish_routes, publish_set};
    let registry = a.registry.open().await;
    let read = |p: &PathBuf| std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()));
    if let Some(set) = &a.set {
        let bytes = match read(set) {
            Ok(b) => b,
            Err(e) => {
                report(&e);
                return ExitCode::FAILURE;
            }
        };
        let name = set
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        match publish_set(&registry, &name, &bytes, a.allow_breaking).await {
            Ok(p) => {
                for c in &p.accepted_breaking {
                    eprintln!(
                        "protolake: warning: breaking change accepted: {}: {}",
                        c.path, c.message
                    );
                }
                eprintln!("protolake: published {}", p.target);
            }
            Err(e) => {
                eprintln!("protolake: error: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    if let Some(routes) = &a.routes {
        let bytes = match read(routes) {
            Ok(b) => b,
            Err(e) => {
                report(&e);
                return ExitCode::FAILURE;
            }
        };
        match publish_routes(&registry, &bytes).await {
            Ok(p) => eprintln!("protolake: published {}", p.target),
            Err(e) => {
                report(&e);
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}

fn compile(a: CompileArgs) -> ExitCode {
    let mut files = Vec::new();
    let mut includes = a.includes.clone();
    for input in &a.inputs {
        if input.is_dir() {
            let mut found: Vec<PathBuf> = walkdir::WalkDir::new(input)
                .sort_by_file_name()
                .into_iter()
                .filter_map(Result::ok)
                .filter(|e| {
                    e.file_type().is_file() && e.path().extension().is_some_and(|x| x == "proto")
                })
                .map(|e| e.path().to_owned())
                .collect();
            if found.is_empty() {
                report(&format_args!(
                    "{}: no .proto files in this directory",
                    input.display()
                ));
                return ExitCode::FAILURE;
            }
            files.append(&mut found);
            if a.includes.is_empty() {
                includes.push(input.clone());
            }
        } else {
            files.push(input.clone());
        }
    }
    if includes.is_empty() {
        includes.push(PathBuf::from("."));
    }
    match compile_protos(&files, &includes) {
        Ok(set) => {
            let bytes = set.encode_to_vec();
            if let Err(e) = std::fs::write(&a.output, &bytes) {
                report(&format_args!("{}: {e}", a.output.display()));
                return ExitCode::FAILURE;
            }
            eprintln!(
                "protolake: compiled {} file(s) into {} ({} bytes)",
                set.file.len(),
                a.output.display(),
                bytes.len()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            report(&e);
            ExitCode::FAILURE
        }
    }
}
