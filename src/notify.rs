//! S3 event notifications out of SQS message bodies: direct or wrapped in SNS, several
//! records per body, the `s3:TestEvent` S3 sends when notifications are set up, and keys
//! form-URL-encoded (`+` is a space, `%2B` a plus). The structs are lenient on purpose:
//! moto and real S3 disagree on optional fields (versionId, sequencer, userIdentity).

use serde::Deserialize;

/// An object the notification says was created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectRef {
    /// Bucket name.
    pub bucket: String,
    /// Decoded key.
    pub key: String,
    /// Version, on versioned buckets.
    pub version_id: Option<String>,
    /// ETag without quotes, when sent.
    pub etag: Option<String>,
    /// Size in bytes, when sent.
    pub size: Option<u64>,
}

/// What one SQS body holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notification {
    /// `s3:TestEvent`: acknowledged and skipped.
    Test,
    /// Objects created, and how many other records (deletions, ...) were skipped.
    Records {
        /// The created objects, in order.
        objects: Vec<ObjectRef>,
        /// Records that were not `ObjectCreated:*` or were folder markers.
        skipped: usize,
    },
}

/// A body that is not an S3 notification, or a key that does not decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotifyError {
    /// Not JSON, or JSON of another shape.
    #[error("message body is not an S3 event notification: {reason}; body starts with {start:?}")]
    NotANotification {
        /// What was wrong.
        reason: String,
        /// The first bytes of the body.
        start: String,
    },
    /// A key with a bad `%` escape or that is not UTF-8 once decoded.
    #[error("object key {raw:?} in bucket {bucket:?} is not validly URL-encoded: {reason}")]
    BadKey {
        /// The bucket.
        bucket: String,
        /// The key as it arrived.
        raw: String,
        /// What was wrong.
        reason: String,
    },
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "Records")]
    records: Option<Vec<Record>>,
    #[serde(rename = "Event")]
    event: Option<String>,
    /// SNS wraps the S3 notification as a string in `Message`.
    #[serde(rename = "Type")]
    sns_type: Option<String>,
    #[serde(rename = "Message")]
    message: Option<String>,
}

#[derive(Deserialize)]
struct Record {
    #[serde(rename = "eventName")]
    event_name: Option<String>,
    #[serde(rename = "eventSource")]
    event_source: Option<String>,
    s3: Option<S3Entity>,
}

#[derive(Deserialize)]
struct S3Entity {
    bucket: Bucket,
    object: Object,
}

#[derive(Deserialize)]
struct Bucket {
    name: String,
}

#[derive(Deserialize)]
struct Object {
    key: String,
    #[serde(rename = "versionId")]
    version_id: Option<String>,
    #[serde(rename = "eTag")]
    etag: Option<String>,
    size: Option<u64>,
}

fn start_of(body: &str) -> String {
    body.chars().take(80).collect()
}

/// Parses one SQS message body.
pub fn parse(body: &str) -> Result<Notification, NotifyError> {
    parse_depth(body, body, 0)
}

fn parse_depth(body: &str, original: &str, depth: u8) -> Result<Notification, NotifyError> {
    let not = |reason: String| NotifyError::NotANotification {
        reason,
        start: start_of(original),
    };
    let env: Envelope = serde_json::from_str(body)
        .map_err(|e| not(format!("not JSON of the expected shape ({e})")))?;
    if let (Some(message), true) = (&env.message, env.records.is_none()) {
        // SNS envelope ("Type": "Notification"); unwrap once.
        if depth == 0 && env.sns_type.as_deref().is_none_or(|t| t == "Notification") {
            return parse_depth(message, original, depth + 1);
        }
    }
    if env.event.as_deref() == Some("s3:TestEvent") {
        return Ok(Notification::Test);
    }
    let Some(records) = env.records else {
        return Err(not("no \"Records\" and not an s3:TestEvent".into()));
    };
    let mut objects = Vec::new();
    let mut skipped = 0;
    for (i, r) in records.into_iter().enumerate() {
        if r.event_source.as_deref().is_some_and(|s| s != "aws:s3") {
            return Err(not(format!(
                "record {i} comes from {:?}, not aws:s3",
                r.event_source.unwrap_or_default()
            )));
        }
        let Some(s3) = r.s3 else {
            return Err(not(format!("record {i} has no \"s3\" entity")));
        };
        let created = r
            .event_name
            .as_deref()
            .is_some_and(|n| n.starts_with("ObjectCreated:"));
        let key = decode_key(&s3.object.key).map_err(|reason| NotifyError::BadKey {
            bucket: s3.bucket.name.clone(),
            raw: s3.object.key.clone(),
            reason,
        })?;
        // Deletions and "folder" markers carry nothing to transcode.
        if !created || (key.ends_with('/') && s3.object.size.unwrap_or(0) == 0) {
            skipped += 1;
            continue;
        }
        objects.push(ObjectRef {
            bucket: s3.bucket.name,
            key,
            version_id: s3
                .object
                .version_id
                .filter(|v| !v.is_empty() && v != "null"),
            etag: s3
                .object
                .etag
                .map(|e| e.trim_matches('"').to_owned())
                .filter(|e| !e.is_empty()),
            size: s3.object.size,
        });
    }
    Ok(Notification::Records { objects, skipped })
}

