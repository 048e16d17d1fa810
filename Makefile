# The verbs people type. `make demo` and `make test` are the README's two commands.
SHELL := /bin/bash
.DEFAULT_GOAL := demo

VENV      := .venv
PY        := $(VENV)/bin/python
STAMP     := $(VENV)/.installed
BIN       := target/release/protolake
LANDING   := out/landing
# The second-opinion engines (prost-reflect) are what tests and benchmarks compare against;
# the Lambda binary (`make lambda`) is built without them.
FEATURES  := --features second-opinion

.PHONY: demo test build debug-build setup descriptors check-descriptors fixtures check-fixtures lint compat bench bench-quick bench-criterion bench-registry bench-compat fuzz soak lambda e2e lint-template lint-iam deny load load-backfill clean

# Project-local Python for the reference fixtures (PyPI protobuf, pinned).
$(STAMP): tests/requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r tests/requirements.txt
	touch $@

setup: $(STAMP)

build:
	cargo build --release --locked $(FEATURES)

# 1) Build, run the pipeline on the bundled examples with the bundled registry, show the JSON.
demo: build
	rm -rf $(LANDING)
	$(BIN) run --registry descriptors --landing $(LANDING) examples
	@echo
	@echo "== NDJSON landed under $(LANDING)/ (first 2 lines of each object) =="
	@find $(LANDING) -name '*.ndjson' | sort | while read -r f; do echo "--- $$f"; head -n 2 "$$f"; done

# 2) Everything CI checks.
# One debug build serves everything below: the descriptor and fixture checks and e2e run the
# binaries `cargo test` builds (`make debug-build`), and one clippy checks the whole workspace,
# fuzz targets included. Any other cargo invocation (a plain `cargo build`, `cargo run`, the
# fuzz crate on its own) resolves other features and compiles most of the SDK graph again.
test: setup lint check-descriptors check-fixtures lint-template
	cargo test --locked --all-targets $(FEATURES)
	@# The real binary under a Lambda Runtime API (cargo lambda watch), every run: deploy/e2e.sh
	@# installs cargo-lambda's own binary (PyPI wheel, --no-deps, no Zig) into .tools/ once.
	$(MAKE) e2e
	@echo "make test: all checks passed"

# The second clippy is the shipped (Lambda) configuration, without the second-opinion engines;
# --all-targets keeps its dependencies those of the first (dev-dependencies add features).
lint:
	cargo fmt --all -- --check
	cargo clippy --locked --workspace --all-targets --features protolake/second-opinion -- -D warnings
	cargo clippy --locked --all-targets -- -D warnings

# The debug binaries as `cargo test` builds them (the tests' features: `cargo build` would
# compile the dependency graph a second time).
DEBUG_BIN := $(or $(CARGO_TARGET_DIR),target)/debug/protolake
debug-build:
	cargo test --no-run --quiet --locked $(FEATURES) --test it

# descriptors/ is compiled from schemas/ and checked in; CI fails when it is stale.
descriptors: debug-build
	$(DEBUG_BIN) schema compile -I schemas schemas/acme/events/v1 -o descriptors/acme_events_v1.binpb
	$(DEBUG_BIN) schema compile -I schemas schemas/acme/events/v2 -o descriptors/acme_events_v2.binpb

check-descriptors: descriptors
	@git diff --exit-code --stat -- descriptors || { echo "descriptors/ is stale: run 'make descriptors' and commit"; exit 1; }

# Migration check (protolake compat) on the example schema: run 1 renames `url` to `page_url`,
# which changes the landed JSON key, so compat must report it as `json` and exit 1; run 2 keeps
# the name `url` and adds a field (a rename with json_name = "url" kept would still be `json`:
# --proto-field-names output and Parquet columns use the .proto name), so compat must exit 0
# with no finding at all and the samples must be identical.
# The target succeeds only if both behave so.
COMPAT := $(DEBUG_BIN) compat --old schemas/acme/events/v2
compat: debug-build
	@echo "== 1) schemas/acme/events/v2 -> schemas/migration/v2_rename.proto (url renamed): must fail =="
	@out=$$($(COMPAT) --new schemas/migration/v2_rename.proto \
		--samples examples/events/pageview-singles --framing single); rc=$$?; \
	echo "$$out"; \
	if [ $$rc -ne 1 ]; then echo "make compat: expected exit 1 for the rename, got $$rc"; exit 1; fi; \
	echo "$$out" | grep -Eq '^  json +field_json_name_changed acme\.events\.v2\.PageView\.url$$' \
		|| { echo "make compat: the rename was not reported as json"; exit 1; }; \
	echo "== exit 1, as expected: the rename is caught at level json =="
	@echo
	@echo "== 2) schemas/acme/events/v2 -> schemas/migration/v2_fixed.proto (url kept, field added): must pass =="
	@out=$$($(COMPAT) --new schemas/migration/v2_fixed.proto \
		--samples examples/events/pageviews --framing varint); rc=$$?; \
	echo "$$out"; \
	if [ $$rc -ne 0 ]; then echo "make compat: expected exit 0 for the fix, got $$rc"; exit 1; fi; \
	echo "$$out" | grep -Eq '^result: NEW can replace OLD \(0 semantic finding' \
		|| { echo "make compat: the fix should have no finding at all"; exit 1; }; \
	echo "$$out" | grep -Eq ': 107 identical, 0 different, 0 failed$$' \
		|| { echo "make compat: the fix should leave every sample message identical"; exit 1; }
	@echo "== exit 0: v2_fixed.proto can replace v2 =="

