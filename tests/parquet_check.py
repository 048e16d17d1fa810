#!/usr/bin/env python3
"""Judges `protolake decode --format parquet` with the readers users run.

For every case of tests/fixtures/manifest.json (inputs and the reference runtime's
canonical JSON, from tests/gen_fixtures.py), it runs the real binary with
`--format parquet`, reads the file back with pyarrow and with DuckDB, and compares every
row with the reference's decoded message by the contract's mapping table
(../shared/design/contract.md, "Output formats"): the value the canonical JSON shows, in
a typed form; presence decides null; implicit fields hold their default. Expected rows
are derived here from the reference's JSON and the descriptors, never typed by hand.

    .venv/bin/python tests/parquet_check.py --protolake target/debug/protolake

Cases whose reference output is an error must fail and leave no file. Prints one line per
mismatch and a closing `N passed, N failed` line; exits 1 on any mismatch.
"""

import argparse
import base64
import concurrent.futures
import datetime
import functools
import json
import math
import os
import struct
import subprocess
import sys
import tempfile

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from google.protobuf.descriptor import FieldDescriptor as FD

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_fixtures import Schema  # noqa: E402  (the generator's descriptor loading)

TS = "google.protobuf.Timestamp"
DUR = "google.protobuf.Duration"
FIELD_MASK = "google.protobuf.FieldMask"
JSON_TEXT = {
    "google.protobuf.Struct",
    "google.protobuf.Value",
    "google.protobuf.ListValue",
    "google.protobuf.Any",
}
WRAPPERS = {
    "google.protobuf." + n
    for n in (
        "DoubleValue FloatValue Int64Value UInt64Value Int32Value UInt32Value "
        "BoolValue StringValue BytesValue"
    ).split()
}
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)

INTS = {
    FD.TYPE_INT32, FD.TYPE_SINT32, FD.TYPE_SFIXED32, FD.TYPE_UINT32, FD.TYPE_FIXED32,
    FD.TYPE_INT64, FD.TYPE_SINT64, FD.TYPE_SFIXED64, FD.TYPE_UINT64, FD.TYPE_FIXED64,
}


# ---------------------------------------------------------------------------
# Expected rows: the reference's canonical JSON, typed by the mapping table
# ---------------------------------------------------------------------------


class Expect:
    def __init__(self, schema, enum_numbers):
        self.schema = schema
        self.pool = schema.pool
        self.enum_numbers = enum_numbers

    def extensions(self, md):
        return sorted(self.pool.FindAllExtensions(md), key=lambda e: e.number)

    def has_struct_form(self, md):
        name = md.full_name
        if name in (TS, DUR, FIELD_MASK) or name in JSON_TEXT or name in WRAPPERS:
            return False
        return bool(md.fields) or bool(self.extensions(md))

    def columns(self, md):
        """(column name, JSON key, field) in the contract's column order."""
        cols = [(f.name, f.json_name, f) for f in md.fields]
        for e in self.extensions(md):
            cols.append((e.full_name.replace(".", "_"), "[%s]" % e.full_name, e))
        return cols

    def row(self, md, d, path):
        out = {}
        for name, key, f in self.columns(md):
            present = key in d
            v = d.get(key)
            if is_map(f):
                kf = f.message_type.fields_by_name["key"]
                vf = f.message_type.fields_by_name["value"]
                out[name] = (
                    "map",
                    {
                        map_key(kf, k): self.value(vf, x, path)
                        for k, x in (v or {}).items()
                    },
                )
            elif f.is_repeated:
                out[name] = [self.value(f, x, path) for x in (v or [])]
            elif present:
                out[name] = self.value(f, v, path)
            elif f.has_presence:
                out[name] = None
            else:
                out[name] = self.default(f)
        return out

    def value(self, f, v, path):
        if f.type in (FD.TYPE_MESSAGE, FD.TYPE_GROUP):
            md = f.message_type
            name = md.full_name
            if name == TS:
                return ("ts", timestamp_micros(v))
            if name == DUR:
                return ("dur", duration_micros(v))
            if name in WRAPPERS:
                return self.scalar(md.fields_by_name["value"], v)
            if name == FIELD_MASK:
                return v
            if name in JSON_TEXT or not self.has_struct_form(md) or name in path:
                return ("json", v)
            return self.row(md, v, path + [name])
        return self.scalar(f, v)

    def scalar(self, f, v):
        t = f.type
        if t in INTS:
            return int(v)
        if t == FD.TYPE_FLOAT:
            return ("f32", f32(float(v)))
        if t == FD.TYPE_DOUBLE:
            return ("f64", float(v))
        if t == FD.TYPE_BYTES:
            return base64.b64decode(v)
        if t == FD.TYPE_ENUM:
            if v is None:  # google.protobuf.NullValue: JSON null, the enum's value 0 here
                v = 0
            if self.enum_numbers:
                return v if isinstance(v, int) else f.enum_type.values_by_name[v].number
            if isinstance(v, int):
                # An open enum's unknown number (or a known one JSON printed as a number).
                names = [x.name for x in f.enum_type.values if x.number == v]
                return names[0] if names else str(v)
            return v
        return v  # bool, string

    def default(self, f):
        t = f.type
        if t in INTS:
            return 0
        if t == FD.TYPE_FLOAT:
            return ("f32", 0.0)
        if t == FD.TYPE_DOUBLE:
            return ("f64", 0.0)
        if t == FD.TYPE_BOOL:
            return False
        if t == FD.TYPE_STRING:
            return ""
        if t == FD.TYPE_BYTES:
            return b""
        if t == FD.TYPE_ENUM:
            return self.scalar(f, 0)
        raise AssertionError("no default for %s" % f.full_name)


