#!/usr/bin/env bash
# Smoke-fuzzes `transcode_stream` (fuzz/fuzz_targets/decode.rs) for N seconds on stable Rust:
#
#     bench/fuzz.sh [SECONDS]          # default 60; FUZZ_JOBS=2 runs two workers
#
# cargo-fuzz needs nightly-only flags, so it runs with RUSTC_BOOTSTRAP=1 and without a
# sanitizer (-s none); libFuzzer's coverage instrumentation (sancov) works on stable.
# Panics (including integer overflow: debug assertions are on) abort the run, and the
# crashing input is saved in fuzz/artifacts/decode/. Replay one with
#     RUSTC_BOOTSTRAP=1 cargo fuzz run -s none decode fuzz/artifacts/decode/crash-...
# The corpus (fuzz/corpus/decode/) is seeded from tests/fixtures/inputs/*, each input
# prefixed with the control byte that selects its type, framing and compression.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-60}"
jobs="${FUZZ_JOBS:-1}"

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --version 0.13.2 --locked
fi

corpus=fuzz/corpus/decode
mkdir -p "$corpus" fuzz/artifacts/decode
python3 - "$corpus" <<'PY'
import hashlib, json, pathlib, sys
corpus = pathlib.Path(sys.argv[1])
fixtures = pathlib.Path("tests/fixtures")
manifest = fixtures / "manifest.json"
if not manifest.exists():
    sys.exit(0)
FRAMING = {"single": 0, "varint": 1, "fixed32": 2}
COMPRESSION = {"none": 0, "auto": 1, "gzip": 2, "zstd": 3}
n = 0
for case in json.loads(manifest.read_text())["cases"]:
    src = fixtures / case["input"]
    if not src.is_file():
        continue
    ctl = FRAMING.get(case.get("framing", "single"), 0)
    ctl |= COMPRESSION.get(case.get("compression", "none"), 1) << 2
    if case.get("type", "").startswith("protolake.test2."):
        ctl |= 0x10
    for extra in (0x00, 0x20, 0xC0):  # direct; reflect; all JSON flags
        data = bytes([ctl | extra]) + src.read_bytes()
        (corpus / ("seed-" + hashlib.sha1(data).hexdigest())).write_bytes(data)
        n += 1
print(f"fuzz: {n} seeds from {manifest}", file=sys.stderr)
PY

parallel=()
if [ "$jobs" -gt 1 ]; then parallel=(-fork="$jobs"); fi
RUSTC_BOOTSTRAP=1 cargo fuzz run -s none decode "$corpus" -- \
    -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
    -print_final_stats=1 "${parallel[@]}"
