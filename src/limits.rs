//! Limits on what one object may cost. Every limit is a named default, configurable, and
//! enforced by the stage that reads the bytes; exceeding one is an error for that object.

/// Resource limits applied to every object (and every `decode` input).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest stored (compressed) object, in bytes, checked against its Content-Length
    /// before any byte is read: an oversized object fails at once instead of being
    /// downloaded until another limit trips.
    pub max_object: u64,
    /// Largest single frame (one serialized message), in bytes. Checked before anything is
    /// allocated for it, so a lying length prefix cannot make us reserve memory.
    pub max_frame: u64,
    /// Largest decompressed size of one object, in bytes: the guard against decompression
    /// bombs. Streaming keeps memory flat; this bounds the time one object can take.
    pub max_decompressed: u64,
    /// Most messages in one object: millions of empty frames are cheap to send and expensive
    /// to print (`{}` per line), so they are capped too.
    pub max_messages: u64,
    /// Most NDJSON bytes one object may produce: with `--emit-defaults`, ten million empty
    /// frames (10 KB gzip'd) would print gigabytes, and the service spools its output to a
    /// bounded local disk.
    pub max_output: u64,
    /// Deepest nesting of messages, groups, map entries and `Any` payloads. Matches the
    /// recursion limit of protobuf's C++, Java and upb runtimes (100).
    pub max_depth: u32,
    /// Largest zstd window (log2 bytes) we agree to allocate. zstd's own default is 27 (128 MiB);
    /// a frame can *declare* any window, so we cap it below our memory budget.
    pub zstd_window_log_max: u32,
}

impl Limits {
    /// 64 MiB: protobuf messages are meant to be far smaller; C++ warns at 64 MiB.
    pub const DEFAULT_MAX_FRAME: u64 = 64 << 20;
    /// 8 GiB decompressed per object: generous for real streams (the soak test lands 2 GiB),
    /// small enough that a bomb is stopped in seconds.
    pub const DEFAULT_MAX_DECOMPRESSED: u64 = 8 << 30;
    /// 8 GiB stored per object (as much as may decompress: compression only shrinks).
    pub const DEFAULT_MAX_OBJECT: u64 = 8 << 30;
    /// 8 GiB of NDJSON per object (Lambda's ephemeral storage is at most 10 GiB).
    pub const DEFAULT_MAX_OUTPUT: u64 = 8 << 30;
    /// 100 million messages per object.
    pub const DEFAULT_MAX_MESSAGES: u64 = 100_000_000;
    /// Nesting depth 100, as protobuf's reference runtimes.
    pub const DEFAULT_MAX_DEPTH: u32 = 100;
    /// 2^25 = 32 MiB zstd window (covers every level up to 19 without `--long`).
    pub const DEFAULT_ZSTD_WINDOW_LOG_MAX: u32 = 25;
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_object: Self::DEFAULT_MAX_OBJECT,
            max_output: Self::DEFAULT_MAX_OUTPUT,
            max_frame: Self::DEFAULT_MAX_FRAME,
            max_decompressed: Self::DEFAULT_MAX_DECOMPRESSED,
            max_messages: Self::DEFAULT_MAX_MESSAGES,
            max_depth: Self::DEFAULT_MAX_DEPTH,
            zstd_window_log_max: Self::DEFAULT_ZSTD_WINDOW_LOG_MAX,
        }
    }
}

/// Parses a byte size such as `64MiB`, `1GiB`, `512k`, `100` (bytes).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num.parse().map_err(|_| {
        format!("invalid size {s:?}: expected a number with an optional unit (KiB, MiB, GiB)")
    })?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        other => return Err(format!("invalid size {s:?}: unknown unit {other:?}")),
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("invalid size {s:?}: too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_binary_units() {
        assert_eq!(parse_size("100").unwrap(), 100);
        assert_eq!(parse_size("64MiB").unwrap(), 64 << 20);
        assert_eq!(parse_size("1g").unwrap(), 1 << 30);
        assert_eq!(parse_size("2 KiB").unwrap(), 2048);
        assert!(parse_size("ten").is_err());
        assert!(parse_size("1PB").is_err());
        assert!(parse_size("99999999999999T").is_err());
    }
}
