//! Decompression: magic-byte sniffing, gzip (every member of a multi-member file) and zstd,
//! always behind a cap on the decompressed size. By convention this is the only module that
//! constructs a flate2 or zstd decoder, so no stream is ever read uncapped.

use std::fmt;
use std::io::{self, Read};
use std::str::FromStr;

use crate::limits::Limits;

/// How an input is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compression {
    /// Detect gzip or zstd from the first bytes; anything else is uncompressed.
    #[default]
    Auto,
    /// Not compressed.
    None,
    /// gzip, possibly several concatenated members.
    Gzip,
    /// zstd, possibly several concatenated frames.
    Zstd,
}

impl FromStr for Compression {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(Compression::Auto),
            "none" => Ok(Compression::None),
            "gzip" | "gz" => Ok(Compression::Gzip),
            "zstd" | "zst" => Ok(Compression::Zstd),
            other => Err(format!(
                "unknown compression {other:?} (expected auto, none, gzip or zstd)"
            )),
        }
    }
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Compression::Auto => "auto",
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        })
    }
}

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// What the first bytes of an input say about its compression. This is a heuristic: an
/// uncompressed varint stream whose first frame is 40 bytes long and starts with
/// `b5 2f fd` looks exactly like zstd. Routes and `--compression` pin it when that matters.
pub fn sniff(prefix: &[u8]) -> Compression {
    if prefix.starts_with(&GZIP_MAGIC) {
        Compression::Gzip
    } else if prefix.starts_with(&ZSTD_MAGIC) {
        Compression::Zstd
    } else {
        Compression::None
    }
}

/// Errors of the decompression stage. They travel inside `io::Error` through the reader
/// chain and are recovered with [`DecompressError::from_io`].
#[derive(Debug, thiserror::Error)]
pub enum DecompressError {
    /// The decompressed stream grew past [`Limits::max_decompressed`].
    #[error("decompressed size exceeds the limit of {max} bytes (a decompression bomb, or raise --max-decompressed)")]
    TooLarge {
        /// The limit in force.
        max: u64,
    },
    /// The compressed bytes are corrupt or truncated.
    #[error("{format} data is corrupt: {source}")]
    Corrupt {
        /// `gzip` or `zstd`, as detected or pinned.
        format: Compression,
        /// What the decoder said.
        source: io::Error,
    },
}

impl DecompressError {
    /// Recovers a decompression error carried by an `io::Error`, if it is one.
    pub fn from_io(err: &io::Error) -> Option<&DecompressError> {
        err.get_ref()?.downcast_ref::<DecompressError>()
    }
}

/// Opens `input` for reading decompressed bytes. With [`Compression::Auto`] the first bytes
/// are sniffed (reading as many as needed, whatever the source's read sizes).
/// Returns the reader and the compression that applies.
pub fn open<'a, R: Read + 'a>(
    mut input: R,
    compression: Compression,
    limits: &Limits,
) -> io::Result<(Box<dyn Read + 'a>, Compression)> {
    let mut prefix = [0u8; 4];
    let mut have = 0;
    if compression == Compression::Auto {
        while have < prefix.len() {
            match input.read(&mut prefix[have..]) {
                Ok(0) => break,
                Ok(n) => have += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
    let resolved = match compression {
        Compression::Auto => sniff(&prefix[..have]),
        c => c,
    };
    let chained = io::Cursor::new(prefix).take(have as u64).chain(input);
    let max = limits.max_decompressed;
    let reader: Box<dyn Read + 'a> = match resolved {
        Compression::None | Compression::Auto => Box::new(Capped::new(chained, max, None)),
        Compression::Gzip => Box::new(Capped::new(
            flate2::read::MultiGzDecoder::new(chained),
            max,
            Some(Compression::Gzip),
        )),
        Compression::Zstd => {
            let mut dec = zstd::stream::read::Decoder::new(chained)?;
            dec.window_log_max(limits.zstd_window_log_max)?;
            Box::new(Capped::new(dec, max, Some(Compression::Zstd)))
        }
    };
    Ok((reader, resolved))
}

/// Counts decompressed bytes, fails past the cap, and labels decoder errors.
struct Capped<R> {
    inner: R,
    produced: u64,
    max: u64,
    format: Option<Compression>,
}

impl<R> Capped<R> {
    fn new(inner: R, max: u64, format: Option<Compression>) -> Self {
        Capped {
            inner,
            produced: 0,
            max,
            format,
        }
    }
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.produced > self.max {
            return Err(too_large(self.max));
        }
        // Never ask for more than one byte past the cap: enough to notice we went over.
        let room = (self.max - self.produced).saturating_add(1);
        let want = buf.len().min(usize::try_from(room).unwrap_or(usize::MAX));
        let n = match self.inner.read(&mut buf[..want]) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Err(e),
            Err(e) => {
                return Err(match self.format {
                    // Errors of the source itself (an S3 body cut short) are not corruption.
                    Some(format)
                        if DecompressError::from_io(&e).is_none() && is_decoder_error(&e) =>
                    {
                        io::Error::new(
                            io::ErrorKind::InvalidData,
                            DecompressError::Corrupt { format, source: e },
                        )
                    }
                    _ => e,
                });
            }
        };
        self.produced += n as u64;
        if self.produced > self.max {
            return Err(too_large(self.max));
        }
        Ok(n)
    }
}