/// Form-URL decoding as S3 (and moto) encode keys: `+` is a space, `%XX` a byte; the bytes
/// must be UTF-8. Strict: a malformed escape is an error, never passed through.
pub fn decode_key(raw: &str) -> Result<String, String> {
    let b = raw.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = b
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(v) if b[i + 1].is_ascii_hexdigit() && b[i + 2].is_ascii_hexdigit() => {
                        out.push(v)
                    }
                    _ => return Err(format!("bad escape at byte {i}")),
                }
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| "decoded key is not UTF-8".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// moto's exact shape (toolchain.md): no versionId, no sequencer, `/` encoded.
    const MOTO: &str = r#"{"Records": [{"eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1", "eventTime": "2026-11-26T18:09:20.501Z", "eventName": "ObjectCreated:Put", "s3": {"s3SchemaVersion": "1.0", "configurationId": "to-sqs", "bucket": {"name": "probe", "arn": "arn:aws:s3:::probe"}, "object": {"key": "in%2Fwith+space.pb", "size": 1, "eTag": "9dd4e461268c8034f5c8564e155c67a6"}}}]}"#;

    #[test]
    fn moto_notification_parses_with_the_key_decoded() {
        let n = parse(MOTO).unwrap();
        assert_eq!(
            n,
            Notification::Records {
                objects: vec![ObjectRef {
                    bucket: "probe".into(),
                    key: "in/with space.pb".into(),
                    version_id: None,
                    etag: Some("9dd4e461268c8034f5c8564e155c67a6".into()),
                    size: Some(1),
                }],
                skipped: 0
            }
        );
    }

    #[test]
    fn keys_decode_plus_then_percent_exactly_once() {
        assert_eq!(decode_key("noog+nork").unwrap(), "noog nork");
        assert_eq!(decode_key("noog%2bnork").unwrap(), "noog+nork");
        assert_eq!(
            decode_key("dt%3D2026-11-26/%C3%A9t%C3%A9.pb").unwrap(),
            "dt=2026-11-26/été.pb"
        );
        assert_eq!(decode_key("100%2525").unwrap(), "100%25");
        assert!(decode_key("bad%zz")
            .unwrap_err()
            .contains("bad escape at byte 3"));
        assert!(decode_key("trailing%2").is_err());
        assert!(decode_key("%FF%FE").unwrap_err().contains("not UTF-8"));
    }

    #[test]
    fn test_events_are_recognised_direct_and_in_sns() {
        let t = r#"{"Service": "Amazon S3", "Event": "s3:TestEvent", "Time": "2026-11-26T18:09:20.476Z", "Bucket": "b"}"#;
        assert_eq!(parse(t).unwrap(), Notification::Test);
        let sns = serde_json::json!({"Type": "Notification", "MessageId": "x", "TopicArn": "arn", "Message": t}).to_string();
        assert_eq!(parse(&sns).unwrap(), Notification::Test);
    }

    #[test]
    fn sns_wrapped_notifications_with_several_records_parse() {
        let two = r#"{"Records": [
            {"eventVersion": "2.6", "eventSource": "aws:s3", "eventName": "ObjectCreated:CompleteMultipartUpload", "s3": {"bucket": {"name": "b"}, "object": {"key": "a/1.pb", "versionId": "v1", "sequencer": "0A"}}},
            {"eventSource": "aws:s3", "eventName": "ObjectRemoved:Delete", "s3": {"bucket": {"name": "b"}, "object": {"key": "a/2.pb"}}},
            {"eventSource": "aws:s3", "eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": "b"}, "object": {"key": "a/folder/", "size": 0}}},
            {"eventSource": "aws:s3", "eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": "b"}, "object": {"key": "a/3.pb", "eTag": "\"abc\""}}}]}"#;
        let sns = serde_json::json!({"Type": "Notification", "Message": two}).to_string();
        let Notification::Records { objects, skipped } = parse(&sns).unwrap() else {
            panic!()
        };
        assert_eq!(skipped, 2, "a deletion and a folder marker");
        assert_eq!(objects.len(), 2);
        assert_eq!(objects[0].version_id.as_deref(), Some("v1"));
        assert_eq!(objects[1].etag.as_deref(), Some("abc"));
    }

    #[test]
    fn other_bodies_fail_saying_what_they_got() {
        let e = parse("hello world").unwrap_err().to_string();
        assert!(
            e.contains("not an S3 event notification") && e.contains("hello world"),
            "{e}"
        );
        let e = parse(r#"{"foo": 1}"#).unwrap_err().to_string();
        assert!(e.contains("no \"Records\""), "{e}");
        let e = parse(r#"{"Records": [{"eventSource": "aws:sqs"}]}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("aws:sqs"), "{e}");
        let bad = MOTO.replace("in%2Fwith+space.pb", "bad%zzkey");
        let e = parse(&bad).unwrap_err().to_string();
        assert!(e.contains("\"bad%zzkey\"") && e.contains("probe"), "{e}");
    }
}
