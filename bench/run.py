#!/usr/bin/env python3
"""End-to-end throughput benchmark of `protolake decode` and `protolake run` (what `make bench` runs).

    cargo build --release
    cargo build --release --locked --manifest-path bench/codegen/Cargo.toml   # the codegen baseline
    .venv/bin/python -m pip install -r bench/requirements.txt
    .venv/bin/python bench/run.py [--quick]

Builds two deterministic (seeded) corpora in bench/out/ -- analytics events
(bench/analytics.proto, ~410 B/message) and OpenTelemetry ExportTraceServiceRequest
(~14 KB/message) -- each ~64 MiB of uncompressed protobuf (4 MiB with --quick), stored as a
gzip'd varint-delimited stream. Then times, one child process per run, best of 3 ("1 core" =
pinned with taskset -c 0):

  * gzip -dc FILE > /dev/null           (decompression alone, for reference; no ratio)
  * gunzip alone (flate2 zlib-rs), 1 core
                                        (`baseline gunzip`: the same gzip backend protolake
                                          uses, bytes discarded: the ceiling of one gzip'd
                                          stream on one core; its ratio is that ceiling)
  * protolake decode (direct engine)    (the default; 1 core, then all cores "pipelined":
                                          decompression on a second core, one transcoding
                                          thread -- `--threads 1` when the binary has it)
  * protolake decode --threads 2        (only if `protolake decode --help` lists --threads:
                                          the default engine, 2 cores, two threads transcoding
                                          one stream's frames)
  * protolake decode --engine serde     (prost-reflect DynamicMessage decode + its serde_json
                                          output, as shipped: the baseline the ratios use)
  * protolake decode --engine reflect   (the same decoder behind our normalizer and tree
                                          printer: the reference-exact second opinion)
  * codegen (prost structs + pbjson), 1 core
                                        (`baseline codegen`: prost-generated structs,
                                          Message::decode + serde_json::to_writer of pbjson's
                                          impls, what a Rust service that knows its types at
                                          compile time would write. A SPEED baseline, not a
                                          correctness one: pbjson differs from canonical proto3
                                          JSON in corners (e.g. Timestamps end in +00:00, not
                                          Z). The notes compare its JSON with protolake's on
                                          the first 200 messages (top-level keys; a note, never
                                          a failure))
  * protolake decode --format parquet (zstd), 1 core
  * python json_format.MessageToDict + json.dumps (upb), and MessageToDict -> pyarrow ->
    Parquet, on a ~5 MB prefix (skipped with --no-python)

The `baseline` binary is bench/codegen (its own Cargo workspace and lock file, prost 0.14 +
pbjson 0.9, protos compiled with protox in build.rs; OTel protos vendored in
bench/codegen/proto/). If it is not built, its two rows are skipped with a note.

Then a small-objects run: 1,000 single-message gzip'd analytics objects (the corpus's first
1,000 messages, one per file) under bench/out/small/src/events/, a registry
bench/out/small/registry (the analytics descriptor set + routes.json: prefix events/,
framing single), and `protolake run -q -j1` and `-j2` over it, a fresh landing directory each
run, which must hold 1,000 .ndjson files afterwards; objects/s, MB/s of protobuf, and j2/j1.

And a 1 GiB uncompressed varint stream piped from this script into
`protolake decode --compression none -` (64 MiB with --quick), whose peak RSS must stay
under 64 MiB (and the same to Parquet). Throughput is MB/s (10^6 bytes) of UNCOMPRESSED
protobuf input; peak RSS is the child's own (GNU time's %M, else VmHWM polled from /proc;
see run_child).

Prints a markdown table. Exits 1 only if a protolake run failed (never on timings, never on
the codegen baseline).
"""

from __future__ import annotations

import argparse
import bisect
import gzip
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
OUT = BENCH / "out"

# Bump when a generator changes, so cached corpora are rebuilt.
GENERATOR_VERSION = 3
SEED = 20240611
MiB = 1 << 20
MB = 1e6

# Pins a run to one core when available (util-linux).
TASKSET = shutil.which("taskset")

ENGINE_NOTES = {
    "direct": " (default)",
    "serde": " (DynamicMessage + serde, baseline)",
    "reflect": " (DynamicMessage, exact printer)",
}

ANALYTICS_TYPE = "bench.analytics.v1.AnalyticsEvent"
OTEL_TYPE = "opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest"

# bench/codegen's binary (prost structs + pbjson; flate2 zlib-rs gunzip).
CODEGEN = BENCH / "codegen"
BASELINE = CODEGEN / "target" / "release" / "baseline"
CODEGEN_LABEL = "codegen (prost structs + pbjson)"
GUNZIP_LABEL = "gunzip alone (flate2 zlib-rs)"
GZIP_LABEL = "gzip -dc (decompression only)"
# Rows printed without the "vs DynamicMessage" ratio.
NO_RATIO = {GZIP_LABEL}

# The small-objects run (`protolake run` over many tiny objects).
SMALL = OUT / "small"
SMALL_OBJECTS = 1000


# ---------------------------------------------------------------------------------------
# descriptors


def file_descriptor_set_from_python(file_desc):
    """FileDescriptorSet of `file_desc` and all its dependencies, dependencies first."""
    from google.protobuf import descriptor_pb2

    fds = descriptor_pb2.FileDescriptorSet()
    seen = set()

    def visit(fd):
        if fd.name in seen:
            return
        seen.add(fd.name)
        for dep in fd.dependencies:
            visit(dep)
        proto = descriptor_pb2.FileDescriptorProto()
        fd.CopyToProto(proto)
        fds.file.append(proto)

    visit(file_desc)
    return fds


def message_class_from_set(fds_bytes: bytes, type_name: str):
    """A Python message class for `type_name`, from a serialized FileDescriptorSet, in a
    private pool (so it works for any set, whatever the default pool holds)."""
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    fds = descriptor_pb2.FileDescriptorSet.FromString(fds_bytes)
    pool = descriptor_pool.DescriptorPool()
    for f in fds.file:
        pool.Add(f)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName(type_name))


def build_descriptors(protolake: Path) -> dict[str, Path]:
    OUT.mkdir(parents=True, exist_ok=True)
    analytics = OUT / "analytics.binpb"
    r = subprocess.run(
        [str(protolake), "schema", "compile", "-I", str(BENCH),
         str(BENCH / "analytics.proto"), "-o", str(analytics)],
        capture_output=True, text=True,
    )
    if r.returncode != 0:
        sys.exit(f"protolake schema compile failed:\n{r.stderr}")

    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

    otel = OUT / "otel.binpb"
    data = file_descriptor_set_from_python(trace_service_pb2.DESCRIPTOR).SerializeToString()
    write_if_changed(otel, data)
    return {"analytics": analytics, "otel": otel}


