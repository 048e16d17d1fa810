//! Framing: how messages follow each other in a (decompressed) stream.
//!
//! The reader pulls bytes incrementally, so a length prefix or a frame that straddles read
//! boundaries (down to 1-byte reads) is put together before it is used. Lengths are checked
//! against [`Limits::max_frame`] before any memory is reserved for them.

use std::fmt;
use std::io::{self, BufRead, Read};
use std::str::FromStr;

use crate::limits::Limits;

/// How messages are delimited in a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Framing {
    /// The whole input is one message.
    #[default]
    Single,
    /// Each message is preceded by its length as a base-128 varint (`writeDelimitedTo`).
    Varint,
    /// Each message is preceded by its length as a 4-byte big-endian unsigned integer.
    Fixed32,
}

impl FromStr for Framing {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "single" => Ok(Framing::Single),
            "varint" | "delimited" => Ok(Framing::Varint),
            "fixed32" => Ok(Framing::Fixed32),
            other => Err(format!(
                "unknown framing {other:?} (expected single, varint or fixed32)"
            )),
        }
    }
}

impl fmt::Display for Framing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Framing::Single => "single",
            Framing::Varint => "varint",
            Framing::Fixed32 => "fixed32",
        })
    }
}

/// Errors of the framing stage; `offset` is the position in the decompressed stream.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// A length prefix declares more than [`Limits::max_frame`] bytes.
    #[error("frame length {length} exceeds the limit of {max} bytes (raise --max-frame if this is real)")]
    FrameTooLarge {
        /// The declared (or, for `single`, observed) length.
        length: u64,
        /// The limit in force.
        max: u64,
    },
    /// The stream ended inside a length prefix.
    #[error("stream ends inside a length prefix ({have} of {need} bytes)")]
    TruncatedLength {
        /// Bytes of the prefix that were present.
        have: usize,
        /// Bytes a complete prefix needs (at most 10 for a varint).
        need: usize,
    },
    /// A varint length prefix longer than 10 bytes.
    #[error("invalid varint length prefix (more than 10 bytes)")]
    InvalidLength,
    /// The stream ended before the declared length.
    #[error("frame declares {length} bytes but the stream ends after {available}")]
    TruncatedFrame {
        /// Declared length.
        length: u64,
        /// Bytes actually present.
        available: u64,
    },
    /// More messages than [`Limits::max_messages`].
    #[error("more than {max} messages in one object (raise --max-messages if this is real)")]
    TooManyMessages {
        /// The limit in force.
        max: u64,
    },
    /// Reading the underlying (possibly decompressing) stream failed.
    #[error("{0}")]
    Read(#[from] io::Error),
}

/// One message's bytes and where it sits in the stream.
#[derive(Debug)]
pub struct Frame<'a> {
    /// 0-based index of the message in the stream.
    pub index: u64,
    /// Offset of the message's first byte in the decompressed stream.
    pub offset: u64,
    /// The serialized message.
    pub data: &'a [u8],
}

/// Reads frames one after the other from a buffered, decompressed stream.
/// It is a lending iterator: each frame borrows the reader's reused buffer.
pub struct FrameReader<R> {
    inner: R,
    framing: Framing,
    limits: Limits,
    buf: Vec<u8>,
    /// Stream position of the next unread byte.
    position: u64,
    next_index: u64,
    done: bool,
    /// Bytes at the front of `inner`'s buffer that the last frame borrowed (a frame that
    /// fits in the buffer is not copied); consumed when the next frame is read.
    lent: usize,
}

impl<R: BufRead> FrameReader<R> {
    /// A reader of `framing` frames over `inner`.
    pub fn new(inner: R, framing: Framing, limits: Limits) -> Self {
        FrameReader {
            inner,
            framing,
            limits,
            buf: Vec::new(),
            position: 0,
            next_index: 0,
            done: false,
            lent: 0,
        }
    }

    /// Index the next frame will have (= number of frames read so far).
    pub fn next_index(&self) -> u64 {
        self.next_index
    }

    /// Bytes consumed from the decompressed stream so far.
    pub fn position(&self) -> u64 {
        self.position
    }

