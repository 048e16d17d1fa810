//! SQS events and S3 notification bodies as AWS (and moto) write them, for handler tests.

use aws_lambda_events::event::sqs::SqsEvent;

/// A notification body exactly as moto (and, but for `/`, S3) writes it: keys
/// percent-encoded, `+` for a space.
pub fn notification(bucket: &str, key: &str, etag: Option<&str>) -> String {
    let encoded: String = key
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            b' ' => "+".to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    let mut object = serde_json::json!({"key": encoded, "size": 1});
    if let Some(e) = etag {
        object["eTag"] = e.into();
    }
    serde_json::json!({"Records": [{"eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventTime": "2026-11-26T18:09:20.501Z", "eventName": "ObjectCreated:Put",
        "s3": {"s3SchemaVersion": "1.0", "configurationId": "to-sqs", "bucket": {"name": bucket, "arn": format!("arn:aws:s3:::{bucket}")}, "object": object}}]})
    .to_string()
}

/// An SQS event whose records carry `body` under message id `id`.
pub fn sqs_event(records: &[(&str, String)]) -> SqsEvent {
    let records: Vec<_> = records
        .iter()
        .map(|(id, body)| {
            serde_json::json!({
                "messageId": id, "receiptHandle": format!("rh-{id}"), "body": body,
                "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1764180560000",
                    "SenderId": "AIDAIENQZJOLO23YVJ4VO", "ApproximateFirstReceiveTimestamp": "1764180560001"},
                "messageAttributes": {}, "md5OfBody": "e4e68fb7bd0e697a0ae8f1bb342846b3",
                "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:protolake", "awsRegion": "us-east-1"
            })
        })
        .collect();
    serde_json::from_value(serde_json::json!({ "Records": records })).unwrap()
}
