//! The direct engine's second output: wire bytes straight into Arrow column builders, one
//! row per message, by the contract's mapping table (each column holds the value the
//! canonical JSON shows, in a typed form). It walks the same plans and the same `scan` as the
//! JSON writer, so both outputs agree on every corner the reference decides (oneofs,
//! last-one-wins, merges, closed enums, wire-type mismatches, eager validation); the JSON
//! writer still prints the JSON-text columns (Struct, Value, Any, recursion).
//!
//! [`RowSchema::compile`] lays out the columns of a root type once; a [`RowBuilder`] appends
//! messages and hands out `RecordBatch`es.

use std::sync::Arc;

use arrow_array::builder::{
    BinaryBuilder, BooleanBuilder, DurationMicrosecondBuilder, Float32Builder, Float64Builder,
    Int32Builder, Int64Builder, StringBuilder, TimestampMicrosecondBuilder, UInt32Builder,
    UInt64Builder,
};
use arrow_array::{ArrayRef, ListArray, MapArray, RecordBatch, StructArray};
use arrow_buffer::{NullBufferBuilder, OffsetBuffer, ScalarBuffer};
use arrow_schema::{ArrowError, DataType, Field, FieldRef, Fields, Schema, SchemaRef, TimeUnit};

use super::plan::{FieldPlan, FieldType, Label, MessagePlan, Scalar, Wkt};
use super::wire::{err, zigzag32, zigzag64, Result};
use super::wkt::{check_duration, check_timestamp};
use super::writer::{field_name, for_each_packed, Occ, Writer};
use super::{JsonOptions, MessageId, TranscodeErrorKind, Transcoder};

/// Most leaf columns one root type may expand to (a type graph reused along many paths
/// grows multiplicatively; past this the schema is refused rather than built).
const MAX_COLUMNS: usize = 10_000;

/// Why a type has no column layout.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ColumnsError {
    /// A well-known type with a special form, or a message with no fields and no known
    /// extensions, as the root of a row.
    #[error("{0} has no columns (a well-known type, or a message with no fields and no known extensions): Parquet needs a message with fields as the row type")]
    NoStructForm(String),
    /// Two columns of one struct share a name.
    #[error("{message}: columns {first:?} and {second:?} have the same name {name:?}")]
    DuplicateName {
        /// The struct's message type.
        message: String,
        /// The shared column name.
        name: String,
        /// The first field or extension.
        first: String,
        /// The second.
        second: String,
    },
    /// The layout would exceed [`MAX_COLUMNS`] leaf columns.
    #[error("{0} expands to more than {MAX_COLUMNS} columns")]
    TooWide(String),
}

/// How one value (an element, a map value, or a singular field) is laid out.
#[derive(Debug)]
enum Value {
    /// A typed scalar; enums by name (or number with `enum_numbers`).
    Scalar(Scalar),
    /// A message expanded into a struct of its columns.
    Struct(StructLayout),
    /// A Timestamp (message `u32`) as microseconds.
    Timestamp(u32),
    /// A Duration (message `u32`) as microseconds.
    Duration(u32),
    /// A wrapper: the wrapped scalar (field 1 of the wrapper message `u32`).
    Wrapper(u32, Scalar),
    /// Canonical JSON text of a message of this type (Struct, Value, ListValue, Any, Empty,
    /// a message with no fields, a recursive field).
    Json(u32),
    /// A FieldMask as its JSON string's content.
    FieldMask(u32),
}

/// How many values a column holds.
#[derive(Debug)]
enum Shape {
    /// One value; `nullable` for fields with presence.
    Single {
        nullable: bool,
    },
    List,
    /// A map: the entry message and its key kind; the column's value is the map value.
    Map {
        entry: u32,
        key: Scalar,
    },
}

#[derive(Debug)]
struct Column {
    /// Index into the message plan's `fields`.
    field: usize,
    shape: Shape,
    value: Value,
}

#[derive(Debug)]
struct StructLayout {
    message: u32,
    columns: Vec<Column>,
    fields: Fields,
}

/// The columns of one root message type, compiled once.
#[derive(Debug)]
pub struct RowSchema {
    root: StructLayout,
    schema: SchemaRef,
    enum_numbers: bool,
}

impl RowSchema {
    /// Lays out the columns of `id`; `enum_numbers` types enum columns as int32.
    pub fn compile(
        transcoder: &Transcoder,
        id: MessageId,
        enum_numbers: bool,
    ) -> std::result::Result<RowSchema, ColumnsError> {
        let mut c = Compiler {
            t: transcoder,
            enum_numbers,
            path: Vec::new(),
            leaves: 0,
        };
        let name = transcoder.message_name(id).to_owned();
        if !c.has_struct_form(id.0) {
            return Err(ColumnsError::NoStructForm(name));
        }
        let root = c.layout(id.0)?;
        let schema = Arc::new(Schema::new(root.fields.clone()));
        Ok(RowSchema {
            root,
            schema,
            enum_numbers,
        })
    }

    /// The Arrow schema of the rows.
    pub fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }
}

struct Compiler<'t> {
    t: &'t Transcoder,
    enum_numbers: bool,
    /// Message types from the root to the struct being laid out.
    path: Vec<u32>,
    leaves: usize,
}

