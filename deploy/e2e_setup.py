#!/usr/bin/env python3
"""Fixtures for deploy/e2e.sh: one source of truth for the objects, their keys and the SQS
events that name them.

  e2e_setup.py events            rewrite deploy/events/*.json (committed; run after changing
                                 OBJECTS or the examples, the eTags and sizes are in the events)
  e2e_setup.py setup [--notify]  create the buckets in the S3 at $AWS_ENDPOINT_URL (moto), publish
                                 descriptors/ as the registry, upload the objects; --notify first
                                 creates the SQS queue and the bucket notification (for `poll`)
  e2e_setup.py check RESP DIR    check the invoke response RESP against the events, and that
                                 every good object landed (written to DIR) and nothing else did

Bucket names are fixed: moto is fresh per e2e run. Runs with the project venv (.venv has boto3,
pulled in by moto); `events` needs only the standard library.
"""

import hashlib
import json
import os
import sys
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EVENTS = ROOT / "deploy" / "events"

REGION = "us-east-1"
ACCOUNT = "123456789012"
SOURCE = "protolake-e2e-source"
REGISTRY = "protolake-e2e-registry"
REGISTRY_PREFIX = "registry/"
LANDING = "protolake-e2e-landing"
LANDING_PREFIX = "landing/"
QUEUE_ARN = f"arn:aws:sqs:{REGION}:{ACCOUNT}:protolake-e2e-queue"

# (kind, source key, example file or None). Kinds:
#   good     lands as <landing>/<bucket>/<key>.ndjson, identical to `protolake run` on examples/
#   corrupt  uploaded truncated: the handler must report exactly this record as failed
#   missing  never uploaded (deleted since the notification): acked under ON_MISSING_OBJECT=ack
# (and in the batch only: "test", the s3:TestEvent, and "skip", an EventBridge Object Deleted,
# both acknowledged with nothing landed)
OBJECTS = [
    ("good", "events/pageviews/dt=2026-11-26/hour=09/part-0000.pb.gz",
     "events/pageviews/dt=2026-11-26/hour=09/part-0000.pb.gz"),
    ("good", "legacy/pageviews/dt=2026-11-25/part-0000.pb.gz",
     "legacy/pageviews/dt=2026-11-25/part-0000.pb.gz"),
    # A key with a space and a plus: arrives as "with+space%2Bplus.pb" and must decode back.
    ("good", "events/pageview-singles/dt=2026-11-26/with space+plus.pb",
     "events/pageview-singles/dt=2026-11-26/3d577cb4-ddbf-4d07-a9fe-294a859be7df.pb"),
    ("good", "events/pageview-singles/dt=2026-11-26/69e898a0-2bbf-4c7a-b33d-a73721b307f7.pb.gz",
     "events/pageview-singles/dt=2026-11-26/69e898a0-2bbf-4c7a-b33d-a73721b307f7.pb.gz"),
    ("corrupt", "events/pageviews/dt=2026-11-26/hour=12/part-0000.pb.gz",
     "events/pageviews/dt=2026-11-26/hour=10/part-0000.pb.gz"),
    ("missing", "events/pageviews/dt=2026-11-26/hour=13/part-0000.pb.gz", None),
]


