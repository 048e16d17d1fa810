#!/usr/bin/env bash
# Compiles tests/schemas_editions/ (protobuf Editions 2023/2024 test schemas) into
# tests/fixtures/editions.binpb (a FileDescriptorSet with imports, no source info), and
# tests/schemas_compat_editions/ into tests/fixtures/compat_editions/.
# protolake's own `schema compile` is not used on purpose: the reference fixtures are built
# with protoc's feature resolution (grpcio-tools' bundled protoc, pinned in
# tests/requirements.txt). The output is deterministic for a given grpcio-tools version.
# Run from the repository root; PY defaults to the project venv's python.
set -euo pipefail
PY="${PY:-.venv/bin/python}"
"$PY" -m grpc_tools.protoc --include_imports -I tests/schemas_editions \
    -o tests/fixtures/editions.binpb \
    tests/schemas_editions/protolake/editions/editions2023.proto \
    tests/schemas_editions/protolake/editions/editions2024.proto \
    tests/schemas_editions/protolake/editions/proto3_original.proto \
    tests/schemas_editions/protolake/editions/proto3_translation.proto \
    tests/schemas_editions/protolake/editions/proto2_imports_editions.proto \
    tests/schemas_editions/protolake/editions/editions_imports_proto3.proto
# compat's editions sets (src/compat/tests.rs): one set per file, each a variant of the same
# proto3 schema's editions translation.
mkdir -p tests/fixtures/compat_editions
for f in tests/schemas_compat_editions/*.proto; do
    "$PY" -m grpc_tools.protoc -I tests/schemas_compat_editions \
        -o "tests/fixtures/compat_editions/$(basename "$f" .proto).binpb" "$f"
done
