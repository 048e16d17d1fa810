//! `protolake schema compile`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use prost::Message as _;

use super::report;
use crate::registry::compile_protos;

#[derive(Debug, Subcommand)]
pub(crate) enum SchemaCommand {
    /// Compile .proto files (imports included) into one FileDescriptorSet, byte-for-byte
    /// deterministic. Errors name file:line:column.
    Compile(CompileArgs),
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
    }
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
