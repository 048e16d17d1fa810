//! S3 -> EventBridge -> SQS -> `protolake poll`, end to end in moto: the bucket sends its
//! events to EventBridge (`EventBridgeConfiguration`), a rule like template.yaml's (plus
//! `Object Deleted`, to see it skipped) targets the queue, and the same bucket also notifies
//! the same queue the classic way, so one queue carries both shapes for the same objects.
//! moto 5.2.5 emits the EventBridge events itself; the test records what it puts on the queue.

use std::collections::BTreeMap;

use crate::support::aws::{
    bucket, clients, decode_example, depth, eventbridge_rule_to_queue, example, landing_listing,
    poll_once, publish_examples, queue_arn,
};
use crate::support::moto::unique;
use aws_sdk_s3::types::{
    Event, EventBridgeConfiguration, FilterRule, FilterRuleName, NotificationConfiguration,
    NotificationConfigurationFilter, QueueConfiguration, S3KeyFilter,
};
use serde_json::Value;

const VARINT_V2: &str = "events/pageviews/dt=2026-11-26/hour=09/part-0001.pb.gz";
const SINGLE_V2: &str =
    "events/pageview-singles/dt=2026-11-26/3d577cb4-ddbf-4d07-a9fe-294a859be7df.pb";
/// A key with a space and a plus: moto's EventBridge detail carries it raw.
const SPACE_PLUS: &str = "events/pageview-singles/dt=2026-11-26/with space+plus.pb";
const TO_DELETE: &str = "events/pageviews/dt=2026-11-26/hour=10/to-delete.pb.gz";
/// Outside the rule's and the classic filter's prefix: nothing may arrive for it.
const OUTSIDE: &str = "other/outside.pb";

/// Every message now in the queue, by id, without consuming any: received with a visibility
/// timeout of 0 until `want` distinct ids were seen (bounded).
async fn peek(sqs: &aws_sdk_sqs::Client, url: &str, want: usize) -> BTreeMap<String, Value> {
    let mut seen = BTreeMap::new();
    for _ in 0..20 {
        let r = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .visibility_timeout(0)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        for m in r.messages() {
            let body: Value = serde_json::from_str(m.body().unwrap()).unwrap();
            seen.insert(m.message_id().unwrap().to_owned(), body);
        }
        if seen.len() >= want {
            break;
        }
    }
    seen
}

fn is_eventbridge(b: &Value, detail_type: &str) -> bool {
    b["source"] == "aws.s3" && b["detail-type"] == detail_type
}

