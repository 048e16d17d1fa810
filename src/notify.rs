//! S3 event notifications out of SQS message bodies: direct or wrapped in SNS, several
//! records per body, the `s3:TestEvent` S3 sends when notifications are set up, and keys
//! form-URL-encoded (`+` is a space, `%2B` a plus). The structs are lenient on purpose:
//! moto and real S3 disagree on optional fields (versionId, sequencer, userIdentity).
//!
//! A body may also be an EventBridge event from S3 (`"source": "aws.s3"`, an EventBridge
//! rule with the queue as its target): `"detail-type": "Object Created"` names one object in
//! `detail.bucket.name` / `detail.object.key`; every other detail type (`Object Deleted`,
//! `Object Tags Added`, ...) is acknowledged and skipped. See [`eventbridge_key`] for how its
//! key is read.

use serde::Deserialize;

/// An object the notification says was created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedObject {
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
        objects: Vec<CreatedObject>,
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
    /// EventBridge: `aws.s3` for S3's events.
    source: Option<String>,
    #[serde(rename = "detail-type")]
    detail_type: Option<String>,
    /// Kept untyped until the detail type is known: only `Object Created` is read further.
    detail: Option<serde_json::Value>,
}

/// `detail` of an EventBridge `Object Created` event.
#[derive(Deserialize)]
struct EbDetail {
    bucket: Bucket,
    object: EbObject,
}

#[derive(Deserialize)]
struct EbObject {
    key: String,
    /// AWS's examples spell it `etag`, moto 5.2.5 writes `eTag`.
    #[serde(alias = "eTag")]
    etag: Option<String>,
    #[serde(rename = "version-id")]
    version_id: Option<String>,
    size: Option<u64>,
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
    if env.records.is_none() && (env.detail_type.is_some() || env.source.is_some()) {
        return eventbridge(env, &not);
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
        objects.push(CreatedObject {
            bucket: s3.bucket.name,
            key,
            version_id: clean_version(s3.object.version_id),
            etag: clean_etag(s3.object.etag),
            size: s3.object.size,
        });
    }
    Ok(Notification::Records { objects, skipped })
}

fn clean_version(v: Option<String>) -> Option<String> {
    v.filter(|v| !v.is_empty() && v != "null")
}

fn clean_etag(e: Option<String>) -> Option<String> {
    e.map(|e| e.trim_matches('"').to_owned())
        .filter(|e| !e.is_empty())
}

/// An EventBridge event (`source`/`detail-type` present, no `Records`).
fn eventbridge(
    env: Envelope,
    not: &dyn Fn(String) -> NotifyError,
) -> Result<Notification, NotifyError> {
    let source = env.source.unwrap_or_default();
    if source != "aws.s3" {
        return Err(not(format!(
            "EventBridge event from {source:?}, not aws.s3"
        )));
    }
    let Some(detail_type) = env.detail_type else {
        return Err(not("EventBridge event without \"detail-type\"".into()));
    };
    let Some(detail) = env.detail else {
        return Err(not(format!(
            "EventBridge {detail_type:?} event without \"detail\""
        )));
    };
    if detail_type != "Object Created" {
        // Deletions, restores, tag and ACL changes: nothing to transcode. Logged here so
        // the caller needs no case of its own; it counts the skip like a deletion record.
        let at = |p: &str| detail.pointer(p).and_then(|v| v.as_str()).unwrap_or("");
        tracing::info!(
            detail_type = %detail_type,
            bucket = %at("/bucket/name"),
            key = %at("/object/key"),
            "EventBridge event acknowledged and skipped (only \"Object Created\" lands)"
        );
        return Ok(Notification::Records {
            objects: Vec::new(),
            skipped: 1,
        });
    }
    let d: EbDetail = serde_json::from_value(detail).map_err(|e| {
        not(format!(
            "EventBridge \"Object Created\" detail of an unexpected shape ({e})"
        ))
    })?;
    let key = eventbridge_key(&d.object.key).map_err(|reason| NotifyError::BadKey {
        bucket: d.bucket.name.clone(),
        raw: d.object.key.clone(),
        reason,
    })?;
    if key.ends_with('/') && d.object.size.unwrap_or(0) == 0 {
        return Ok(Notification::Records {
            objects: Vec::new(),
            skipped: 1,
        });
    }
    Ok(Notification::Records {
        objects: vec![CreatedObject {
            bucket: d.bucket.name,
            key,
            version_id: clean_version(d.object.version_id),
            etag: clean_etag(d.object.etag),
            size: d.object.size,
        }],
        skipped: 0,
    })
}

