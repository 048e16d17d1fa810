#!/usr/bin/env bash
# Builds the Lambda artifact: target/lambda/bootstrap/bootstrap.zip (arm64, provided.al2023),
# the file template.yaml's CodeUri names.
#
#   deploy/lambda.sh            # release arm64 zip, prints its path and size
#   SMOKE=1 deploy/lambda.sh    # then also runs the arm64 binary under qemu-aarch64, if installed
#
# Tools live in .venv-deploy (deploy/requirements.txt: cargo-lambda + Zig from PyPI), not in the
# test venv. Zig cross-compiles the C in aws-lc-sys; no Docker, cmake or clang needed.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv-deploy
REQ=deploy/requirements.txt
STAMP=$VENV/.installed
LIMIT_MB=10   # the size we aim for (Lambda's own limit is 50 MB zipped for direct upload)

if [ ! -x "$VENV/bin/python3" ]; then
    python3 -m venv "$VENV"
fi
if [ ! -f "$STAMP" ] || [ "$REQ" -nt "$STAMP" ]; then
    "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$REQ"
    touch "$STAMP"
fi
# cargo-lambda would add the target itself on the first --arm64 build; doing it here makes a
# rustup failure show up as such.
if ! rustup target list --installed | grep -qx aarch64-unknown-linux-gnu; then
    rustup target add aarch64-unknown-linux-gnu
fi

# cargo-lambda finds Zig through `python3 -m ziglang`: the venv's python3 must come first.
export PATH="$PWD/$VENV/bin:$PATH"
start=$(date +%s)
cargo lambda build --release --arm64 --bin bootstrap --output-format zip --locked
secs=$(( $(date +%s) - start ))

ZIP=target/lambda/bootstrap/bootstrap.zip
bytes=$(stat -c %s "$ZIP")
unzipped=$(python3 -c 'import sys, zipfile; print(sum(i.file_size for i in zipfile.ZipFile(sys.argv[1]).infolist()))' "$ZIP")
mb() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }
echo "lambda: $ZIP  $(mb "$bytes") MB zipped, bootstrap $(mb "$unzipped") MB unzipped, built in ${secs}s"
if [ "$bytes" -gt $(( LIMIT_MB * 1048576 )) ]; then
    echo "lambda: over the ${LIMIT_MB} MB target by $(mb $(( bytes - LIMIT_MB * 1048576 ))) MB" >&2
fi

# Optional smoke run of the aarch64 binary on this x86_64 host (Debian: qemu-user
# libc6-arm64-cross). Outside Lambda there is no AWS_LAMBDA_RUNTIME_API, so the runtime must
# stop at once with an error saying so; that proves the binary loads, links and starts.
if [ "${SMOKE:-0}" = 1 ]; then
    if ! command -v qemu-aarch64 >/dev/null || [ ! -d /usr/aarch64-linux-gnu ]; then
        echo "lambda: SMOKE=1 needs qemu-aarch64 and /usr/aarch64-linux-gnu (apt-get install qemu-user libc6-arm64-cross)" >&2
        exit 1
    fi
    tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
    python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' "$ZIP" "$tmp"
    chmod +x "$tmp/bootstrap"
    set +e
    out=$(env -u AWS_LAMBDA_RUNTIME_API timeout 20 qemu-aarch64 -L /usr/aarch64-linux-gnu "$tmp/bootstrap" 2>&1)
    rc=$?
    set -e
    echo "lambda: smoke run under qemu-aarch64 exited $rc: $(echo "$out" | tail -n 3)"
    if [ "$rc" -eq 124 ] || [ "$rc" -ge 128 ]; then
        echo "lambda: the arm64 binary hung or crashed under qemu" >&2
        exit 1
    fi
fi