def content(kind, example):
    if example is None:
        return None
    data = (ROOT / "examples" / example).read_bytes()
    if kind == "corrupt":
        # Cut mid-deflate-stream: gzip header intact, body truncated, no trailer.
        return data[: len(data) // 2]
    return data


def s3_key_encoding(key):
    """How real S3 writes keys into notifications: form-URL-encoded, "/" kept."""
    return urllib.parse.quote_plus(key, safe="/")


def moto_key_encoding(key):
    """How moto 5.2.5 writes them: Python quote_plus with nothing safe ("/" -> %2F)."""
    return urllib.parse.quote_plus(key, safe="")


def s3_body(key, data, seq, moto_style=False):
    """The notification body exactly as S3 (or moto) serialises it: compact JSON."""
    obj = {
        "key": (moto_key_encoding if moto_style else s3_key_encoding)(key),
        "size": len(data) if data is not None else 1234,
        "eTag": hashlib.md5(data).hexdigest() if data is not None else "0f343b0931126a20f133d67c2b018a3b",
    }
    if moto_style:
        record = {
            "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": REGION,
            "eventTime": f"2026-11-26T18:09:2{seq}.501Z", "eventName": "ObjectCreated:Put",
            "s3": {"s3SchemaVersion": "1.0", "configurationId": "to-sqs",
                   "bucket": {"name": SOURCE, "arn": f"arn:aws:s3:::{SOURCE}"}, "object": obj},
        }
        return json.dumps({"Records": [record]})  # moto writes ", " / ": " separators
    obj["sequencer"] = f"00674A1B2C3D4E5F{seq:02X}"
    record = {
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": REGION,
        "eventTime": f"2026-11-26T10:00:0{seq}.123Z", "eventName": "ObjectCreated:Put",
        "userIdentity": {"principalId": "AWS:AROAEXAMPLEROLEID:producer"},
        "requestParameters": {"sourceIPAddress": "10.0.3.17"},
        "responseElements": {"x-amz-request-id": f"C3D13FE58DE4C81{seq}",
                             "x-amz-id-2": "FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD"},
        "s3": {"s3SchemaVersion": "1.0", "configurationId": "protolake",
               "bucket": {"name": SOURCE, "ownerIdentity": {"principalId": "A3NL1KOZZKEXAMPLE"},
                          "arn": f"arn:aws:s3:::{SOURCE}"},
               "object": obj},
    }
    return json.dumps({"Records": [record]}, separators=(",", ":"))


def eventbridge_body(detail_type, key, data, seq):
    """An S3 event through EventBridge, as the rule in template.yaml puts it on the queue: the
    event itself, shaped like the S3 guide's examples ("etag"), the key as it is (moto sends it
    raw; see notify::eventbridge_key for what protolake does with either form)."""
    obj = {"key": key, "sequencer": f"00674A1B2C3D4E5F{seq:02X}"}
    if detail_type == "Object Created":
        obj = {"key": key, "size": len(data), "etag": hashlib.md5(data).hexdigest(),
               "sequencer": obj["sequencer"]}
    detail = {"version": "0", "bucket": {"name": SOURCE}, "object": obj,
              "request-id": f"N4N7GDK58NMKJ1{seq:02d}", "requester": ACCOUNT,
              "source-ip-address": "10.0.3.17",
              "reason": "PutObject" if detail_type == "Object Created" else "DeleteObject"}
    if detail_type == "Object Deleted":
        detail["deletion-type"] = "Permanently Deleted"
    event = {"version": "0", "id": f"17793124-05d4-b198-2fde-7ededc63b1{seq:02d}",
             "detail-type": detail_type, "source": "aws.s3", "account": ACCOUNT,
             "time": f"2026-11-26T10:00:{seq:02d}Z", "region": REGION,
             "resources": [f"arn:aws:s3:::{SOURCE}"], "detail": detail}
    return json.dumps(event, separators=(",", ":"))


def sqs_record(n, body):
    message_id = f"5f8b3c2e-0000-4000-8000-{n:012d}"
    return {
        "messageId": message_id,
        "receiptHandle": f"AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a{n:04d}EXAMPLEhandle==",
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": str(1795687200000 + n),
            "SenderId": "AROAEXAMPLES3SERVICE:S3-PROD-END",
            "ApproximateFirstReceiveTimestamp": str(1795687200500 + n),
        },
        "messageAttributes": {},
        "md5OfBody": hashlib.md5(body.encode()).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": QUEUE_ARN,
        "awsRegion": REGION,
    }


def batch():
    """(records, expectations): one record per object, a moto-style body, the s3:TestEvent, and
    two EventBridge events (an Object Created with a raw key, an Object Deleted)."""
    records, expect = [], []
    for n, (kind, key, example) in enumerate(OBJECTS, start=1):
        records.append(sqs_record(n, s3_body(key, content(kind, example), n)))
        expect.append({"messageId": records[-1]["messageId"], "kind": kind, "key": key, "example": example})
    # The same first object again, as moto words it ("/" as %2F, no sequencer/userIdentity):
    # a duplicate delivery must land the same bytes and succeed.
    kind, key, example = OBJECTS[0]
    n = len(records) + 1
    records.append(sqs_record(n, s3_body(key, content(kind, example), n, moto_style=True)))
    expect.append({"messageId": records[-1]["messageId"], "kind": kind, "key": key, "example": example})
    # What S3 sends once when the notification is configured: acked, nothing lands.
    n += 1
    test_body = json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent",
                            "Time": "2026-11-26T09:59:59.000Z", "Bucket": SOURCE,
                            "RequestId": "5582815E1AEA5ADF", "HostId": "8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3e"},
                           separators=(",", ":"))
    records.append(sqs_record(n, test_body))
    expect.append({"messageId": records[-1]["messageId"], "kind": "test", "key": None, "example": None})
    # The key with a space and a plus again, through EventBridge (one queue carries both
    # shapes): it lands the same bytes at the same key.
    kind, key, example = OBJECTS[2]
    n += 1
    records.append(sqs_record(n, eventbridge_body("Object Created", key, content(kind, example), n)))
    expect.append({"messageId": records[-1]["messageId"], "kind": kind, "key": key, "example": example})
    # A deletion through EventBridge (a rule wider than template.yaml's): acked, nothing lands.
    kind, key, example = OBJECTS[5]
    n += 1
    records.append(sqs_record(n, eventbridge_body("Object Deleted", key, None, n)))
    expect.append({"messageId": records[-1]["messageId"], "kind": "skip", "key": key, "example": None})
    assert len(records) <= 10, "BatchSize is 10"
    return records, expect


