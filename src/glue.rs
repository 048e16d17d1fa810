//! Glue tables kept in step with the registry: after a publish, one table per routed type,
//! created or updated through the Glue API so that a new field becomes a new column with no
//! redeploy. The table itself comes from [`crate::catalog`] (the same columns `schema ddl`
//! prints); this file is the only one that speaks Glue.

use aws_sdk_glue::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_glue::types::{
    Column as GlueColumn, DatabaseInput, SerDeInfo, StorageDescriptor, TableInput,
};
use aws_sdk_glue::Client;

use crate::catalog::{describe, CatalogError, Table, TableSpec};
use crate::output::FormatName;
use crate::registry::{Registry, Route};

/// Where the routes' objects land, and the table defaults.
#[derive(Debug, Clone)]
pub struct GlueTarget {
    /// The Glue database (created if missing).
    pub database: String,
    /// The service's landing, `s3://bucket/prefix/`.
    pub landing: String,
    /// The source bucket whose objects the routes describe (the landing key's first segment).
    pub source_bucket: String,
    /// The landed format where a route pins none.
    pub format: FormatName,
}

/// What publishing did to one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TableChange {
    /// The table did not exist.
    Created(String),
    /// Columns, location or properties changed.
    Updated(String),
    /// Already as the registry says.
    Unchanged(String),
}

/// A table that could not be brought in step.
#[derive(Debug, thiserror::Error)]
pub enum GlueError {
    /// The route's type has no table layout.
    #[error("route {prefix:?}: {source}")]
    Catalog {
        /// The route.
        prefix: String,
        /// Why.
        source: CatalogError,
    },
    /// A Glue call failed.
    #[error("Glue {call} of {table}: {message}")]
    Call {
        /// Which call.
        call: &'static str,
        /// The table (or database).
        table: String,
        /// The SDK's error, with its context.
        message: String,
    },
}

/// The client, from the standard AWS configuration.
pub async fn client() -> Client {
    Client::new(&crate::aws::sdk_config().await)
}

/// The table name a route gets unless it sets `"table"`: its prefix in snake case
/// (`events/pageviews/` -> `events_pageviews`).
pub fn table_name(route: &Route) -> String {
    if let Some(t) = &route.table {
        return t.clone();
    }
    let mut name = String::new();
    for c in route.prefix.chars() {
        if c.is_ascii_alphanumeric() {
            name.push(c.to_ascii_lowercase());
        } else if !name.ends_with('_') {
            name.push('_');
        }
    }
    let name = name.trim_matches('_').to_owned();
    if name.is_empty() {
        "protolake".into()
    } else {
        name
    }
}

/// The table for one route.
pub fn route_table(
    registry: &Registry,
    route: &Route,
    target: &GlueTarget,
) -> Result<Table, GlueError> {
    let catalog = |source| GlueError::Catalog {
        prefix: route.prefix.clone(),
        source,
    };
    let t = &registry.transcoder;
    let id = t
        .message(&route.type_name)
        .ok_or_else(|| catalog(CatalogError::UnknownType(route.type_name.clone())))?;
    let location = format!(
        "{}/{}/{}",
        target.landing.trim_end_matches('/'),
        target.source_bucket,
        route.prefix
    );
    let location = format!("{}/", location.trim_end_matches('/'));
    describe(
        t,
        id,
        TableSpec {
            table: table_name(route),
            database: Some(target.database.clone()),
            location,
            format: route.format.unwrap_or(target.format),
            partitions: route.partitions.clone(),
            projection: !route.partitions.is_empty(),
        },
    )
    .map_err(catalog)
}

fn call_error<E: std::error::Error + 'static>(
    call: &'static str,
    table: &str,
    e: aws_sdk_glue::error::SdkError<E>,
) -> GlueError {
    GlueError::Call {
        call,
        table: table.to_owned(),
        message: DisplayErrorContext(&e).to_string(),
    }
}

/// Creates or updates one table per route (routes of one table name share it: the first
/// wins). Stops at the first failure; what was done before it stays done, and a rerun
/// converges (each step is idempotent).
pub async fn sync(
    client: &Client,
    registry: &Registry,
    target: &GlueTarget,
) -> Result<Vec<TableChange>, GlueError> {
    let mut tables: Vec<Table> = Vec::new();
    for route in &registry.routes.routes {
        let table = route_table(registry, route, target)?;
        if !tables.iter().any(|t| t.spec.table == table.spec.table) {
            tables.push(table);
        }
    }
    ensure_database(client, &target.database).await?;
    let mut changes = Vec::new();
    for table in &tables {
        changes.push(put_table(client, &target.database, table).await?);
    }
    Ok(changes)
}

async fn ensure_database(client: &Client, database: &str) -> Result<(), GlueError> {
    match client.get_database().name(database).send().await {
        Ok(_) => Ok(()),
        Err(e) if e.code() == Some("EntityNotFoundException") => {
            let input = DatabaseInput::builder()
                .name(database)
                .build()
                .map_err(|e| GlueError::Call {
                    call: "CreateDatabase",
                    table: database.to_owned(),
                    message: e.to_string(),
                })?;
            match client.create_database().database_input(input).send().await {
                Ok(_) => Ok(()),
                // Another publish created it meanwhile.
                Err(e) if e.code() == Some("AlreadyExistsException") => Ok(()),
                Err(e) => Err(call_error("CreateDatabase", database, e)),
            }
        }
        Err(e) => Err(call_error("GetDatabase", database, e)),
    }
}