impl Compiler<'_> {
    fn plan(&self, idx: u32) -> &MessagePlan {
        &self.t.plans.messages[idx as usize]
    }

    fn has_struct_form(&self, idx: u32) -> bool {
        let p = self.plan(idx);
        p.wkt.is_none() && !p.fields.is_empty()
    }

    fn layout(&mut self, idx: u32) -> std::result::Result<StructLayout, ColumnsError> {
        self.path.push(idx);
        let t = self.t;
        let plan = &t.plans.messages[idx as usize];
        // Declaration order comes from the descriptor (plans are sorted by number); then the
        // extensions, which the plan holds in number order.
        let mut order: Vec<usize> = Vec::with_capacity(plan.fields.len());
        if let Some(desc) = t.pool.get_message_by_name(&plan.full_name) {
            order.extend(
                super::plan::declared_fields(&desc)
                    .iter()
                    .filter_map(|f| plan.field_index(f.number())),
            );
        }
        order.extend(
            plan.fields
                .iter()
                .enumerate()
                .filter(|(_, f)| f.is_extension)
                .map(|(i, _)| i),
        );
        let mut columns: Vec<Column> = Vec::with_capacity(order.len());
        let mut fields: Vec<Field> = Vec::with_capacity(order.len());
        for fi in order {
            let f = &plan.fields[fi];
            let name = column_name(f);
            if let Some(prev) = fields.iter().position(|x| *x.name() == name) {
                return Err(ColumnsError::DuplicateName {
                    message: plan.full_name.to_string(),
                    name,
                    first: field_name(&plan.fields[columns[prev].field]).to_owned(),
                    second: field_name(f).to_owned(),
                });
            }
            let (column, field) = self.column(fi, f, name)?;
            columns.push(column);
            fields.push(field);
        }
        self.path.pop();
        Ok(StructLayout {
            message: idx,
            columns,
            fields: Fields::from(fields),
        })
    }

    fn column(
        &mut self,
        fi: usize,
        f: &FieldPlan,
        name: String,
    ) -> std::result::Result<(Column, Field), ColumnsError> {
        let (shape, value, data_type, nullable) = match (f.label, f.ty) {
            (Label::Map, FieldType::Message(entry)) => {
                let eplan = self.plan(entry);
                let key = eplan
                    .field_index(1)
                    .map(|i| eplan.fields[i].ty)
                    .and_then(|ty| match ty {
                        FieldType::Scalar(s) => Some(s),
                        _ => None,
                    })
                    .unwrap_or(Scalar::String {
                        validate_utf8: false,
                    });
                let value_ty = eplan.field_index(2).map(|i| eplan.fields[i].ty);
                let (value, value_type) = match value_ty {
                    Some(ty) => self.value(ty)?,
                    None => (Value::Json(entry), DataType::Utf8),
                };
                let key_type = self.scalar_type(key);
                self.leaves += 1;
                let entries = Fields::from(vec![
                    Field::new("key", key_type, false),
                    Field::new("value", value_type, false),
                ]);
                let data_type = DataType::Map(
                    Arc::new(Field::new_struct("key_value", entries, false)),
                    false,
                );
                (Shape::Map { entry, key }, value, data_type, false)
            }
            (Label::Repeated, ty) => {
                let (value, element) = self.value(ty)?;
                let data_type = DataType::List(Arc::new(Field::new("element", element, false)));
                (Shape::List, value, data_type, false)
            }
            (label, ty) => {
                let (value, data_type) = self.value(ty)?;
                let nullable = label != Label::Implicit;
                (Shape::Single { nullable }, value, data_type, nullable)
            }
        };
        Ok((
            Column {
                field: fi,
                shape,
                value,
            },
            Field::new(name, data_type, nullable),
        ))
    }

    fn value(&mut self, ty: FieldType) -> std::result::Result<(Value, DataType), ColumnsError> {
        let idx = match ty {
            FieldType::Scalar(s) => {
                self.leaf()?;
                return Ok((Value::Scalar(s), self.scalar_type(s)));
            }
            FieldType::Message(m) | FieldType::Group(m) => m,
        };
        let plan = self.plan(idx);
        let wrapped = plan.field_index(1).and_then(|i| match plan.fields[i].ty {
            FieldType::Scalar(s) => Some(s),
            _ => None,
        });
        let v = match (plan.wkt, wrapped) {
            (Some(Wkt::Timestamp), _) => (
                Value::Timestamp(idx),
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            ),
            (Some(Wkt::Duration), _) => (
                Value::Duration(idx),
                DataType::Duration(TimeUnit::Microsecond),
            ),
            (Some(Wkt::Wrapper), Some(s)) => (Value::Wrapper(idx, s), self.scalar_type(s)),
            (Some(Wkt::FieldMask), _) => (Value::FieldMask(idx), DataType::Utf8),
            (Some(_), _) => (Value::Json(idx), DataType::Utf8),
            (None, _) if !self.has_struct_form(idx) || self.path.contains(&idx) => {
                (Value::Json(idx), DataType::Utf8)
            }
            (None, _) => {
                let layout = self.layout(idx)?;
                let data_type = DataType::Struct(layout.fields.clone());
                return Ok((Value::Struct(layout), data_type));
            }
        };
        self.leaf()?;
        Ok(v)
    }

    fn leaf(&mut self) -> std::result::Result<(), ColumnsError> {
        self.leaves += 1;
        if self.leaves > MAX_COLUMNS {
            let root = self.path.first().map_or(0, |&i| i);
            return Err(ColumnsError::TooWide(self.plan(root).full_name.to_string()));
        }
        Ok(())
    }

    fn scalar_type(&self, s: Scalar) -> DataType {
        match s {
            Scalar::Double => DataType::Float64,
            Scalar::Float => DataType::Float32,
            Scalar::Int64 | Scalar::Sint64 | Scalar::Sfixed64 => DataType::Int64,
            Scalar::Uint64 | Scalar::Fixed64 => DataType::UInt64,
            Scalar::Int32 | Scalar::Sint32 | Scalar::Sfixed32 => DataType::Int32,
            Scalar::Uint32 | Scalar::Fixed32 => DataType::UInt32,
            Scalar::Bool => DataType::Boolean,
            Scalar::String { .. } => DataType::Utf8,
            Scalar::Bytes => DataType::Binary,
            Scalar::Enum(_) if self.enum_numbers => DataType::Int32,
            Scalar::Enum(_) => DataType::Utf8,
        }
    }
}

