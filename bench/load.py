#!/usr/bin/env python3
"""Load: 10,000 small objects through moto: S3 notifications -> SQS -> `protolake poll`.

Starts moto server on a free 127.0.0.1 port, publishes the example registry, creates a
queue with a dead-letter queue (maxReceiveCount 2) fed by the source bucket's real S3
notifications, starts `protolake poll` workers (release binary), and uploads N good objects
(an example PageView) plus a handful of deliberately corrupt ones from a thread pool. When
the queue has drained it stops the workers with SIGTERM and prints objects/s, p50/p99
per-object latency (upload acknowledged -> the worker's "object landed" log line, same
clock), and checks the invariant:

    landed == the good objects sent (same keys, every body the expected NDJSON),
    no extra landing object, nothing left in the queue,
    the DLQ holding exactly the corrupt objects' notifications.

Exits non-zero if the invariant does not hold.

With --backfill the bucket sends no notifications: the objects are uploaded first, then
`protolake backfill` lists them and enqueues one notification each (SendMessageBatch), and
the figures add its messages sent per second; latency is then counted from the start of the
backfill (how long the backlog takes to drain), not from each upload.

    .venv/bin/python bench/load.py [--objects 10000] [--corrupt 5] [--workers 2] [--concurrency 16] [--backfill]
"""
import argparse
import concurrent.futures
import hashlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from datetime import datetime

import boto3
from botocore.config import Config

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# PROTOLAKE_BIN: another build of it (a shared CARGO_TARGET_DIR, or a debug build to try things).
BIN = os.environ.get("PROTOLAKE_BIN", os.path.join(ROOT, "target/release/protolake"))
EXAMPLE = "events/pageview-singles/dt=2026-11-26/3d577cb4-ddbf-4d07-a9fe-294a859be7df.pb"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def percentile(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]