    /// The next frame, `Ok(None)` at the clean end of the stream. After an error the
    /// reader is finished: the error's position is [`FrameReader::position`].
    pub fn next_frame(&mut self) -> Result<Option<Frame<'_>>, FrameError> {
        if self.lent > 0 {
            self.inner.consume(self.lent);
            self.lent = 0;
        }
        if self.done {
            return Ok(None);
        }
        let result = self.advance();
        if !matches!(result, Ok(true)) {
            self.done = true;
        }
        match result {
            Ok(true) => {
                let index = self.next_index;
                self.next_index += 1;
                let data: &[u8] = if self.lent > 0 {
                    // Still in the buffer (nothing was consumed since), so no I/O here.
                    &self.inner.fill_buf()?[..self.lent]
                } else {
                    &self.buf
                };
                Ok(Some(Frame {
                    index,
                    offset: self.position - data.len() as u64,
                    data,
                }))
            }
            Ok(false) => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn advance(&mut self) -> Result<bool, FrameError> {
        if self.next_index >= self.limits.max_messages {
            // Only an error if there is actually another message.
            if self.at_eof()? {
                return Ok(false);
            }
            return Err(FrameError::TooManyMessages {
                max: self.limits.max_messages,
            });
        }
        let length = match self.framing {
            Framing::Single => {
                if self.next_index > 0 {
                    return Ok(false);
                }
                return self.read_rest().map(|()| true);
            }
            Framing::Varint => match self.read_varint_length()? {
                Some(len) => len,
                None => return Ok(false),
            },
            Framing::Fixed32 => match self.read_fixed32_length()? {
                Some(len) => u64::from(len),
                None => return Ok(false),
            },
        };
        if length > self.limits.max_frame {
            return Err(FrameError::FrameTooLarge {
                length,
                max: self.limits.max_frame,
            });
        }
        // A frame already whole in the buffer is lent, not copied.
        let buffered = match self.inner.fill_buf() {
            Ok(b) => b.len() as u64,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => 0,
            Err(e) => return Err(e.into()),
        };
        if length > 0 && buffered >= length {
            self.lent = length as usize;
            self.position += length;
            return Ok(true);
        }
        self.buf.clear();
        // Grow with the data actually present, never by the declared length up front.
        let got = (&mut self.inner).take(length).read_to_end(&mut self.buf)?;
        self.position += got as u64;
        if (got as u64) < length {
            return Err(FrameError::TruncatedFrame {
                length,
                available: got as u64,
            });
        }
        Ok(true)
    }

    fn at_eof(&mut self) -> io::Result<bool> {
        Ok(self.inner.fill_buf()?.is_empty())
    }

    fn read_rest(&mut self) -> Result<(), FrameError> {
        self.buf.clear();
        let max = self.limits.max_frame;
        let got = (&mut self.inner)
            .take(max.saturating_add(1))
            .read_to_end(&mut self.buf)?;
        self.position += got as u64;
        if got as u64 > max {
            return Err(FrameError::FrameTooLarge {
                length: got as u64,
                max,
            });
        }
        Ok(())
    }

    fn read_byte(&mut self) -> io::Result<Option<u8>> {
        loop {
            match self.inner.fill_buf() {
                Ok([]) => return Ok(None),
                Ok(b) => {
                    let byte = b[0];
                    self.inner.consume(1);
                    self.position += 1;
                    return Ok(Some(byte));
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    fn read_varint_length(&mut self) -> Result<Option<u64>, FrameError> {
        // Most lengths are one or two bytes, read straight from the buffer.
        // An error is returned as it comes, never retried: a reader need not repeat it.
        let buffered = match self.inner.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => &[],
            Err(e) => return Err(e.into()),
        };
        if let &[b0, ref rest @ ..] = buffered {
            let (value, used) = match (b0, rest.first()) {
                (0..=0x7f, _) => (u64::from(b0), 1),
                (_, Some(&b1 @ 0..=0x7f)) => (u64::from(b0 & 0x7f) | u64::from(b1) << 7, 2),
                _ => (0, 0),
            };
            if used > 0 {
                self.inner.consume(used);
                self.position += used as u64;
                return Ok(Some(value));
            }
        }
        let mut value: u64 = 0;
        for i in 0..10 {
            let Some(byte) = self.read_byte()? else {
                if i == 0 {
                    return Ok(None);
                }
                return Err(FrameError::TruncatedLength {
                    have: i,
                    need: i + 1,
                });
            };
            value |= u64::from(byte & 0x7f) << (7 * i);
            if byte & 0x80 == 0 {
                return Ok(Some(value));
            }
        }
        Err(FrameError::InvalidLength)
    }

    fn read_fixed32_length(&mut self) -> Result<Option<u32>, FrameError> {
        let mut bytes = [0u8; 4];
        for (i, slot) in bytes.iter_mut().enumerate() {
            match self.read_byte()? {
                Some(b) => *slot = b,
                None if i == 0 => return Ok(None),
                None => return Err(FrameError::TruncatedLength { have: i, need: 4 }),
            }
        }
        Ok(Some(u32::from_be_bytes(bytes)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::io::BufReader;

    /// Hands out at most `step` bytes per read, to split prefixes and frames anywhere.
    struct Chunky<'a> {
        data: &'a [u8],
        step: usize,
    }
    impl Read for Chunky<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.step.min(buf.len()).min(self.data.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    fn varint(mut v: u64, out: &mut Vec<u8>) {
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }

    fn frames(
        data: &[u8],
        framing: Framing,
        step: usize,
        limits: Limits,
    ) -> Result<Vec<(u64, Vec<u8>)>, FrameError> {
        // BufReader with capacity 1 makes every byte a separate fill.
        let reader = BufReader::with_capacity(step, Chunky { data, step });
        let mut fr = FrameReader::new(reader, framing, limits);
        let mut out = Vec::new();
        while let Some(f) = fr.next_frame()? {
            out.push((f.offset, f.data.to_vec()));
        }
        Ok(out)
    }

    #[test]
    fn varint_frames_straddling_one_byte_reads_decode() {
        let msgs: Vec<Vec<u8>> = vec![vec![1; 300], vec![], vec![2; 5], vec![3; 128]];
        let mut stream = Vec::new();
        for m in &msgs {
            varint(m.len() as u64, &mut stream);
            stream.extend_from_slice(m);
        }
        for step in [1, 2, 3, 7, 4096] {
            let got = frames(&stream, Framing::Varint, step, Limits::default()).unwrap();
            let datas: Vec<_> = got.iter().map(|(_, d)| d.clone()).collect();
            assert_eq!(datas, msgs, "step {step}");
            assert_eq!(got[0].0, 2, "300 needs a 2-byte prefix");
            assert_eq!(got[1].0, 302 + 1);
        }
    }

    #[test]
    fn fixed32_frames_decode_with_one_byte_reads() {
        let mut stream = Vec::new();
        for m in [&b"abc"[..], b"", b"hello"] {
            stream.extend_from_slice(&(m.len() as u32).to_be_bytes());
            stream.extend_from_slice(m);
        }
        let got = frames(&stream, Framing::Fixed32, 1, Limits::default()).unwrap();
        assert_eq!(
            got,
            vec![(4, b"abc".to_vec()), (11, vec![]), (15, b"hello".to_vec())]
        );
    }

    #[test]
    fn single_frame_is_the_whole_input_and_empty_input_is_one_empty_message() {
        assert_eq!(
            frames(b"xyz", Framing::Single, 1, Limits::default()).unwrap(),
            vec![(0, b"xyz".to_vec())]
        );
        assert_eq!(
            frames(b"", Framing::Single, 1, Limits::default()).unwrap(),
            vec![(0, vec![])]
        );
        assert!(frames(b"", Framing::Varint, 1, Limits::default())
            .unwrap()
            .is_empty());
    }

    #[test]
    fn length_past_end_is_truncated_frame() {
        let err = frames(&[10, 1, 2], Framing::Varint, 1, Limits::default()).unwrap_err();
        assert!(
            matches!(
                err,
                FrameError::TruncatedFrame {
                    length: 10,
                    available: 2
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn truncated_varint_prefix_is_an_error() {
        let err = frames(&[0x80, 0x80], Framing::Varint, 1, Limits::default()).unwrap_err();
        assert!(
            matches!(err, FrameError::TruncatedLength { have: 2, need: 3 }),
            "{err}"
        );
        let err = frames(&[0, 0, 1], Framing::Fixed32, 1, Limits::default()).unwrap_err();
        assert!(
            matches!(err, FrameError::TruncatedLength { have: 3, need: 4 }),
            "{err}"
        );
    }

    #[test]
    fn eleven_byte_varint_is_invalid() {
        let err = frames(&[0xff; 11], Framing::Varint, 3, Limits::default()).unwrap_err();
        assert!(matches!(err, FrameError::InvalidLength));
    }

    #[test]
    fn huge_declared_lengths_are_refused_before_allocation() {
        let err = frames(
            &[0xff, 0xff, 0xff, 0xff, 1, 2],
            Framing::Fixed32,
            64,
            Limits::default(),
        )
        .unwrap_err();
        assert!(matches!(
            err,
            FrameError::FrameTooLarge {
                length: 0xffff_ffff,
                ..
            }
        ));
        let limits = Limits {
            max_frame: 4,
            ..Limits::default()
        };
        let err = frames(b"12345", Framing::Single, 64, limits).unwrap_err();
        assert!(matches!(
            err,
            FrameError::FrameTooLarge { length: 5, max: 4 }
        ));
    }

    #[test]
    fn message_count_is_capped() {
        let limits = Limits {
            max_messages: 3,
            ..Limits::default()
        };
        assert_eq!(
            frames(&[0, 0, 0], Framing::Varint, 64, limits)
                .unwrap()
                .len(),
            3
        );
        let err = frames(&[0, 0, 0, 0], Framing::Varint, 64, limits).unwrap_err();
        assert!(matches!(err, FrameError::TooManyMessages { max: 3 }));
    }

    proptest! {
        /// Whatever the read sizes, a stream splits into the frames it was built from.
        #[test]
        fn any_read_size_gives_the_same_frames(msgs in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 0..20), step in 1usize..64) {
            let mut stream = Vec::new();
            for m in &msgs {
                varint(m.len() as u64, &mut stream);
                stream.extend_from_slice(m);
            }
            let got: Vec<Vec<u8>> = frames(&stream, Framing::Varint, step, Limits::default()).unwrap().into_iter().map(|(_, d)| d).collect();
            prop_assert_eq!(got, msgs);
        }

        /// Arbitrary bytes never panic, and offsets stay inside the stream.
        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..400), fixed in any::<bool>()) {
            let framing = if fixed { Framing::Fixed32 } else { Framing::Varint };
            if let Ok(fs) = frames(&data, framing, 5, Limits::default()) {
                for (off, d) in fs {
                    prop_assert!(off as usize + d.len() <= data.len());
                }
            }
        }
    }
}