/// A field's column name: its `.proto` name; an extension's full name with `.` as `_`.
fn column_name(f: &FieldPlan) -> String {
    let name = field_name(f);
    if f.is_extension {
        name.trim_start_matches('[')
            .trim_end_matches(']')
            .replace('.', "_")
    } else {
        name.to_owned()
    }
}

/// One column's builder, shaped like its layout.
enum Col {
    Bool(BooleanBuilder),
    I32(Int32Builder),
    I64(Int64Builder),
    U32(UInt32Builder),
    U64(UInt64Builder),
    F32(Float32Builder),
    F64(Float64Builder),
    Utf8(StringBuilder),
    Binary(BinaryBuilder),
    Timestamp(TimestampMicrosecondBuilder),
    Duration(DurationMicrosecondBuilder),
    Struct(StructCols),
    List {
        field: FieldRef,
        offsets: Vec<i32>,
        child: Box<Col>,
    },
    Map {
        field: FieldRef,
        entries: Fields,
        offsets: Vec<i32>,
        keys: Box<Col>,
        values: Box<Col>,
    },
}

struct StructCols {
    fields: Fields,
    children: Vec<Col>,
    nulls: NullBufferBuilder,
}

impl StructCols {
    fn new(layout: &StructLayout) -> StructCols {
        StructCols {
            fields: layout.fields.clone(),
            children: layout
                .columns
                .iter()
                .zip(layout.fields.iter())
                .map(|(c, f)| Col::for_column(c, f.data_type()))
                .collect(),
            nulls: NullBufferBuilder::new(0),
        }
    }

    fn append_null(&mut self) {
        self.nulls.append_null();
        for c in &mut self.children {
            c.append_null();
        }
    }

    fn finish(&mut self) -> std::result::Result<Vec<ArrayRef>, ArrowError> {
        self.children.iter_mut().map(Col::finish).collect()
    }
}

impl Col {
    fn for_column(c: &Column, data_type: &DataType) -> Col {
        match (&c.shape, data_type) {
            (Shape::List, DataType::List(field)) => Col::List {
                field: field.clone(),
                offsets: vec![0],
                child: Box::new(Col::for_value(&c.value, field.data_type())),
            },
            (Shape::Map { key, .. }, DataType::Map(field, _)) => {
                let DataType::Struct(entries) = field.data_type() else {
                    unreachable!("map entries are a struct")
                };
                Col::Map {
                    field: field.clone(),
                    entries: entries.clone(),
                    offsets: vec![0],
                    keys: Box::new(Col::for_value(&Value::Scalar(*key), entries[0].data_type())),
                    values: Box::new(Col::for_value(&c.value, entries[1].data_type())),
                }
            }
            _ => Col::for_value(&c.value, data_type),
        }
    }

    fn for_value(v: &Value, data_type: &DataType) -> Col {
        match (v, data_type) {
            (Value::Struct(layout), _) => Col::Struct(StructCols::new(layout)),
            (Value::Timestamp(_), _) => {
                Col::Timestamp(TimestampMicrosecondBuilder::new().with_timezone("UTC"))
            }
            (Value::Duration(_), _) => Col::Duration(DurationMicrosecondBuilder::new()),
            (_, DataType::Boolean) => Col::Bool(BooleanBuilder::new()),
            (_, DataType::Int32) => Col::I32(Int32Builder::new()),
            (_, DataType::Int64) => Col::I64(Int64Builder::new()),
            (_, DataType::UInt32) => Col::U32(UInt32Builder::new()),
            (_, DataType::UInt64) => Col::U64(UInt64Builder::new()),
            (_, DataType::Float32) => Col::F32(Float32Builder::new()),
            (_, DataType::Float64) => Col::F64(Float64Builder::new()),
            (_, DataType::Binary) => Col::Binary(BinaryBuilder::new()),
            _ => Col::Utf8(StringBuilder::new()),
        }
    }