# tests/fixtures is generated from the reference implementation (Python protobuf).
fixtures: $(STAMP) debug-build
	$(DEBUG_BIN) schema compile -I tests/schemas tests/schemas -o tests/fixtures/testschemas.binpb
	PY=$(PY) tests/compile_editions.sh
	$(PY) tests/gen_fixtures.py --descriptors tests/fixtures/testschemas.binpb --out tests/fixtures
	$(PY) scripts/gen_examples.py --descriptors descriptors --out examples

check-fixtures: fixtures
	@git diff --exit-code --stat -- tests/fixtures examples || { echo "fixtures differ from what the reference generates: run 'make fixtures' and commit"; exit 1; }
	@test -z "$$(git status --porcelain --untracked-files=all -- tests/fixtures examples)" || { echo "untracked fixture files: run 'make fixtures' and commit"; git status --short -- tests/fixtures examples | head; exit 1; }

# Throughput (MB/s of protobuf input, msgs/s) and peak RSS, end to end, against the reflect
# engine, a prost+pbjson codegen baseline (bench/codegen: its own workspace, lock file and
# target dir) and Python json_format; plus small objects through `run` and the 1 GiB
# streaming run. Numbers, never assertions.
bench: build setup
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r bench/requirements.txt
	CARGO_TARGET_DIR=bench/codegen/target cargo build --release --locked --manifest-path bench/codegen/Cargo.toml
	$(PY) bench/run.py $(BENCH_ARGS)

bench-quick:
	$(MAKE) bench BENCH_ARGS=--quick

bench-criterion:
	cargo bench --bench transcode $(FEATURES)

# compat's static check on two versions of a generated 500-message-type schema set.
bench-compat:
	cargo bench --bench compat

# Registry: cold load of 1,000 descriptor files from moto, warm lookups, TTL re-check.
bench-registry: setup
	cargo bench --bench registry

# cargo-fuzz on stable (RUSTC_BOOTSTRAP, no sanitizer): every target in fuzz/ for FUZZ_SECONDS
# each (default 300); FUZZ_TARGETS="differential" picks some.
fuzz:
	bench/fuzz.sh $(or $(FUZZ_SECONDS),300) $(FUZZ_TARGETS)

# A generated 2 GiB varint object through moto: worker peak RSS and throughput (not in `make test`).
soak: build setup
	$(PY) bench/soak.py --gib $(or $(SOAK_GIB),2)

# The deployable arm64 zip for template.yaml (cargo-lambda + Zig from PyPI in .venv-deploy,
# kept apart from .venv: the tests never need Zig). Prints the zip's size.
lambda:
	deploy/lambda.sh

# The real bootstrap under `cargo lambda watch` against moto; E2E_ARM64=1 runs the zip under qemu.
e2e: setup
	deploy/e2e.sh

# AWS SAM template, linted offline (cfn-lint comes with moto[server]); no wildcard IAM action.
# The template as it is, then each NotificationSource variant alone (pinned by
# scripts/template_variant.py; W1028 "branch not reachable" is what pinning means there).
lint-template: setup lint-iam
	$(VENV)/bin/cfn-lint template.yaml
	@mkdir -p out/lint
	@for v in s3 eventbridge; do \
		$(PY) scripts/template_variant.py template.yaml NotificationSource $$v out/lint/template-$$v.yaml \
			&& $(VENV)/bin/cfn-lint --ignore-checks W1028 -- out/lint/template-$$v.yaml \
			&& echo "lint-template: NotificationSource=$$v clean" || exit 1; \
	done

lint-iam:
	python3 scripts/check_iam_actions.py template.yaml

# Licenses and banned crates (offline once installed). cargo-deny is pinned and installed
# into .tools/ on first use. Advisories need the network: see the README.
DENY_VERSION := 0.20.2
DENY         := .tools/bin/cargo-deny
$(DENY):
	cargo install --locked cargo-deny@$(DENY_VERSION) --root .tools

deny: $(DENY)
	@$(DENY) --version | grep -q ' $(DENY_VERSION)$$' || cargo install --locked --force cargo-deny@$(DENY_VERSION) --root .tools
	PATH="$(CURDIR)/.tools/bin:$$PATH" cargo deny check --hide-inclusion-graph licenses bans

# 10,000 small objects through moto: S3 notifications -> SQS -> `protolake poll` (release).
load: build setup
	$(PY) bench/load.py $(LOAD_ARGS)

# The same objects enqueued by `protolake backfill` instead of S3 notifications: adds its
# messages sent per second (LOAD_ARGS="--objects 500" for a quick run).
load-backfill: build setup
	$(PY) bench/load.py --backfill $(LOAD_ARGS)

clean:
	rm -rf out bench/out
