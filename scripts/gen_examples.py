#!/usr/bin/env python3
"""Generate protolake's bundled example objects (the demo bucket).

Usage (from the repository root):

    .venv/bin/python scripts/gen_examples.py --descriptors descriptors --out examples

Reads every ``*.binpb`` FileDescriptorSet in ``--descriptors`` into one pool
(the "registry") and ``routes.json`` from the same directory, then writes
realistic PageView objects under ``--out`` with Hive-style keys, one tree per
route prefix, framed as the route says:

    legacy/pageviews/dt=.../part-NNNN.pb.gz         acme.events.v1.PageView, varint, gzip
    events/pageviews/dt=.../hour=HH/part-NNNN.pb.gz acme.events.v2.PageView, varint, gzip
    events/pageview-singles/dt=.../<id>.pb[.gz]     acme.events.v2.PageView, single

Deterministic: seeded RNG, gzip mtime=0, deterministic serialization.  The
output directory is owned by this script and is recreated on every run.
"""

import argparse
import datetime
import gzip
import json
import os
import random
import shutil
import struct
import sys

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.internal.encoder import _VarintBytes

SEED = 4242

V1 = "acme.events.v1.PageView"
V2 = "acme.events.v2.PageView"

PATHS = [  # (path, page type)
    ("/", "home"), ("/products", "listing"), ("/products/espresso-machine-x2", "product"),
    ("/products/grinder-pro", "product"), ("/products/milk-frother", "product"), ("/cart", "cart"),
    ("/checkout", "checkout"), ("/checkout/confirm", "confirmation"), ("/blog/latte-art-101", "article"),
    ("/blog/water-hardness", "article"), ("/search?q=descaler", "search"), ("/account/orders", "account"),
    ("/help/returns", "help"), ("/de/produkte/kaffeem\u00fchle", "product"), ("/ja/\u88fd\u54c1", "listing"),
]
REFERRERS = [
    "https://www.google.com/", "https://duckduckgo.com/", "https://www.bing.com/",
    "https://news.ycombinator.com/", "https://t.co/x1Yz", "https://www.acme.example/",
    "android-app://com.google.android.gm/",
]
DEVICES = [
    # (kind, user agent, os, width, height)
    (1, "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
     "Linux", 1920, 1080),
    (1, "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
     "macOS", 2560, 1440),
    (1, "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0", "Windows", 1366, 768),
    (2, "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
     "iOS", 390, 844),
    (2, "Mozilla/5.0 (Linux; Android 15; Pixel 9) AppleWebKit/537.36 Chrome/131.0 Mobile Safari/537.36",
     "Android", 412, 915),
    (3, "Mozilla/5.0 (iPad; CPU OS 17_7 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148", "iPadOS", 820, 1180),
]
BOT_UA = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
EXPERIMENTS = ["exp-checkout-v3", "exp-hero-banner-b", "exp-free-shipping", "exp-search-ranking-7"]
LOCALES = ["en-US", "en-GB", "de-DE", "fr-FR", "ja-JP", "pt-BR"]
CURRENCIES = {"en-US": "USD", "en-GB": "GBP", "de-DE": "EUR", "fr-FR": "EUR", "ja-JP": "JPY", "pt-BR": "BRL"}
CAMPAIGNS = [
    ("newsletter", "email", "black-friday-2026", None),
    ("google", "cpc", "espresso-q4", "espresso machine"),
    ("instagram", "social", "latte-art-contest", None),
]


def load_registry(desc_dir):
    files = {}
    for name in sorted(os.listdir(desc_dir)):
        if not name.endswith(".binpb"):
            continue
        with open(os.path.join(desc_dir, name), "rb") as fh:
            fds = descriptor_pb2.FileDescriptorSet.FromString(fh.read())
        for fdp in fds.file:
            files.setdefault(fdp.name, fdp)
    pool = descriptor_pool.DescriptorPool()
    added = []

    def add(name):
        if name in added:
            return
        for dep in files[name].dependency:
            add(dep)
        pool.Add(files[name])
        added.append(name)

    for name in sorted(files):
        add(name)
    message_factory.GetMessageClassesForFiles(added, pool)  # registers extensions
    return pool