    /// Appends a null (for a struct: to every child too, masked by the struct's own null;
    /// for a list or map: no entries).
    fn append_null(&mut self) {
        match self {
            Col::Bool(b) => b.append_null(),
            Col::I32(b) => b.append_null(),
            Col::I64(b) => b.append_null(),
            Col::U32(b) => b.append_null(),
            Col::U64(b) => b.append_null(),
            Col::F32(b) => b.append_null(),
            Col::F64(b) => b.append_null(),
            Col::Utf8(b) => b.append_null(),
            Col::Binary(b) => b.append_null(),
            Col::Timestamp(b) => b.append_null(),
            Col::Duration(b) => b.append_null(),
            Col::Struct(s) => s.append_null(),
            Col::List { offsets, .. } | Col::Map { offsets, .. } => {
                let last = offsets.last().copied().unwrap_or(0);
                offsets.push(last);
            }
        }
    }

    fn finish(&mut self) -> std::result::Result<ArrayRef, ArrowError> {
        Ok(match self {
            Col::Bool(b) => Arc::new(b.finish()),
            Col::I32(b) => Arc::new(b.finish()),
            Col::I64(b) => Arc::new(b.finish()),
            Col::U32(b) => Arc::new(b.finish()),
            Col::U64(b) => Arc::new(b.finish()),
            Col::F32(b) => Arc::new(b.finish()),
            Col::F64(b) => Arc::new(b.finish()),
            Col::Utf8(b) => Arc::new(b.finish()),
            Col::Binary(b) => Arc::new(b.finish()),
            Col::Timestamp(b) => Arc::new(b.finish()),
            Col::Duration(b) => Arc::new(b.finish()),
            Col::Struct(s) => {
                let arrays = s.finish()?;
                let nulls = s.nulls.finish();
                Arc::new(StructArray::try_new(s.fields.clone(), arrays, nulls)?)
            }
            Col::List {
                field,
                offsets,
                child,
            } => {
                let offsets = take_offsets(offsets)?;
                Arc::new(ListArray::try_new(
                    field.clone(),
                    offsets,
                    child.finish()?,
                    None,
                )?)
            }
            Col::Map {
                field,
                entries,
                offsets,
                keys,
                values,
            } => {
                let offsets = take_offsets(offsets)?;
                let entries = StructArray::try_new(
                    entries.clone(),
                    vec![keys.finish()?, values.finish()?],
                    None,
                )?;
                Arc::new(MapArray::try_new(
                    field.clone(),
                    offsets,
                    entries,
                    None,
                    false,
                )?)
            }
        })
    }
}

fn take_offsets(offsets: &mut Vec<i32>) -> std::result::Result<OffsetBuffer<i32>, ArrowError> {
    let taken = std::mem::replace(offsets, vec![0]);
    if taken.windows(2).any(|w| w[0] > w[1]) {
        return Err(ArrowError::InvalidArgumentError(
            "list offsets decrease".into(),
        ));
    }
    Ok(OffsetBuffer::new(ScalarBuffer::from(taken)))
}

/// Rows of one type being built: append messages, take batches.
pub struct RowBuilder<'t> {
    transcoder: &'t Transcoder,
    schema: Arc<RowSchema>,
    root: StructCols,
    rows: usize,
    max_depth: u32,
    stack: Vec<Vec<Occ>>,
    /// JSON text of the JSON-text columns, reused.
    scratch: Vec<u8>,
}

impl<'t> RowBuilder<'t> {
    /// An empty builder for rows of `schema`, `transcoder`'s types.
    pub fn new(transcoder: &'t Transcoder, schema: Arc<RowSchema>, max_depth: u32) -> Self {
        RowBuilder {
            transcoder,
            root: StructCols::new(&schema.root),
            schema,
            rows: 0,
            max_depth,
            stack: Vec::new(),
            scratch: Vec::new(),
        }
    }

    /// Rows appended since the last batch.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Appends one serialized message as a row. On error the builder holds part of the row
    /// and must not be finished (the sink discards the whole output then).
    pub fn append(&mut self, bytes: &[u8]) -> Result<()> {
        let mut w = ColumnWriter {
            w: Writer {
                plans: &self.transcoder.plans,
                buf: bytes,
                // JSON-text columns are always canonical.
                opts: JsonOptions::default(),
                max_depth: self.max_depth,
                stack: std::mem::take(&mut self.stack),
            },
            enum_numbers: self.schema.enum_numbers,
            scratch: std::mem::take(&mut self.scratch),
        };
        let r = w.fields(&self.schema.root, &mut self.root, &[(0, bytes.len())], 0);
        self.stack = w.w.stack;
        self.scratch = w.scratch;
        r?;
        self.rows += 1;
        Ok(())
    }

    /// The rows appended so far as one batch; the builder starts empty again.
    pub fn finish_batch(&mut self) -> std::result::Result<RecordBatch, ArrowError> {
        let rows = std::mem::take(&mut self.rows);
        let arrays = self.root.finish()?;
        self.root.nulls = NullBufferBuilder::new(0);
        RecordBatch::try_new_with_options(
            self.schema.schema(),
            arrays,
            &arrow_array::RecordBatchOptions::new().with_row_count(Some(rows)),
        )
    }
}

struct ColumnWriter<'a> {
    w: Writer<'a>,
    enum_numbers: bool,
    scratch: Vec<u8>,
}

