#!/usr/bin/env python3
"""Judges `protolake schema ddl` with a real SQL parser and real readers.

For the example schemas, the test schemas (nested, repeated, maps, well-known types,
extensions) and an editions set: the Parquet DDL is parsed by sqlglot (Athena dialect), and its columns and
types must equal the schema of a Parquet file protolake wrote for the same type, as pyarrow
reads it, mapped to Hive types here (independently of protolake's own mapping). The NDJSON
DDL must parse too, with every JSON key either a column or mapped to one. Then DuckDB reads
a landing written by `run --format parquet` under the DDL's partition layout.

    .venv/bin/python tests/catalog_check.py --protolake target/debug/protolake

Prints one line per mismatch and `N passed, N failed`; exits 1 on any mismatch.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import sqlglot
from sqlglot import exp

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_fixtures import Schema  # noqa: E402  (the generator's descriptor loading)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

TYPES = [
    ("descriptors", "acme.events.v2.PageView"),
    ("descriptors", "acme.events.v1.PageView"),
    ("tests/fixtures/testschemas.binpb", "protolake.test3.TestAllTypesProto3"),
    ("tests/fixtures/testschemas.binpb", "protolake.test2.TestAllTypesProto2"),
    # Editions (a protoc-built set): presence and the rest from resolved features.
    ("tests/fixtures/editions.binpb", "protolake.editions.Editions2023"),
    ("tests/fixtures/editions.binpb", "protolake.editions.Editions2024"),
]


def hive(t):
    """The Hive type of an Arrow type, as the contract's catalog section names them."""
    if pa.types.is_boolean(t):
        return "boolean"
    if pa.types.is_int32(t):
        return "int"
    if pa.types.is_int64(t) or pa.types.is_uint32(t) or pa.types.is_uint64(t) or pa.types.is_duration(t):
        return "bigint"
    if pa.types.is_float32(t):
        return "float"
    if pa.types.is_float64(t):
        return "double"
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return "string"
    if pa.types.is_binary(t) or pa.types.is_large_binary(t):
        return "binary"
    if pa.types.is_timestamp(t):
        return "timestamp"
    if pa.types.is_map(t):
        return "map<%s,%s>" % (hive(t.key_type), hive(t.item_type))
    if pa.types.is_list(t):
        return "array<%s>" % hive(t.value_type)
    if pa.types.is_struct(t):
        return "struct<%s>" % ",".join("%s:%s" % (t.field(i).name, hive(t.field(i).type)) for i in range(t.num_fields))
    raise AssertionError("no Hive type for %s" % t)


def norm_type(sql_type):
    """One spelling of a type, through sqlglot."""
    return exp.DataType.build(sql_type, dialect="hive").sql("hive")


def run(protolake, *args, check=True):
    r = subprocess.run([protolake, *args], capture_output=True, text=True, timeout=120)
    if check and r.returncode != 0:
        raise SystemExit("protolake %s failed: %s" % (" ".join(args), r.stderr))
    return r


