//! Landing keys: where a source object's output lands. Pure, tested, bounded to S3's
//! 1,024-byte key limit.

use sha2::{Digest, Sha256};

/// S3's limit on key length, in bytes.
pub const MAX_KEY_BYTES: usize = 1024;

/// Landing key for a source object: `<prefix><bucket>/<key><suffix>` (no bucket part for
/// objects of a local tree), the suffix being the output format's (`.ndjson`,
/// `.ndjson.gz`). It mirrors the source layout (partitions such as `dt=.../` carry over)
/// and is a pure function of its inputs, so a retry overwrites the same key. A key that
/// would exceed S3's 1,024 bytes keeps its start and ends in a hash of the whole key.
pub fn landing_key(prefix: &str, bucket: Option<&str>, key: &str, suffix: &str) -> String {
    let full = match bucket {
        Some(b) => format!("{prefix}{b}/{key}{suffix}"),
        None => format!("{prefix}{key}{suffix}"),
    };
    if full.len() <= MAX_KEY_BYTES {
        return full;
    }
    let hash = hex(&Sha256::digest(full.as_bytes()));
    let tail = format!("~{}{suffix}", &hash[..32]);
    let mut cut = MAX_KEY_BYTES - tail.len();
    while !full.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}{tail}", &full[..cut])
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn landing_key_mirrors_the_source_layout() {
        assert_eq!(
            landing_key(
                "landing/",
                Some("src"),
                "events/dt=2026-11-26/a b.pb.gz",
                ".ndjson"
            ),
            "landing/src/events/dt=2026-11-26/a b.pb.gz.ndjson"
        );
        assert_eq!(
            landing_key("", Some("b"), "k", ".ndjson.gz"),
            "b/k.ndjson.gz"
        );
    }

    proptest::proptest! {
        /// Catalogue row W6: any source key, up to past S3's limit, `/`-heavy or unicode,
        /// gives a landing key within 1,024 bytes, the same each time, and distinct keys
        /// (or buckets) never share one.
        #[test]
        fn row_w6_landing_keys_are_bounded_deterministic_and_collision_free(
            a in "[a-z/é日~.=%+ ]{0,1100}",
            b in "[a-z/é日~.=%+ ]{0,1100}",
            gzip: bool,
        ) {
            let suffix = if gzip { ".ndjson.gz" } else { ".ndjson" };
            let ka = landing_key("landing/", Some("bucket-1"), &a, suffix);
            proptest::prop_assert!(ka.len() <= MAX_KEY_BYTES, "{} bytes", ka.len());
            proptest::prop_assert_eq!(&ka, &landing_key("landing/", Some("bucket-1"), &a, suffix));
            proptest::prop_assert!(ka.starts_with("landing/bucket-1/"));
            if a != b {
                proptest::prop_assert_ne!(&ka, &landing_key("landing/", Some("bucket-1"), &b, suffix));
            }
            proptest::prop_assert_ne!(&ka, &landing_key("landing/", Some("bucket-2"), &a, suffix));
        }
    }

    #[test]
    fn long_keys_stay_within_1024_bytes_and_do_not_collide() {
        let a = "é".repeat(600);
        let b = format!("{a}x");
        let ka = landing_key("p/", Some("bucket"), &a, ".ndjson");
        let kb = landing_key("p/", Some("bucket"), &b, ".ndjson");
        assert!(ka.len() <= MAX_KEY_BYTES && kb.len() <= MAX_KEY_BYTES);
        assert_ne!(ka, kb);
        assert!(ka.starts_with("p/bucket/éé") && ka.ends_with(".ndjson"));
        assert_eq!(ka, landing_key("p/", Some("bucket"), &a, ".ndjson"));
    }
}