impl ColumnWriter<'_> {
    /// Appends the columns of one message (spread over `chunks`) to `cols`' children, not
    /// the struct's own validity.
    fn fields(
        &mut self,
        layout: &StructLayout,
        cols: &mut StructCols,
        chunks: &[(usize, usize)],
        depth: u32,
    ) -> Result<()> {
        self.w
            .depth_check(depth, chunks.first().map_or(0, |c| c.0))?;
        let plans = self.w.plans;
        let plan = &plans.messages[layout.message as usize];
        let mut occs = self.w.take_slot(depth);
        self.w.scan(plan, chunks, depth, &mut occs)?;
        for (column, col) in layout.columns.iter().zip(cols.children.iter_mut()) {
            let fi = column.field as u32;
            let lo = occs.partition_point(|o| o.field < fi);
            let hi = lo + occs[lo..].partition_point(|o| o.field == fi);
            let group = &occs[lo..hi];
            let f = &plan.fields[column.field];
            match column.shape {
                Shape::Single { nullable } => match (&column.value, group.last()) {
                    (Value::Scalar(s), Some(o)) => {
                        self.scalar(*s, o.num, o.range(), col, plan, f)?
                    }
                    (Value::Scalar(s), None) if !nullable => self.default_scalar(*s, col)?,
                    (_, None) if nullable => col.append_null(),
                    (value, Some(one)) if group.len() == 1 => {
                        self.message(value, &[one.range()], col, depth + 1)?
                    }
                    (value, _) => {
                        // Several occurrences of a singular message merge (rare).
                        let ranges: Vec<(usize, usize)> = group.iter().map(Occ::range).collect();
                        self.message(value, &ranges, col, depth + 1)?;
                    }
                },
                Shape::List => {
                    let Col::List { offsets, child, .. } = col else {
                        return Err(mismatch(f));
                    };
                    let n = self.elements(&column.value, group, child, plan, f, depth)?;
                    let last = offsets.last().copied().unwrap_or(0);
                    offsets.push(next_offset(last, n, f)?);
                }
                Shape::Map { entry, key } => {
                    let Col::Map {
                        offsets,
                        keys,
                        values,
                        ..
                    } = col
                    else {
                        return Err(mismatch(f));
                    };
                    let n = self.map(entry, key, &column.value, group, keys, values, depth)?;
                    let last = offsets.last().copied().unwrap_or(0);
                    offsets.push(next_offset(last, n, f)?);
                }
            }
        }
        cols.nulls.append_non_null();
        self.w.put_slot(depth, occs);
        Ok(())
    }

    /// Appends one message-typed value (the occurrences' `ranges` merged; none: the empty
    /// message).
    fn message(
        &mut self,
        value: &Value,
        ranges: &[(usize, usize)],
        col: &mut Col,
        depth: u32,
    ) -> Result<()> {
        let at = ranges.first().map_or(0, |r| r.0);
        match (value, col) {
            (Value::Struct(layout), Col::Struct(cols)) => self.fields(layout, cols, ranges, depth),
            (Value::Json(idx), Col::Utf8(b)) => {
                let mut text = std::mem::take(&mut self.scratch);
                text.clear();
                let r = self.w.write_message(*idx, ranges, depth, &mut text);
                if r.is_ok() {
                    // The JSON writer only writes UTF-8.
                    b.append_value(String::from_utf8_lossy(&text));
                }
                self.scratch = text;
                r
            }
            (
                Value::Timestamp(idx)
                | Value::Duration(idx)
                | Value::Wrapper(idx, _)
                | Value::FieldMask(idx),
                col,
            ) => {
                self.w.depth_check(depth, at)?;
                let plans = self.w.plans;
                let plan = &plans.messages[*idx as usize];
                let mut occs = self.w.take_slot(depth);
                self.w.scan(plan, ranges, depth, &mut occs)?;
                let last = |number: u32| -> Option<Occ> {
                    let fi = plan.field_index(number)?;
                    occs.iter().rev().find(|o| o.field as usize == fi).copied()
                };
                let r = match (value, col) {
                    (Value::Timestamp(_), Col::Timestamp(b)) => {
                        let seconds = last(1).map_or(0, |o| o.num as i64);
                        let nanos = last(2).map_or(0, |o| o.num as i32);
                        check_timestamp(seconds, nanos, at).map(|()| {
                            // nanos >= 0: integer division floors, toward the past.
                            b.append_value(seconds * 1_000_000 + i64::from(nanos / 1_000))
                        })
                    }
                    (Value::Duration(_), Col::Duration(b)) => {
                        let seconds = last(1).map_or(0, |o| o.num as i64);
                        let nanos = last(2).map_or(0, |o| o.num as i32);
                        check_duration(seconds, nanos, at).map(|()| {
                            // nanos has the seconds' sign: truncates toward zero.
                            b.append_value(seconds * 1_000_000 + i64::from(nanos / 1_000))
                        })
                    }
                    (Value::Wrapper(_, s), col) => {
                        let f = plan.field_index(1).map(|i| &plan.fields[i]);
                        match (last(1), f) {
                            (Some(o), Some(f)) => self.scalar(*s, o.num, o.range(), col, plan, f),
                            _ => self.default_scalar(*s, col),
                        }
                    }
                    (Value::FieldMask(_), Col::Utf8(b)) => self
                        .w
                        .field_mask_text(plan, &occs)
                        .map(|text| b.append_value(text)),
                    _ => Err(internal(&plan.full_name)),
                };
                self.w.put_slot(depth, occs);
                r
            }
            _ => Err(internal("message value")),
        }
    }

    /// Appends the elements of a repeated field; returns how many.
    fn elements(
        &mut self,
        value: &Value,
        group: &[Occ],
        child: &mut Col,
        plan: &MessagePlan,
        f: &FieldPlan,
        depth: u32,
    ) -> Result<usize> {
        let mut n = 0;
        for o in group {
            match value {
                Value::Scalar(s) if o.wire == 2 && s.packable() => {
                    let (buf, plans) = (self.w.buf, self.w.plans);
                    for_each_packed(buf, plans, *s, f, o, |num| {
                        n += 1;
                        self.scalar(*s, num, (0, 0), child, plan, f)
                    })?;
                }
                Value::Scalar(s) => {
                    self.scalar(*s, o.num, o.range(), child, plan, f)?;
                    n += 1;
                }
                value => {
                    self.message(value, &[o.range()], child, depth + 1)?;
                    n += 1;
                }
            }
        }
        Ok(n)
    }

    /// Appends a map's entries (duplicate keys: the last one wins); returns how many.
    #[allow(clippy::too_many_arguments)]
    fn map(
        &mut self,
        entry: u32,
        key: Scalar,
        value: &Value,
        group: &[Occ],
        keys: &mut Col,
        values: &mut Col,
        depth: u32,
    ) -> Result<usize> {
        let plans = self.w.plans;
        let eplan = &plans.messages[entry as usize];
        let (Some(ki), Some(vi)) = (eplan.field_index(1), eplan.field_index(2)) else {
            return Ok(0);
        };
        struct Entry {
            key: MapKey,
            key_occ: Option<Occ>,
            value: Option<Occ>,
            ranges: (usize, usize),
        }
        let mut entries: Vec<Entry> = Vec::with_capacity(group.len());
        let mut ranges: Vec<(usize, usize)> = Vec::new();
        let mut index: std::collections::HashMap<MapKey, usize> = Default::default();
        const LINEAR_MAX: usize = 16;
        let buf = self.w.buf;
        for o in group {
            self.w.depth_check(depth + 1, o.start)?;
            let mut eoccs = self.w.take_slot(depth + 1);
            let had_unknown = self.w.scan(eplan, &[o.range()], depth + 1, &mut eoccs)?;
            if had_unknown {
                // As upb: an entry with anything unknown goes to the unknown fields, whole.
                for x in &eoccs {
                    self.w.check_occurrence(eplan, x, depth + 1)?;
                }
                self.w.put_slot(depth + 1, eoccs);
                continue;
            }
            let key_occ = eoccs.iter().rev().find(|x| x.field as usize == ki).copied();
            let map_key = MapKey::of(key, key_occ.as_ref(), buf);
            let ranges_start = ranges.len();
            let mut value_occ = None;
            if matches!(value, Value::Scalar(_)) {
                value_occ = eoccs.iter().rev().find(|x| x.field as usize == vi).copied();
            } else {
                ranges.extend(
                    eoccs
                        .iter()
                        .filter(|x| x.field as usize == vi)
                        .map(Occ::range),
                );
            }
            self.w.put_slot(depth + 1, eoccs);
            let e = Entry {
                key: map_key,
                key_occ,
                value: value_occ,
                ranges: (ranges_start, ranges.len()),
            };
            let existing = if entries.len() < LINEAR_MAX {
                entries.iter().position(|x| x.key == e.key)
            } else {
                if index.is_empty() {
                    for (at, x) in entries.iter().enumerate() {
                        index.insert(x.key.clone(), at);
                    }
                }
                index.get(&e.key).copied()
            };
            match existing {
                Some(at) => {
                    // The overridden entry's message value is not kept: parse it anyway.
                    if let FieldType::Message(m) | FieldType::Group(m) = eplan.fields[vi].ty {
                        let (from, to) = entries[at].ranges;
                        for &r in &ranges[from..to] {
                            self.w.check_message(m, r, depth + 2)?;
                        }
                    }
                    entries[at] = e;
                }
                None => {
                    if !index.is_empty() {
                        index.insert(e.key.clone(), entries.len());
                    }
                    entries.push(e);
                }
            }
        }
        let kf = &eplan.fields[ki];
        let vf = &eplan.fields[vi];
        for e in &entries {
            match &e.key_occ {
                Some(o) => self.scalar(key, o.num, o.range(), keys, eplan, kf)?,
                None => self.default_scalar(key, keys)?,
            }
            match (value, &e.value) {
                (Value::Scalar(s), Some(o)) => {
                    self.scalar(*s, o.num, o.range(), values, eplan, vf)?
                }
                (Value::Scalar(s), None) => self.default_scalar(*s, values)?,
                (value, _) => {
                    let r: Vec<(usize, usize)> = ranges[e.ranges.0..e.ranges.1].to_vec();
                    self.message(value, &r, values, depth + 2)?;
                }
            }
        }
        Ok(entries.len())
    }

    /// Appends one scalar read off the wire (`num` for varint/fixed values, `range` for
    /// length-delimited ones).
    fn scalar(
        &mut self,
        s: Scalar,
        num: u64,
        range: (usize, usize),
        col: &mut Col,
        plan: &MessagePlan,
        f: &FieldPlan,
    ) -> Result<()> {
        match (s, col) {
            (Scalar::Double, Col::F64(b)) => b.append_value(f64::from_bits(num)),
            (Scalar::Float, Col::F32(b)) => b.append_value(f32::from_bits(num as u32)),
            (Scalar::Int64 | Scalar::Sfixed64, Col::I64(b)) => b.append_value(num as i64),
            (Scalar::Sint64, Col::I64(b)) => b.append_value(zigzag64(num)),
            (Scalar::Uint64 | Scalar::Fixed64, Col::U64(b)) => b.append_value(num),
            (Scalar::Int32 | Scalar::Sfixed32, Col::I32(b)) => b.append_value(num as i32),
            (Scalar::Sint32, Col::I32(b)) => b.append_value(zigzag32(num)),
            (Scalar::Uint32 | Scalar::Fixed32, Col::U32(b)) => b.append_value(num as u32),
            (Scalar::Bool, Col::Bool(b)) => b.append_value(num != 0),
            (Scalar::String { .. }, Col::Utf8(b)) => {
                let bytes = &self.w.buf[range.0..range.1];
                match std::str::from_utf8(bytes) {
                    Ok(text) => b.append_value(text),
                    Err(_) => {
                        return Err(err(
                            range.0,
                            TranscodeErrorKind::InvalidUtf8 {
                                field: format!("{}.{}", plan.full_name, field_name(f)),
                            },
                        ))
                    }
                }
            }
            (Scalar::Bytes, Col::Binary(b)) => b.append_value(&self.w.buf[range.0..range.1]),
            (Scalar::Enum(e), col) => self.enum_value(e, num as i32, col)?,
            _ => return Err(mismatch(f)),
        }
        Ok(())
    }

    fn enum_value(&mut self, e: u32, n: i32, col: &mut Col) -> Result<()> {
        let en = &self.w.plans.enums[e as usize];
        // The JSON shows `null` for any number of google.protobuf.NullValue: its one value.
        let n = if en.null_value { 0 } else { n };
        match col {
            Col::I32(b) if self.enum_numbers => b.append_value(n),
            Col::Utf8(b) => match self.w.plans.enums[e as usize].name(n) {
                // Plans hold names quoted for JSON; enum value names are identifiers.
                Some(quoted) => b.append_value(quoted.trim_matches('"')),
                // An open enum's unknown number, as its decimal string.
                None => b.append_value(n.to_string()),
            },
            _ => return Err(internal("enum column")),
        }
        Ok(())
    }

    /// Appends the default of a field without presence that is unset.
    fn default_scalar(&mut self, s: Scalar, col: &mut Col) -> Result<()> {
        match (s, col) {
            (Scalar::Double, Col::F64(b)) => b.append_value(0.0),
            (Scalar::Float, Col::F32(b)) => b.append_value(0.0),
            (_, Col::I64(b)) => b.append_value(0),
            (_, Col::U64(b)) => b.append_value(0),
            (Scalar::Enum(e), col) => self.enum_value(e, 0, col)?,
            (_, Col::I32(b)) => b.append_value(0),
            (_, Col::U32(b)) => b.append_value(0),
            (_, Col::Bool(b)) => b.append_value(false),
            (_, Col::Utf8(b)) => b.append_value(""),
            (_, Col::Binary(b)) => b.append_value(b""),
            _ => return Err(internal("default value")),
        }
        Ok(())
    }
}

