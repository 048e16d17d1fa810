//! The catalog: the table a query engine needs for landed data of one type. Parquet columns
//! come from the same layout the Parquet writer uses (`transcode::RowSchema`), typed in Hive
//! terms; NDJSON columns are the JSON keys, through the JSON SerDe, with the type the SerDe
//! can read from each JSON form. One description ([`Table`]) renders as Athena DDL and as
//! a Glue `TableInput`.

use arrow_schema::{DataType, Field};
use prost_reflect::{Cardinality, FieldDescriptor, Kind, MessageDescriptor};

use crate::output::FormatName;
use crate::transcode::{declared_fields, ColumnsError, MessageId, RowSchema, Transcoder};

/// Why no table could be described.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// The type has no Parquet columns.
    #[error(transparent)]
    Columns(#[from] ColumnsError),
    /// The type is not in the descriptors.
    #[error("unknown message type {0:?}")]
    UnknownType(String),
    /// A name that cannot be a table, database or partition name.
    #[error("{what} {name:?} is not a valid name (letters, digits and _ only)")]
    BadName {
        /// Which name.
        what: &'static str,
        /// The name given.
        name: String,
    },
    /// A partition column with the name of a data column.
    #[error("partition {0:?} has the name of a column of the type")]
    PartitionClash(String),
}

/// What the table is of and where its data lives.
#[derive(Debug, Clone)]
pub struct TableSpec {
    /// Table name.
    pub table: String,
    /// Database (Glue database), if the DDL should name it.
    pub database: Option<String>,
    /// The landed data's location, `s3://bucket/prefix/`.
    pub location: String,
    /// NDJSON or Parquet.
    pub format: FormatName,
    /// `NAME=value/` key segments, as string partition columns, outermost first.
    pub partitions: Vec<String>,
    /// Partition projection properties (injected values), so no partition needs adding.
    pub projection: bool,
}

/// One column: its name, Hive type, and (NDJSON) the JSON key it reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// Column name.
    pub name: String,
    /// Hive type (`bigint`, `struct<a:int>`, ...).
    pub hive_type: String,
    /// For NDJSON, the JSON key when it differs from the name.
    pub json_key: Option<String>,
}

/// A table, ready to render.
#[derive(Debug, Clone)]
pub struct Table {
    /// Name, database, location, format, partitions.
    pub spec: TableSpec,
    /// Data columns, in order.
    pub columns: Vec<Column>,
    /// The message type.
    pub message_type: String,
}

/// The table for data of type `id` as `spec` says.
pub fn describe(
    transcoder: &Transcoder,
    id: MessageId,
    spec: TableSpec,
) -> Result<Table, CatalogError> {
    for (what, name) in std::iter::once(("table", &spec.table))
        .chain(spec.database.iter().map(|d| ("database", d)))
        .chain(spec.partitions.iter().map(|p| ("partition", p)))
    {
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(CatalogError::BadName {
                what,
                name: name.clone(),
            });
        }
    }
    let message_type = transcoder.message_name(id).to_owned();
    let columns = match spec.format {
        FormatName::Parquet => {
            let schema = RowSchema::compile(transcoder, id, false)?.schema();
            schema
                .fields()
                .iter()
                .map(|f| Column {
                    name: f.name().clone(),
                    hive_type: hive_type(f.data_type()),
                    json_key: None,
                })
                .collect()
        }
        FormatName::Ndjson => {
            let desc = transcoder
                .pool()
                .get_message_by_name(&message_type)
                .ok_or_else(|| CatalogError::UnknownType(message_type.clone()))?;
            json_columns(&desc)
        }
    };
    for p in &spec.partitions {
        if columns.iter().any(|c| c.name.eq_ignore_ascii_case(p)) {
            return Err(CatalogError::PartitionClash(p.clone()));
        }
    }
    Ok(Table {
        spec,
        columns,
        message_type,
    })
}