def write_if_changed(path: Path, data: bytes):
    if path.exists() and path.read_bytes() == data:
        return
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


# ---------------------------------------------------------------------------------------
# corpus generators (deterministic for a given seed and protobuf runtime)

WORDS = ("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike "
         "november oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee "
         "zulu checkout cart search home pricing docs blog account settings").split()
COUNTRIES = [("US", "California", "San Francisco", 37.77, -122.42, "America/Los_Angeles"),
             ("US", "New York", "New York", 40.71, -74.01, "America/New_York"),
             ("DE", "Berlin", "Berlin", 52.52, 13.40, "Europe/Berlin"),
             ("FR", "Ile-de-France", "Paris", 48.86, 2.35, "Europe/Paris"),
             ("JP", "Tokyo", "Tokyo", 35.68, 139.69, "Asia/Tokyo"),
             ("BR", "Sao Paulo", "Sao Paulo", -23.55, -46.63, "America/Sao_Paulo"),
             ("IN", "Karnataka", "Bengaluru", 12.97, 77.59, "Asia/Kolkata"),
             ("GB", "England", "London", 51.51, -0.13, "Europe/London")]
DEVICES = [(1, "macOS", "14.4", "MacBookPro18,1", "Chrome", 1512, 982, False),
           (1, "Windows", "11", "PC", "Edge", 1920, 1080, False),
           (2, "iOS", "17.4.1", "iPhone15,2", "Safari", 393, 852, True),
           (3, "Android", "14", "Pixel 8", "Chrome", 412, 915, True),
           (4, "Linux", "6.8", "ThinkPad X1", "Firefox", 2560, 1440, False)]
LOCALES = ["en-US", "de-DE", "fr-FR", "ja-JP", "pt-BR", "en-GB", "hi-IN"]
SEGMENTS = ["trial", "paid", "enterprise", "churn-risk", "power-user", "newsletter", "beta"]
CATEGORIES = ["books", "electronics", "garden", "toys", "apparel", "grocery"]
EVENT_NAMES = {1: "Page Viewed", 2: "Button Clicked", 3: "Product Added", 4: "Order Completed",
               5: "Signed Up", 6: "Products Searched", 7: "Page Scrolled"}