/// A map key, normalized so that equal keys compare equal whatever their encoding.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum MapKey {
    Int(i128),
    Bytes(Vec<u8>),
}

impl MapKey {
    fn of(s: Scalar, o: Option<&Occ>, buf: &[u8]) -> MapKey {
        let num = o.map_or(0, |o| o.num);
        MapKey::Int(match s {
            Scalar::String { .. } | Scalar::Bytes => {
                return MapKey::Bytes(o.map_or(Vec::new(), |o| buf[o.start..o.end].to_vec()))
            }
            Scalar::Int32 | Scalar::Sfixed32 | Scalar::Enum(_) => i128::from(num as i32),
            Scalar::Sint32 => i128::from(zigzag32(num)),
            Scalar::Uint32 | Scalar::Fixed32 => i128::from(num as u32),
            Scalar::Int64 | Scalar::Sfixed64 => i128::from(num as i64),
            Scalar::Sint64 => i128::from(zigzag64(num)),
            Scalar::Bool => i128::from(num != 0),
            _ => i128::from(num),
        })
    }
}

fn next_offset(last: i32, n: usize, f: &FieldPlan) -> Result<i32> {
    i32::try_from(n)
        .ok()
        .and_then(|n| last.checked_add(n))
        .ok_or_else(|| {
            err(
                0,
                TranscodeErrorKind::Unrepresentable(format!(
                    "field {} has more elements than one Arrow batch can hold",
                    field_name(f)
                )),
            )
        })
}