def parse_create(sql):
    tree = sqlglot.parse_one(sql, dialect="athena")
    assert isinstance(tree, exp.Create), type(tree)
    schema = tree.this
    cols = [(c.this.name, c.args["kind"].sql("hive")) for c in schema.expressions if isinstance(c, exp.ColumnDef)]
    props = tree.args.get("properties")
    partitions = []
    location = None
    if props:
        for p in props.expressions:
            if isinstance(p, exp.PartitionedByProperty):
                partitions = [c.this.name for c in p.this.expressions]
            if isinstance(p, exp.LocationProperty):
                location = p.this.name
    return cols, partitions, location


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--protolake", required=True)
    a = ap.parse_args()
    passed = failed = 0

    def result(label, problems):
        nonlocal passed, failed
        if problems:
            failed += 1
            for p in problems:
                print("FAIL %s: %s" % (label, p))
        else:
            passed += 1

    with tempfile.TemporaryDirectory() as tmp:
        empty = os.path.join(tmp, "empty.pb")
        open(empty, "wb").close()
        for desc, type_name in TYPES:
            desc = os.path.join(ROOT, desc)
            location = "s3://acme-lake/lake/acme-raw/%s/" % type_name.replace(".", "/")
            # Parquet: the DDL's columns are the written file's.
            sql = run(a.protolake, "schema", "ddl", "-d", desc, "-t", type_name, "--format", "parquet",
                      "--location", location, "--database", "lake", "--partition", "dt", "--projection").stdout
            problems = []
            try:
                cols, partitions, loc = parse_create(sql)
            except Exception as e:  # a parse failure is the finding
                result("%s parquet" % type_name, ["sqlglot cannot parse the DDL: %s\n%s" % (e, sql)])
                continue
            out = os.path.join(tmp, "t.parquet")
            run(a.protolake, "decode", "-d", desc, "-t", type_name, "--framing", "varint",
                "--format", "parquet", "-o", out, empty)
            schema = pq.read_schema(out)
            expected = [(f.name, norm_type(hive(f.type))) for f in schema]
            got = [(n, norm_type(t)) for n, t in cols]
            if got != expected:
                for i, (g, e) in enumerate(zip(got, expected)):
                    if g != e:
                        problems.append("column %d: DDL %s, file %s" % (i, g, e))
                        break
                if len(got) != len(expected):
                    problems.append("%d DDL columns, %d in the file" % (len(got), len(expected)))
            if partitions != ["dt"]:
                problems.append("partitions %r" % partitions)
            if loc != location:
                problems.append("location %r" % loc)
            result("%s parquet" % type_name, problems)

            # NDJSON: parses; every top-level JSON key the JSON can hold is a column or mapped.
            sql = run(a.protolake, "schema", "ddl", "-d", desc, "-t", type_name, "--format", "ndjson",
                      "--location", location).stdout
            problems = []
            try:
                cols, _, _ = parse_create(sql)
                tree = sqlglot.parse_one(sql, dialect="athena")
            except Exception as e:
                result("%s ndjson" % type_name, ["sqlglot cannot parse the DDL: %s\n%s" % (e, sql)])
                continue
            names = {n for n, _ in cols}
            mapped = {}
            for p in tree.find_all(exp.Property):
                key = p.name if hasattr(p, "name") else ""
                if key.startswith("mapping."):
                    mapped[key[len("mapping."):]] = p.args["value"].name
            if any(n != n.lower() for n in names):
                problems.append("column names must be lower case: %r" % sorted(names))
            for col in mapped:
                if col not in names:
                    problems.append("mapping for a missing column %r" % col)
            # Every JSON key of the type is read: a column of that name or a mapping to it.
            keys = {mapped.get(n, n) for n in names}
            sets = sorted(os.path.join(desc, n) for n in os.listdir(desc) if n.endswith(".binpb")) \
                if os.path.isdir(desc) else [desc]
            for f in Schema(sets).desc(type_name).fields:
                if f.json_name not in keys:
                    problems.append("JSON key %r has no column" % f.json_name)
            result("%s ndjson" % type_name, problems)

        # DuckDB over a landing, with the DDL's partition layout.
        landing = os.path.join(tmp, "lake")
        r = run(a.protolake, "run", "--registry", os.path.join(ROOT, "descriptors"), "--landing", landing,
                "--format", "parquet", os.path.join(ROOT, "examples"))
        sql = run(a.protolake, "schema", "ddl", "-d", os.path.join(ROOT, "descriptors"), "-t",
                  "acme.events.v2.PageView", "--location", "s3://acme-lake/lake/events/pageviews/",
                  "--partition", "dt", "--partition", "hour").stdout
        cols, partitions, _ = parse_create(sql)
        con = duckdb.connect()
        glob = os.path.join(landing, "events/pageviews/**/*.parquet")
        desc_rows = con.execute("DESCRIBE SELECT * FROM read_parquet(?, hive_partitioning = true)", [glob]).fetchall()
        duck_cols = [r[0] for r in desc_rows]
        problems = []
        if duck_cols != [n for n, _ in cols] + partitions:
            problems.append("DuckDB columns %r, DDL %r + %r" % (duck_cols, [n for n, _ in cols], partitions))
        hours = con.execute("SELECT DISTINCT hour FROM read_parquet(?, hive_partitioning = true) ORDER BY 1", [glob]).fetchall()
        if [h[0] for h in hours] != ["09", "10", "11"]:
            problems.append("hour partitions %r" % hours)
        result("duckdb over the landing", problems)

    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