/// The Hive type of a Parquet column (Athena's names). uint64 is `bigint`: Athena has no
/// unsigned type (values of 2^63 and more read as negative; docs/catalog.md).
fn hive_type(t: &DataType) -> String {
    match t {
        DataType::Boolean => "boolean".into(),
        DataType::Int32 => "int".into(),
        DataType::Int64 | DataType::UInt32 | DataType::UInt64 | DataType::Duration(_) => {
            "bigint".into()
        }
        DataType::Float32 => "float".into(),
        DataType::Float64 => "double".into(),
        DataType::Binary => "binary".into(),
        DataType::Timestamp(..) => "timestamp".into(),
        DataType::List(f) => format!("array<{}>", hive_type(f.data_type())),
        DataType::Map(entries, _) => match entries.data_type() {
            DataType::Struct(kv) if kv.len() == 2 => format!(
                "map<{},{}>",
                hive_type(kv[0].data_type()),
                hive_type(kv[1].data_type())
            ),
            _ => "string".into(),
        },
        DataType::Struct(fields) => struct_type(fields.iter().map(|f| f.as_ref())),
        _ => "string".into(),
    }
}

fn struct_type<'a>(fields: impl Iterator<Item = &'a Field>) -> String {
    let inner: Vec<String> = fields
        .map(|f| format!("{}:{}", f.name(), hive_type(f.data_type())))
        .collect();
    format!("struct<{}>", inner.join(","))
}

/// NDJSON columns: named as the Parquet columns are (the `.proto` names; Hive names are
/// case-insensitive), each mapped to its JSON key where the two differ; typed as the JSON
/// SerDe reads each JSON form.
fn json_columns(desc: &MessageDescriptor) -> Vec<Column> {
    let mut out = Vec::new();
    for f in declared_fields(desc) {
        // The .proto name, as the Parquet column is named; the JSON key mapped to it.
        let key = f.json_name().to_owned();
        let name = f.name().to_ascii_lowercase();
        out.push(Column {
            hive_type: json_type(&f, &mut vec![desc.full_name().to_owned()]),
            json_key: (name != key).then_some(key),
            name,
        });
    }
    let mut exts: Vec<_> = desc.extensions().collect();
    exts.sort_by_key(|e| e.number());
    for e in exts {
        let key = format!("[{}]", e.full_name());
        out.push(Column {
            name: e.full_name().replace('.', "_").to_ascii_lowercase(),
            hive_type: json_kind_type(&e.kind(), e.cardinality(), false, &mut Vec::new()),
            json_key: Some(key),
        });
    }
    out
}

fn json_type(f: &FieldDescriptor, path: &mut Vec<String>) -> String {
    if f.is_map() {
        if let Kind::Message(entry) = f.kind() {
            let v = entry.map_entry_value_field();
            // JSON object keys are strings whatever the key type.
            return format!("map<string,{}>", json_type(&v, path));
        }
    }
    json_kind_type(&f.kind(), f.cardinality(), f.is_list(), path)
}

fn json_kind_type(
    kind: &Kind,
    cardinality: Cardinality,
    list: bool,
    path: &mut Vec<String>,
) -> String {
    let single = match kind {
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => "int".to_owned(),
        // uint32 does not fit int; 64-bit integers are JSON strings, which the SerDe reads
        // as text only.
        Kind::Uint32 | Kind::Fixed32 => "bigint".to_owned(),
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 | Kind::Uint64 | Kind::Fixed64 => {
            "string".to_owned()
        }
        Kind::Float => "float".to_owned(),
        Kind::Double => "double".to_owned(),
        Kind::Bool => "boolean".to_owned(),
        Kind::String | Kind::Bytes | Kind::Enum(_) => "string".to_owned(),
        Kind::Message(m) => json_message_type(m, path),
    };
    if list || cardinality == Cardinality::Repeated {
        format!("array<{single}>")
    } else {
        single
    }
}

fn json_message_type(m: &MessageDescriptor, path: &mut Vec<String>) -> String {
    let name = m.full_name();
    match name {
        "google.protobuf.Int32Value" => return "int".into(),
        "google.protobuf.UInt32Value" => return "bigint".into(),
        "google.protobuf.FloatValue" => return "float".into(),
        "google.protobuf.DoubleValue" => return "double".into(),
        "google.protobuf.BoolValue" => return "boolean".into(),
        _ if name.starts_with("google.protobuf.") => return "string".into(),
        _ => {}
    }
    if path.iter().any(|p| p == name) || (m.fields().len() == 0 && m.extensions().len() == 0) {
        return "string".into();
    }
    path.push(name.to_owned());
    let mut parts = Vec::new();
    for c in json_columns_nested(m, path) {
        parts.push(format!("{}:{}", c.0, c.1));
    }
    path.pop();
    format!("struct<{}>", parts.join(","))
}