def _hex(rng: random.Random, n: int) -> str:
    return rng.getrandbits(n * 4).to_bytes((n * 4 + 7) // 8, "big").hex()[-n:].rjust(n, "0")


def gen_analytics(rng: random.Random, cls, seq: int):
    m = cls()
    etype = rng.choices(range(1, 8), weights=[40, 20, 10, 5, 3, 12, 10])[0]
    ts = 1_717_000_000 + seq * 7 + rng.randrange(7)
    m.event_id = f"{_hex(rng, 8)}-{_hex(rng, 4)}-4{_hex(rng, 3)}-{_hex(rng, 4)}-{_hex(rng, 12)}"
    m.type = etype
    m.event_name = EVENT_NAMES[etype]
    m.timestamp.seconds = ts
    m.timestamp.nanos = rng.randrange(1000) * 1_000_000
    m.received_at.seconds = ts + rng.randrange(3)
    m.received_at.nanos = rng.randrange(1_000_000_000)
    m.session_id = _hex(rng, 16)
    m.sequence = seq
    plat, os_, osv, model, browser, w, h, mobile = rng.choice(DEVICES)
    d = m.device
    d.device_id = _hex(rng, 16)
    d.platform = plat
    d.os, d.os_version, d.model, d.browser = os_, osv, model, browser
    d.screen_width, d.screen_height = w, h
    d.locale = rng.choice(LOCALES)
    d.is_mobile = mobile
    cc, region, city, lat, lon, tz = rng.choice(COUNTRIES)
    g = m.geo
    g.country, g.region, g.city, g.timezone = cc, region, city, tz
    g.latitude = round(lat + rng.uniform(-0.2, 0.2), 4)
    g.longitude = round(lon + rng.uniform(-0.2, 0.2), 4)
    p = m.page
    path = "/" + "/".join(rng.sample(WORDS, rng.randint(1, 2)))
    p.path = path
    if rng.random() < 0.5:
        p.url = "https://shop.example.com" + path
    if rng.random() < 0.2:
        p.referrer = "https://www.google.com/search?q=" + "+".join(rng.sample(WORDS, 2))
    p.title = " ".join(w.capitalize() for w in rng.sample(WORDS, rng.randint(1, 2)))
    if rng.random() < 0.25:
        p.utm_source = rng.choice(["google", "newsletter", "twitter", "partner"])
        p.utm_campaign = "spring_" + rng.choice(WORDS)
    p.load_time_ms = rng.randint(80, 4000)
    u = m.user
    if rng.random() < 0.7:
        u.user_id = f"u_{rng.randrange(10**9):09d}"
        u.is_logged_in = True
        u.segments.extend(rng.sample(SEGMENTS, rng.randint(0, 2)))
        u.lifetime_value_cents = rng.randrange(0, 5_000_000)
        u.created_at.seconds = 1_500_000_000 + rng.randrange(200_000_000)
    else:
        u.anonymous_id = _hex(rng, 32)
    for _ in range(rng.randint(0, 2)):
        m.properties[rng.choice(WORDS)] = rng.choice(WORDS) + "_" + str(rng.randrange(1000))
    if etype in (3, 4):
        for _ in range(rng.randint(1, 3)):
            pr = m.products.add()
            pr.sku = f"SKU-{rng.randrange(10**6):06d}"
            pr.name = " ".join(w.capitalize() for w in rng.sample(WORDS, 3))
            pr.price_micros = rng.randrange(1, 500) * 10_000 * 99
            pr.quantity = rng.randint(1, 4)
            pr.category = rng.choice(CATEGORIES)
    if etype == 4:
        m.revenue = round(sum(p.price_micros * p.quantity for p in m.products) / 1e6, 2)
        m.currency = rng.choice(["USD", "EUR", "JPY", "BRL"])
    m.tags.extend(rng.sample(["ab", "web", "prod", "eu", "us", "vip", "mobile"], rng.randint(0, 2)))
    m.timezone_offset_minutes = rng.choice([-480, -300, 0, 60, 120, 330, 540])
    m.is_bot = rng.random() < 0.02
    if rng.random() < 0.5:
        m.trace_id = rng.getrandbits(128).to_bytes(16, "little")
    m.client_hash = rng.getrandbits(64)
    m.sample_rate = rng.choice([1.0, 0.5, 0.1, 0.25])
    m.schema_version = 7
    m.experiment_ids.extend(rng.sample(range(100, 400), rng.randint(0, 3)))
    if rng.random() < 0.3:
        m.consent = rng.choice(["all", "necessary", "analytics"])
    m.duration_ms = rng.randrange(0, 120_000)
    return m


SERVICES = ["checkout", "cart", "frontend", "payments", "inventory", "search", "auth", "shipping"]
HTTP_ROUTES = ["/api/v1/cart", "/api/v1/checkout", "/api/v1/products/{id}", "/healthz",
               "/api/v1/search", "/api/v2/orders/{id}/items"]
SQL = ["SELECT id, sku, qty FROM cart_items WHERE cart_id = $1",
       "UPDATE inventory SET reserved = reserved + $1 WHERE sku = $2",
       "INSERT INTO orders (id, user_id, total) VALUES ($1, $2, $3)"]


def _attr(kv, key, value):
    kv.key = key
    v = kv.value
    if isinstance(value, bool):
        v.bool_value = value
    elif isinstance(value, int):
        v.int_value = value
    elif isinstance(value, float):
        v.double_value = value
    elif isinstance(value, bytes):
        v.bytes_value = value
    elif isinstance(value, list):
        for x in value:
            v.array_value.values.add().string_value = x
    else:
        v.string_value = value


def gen_otel(rng: random.Random, cls, seq: int):
    req = cls()
    t0 = (1_717_000_000 + seq * 3) * 1_000_000_000
    for _ in range(rng.randint(2, 3)):
        rs = req.resource_spans.add()
        svc = rng.choice(SERVICES)
        pod = f"{svc}-{_hex(rng, 10)}-{_hex(rng, 5)}"
        for k, v in [("service.name", svc), ("service.version", f"1.{rng.randrange(40)}.{rng.randrange(10)}"),
                     ("service.namespace", "shop"), ("deployment.environment", "production"),
                     ("telemetry.sdk.name", "opentelemetry"), ("telemetry.sdk.language", rng.choice(["go", "java", "python"])),
                     ("telemetry.sdk.version", "1.24.0"), ("host.name", pod), ("k8s.pod.name", pod),
                     ("k8s.namespace.name", "shop-prod"), ("k8s.node.name", f"ip-10-0-{rng.randrange(255)}-{rng.randrange(255)}.ec2.internal"),
                     ("cloud.region", rng.choice(["us-east-1", "eu-west-1"])), ("process.pid", rng.randrange(1, 65536))]:
            _attr(rs.resource.attributes.add(), k, v)
        rs.schema_url = "https://opentelemetry.io/schemas/1.24.0"
        for _ in range(rng.randint(1, 2)):
            ss = rs.scope_spans.add()
            ss.scope.name = rng.choice(["io.opentelemetry.http", "otelhttp", "opentelemetry.instrumentation.sqlalchemy"])
            ss.scope.version = "0.49.0"
            trace_id = rng.getrandbits(128).to_bytes(16, "big")
            root = None
            for i in range(rng.randint(5, 9)):
                sp = ss.spans.add()
                sp.trace_id = trace_id
                sp.span_id = rng.getrandbits(64).to_bytes(8, "big")
                if root is not None:
                    sp.parent_span_id = root
                else:
                    root = sp.span_id
                start = t0 + rng.randrange(10**9)
                sp.start_time_unix_nano = start
                sp.end_time_unix_nano = start + rng.randrange(10**4, 10**9)
                sp.flags = 0x100 | 1
                if rng.random() < 0.5:
                    route = rng.choice(HTTP_ROUTES)
                    sp.name = f"{rng.choice(['GET', 'POST', 'PUT'])} {route}"
                    sp.kind = rng.choice([2, 3])
                    attrs = [("http.request.method", sp.name.split()[0]), ("http.route", route),
                             ("url.full", "https://shop.example.com" + route.replace("{id}", str(rng.randrange(10**6)))),
                             ("http.response.status_code", rng.choice([200, 200, 200, 201, 404, 500])),
                             ("network.protocol.version", "1.1"), ("server.address", "shop.example.com"),
                             ("server.port", 443), ("user_agent.original", "Mozilla/5.0 (X11; Linux x86_64) Chrome/124.0"),
                             ("http.request.header.accept", ["application/json", "text/plain"])]
                else:
                    sp.name = rng.choice(["db.query", "cache.get", "queue.publish", "render"])
                    sp.kind = rng.choice([1, 3, 4])
                    attrs = [("db.system", "postgresql"), ("db.statement", rng.choice(SQL)),
                             ("db.name", "shop"), ("db.rows_affected", rng.randrange(100)),
                             ("net.peer.name", "pg-primary.shop.internal"), ("cache.hit", rng.random() < 0.7),
                             ("sampling.ratio", rng.choice([0.1, 0.25, 1.0]))]
                for k, v in attrs:
                    _attr(sp.attributes.add(), k, v)
                for _ in range(rng.choice([0, 0, 1, 2])):
                    ev = sp.events.add()
                    ev.time_unix_nano = start + rng.randrange(10**6)
                    ev.name = rng.choice(["exception", "retry", "message"])
                    _attr(ev.attributes.add(), "exception.type", rng.choice(["TimeoutError", "IOError"]))
                    _attr(ev.attributes.add(), "exception.message", "deadline exceeded after " + str(rng.randrange(5000)) + "ms")
                if rng.random() < 0.2:
                    ln = sp.links.add()
                    ln.trace_id = rng.getrandbits(128).to_bytes(16, "big")
                    ln.span_id = rng.getrandbits(64).to_bytes(8, "big")
                    ln.trace_state = "rojo=00f067aa0ba902b7"
                    _attr(ln.attributes.add(), "link.reason", "batch")
                sp.status.code = 2 if rng.random() < 0.05 else rng.choice([0, 1])
                if sp.status.code == 2:
                    sp.status.message = "internal error"
    return req


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def corpus_path(name: str, quick: bool) -> Path:
    return OUT / f"{name}{'.quick' if quick else ''}.varint.gz"


def build_corpus(path: Path, name: str, desc: Path, type_name: str, gen, target: int) -> dict:
    """Writes `path` (cached by parameters, in <path>.meta.json) and returns its metadata."""
    meta_path = path.with_name(path.name + ".meta.json")
    params = {"generator": GENERATOR_VERSION, "seed": SEED, "target": target,
              "descriptors": _sha(desc)}
    if path.exists() and meta_path.exists():
        meta = json.loads(meta_path.read_text())
        if meta.get("params") == params:
            return meta
    cls = message_class_from_set(desc.read_bytes(), type_name)
    rng = random.Random(f"{SEED}:{name}")
    t = time.perf_counter()
    raw = bytearray()
    n = 0
    while len(raw) < target:
        b = gen(rng, cls, n).SerializeToString(deterministic=True)
        raw += varint(len(b))
        raw += b
        n += 1
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as f:
        with gzip.GzipFile(filename="", mode="wb", fileobj=f, compresslevel=6, mtime=0) as gz:
            gz.write(raw)
    os.replace(tmp, path)
    meta = {"params": params, "messages": n, "raw_bytes": len(raw),
            "gz_bytes": path.stat().st_size, "build_seconds": round(time.perf_counter() - t, 1)}
    meta_path.write_text(json.dumps(meta, indent=1))
    return meta


def _sha(p: Path) -> str:
    import hashlib
    return hashlib.sha256(p.read_bytes()).hexdigest()


# ---------------------------------------------------------------------------------------
# child processes


class Run:
    def __init__(self, ok, seconds, maxrss_kib, stderr="", stdout=""):
        self.ok, self.seconds, self.maxrss_kib = ok, seconds, maxrss_kib
        self.stderr, self.stdout = stderr, stdout


# Peak RSS of a child must be its own. ru_maxrss from wait4() is not: Linux carries the
# high-water mark of the forked parent's image (this Python process, up to ~200 MB here)
# across exec. So the child runs under GNU time, which forks from a ~1 MB process and
# reports %M; without it, VmHWM in /proc/PID/status is polled while the child runs
# (exec gives a fresh mm, so that is the child's own, but a spike in the last 5 ms is missed).
GNU_TIME = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None


def run_child(cmd, feed=None) -> Run:
    """Runs one child process: wall clock, exit status and its own peak RSS (KiB).
    `feed`: an iterable of buffers written to its stdin (else stdin is /dev/null)."""
    with tempfile.TemporaryFile() as err, tempfile.TemporaryFile() as out, \
            tempfile.NamedTemporaryFile(prefix="rss") as rss:
        full = [GNU_TIME, "-f", "%M", "-o", rss.name, "--", *cmd] if GNU_TIME else list(cmd)
        t0 = time.perf_counter()
        p = subprocess.Popen(full, stdin=subprocess.PIPE if feed is not None else subprocess.DEVNULL,
                             stdout=out, stderr=err)
        hwm = [0]
        poller = None
        if not GNU_TIME:
            import threading
            poller = threading.Thread(target=_poll_hwm, args=(p.pid, hwm), daemon=True)
            poller.start()
        if feed is not None:
            fd = p.stdin.fileno()
            try:
                for part in feed:
                    view = memoryview(part)
                    while view:
                        k = os.write(fd, view[: 1 << 20])
                        view = view[k:]
            except BrokenPipeError:
                pass
            try:
                p.stdin.close()
            except BrokenPipeError:
                pass
        p.wait()
        dt = time.perf_counter() - t0
        if poller:
            poller.join()
        err.seek(0)
        out.seek(0)
        stderr = err.read().decode(errors="replace")
        if GNU_TIME:
            lines = Path(rss.name).read_text().split()
            # On failure GNU time writes "Command exited with non-zero status N" before %M.
            hwm[0] = int(lines[-1]) if lines and lines[-1].isdigit() else 0
        return Run(p.returncode == 0, dt, hwm[0], stderr, out.read().decode(errors="replace"))


def _poll_hwm(pid, hwm):
    path = f"/proc/{pid}/status"
    while True:
        try:
            with open(path) as f:
                text = f.read()
        except OSError:
            return
        for line in text.splitlines():
            if line.startswith("VmHWM:"):
                hwm[0] = max(hwm[0], int(line.split()[1]))
                break
        else:
            if "State:\tZ" in text or "State:\tX" in text:
                return
        time.sleep(0.005)


def best_of(n: int, cmd) -> Run:
    runs = []
    for _ in range(n):
        r = run_child(cmd)
        if not r.ok:
            return r
        runs.append(r)
    best = min(runs, key=lambda r: r.seconds)
    best.maxrss_kib = max(r.maxrss_kib for r in runs)
    return best


def python_child(desc: str, type_name: str, path: str, max_bytes: int):
    """`run.py --_pyjson`: json_format over the first `max_bytes` of a gzip'd varint stream."""
    from google.protobuf import json_format
    from google.protobuf.internal.decoder import _DecodeVarint

    cls = message_class_from_set(Path(desc).read_bytes(), type_name)
    with gzip.open(path, "rb") as f:
        data = f.read(max_bytes + (1 << 20))
    pos = n = 0
    with open(os.devnull, "w") as sink:
        while pos < len(data) and pos < max_bytes:
            size, start = _DecodeVarint(data, pos)
            if start + size > len(data):
                break
            m = cls.FromString(data[start:start + size])
            sink.write(json.dumps(json_format.MessageToDict(m), separators=(",", ":")))
            sink.write("\n")
            pos = start + size
            n += 1
    print(json.dumps({"messages": n, "bytes": pos}))


def arrow_schema_for(md, depth=0):
    """The pyarrow schema a data engineer would build from the descriptor for what
    MessageToDict returns (int64 and bytes are JSON strings there, Timestamps RFC 3339
    text). Recursive types stop after a few levels (the fields past that are left out)."""
    import pyarrow as pa
    from google.protobuf.descriptor import FieldDescriptor as FD

    def scalar(f):
        t = f.type
        if t in (FD.TYPE_INT32, FD.TYPE_SINT32, FD.TYPE_SFIXED32, FD.TYPE_UINT32, FD.TYPE_FIXED32):
            return pa.int64()
        if t in (FD.TYPE_FLOAT, FD.TYPE_DOUBLE):
            return pa.float64()
        if t == FD.TYPE_BOOL:
            return pa.bool_()
        return pa.string()  # string, bytes (base64), enums (names), 64-bit integers (strings)

    def value(f, depth):
        if f.type in (FD.TYPE_MESSAGE, FD.TYPE_GROUP):
            m = f.message_type
            if m.full_name.startswith("google.protobuf."):
                return pa.string()  # Timestamp, Duration, ... print as strings
            if depth > 4:
                return None
            children = arrow_schema_for(m, depth + 1)
            # Parquet cannot hold a struct with no children (a recursive type cut short).
            return pa.struct(children) if children else None
        return scalar(f)

    fields = []
    for f in md.fields:
        if f.message_type is not None and f.message_type.GetOptions().map_entry:
            k, v = f.message_type.fields_by_name["key"], f.message_type.fields_by_name["value"]
            vt = value(v, depth)
            if vt is not None:
                fields.append(pa.field(f.json_name, pa.map_(pa.string(), vt)))
            continue
        t = value(f, depth)
        if t is None:
            continue
        fields.append(pa.field(f.json_name, pa.list_(t) if f.is_repeated else t))
    return fields


def python_parquet_child(desc: str, type_name: str, path: str, max_bytes: int):
    """`run.py --_pyparquet`: the pipeline a data engineer writes today, over the first
    `max_bytes`: upb parse -> MessageToDict -> pyarrow from_pylist (schema from the
    descriptor) -> pq.write_table (zstd)."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from google.protobuf import json_format
    from google.protobuf.internal.decoder import _DecodeVarint

    cls = message_class_from_set(Path(desc).read_bytes(), type_name)
    schema = pa.schema(arrow_schema_for(cls.DESCRIPTOR))
    with gzip.open(path, "rb") as f:
        data = f.read(max_bytes + (1 << 20))
    pos = n = 0
    rows = []
    while pos < len(data) and pos < max_bytes:
        size, start = _DecodeVarint(data, pos)
        if start + size > len(data):
            break
        rows.append(json_format.MessageToDict(cls.FromString(data[start:start + size])))
        pos = start + size
        n += 1
    table = pa.Table.from_pylist(rows, schema=schema)
    with tempfile.TemporaryDirectory() as tmp:
        pq.write_table(table, os.path.join(tmp, "out.parquet"), compression="zstd")
    print(json.dumps({"messages": n, "bytes": pos}))


def sanity_check(protolake: Path, desc: Path, type_name: str, path: Path, count: int) -> str:
    """Compares protolake's JSON for the first `count` messages with json_format's."""
    from google.protobuf import json_format
    from google.protobuf.internal.decoder import _DecodeVarint

    cls = message_class_from_set(desc.read_bytes(), type_name)
    with gzip.open(path, "rb") as f:
        data = f.read(count * 64 * 1024)
    pos, frames = 0, bytearray()
    expected = []
    while len(expected) < count and pos < len(data):
        size, start = _DecodeVarint(data, pos)
        if start + size > len(data):
            break
        frames += data[pos:start + size]
        expected.append(json_format.MessageToDict(cls.FromString(data[start:start + size])))
        pos = start + size
    r = subprocess.run([str(protolake), "decode", "--descriptors", str(desc), "--type", type_name,
                        "--framing", "varint", "--compression", "none"],
                       input=bytes(frames), capture_output=True)
    if r.returncode != 0:
        return "protolake failed: " + r.stderr.decode(errors="replace").strip()[:200]
    got = [json.loads(line) for line in r.stdout.splitlines()]
    if got == expected:
        return f"first {len(got)} identical to json_format"
    bad = next((i for i, (a, b) in enumerate(zip(got, expected)) if a != b), min(len(got), len(expected)))
    return f"DIFFERS from json_format at message {bad}"


def head_frames(path: Path, count: int) -> list[bytes]:
    """The first `count` messages (without their length prefixes) of a gzip'd varint stream."""
    from google.protobuf.internal.decoder import _DecodeVarint

    out = []
    with gzip.open(path, "rb") as f:
        data = f.read(count * 64 * 1024)
    pos = 0
    while len(out) < count and pos < len(data):
        size, start = _DecodeVarint(data, pos)
        if start + size > len(data):
            break
        out.append(data[start:start + size])
        pos = start + size
    return out


def _first_difference(a, b, path=""):
    """The path of the first value that differs between two JSON values, or None."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in list(a) + [k for k in b if k not in a]:
            if k not in a or k not in b:
                return f"{path}.{k}"
            d = _first_difference(a[k], b[k], f"{path}.{k}")
            if d:
                return d
        return None
    if isinstance(a, list) and isinstance(b, list):
        for i, (x, y) in enumerate(zip(a, b)):
            d = _first_difference(x, y, f"{path}[{i}]")
            if d:
                return d
        return None if len(a) == len(b) else f"{path}[{min(len(a), len(b))}]"
    return None if a == b else (path or ".")


def _lookup(v, path):
    for part in path.replace("[", ".[").strip(".").split("."):
        if part.startswith("["):
            v = v[int(part[1:-1])]
        else:
            v = v.get(part, "<absent>") if isinstance(v, dict) else "<absent>"
    return v


def codegen_check(protolake: Path, baseline: Path, kind: str, desc: Path, type_name: str,
                  path: Path, count: int) -> str:
    """Compares the codegen baseline's JSON with protolake's on the first `count` messages:
    the same top-level keys in every object is what is asked of it (pbjson is a speed
    baseline; its JSON may differ in corners), and how many objects are identical."""
    frames = head_frames(path, count)
    with tempfile.TemporaryDirectory() as tmp:
        head = Path(tmp) / "head.varint.gz"
        with gzip.open(head, "wb") as f:
            for fr in frames:
                f.write(varint(len(fr)) + fr)
        a = subprocess.run([str(baseline), "codegen", "--type", kind, str(head)], capture_output=True)
        b = subprocess.run([str(protolake), "decode", "--descriptors", str(desc), "--type", type_name,
                            "--framing", "varint", str(head)], capture_output=True)
    if a.returncode != 0:
        return "NOTE: codegen failed: " + a.stderr.decode(errors="replace").strip()[:200]
    if b.returncode != 0:
        return "protolake failed: " + b.stderr.decode(errors="replace").strip()[:200]
    got = [json.loads(line) for line in a.stdout.splitlines()]
    want = [json.loads(line) for line in b.stdout.splitlines()]
    if len(got) != len(want):
        return f"NOTE: codegen printed {len(got)} objects, protolake {len(want)}"
    for i, (x, y) in enumerate(zip(got, want)):
        if set(x) != set(y):
            return (f"NOTE: top-level keys differ from protolake's at message {i}: "
                    f"{sorted(set(x) ^ set(y))}")
    same = sum(x == y for x, y in zip(got, want))
    text = f"first {len(got)}: same top-level keys as protolake, {same} objects identical"
    diff = next((d for x, y in zip(got, want) if (d := _first_difference(x, y))), None)
    if diff:
        x, y = next((x, y) for x, y in zip(got, want) if _first_difference(x, y) == diff)
        text += (f"; e.g. {diff}: {json.dumps(_lookup(x, diff))[:40]} (pbjson) vs "
                 f"{json.dumps(_lookup(y, diff))[:40]}")
    return text


def baseline_notes(baseline: Path) -> tuple[bool, list[str]]:
    """Whether the codegen baseline can run, and notes about it (missing or stale)."""
    build = "cargo build --release --locked --manifest-path bench/codegen/Cargo.toml"
    if not (baseline.is_file() and os.access(baseline, os.X_OK)):
        return False, [f"- NOTE: {baseline} not built: the {CODEGEN_LABEL} and {GUNZIP_LABEL} rows "
                       f"are skipped (`{build}`, or `make bench`)"]
    sources = [CODEGEN / "Cargo.toml", CODEGEN / "Cargo.lock", CODEGEN / "build.rs",
               BENCH / "analytics.proto", *CODEGEN.glob("src/*.rs"), *CODEGEN.glob("proto/**/*.proto")]
    newest = max((p.stat().st_mtime for p in sources if p.exists()), default=0)
    if newest > baseline.stat().st_mtime:
        return True, [f"- NOTE: {baseline} is older than its sources in bench/codegen (`{build}`)"]
    return True, []


def has_threads_flag(protolake: Path) -> bool:
    """Whether this protolake's `decode` takes `--threads N` (newer builds)."""
    r = subprocess.run([str(protolake), "decode", "--help"], capture_output=True, text=True)
    return "--threads" in r.stdout


def build_small(corpus: Path, desc: Path) -> dict:
    """bench/out/small: SMALL_OBJECTS gzip'd single-message objects (the analytics corpus's
    first messages) under src/events/, and a registry routing events/ to the analytics type.
    Cached by parameters in small/meta.json."""
    meta_path = SMALL / "meta.json"
    params = {"generator": GENERATOR_VERSION, "seed": SEED, "objects": SMALL_OBJECTS,
              "descriptors": _sha(desc), "layout": 1}
    if meta_path.exists():
        meta = json.loads(meta_path.read_text())
        if meta.get("params") == params and (SMALL / "src").is_dir():
            return meta
    shutil.rmtree(SMALL, ignore_errors=True)
    frames = head_frames(corpus, SMALL_OBJECTS)
    if len(frames) < SMALL_OBJECTS:
        sys.exit(f"{corpus} has only {len(frames)} messages, the small-objects run needs {SMALL_OBJECTS}")
    src, registry = SMALL / "src", SMALL / "registry"
    gz_bytes = 0
    for i, frame in enumerate(frames):
        obj = src / "events" / f"hour={i // 100:02d}" / f"evt-{i:04d}.pb.gz"
        obj.parent.mkdir(parents=True, exist_ok=True)
        with open(obj, "wb") as f:
            with gzip.GzipFile(filename="", mode="wb", fileobj=f, compresslevel=6, mtime=0) as gz:
                gz.write(frame)
        gz_bytes += obj.stat().st_size
    registry.mkdir(parents=True)
    shutil.copyfile(desc, registry / "analytics.binpb")
    (registry / "routes.json").write_text(json.dumps(
        {"routes": [{"prefix": "events/", "type": ANALYTICS_TYPE, "framing": "single"}]}, indent=1) + "\n")
    meta = {"params": params, "objects": len(frames), "raw_bytes": sum(map(len, frames)),
            "gz_bytes": gz_bytes}
    meta_path.write_text(json.dumps(meta, indent=1))
    return meta


def run_small(protolake: Path, jobs: int, repeat: int) -> tuple[Run, str]:
    """`protolake run -jN` over bench/out/small, best of `repeat`, a fresh landing each run;
    (run, error) where error is "" when every run exited 0 and landed every object."""
    landing = SMALL / f"landing-j{jobs}"
    cmd = [str(protolake), "run", "--registry", str(SMALL / "registry"), "--landing", str(landing),
           "-q", "-j", str(jobs), str(SMALL / "src")]
    runs = []
    for _ in range(repeat):
        shutil.rmtree(landing, ignore_errors=True)
        r = run_child(cmd)
        if not r.ok:
            return r, f"exit failure: {r.stderr.strip()[-500:]}"
        landed = sum(1 for _ in landing.rglob("*.ndjson"))
        if landed != SMALL_OBJECTS:
            r.ok = False
            return r, f"landed {landed} .ndjson files, expected {SMALL_OBJECTS}"
        runs.append(r)
    shutil.rmtree(landing, ignore_errors=True)
    best = min(runs, key=lambda r: r.seconds)
    best.maxrss_kib = max(r.maxrss_kib for r in runs)
    return best, ""


# ---------------------------------------------------------------------------------------


def machine() -> list[str]:
    cpu = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        rustc = subprocess.run(["rustc", "--version"], capture_output=True, text=True).stdout.strip()
    except OSError:
        rustc = "?"
    from google.protobuf.internal import api_implementation
    import google.protobuf
    return [f"- machine: {os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))}), {cpu}, "
            f"{platform.system()} {platform.release()}",
            f"- {rustc}; Python {platform.python_version()}, protobuf {google.protobuf.__version__} "
            f"({api_implementation.Type()})"]


def fmt_rss(kib):
    return f"{kib / 1024:.1f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="4 MiB corpora, 64 MiB stream run (CI smoke)")
    ap.add_argument("--protolake", default=str(ROOT / "target" / "release" / "protolake"))
    ap.add_argument("--baseline", default=str(BASELINE),
                    help="bench/codegen's binary (codegen and gunzip rows; skipped when missing)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-python", action="store_true", help="skip the json_format baseline")
    ap.add_argument("--python-prefix", type=float, default=5.0, help="MB of each corpus for json_format")
    ap.add_argument("--stream-mib", type=int, default=None, help="size of the piped stream run")
    ap.add_argument("--corpora-only", action="store_true",
                    help="build (or check) the corpora, print them as JSON, and stop (the tests use it)")
    ap.add_argument("--_pyjson", nargs=4, help=argparse.SUPPRESS)
    ap.add_argument("--_pyparquet", nargs=4, help=argparse.SUPPRESS)
    a = ap.parse_args()

    if a._pyjson:
        desc, type_name, path, max_bytes = a._pyjson
        python_child(desc, type_name, path, int(max_bytes))
        return 0
    if a._pyparquet:
        desc, type_name, path, max_bytes = a._pyparquet
        python_parquet_child(desc, type_name, path, int(max_bytes))
        return 0

    protolake = Path(a.protolake)
    if not protolake.is_file():
        sys.exit(f"{protolake} not found: run `cargo build --release` first")
    target = (4 if a.quick else 64) * MiB
    stream_total = (a.stream_mib or (64 if a.quick else 1024)) * MiB

    t_start = time.perf_counter()
    descs = build_descriptors(protolake)
    corpora = [
        ("analytics", descs["analytics"], ANALYTICS_TYPE, gen_analytics),
        ("otel", descs["otel"], OTEL_TYPE, gen_otel),
    ]
    metas = {}
    for name, desc, type_name, gen in corpora:
        print(f"corpus {name}: building/checking ...", file=sys.stderr, flush=True)
        metas[name] = build_corpus(corpus_path(name, a.quick), name, desc, type_name, gen, target)
    if a.corpora_only:
        print(json.dumps({name: {"descriptors": str(desc), "type": type_name,
                                 "path": str(corpus_path(name, a.quick)), "messages": metas[name]["messages"]}
                          for name, desc, type_name, _ in corpora}))
        return 0

    failures = []
    rows = []
    notes = []
    have_gzip = shutil.which("gzip") is not None
    baseline = Path(a.baseline)
    have_baseline, baseline_msgs = baseline_notes(baseline)
    notes.extend(baseline_msgs)
    threads = has_threads_flag(protolake)
    if not threads:
        notes.append("- this protolake's `decode` has no --threads flag: the --threads 2 row is skipped")
    one = ", 1 core" if TASKSET else ", 1 thread"
    pin1 = [TASKSET, "-c", "0"] if TASKSET else []
    # "2 cores": the first two CPUs this process may use, when it may use more.
    cpus = sorted(os.sched_getaffinity(0))
    pin2 = [TASKSET, "-c", f"{cpus[0]},{cpus[1]}"] if TASKSET and len(cpus) > 2 else []
    for name, desc, type_name, _ in corpora:
        meta = metas[name]
        path = corpus_path(name, a.quick)
        raw, msgs = meta["raw_bytes"], meta["messages"]
        notes.append(f"- {name}: {msgs} messages, {raw / MB:.1f} MB protobuf "
                     f"(avg {raw / msgs:.0f} B/message), {meta['gz_bytes'] / MB:.1f} MB gzip'd; "
                     f"check: {sanity_check(protolake, desc, type_name, path, 200)}")
        if have_baseline:
            notes.append(f"- {name} codegen check: "
                         f"{codegen_check(protolake, baseline, name, desc, type_name, path, 200)}")
        results = {}
        if have_gzip:
            print(f"{name}: gzip -dc", file=sys.stderr, flush=True)
            results[GZIP_LABEL] = (best_of(a.repeat, ["gzip", "-dc", str(path)]), raw, msgs, "")
        if have_baseline:
            # The gzip backend protolake links (flate2 zlib-rs), decompressing alone: the
            # ceiling for one gzip'd stream on one core.
            label = GUNZIP_LABEL + one
            print(f"{name}: {label}", file=sys.stderr, flush=True)
            r = best_of(a.repeat, pin1 + [str(baseline), "gunzip", str(path)])
            if not r.ok:
                notes.append(f"- {name} {label} failed: {r.stderr.strip()[-300:]}")
            results[label] = (r, raw, msgs, "")
        # One core (taskset) for every engine, so the ratios compare like with like; then the
        # default engine with both cores, where decompression runs on the second one (and one
        # transcoding thread, `--threads 1`, where the binary has the flag); then, where it
        # does, two threads transcoding the stream's frames (`--threads 2`).
        runs = [(e, "1core") for e in ("direct", "serde", "reflect")] + [("direct", "pipelined")]
        if threads:
            runs.append(("direct", "threads2"))
        for engine, mode in runs:
            cores = {"1core": "1 core" if TASKSET else f"{os.cpu_count()} cores, pipelined",
                     "pipelined": f"{os.cpu_count()} cores, pipelined",
                     "threads2": "2 cores, --threads 2"}[mode]
            label = f"protolake --engine {engine}" + ENGINE_NOTES[engine] + f", {cores}"
            print(f"{name}: {label}", file=sys.stderr, flush=True)
            cmd = [str(protolake), "decode", "--descriptors", str(desc), "--type", type_name,
                   "--framing", "varint", "-o", "/dev/null", str(path)]
            if engine != "direct":
                cmd[2:2] = ["--engine", engine]
            if threads and mode != "1core":
                cmd[2:2] = ["--threads", "2" if mode == "threads2" else "1"]
            if mode == "1core":
                cmd = pin1 + cmd
            elif mode == "threads2":
                cmd = pin2 + cmd
            r = best_of(a.repeat, cmd)
            if not r.ok:
                failures.append(f"{name} {label}: exit failure: {r.stderr.strip()[-500:]}")
            results[label] = (r, raw, msgs, "")
        if have_baseline:
            label = CODEGEN_LABEL + one
            print(f"{name}: {label}", file=sys.stderr, flush=True)
            r = best_of(a.repeat, pin1 + [str(baseline), "codegen", "--type", name, str(path)])
            if not r.ok:
                notes.append(f"- {name} {label} failed: {r.stderr.strip()[-300:]}")
            results[label] = (r, raw, msgs, "")
        # Parquet (zstd) on one core, written to a real file (the footer needs seeking-free
        # but complete output); the figure includes the column building and compression.
        pq_out = OUT / f"{name}.bench.parquet"
        label = "protolake --format parquet (zstd), 1 core" if TASKSET else "protolake --format parquet (zstd)"
        print(f"{name}: {label}", file=sys.stderr, flush=True)
        cmd = [str(protolake), "decode", "--descriptors", str(desc), "--type", type_name,
               "--framing", "varint", "--format", "parquet", "-o", str(pq_out), str(path)]
        if TASKSET:
            cmd = [TASKSET, "-c", "0"] + cmd
        r = best_of(a.repeat, cmd)
        if not r.ok:
            failures.append(f"{name} {label}: exit failure: {r.stderr.strip()[-500:]}")
        results[label] = (r, raw, msgs, f"{pq_out.stat().st_size / MB:.1f} MB file" if r.ok else "")
        if not a.no_python:
            print(f"{name}: python MessageToDict -> pyarrow -> parquet", file=sys.stderr, flush=True)
            prefix = int(a.python_prefix * MB)
            r = best_of(a.repeat, [sys.executable, str(Path(__file__).resolve()), "--_pyparquet",
                                   str(desc), type_name, str(path), str(prefix)])
            if r.ok:
                got = json.loads(r.stdout.strip().splitlines()[-1])
                results["python MessageToDict + pyarrow from_pylist + write_table (zstd)"] = (
                    r, got["bytes"], got["messages"], f"first {got['bytes'] / MB:.1f} MB")
            else:
                notes.append(f"- python Parquet baseline failed on {name}: {r.stderr.strip()[-300:]}")
        if not a.no_python:
            print(f"{name}: python json_format", file=sys.stderr, flush=True)
            prefix = int(a.python_prefix * MB)
            r = best_of(a.repeat, [sys.executable, str(Path(__file__).resolve()), "--_pyjson",
                                   str(desc), type_name, str(path), str(prefix)])
            if r.ok:
                got = json.loads(r.stdout.strip().splitlines()[-1])
                results["python json_format + json.dumps"] = (
                    r, got["bytes"], got["messages"], f"first {got['bytes'] / MB:.1f} MB")
            else:
                notes.append(f"- python baseline failed on {name}: {r.stderr.strip()[-300:]}")
        reflect = results.get("protolake --engine serde" + ENGINE_NOTES["serde"]
                              + (", 1 core" if TASKSET else f", {os.cpu_count()} cores, pipelined"))
        reflect_rate = reflect[1] / reflect[0].seconds if reflect and reflect[0].ok else None
        for label, (r, nbytes, nmsgs, note) in results.items():
            if not r.ok:
                rows.append(f"| {name} | {label} | FAILED | | | | |")
                continue
            rate = nbytes / r.seconds
            ratio = f"{rate / reflect_rate:.2f}x" if reflect_rate and label not in NO_RATIO else ""
            rows.append(f"| {name} | {label} | {rate / MB:.1f} | {nmsgs / r.seconds:,.0f} | {ratio} | "
                        f"{fmt_rss(r.maxrss_kib)} | {r.seconds:.3f}s {note} |")

    # Many small objects through `protolake run`: per-object cost (routing, open, sniff,
    # spool, rename) rather than per-byte; -j1 and -j2, each from a fresh landing directory.
    print(f"small: {SMALL_OBJECTS} single-message objects through protolake run", file=sys.stderr, flush=True)
    small = build_small(corpus_path("analytics", a.quick), descs["analytics"])
    where = f"analytics, {SMALL_OBJECTS:,} objects"
    j1_rate = None
    for jobs in (1, 2):
        label = f"protolake run -j{jobs}, single-message gzip'd objects"
        print(f"small: {label}", file=sys.stderr, flush=True)
        r, err = run_small(protolake, jobs, a.repeat)
        if err:
            failures.append(f"small objects {label}: {err}")
            rows.append(f"| {where} | {label} | FAILED | | | | {err[:120]} |")
            continue
        objs = small["objects"] / r.seconds
        scaling = f", j2/j1 {objs / j1_rate:.2f}x" if jobs == 2 and j1_rate else ""
        j1_rate = objs if jobs == 1 else j1_rate
        rows.append(f"| {where} | {label} | {small['raw_bytes'] / MB / r.seconds:.2f} | {objs:,.0f} | | "
                    f"{fmt_rss(r.maxrss_kib)} | {r.seconds:.3f}s, {objs:,.0f} objects/s{scaling} |")
    notes.append(f"- small objects: {small['objects']} files under {SMALL.relative_to(ROOT)}/src/events/, "
                 f"{small['raw_bytes'] / 1e3:.0f} KB protobuf (avg {small['raw_bytes'] / small['objects']:.0f} B), "
                 f"{small['gz_bytes'] / 1e3:.0f} KB gzip'd; messages/s = objects/s there")

    # Piped stream, never on disk.
    print(f"stream: {stream_total >> 20} MiB through a pipe", file=sys.stderr, flush=True)
    with gzip.open(corpus_path("analytics", a.quick), "rb") as f:
        raw = f.read()
    from google.protobuf.internal.decoder import _DecodeVarint
    ends, pos = [], 0
    while pos < len(raw):
        size, start = _DecodeVarint(raw, pos)
        pos = start + size
        ends.append(pos)
    # Whole copies of the corpus, then the largest whole-frame prefix for the remainder.
    copies, rest = divmod(stream_total, len(raw))
    cut = ends[bisect.bisect_right(ends, rest) - 1] if rest and bisect.bisect_right(ends, rest) else 0
    sent = copies * len(raw) + cut
    msgs = copies * len(ends) + bisect.bisect_right(ends, cut)
    cmd = [str(protolake), "decode", "--descriptors", str(descs["analytics"]), "--type", ANALYTICS_TYPE,
           "--framing", "varint", "--compression", "none", "-o", "/dev/null", "-"]
    feed_buf = memoryview(raw)
    r = run_child(cmd, feed=[feed_buf] * copies + ([feed_buf[:cut]] if cut else []))
    del raw, feed_buf
    if not r.ok:
        failures.append(f"stream: exit failure: {r.stderr.strip()[-500:]}")
        rows.append(f"| stream {sent / MiB:.0f} MiB | protolake (pipe, --compression none) | FAILED | | | | |")
    else:
        rss_ok = "OK < 64 MiB" if r.maxrss_kib < 64 * 1024 else "OVER 64 MiB"
        rows.append(f"| analytics, {sent / MiB:.0f} MiB piped | protolake --engine direct, stdin, no compression | "
                    f"{sent / MB / r.seconds:.1f} | {msgs / r.seconds:,.0f} | | {fmt_rss(r.maxrss_kib)} "
                    f"| {r.seconds:.2f}s, RSS {rss_ok} |")

    # The same stream to Parquet: row groups bound the memory.
    print(f"stream: {stream_total >> 20} MiB through a pipe to Parquet", file=sys.stderr, flush=True)
    with gzip.open(corpus_path("analytics", a.quick), "rb") as f:
        raw = f.read()
    pq_stream = OUT / "stream.bench.parquet"
    cmd = [str(protolake), "decode", "--descriptors", str(descs["analytics"]), "--type", ANALYTICS_TYPE,
           "--framing", "varint", "--compression", "none", "--format", "parquet", "-o", str(pq_stream), "-"]
    feed_buf = memoryview(raw)
    r = run_child(cmd, feed=[feed_buf] * copies + ([feed_buf[:cut]] if cut else []))
    del raw, feed_buf
    if not r.ok:
        failures.append(f"parquet stream: exit failure: {r.stderr.strip()[-500:]}")
        rows.append(f"| stream {sent / MiB:.0f} MiB | protolake --format parquet (pipe) | FAILED | | | | |")
    else:
        rss_ok = "OK <= 256 MiB" if r.maxrss_kib <= 256 * 1024 else "OVER 256 MiB"
        rows.append(f"| analytics, {sent / MiB:.0f} MiB piped | protolake --format parquet (zstd), stdin | "
                    f"{sent / MB / r.seconds:.1f} | {msgs / r.seconds:,.0f} | | {fmt_rss(r.maxrss_kib)} "
                    f"| {r.seconds:.2f}s, RSS {rss_ok}, {pq_stream.stat().st_size / MB:.0f} MB file |")
        pq_stream.unlink()

    # Cold start: one tiny message, process start to exit (what a one-off `decode` costs).
    tiny = OUT / "tiny.bin"
    tiny.write_bytes(b"\x0a\x03abc")
    cold_cmd = [str(protolake), "decode", "--descriptors", str(descs["analytics"]), "--type", ANALYTICS_TYPE,
                "-o", "/dev/null", str(tiny)]
    times = []
    for _ in range(31):
        t0 = time.perf_counter()
        subprocess.run(cold_cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        times.append(time.perf_counter() - t0)
    times.sort()
    rows.append(f"| one 5-byte message | protolake decode, process start to exit | | | | | "
                f"median {times[len(times) // 2] * 1000:.1f} ms, min {times[0] * 1000:.1f} ms (31 runs) |")

    print()
    print(f"## protolake decode benchmark{' (--quick)' if a.quick else ''}")
    print()
    print("\n".join(machine()))
    print("\n".join(notes))
    print(f"- MB = 10^6 bytes of uncompressed protobuf input; best of {a.repeat} runs, one process each, "
          "wall clock incl. startup and gzip decompression; RSS = max over runs of the child's own peak RSS "
          f"({'GNU time %M' if GNU_TIME else 'polled VmHWM'})")
    print()
    print("| corpus | tool | MB/s | messages/s | vs DynamicMessage | peak RSS MiB | time / notes |")
    print("|---|---|---:|---:|---:|---:|---|")
    print("\n".join(rows))
    print()
    print(f"total benchmark time {time.perf_counter() - t_start:.0f}s")
    if failures:
        print("\nFAILED runs:\n" + "\n".join(failures), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
