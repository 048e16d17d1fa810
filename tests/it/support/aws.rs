//! SDK clients, buckets, queues and the `protolake poll` binary against the test's moto server,
//! plus the two EventBridge calls the tests need (moto's events API, AWS JSON 1.1, spoken with
//! a raw HTTP request rather than one more SDK crate).

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use aws_sdk_sqs::types::QueueAttributeName;

use super::moto::{moto, unique};
use super::{root, run_with, Run};

/// S3 and SQS clients for the test itself.
pub async fn clients() -> (aws_sdk_s3::Client, aws_sdk_sqs::Client) {
    let m = moto();
    let conf = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(&m.endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_sqs::config::Credentials::new(
            "test", "test", None, None, "static",
        ))
        .load()
        .await;
    (m.s3().await, aws_sdk_sqs::Client::new(&conf))
}

/// A new bucket with a name no other test uses.
pub async fn bucket(s3: &aws_sdk_s3::Client, prefix: &str) -> String {
    let name = unique(prefix);
    s3.create_bucket().bucket(&name).send().await.unwrap();
    name
}

/// Publishes the repository's example registry (descriptors/) under `schemas/`.
pub async fn publish_examples(s3: &aws_sdk_s3::Client, reg: &str) {
    for f in [
        "acme_events_v1.binpb",
        "acme_events_v2.binpb",
        "routes.json",
    ] {
        let body = std::fs::read(root().join("descriptors").join(f)).unwrap();
        s3.put_object()
            .bucket(reg)
            .key(format!("schemas/{f}"))
            .body(body.into())
            .send()
            .await
            .unwrap();
    }
}

/// The bytes of an object under examples/.
pub fn example(rel: &str) -> Vec<u8> {
    std::fs::read(root().join("examples").join(rel)).unwrap()
}

/// The JSON `protolake decode` gives for an example object (checked against the Python
/// reference by the fixture tests; the service must land the same bytes).
pub fn decode_example(rel: &str, ty: &str, framing: &str) -> String {
    let d = root().join("descriptors").display().to_string();
    let p = root().join("examples").join(rel).display().to_string();
    let r = super::run(&["decode", "-d", &d, "-t", ty, "--framing", framing, &p]);
    assert_eq!(r.status, Some(0), "{}", r.stderr);
    r.stdout_str()
}

/// An object's body, or None when it does not exist.
pub async fn get(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Option<String> {
    let o = s3.get_object().bucket(bucket).key(key).send().await.ok()?;
    Some(String::from_utf8(o.body.collect().await.unwrap().to_vec()).unwrap())
}

/// A queue's ARN.
pub async fn queue_arn(sqs: &aws_sdk_sqs::Client, url: &str) -> String {
    sqs.get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes()
        .unwrap()[&QueueAttributeName::QueueArn]
        .clone()
}

/// (visible, in flight) messages of a queue.
pub async fn depth(sqs: &aws_sdk_sqs::Client, url: &str) -> (u64, u64) {
    let a = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .unwrap();
    let attrs = a.attributes().unwrap();
    let n = |k: QueueAttributeName| attrs.get(&k).and_then(|v| v.parse().ok()).unwrap_or(0);
    (
        n(QueueAttributeName::ApproximateNumberOfMessages),
        n(QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
    )
}

/// Every object of a bucket, key -> body.
pub async fn landing_listing(s3: &aws_sdk_s3::Client, land: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let list = s3.list_objects_v2().bucket(land).send().await.unwrap();
    for o in list.contents() {
        let key = o.key().unwrap().to_owned();
        out.insert(key.clone(), get(s3, land, &key).await.unwrap());
    }
    out
}

/// `protolake poll --once` (the real binary) with the registry under `s3://REG/schemas/` and
/// the landing under `s3://LAND/json/`.
pub fn poll_once(queue: &str, reg: &str, land: &str) -> Run {
    let env = moto().env();
    let mut env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let registry = format!("s3://{reg}/schemas/");
    let landing = format!("s3://{land}/json/");
    env.push(("PROTOLAKE_REGISTRY", &registry));
    env.push(("PROTOLAKE_LANDING", &landing));
    run_with(
        &[
            "poll",
            "--queue-url",
            queue,
            "--once",
            "--wait-seconds",
            "1",
        ],
        None,
        &env,
        Duration::from_secs(120),
    )
}

/// One call of moto's EventBridge API (`AWSEvents.<action>`); returns the JSON answer.
pub fn events_call(action: &str, body: &serde_json::Value) -> serde_json::Value {
    let endpoint = &moto().endpoint;
    let addr = endpoint.trim_start_matches("http://");
    let body = body.to_string();
    // moto routes on the credential scope's service name; it does not check signatures.
    let request = format!(
        "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-amz-json-1.1\r\n\
         X-Amz-Target: AWSEvents.{action}\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential=test/20261126/us-east-1/events/aws4_request, SignedHeaders=host, Signature=0\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    s.read_to_string(&mut response).unwrap();
    let (head, payload) = response
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP answer to {action}: {response:?}"));
    assert!(
        head.starts_with("HTTP/1.1 200") || head.starts_with("HTTP/1.0 200"),
        "{action}: {head}\n{payload}"
    );
    serde_json::from_str(payload).unwrap_or_else(|e| panic!("{action}: {e}: {payload:?}"))
}

/// An EventBridge rule on the default bus with `pattern`, targeting the queue `queue_arn`.
/// Returns the rule's ARN.
pub fn eventbridge_rule_to_queue(pattern: &serde_json::Value, queue_arn: &str) -> String {
    let name = unique("protolake-rule");
    let rule = events_call(
        "PutRule",
        &serde_json::json!({"Name": name, "EventPattern": pattern.to_string(), "State": "ENABLED"}),
    );
    let targets = events_call(
        "PutTargets",
        &serde_json::json!({"Rule": name, "Targets": [{"Id": "queue", "Arn": queue_arn}]}),
    );
    assert_eq!(targets["FailedEntryCount"], 0, "{targets}");
    rule["RuleArn"].as_str().unwrap().to_owned()
}

/// The service as the Lambda builds it, on the test's moto: the registry under
/// `s3://REG/schemas/`, landing under `s3://LAND/<landing_prefix>`, with `output`.
pub async fn service(
    s3: &aws_sdk_s3::Client,
    reg: &str,
    land: &str,
    landing_prefix: &str,
    output: protolake::output::OutputOptions,
) -> std::sync::Arc<protolake::service::Service> {
    use protolake::store::s3::{self, S3Store};
    use protolake::store::Place;
    use std::sync::Arc;
    let registry = protolake::registry::RegistryCache::new(
        Place {
            store: Arc::new(S3Store::new(s3.clone(), reg.to_owned())),
            prefix: "schemas/".into(),
        },
        Duration::from_secs(60),
        Duration::from_secs(10),
    );
    Arc::new(protolake::service::Service {
        deps: protolake::pipeline::Deps {
            registry: Arc::new(registry),
            landing: Place {
                store: Arc::new(S3Store::new(s3.clone(), land.to_owned())),
                prefix: landing_prefix.into(),
            },
            output,
            json: Default::default(),
            limits: Default::default(),
        },
        buckets: s3::buckets(s3.clone()),
        on_missing: protolake::service::OnMissing::Ack,
        concurrency: 3,
        record_timeout: None,
    })
}