fn mismatch(f: &FieldPlan) -> super::TranscodeError {
    internal(field_name(f))
}

/// A layout and a builder that disagree: a bug, reported as an error rather than a panic.
fn internal(what: &str) -> super::TranscodeError {
    err(
        0,
        TranscodeErrorKind::Unrepresentable(format!(
            "internal error: column layout mismatch at {what} (please report it)"
        )),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transcoder(proto: &str) -> Transcoder {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.proto");
        std::fs::write(&path, proto).unwrap();
        Transcoder::new(&crate::registry::load_paths(&[path]).unwrap())
    }

    fn layout(t: &Transcoder, name: &str) -> std::result::Result<RowSchema, ColumnsError> {
        RowSchema::compile(t, t.message(name).unwrap(), false)
    }

    #[test]
    fn columns_follow_declaration_order_then_extensions_by_number() {
        let t = transcoder(
            r#"syntax = "proto2"; package p;
            message M { optional int32 z = 3; optional string a = 1; extensions 100 to 200; }
            extend M { optional bool later = 150; optional bool sooner = 120; }
            message Holder { extend M { optional int64 nested = 101; } }"#,
        );
        let s = layout(&t, "p.M").unwrap().schema();
        let names: Vec<&str> = s.fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(names, ["z", "a", "p_Holder_nested", "p_sooner", "p_later"]);
        assert!(
            s.fields().iter().all(|f| f.is_nullable()),
            "proto2: presence"
        );
    }

    #[test]
    fn presence_decides_nullability_and_recursion_becomes_json_text() {
        let t = transcoder(
            r#"syntax = "proto3"; package p;
            message Node { int32 n = 1; optional int32 o = 2; Node next = 3;
                           repeated Node children = 4; map<string, Node> named = 5; }"#,
        );
        let s = layout(&t, "p.Node").unwrap().schema();
        let f = |n: &str| s.field_with_name(n).unwrap().clone();
        assert!(!f("n").is_nullable());
        assert!(f("o").is_nullable());
        assert_eq!(f("next").data_type(), &DataType::Utf8);
        assert!(f("next").is_nullable());
        let DataType::List(el) = f("children").data_type().clone() else {
            panic!("list")
        };
        assert_eq!(el.data_type(), &DataType::Utf8);
        assert!(!el.is_nullable() && !f("children").is_nullable());
        assert!(matches!(f("named").data_type(), DataType::Map(_, false)));
    }

    #[test]
    fn a_root_without_columns_and_clashing_names_are_refused_by_name() {
        let t = transcoder(
            r#"syntax = "proto2"; package p;
            import "google/protobuf/timestamp.proto";
            message Empty {}
            message Clash { optional int32 p_x = 1; extensions 10 to 20; }
            extend Clash { optional int32 x = 10; }
            message UsesTs { optional google.protobuf.Timestamp at = 1; }"#,
        );
        assert!(matches!(
            layout(&t, "google.protobuf.Timestamp"),
            Err(ColumnsError::NoStructForm(_))
        ));
        assert!(matches!(
            layout(&t, "p.Empty"),
            Err(ColumnsError::NoStructForm(_))
        ));
        let e = layout(&t, "p.Clash").unwrap_err().to_string();
        assert!(e.contains("\"p_x\"") && e.contains("[p.x]"), "{e}");
        let s = layout(&t, "p.UsesTs").unwrap().schema();
        assert_eq!(
            s.field(0).data_type(),
            &DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
        );
    }

    #[test]
    fn timestamps_floor_and_durations_truncate_to_microseconds() {
        let t = transcoder(
            r#"syntax = "proto3"; package p;
            import "google/protobuf/timestamp.proto";
            import "google/protobuf/duration.proto";
            message M { google.protobuf.Timestamp t = 1; google.protobuf.Duration d = 2; }"#,
        );
        let schema = Arc::new(layout(&t, "p.M").unwrap());
        let mut rows = RowBuilder::new(&t, schema, 100);
        // t = {seconds: -1, nanos: 999_999_999}, d = {seconds: -1, nanos: -999_999_999}.
        let mut msg = vec![0x0a, 0];
        let mut ts = vec![0x08];
        prost::encoding::encode_varint(-1i64 as u64, &mut ts);
        ts.push(0x10);
        prost::encoding::encode_varint(999_999_999, &mut ts);
        msg[1] = ts.len() as u8;
        msg.extend_from_slice(&ts);
        let mut d = vec![0x08];
        prost::encoding::encode_varint(-1i64 as u64, &mut d);
        d.push(0x10);
        prost::encoding::encode_varint(-999_999_999i64 as u64, &mut d);
        msg.push(0x12);
        msg.push(d.len() as u8);
        msg.extend_from_slice(&d);
        rows.append(&msg).unwrap();
        let batch = rows.finish_batch().unwrap();
        let t = batch
            .column(0)
            .as_any()
            .downcast_ref::<arrow_array::TimestampMicrosecondArray>()
            .unwrap();
        assert_eq!(t.value(0), -1, "-0.000000001 s floors to -1 us");
        let d = batch
            .column(1)
            .as_any()
            .downcast_ref::<arrow_array::DurationMicrosecondArray>()
            .unwrap();
        assert_eq!(d.value(0), -1_999_999, "truncated toward zero");
    }
}
