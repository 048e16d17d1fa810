#!/usr/bin/env bash
# Fuzzes each cargo-fuzz target for SECONDS (`make fuzz`, FUZZ_SECONDS=300 by default):
#
#     bench/fuzz.sh [SECONDS] [TARGET ...]    # default: every target, one after the other
#
# Targets (fuzz/fuzz_targets/):
#   decode        the whole stream path: decompress -> framing -> transcode, both engines
#   differential  one message, direct engine vs reflect engine: both fail or same JSON (F2)
#   decompress    capped gzip/zstd decoders: output never past the cap (F3)
#   framing       varint/fixed32 frames: in bounds, indices and offsets monotonic (F1)
#   notify        arbitrary SQS bodies through the S3 notification parser, classic and EventBridge (F4)
#   registry      arbitrary descriptor-set bytes and routes.json (F4)
#
# cargo-fuzz needs nightly-only flags, so it runs with RUSTC_BOOTSTRAP=1 and without a
# sanitizer (-s none); libFuzzer's coverage instrumentation (sancov) works on stable.
# Panics (debug assertions and integer-overflow checks are on) abort the run, and the
# crashing input is saved in fuzz/artifacts/TARGET/. Replay one with
#     RUSTC_BOOTSTRAP=1 cargo fuzz run -s none TARGET fuzz/artifacts/TARGET/crash-...
# Corpora (fuzz/corpus/TARGET/) are seeded from tests/fixtures, examples/, descriptors/
# and deploy/events/. A summary line per target is appended to fuzz/artifacts/summary.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-300}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(decode differential decompress framing notify registry)
fi
jobs="${FUZZ_JOBS:-1}"

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --version 0.13.2 --locked
fi

python3 - "${targets[@]}" <<'PY'
import hashlib, json, pathlib, sys

fixtures = pathlib.Path("tests/fixtures")
parts = json.loads((fixtures / "manifest.json").read_text())["parts"]
cases = [c for part in parts for c in json.loads((fixtures / part).read_text())["cases"]]
FRAMING = {"single": 0, "varint": 1, "fixed32": 2}
COMPRESSION = {"none": 0, "auto": 1, "gzip": 2, "zstd": 3}


def seeds(target):
    for case in cases:
        src = fixtures / case["input"]
        data = src.read_bytes()
        p2 = case["type"].startswith("protolake.test2.")
        framing = case.get("framing", "single")
        compression = case.get("compression", "none")
        if target == "decode":
            ctl = FRAMING.get(framing, 0) | COMPRESSION.get(compression, 1) << 2 | (0x10 if p2 else 0)
            for extra in (0x00, 0x20, 0xC0):  # direct; reflect; all JSON flags
                yield bytes([ctl | extra]) + data
        elif target == "differential" and framing == "single" and compression == "none":
            for flags in (0x0, 0x2, 0xE):
                yield bytes([(1 if p2 else 0) | flags]) + data
        elif target == "framing" and compression == "none" and framing in ("varint", "fixed32"):
            yield bytes([0 if framing == "varint" else 1]) + data
        elif target == "decompress" and compression in ("gzip", "zstd"):
            yield bytes([0]) + data
    if target == "decompress":
        for p in sorted(pathlib.Path("examples").rglob("*")):
            if p.is_file():
                yield bytes([0]) + p.read_bytes()
    if target == "registry":
        for p in sorted(pathlib.Path("descriptors").glob("*.binpb")) + [fixtures / "testschemas.binpb"]:
            yield bytes([0]) + p.read_bytes()
        yield bytes([1]) + pathlib.Path("descriptors/routes.json").read_bytes()
    if target == "notify":
        for p in sorted(pathlib.Path("deploy/events").glob("*.json")):
            doc = json.loads(p.read_text())
            records = doc.get("Records", []) if isinstance(doc, dict) else []
            for r in records:
                if isinstance(r, dict) and "body" in r:
                    yield r["body"].encode()
        s3 = {"Records": [{"eventVersion": "2.1", "eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
                           "s3": {"bucket": {"name": "b"}, "object": {"key": "a+b%C3%A9.pb", "size": 3, "eTag": "x"}}}]}
        yield json.dumps(s3).encode()
        yield json.dumps({"Type": "Notification", "Message": json.dumps(s3)}).encode()
        yield json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "b"}).encode()
        # EventBridge events from S3: AWS's spelling (etag, version-id), moto's (eTag, raw key,
        # null version-id), a deletion, and one wrapped in SNS.
        eb = {"version": "0", "id": "1", "detail-type": "Object Created", "source": "aws.s3",
              "account": "1", "time": "2021-11-12T00:00:00Z", "region": "us-east-1", "resources": [],
              "detail": {"version": "0", "bucket": {"name": "b"},
                         "object": {"key": "dt=1/a b+c.pb", "size": 5, "etag": "x", "version-id": "v"}}}
        yield json.dumps(eb).encode()
        moto_eb = json.loads(json.dumps(eb))
        moto_eb["detail"]["object"] = {"key": "a+b%C3%A9.pb", "size": 3, "eTag": "x", "version-id": None}
        yield json.dumps(moto_eb).encode()
        deleted = json.loads(json.dumps(eb))
        deleted["detail-type"] = "Object Deleted"
        deleted["detail"]["object"] = {"key": "a.pb", "sequencer": "1"}
        yield json.dumps(deleted).encode()
        yield json.dumps({"Type": "Notification", "Message": json.dumps(eb)}).encode()


for target in sys.argv[1:]:
    corpus = pathlib.Path("fuzz/corpus") / target
    corpus.mkdir(parents=True, exist_ok=True)
    (pathlib.Path("fuzz/artifacts") / target).mkdir(parents=True, exist_ok=True)
    n = 0
    for data in seeds(target):
        (corpus / ("seed-" + hashlib.sha1(data).hexdigest())).write_bytes(data)
        n += 1
    print(f"fuzz {target}: {n} seeds", file=sys.stderr)
PY

parallel=()
if [ "$jobs" -gt 1 ]; then parallel=(-fork="$jobs"); fi
for target in "${targets[@]}"; do
    echo "== fuzz $target for ${secs}s" >&2
    # Not inside the target's artifact directory: cargo-fuzz names the newest file there as
    # the failing input.
    mkdir -p fuzz/artifacts/logs
    log="fuzz/artifacts/logs/$target.log"
    set +e
    RUSTC_BOOTSTRAP=1 cargo fuzz run -s none "$target" "fuzz/corpus/$target" -- \
        -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
        -print_final_stats=1 "${parallel[@]}" >"$log" 2>&1
    status=$?
    set -e
    grep -E '^#[0-9]+ +(DONE|INITED)|stat::number_of_executed_units|ERROR|panicked' "$log" || true
    runs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -Eo '[0-9]+$' || echo "?")
    line="$(date -u +%Y-%m-%dT%H:%MZ) $target: ${secs}s, $runs executions, exit $status"
    echo "$line" | tee -a fuzz/artifacts/summary.txt
    if [ "$status" -ne 0 ]; then
        echo "fuzz $target FAILED: see $log and fuzz/artifacts/$target/" >&2
        exit "$status"
    fi
done