def canonical_json_text(typed, canonical):
    """`typed` (from the --enum-numbers JSON) with the JSON-text cells of `canonical` (the
    default JSON): JSON-text columns always hold the canonical JSON."""
    if isinstance(canonical, tuple) and canonical[0] == "json":
        return canonical
    if isinstance(canonical, tuple) and canonical[0] == "map":
        return ("map", {k: canonical_json_text(typed[1][k], v) for k, v in canonical[1].items()})
    if isinstance(canonical, dict):
        return {k: canonical_json_text(typed[k], v) for k, v in canonical.items()}
    if isinstance(canonical, list):
        return [canonical_json_text(t, c) for t, c in zip(typed, canonical)]
    return typed


def is_map(f):
    return (
        f.is_repeated
        and f.type == FD.TYPE_MESSAGE
        and f.message_type.GetOptions().map_entry
    )


def map_key(kf, k):
    if kf.type == FD.TYPE_BOOL:
        return k == "true"
    if kf.type in INTS:
        return int(k)
    return k


def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def timestamp_micros(s):
    """RFC 3339 (as json_format prints it, always Z) -> microseconds, floored."""
    assert s.endswith("Z"), s
    base, _, frac = s[:-1].partition(".")
    dt = datetime.datetime.strptime(base, "%Y-%m-%dT%H:%M:%S").replace(
        tzinfo=datetime.timezone.utc
    )
    delta = dt - EPOCH
    seconds = delta.days * 86400 + delta.seconds
    nanos = int((frac + "000000000")[:9]) if frac else 0
    return seconds * 1_000_000 + nanos // 1000


