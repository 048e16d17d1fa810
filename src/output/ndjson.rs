//! NDJSON: one canonical proto3 JSON object per message, one per line, optionally gzip'd.

use std::io::{self, Write};

use super::{Append, Encode, Format, MakeEncoder, Sink, SinkError, SinkOptions, Split};
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
        let lines = Lines {
            transcoder,
            message,
            options,
        };
        Ok(Box::new(NdjsonSink {
            session: lines.session(),
            lines,
            line: Vec::with_capacity(4096),
            writer: LineWriter {
                out,
                bytes_out: 0,
                max_output: options.max_output,
            },
        }))
    }
}

enum Output<'a> {
    Plain(Box<dyn Write + Send + 'a>),
    Gzip(Box<flate2::write::GzEncoder<Box<dyn Write + Send + 'a>>>),
}

/// What every encoder of one sink transcodes: messages of one type, with one set of options.
struct Lines<'a> {
    transcoder: &'a Transcoder,
    message: MessageId,
    options: SinkOptions,
}

impl<'a> Lines<'a> {
    fn session(&self) -> Session<'a> {
        let o = &self.options;
        self.transcoder
            .session(self.message, o.json, o.engine, o.max_depth)
    }
}

/// One thread's encoder: a session of its own.
struct LineEncoder<'a>(Session<'a>);

impl Encode for LineEncoder<'_> {
    fn encode(&mut self, bytes: &[u8], out: &mut Vec<u8>) -> Result<(), SinkError> {
        encode_line(&mut self.0, bytes, out)
    }
}

/// A message's line: its JSON and the newline.
fn encode_line(
    session: &mut Session<'_>,
    bytes: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), SinkError> {
    session
        .transcode(bytes, out)
        .map_err(SinkError::Transcode)?;
    out.push(b'\n');
    Ok(())
}

impl MakeEncoder for Lines<'_> {
    fn encoder(&self) -> Box<dyn Encode + '_> {
        Box::new(LineEncoder(self.session()))
    }
}

/// Writes whole lines, within the output limit.
struct LineWriter<'a> {
    out: Output<'a>,
    bytes_out: u64,
    max_output: u64,
}

impl Append for LineWriter<'_> {
    fn append(&mut self, line: &[u8]) -> Result<(), SinkError> {
        let total = self.bytes_out + line.len() as u64;
        // Checked before writing, so the lines written are exactly those within the limit.
        if total > self.max_output {
            return Err(SinkError::TooLarge {
                max: self.max_output,
            });
        }
        self.bytes_out = total;
        match &mut self.out {
            Output::Plain(w) => w.write_all(line),
            Output::Gzip(w) => w.write_all(line),
        }
        .map_err(SinkError::Io)
    }
}

struct NdjsonSink<'a> {
    lines: Lines<'a>,
    /// The session of the one-at-a-time path ([`Sink::message`]).
    session: Session<'a>,
    /// The line being built, reused across messages.
    line: Vec<u8>,
    writer: LineWriter<'a>,
}

impl Sink for NdjsonSink<'_> {
    fn message(&mut self, bytes: &[u8]) -> Result<(), SinkError> {
        self.line.clear();
        encode_line(&mut self.session, bytes, &mut self.line)?;
        self.writer.append(&self.line)
    }

    fn bytes_out(&self) -> u64 {
        self.writer.bytes_out
    }

    fn finish(self: Box<Self>) -> io::Result<u64> {
        match self.writer.out {
            Output::Plain(mut w) => w.flush()?,
            Output::Gzip(w) => w.finish()?.flush()?,
        }
        Ok(self.writer.bytes_out)
    }

    fn split(&mut self) -> Option<Split<'_>> {
        Some(Split {
            encoders: &self.lines,
            writer: &mut self.writer,
        })
    }
}
