//! NDJSON: one canonical proto3 JSON object per message, one per line, optionally gzip'd.

use std::io::{self, Write};

use super::{Format, Sink, SinkError, SinkOptions};
use crate::transcode::{MessageId, Session, Transcoder};

/// The NDJSON format.
#[derive(Debug, Clone, Copy, Default)]
pub struct Ndjson {
    /// Gzip the output (`.ndjson.gz`).
    pub gzip: bool,
}

impl Format for Ndjson {
    fn suffix(&self) -> &'static str {
        if self.gzip {
            ".ndjson.gz"
        } else {
            ".ndjson"
        }
    }

    fn content_type(&self) -> &'static str {
        if self.gzip {
            "application/gzip"
        } else {
            "application/x-ndjson"
        }
    }

    fn sink<'a>(
        &self,
        transcoder: &'a Transcoder,
        message: MessageId,
        options: SinkOptions,
        out: Box<dyn Write + Send + 'a>,
    ) -> Result<Box<dyn Sink + 'a>, SinkError> {
        let out = if self.gzip {
            Output::Gzip(Box::new(flate2::write::GzEncoder::new(
                out,
                flate2::Compression::fast(),
            )))
        } else {
            Output::Plain(out)
        };
        Ok(Box::new(NdjsonSink {
            session: transcoder.session(message, options.json, options.engine, options.max_depth),
            line: Vec::with_capacity(4096),
            out,
            bytes_out: 0,
            max_output: options.max_output,
        }))
    }
}

enum Output<'a> {
    Plain(Box<dyn Write + Send + 'a>),
    Gzip(Box<flate2::write::GzEncoder<Box<dyn Write + Send + 'a>>>),
}

struct NdjsonSink<'a> {
    session: Session<'a>,
    /// The line being built, reused across messages.
    line: Vec<u8>,
    out: Output<'a>,
    bytes_out: u64,
    max_output: u64,
}

impl Sink for NdjsonSink<'_> {
    fn message(&mut self, bytes: &[u8]) -> Result<(), SinkError> {
        self.line.clear();
        self.session
            .transcode(bytes, &mut self.line)
            .map_err(SinkError::Transcode)?;
        self.line.push(b'\n');
        let total = self.bytes_out + self.line.len() as u64;
        // Checked before writing, so the lines written are exactly those within the limit.
        if total > self.max_output {
            return Err(SinkError::TooLarge {
                max: self.max_output,
            });
        }
        self.bytes_out = total;
        match &mut self.out {
            Output::Plain(w) => w.write_all(&self.line),
            Output::Gzip(w) => w.write_all(&self.line),
        }
        .map_err(SinkError::Io)
    }

    fn bytes_out(&self) -> u64 {
        self.bytes_out
    }

    fn finish(self: Box<Self>) -> io::Result<u64> {
        match self.out {
            Output::Plain(mut w) => w.flush()?,
            Output::Gzip(w) => w.finish()?.flush()?,
        }
        Ok(self.bytes_out)
    }
}