def duration_micros(s):
    """"-1.5s" -> microseconds, truncated toward zero."""
    assert s.endswith("s"), s
    body = s[:-1]
    sign = -1 if body.startswith("-") else 1
    body = body.lstrip("-")
    whole, _, frac = body.partition(".")
    nanos = int((frac + "000000000")[:9]) if frac else 0
    return sign * (int(whole) * 1_000_000 + nanos // 1000)


# ---------------------------------------------------------------------------
# What the readers return, in the same normal form
# ---------------------------------------------------------------------------


def norm(v, t):
    if v is None:
        return None
    if pa.types.is_struct(t):
        return {t.field(i).name: norm(v[t.field(i).name], t.field(i).type) for i in range(t.num_fields)}
    if pa.types.is_map(t):
        if isinstance(v, dict):
            if set(v) == {"key", "value"} and isinstance(v["key"], list):
                items = zip(v["key"], v["value"])  # older DuckDB's MAP form
            else:
                items = v.items()
        else:
            items = v  # pyarrow: a list of (key, value) tuples
        return ("map", {norm(k, t.key_type): norm(x, t.item_type) for k, x in items})
    if pa.types.is_list(t):
        return [norm(x, t.value_type) for x in v]
    if pa.types.is_timestamp(t):
        if isinstance(v, datetime.datetime):
            return ("ts", (v - EPOCH) // datetime.timedelta(microseconds=1))
        return ("ts", v)
    if pa.types.is_duration(t):
        if isinstance(v, datetime.timedelta):
            return ("dur", v // datetime.timedelta(microseconds=1))
        return ("dur", v)  # DuckDB: Parquet holds durations as plain INT64
    if pa.types.is_float32(t):
        return ("f32", v)
    if pa.types.is_float64(t):
        return ("f64", v)
    return v


def same_float(a, b):
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b and math.copysign(1, a) == math.copysign(1, b)


def diff(exp, act, path="$"):
    """The first difference between an expected and an actual value, or None."""
    if isinstance(exp, tuple) and exp[0] == "json":
        if not isinstance(act, str):
            return "%s: expected JSON text, got %r" % (path, act)
        try:
            parsed = json.loads(act)
        except ValueError as e:
            return "%s: not JSON (%s): %r" % (path, e, act)
        return None if json_equal(exp[1], parsed) else "%s: JSON %r, expected %r" % (path, act, exp[1])
    if isinstance(exp, tuple) and exp[0] in ("f32", "f64"):
        if not (isinstance(act, tuple) and act[0] == exp[0]):
            return "%s: expected %s %r, got %r" % (path, exp[0], exp[1], act)
        return None if same_float(exp[1], act[1]) else "%s: %r, expected %r" % (path, act[1], exp[1])
    if isinstance(exp, tuple) and exp[0] == "map":
        if not (isinstance(act, tuple) and act[0] == "map"):
            return "%s: expected a map, got %r" % (path, act)
        if set(exp[1]) != set(act[1]):
            return "%s: map keys %r, expected %r" % (path, sorted(act[1], key=repr), sorted(exp[1], key=repr))
        for k in exp[1]:
            d = diff(exp[1][k], act[1][k], "%s[%r]" % (path, k))
            if d:
                return d
        return None
    if isinstance(exp, dict):
        if not isinstance(act, dict):
            return "%s: expected a struct, got %r" % (path, act)
        if list(exp) != list(act):
            return "%s: columns %r, expected %r" % (path, list(act), list(exp))
        for k in exp:
            d = diff(exp[k], act[k], path + "." + k)
            if d:
                return d
        return None
    if isinstance(exp, list):
        if not isinstance(act, list) or len(exp) != len(act):
            return "%s: %r, expected %r" % (path, act, exp)
        for i, (e, a) in enumerate(zip(exp, act)):
            d = diff(e, a, "%s[%d]" % (path, i))
            if d:
                return d
        return None
    if type(exp) is not type(act) or exp != act:
        return "%s: %r, expected %r" % (path, act, exp)
    return None


def json_equal(a, b):
    if isinstance(a, float) or isinstance(b, float):
        return isinstance(a, (int, float)) and isinstance(b, (int, float)) and float(a) == float(b)
    if isinstance(a, dict):
        return isinstance(b, dict) and set(a) == set(b) and all(json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


# ---------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------


def decode(protolake, fixtures, case, flags, out):
    args = [protolake, "decode", "--format", "parquet", "-o", out, "-t", case["type"]]
    for d in case["descriptors"]:
        args += ["--descriptors", os.path.join(fixtures, d)]
    args += ["--framing", case["framing"], "--compression", case["compression"]]
    args += flags
    args.append(os.path.join(fixtures, case["input"]))
    return subprocess.run(args, capture_output=True, text=True, timeout=60)


def check_file(path, case, expected_rows):
    """Mismatches of one file, read by pyarrow and by DuckDB."""
    problems = []
    pf = pq.ParquetFile(path)
    meta = pf.metadata.metadata or {}
    if meta.get(b"protolake.message_type") != case["type"].encode():
        problems.append("footer protolake.message_type = %r" % meta.get(b"protolake.message_type"))
    table = pf.read()
    schema = table.schema
    rows = table.to_pylist()
    if len(rows) != len(expected_rows):
        return problems + ["pyarrow: %d rows, expected %d" % (len(rows), len(expected_rows))]
    struct_type = pa.struct(list(schema))
    for i, (row, exp) in enumerate(zip(rows, expected_rows)):
        d = diff(exp, norm(row, struct_type), "row %d" % i)
        if d:
            problems.append("pyarrow: " + d)
            break
    cur = duckdb_connection().execute("SELECT * FROM read_parquet(?)", [path])
    names = [c[0] for c in cur.description]
    drows = cur.fetchall()
    if len(drows) != len(expected_rows):
        problems.append("duckdb: %d rows, expected %d" % (len(drows), len(expected_rows)))
    else:
        for i, (row, exp) in enumerate(zip(drows, expected_rows)):
            d = diff(exp, norm(dict(zip(names, row)), struct_type), "row %d" % i)
            if d:
                problems.append("duckdb: " + d)
                break
    return problems


@functools.cache
def duckdb_connection():
    """One in-memory DuckDB for every file (a database per file started its threads 1,694 times)."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    return con


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--protolake", required=True)
    ap.add_argument("--fixtures", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures"))
    ap.add_argument("--only", help="run only cases whose name contains this")
    a = ap.parse_args()
    with open(os.path.join(a.fixtures, "manifest.json")) as fh:
        manifest = json.load(fh)
    every = []
    for part in manifest["parts"]:
        with open(os.path.join(a.fixtures, part)) as fh:
            every += json.load(fh)["cases"]
    schemas = {}
    cases = [c for c in every if not a.only or a.only in c["name"]]
    for case in cases:
        refs = tuple(case["descriptors"])
        if refs not in schemas:
            schemas[refs] = Schema([os.path.join(a.fixtures, r) for r in refs])
    passed = failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        jobs = [
            (case, flag_set, flags, enum_numbers)
            for case in cases
            for flag_set, flags, enum_numbers in (("default", [], False), ("enums", ["--enum-numbers"], True))
        ]
        # The decodes run a few at a time (processes); reading and comparing stays here.
        with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
            def start(job):
                case, flag_set, flags, _ = job
                out = os.path.join(tmp, "%s.%s.parquet" % (case["name"], flag_set))
                return out, decode(a.protolake, a.fixtures, case, flags, out)

            for job, (out, r) in zip(jobs, pool.map(start, jobs)):
                case, flag_set, flags, enum_numbers = job
                schema = schemas[tuple(case["descriptors"])]
                md = schema.desc(case["type"])
                exp = case["expected"][flag_set]
                label = "%s [%s]" % (case["name"], flag_set)
                problems = []
                if exp["error_at"] is not None:
                    if r.returncode == 0:
                        problems.append("decoded, but the reference fails at message %d" % exp["error_at"])
                    if os.path.exists(out):
                        problems.append("a failed decode left %s" % out)
                elif r.returncode != 0:
                    problems.append("failed: %s" % r.stderr.strip())
                else:
                    e = Expect(schema, enum_numbers)
                    rows = [e.row(md, m, [md.full_name]) for m in exp["messages"]]
                    if enum_numbers:
                        c = Expect(schema, False)
                        canonical = case["expected"]["default"]["messages"]
                        rows = [
                            canonical_json_text(r_, c.row(md, m, [md.full_name]))
                            for r_, m in zip(rows, canonical)
                        ]
                    problems = check_file(out, case, rows)
                if problems:
                    failed += 1
                    for p in problems:
                        print("FAIL %s: %s" % (label, p))
                else:
                    passed += 1
                if os.path.exists(out):
                    os.remove(out)
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