fn json_columns_nested(m: &MessageDescriptor, path: &mut Vec<String>) -> Vec<(String, String)> {
    declared_fields(m)
        .iter()
        .map(|f| (f.json_name().to_owned(), json_type(f, path)))
        .collect()
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

impl Table {
    fn qualified(&self) -> String {
        match &self.spec.database {
            Some(db) => format!("`{db}`.`{}`", self.spec.table),
            None => format!("`{}`", self.spec.table),
        }
    }

    fn properties(&self) -> Vec<(String, String)> {
        let mut props = vec![(
            "protolake.message_type".to_owned(),
            self.message_type.clone(),
        )];
        if self.spec.format == FormatName::Parquet {
            props.push(("parquet.compression".into(), "ZSTD".into()));
        }
        if self.spec.projection && !self.spec.partitions.is_empty() {
            props.push(("projection.enabled".into(), "true".into()));
            let mut template = self.spec.location.trim_end_matches('/').to_owned();
            for p in &self.spec.partitions {
                props.push((format!("projection.{p}.type"), "injected".into()));
                template.push_str(&format!("/{p}=${{{p}}}"));
            }
            props.push(("storage.location.template".into(), format!("{template}/")));
        }
        props
    }

    /// The Athena `CREATE EXTERNAL TABLE` statement.
    pub fn athena_ddl(&self) -> String {
        let mut s = format!(
            "CREATE EXTERNAL TABLE IF NOT EXISTS {} (\n",
            self.qualified()
        );
        let cols: Vec<String> = self
            .columns
            .iter()
            .map(|c| format!("  `{}` {}", c.name, c.hive_type))
            .collect();
        s.push_str(&cols.join(",\n"));
        s.push_str("\n)\n");
        if !self.spec.partitions.is_empty() {
            let parts: Vec<String> = self
                .spec
                .partitions
                .iter()
                .map(|p| format!("`{p}` string"))
                .collect();
            s.push_str(&format!("PARTITIONED BY ({})\n", parts.join(", ")));
        }
        match self.spec.format {
            FormatName::Parquet => s.push_str("STORED AS PARQUET\n"),
            FormatName::Ndjson => {
                s.push_str("ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe'\n");
                let mut serde_props = vec![("case.insensitive".to_owned(), "false".to_owned())];
                for c in &self.columns {
                    if let Some(k) = &c.json_key {
                        serde_props.push((format!("mapping.{}", c.name), k.clone()));
                    }
                }
                let props: Vec<String> = serde_props
                    .iter()
                    .map(|(k, v)| format!("  {} = {}", quote(k), quote(v)))
                    .collect();
                s.push_str(&format!(
                    "WITH SERDEPROPERTIES (\n{}\n)\nSTORED AS TEXTFILE\n",
                    props.join(",\n")
                ));
            }
        }
        s.push_str(&format!("LOCATION {}\n", quote(&self.spec.location)));
        let props: Vec<String> = self
            .properties()
            .iter()
            .map(|(k, v)| format!("  {} = {}", quote(k), quote(v)))
            .collect();
        s.push_str(&format!("TBLPROPERTIES (\n{}\n);\n", props.join(",\n")));
        s
    }

    /// The same table as a Glue `TableInput` (for `aws glue create-table --table-input`,
    /// an `AWS::Glue::Table`, or the Glue API).
    pub fn glue_table_input(&self) -> serde_json::Value {
        use serde_json::json;
        let columns: Vec<_> = self
            .columns
            .iter()
            .map(|c| json!({"Name": c.name, "Type": c.hive_type}))
            .collect();
        let partitions: Vec<_> = self
            .spec
            .partitions
            .iter()
            .map(|p| json!({"Name": p, "Type": "string"}))
            .collect();
        let serde = match self.spec.format {
            FormatName::Parquet => json!({
                "SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
                "Parameters": {"serialization.format": "1"}
            }),
            FormatName::Ndjson => {
                let mut params = serde_json::Map::new();
                params.insert("case.insensitive".into(), "false".into());
                for c in &self.columns {
                    if let Some(k) = &c.json_key {
                        params.insert(format!("mapping.{}", c.name), k.clone().into());
                    }
                }
                json!({"SerializationLibrary": "org.openx.data.jsonserde.JsonSerDe", "Parameters": params})
            }
        };
        let (input, output) = match self.spec.format {
            FormatName::Parquet => (
                "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
                "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
            ),
            FormatName::Ndjson => (
                "org.apache.hadoop.mapred.TextInputFormat",
                "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
            ),
        };
        let mut params = serde_json::Map::new();
        params.insert("EXTERNAL".into(), "TRUE".into());
        params.insert(
            "classification".into(),
            match self.spec.format {
                FormatName::Parquet => "parquet",
                FormatName::Ndjson => "json",
            }
            .into(),
        );
        for (k, v) in self.properties() {
            params.insert(k, v.into());
        }
        json!({
            "Name": self.spec.table,
            "TableType": "EXTERNAL_TABLE",
            "Parameters": params,
            "PartitionKeys": partitions,
            "StorageDescriptor": {
                "Columns": columns,
                "Location": self.spec.location,
                "InputFormat": input,
                "OutputFormat": output,
                "SerdeInfo": serde,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn examples() -> Transcoder {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        Transcoder::new(&crate::registry::load_paths(&[root.join("descriptors")]).unwrap())
    }

    fn spec(format: FormatName) -> TableSpec {
        TableSpec {
            table: "pageviews".into(),
            database: Some("lake".into()),
            location: "s3://acme-lake/json/acme-raw/events/pageviews/".into(),
            format,
            partitions: vec!["dt".into(), "hour".into()],
            projection: true,
        }
    }

    #[test]
    fn parquet_columns_are_the_writers_in_hive_types() {
        let t = examples();
        let id = t.message("acme.events.v2.PageView").unwrap();
        let table = describe(&t, id, spec(FormatName::Parquet)).unwrap();
        let col = |n: &str| {
            table
                .columns
                .iter()
                .find(|c| c.name == n)
                .unwrap()
                .hive_type
                .clone()
        };
        assert_eq!(table.columns[0].name, "event_id");
        assert_eq!(col("occurred_at"), "timestamp");
        assert_eq!(col("attributes"), "map<string,string>");
        assert_eq!(col("scroll_depth_pct"), "array<int>");
        assert_eq!(col("duration_ms"), "bigint");
        assert!(col("device").starts_with("struct<kind:string,user_agent:string"));
        let ddl = table.athena_ddl();
        assert!(
            ddl.contains("PARTITIONED BY (`dt` string, `hour` string)"),
            "{ddl}"
        );
        assert!(ddl.contains("'storage.location.template' = 's3://acme-lake/json/acme-raw/events/pageviews/dt=${dt}/hour=${hour}/'"), "{ddl}");
    }

    #[test]
    fn ndjson_columns_map_json_keys_and_bad_names_are_refused() {
        let t = examples();
        let id = t.message("acme.events.v2.PageView").unwrap();
        let table = describe(&t, id, spec(FormatName::Ndjson)).unwrap();
        let c = table.columns.iter().find(|c| c.name == "event_id").unwrap();
        assert_eq!(c.json_key.as_deref(), Some("eventId"));
        let ddl = table.athena_ddl();
        assert!(ddl.contains("'mapping.event_id' = 'eventId'"), "{ddl}");
        assert!(!ddl.contains("'mapping.url'"), "{ddl}");
        let mut bad = spec(FormatName::Ndjson);
        bad.table = "page-views".into();
        assert!(matches!(
            describe(&t, id, bad),
            Err(CatalogError::BadName { .. })
        ));
        let mut clash = spec(FormatName::Parquet);
        clash.partitions = vec!["url".into()];
        assert!(matches!(
            describe(&t, id, clash),
            Err(CatalogError::PartitionClash(_))
        ));
    }
}
