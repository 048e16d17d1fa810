//! The service against real S3 and SQS protocols (moto server on 127.0.0.1): the Lambda
//! handler fed SQS events as AWS sends them, and `protolake poll` end to end with S3
//! notifications, a dead-letter queue and redelivery.

use std::sync::Arc;
use std::time::Duration;

use crate::support::aws::{
    bucket, clients, decode_example, depth, example, get, landing_listing, poll_once,
    publish_examples,
};
use crate::support::events::{notification, sqs_event};
use crate::support::moto::unique;
use aws_sdk_sqs::types::QueueAttributeName;
use lambda_runtime::{Context, LambdaEvent};
use protolake::service::{OnMissing, Service};

const VARINT_V2: &str = "events/pageviews/dt=2026-11-26/hour=09/part-0001.pb.gz";
const SINGLE_V2: &str =
    "events/pageview-singles/dt=2026-11-26/3d577cb4-ddbf-4d07-a9fe-294a859be7df.pb";
const VARINT_V1: &str = "legacy/pageviews/dt=2026-11-25/part-0001.pb.gz";

async fn service(s3: &aws_sdk_s3::Client, reg: &str, land: &str) -> Arc<Service> {
    crate::support::aws::service(s3, reg, land, "json/", Default::default()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handler_reports_exactly_the_failed_records() {
    let (s3, _) = clients().await;
    let (reg, src, land) = (
        bucket(&s3, "reg").await,
        bucket(&s3, "src").await,
        bucket(&s3, "land").await,
    );
    publish_examples(&s3, &reg).await;
    let put = |key: &'static str, body: Vec<u8>, meta: Option<(&'static str, &'static str)>| {
        let (s3, src) = (s3.clone(), src.clone());
        async move {
            let mut req = s3.put_object().bucket(&src).key(key).body(body.into());
            if let Some((k, v)) = meta {
                req = req.metadata(k, v);
            }
            req.send()
                .await
                .unwrap()
                .e_tag()
                .unwrap()
                .trim_matches('"')
                .to_owned()
        }
    };
    let good = put(VARINT_V2, example(VARINT_V2), None).await;
    // Metadata routes this one: no route matches its key.
    let meta = put(
        "inbox/ünï code file.pb",
        example(SINGLE_V2),
        Some(("proto-type", "acme.events.v2.PageView")),
    )
    .await;
    let corrupt = put(
        "events/pageviews/dt=2026-11-26/corrupt.pb.gz",
        b"\x1f\x8b\x08\x00garbage".to_vec(),
        None,
    )
    .await;
    put("events/pageview-singles/stale.pb", example(SINGLE_V2), None).await;
    // Overwritten after its notification: the notification's ETag no longer matches.
    put(
        "events/pageview-singles/stale.pb",
        example(SINGLE_V2)[..10].to_vec(),
        None,
    )
    .await;
    let sns = serde_json::json!({"Type": "Notification", "MessageId": "sns-1", "TopicArn": "arn:aws:sns:us-east-1:123456789012:t",
        "Message": notification(&src, "inbox/ünï code file.pb", Some(&meta))}).to_string();
    let event = sqs_event(&[
        ("m-good", notification(&src, VARINT_V2, Some(&good))),
        ("m-sns", sns),
        ("m-test", r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2026-11-26T18:09:20.476Z","Bucket":"x"}"#.into()),
        ("m-garbage", "this is not a notification".into()),
        ("m-missing", notification(&src, "events/pageviews/deleted.pb.gz", None)),
        ("m-badkey", notification(&src, "x", None).replace("\"key\":\"x\"", "\"key\":\"bad%zzkey\"")),
        ("m-corrupt", notification(&src, "events/pageviews/dt=2026-11-26/corrupt.pb.gz", Some(&corrupt))),
        ("m-stale", notification(&src, "events/pageview-singles/stale.pb", Some("0123456789abcdef0123456789abcdef"))),
    ]);
    let svc = service(&s3, &reg, &land).await;
    let response = protolake::lambda::handler(LambdaEvent::new(event, Context::default()), svc)
        .await
        .unwrap();
    let mut failed: Vec<String> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect();
    failed.sort();
    assert_eq!(failed, vec!["m-badkey", "m-corrupt", "m-garbage"]);
    // The response shape SQS reads (ReportBatchItemFailures).
    let json = serde_json::to_value(&response).unwrap();
    assert_eq!(json["batchItemFailures"].as_array().unwrap().len(), 3);
    assert!(json["batchItemFailures"][0]["itemIdentifier"]
        .as_str()
        .unwrap()
        .starts_with("m-"));
    assert_eq!(
        get(&s3, &land, &format!("json/{src}/{VARINT_V2}.ndjson"))
            .await
            .unwrap(),
        decode_example(VARINT_V2, "acme.events.v2.PageView", "varint")
    );
    assert_eq!(
        get(
            &s3,
            &land,
            &format!("json/{src}/inbox/ünï code file.pb.ndjson")
        )
        .await
        .unwrap(),
        decode_example(SINGLE_V2, "acme.events.v2.PageView", "single")
    );
    assert!(get(
        &s3,
        &land,
        &format!("json/{src}/events/pageviews/dt=2026-11-26/corrupt.pb.gz.ndjson")
    )
    .await
    .is_none());
    assert!(
        get(
            &s3,
            &land,
            &format!("json/{src}/events/pageview-singles/stale.pb.ndjson")
        )
        .await
        .is_none(),
        "a stale notification lands nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_missing_object_fail_dead_letters_the_record() {
    let (s3, _) = clients().await;
    let (reg, src, land) = (
        bucket(&s3, "reg").await,
        bucket(&s3, "src").await,
        bucket(&s3, "land").await,
    );
    publish_examples(&s3, &reg).await;
    let svc = service(&s3, &reg, &land).await;
    let mut strict = Arc::try_unwrap(svc).ok().unwrap();
    strict.on_missing = OnMissing::Fail;
    let strict = Arc::new(strict);
    let event = sqs_event(&[(
        "gone",
        notification(&src, "events/pageviews/gone.pb.gz", None),
    )]);
    let r = protolake::lambda::handler(LambdaEvent::new(event, Context::default()), strict)
        .await
        .unwrap();
    assert_eq!(
        r.batch_item_failures.len(),
        1,
        "PROTOLAKE_ON_MISSING_OBJECT=fail dead-letters it"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_notifications_through_sqs_and_poll_land_once_and_dead_letter_the_corrupt_one() {
    let (s3, sqs) = clients().await;
    let (reg, src, land) = (
        bucket(&s3, "reg").await,
        bucket(&s3, "src").await,
        bucket(&s3, "land").await,
    );
    publish_examples(&s3, &reg).await;
    let dlq = sqs
        .create_queue()
        .queue_name(unique("dlq"))
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_owned();
    let dlq_arn = sqs
        .get_queue_attributes()
        .queue_url(&dlq)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes()
        .unwrap()[&QueueAttributeName::QueueArn]
        .clone();
    let queue = sqs
        .create_queue()
        .queue_name(unique("q"))
        .attributes(QueueAttributeName::VisibilityTimeout, "1")
        .attributes(
            QueueAttributeName::RedrivePolicy,
            serde_json::json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "2"}).to_string(),
        )
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_owned();
    let queue_arn = sqs
        .get_queue_attributes()
        .queue_url(&queue)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes()
        .unwrap()[&QueueAttributeName::QueueArn]
        .clone();
    use aws_sdk_s3::types::{Event, NotificationConfiguration, QueueConfiguration};
    s3.put_bucket_notification_configuration()
        .bucket(&src)
        .notification_configuration(
            NotificationConfiguration::builder()
                .queue_configurations(
                    QueueConfiguration::builder()
                        .queue_arn(&queue_arn)
                        .events(Event::from("s3:ObjectCreated:*"))
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    let objects: Vec<(&str, Vec<u8>, Option<&str>)> = vec![
        (VARINT_V2, example(VARINT_V2), None),
        (VARINT_V1, example(VARINT_V1), None),
        (SINGLE_V2, example(SINGLE_V2), None),
        (
            "drop/with spaces/été+plus.bin",
            example(SINGLE_V2),
            Some("acme.events.v2.PageView"),
        ),
        (
            "events/pageviews/dt=2026-11-26/corrupt.pb.gz",
            b"\x1f\x8b\x08\x00 definitely not gzip".to_vec(),
            None,
        ),
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
    // Receive until the queue is drained: the corrupt object's message is received twice and
    // then moved to the dead-letter queue by SQS (moto implements the redrive).
    let mut failures = 0;
    for _ in 0..30 {
        let r = poll_once(&queue, &reg, &land);
        assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
        if r.status == Some(1) {
            failures += 1;
        }
        if depth(&sqs, &queue).await == (0, 0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(1100)).await;
    }
    assert_eq!(depth(&sqs, &queue).await, (0, 0), "the queue drained");
    assert!(failures >= 2, "the corrupt object failed on each receive");
    assert_eq!(
        depth(&sqs, &dlq).await.0,
        1,
        "exactly the corrupt object's message is dead-lettered"
    );
    let landed = landing_listing(&s3, &land).await;
    let expected_keys: Vec<String> = objects[..4]
        .iter()
        .map(|(k, _, _)| format!("json/{src}/{k}.ndjson"))
        .collect();
    assert_eq!(landed.keys().cloned().collect::<Vec<_>>(), {
        let mut k = expected_keys.clone();
        k.sort();
        k
    });
    assert_eq!(
        landed[&format!("json/{src}/{VARINT_V1}.ndjson")],
        decode_example(VARINT_V1, "acme.events.v1.PageView", "varint")
    );
    assert_eq!(
        landed[&format!("json/{src}/{VARINT_V2}.ndjson")],
        decode_example(VARINT_V2, "acme.events.v2.PageView", "varint")
    );

    // Every notification again: the landing prefix stays byte-identical, no duplicates.
    for (key, _, _) in &objects[..4] {
        sqs.send_message()
            .queue_url(&queue)
            .message_body(notification(&src, key, None))
            .send()
            .await
            .unwrap();
    }
    for _ in 0..10 {
        let r = poll_once(&queue, &reg, &land);
        assert_eq!(r.status, Some(0), "{}", r.stderr);
        if depth(&sqs, &queue).await == (0, 0) {
            break;
        }
    }
    assert_eq!(depth(&sqs, &queue).await, (0, 0));
    assert_eq!(
        landing_listing(&s3, &land).await,
        landed,
        "re-delivery rewrote identical bytes, nothing more"
    );
}
