#!/usr/bin/env bash
# Builds the Lambda artifact: target/lambda/bootstrap/bootstrap.zip (arm64, provided.al2023),
# the file template.yaml's CodeUri names.
#
#   deploy/lambda.sh                # release arm64 zip, prints its path and size
#   E2E_ARM64=1 deploy/e2e.sh       # then: run that zip's binary under qemu-aarch64 against moto
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

# The artifact's profile, pinned here rather than left to cargo-lambda's defaults, which it
# applies only where Cargo.toml's [profile.release] is silent (1.9.2 passes
# `--config profile.release.panic="abort"`, lto "thin", target-cpu) and which would keep
# Cargo.toml's `debug = "line-tables-only"` and leave the binary unstripped (85 MB, 22.6 MB zipped).
#  - panic = unwind: service.rs runs each record in its own task so that a panic fails only that
#    record; with abort the whole process dies and the entire batch is retried.
#  - debug = false + strip = symbols: nothing to symbolize on Lambda (panic messages keep file:line).
#  - lto = thin, target-cpu = neoverse-n1 (Lambda arm64 is Graviton2): what cargo-lambda would do.
# These variables apply to this build only (its own target/aarch64-unknown-linux-gnu/ directory);
# host builds keep Cargo.toml's profile.
export CARGO_PROFILE_RELEASE_PANIC=unwind CARGO_PROFILE_RELEASE_DEBUG=false \
       CARGO_PROFILE_RELEASE_STRIP=symbols CARGO_PROFILE_RELEASE_LTO=thin \
       CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUSTFLAGS="-C target-cpu=neoverse-n1"
start=$(date +%s)
cargo lambda build --release --disable-optimizations --arm64 --bin bootstrap --output-format zip --locked
secs=$(( $(date +%s) - start ))

# CARGO_TARGET_DIR moves the artifact with the rest of the build.
ZIP=${CARGO_TARGET_DIR:-target}/lambda/bootstrap/bootstrap.zip
bytes=$(stat -c %s "$ZIP")
unzipped=$(python3 -c 'import sys, zipfile; print(sum(i.file_size for i in zipfile.ZipFile(sys.argv[1]).infolist()))' "$ZIP")
mb() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }
echo "lambda: $ZIP  $(mb "$bytes") MB zipped, bootstrap $(mb "$unzipped") MB unzipped, built in ${secs}s"
if [ "$bytes" -gt $(( LIMIT_MB * 1048576 )) ]; then
    echo "lambda: over the ${LIMIT_MB} MB target by $(mb $(( bytes - LIMIT_MB * 1048576 ))) MB" >&2
fi

# Smoke test of this artifact on an x86_64 host: `E2E_ARM64=1 deploy/e2e.sh` runs it under
# qemu-aarch64 against the Runtime API emulator and moto (see deploy/e2e.sh).