LANDED = re.compile(r"^(\S+)\s+INFO .*object landed.* key=(\S+)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--objects", type=int, default=10000)
    ap.add_argument("--corrupt", type=int, default=5)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--timeout", type=int, default=900, help="hang guard, seconds")
    ap.add_argument("--batch", type=int, default=100, help="objects uploaded between backlog checks")
    ap.add_argument("--max-backlog", type=int, default=200,
                    help="pause uploading while more messages than this are queued")
    ap.add_argument("--backfill", action="store_true",
                    help="no bucket notifications: upload everything, then `protolake backfill` enqueues it")
    args = ap.parse_args()
    if not os.path.exists(BIN):
        print("%s is missing: cargo build --release" % BIN, file=sys.stderr)
        return 2
    body = open(os.path.join(ROOT, "examples", EXAMPLE), "rb").read()
    expected = subprocess.run([BIN, "decode", "-d", os.path.join(ROOT, "descriptors"), "-t", "acme.events.v2.PageView",
                               os.path.join(ROOT, "examples", EXAMPLE)], check=True, capture_output=True).stdout
    expected_etag = hashlib.md5(expected).hexdigest()
    good = ["events/pageview-singles/dt=2026-11-27/load-%05d.pb" % i for i in range(args.objects)]
    corrupt = ["events/pageview-singles/dt=2026-11-27/corrupt-%d.pb" % i for i in range(args.corrupt)]

    port = free_port()
    endpoint = "http://127.0.0.1:%d" % port
    moto = subprocess.Popen([os.path.join(ROOT, ".venv/bin/moto_server"), "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers, logs = [], []
    try:
        for _ in range(600):
            try:
                urllib.request.urlopen(endpoint + "/moto-api/", timeout=1)
                break
            except Exception:
                time.sleep(0.1)
        kw = dict(endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test",
                  config=Config(max_pool_connections=32, retries={"max_attempts": 5, "mode": "standard"}))
        s3, sqs = boto3.client("s3", **kw), boto3.client("sqs", **kw)
        for b in ["load-src", "load-reg", "load-land"]:
            s3.create_bucket(Bucket=b)
        for f in ["acme_events_v1.binpb", "acme_events_v2.binpb", "routes.json"]:
            s3.upload_file(os.path.join(ROOT, "descriptors", f), "load-reg", "schemas/" + f)
        dlq = sqs.create_queue(QueueName="load-dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        q = sqs.create_queue(QueueName="load", Attributes={
            "VisibilityTimeout": "10",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "2"})})["QueueUrl"]
        q_arn = sqs.get_queue_attributes(QueueUrl=q, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        if not args.backfill:
            s3.put_bucket_notification_configuration(Bucket="load-src", NotificationConfiguration={
                "QueueConfigurations": [{"QueueArn": q_arn, "Events": ["s3:ObjectCreated:*"]}]})

        env = dict(os.environ, AWS_ENDPOINT_URL=endpoint, AWS_REGION="us-east-1", AWS_ACCESS_KEY_ID="test",
                   AWS_SECRET_ACCESS_KEY="test", AWS_EC2_METADATA_DISABLED="true",
                   PROTOLAKE_REGISTRY="s3://load-reg/schemas/", PROTOLAKE_LANDING="s3://load-land/json/",
                   PROTOLAKE_CONCURRENCY=str(args.concurrency), PROTOLAKE_LOG="info", NO_COLOR="1")
        for i in range(args.workers):
            log = tempfile.TemporaryFile()
            logs.append(log)
            workers.append(subprocess.Popen([BIN, "poll", "--queue-url", q, "--wait-seconds", "1"], env=env,
                                            stdout=subprocess.DEVNULL, stderr=log))

        uploaded = {}

        def put(key, data):
            s3.put_object(Bucket="load-src", Key=key, Body=data)
            uploaded[key] = time.time()

        started = time.time()
        jobs = [(k, body) for k in good]
        # The corrupt ones spread through the run.
        step = max(1, len(good) // (len(corrupt) + 1))
        for n, k in enumerate(corrupt):
            jobs.insert((n + 1) * step + n, (k, b"\xff\xff\xff\xff corrupt"))
        def depth(url):
            a = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
                "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
            return int(a["ApproximateNumberOfMessages"]) + int(a["ApproximateNumberOfMessagesNotVisible"])

        # Backpressure: moto's S3 -> SQS notification costs grow with the queue's depth (each
        # PUT gets slower as messages pile up), so the producer waits while the backlog is
        # deep instead of flooding moto; the figures then measure the pipeline, not moto's
        # slowdown.
        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            for at in range(0, len(jobs), args.batch):
                list(pool.map(lambda kv: put(*kv), jobs[at:at + args.batch]))
                while depth(q) > args.max_backlog:
                    time.sleep(0.2)
        upload_secs = time.time() - started
        print("uploaded %d objects in %.1f s" % (len(jobs), upload_secs), flush=True)
        backfill_line = None
        if args.backfill:
            started = time.time()
            for k in uploaded:
                uploaded[k] = started
            bf = subprocess.run([BIN, "backfill", "--queue-url", q, "s3://load-src/events/"], env=env,
                                capture_output=True, text=True, timeout=args.timeout)
            backfill_secs = time.time() - started
            lines = [l for l in bf.stderr.splitlines() if l.startswith("protolake backfill: ")]
            print(bf.stderr.strip(), flush=True)
            if bf.returncode != 0 or not lines:
                print("backfill failed (exit %d)" % bf.returncode, file=sys.stderr)
                return 1
            m = re.search(r"(\d+) sent", lines[-1])
            backfill_sent = int(m.group(1)) if m else 0
            backfill_line = "%d messages in %.2f s (process wall time): %.0f messages/s" % (
                backfill_sent, backfill_secs, backfill_sent / backfill_secs)

        deadline = time.time() + args.timeout
        while depth(q) > 0:
            if time.time() > deadline:
                print("hang guard: the queue did not drain", file=sys.stderr)
                return 1
            time.sleep(1)
        drained = time.time()
        for w in workers:
            w.send_signal(signal.SIGTERM)
        codes = [w.wait(timeout=60) for w in workers]

        landed_at = {}
        reprocessed = 0
        first_landing = None
        for log in logs:
            log.seek(0)
            for line in log.read().decode("utf-8", "replace").splitlines():
                m = LANDED.match(line)
                if not m:
                    continue
                ts = datetime.fromisoformat(m.group(1).replace("Z", "+00:00")).timestamp()
                key = m.group(2).strip('"')
                if key in landed_at:
                    reprocessed += 1
                landed_at[key] = min(ts, landed_at.get(key, ts))
                first_landing = min(first_landing or ts, ts)
        latencies = [landed_at[k] - uploaded[k] for k in good if k in landed_at]

        listing = {}
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket="load-land"):
            for o in page.get("Contents", []):
                listing[o["Key"]] = o["ETag"].strip('"')
        want = {"json/load-src/%s.ndjson" % k for k in good}
        missing, extra = want - set(listing), set(listing) - want
        wrong = [k for k in want & set(listing) if listing[k] != expected_etag]
        dead = []
        while True:
            r = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10, VisibilityTimeout=300)
            if not r.get("Messages"):
                break
            for m in r["Messages"]:
                for rec in json.loads(m["Body"]).get("Records", []):
                    dead.append(urllib.parse.unquote_plus(rec["s3"]["object"]["key"]))
        dead_ok = sorted(dead) == sorted(corrupt)
        wall = (max(landed_at.values()) if landed_at else drained) - started

        print()
        print("| load | value |")
        print("|---|---|")
        print("| objects sent | %d good + %d corrupt (%d B each), %d poll workers x concurrency %d |"
              % (len(good), len(corrupt), len(body), args.workers, args.concurrency))
        print("| upload (boto3, 16 threads) | %.1f s |" % upload_secs)
        if backfill_line:
            print("| backfill (SendMessageBatch, 8 calls in flight) | %s |" % backfill_line)
        print("| throughput | %.0f objects/s (%s to last landing, %.1f s) |"
              % (len(latencies) / wall, "backfill start" if args.backfill else "first upload", wall))
        if latencies:
            print("| latency per object (%s -> landed) | p50 %.0f ms, p99 %.0f ms, max %.0f ms |"
                  % ("backfill started" if args.backfill else "upload acknowledged",
                     percentile(latencies, 50) * 1e3, percentile(latencies, 99) * 1e3, max(latencies) * 1e3))
        print("| landed | %d of %d good (missing %d, extra %d, wrong bytes %d) |"
              % (len(set(listing) & want), len(want), len(missing), len(extra), len(wrong)))
        print("| re-processed (idempotent rewrites, not duplicates) | %d |" % reprocessed)
        print("| left in the queue | %d |" % depth(q))
        print("| dead-letter queue | %d messages: %s |" % (len(dead), "exactly the corrupt objects" if dead_ok else sorted(dead)))
        print("| workers' exit status after SIGTERM | %s |" % codes)
        ok = not missing and not extra and not wrong and dead_ok and depth(q) == 0 and all(c == 0 for c in codes)
        print()
        print("invariant: %s" % ("HOLDS" if ok else "BROKEN"))
        return 0 if ok else 1
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
        moto.terminate()
        moto.wait()


if __name__ == "__main__":
    sys.exit(main())