fn is_decoder_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::InvalidData
            | io::ErrorKind::InvalidInput
            | io::ErrorKind::UnexpectedEof
            | io::ErrorKind::Other
    )
}

fn too_large(max: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        DecompressError::TooLarge { max },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(data).unwrap();
        enc.finish().unwrap()
    }

    fn read_all(
        bytes: &[u8],
        c: Compression,
        limits: &Limits,
    ) -> io::Result<(Vec<u8>, Compression)> {
        let (mut r, resolved) = open(bytes, c, limits)?;
        let mut out = Vec::new();
        r.read_to_end(&mut out)?;
        Ok((out, resolved))
    }

    /// A reader that hands out one byte per call, like a slow network body.
    struct OneByte<'a>(&'a [u8]);
    impl Read for OneByte<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.0.is_empty() || buf.is_empty() {
                return Ok(0);
            }
            buf[0] = self.0[0];
            self.0 = &self.0[1..];
            Ok(1)
        }
    }

    #[test]
    fn sniffing_detects_gzip_zstd_and_plain() {
        assert_eq!(sniff(&[0x1f, 0x8b, 8, 0]), Compression::Gzip);
        assert_eq!(sniff(&ZSTD_MAGIC), Compression::Zstd);
        assert_eq!(sniff(&[0x0a, 0x01]), Compression::None);
        assert_eq!(sniff(&[]), Compression::None);
    }

    #[test]
    fn multi_member_gzip_yields_every_member() {
        let mut two = gzip(b"hello ");
        two.extend(gzip(b"world"));
        let (out, c) = read_all(&two, Compression::Auto, &Limits::default()).unwrap();
        assert_eq!(out, b"hello world");
        assert_eq!(c, Compression::Gzip);
    }

    #[test]
    fn sniffing_works_with_one_byte_reads() {
        let z = gzip(b"abc");
        let (mut r, c) = open(OneByte(&z), Compression::Auto, &Limits::default()).unwrap();
        let mut out = Vec::new();
        r.read_to_end(&mut out).unwrap();
        assert_eq!((out.as_slice(), c), (&b"abc"[..], Compression::Gzip));
    }

    #[test]
    fn zstd_round_trips_and_concatenated_frames_are_read() {
        let mut z = zstd::encode_all(&b"one "[..], 3).unwrap();
        z.extend(zstd::encode_all(&b"two"[..], 3).unwrap());
        let (out, c) = read_all(&z, Compression::Auto, &Limits::default()).unwrap();
        assert_eq!((out.as_slice(), c), (&b"one two"[..], Compression::Zstd));
    }

    #[test]
    fn decompressed_size_is_capped() {
        let bomb = gzip(&vec![0u8; 1 << 20]);
        let limits = Limits {
            max_decompressed: 1000,
            ..Limits::default()
        };
        let err = read_all(&bomb, Compression::Auto, &limits).unwrap_err();
        assert!(matches!(
            DecompressError::from_io(&err),
            Some(DecompressError::TooLarge { max: 1000 })
        ));
        // Exactly at the cap is fine.
        let limits = Limits {
            max_decompressed: 1 << 20,
            ..Limits::default()
        };
        assert_eq!(
            read_all(&bomb, Compression::Auto, &limits).unwrap().0.len(),
            1 << 20
        );
    }

    #[test]
    fn corrupt_and_truncated_gzip_are_labelled_errors() {
        let mut z = gzip(&[7u8; 5000]);
        let mid = z.len() / 2;
        z[mid] ^= 0xff;
        let err = read_all(&z, Compression::Auto, &Limits::default()).unwrap_err();
        assert!(err.to_string().contains("gzip data is corrupt"), "{err}");
        let z = gzip(&[7u8; 5000]);
        let err = read_all(&z[..z.len() - 3], Compression::Auto, &Limits::default()).unwrap_err();
        assert!(err.to_string().contains("gzip"), "{err}");
    }

    #[test]
    fn gzip_followed_by_junk_is_an_error() {
        let mut z = gzip(b"data");
        z.extend_from_slice(b"junk after the member");
        assert!(read_all(&z, Compression::Auto, &Limits::default()).is_err());
    }

    #[test]
    fn zstd_window_larger_than_allowed_is_rejected() {
        // Level 22 with long distance matching declares a 128 MiB window.
        let mut enc = zstd::stream::write::Encoder::new(Vec::new(), 19).unwrap();
        enc.window_log(27).unwrap();
        enc.long_distance_matching(true).unwrap();
        enc.write_all(&vec![1u8; 1 << 20]).unwrap();
        let z = enc.finish().unwrap();
        let err = read_all(&z, Compression::Auto, &Limits::default()).unwrap_err();
        assert!(err.to_string().contains("zstd"), "{err}");
    }

    #[test]
    fn pinned_none_does_not_sniff() {
        let z = gzip(b"x");
        let (out, c) = read_all(&z, Compression::None, &Limits::default()).unwrap();
        assert_eq!((out, c), (z, Compression::None));
    }
}