class Events:
    def __init__(self, pool, rng):
        self.pool = pool
        self.rng = rng
        self.users = ["u-%06d" % rng.randint(1, 999999) for _ in range(12)]

    def uuid(self):
        h = "%032x" % self.rng.getrandbits(128)
        return "%s-%s-4%s-%s%s-%s" % (h[:8], h[8:12], h[13:16], "89ab"[int(h[16], 16) & 3], h[17:20], h[20:32])

    def cls(self, name):
        return message_factory.GetMessageClass(self.pool.FindMessageTypeByName(name))

    def page_view(self, version, when):
        """A realistic PageView at datetime `when` (UTC)."""
        r = self.rng
        m = self.cls(version)()
        m.event_id = self.uuid()
        m.occurred_at.seconds = int(when.replace(tzinfo=datetime.timezone.utc).timestamp())
        m.occurred_at.nanos = r.randint(0, 999) * 1000000
        path, page_type = r.choice(PATHS)
        m.url = "https://www.acme.example" + path
        if r.random() < 0.6:
            m.referrer = r.choice(REFERRERS)
        bot = r.random() < 0.05
        kind, ua, os_name, w, h = r.choice(DEVICES)
        if version == V1:
            m.device.kind = kind
        else:
            m.device.kind = kind  # same numbers, KIND_* names
        m.device.user_agent = BOT_UA if bot else ua
        if not bot:
            m.device.os = os_name
            m.device.screen_width = w
            m.device.screen_height = h
        # Source: v1 has a custom default (WEB) and often omits it.
        if os_name in ("iOS", "iPadOS") and r.random() < 0.5:
            m.source = 2
        elif os_name == "Android" and r.random() < 0.5:
            m.source = 3
        elif version == V2 or r.random() < 0.3:
            m.source = 1
        for e in EXPERIMENTS:
            if r.random() < 0.25:
                m.experiment_ids.append(e)
        locale = r.choice(LOCALES)
        if version == V2 or locale != "en-US":
            m.locale = locale
        m.attributes["page_type"] = page_type
        if r.random() < 0.5:
            m.attributes["currency"] = CURRENCIES[locale]
        if r.random() < 0.3:
            m.attributes["ab_bucket"] = r.choice("abc")
        if r.random() < 0.4:
            m.user_id = r.choice(self.users)
        else:
            m.anonymous_id = "anon-" + self.uuid()[:13]
        if r.random() < 0.85:
            m.duration_ms = int(r.expovariate(1 / 20000))
        if bot:
            m.is_bot = True
        if r.random() < 0.7:
            m.scroll_depth_pct.extend(sorted(r.sample([10, 25, 50, 75, 90, 100], r.randint(1, 4))))
        if r.random() < 0.3:
            src, medium, name, term = r.choice(CAMPAIGNS)
            if version == V1:
                c = m.Extensions[self.pool.FindExtensionByName("acme.events.v1.campaign")]
            else:
                c = m.campaign
            c.utm_source, c.utm_medium, c.utm_campaign = src, medium, name
            if term:
                c.utm_term = term
        if version == V2:
            if m.HasField("duration_ms"):
                ms = m.duration_ms + r.randint(0, 5000)
                m.time_on_page.seconds, m.time_on_page.nanos = ms // 1000, (ms % 1000) * 1000000
            if "checkout/confirm" in m.url:
                m.revenue_usd = round(r.uniform(9, 900), 2)
        return m.SerializeToString(deterministic=True)


def varint_stream(messages):
    return b"".join(_VarintBytes(len(b)) + b for b in messages)


def fixed32_stream(messages):
    return b"".join(struct.pack(">I", len(b)) + b for b in messages)


def gz(data):
    return gzip.compress(data, compresslevel=9, mtime=0)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--descriptors", required=True, help="directory with *.binpb and routes.json")
    ap.add_argument("--out", required=True, help="output directory (examples); recreated")
    args = ap.parse_args()

    with open(os.path.join(args.descriptors, "routes.json"), encoding="utf-8") as fh:
        routes = json.load(fh)["routes"]
    pool = load_registry(args.descriptors)
    for r in routes:
        pool.FindMessageTypeByName(r["type"])  # fail early on a bad route

    def route(type_name, framing):
        for r in routes:
            if r["type"] == type_name and r.get("framing", "single") == framing:
                return r["prefix"]
        raise SystemExit("routes.json has no %s route for %s" % (framing, type_name))

    rng = random.Random(SEED)
    ev = Events(pool, rng)
    objects = {}  # key -> bytes

    def batch(version, start, n):
        times = sorted(start + datetime.timedelta(seconds=rng.randint(0, 3599)) for _ in range(n))
        return [ev.page_view(version, t) for t in times]

    # Legacy v1 varint streams, one object per collector flush.
    p = route(V1, "varint")
    for day, hour, parts in (("2026-11-25", 22, (18, 11)), ("2026-11-26", 8, (25,))):
        for i, n in enumerate(parts):
            start = datetime.datetime.fromisoformat("%sT%02d:00:00" % (day, hour + i))
            objects["%sdt=%s/part-%04d.pb.gz" % (p, day, i)] = gz(varint_stream(batch(V1, start, n)))
    # v2 varint streams, partitioned by day and hour.
    p = route(V2, "varint")
    for hour, parts in ((9, (40, 22)), (10, (33,)), (11, (12,))):
        for i, n in enumerate(parts):
            start = datetime.datetime(2026, 11, 26, hour)
            objects["%sdt=2026-11-26/hour=%02d/part-%04d.pb.gz" % (p, hour, i)] = gz(varint_stream(batch(V2, start, n)))
    # v2 single-message objects, one per event (the last one left uncompressed).
    p = route(V2, "single")
    start = datetime.datetime(2026, 11, 26, 14)
    singles = batch(V2, start, 4)
    for i, b in enumerate(singles):
        msg = message_factory.GetMessageClass(pool.FindMessageTypeByName(V2)).FromString(b)
        if i < len(singles) - 1:
            objects["%sdt=2026-11-26/%s.pb.gz" % (p, msg.event_id)] = gz(b)
        else:
            objects["%sdt=2026-11-26/%s.pb" % (p, msg.event_id)] = b

    if os.path.isdir(args.out):
        shutil.rmtree(args.out)
    os.makedirs(args.out)
    total = 0
    for key in sorted(objects):
        path = os.path.join(args.out, *key.split("/"))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as fh:
            fh.write(objects[key])
        total += len(objects[key])
    # No README in here: every file under examples/ is an object the demo routes.
    print("wrote %d objects (%d bytes) to %s" % (len(objects), total, args.out), file=sys.stderr)


if __name__ == "__main__":
    main()