/// The parts of a table publishing decides, in a form both sides can be compared in.
#[derive(Debug, PartialEq, Eq)]
struct Shape {
    columns: Vec<(String, String)>,
    partitions: Vec<(String, String)>,
    location: String,
    input: String,
    output: String,
    serde: String,
    serde_parameters: Vec<(String, String)>,
    parameters: Vec<(String, String)>,
}

fn sorted(map: Option<&std::collections::HashMap<String, String>>) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = map
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    v.sort();
    v
}

fn columns(cols: &[GlueColumn]) -> Vec<(String, String)> {
    cols.iter()
        .map(|c| {
            (
                c.name().to_owned(),
                c.r#type().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// The shape of a table as Glue holds it or as it is sent (two SDK types, the same parts).
fn shape(
    sd: Option<&StorageDescriptor>,
    partitions: &[GlueColumn],
    parameters: Option<&std::collections::HashMap<String, String>>,
) -> Shape {
    let serde = sd.and_then(|s| s.serde_info());
    Shape {
        columns: sd.map(|s| columns(s.columns())).unwrap_or_default(),
        partitions: columns(partitions),
        location: sd.and_then(|s| s.location()).unwrap_or_default().to_owned(),
        input: sd
            .and_then(|s| s.input_format())
            .unwrap_or_default()
            .to_owned(),
        output: sd
            .and_then(|s| s.output_format())
            .unwrap_or_default()
            .to_owned(),
        serde: serde
            .and_then(|s| s.serialization_library())
            .unwrap_or_default()
            .to_owned(),
        serde_parameters: sorted(serde.and_then(|s| s.parameters())),
        parameters: sorted(parameters),
    }
}

/// The Glue `TableInput` of a table: the same document `schema ddl --glue` prints.
pub fn table_input(table: &Table) -> Result<TableInput, GlueError> {
    let doc = table.glue_table_input();
    let build_err = |e: aws_sdk_glue::error::BuildError| GlueError::Call {
        call: "TableInput",
        table: table.spec.table.clone(),
        message: e.to_string(),
    };
    let col = |v: &serde_json::Value| {
        GlueColumn::builder()
            .name(v["Name"].as_str().unwrap_or_default())
            .r#type(v["Type"].as_str().unwrap_or_default())
            .build()
    };
    let sd = &doc["StorageDescriptor"];
    let str_map = |v: &serde_json::Value| -> std::collections::HashMap<String, String> {
        v.as_object()
            .map(|o| {
                o.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut storage = StorageDescriptor::builder()
        .location(sd["Location"].as_str().unwrap_or_default())
        .input_format(sd["InputFormat"].as_str().unwrap_or_default())
        .output_format(sd["OutputFormat"].as_str().unwrap_or_default())
        .serde_info(
            SerDeInfo::builder()
                .serialization_library(
                    sd["SerdeInfo"]["SerializationLibrary"]
                        .as_str()
                        .unwrap_or_default(),
                )
                .set_parameters(Some(str_map(&sd["SerdeInfo"]["Parameters"])))
                .build(),
        );
    for c in sd["Columns"].as_array().into_iter().flatten() {
        storage = storage.columns(col(c).map_err(build_err)?);
    }
    let mut input = TableInput::builder()
        .name(table.spec.table.clone())
        .table_type("EXTERNAL_TABLE")
        .set_parameters(Some(str_map(&doc["Parameters"])))
        .storage_descriptor(storage.build());
    for p in doc["PartitionKeys"].as_array().into_iter().flatten() {
        input = input.partition_keys(col(p).map_err(build_err)?);
    }
    input.build().map_err(build_err)
}

async fn put_table(
    client: &Client,
    database: &str,
    table: &Table,
) -> Result<TableChange, GlueError> {
    let name = table.spec.table.clone();
    let input = table_input(table)?;
    match client
        .get_table()
        .database_name(database)
        .name(&name)
        .send()
        .await
    {
        Ok(found) => {
            let wanted = shape(
                input.storage_descriptor(),
                input.partition_keys(),
                input.parameters(),
            );
            let same = found.table().is_some_and(|t| {
                shape(t.storage_descriptor(), t.partition_keys(), t.parameters()) == wanted
            });
            if same {
                return Ok(TableChange::Unchanged(name));
            }
            client
                .update_table()
                .database_name(database)
                .table_input(input)
                .send()
                .await
                .map_err(|e| call_error("UpdateTable", &name, e))?;
            Ok(TableChange::Updated(name))
        }
        Err(e) if e.code() == Some("EntityNotFoundException") => {
            client
                .create_table()
                .database_name(database)
                .table_input(input)
                .send()
                .await
                .map_err(|e| call_error("CreateTable", &name, e))?;
            Ok(TableChange::Created(name))
        }
        Err(e) => Err(call_error("GetTable", &name, e)),
    }
}