def cmd_events():
    EVENTS.mkdir(parents=True, exist_ok=True)
    records, expect = batch()
    (EVENTS / "sqs-batch.json").write_text(json.dumps({"Records": records}, indent=2) + "\n")
    (EVENTS / "sqs-batch.expect.json").write_text(json.dumps(expect, indent=2) + "\n")
    print(f"wrote {EVENTS}/sqs-batch.json ({len(records)} records) and sqs-batch.expect.json")


def cmd_setup(notify=False):
    import boto3

    s3 = boto3.client("s3", region_name=REGION)
    for b in (SOURCE, REGISTRY, LANDING):
        s3.create_bucket(Bucket=b)
    if notify:
        # The real path, for `protolake poll`: a queue, and the source bucket notifying it, set
        # before the uploads so that each one sends a notification (plus one s3:TestEvent now).
        sqs = boto3.client("sqs", region_name=REGION)
        url = sqs.create_queue(QueueName=QUEUE_ARN.rsplit(":", 1)[1],
                               Attributes={"VisibilityTimeout": "60"})["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        s3.put_bucket_notification_configuration(Bucket=SOURCE, NotificationConfiguration={
            "QueueConfigurations": [{"Id": "protolake", "QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}]})
        print(f"queue {url} notified by s3://{SOURCE}")
    for f in sorted((ROOT / "descriptors").iterdir()):
        if f.suffix == ".binpb" or f.name == "routes.json":
            s3.put_object(Bucket=REGISTRY, Key=REGISTRY_PREFIX + f.name, Body=f.read_bytes())
    n = 0
    for kind, key, example in OBJECTS:
        data = content(kind, example)
        if data is None:
            continue
        resp = s3.put_object(Bucket=SOURCE, Key=key, Body=data)
        assert resp["ETag"].strip('"') == hashlib.md5(data).hexdigest()
        n += 1
    print(f"buckets {SOURCE}, {REGISTRY}, {LANDING}; registry s3://{REGISTRY}/{REGISTRY_PREFIX}; {n} source objects")


def cmd_check(resp_path, local_landing):
    """Exit 1 with a reason unless the response and the landing bucket are exactly right."""
    import boto3

    problems = []
    expect = json.loads((EVENTS / "sqs-batch.expect.json").read_text())
    raw = Path(resp_path).read_text().strip()
    try:
        resp = json.loads(raw)
    except ValueError:
        print(f"FAIL: the response is not JSON: {raw[:500]!r}")
        return 1
    failures = resp.get("batchItemFailures") if isinstance(resp, dict) else None
    if not isinstance(failures, list):
        problems.append(f"no batchItemFailures list in the response: {raw[:300]}")
        failures = []
    got = sorted(f.get("itemIdentifier") for f in failures)
    want = sorted(e["messageId"] for e in expect if e["kind"] == "corrupt")
    if got != want:
        problems.append(f"batchItemFailures {got}, expected {want} (the corrupt record only)")

    s3 = boto3.client("s3", region_name=REGION)
    landed = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=LANDING):
        for o in page.get("Contents", []):
            landed[o["Key"]] = o["Size"]
    expected_keys = {}
    for e in expect:
        if e["kind"] == "good":
            expected_keys[f"{LANDING_PREFIX}{SOURCE}/{e['key']}.ndjson"] = e["example"]
    for key, example in sorted(expected_keys.items()):
        if key not in landed:
            problems.append(f"missing landing object s3://{LANDING}/{key}")
            continue
        body = s3.get_object(Bucket=LANDING, Key=key)["Body"].read()
        ref = Path(local_landing) / (example + ".ndjson")
        if ref.is_file():
            if body != ref.read_bytes():
                problems.append(f"s3://{LANDING}/{key} differs from `protolake run`'s {ref}")
        else:
            problems.append(f"no reference output {ref}")
        lines = body.decode().splitlines()
        if not lines or not all(l.startswith("{") for l in lines):
            problems.append(f"s3://{LANDING}/{key} is not NDJSON ({len(body)} bytes)")
    for key in sorted(set(landed) - set(expected_keys)):
        problems.append(f"unexpected landing object s3://{LANDING}/{key} (corrupt/missing/test records must land nothing)")
    if problems:
        for p in problems:
            print(f"FAIL: {p}")
        return 1
    print(f"OK: batchItemFailures = {got}; {len(expected_keys)} landing objects, byte-identical to `protolake run`; nothing else landed")
    return 0


def main(argv):
    if argv[1:2] == ["events"]:
        cmd_events()
    elif argv[1:2] == ["setup"] and argv[2:] in ([], ["--notify"]):
        cmd_setup(notify=argv[2:] == ["--notify"])
    elif argv[1:2] == ["check"] and len(argv) == 4:
        return cmd_check(argv[2], argv[3])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
