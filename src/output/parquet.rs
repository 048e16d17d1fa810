//! Parquet: one row per message, columns typed by the descriptor (the contract's mapping
//! table, built straight from the wire by `transcode::RowBuilder`), written by parquet's
//! `ArrowWriter` in row groups bounded by rows and bytes, so memory stays bounded for any
//! object size. Nothing in the file depends on when or where it was written: the same
//! bytes in give the same file out.

use std::io::{self, Write};
use std::str::FromStr;
use std::sync::Arc;

use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;

use super::{Format, Sink, SinkError, SinkOptions};
use crate::transcode::{MessageId, RowBuilder, RowSchema, Transcoder};

/// The footer key naming the message type (full name, no leading dot).
pub const MESSAGE_TYPE_KEY: &str = "protolake.message_type";

/// Rows built in memory before they are handed to the writer as one batch.
const BATCH_ROWS: usize = 8192;
/// ... or this many protobuf bytes, whichever comes first.
const BATCH_BYTES: usize = 8 << 20;

/// Page compression.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ParquetCompression {
    /// zstd (level 1): small files, fast to write and read.
    #[default]
    Zstd,
    /// Snappy: what older readers expect.
    Snappy,
    /// Uncompressed pages.
    None,
}

impl FromStr for ParquetCompression {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "zstd" => Ok(ParquetCompression::Zstd),
            "snappy" => Ok(ParquetCompression::Snappy),
            "none" => Ok(ParquetCompression::None),
            o => Err(format!(
                "unknown Parquet compression {o:?} (expected zstd, snappy or none)"
            )),
        }
    }
}

/// The Parquet format and its settings.
#[derive(Debug, Clone, Copy)]
pub struct Parquet {
    /// Page compression.
    pub compression: ParquetCompression,
    /// Most rows in one row group.
    pub row_group_rows: usize,
    /// Most (estimated, encoded) bytes in one row group.
    pub row_group_bytes: usize,
}

impl Parquet {
    /// Default row group bound by rows.
    pub const DEFAULT_ROW_GROUP_ROWS: usize = 1 << 20;
    /// Default row group bound by bytes: what one row group holds in memory while written.
    pub const DEFAULT_ROW_GROUP_BYTES: usize = 64 << 20;
}

impl Default for Parquet {
    fn default() -> Self {
        Parquet {
            compression: ParquetCompression::default(),
            row_group_rows: Self::DEFAULT_ROW_GROUP_ROWS,
            row_group_bytes: Self::DEFAULT_ROW_GROUP_BYTES,
        }
    }
}

impl Format for Parquet {
    fn suffix(&self) -> &'static str {
        ".parquet"
    }

    fn content_type(&self) -> &'static str {
        "application/vnd.apache.parquet"
    }

    fn sink<'a>(
        &self,
        transcoder: &'a Transcoder,
        message: MessageId,
        options: SinkOptions,
        out: Box<dyn Write + Send + 'a>,
    ) -> Result<Box<dyn Sink + 'a>, SinkError> {
        let schema = RowSchema::compile(transcoder, message, options.json.enum_numbers)
            .map_err(|e| SinkError::Unsupported(e.to_string()))?;
        let compression = match self.compression {
            ParquetCompression::Zstd => Compression::ZSTD(ZstdLevel::default()),
            ParquetCompression::Snappy => Compression::SNAPPY,
            ParquetCompression::None => Compression::UNCOMPRESSED,
        };
        let props = WriterProperties::builder()
            .set_compression(compression)
            .set_max_row_group_row_count(Some(self.row_group_rows.max(1)))
            .set_max_row_group_bytes(Some(self.row_group_bytes.max(1)))
            .set_key_value_metadata(Some(vec![KeyValue::new(
                MESSAGE_TYPE_KEY.to_owned(),
                transcoder.message_name(message).to_owned(),
            )]))
            .build();
        let writer = ArrowWriter::try_new(out, schema.schema(), Some(props))
            .map_err(|e| SinkError::Unsupported(e.to_string()))?;
        Ok(Box::new(ParquetSink {
            rows: RowBuilder::new(transcoder, Arc::new(schema), options.max_depth),
            writer,
            batch_bytes: 0,
            max_output: options.max_output,
        }))
    }
}

struct ParquetSink<'a> {
    rows: RowBuilder<'a>,
    writer: ArrowWriter<Box<dyn Write + Send + 'a>>,
    /// Protobuf bytes of the rows not yet handed to the writer.
    batch_bytes: usize,
    max_output: u64,
}

impl ParquetSink<'_> {
    /// Hands the rows built so far to the writer; `check` enforces the output limit (the
    /// last batch, at `finish`, is not checked: the limit holds to within one batch).
    fn write_batch(&mut self, check: bool) -> Result<(), SinkError> {
        if self.rows.rows() == 0 {
            return Ok(());
        }
        let batch = self.rows.finish_batch().map_err(io::Error::other)?;
        self.batch_bytes = 0;
        self.writer.write(&batch).map_err(io::Error::other)?;
        if check && self.bytes_out() > self.max_output {
            return Err(SinkError::TooLarge {
                max: self.max_output,
            });
        }
        Ok(())
    }
}

impl Sink for ParquetSink<'_> {
    fn message(&mut self, bytes: &[u8]) -> Result<(), SinkError> {
        self.rows.append(bytes).map_err(SinkError::Transcode)?;
        self.batch_bytes += bytes.len();
        if self.rows.rows() >= BATCH_ROWS || self.batch_bytes >= BATCH_BYTES {
            self.write_batch(true)?;
        }
        Ok(())
    }

    /// The file's bytes so far: written, plus the row group being encoded.
    fn bytes_out(&self) -> u64 {
        (self.writer.bytes_written() + self.writer.in_progress_size()) as u64
    }

    fn finish(mut self: Box<Self>) -> io::Result<u64> {
        self.write_batch(false).map_err(|e| match e {
            SinkError::Io(e) => e,
            e => io::Error::other(e.to_string()),
        })?;
        // Writes the footer and flushes; the writer holds nothing more after this.
        self.writer.finish().map_err(io::Error::other)?;
        self.writer.inner_mut().flush()?;
        Ok(self.writer.bytes_written() as u64)
    }
}
