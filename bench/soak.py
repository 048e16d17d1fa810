#!/usr/bin/env python3
"""Soak: a generated 2 GiB (uncompressed) varint-framed object lands through moto.

Starts moto server on a free 127.0.0.1 port, publishes the example registry, uploads a
gzip'd varint stream of acme.events.v2.PageView messages (generated here, never checked
in), sends its S3 notification to an SQS queue, runs `protolake poll --once` under
/usr/bin/time, and prints the worker's peak RSS and throughput. Numbers, not assertions:
it exits non-zero only if the object did not land.

    .venv/bin/python bench/soak.py [--gib 2]
"""
import argparse
import gzip
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

import boto3

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "bench", "out")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def frames(path):
    """The length-prefixed frames of an example varint stream."""
    data = gzip.open(path).read()
    out, i = [], 0
    while i < len(data):
        n, shift = 0, 0
        while True:
            b = data[i]
            i += 1
            n |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                break
        out.append(data[i - (shift // 7) : i + n])  # prefix + message
        i += n
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gib", type=float, default=2.0)
    args = ap.parse_args()
    target = int(args.gib * (1 << 30))
    os.makedirs(OUT, exist_ok=True)
    src_obj = os.path.join(OUT, "soak-%.1fGiB.varint.gz" % args.gib)
    pool = []
    for d in ["events/pageviews/dt=2026-11-26/hour=09", "events/pageviews/dt=2026-11-26/hour=10"]:
        for f in sorted(os.listdir(os.path.join(ROOT, "examples", d))):
            pool.extend(frames(os.path.join(ROOT, "examples", d, f)))
    block = b"".join(pool)
    if not os.path.exists(src_obj):
        t = time.time()
        with gzip.GzipFile(src_obj, "wb", compresslevel=1, mtime=0) as z:
            written = 0
            while written < target:
                z.write(block)
                written += len(block)
        print("generated %s (%.0f MB gzip'd) in %.0f s" % (src_obj, os.path.getsize(src_obj) / 1e6, time.time() - t))
    uncompressed = (target + len(block) - 1) // len(block) * len(block)
    messages = (target + len(block) - 1) // len(block) * len(pool)

    port = free_port()
    endpoint = "http://127.0.0.1:%d" % port
    moto = subprocess.Popen([os.path.join(ROOT, ".venv/bin/moto_server"), "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(600):
            try:
                urllib.request.urlopen(endpoint + "/moto-api/", timeout=1)
                break
            except Exception:
                time.sleep(0.1)
        env = dict(os.environ, AWS_ENDPOINT_URL=endpoint, AWS_REGION="us-east-1", AWS_ACCESS_KEY_ID="test",
                   AWS_SECRET_ACCESS_KEY="test", AWS_EC2_METADATA_DISABLED="true")
        kw = dict(endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
        s3, sqs = boto3.client("s3", **kw), boto3.client("sqs", **kw)
        for b in ["soak-src", "soak-reg", "soak-land"]:
            s3.create_bucket(Bucket=b)
        for f in ["acme_events_v1.binpb", "acme_events_v2.binpb", "routes.json"]:
            s3.upload_file(os.path.join(ROOT, "descriptors", f), "soak-reg", "schemas/" + f)
        key = "events/pageviews/dt=2026-11-26/soak.pb.gz"
        t = time.time()
        s3.upload_file(src_obj, "soak-src", key)
        print("uploaded to moto in %.0f s" % (time.time() - t))
        q = sqs.create_queue(QueueName="soak", Attributes={"VisibilityTimeout": "30"})["QueueUrl"]
        etag = s3.head_object(Bucket="soak-src", Key=key)["ETag"].strip('"')
        body = {"Records": [{"eventVersion": "2.1", "eventSource": "aws:s3", "eventName": "ObjectCreated:CompleteMultipartUpload",
                             "s3": {"bucket": {"name": "soak-src"}, "object": {"key": key.replace("/", "%2F"), "eTag": etag}}}]}
        sqs.send_message(QueueUrl=q, MessageBody=json.dumps(body))
        env.update(PROTOLAKE_REGISTRY="s3://soak-reg/schemas/", PROTOLAKE_LANDING="s3://soak-land/json/",
                   PROTOLAKE_OUTPUT_COMPRESSION="gzip", PROTOLAKE_LOG="warn")
        cmd = ["/usr/bin/time", "-f", "%M %e", os.path.join(ROOT, "target/release/protolake"), "poll",
               "--queue-url", q, "--once", "--wait-seconds", "1"]
        r = subprocess.run(cmd, env=env, capture_output=True, text=True)
        rss_kib, secs = r.stderr.strip().splitlines()[-1].split()
        landed = s3.list_objects_v2(Bucket="soak-land").get("Contents", [])
        print()
        print("| soak | value |")
        print("|---|---|")
        print("| source object | %.2f GiB uncompressed varint stream, %d messages, %.0f MB gzip'd |" % (uncompressed / (1 << 30), messages, os.path.getsize(src_obj) / 1e6))
        print("| landed | %s (%.0f MB, gzip'd NDJSON, multipart) |" % (", ".join(o["Key"] for o in landed) or "NOTHING", sum(o["Size"] for o in landed) / 1e6))
        print("| worker peak RSS (`poll --once`, release) | %.1f MiB |" % (int(rss_kib) / 1024))
        print("| wall time, end to end (S3 GET, gunzip, transcode, gzip, multipart PUT) | %.1f s |" % float(secs))
        print("| throughput | %.0f MB/s of protobuf input |" % (uncompressed / 1e6 / float(secs)))
        if r.returncode != 0 or not landed:
            print(r.stderr, file=sys.stderr)
            return 1
        return 0
    finally:
        moto.terminate()
        moto.wait()


if __name__ == "__main__":
    sys.exit(main())
