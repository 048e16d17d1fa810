#!/usr/bin/env bash
# End to end: the real `bootstrap` binary under a Lambda Runtime API emulator (cargo lambda
# watch), reading and writing S3 in a moto server. Everything local, nothing needs AWS.
#
#   deploy/e2e.sh              # host (x86_64) debug build of bootstrap (the tests' build)
#   E2E_ARM64=1 deploy/e2e.sh  # the release arm64 zip from deploy/lambda.sh, under qemu-aarch64
#
# Either runs against `cargo lambda watch --only-lambda-apis` (the Runtime API emulator).
#
# 1. moto on a free 127.0.0.1 port; buckets protolake-e2e-{source,registry,landing} (fixed names:
#    moto is fresh per run); descriptors/ published as the registry; objects from examples/
#    uploaded under the keys deploy/events/sqs-batch.json names, one of them truncated.
# 2. Invokes the function with deploy/events/sqs-batch.json (an SQS batch as Lambda delivers it:
#    S3-style and moto-style notification bodies, a key with a space and a plus, a deleted
#    object, an s3:TestEvent, a duplicate, and EventBridge events from S3: an Object Created
#    of that same key and an Object Deleted) twice: a redelivery must give the same answer.
# 3. Passes only if batchItemFailures is exactly the corrupt record's messageId, and the landing
#    bucket holds exactly the good objects, byte-identical to `protolake run` on examples/.
# E2E_KEEP=1 keeps the work directory and prints the logs (moto, watch, the function).
# Needs .venv (make setup). Installs cargo-lambda (PyPI wheel, --no-deps) into .tools/ if missing.
# Exit 0 pass, 1 fail.
set -euo pipefail
cd "$(dirname "$0")/.."
t0=$(date +%s.%N)
elapsed() { awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1fs", b - a }'; }
log() { echo "e2e [$(elapsed)]: $*"; }

[ -x .venv/bin/moto_server ] || { echo "e2e: .venv/bin/moto_server missing: run 'make setup'" >&2; exit 1; }
# `cargo lambda watch` and `invoke` need only cargo-lambda's own binary: the PyPI wheel installed
# without its dependencies (~14 MB; its ziglang dependency, ~400 MB, only cross-compiles, which
# deploy/lambda.sh does). Same pin as deploy/requirements.txt, kept in .tools/ (pip --target).
CL_PIN=$(grep -E '^cargo-lambda==' deploy/requirements.txt)
CL_DIR=.tools/${CL_PIN/==/-}
if [ ! -x "$CL_DIR/bin/cargo-lambda" ]; then
    rm -rf "$CL_DIR"
    .venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps --only-binary :all: \
        --target "$CL_DIR" "$CL_PIN"
fi
CARGO_LAMBDA=(env "PATH=$PWD/$CL_DIR/bin:$PATH" cargo lambda)
PY=.venv/bin/python

WORK=$(mktemp -d "${TMPDIR:-/tmp}/protolake-e2e.XXXXXX")
PIDS=()
cleanup() {
    local rc=$?
    # Each background job runs in its own session (setsid): stop exactly those groups.
    for pid in "${PIDS[@]}"; do
        kill -TERM -- "-$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL -- "-$pid" 2>/dev/null || true
    done
    if [ "$rc" -ne 0 ] || [ "${E2E_KEEP:-0}" = 1 ]; then
        [ "$rc" -ne 0 ] && echo "e2e: FAILED (exit $rc) after $(elapsed); logs in $WORK:" >&2
        [ "$rc" -eq 0 ] && echo "e2e: logs kept in $WORK (E2E_KEEP=1)" >&2
        for f in "$WORK"/*.log; do
            [ -s "$f" ] || continue
            echo "----- $(basename "$f") (last 40 lines)" >&2
            tail -n 40 "$f" >&2
        done
    else
        rm -rf "$WORK"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_tcp() { # port, seconds, pid
    local i
    for i in $(seq $(( $2 * 10 ))); do
        if python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.2)' "$1" 2>/dev/null; then
            return 0
        fi
        kill -0 "$3" 2>/dev/null || { echo "e2e: process $3 died before listening on $1" >&2; return 1; }
        sleep 0.1
    done
    echo "e2e: nothing listening on 127.0.0.1:$1 after $2 s" >&2
    return 1
}

# --- build: the function, and the CLI whose `run` output is the reference -------------------------
# The debug binaries as `make test` builds them: `cargo test --no-run` resolves the tests'
# features, so after `cargo test` this compiles nothing (a plain `cargo build` would compile
# most of the SDK graph again for its own features). The host bootstrap so carries the
# second-opinion engines, which it never calls; the arm64 path runs the shipped zip.
DEBUG_DIR="${CARGO_TARGET_DIR:-target}/debug"
log "building bootstrap and protolake (debug, the tests' build)"
cargo test --no-run --quiet --locked --features second-opinion --test it 2>"$WORK/build.log" || {
    cat "$WORK/build.log" >&2; exit 1; }
if [ "${E2E_ARM64:-0}" = 1 ]; then
    ZIP=target/lambda/bootstrap/bootstrap.zip
    [ -f "$ZIP" ] || { echo "e2e: $ZIP missing: run deploy/lambda.sh first" >&2; exit 1; }
    command -v qemu-aarch64 >/dev/null && [ -d /usr/aarch64-linux-gnu ] || {
        echo "e2e: E2E_ARM64=1 needs qemu-aarch64 and /usr/aarch64-linux-gnu (apt-get install qemu-user libc6-arm64-cross)" >&2; exit 1; }
    python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' "$ZIP" "$WORK/arm64"
    chmod +x "$WORK/arm64/bootstrap"
    FUNCTION=(qemu-aarch64 -L /usr/aarch64-linux-gnu "$WORK/arm64/bootstrap")
else
    FUNCTION=("$DEBUG_DIR/bootstrap")
fi
"$DEBUG_DIR"/protolake run --registry descriptors --landing "$WORK/reference" -q -j 2 examples >"$WORK/reference.log" 2>&1

# --- moto ---------------------------------------------------------------------------------------------
MOTO_PORT=$(free_port)
setsid .venv/bin/moto_server -H 127.0.0.1 -p "$MOTO_PORT" >"$WORK/moto.log" 2>&1 &
PIDS+=($!)
until curl -sf -o /dev/null "http://127.0.0.1:$MOTO_PORT/moto-api/"; do
    kill -0 "${PIDS[-1]}" 2>/dev/null || { echo "e2e: moto_server died" >&2; exit 1; }
    sleep 0.1
done
log "moto on 127.0.0.1:$MOTO_PORT"

export AWS_ENDPOINT_URL="http://127.0.0.1:$MOTO_PORT" AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 \
       AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_EC2_METADATA_DISABLED=true
unset AWS_PROFILE AWS_SESSION_TOKEN
$PY deploy/e2e_setup.py setup

# The function's configuration: what template.yaml sets, pointed at moto.
FUNCTION_ENV=(
    "AWS_ENDPOINT_URL=$AWS_ENDPOINT_URL" AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
    AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_EC2_METADATA_DISABLED=true
    PROTOLAKE_REGISTRY=s3://protolake-e2e-registry/registry/
    PROTOLAKE_LANDING=s3://protolake-e2e-landing/landing/
    PROTOLAKE_SCHEMA_TTL_SECS=60 PROTOLAKE_ON_MISSING_OBJECT=ack
    PROTOLAKE_OUTPUT_COMPRESSION=none PROTOLAKE_CONCURRENCY=4
    "PROTOLAKE_LOG=${PROTOLAKE_LOG:-info}"
)

# --- the Runtime API emulator and the function ----------------------------------------------------------
LAMBDA_PORT=$(free_port)
# watch serves the Runtime API only; the function is started here, as a Lambda sandbox starts it
# (`watch` on its own would `cargo run` it, a build with other features).
setsid "${CARGO_LAMBDA[@]}" watch --only-lambda-apis --invoke-address 127.0.0.1 \
    --invoke-port "$LAMBDA_PORT" >"$WORK/watch.log" 2>&1 &
PIDS+=($!)
wait_tcp "$LAMBDA_PORT" 30 "${PIDS[-1]}"
# What a Lambda sandbox sets, as `watch --only-lambda-apis` prints it (Runtime API under
# /.rt; a runtime started outside watch is the function "_").
FUNCTION_NAME=_
setsid env "${FUNCTION_ENV[@]}" AWS_LAMBDA_RUNTIME_API="http://127.0.0.1:$LAMBDA_PORT/.rt" \
    AWS_LAMBDA_FUNCTION_NAME=_ AWS_LAMBDA_FUNCTION_VERSION=1 \
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE=1024 AWS_LAMBDA_LOG_GROUP_NAME=/protolake/e2e \
    AWS_LAMBDA_LOG_STREAM_NAME=e2e \
    "${FUNCTION[@]}" >"$WORK/function.log" 2>&1 &
PIDS+=($!)
log "${FUNCTION[*]} against watch's Runtime API on 127.0.0.1:$LAMBDA_PORT"

invoke() { # output file
    "${CARGO_LAMBDA[@]}" invoke "$FUNCTION_NAME" --invoke-address 127.0.0.1 --invoke-port "$LAMBDA_PORT" \
        --data-file deploy/events/sqs-batch.json --output-format json >"$1" 2>"$1.err.log" || {
        echo "e2e: cargo lambda invoke failed: $(cat "$1.err.log")" >&2; return 1; }
}

invoke "$WORK/response-1.json"
log "invoke 1: $(head -c 400 "$WORK/response-1.json")"
$PY deploy/e2e_setup.py check "$WORK/response-1.json" "$WORK/reference"

# At-least-once: the same batch again (S3 and SQS both redeliver) must give the same answer and
# leave the same landing objects.
invoke "$WORK/response-2.json"
log "invoke 2 (redelivery): $(head -c 400 "$WORK/response-2.json")"
$PY deploy/e2e_setup.py check "$WORK/response-2.json" "$WORK/reference"

log "PASS"