/// The key of an EventBridge `Object Created` event.
///
/// Whether S3 URL-encodes `detail.object.key` is not documented (the S3 guide says so only for
/// the classic `Records` structure). moto 5.2.5 sends the key raw, and the one captured AWS
/// event with a special character we found carries `:` unescaped, where a classic notification
/// writes `%3A`; the contract (and Powertools for AWS Lambda's Python data class) says decode
/// it like a classic key. Both are honoured without guessing where the key itself tells:
/// a key holding a character that S3's form encoding always escapes (a space, a control
/// character, non-ASCII, a backtick, one of `"#$&,:;<=>?@[\]^{|}`, or a `%` not followed by two hex
/// digits) cannot be encoded, so it is taken as it is; any other key is form-URL-decoded
/// exactly like a classic one (`+` a space, `%XX` a byte). What stays ambiguous is a raw key
/// whose only special characters are `+` or valid `%XX` sequences (`c++/a.pb`): it is
/// decoded, as the contract says.
pub fn eventbridge_key(raw: &str) -> Result<String, String> {
    if is_raw_key(raw) {
        Ok(raw.to_owned())
    } else {
        decode_key(raw)
    }
}

/// True when `key` holds something a form-URL-encoded key never does.
fn is_raw_key(key: &str) -> bool {
    let b = key.as_bytes();
    b.iter().enumerate().any(|(i, &c)| match c {
        b'%' => {
            !(b.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
        }
        0..=0x20 | 0x7f.. => true,
        b'"' | b'#' | b'$' | b'&' | b',' | b':' | b';' | b'<' | b'=' | b'>' | b'?' | b'@'
        | b'[' | b'\\' | b']' | b'^' | b'`' | b'{' | b'|' | b'}' => true,
        _ => false,
    })
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

    /// moto 5.2.5's exact shape, as recorded in the project's toolchain notes: no versionId, no sequencer, `/` encoded.
    const MOTO: &str = r#"{"Records": [{"eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1", "eventTime": "2026-11-26T18:09:20.501Z", "eventName": "ObjectCreated:Put", "s3": {"s3SchemaVersion": "1.0", "configurationId": "to-sqs", "bucket": {"name": "probe", "arn": "arn:aws:s3:::probe"}, "object": {"key": "in%2Fwith+space.pb", "size": 1, "eTag": "9dd4e461268c8034f5c8564e155c67a6"}}}]}"#;

    #[test]
    fn moto_notification_parses_with_the_key_decoded() {
        let n = parse(MOTO).unwrap();
        assert_eq!(
            n,
            Notification::Records {
                objects: vec![CreatedObject {
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

    /// The "Object created" example of the S3 user guide's "EventBridge event message
    /// structure" page, verbatim.
    const EB_AWS_EXAMPLE: &str = r#"{
  "version": "0",
  "id": "17793124-05d4-b198-2fde-7ededc63b103",
  "detail-type": "Object Created",
  "source": "aws.s3",
  "account": "111122223333",
  "time": "2021-11-12T00:00:00Z",
  "region": "ca-central-1",
  "resources": [
    "arn:aws:s3:::amzn-s3-demo-bucket1"
  ],
  "detail": {
    "version": "0",
    "bucket": {
      "name": "amzn-s3-demo-bucket1"
    },
    "object": {
      "key": "example-key",
      "size": 5,
      "etag": "b1946ac92492d2347c6235b4d2611184",
      "version-id": "IYV3p45BT0ac8hjHg1houSdS1a.Mro8e",
      "sequencer": "617f08299329d189"
    },
    "request-id": "N4N7GDK58NMKJ12R",
    "requester": "123456789012",
    "source-ip-address": "1.2.3.4",
    "reason": "PutObject"
  }
}"#;

    /// What moto 5.2.5 puts on the queue (read in moto/s3/notifications.py and seen in
    /// tests/it/eventbridge.rs): the key raw, `eTag`, `version-id` "null" on an unversioned bucket.
    fn eb_moto(detail_type: &str, key: &str) -> String {
        serde_json::json!({"version": "0", "id": "17793124-05d4-b198-2fde-7ededc63b103",
            "detail-type": detail_type, "source": "aws.s3", "account": "123456789012",
            "time": "2026-11-26T18:09:20Z", "region": "us-east-1", "resources": ["arn:aws:s3:::probe"],
            "detail": {"version": "0", "bucket": {"name": "probe"},
                "object": {"key": key, "size": 3, "eTag": "9dd4e461268c8034f5c8564e155c67a6",
                    "version-id": "null", "sequencer": "617f08299329d189"},
                "request-id": "N4N7GDK58NMKJ12R", "requester": "123456789012",
                "source-ip-address": "1.2.3.4", "reason": "ObjectCreated"}})
        .to_string()
    }

    fn one(n: Notification) -> CreatedObject {
        match n {
            Notification::Records {
                mut objects,
                skipped: 0,
            } if objects.len() == 1 => objects.pop().unwrap(),
            other => panic!("expected one object, got {other:?}"),
        }
    }

    #[test]
    fn eventbridge_aws_example_lands_with_etag_and_version() {
        assert_eq!(
            one(parse(EB_AWS_EXAMPLE).unwrap()),
            CreatedObject {
                bucket: "amzn-s3-demo-bucket1".into(),
                key: "example-key".into(),
                version_id: Some("IYV3p45BT0ac8hjHg1houSdS1a.Mro8e".into()),
                etag: Some("b1946ac92492d2347c6235b4d2611184".into()),
                size: Some(5),
            }
        );
    }

    #[test]
    fn eventbridge_moto_shape_with_etag_spelt_etag_and_null_version() {
        let o = one(parse(&eb_moto("Object Created", "in/a.pb")).unwrap());
        assert_eq!(o.bucket, "probe");
        assert_eq!(o.key, "in/a.pb");
        assert_eq!(o.etag.as_deref(), Some("9dd4e461268c8034f5c8564e155c67a6"));
        assert_eq!(o.version_id, None, "version-id \"null\" is no version");
        let json_null = eb_moto("Object Created", "in/a.pb").replace("\"null\"", "null");
        assert_eq!(one(parse(&json_null).unwrap()).version_id, None);
        assert_eq!(o.size, Some(3));
    }

    #[test]
    fn eventbridge_keys_raw_or_encoded_with_a_space_and_a_plus() {
        // Raw, as moto sends it: the space proves it is not encoded, so `+` stays a plus.
        let raw = "dt=2026-11-26/with space+plus.pb";
        assert_eq!(
            one(parse(&eb_moto("Object Created", raw)).unwrap()).key,
            raw
        );
        // Form-encoded as a classic notification would carry it: decoded the same way.
        let enc = "dt%3D2026-11-26/with+space%2Bplus.pb";
        assert_eq!(
            one(parse(&eb_moto("Object Created", enc)).unwrap()).key,
            raw
        );
        // Keys that tell: a colon (AWS's captured events), non-ASCII, a bare `%`.
        assert_eq!(
            eventbridge_key("raw/t=14:03:40.zip").unwrap(),
            "raw/t=14:03:40.zip"
        );
        assert_eq!(eventbridge_key("été+1.pb").unwrap(), "été+1.pb");
        assert_eq!(eventbridge_key("100% done+.pb").unwrap(), "100% done+.pb");
        assert_eq!(eventbridge_key("50%off+x").unwrap(), "50%off+x");
        // Nothing special: identical either way.
        assert_eq!(eventbridge_key("a/b-c_d.e~f").unwrap(), "a/b-c_d.e~f");
        // The ambiguous rest is decoded, as the contract says.
        assert_eq!(eventbridge_key("c++/a%2Bb.pb").unwrap(), "c  /a+b.pb");
        assert!(eventbridge_key("%FF%FE").unwrap_err().contains("not UTF-8"));
    }

    #[test]
    fn eventbridge_other_detail_types_are_skipped() {
        for t in [
            "Object Deleted",
            "Object Restore Completed",
            "Object Tags Added",
            "Object ACL Updated",
            "Object Storage Class Changed",
            "Some Future Type",
        ] {
            assert_eq!(
                parse(&eb_moto(t, "in/a.pb")).unwrap(),
                Notification::Records {
                    objects: vec![],
                    skipped: 1
                },
                "{t}"
            );
        }
        // A deletion's detail has no etag or size, and may have any shape: still skipped.
        let deleted = r#"{"version":"0","detail-type":"Object Deleted","source":"aws.s3","detail":{"version":"0","bucket":{"name":"b"},"object":{"key":"k","sequencer":"1"},"reason":"DeleteObject","deletion-type":"Permanently Deleted"}}"#;
        assert_eq!(
            parse(deleted).unwrap(),
            Notification::Records {
                objects: vec![],
                skipped: 1
            }
        );
        // A folder marker created through the console.
        let folder = eb_moto("Object Created", "in/folder/").replace("\"size\":3", "\"size\":0");
        assert_eq!(
            parse(&folder).unwrap(),
            Notification::Records {
                objects: vec![],
                skipped: 1
            }
        );
    }

    #[test]
    fn eventbridge_in_sns_and_mixed_with_classic_shapes() {
        let sns =
            serde_json::json!({"Type": "Notification", "Message": EB_AWS_EXAMPLE}).to_string();
        assert_eq!(one(parse(&sns).unwrap()).key, "example-key");
        // The same object through both paths names the same object.
        let classic = one(parse(&MOTO.replace("in%2Fwith+space.pb", "in%2Fa.pb")).unwrap());
        let eb = one(parse(&eb_moto("Object Created", "in/a.pb")).unwrap());
        assert_eq!((classic.bucket, classic.key), (eb.bucket, eb.key));
    }

    #[test]
    fn eventbridge_bodies_of_another_shape_fail_saying_why() {
        let e = parse(&EB_AWS_EXAMPLE.replace("\"aws.s3\"", "\"aws.ec2\""))
            .unwrap_err()
            .to_string();
        assert!(e.contains("aws.ec2"), "{e}");
        let e = parse(r#"{"source": "aws.s3", "detail-type": "Object Created"}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("without \"detail\""), "{e}");
        let e = parse(
            r#"{"source": "aws.s3", "detail-type": "Object Created", "detail": {"bucket": {}}}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("unexpected shape"), "{e}");
        let e = parse(r#"{"source": "aws.s3", "detail": {}}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("without \"detail-type\""), "{e}");
        let e = parse(&eb_moto("Object Created", "bad%FFkey"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("\"bad%FFkey\"") && e.contains("probe"), "{e}");
    }
}
