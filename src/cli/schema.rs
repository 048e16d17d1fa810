//! `protolake schema compile`, `publish` and `ddl`.

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
    /// Print the Athena CREATE EXTERNAL TABLE (or, with --glue, the Glue TableInput) for data
    /// of one type landed at a location, with the columns the landed format has.
    Ddl(DdlArgs),
}

#[derive(Debug, Args)]
pub(crate) struct DdlArgs {
    /// FileDescriptorSet (.binpb/.pb/.desc), .proto file, or a directory of them. Repeatable.
    #[arg(
        long = "descriptors",
        short = 'd',
        value_name = "PATH",
        required = true
    )]
    descriptors: Vec<PathBuf>,
    /// Fully qualified message type, with or without a leading dot.
    #[arg(long = "type", short = 't', value_name = "FULL.MESSAGE.NAME")]
    type_name: String,
    /// The landed format the table reads.
    #[arg(long, value_name = "parquet|ndjson", default_value = "parquet")]
    format: crate::output::FormatName,
    /// Where the landed data lives: s3://bucket/prefix/.
    #[arg(long, value_name = "s3://bucket/prefix/")]
    location: String,
    /// Table name (default: the message's name in snake_case).
    #[arg(long, value_name = "NAME")]
    table: Option<String>,
    /// Database to create the table in.
    #[arg(long, value_name = "DB")]
    database: Option<String>,
    /// A `NAME=value/` segment of the landing keys, as a string partition column (repeatable,
    /// outermost first).
    #[arg(long = "partition", value_name = "NAME")]
    partitions: Vec<String>,
    /// Partition projection (injected values), so partitions need no MSCK REPAIR or crawler.
    #[arg(long)]
    projection: bool,
    /// Print the Glue TableInput JSON instead of DDL.
    #[arg(long)]
    glue: bool,
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
    /// After the publish, create or update one Glue table per route in this database.
    #[arg(long, value_name = "DB", requires_all = ["landing", "source_bucket"])]
    glue_database: Option<String>,
    /// The service's landing (s3://bucket/prefix/): where the tables' data lives.
    #[arg(long, value_name = "s3://bucket/prefix/", env = "PROTOLAKE_LANDING")]
    landing: Option<String>,
    /// The source bucket the routes describe (the landing keys' first segment).
    #[arg(long, value_name = "BUCKET")]
    source_bucket: Option<String>,
    /// The landed format where a route pins none (the service's PROTOLAKE_OUTPUT_FORMAT).
    #[arg(
        long,
        value_name = "ndjson|parquet",
        default_value = "ndjson",
        env = "PROTOLAKE_OUTPUT_FORMAT"
    )]
    format: crate::output::FormatName,
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
        SchemaCommand::Ddl(a) => ddl(a),
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
    if let (Some(database), Some(landing), Some(source_bucket)) =
        (a.glue_database, a.landing, a.source_bucket)
    {
        return sync_glue(
            registry,
            crate::glue::GlueTarget {
                database,
                landing,
                source_bucket,
                format: a.format,
            },
        )
        .await;
    }
    ExitCode::SUCCESS
}

/// Brings the Glue tables in step with the registry as it now is.
async fn sync_glue(registry: crate::store::Place, target: crate::glue::GlueTarget) -> ExitCode {
    use crate::glue::{sync, TableChange};
    let cache = crate::registry::RegistryCache::new(
        registry,
        std::time::Duration::from_secs(0),
        std::time::Duration::from_secs(0),
    );
    let loaded = match cache.registry().await {
        Ok(r) => r,
        Err(e) => {
            report(&format_args!(
                "published, but the registry does not load back: {e}"
            ));
            return ExitCode::FAILURE;
        }
    };
    let client = crate::glue::client().await;
    match sync(&client, &loaded, &target).await {
        Ok(changes) => {
            for c in changes {
                let (what, name) = match &c {
                    TableChange::Created(n) => ("created", n),
                    TableChange::Updated(n) => ("updated", n),
                    TableChange::Unchanged(n) => ("unchanged", n),
                };
                eprintln!("protolake: glue table {}.{name} {what}", target.database);
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            report(&format_args!(
                "published, but the Glue tables are not in step: {e} (run the publish again: it converges)"
            ));
            ExitCode::FAILURE
        }
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

fn ddl(a: DdlArgs) -> ExitCode {
    use crate::catalog::{describe, TableSpec};
    let pool = match crate::registry::load_paths(&a.descriptors) {
        Ok(p) => p,
        Err(e) => {
            report(&e);
            return ExitCode::FAILURE;
        }
    };
    let transcoder = crate::transcode::Transcoder::new(&pool);
    let Some(id) = transcoder.message(&a.type_name) else {
        report(&super::decode::unknown_type(&a.type_name, &pool));
        return ExitCode::from(2);
    };
    if !a.location.starts_with("s3://") {
        report(&format_args!(
            "--location {:?}: expected s3://bucket/prefix/",
            a.location
        ));
        return ExitCode::from(2);
    }
    let short = transcoder
        .message_name(id)
        .rsplit('.')
        .next()
        .unwrap_or("t");
    let spec = TableSpec {
        table: a.table.unwrap_or_else(|| snake_case(short)),
        database: a.database,
        location: format!("{}/", a.location.trim_end_matches('/')),
        format: a.format,
        partitions: a.partitions,
        projection: a.projection,
    };
    match describe(&transcoder, id, spec) {
        Ok(table) if a.glue => {
            println!(
                "{}",
                serde_json::to_string_pretty(&table.glue_table_input()).unwrap_or_default()
            );
            ExitCode::SUCCESS
        }
        Ok(table) => {
            print!("{}", table.athena_ddl());
            ExitCode::SUCCESS
        }
        Err(e) => {
            report(&e);
            ExitCode::from(2)
        }
    }
}

/// `PageView` -> `page_view`.
fn snake_case(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else if c.is_ascii_alphanumeric() {
            out.push(c);
        } else {
            out.push('_');
        }
    }
    out
}