/// Polls until the queue is empty (bounded); every poll must succeed.
async fn drain(sqs: &aws_sdk_sqs::Client, queue: &str, reg: &str, land: &str) -> String {
    let mut logs = String::new();
    for _ in 0..10 {
        let r = poll_once(queue, reg, land);
        assert_eq!(r.status, Some(0), "poll failed: {}", r.stderr);
        logs.push_str(&r.stderr);
        if depth(sqs, queue).await == (0, 0) {
            return logs;
        }
    }
    panic!("the queue did not drain: {:?}", depth(sqs, queue).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eventbridge_and_classic_notifications_in_one_queue_land_each_object_once() {
    let (s3, sqs) = clients().await;
    let (reg, src, land) = (
        bucket(&s3, "reg").await,
        bucket(&s3, "src").await,
        bucket(&s3, "land").await,
    );
    publish_examples(&s3, &reg).await;
    let queue = sqs
        .create_queue()
        .queue_name(unique("ebq"))
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_owned();
    let arn = queue_arn(&sqs, &queue).await;

    // The bucket: classic notifications to the queue (created objects under events/), and
    // everything to EventBridge.
    s3.put_bucket_notification_configuration()
        .bucket(&src)
        .notification_configuration(
            NotificationConfiguration::builder()
                .queue_configurations(
                    QueueConfiguration::builder()
                        .queue_arn(&arn)
                        .events(Event::from("s3:ObjectCreated:*"))
                        .filter(
                            NotificationConfigurationFilter::builder()
                                .key(
                                    S3KeyFilter::builder()
                                        .filter_rules(
                                            FilterRule::builder()
                                                .name(FilterRuleName::Prefix)
                                                .value("events/")
                                                .build(),
                                        )
                                        .build(),
                                )
                                .build(),
                        )
                        .build()
                        .unwrap(),
                )
                .event_bridge_configuration(EventBridgeConfiguration::builder().build())
                .build(),
        )
        .send()
        .await
        .unwrap();
    // template.yaml's rule, with Object Deleted added so that the skip is exercised.
    let rule = eventbridge_rule_to_queue(
        &serde_json::json!({
            "source": ["aws.s3"],
            "detail-type": ["Object Created", "Object Deleted"],
            "detail": {"bucket": {"name": [src]}, "object": {"key": [{"prefix": "events/"}]}}
        }),
        &arn,
    );
    assert!(rule.starts_with("arn:aws:events:us-east-1:"), "{rule}");

    let objects: Vec<(&str, Vec<u8>, Option<&str>)> = vec![
        (VARINT_V2, example(VARINT_V2), None),
        (SINGLE_V2, example(SINGLE_V2), None),
        (SPACE_PLUS, example(SINGLE_V2), None),
        (TO_DELETE, example(VARINT_V2), None),
        (OUTSIDE, example(SINGLE_V2), Some("acme.events.v2.PageView")),
    ];
    for (key, body, ty) in &objects {
        let mut req = s3
            .put_object()
            .bucket(&src)
            .key(*key)
            .body(body.clone().into());
        if let Some(t) = ty {
            req = req.metadata("proto-type", *t);
        }
        req.send().await.unwrap();
    }

    // What moto put on the queue: the s3:TestEvent, one classic and one EventBridge message
    // per object under events/, nothing for other/.
    let bodies = peek(&sqs, &queue, 9).await;
    let eb: Vec<&Value> = bodies
        .values()
        .filter(|b| is_eventbridge(b, "Object Created"))
        .collect();
    let classic = bodies
        .values()
        .filter(|b| b.get("Records").is_some())
        .count();
    let test = bodies
        .values()
        .filter(|b| b["Event"] == "s3:TestEvent")
        .count();
    assert_eq!(
        (bodies.len(), eb.len(), classic, test),
        (9, 4, 4, 1),
        "{bodies:#?}"
    );
    let mut eb_keys: Vec<&str> = eb
        .iter()
        .map(|b| b["detail"]["object"]["key"].as_str().unwrap())
        .collect();
    eb_keys.sort();
    let mut want: Vec<&str> = objects[..4].iter().map(|(k, _, _)| *k).collect();
    want.sort();
    assert_eq!(
        eb_keys, want,
        "moto 5.2.5 writes EventBridge keys raw (space and + as they are)"
    );
    let o = &eb[0]["detail"]["object"];
    assert!(
        o["eTag"].is_string() && o.get("etag").is_none() && o["version-id"] == "null",
        "moto's spelling: eTag, and version-id \"null\" on an unversioned bucket: {o}"
    );

    drain(&sqs, &queue, &reg, &land).await;
    let landed = landing_listing(&s3, &land).await;
    let mut expected: BTreeMap<String, String> = BTreeMap::new();
    for (key, _, _) in &objects[..4] {
        let (rel, framing) = if key.starts_with("events/pageviews/") {
            (VARINT_V2, "varint")
        } else {
            (SINGLE_V2, "single")
        };
        expected.insert(
            format!("json/{src}/{key}.ndjson"),
            decode_example(rel, "acme.events.v2.PageView", framing),
        );
    }
    assert_eq!(
        landed, expected,
        "each object landed once, byte-identical, whichever notification came first"
    );

    // A deletion: EventBridge's Object Deleted is acknowledged and skipped, nothing lands.
    s3.delete_object()
        .bucket(&src)
        .key(TO_DELETE)
        .send()
        .await
        .unwrap();
    let bodies = peek(&sqs, &queue, 1).await;
    assert_eq!(bodies.len(), 1, "{bodies:#?}");
    let deleted = bodies.values().next().unwrap();
    assert!(is_eventbridge(deleted, "Object Deleted"), "{deleted}");
    assert_eq!(deleted["detail"]["object"]["key"], TO_DELETE);
    let logs = drain(&sqs, &queue, &reg, &land).await;
    assert!(
        logs.contains("EventBridge event acknowledged and skipped")
            && logs.contains("Object Deleted"),
        "the skip is logged: {logs}"
    );
    assert_eq!(
        landing_listing(&s3, &land).await,
        expected,
        "the deletion landed (and removed) nothing"
    );
    assert_eq!(depth(&sqs, &queue).await, (0, 0));
}
