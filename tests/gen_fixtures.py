#!/usr/bin/env python3
"""Generate protolake's conformance fixtures.

Every expected output is computed by Python's reference ``protobuf`` package
(``google.protobuf.json_format.MessageToDict``) from the exact input bytes that
are written next to it; nothing is typed by hand.

Usage (from the repository root):

    .venv/bin/python tests/gen_fixtures.py \
        --descriptors tests/fixtures/testschemas.binpb --out tests/fixtures

``--descriptors`` is the compiled FileDescriptorSet of tests/schemas/.  The
example-schema cases additionally read ``descriptors/acme_events_v1.binpb`` and
``descriptors/acme_events_v2.binpb`` (see ``--example-descriptors``).  The
protobuf Editions cases (``ed_*``) read ``tests/fixtures/editions.binpb``
(``--editions-descriptors``), which ``tests/compile_editions.sh`` compiles from
tests/schemas_editions/ with grpcio-tools' protoc, and write
``editions_handbuilt.binpb`` (features set on a message and a oneof, which protoc
refuses in source but feature resolution and upb honour).

The output is deterministic: a seeded RNG, gzip with mtime=0, sorted and
stable ordering, deterministic serialization.  Running it twice produces the
same bytes.
"""

import argparse
import gzip
import json
import math
import os
import random
import shutil
import struct
import sys

import zstandard
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.internal.encoder import _VarintBytes
from google.protobuf import json_format
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.json_format import MessageToDict
from google.protobuf.message import DecodeError

SEED = 20261126

FLAG_SETS = {
    "default": [],
    "names": ["--proto-field-names"],
    "defaults": ["--emit-defaults"],
    "enums": ["--enum-numbers"],
    "all": ["--proto-field-names", "--emit-defaults", "--enum-numbers"],
}
FLAG_KWARGS = {
    "--proto-field-names": "preserving_proto_field_name",
    "--emit-defaults": "always_print_fields_with_no_presence",
    "--enum-numbers": "use_integers_for_enums",
}

P2 = "protolake.test2.TestAllTypesProto2"
P3 = "protolake.test3.TestAllTypesProto3"

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
UINT32_MAX, UINT64_MAX = 2**32 - 1, 2**64 - 1

TS_MIN, TS_MAX = -62135596800, 253402300799
DUR_MAX = 315576000000


# ---------------------------------------------------------------------------
# Descriptor loading
# ---------------------------------------------------------------------------


class Schema:
    """A fresh DescriptorPool holding one or more FileDescriptorSets."""

    def __init__(self, paths):
        files = {}
        for path in paths:
            with open(path, "rb") as fh:
                fds = descriptor_pb2.FileDescriptorSet.FromString(fh.read())
            for fdp in fds.file:
                files.setdefault(fdp.name, fdp)
        self.pool = descriptor_pool.DescriptorPool()
        self.proto3_optional = set()
        added = []

        def add(name, stack=()):
            if name in added:
                return
            if name in stack:
                raise SystemExit("dependency cycle at %s" % name)
            fdp = files[name]
            for dep in fdp.dependency:
                add(dep, stack + (name,))
            self.pool.Add(fdp)
            added.append(name)

        for name in sorted(files):
            add(name)
        for fdp in files.values():
            prefix = fdp.package + "." if fdp.package else ""
            self._collect_optional(prefix, fdp.message_type)
        # Registers the extensions too.
        self.classes = message_factory.GetMessageClassesForFiles(added, self.pool)

    def _collect_optional(self, prefix, messages):
        for m in messages:
            full = prefix + m.name
            for f in m.field:
                if f.proto3_optional:
                    self.proto3_optional.add((full, f.name))
            self._collect_optional(full + ".", m.nested_type)

    def cls(self, full_name):
        return message_factory.GetMessageClass(self.pool.FindMessageTypeByName(full_name))

    def new(self, full_name, **kw):
        return self.cls(full_name)(**kw)

    def desc(self, full_name):
        return self.pool.FindMessageTypeByName(full_name)

    def num(self, full_name, field):
        return self.desc(full_name).fields_by_name[field].number

    def ext(self, full_name):
        return self.pool.FindExtensionByName(full_name)

    def real_oneof(self, oneof):
        if len(oneof.fields) != 1:
            return True
        f = oneof.fields[0]
        return (f.containing_type.full_name, f.name) not in self.proto3_optional


# ---------------------------------------------------------------------------
# Tiny wire writer (for hand-crafted bytes)
# ---------------------------------------------------------------------------


def varint(n):
    if n < 0:
        n += 1 << 64
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def zz(n):
    return (n << 1) ^ (n >> 63)


def tag(num, wt):
    return varint((num << 3) | wt)


def fv(num, v):  # varint field
    return tag(num, 0) + varint(v)


def f64(num, v, fmt="<Q"):
    return tag(num, 1) + struct.pack(fmt, v)


def f32(num, v, fmt="<I"):
    return tag(num, 5) + struct.pack(fmt, v)


def fd(num, v):  # double
    return f64(num, v, "<d")


def ff(num, v):  # float
    return f32(num, v, "<f")


def fl(num, payload):  # length-delimited
    if isinstance(payload, str):
        payload = payload.encode("utf-8")
    return tag(num, 2) + varint(len(payload)) + payload


def fg(num, body):  # group
    return tag(num, 3) + body + tag(num, 4)


def packed_varints(num, values, enc=lambda x: x):
    return fl(num, b"".join(varint(enc(v)) for v in values))


def enc(msg):
    return msg.SerializeToString(deterministic=True)


# ---------------------------------------------------------------------------
# Random message generator
# ---------------------------------------------------------------------------

STRING_PIECES = [
    "hello", "world", "a", "Z", " ", "0123", "snake_case", "camelCase",
    "\u00e9", "\u00fc\u00df", "\u4e2d\u6587", "\u0416\u0436", "\u05e9\u05dc\u05d5\u05dd",
    "\U0001f600", "\U0001f469\u200d\U0001f4bb", "\U0001d11e", "\ufeff", "\u2028", "\u2029",
    "\x00", "\x01", "\x1f", "\x7f", "\x80", "\t", "\n", "\r", "\b", "\f",
    '"', "\\", "/", "'", "<", ">", "&", "</script>", "\\u0000", "%s", "{}", "[]",
    "\ufffd", "\uffff", "\U0010ffff",
]

F32_SPECIAL = [
    float("nan"), float("inf"), float("-inf"), -0.0, 0.0, 1.0, -1.0,
    1.401298464324817e-45, -1.401298464324817e-45,  # smallest subnormal
    1.1754942106924411e-38,  # largest subnormal
    1.1754943508222875e-38,  # FLT_MIN
    3.4028234663852886e38, -3.4028234663852886e38,  # FLT_MAX
    0.1, 0.2, 0.3, 1e-7, 16777216.0, 16777217.0, 123456.789, 1e10, 3.14159,
]
F64_SPECIAL = [
    float("nan"), float("inf"), float("-inf"), -0.0, 0.0, 1.0, -1.0,
    5e-324, -5e-324, 2.2250738585072014e-308, 2.225073858507201e-308,
    1.7976931348623157e308, -1.7976931348623157e308, 1e300, -1e300, 1e-300,
    0.1, 0.2, 0.30000000000000004, 1 / 3, 2**53, 2**53 + 2, 9007199254740993.0,
    1e21, 1e22, 1e-7, 123456789.125, 100.0, 1e16, 3.4028235e38,
]


def f32round(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


class Gen:
    def __init__(self, schema, rng, any_types, max_depth=3):
        self.s = schema
        self.rng = rng
        self.any_types = any_types  # list of full names Any may hold
        self.max_depth = max_depth

    # -- scalars -----------------------------------------------------------
    def int_bits(self, bits, signed):
        r = self.rng
        if signed:
            lo, hi = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
            special = [lo, hi, 0, -1, 1, lo + 1, hi - 1, 2**31 - 1, -(2**31), 2**53 + 1, -(2**53) - 1]
        else:
            lo, hi = 0, 2**bits - 1
            special = [hi, 0, 1, hi - 1, 2**31, 2**32 - 1, 2**53 + 1, 2**63]
        special = [v for v in special if lo <= v <= hi]
        x = r.random()
        if x < 0.25:
            return r.choice(special)
        nbits = r.randint(1, bits - (1 if signed else 0))
        v = r.getrandbits(nbits)
        if signed and r.random() < 0.4:
            v = -v
        return max(lo, min(hi, v))

    def f32(self):
        r = self.rng
        x = r.random()
        if x < 0.35:
            return f32round(r.choice(F32_SPECIAL))
        if x < 0.6:
            while True:
                v = struct.unpack("<f", struct.pack("<I", r.getrandbits(32)))[0]
                if math.isfinite(v):
                    return v
        return f32round(round(r.uniform(-1e4, 1e4), r.randint(0, 4)))

    def f64(self):
        r = self.rng
        x = r.random()
        if x < 0.35:
            return r.choice(F64_SPECIAL)
        if x < 0.6:
            while True:
                v = struct.unpack("<d", struct.pack("<Q", r.getrandbits(64)))[0]
                if math.isfinite(v):
                    return v
        return round(r.uniform(-1e6, 1e6), r.randint(0, 6))

    def string(self, maxlen=6):
        r = self.rng
        if r.random() < 0.1:
            return ""
        return "".join(r.choice(STRING_PIECES) for _ in range(r.randint(1, maxlen)))

    def bytes_(self):
        r = self.rng
        x = r.random()
        if x < 0.1:
            return b""
        if x < 0.3:
            return self.string(3).encode("utf-8")
        return bytes(r.getrandbits(8) for _ in range(r.randint(1, 24)))

    def key_string(self):
        r = self.rng
        if r.random() < 0.5:
            return r.choice(["", "a", "b", "key", "Key", "k-1", "\u00e9", "\U0001f600", "x y", '"q"', "\\"]) + str(r.randint(0, 9))
        return self.string(3)

    def scalar(self, f, for_key=False):
        T = f.type
        fd_ = f
        if T in (fd_.TYPE_INT32, fd_.TYPE_SINT32, fd_.TYPE_SFIXED32):
            return self.int_bits(32, True)
        if T in (fd_.TYPE_INT64, fd_.TYPE_SINT64, fd_.TYPE_SFIXED64):
            return self.int_bits(64, True)
        if T in (fd_.TYPE_UINT32, fd_.TYPE_FIXED32):
            return self.int_bits(32, False)
        if T in (fd_.TYPE_UINT64, fd_.TYPE_FIXED64):
            return self.int_bits(64, False)
        if T == fd_.TYPE_FLOAT:
            return self.f32()
        if T == fd_.TYPE_DOUBLE:
            return self.f64()
        if T == fd_.TYPE_BOOL:
            return self.rng.random() < 0.5
        if T == fd_.TYPE_STRING:
            return self.key_string() if for_key else self.string()
        if T == fd_.TYPE_BYTES:
            return self.bytes_()
        if T == fd_.TYPE_ENUM:
            values = [v.number for v in f.enum_type.values]
            if f.enum_type.full_name == "google.protobuf.NullValue":
                return 0
            if not f.enum_type.is_closed and self.rng.random() < 0.08:
                return self.rng.choice([7, 100, -5, INT32_MAX, INT32_MIN])
            return self.rng.choice(values)
        raise AssertionError("not a scalar: %s" % f.full_name)

    # -- well-known types ---------------------------------------------------
    def nanos(self):
        r = self.rng
        x = r.random()
        if x < 0.3:
            return 0
        if x < 0.5:
            return r.randint(0, 999) * 1000000
        if x < 0.7:
            return r.randint(0, 999999) * 1000
        return r.randint(0, 999999999)

    def value(self, m, depth):
        r = self.rng
        kinds = ["null", "number", "string", "bool"]
        if depth < self.max_depth + 1:
            kinds += ["struct", "list"]
        k = r.choice(kinds)
        if k == "null":
            m.null_value = 0
        elif k == "number":
            v = r.choice([0.0, -0.0, 1.0, -1.5, 1e300, 5e-324, 2**53, 0.1, 42.0, -7.0])
            m.number_value = v if r.random() < 0.5 else round(r.uniform(-1e9, 1e9), r.randint(0, 5))
        elif k == "string":
            m.string_value = self.string()
        elif k == "bool":
            m.bool_value = r.random() < 0.5
        elif k == "struct":
            self.struct(m.struct_value, depth + 1)
        else:
            self.list_value(m.list_value, depth + 1)

    def struct(self, m, depth):
        m.SetInParent()
        for _ in range(self.rng.randint(0, 4)):
            self.value(m.fields[self.key_string()], depth + 1)

    def list_value(self, m, depth):
        m.SetInParent()
        for _ in range(self.rng.randint(0, 4)):
            self.value(m.values.add(), depth + 1)

    def wkt(self, m, depth):
        r = self.rng
        name = m.DESCRIPTOR.full_name
        if name == "google.protobuf.Timestamp":
            x = r.random()
            if x < 0.15:
                m.seconds = r.choice([TS_MIN, TS_MAX, 0, -1, 1700000000])
            elif x < 0.5:
                m.seconds = r.randint(0, 4102444800)
            else:
                m.seconds = r.randint(TS_MIN, TS_MAX)
            m.nanos = r.choice([0, 999999999]) if r.random() < 0.1 else self.nanos()
            return True
        if name == "google.protobuf.Duration":
            x = r.random()
            if x < 0.15:
                s = r.choice([DUR_MAX, -DUR_MAX, 0, 1, -1])
            elif x < 0.6:
                s = r.randint(-100000, 100000)
            else:
                s = r.randint(-DUR_MAX, DUR_MAX)
            n = self.nanos()
            if s < 0 or (s == 0 and r.random() < 0.5):
                n = -n
            if abs(s) == DUR_MAX:
                n = 0
            m.seconds, m.nanos = s, n
            return True
        if name == "google.protobuf.FieldMask":
            for _ in range(r.randint(0, 3)):
                parts = [r.choice(["foo", "bar_baz", "a", "x1", "nested_field", "optional_int32", "b_c_d"])
                         for _ in range(r.randint(1, 3))]
                m.paths.append(".".join(parts))
            return True
        if name == "google.protobuf.Struct":
            self.struct(m, depth)
            return True
        if name == "google.protobuf.Value":
            self.value(m, depth)
            return True
        if name == "google.protobuf.ListValue":
            self.list_value(m, depth)
            return True
        if name == "google.protobuf.Empty":
            return True
        if name == "google.protobuf.Any":
            choices = self.any_types if depth < self.max_depth else [
                t for t in self.any_types if t != "google.protobuf.Any"]
            inner_name = r.choice(choices)
            inner = self.s.new(inner_name)
            self.fill(inner, depth + 1, density=0.3)
            prefix = "type.googleapis.com/" if r.random() < 0.9 else "example.com/types/"
            m.type_url = prefix + inner_name
            m.value = enc(inner)
            return True
        if m.DESCRIPTOR.file.name == "google/protobuf/wrappers.proto":
            f = m.DESCRIPTOR.fields_by_name["value"]
            if r.random() < 0.85:
                m.value = self.scalar(f)
            return True
        return False

    # -- generic messages ----------------------------------------------------
    def set_message(self, m, depth, density):
        m.SetInParent()
        if depth <= self.max_depth:
            self.fill(m, depth + 1, density * 0.6)

    def set_field(self, m, f, depth, density):
        r = self.rng
        if f.message_type is not None and f.message_type.full_name in HEAVY and depth >= 1:
            return  # keeps --emit-defaults output (and the fixture size) bounded
        is_map = f.message_type is not None and f.message_type.GetOptions().map_entry
        if is_map:
            kf = f.message_type.fields_by_name["key"]
            vf = f.message_type.fields_by_name["value"]
            container = getattr(m, f.name)
            for _ in range(r.randint(1, 4)):
                k = self.scalar(kf, for_key=True)
                if vf.message_type is not None:
                    if depth > self.max_depth and vf.message_type.full_name not in WKT_LEAF:
                        continue
                    self.set_message(container[k], depth, density)
                else:
                    container[k] = self.scalar(vf)
            return
        if f.is_repeated:
            container = m.Extensions[f] if f.is_extension else getattr(m, f.name)
            n = r.randint(1, 5)
            if f.message_type is not None:
                if depth > self.max_depth and f.message_type.full_name not in WKT_LEAF:
                    return
                for _ in range(n):
                    self.set_message(container.add(), depth, density)
            else:
                container.extend(self.scalar(f) for _ in range(n))
            return
        if f.message_type is not None:
            if depth > self.max_depth and f.message_type.full_name not in WKT_LEAF:
                return
            sub = m.Extensions[f] if f.is_extension else getattr(m, f.name)
            self.set_message(sub, depth, density)
            return
        v = self.scalar(f)
        if f.is_extension:
            m.Extensions[f] = v
        else:
            setattr(m, f.name, v)

    def fill(self, m, depth=0, density=0.15):
        if self.wkt(m, depth):
            return
        r = self.rng
        d = m.DESCRIPTOR
        chosen_oneof_fields = set()
        for o in d.oneofs:
            if self.s.real_oneof(o) and r.random() < min(0.9, density * 4):
                chosen_oneof_fields.add(r.choice(list(o.fields)).name)
        for f in d.fields:
            o = f.containing_oneof
            if o is not None and self.s.real_oneof(o):
                if f.name in chosen_oneof_fields:
                    self.set_field(m, f, depth, density)
                continue
            if f.is_required or r.random() < density:
                self.set_field(m, f, depth, density)
        if d.extension_ranges:
            for f in sorted(self.s.pool.FindAllExtensions(d), key=lambda x: x.number):
                if r.random() < density * 2:
                    self.set_field(m, f, depth, density)


HEAVY = {P2, P3}

WKT_LEAF = {
    "google.protobuf.Timestamp", "google.protobuf.Duration", "google.protobuf.FieldMask",
    "google.protobuf.Empty", "google.protobuf.BoolValue", "google.protobuf.Int32Value",
    "google.protobuf.Int64Value", "google.protobuf.UInt32Value", "google.protobuf.UInt64Value",
    "google.protobuf.FloatValue", "google.protobuf.DoubleValue", "google.protobuf.StringValue",
    "google.protobuf.BytesValue",
}


# ---------------------------------------------------------------------------
# Framing, compression and the Python oracle
# ---------------------------------------------------------------------------


def frame(messages, framing):
    if framing == "single":
        assert len(messages) == 1
        return messages[0]
    out = bytearray()
    for b in messages:
        if framing == "varint":
            out += _VarintBytes(len(b)) + b
        elif framing == "fixed32":
            out += struct.pack(">I", len(b)) + b
        else:
            raise AssertionError(framing)
    return bytes(out)


def deframe(data, framing):
    """Split a stream; returns (messages, index of a broken frame or None)."""
    if framing == "single":
        return [data], None
    msgs = []
    pos = 0
    while pos < len(data):
        idx = len(msgs)
        if framing == "varint":
            n = 0
            shift = 0
            while True:
                if pos >= len(data) or shift >= 64:
                    return msgs, idx
                b = data[pos]
                pos += 1
                n |= (b & 0x7F) << shift
                shift += 7
                if not b & 0x80:
                    break
        else:
            if pos + 4 > len(data):
                return msgs, idx
            n = struct.unpack(">I", data[pos:pos + 4])[0]
            pos += 4
        if pos + n > len(data):
            return msgs, idx
        msgs.append(data[pos:pos + n])
        pos += n
    return msgs, None


def gz(data):
    return gzip.compress(data, compresslevel=9, mtime=0)


def compress(data, compression):
    if compression == "none":
        return data
    if compression == "gzip":
        return gz(data)
    if compression == "zstd":
        return zstandard.ZstdCompressor(level=3, write_checksum=True).compress(data)
    raise AssertionError(compression)


def decompress(data, compression):
    if compression == "none":
        return data
    if compression == "gzip":
        return gzip.decompress(data)  # handles multi-member
    if compression == "zstd":
        return zstandard.ZstdDecompressor().decompressobj().decompress(data)
    raise AssertionError(compression)


class ContractPrinter(json_format._Printer):
    """json_format's printer with exactly the overrides protolake's contract names where
    runtimes disagree (../shared/design/contract.md); every case they change is labelled.

    1. google.protobuf.NullValue prints null, with or without --enum-numbers (Python prints
       the number under use_integers_for_enums; the contract follows C++).
    2. A proto2 string that is not UTF-8 is an error for that message (upb does not
       validate proto2 strings and json_format prints Python's bytes repr "b'...'", which
       is neither the string nor anything another runtime prints). The same holds for an
       editions string field with features.utf8_validation = NONE.
    """

    def _FieldToJsonObject(self, field, value):
        if field.cpp_type == FieldDescriptor.CPPTYPE_ENUM and field.enum_type.full_name == "google.protobuf.NullValue":
            return None
        if field.type == FieldDescriptor.TYPE_STRING and isinstance(value, bytes):
            raise ValueError("proto2 string field %s is not valid UTF-8" % field.full_name)
        return super()._FieldToJsonObject(field, value)


def contract_message_to_dict(message, pool, kw):
    printer = ContractPrinter(
        preserving_proto_field_name=kw.get("preserving_proto_field_name", False),
        use_integers_for_enums=kw.get("use_integers_for_enums", False),
        descriptor_pool=pool,
        always_print_fields_with_no_presence=kw.get("always_print_fields_with_no_presence", False),
    )
    return printer._MessageToJsonObject(message)


class Oracle:
    def __init__(self):
        self.surprises = []

    def expected(self, schema, type_name, raw_stream, framing):
        cls = schema.cls(type_name)
        frames, frame_err = deframe(raw_stream, framing)
        parsed = []
        parse_err = None
        why = None
        for i, b in enumerate(frames):
            try:
                m = cls()
                m.ParseFromString(b)
            except DecodeError as e:
                parse_err = i
                why = "message %d: ParseFromString raised DecodeError(%s)" % (i, e)
                break
            parsed.append(m)
        if parse_err is None and frame_err is not None:
            parse_err = frame_err
            why = "frame %d is truncated" % frame_err
        whys = {}
        out = {}
        for fs, flags in FLAG_SETS.items():
            kw = {FLAG_KWARGS[x]: True for x in flags}
            msgs = []
            err = parse_err
            for i, m in enumerate(parsed):
                try:
                    try:
                        plain = json.dumps(MessageToDict(m, descriptor_pool=schema.pool, **kw), sort_keys=True, allow_nan=False)
                    except Exception as e:  # the contract printer decides; this only labels
                        plain = "error: %s" % e
                    d = contract_message_to_dict(m, schema.pool, kw)
                    if json.dumps(d, sort_keys=True, allow_nan=False) != plain:
                        whys.setdefault("message %d: contract override applied (json_format alone gives %s)" % (i, plain[:80]), []).append(fs)
                    # sort_keys: upb's map iteration order is not stable across runs;
                    # JSON object key order carries no meaning here.
                    s = json.dumps(d, allow_nan=False, ensure_ascii=True, sort_keys=True)
                    json.loads(s)
                    if has_lone_surrogate(d):
                        raise ValueError("lone surrogate in output")
                except Exception as e:  # any failure to convert is an error
                    err = i
                    whys.setdefault("message %d: MessageToDict raised %s(%s)" % (i, type(e).__name__, e), []).append(fs)
                    break
                msgs.append(json.loads(s))
            out[fs] = {"messages": msgs, "error_at": err}
        if why is None and whys:
            parts = []
            for text, sets in whys.items():
                if len(sets) != len(FLAG_SETS):
                    text += " [flag sets: %s]" % ",".join(sets)
                parts.append(text)
            why = "; ".join(parts)
        return out, why


def has_lone_surrogate(obj):
    if isinstance(obj, str):
        return any(0xD800 <= ord(c) <= 0xDFFF for c in obj)
    if isinstance(obj, dict):
        return any(has_lone_surrogate(k) or has_lone_surrogate(v) for k, v in obj.items())
    if isinstance(obj, list):
        return any(has_lone_surrogate(v) for v in obj)
    return False


class Builder:
    def __init__(self, out_dir, oracle):
        self.out = out_dir
        self.oracle = oracle
        self.cases = []
        self.names = set()

    def add(self, name, schema, desc_refs, type_name, messages, framing="single",
            compression="none", note="", raw=None, ext="bin"):
        """messages: list of bytes (framed here) or raw: pre-framed/compressed object."""
        assert name not in self.names, name
        self.names.add(name)
        if raw is None:
            raw = compress(frame(messages, framing), compression)
        rel = "inputs/%s.%s" % (name, ext)
        with open(os.path.join(self.out, rel), "wb") as fh:
            fh.write(raw)
        stream = decompress(raw, compression)
        expected, why = self.oracle.expected(schema, type_name, stream, framing)
        if why:
            note = (note + " -- " if note else "") + "python: " + why
        self.cases.append({
            "name": name,
            "descriptors": desc_refs,
            "type": type_name,
            "framing": framing,
            "compression": compression,
            "input": rel,
            "expected": expected,
            "note": note,
        })
        return expected


# ---------------------------------------------------------------------------
# Case groups
# ---------------------------------------------------------------------------

ANY_TYPES_P3 = [
    "protolake.test3.SmallMessage", "protolake.test3.ForeignMessage",
    "protolake.test3.TestAllTypesProto3.NestedMessage", "protolake.test2.ForeignMessageProto2",
    "google.protobuf.Timestamp", "google.protobuf.Duration", "google.protobuf.Struct",
    "google.protobuf.Value", "google.protobuf.ListValue", "google.protobuf.Empty",
    "google.protobuf.FieldMask", "google.protobuf.Int32Value", "google.protobuf.StringValue",
    "google.protobuf.DoubleValue", "google.protobuf.BytesValue", "google.protobuf.UInt64Value",
    "google.protobuf.Any",
]
ANY_TYPES_P2 = ANY_TYPES_P3 + ["protolake.test2.ExtensionHolder"]


def random_cases(b, s, refs, rng):
    for prefix, type_name, any_types in (("p3", P3, ANY_TYPES_P3), ("p2", P2, ANY_TYPES_P2)):
        gen = Gen(s, rng, any_types)
        for i in range(150):
            m = s.new(type_name)
            density = rng.choice([0.0, 0.03, 0.06, 0.1, 0.13, 0.16]) if i else 0.0
            gen.fill(m, 0, density)
            b.add("%s_random_%03d" % (prefix, i), s, refs, type_name, [enc(m)],
                  note="random %s message (density %.2f)" % (prefix, density))
        # Streams
        # Two streams per schema (every framing and gzip/none covered; size-bound by --emit-defaults).
        streams = [("varint", "gzip"), ("fixed32", "none")] if prefix == "p3" else [("varint", "none"), ("fixed32", "gzip")]
        for framing, compression in streams:
            msgs = []
            for _ in range(30):
                m = s.new(type_name)
                gen.fill(m, 0, rng.choice([0.0, 0.02, 0.05, 0.08]))
                msgs.append(enc(m))
            b.add("%s_stream_%s_%s" % (prefix, framing, compression), s, refs, type_name,
                  msgs, framing, compression, ext="bin.gz" if compression == "gzip" else "bin",
                  note="30 random messages, %s framing, %s" % (framing, compression))


def stream_cases(b, s, refs, rng):
    gen = Gen(s, rng, ANY_TYPES_P3)
    SM = "protolake.test3.SmallMessage"

    def rand_msgs(n, density=0.05, type_name=P3):
        out = []
        for _ in range(n):
            m = s.new(type_name)
            gen.fill(m, 0, density)
            out.append(enc(m))
        return out

    # Multi-member gzip split at a frame boundary and in the middle of a message.
    msgs = rand_msgs(12, 0.6, SM)
    data = frame(msgs, "varint")
    cut = len(frame(msgs[:5], "varint"))
    b.add("stream_gzip_multimember_boundary", s, refs, SM, None, "varint", "gzip",
          raw=gz(data[:cut]) + gz(data[cut:]), ext="bin.gz",
          note="two gzip members concatenated, split at a frame boundary")
    mid = cut + 3
    b.add("stream_gzip_multimember_midframe", s, refs, SM, None, "varint", "gzip",
          raw=gz(data[:mid]) + gz(data[mid:]) + gz(b""), ext="bin.gz",
          note="three gzip members (last one empty), split inside a frame")
    # zstd
    b.add("stream_zstd_varint", s, refs, SM, rand_msgs(25, 0.6, SM), "varint", "zstd", ext="bin.zst",
          note="zstd-compressed varint stream of SmallMessage")
    b.add("stream_zstd_single", s, refs, P3, rand_msgs(1, 0.2), "single", "zstd", ext="bin.zst",
          note="zstd-compressed single message")
    b.add("stream_gzip_single", s, refs, P3, rand_msgs(1, 0.2), "single", "gzip", ext="bin.gz",
          note="gzip-compressed single message")
    b.add("stream_zstd_fixed32", s, refs, P2, [enc(s.new(P2, optional_int32=i)) for i in range(8)],
          "fixed32", "zstd", ext="bin.zst", note="zstd-compressed fixed32 stream of proto2 messages")
    # Empty objects / empty messages.
    b.add("stream_single_empty_object", s, refs, P3, [b""], note="zero-byte object, single framing: one empty message")
    b.add("stream_varint_empty_object", s, refs, P3, [], "varint", note="zero-byte object, varint framing")
    b.add("stream_fixed32_empty_object", s, refs, P3, [], "fixed32", note="zero-byte object, fixed32 framing")
    b.add("stream_varint_empty_messages", s, refs, P3, [b"", enc(s.new(P3, optional_int32=1)), b"", b""],
          "varint", note="zero-length frames are empty messages")
    b.add("stream_gzip_empty_object", s, refs, P3, [], "varint", "gzip", ext="bin.gz",
          note="gzip of zero bytes, varint framing")
    # A bad message in the middle of a stream.
    bad = rand_msgs(10, 0.6, SM)
    bad[4] = enc(s.new(SM, id="x")) + tag(1, 2) + varint(50) + b"short"
    b.add("stream_varint_bad_middle", s, refs, SM, bad, "varint",
          note="message 4 has a length running past its frame; error_at 4")
    b.add("stream_fixed32_bad_middle_gzip", s, refs, SM, bad, "fixed32", "gzip", ext="bin.gz",
          note="fixed32 + gzip, message 4 is malformed")
    bad2 = rand_msgs(6)
    bad2[2] = fl(14, b"\xc3\x28")
    b.add("stream_varint_invalid_utf8_middle", s, refs, P3, bad2, "varint",
          note="message 2 has invalid UTF-8 in a proto3 string")
    bad3 = rand_msgs(5)
    bad3[3] = fl(305, enc(s.new("google.protobuf.Any", type_url="type.googleapis.com/does.not.Exist", value=b"\x08\x01")))
    b.add("stream_varint_unconvertible_middle", s, refs, P3, bad3, "varint",
          note="message 3 parses but holds an Any with an unresolvable type URL")
    # Truncated framing.
    good = rand_msgs(4, 0.6, SM)
    data = frame(good, "varint")
    b.add("stream_varint_truncated_frame", s, refs, SM, None, "varint", raw=data[:-3],
          note="last frame's payload cut short by 3 bytes")
    b.add("stream_varint_truncated_length", s, refs, SM, None, "varint", raw=data + b"\x80",
          note="stream ends inside a varint length prefix")
    data = frame(good, "fixed32")
    b.add("stream_fixed32_truncated_header", s, refs, SM, None, "fixed32", raw=data + b"\x00\x00",
          note="stream ends inside a 4-byte length header")
    b.add("stream_fixed32_truncated_frame", s, refs, SM, None, "fixed32", raw=data[:-1],
          note="last frame's payload cut short by 1 byte")
    big = [enc(s.new(P3, optional_bytes=bytes(range(256)) * 2, optional_string="x" * 300))] * 3
    b.add("stream_varint_multibyte_lengths", s, refs, P3, big, "varint",
          note="frames longer than 127 bytes (multi-byte varint lengths)")


def wire_cases(b, s, refs):
    n3 = lambda f: s.num(P3, f)  # noqa: E731
    n2 = lambda f: s.num(P2, f)  # noqa: E731

    def add3(name, data, note):
        b.add("wire_p3_" + name, s, refs, P3, [data], note=note)

    def add2(name, data, note):
        b.add("wire_p2_" + name, s, refs, P2, [data], note=note)

    # --- wire type mismatches
    add3("int32_as_len", fl(n3("optional_int32"), b"abc") + fv(n3("optional_int64"), 5),
         "int32 field sent with wire type LEN")
    add3("string_as_varint", fv(n3("optional_string"), 7) + fv(n3("optional_int32"), 1),
         "string field sent as varint")
    add3("message_as_fixed64", f64(n3("optional_nested_message"), 1) + fv(n3("optional_int32"), 2),
         "message field sent as fixed64")
    add3("double_as_fixed32", f32(n3("optional_double"), 1) + fd(n3("optional_double"), 2.5),
         "double field sent as fixed32 and then correctly")
    add3("float_as_fixed64", f64(n3("optional_float"), 1),
         "float field sent as fixed64")
    add3("fixed32_as_varint", fv(n3("optional_fixed32"), 9),
         "fixed32 field sent as varint")
    add3("message_as_group", fg(n3("optional_nested_message"), fv(1, 5)),
         "message field sent as a group")
    add3("repeated_string_as_varint", fl(n3("repeated_string"), "ok") + fv(n3("repeated_string"), 3),
         "repeated string with one element sent as varint")
    add3("map_as_varint", fv(n3("map_int32_int32"), 3),
         "map field sent as varint")
    add2("group_as_len", fl(n2("data"), fv(202, 5)) + fv(n2("optional_int32"), 1),
         "group field sent as LEN")
    add2("message_as_group", fg(n2("optional_nested_message"), fv(1, 6)),
         "proto2 message field sent as a group")
    add2("group_ok", fg(n2("data"), fv(202, 5) + fg(204, fl(1, "in") + fv(2, 9) + fv(2, 10)) + fl(205, fv(1, 3))) +
         fg(n2("repeatedgroup"), fv(212, 1)) + fg(n2("repeatedgroup"), fl(213, "two")),
         "well-formed groups: singular group with inner group and message, repeated group")
    add2("group_wrong_end", tag(n2("data"), 3) + fv(202, 5) + tag(n2("data") + 1, 4),
         "group closed with an END_GROUP of another field number")
    add2("group_unterminated", tag(n2("data"), 3) + fv(202, 5),
         "group never closed")
    add2("group_merge", fg(n2("data"), fv(202, 5)) + fg(n2("data"), fv(203, 6)),
         "singular group sent twice: merged")

    # --- packed / unpacked mixes
    ri = n3("repeated_int32")
    add3("packed_unpacked_mixed", fv(ri, 1) + packed_varints(ri, [2, 3]) + fl(n3("optional_string"), "mid") +
         fv(ri, 4) + packed_varints(ri, [-1, 5]) + fv(n3("optional_int32"), 9) + fv(ri, 6),
         "packed field sent both unpacked and packed, interleaved with other fields")
    up = n3("unpacked_sint32")
    add3("unpacked_sent_packed", packed_varints(up, [-1, 1, -2], zz) + fv(up, zz(3)),
         "[packed=false] field sent packed and unpacked")
    add3("packed_fixed_mixed", fl(n3("repeated_fixed32"), struct.pack("<II", 1, 2)) + f32(n3("repeated_fixed32"), 3) +
         fl(n3("repeated_double"), struct.pack("<dd", 1.5, float("nan"))) + fd(n3("repeated_double"), -0.0) +
         fl(n3("repeated_float"), struct.pack("<ff", 0.1, float("-inf"))) + ff(n3("repeated_float"), 1e-45),
         "packed fixed-width fields mixed with unpacked elements")
    add3("packed_empty", fl(ri, b"") + fl(n3("repeated_double"), b"") + fl(n3("repeated_bool"), b""),
         "zero-length packed runs")
    add3("packed_bad_length", fl(n3("repeated_fixed32"), b"\x01\x02\x03"),
         "packed fixed32 payload whose length is not a multiple of 4")
    add3("packed_truncated_varint", fl(ri, b"\x01\x80"),
         "packed varint payload ending inside a varint")
    add3("packed_bool_values", packed_varints(n3("repeated_bool"), [0, 1, 2, 2**63]),
         "bools encoded as varints other than 0/1")
    add3("packed_enum_unknown", packed_varints(n3("repeated_nested_enum"), [1, 42, 2, -1, 2**31 - 1]),
         "proto3 open enum, packed, with unknown values")
    add2("packed_unpacked_mixed", fv(n2("repeated_int32"), 1) + packed_varints(n2("repeated_int32"), [2, 3]) +
         fv(n2("packed_int32"), 4) + packed_varints(n2("packed_int32"), [5, 6]) +
         fv(n2("repeated_int32"), 7),
         "proto2 unpacked field sent packed and packed field sent unpacked")

    # --- last wins / merge
    add3("scalar_last_wins", fv(n3("optional_int32"), 1) + fl(n3("optional_string"), "first") +
         fv(n3("optional_int32"), 2) + fl(n3("optional_string"), "second") + fd(n3("optional_double"), 1.0) +
         fd(n3("optional_double"), 0.0) + fv(n3("optional_nested_enum"), 2) + fv(n3("optional_nested_enum"), 0),
         "singular scalars repeated on the wire: last value wins (including a last zero)")
    add2("scalar_last_wins", fv(n2("optional_int32"), 1) + fv(n2("optional_int32"), 0) +
         fl(n2("optional_string"), "a") + fl(n2("optional_string"), ""),
         "proto2: last value wins, explicit zero/empty stays present")
    nm = n3("optional_nested_message")
    add3("message_merge", fl(nm, fv(1, 5)) + fv(n3("optional_int32"), 3) +
         fl(nm, fl(2, fv(1, 7) + fv(ri, 1))) + fl(nm, fl(2, fv(ri, 2) + fl(14, "z"))),
         "singular message split over three occurrences: fields merge, repeated concatenates")
    add3("message_merge_wkt", fl(n3("optional_timestamp"), fv(1, 100)) + fl(n3("optional_timestamp"), fv(2, 5)) +
         fl(n3("optional_struct"), fl(1, fl(1, "a") + fl(2, fv(4, 1)))) +
         fl(n3("optional_struct"), fl(1, fl(1, "b") + fl(2, fl(3, "s")))) +
         fl(n3("optional_struct"), fl(1, fl(1, "a") + fl(2, fl(3, "replaced")))),
         "WKT messages split on the wire: Timestamp merges seconds+nanos, Struct map entries merge/replace")
    add3("repeated_message_no_merge", fl(n3("repeated_nested_message"), fv(1, 1)) +
         fl(n3("repeated_nested_message"), fv(1, 2)),
         "repeated message occurrences are separate elements")
    # Oneof
    add3("oneof_switch_scalar", fv(n3("oneof_uint32"), 1) + fl(n3("oneof_string"), "b") + fv(n3("oneof_uint32"), 2),
         "oneof member A, then B, then A: last wins")
    om = n3("oneof_nested_message")
    add3("oneof_switch_message", fl(om, fv(1, 1)) + fl(n3("oneof_string"), "b") + fl(om, fl(2, fv(1, 9))),
         "oneof message member, switch, message member again: the second does not merge with the first")
    add3("oneof_message_merge", fl(om, fv(1, 1)) + fl(om, fl(2, fv(1, 9))),
         "oneof message member twice in a row: merged")
    add3("oneof_default_values", fv(n3("oneof_uint32"), 0),
         "oneof scalar set to its default value is still present")
    add3("oneof_empty_string_then_bytes", fl(n3("oneof_string"), "") + fl(n3("oneof_bytes"), b""),
         "oneof bytes member with empty value is present")
    add3("oneof_enum_unknown", fv(n3("oneof_enum"), 77),
         "proto3 oneof enum with unknown number")
    add2("oneof_switch", fv(n2("oneof_uint32"), 1) + fl(n2("oneof_nested_message"), fv(1, 3)) +
         fv(n2("oneof_enum"), 1) + fv(n2("oneof_enum"), 42),
         "proto2 oneof: switch to enum, then an unknown closed-enum value")
    add2("oneof_enum_unknown_after_message", fl(n2("oneof_nested_message"), fv(1, 3)) + fv(n2("oneof_enum"), 42),
         "proto2 oneof: message member, then an unknown closed-enum member")
    add2("oneof_enum_unknown_only", fv(n2("oneof_enum"), 42),
         "proto2 oneof enum with only an unknown value")
    # What is parsed but never printed still has to parse (upb parses eagerly).
    add3("utf8_overridden_string", fl(n3("optional_string"), b"\xff") + fl(n3("optional_string"), "ok"),
         "proto3 string: invalid UTF-8, then overridden by a valid value")
    add2("utf8_overridden_string", fl(n2("optional_string"), b"\xff") + fl(n2("optional_string"), "ok"),
         "proto2 string: invalid UTF-8, then overridden by a valid value")
    add3("oneof_loser_malformed", fl(om, b"\x08") + fl(n3("oneof_string"), "b"),
         "oneof message member with a truncated body, then another member")
    add3("oneof_loser_bad_utf8", fl(om, fl(2, fl(n3("optional_string"), b"\xff"))) + fl(n3("oneof_string"), "b"),
         "oneof message member holding invalid UTF-8 deep inside, then another member")
    msm = n3("map_string_nested_message")
    add3("map_overridden_value_malformed", fl(msm, fl(1, "a") + fl(2, b"\x08")) + fl(msm, fl(1, "a") + fl(2, fv(1, 1))),
         "map entry whose message value is truncated, overridden by a later entry with the same key")
    add2("extension_packed_empty", fl(123, b"") + fv(n2("optional_int32"), 1),
         "packed repeated extension with an empty run: upb lists it, printed as []")

    # --- maps
    mii = n3("map_int32_int32")
    entry = lambda k, v: fl(mii, k + v)  # noqa: E731
    add3("map_duplicate_keys", entry(fv(1, 1), fv(2, 10)) + entry(fv(1, 2), fv(2, 20)) + entry(fv(1, 1), fv(2, 11)),
         "duplicate map keys: last wins")
    msm = n3("map_string_nested_message")
    add3("map_duplicate_message_keys", fl(msm, fl(1, "k") + fl(2, fv(1, 1))) + fl(msm, fl(1, "k") + fl(2, fl(2, fv(1, 5)))),
         "duplicate keys in a message-valued map: last entry replaces, no merge")
    add3("map_missing_key", entry(b"", fv(2, 10)) + fl(n3("map_string_string"), fl(2, "v")) +
         fl(n3("map_bool_bool"), fv(2, 1)),
         "map entries without key: default key")
    add3("map_missing_value", entry(fv(1, 5), b"") + fl(n3("map_string_string"), fl(1, "k")) +
         fl(msm, fl(1, "m")) + fl(n3("map_string_nested_enum"), fl(1, "e")) +
         fl(n3("map_string_timestamp"), fl(1, "t")) + fl(n3("map_string_value"), fl(1, "v")) +
         fl(n3("map_string_any"), fl(1, "a")),
         "map entries without value: default value (empty message, null Value, empty Any)")
    add3("map_empty_entry", fl(mii, b"") + fl(n3("map_string_bytes"), b""),
         "map entries with neither key nor value")
    add3("map_reversed_and_repeated", entry(fv(2, 10), fv(1, 3)) + fl(mii, fv(1, 4) + fv(1, 5) + fv(2, 1) + fv(2, 2)) +
         fl(mii, fv(1, 6) + fv(2, 60) + fv(3, 99) + fl(4, b"junk")),
         "map entries with value before key, key/value repeated, unknown fields inside the entry")
    add3("map_key_kinds", fl(n3("map_bool_bool"), fv(1, 1) + fv(2, 1)) + fl(n3("map_bool_bool"), fv(1, 0) + fv(2, 0)) +
         fl(n3("map_int64_int64"), fv(1, INT64_MIN) + fv(2, INT64_MAX)) +
         fl(n3("map_uint64_uint64"), fv(1, UINT64_MAX) + fv(2, 0)) +
         fl(n3("map_sint64_sint64"), fv(1, zz(INT64_MIN)) + fv(2, zz(-1))) +
         fl(n3("map_fixed64_fixed64"), f64(1, UINT64_MAX) + f64(2, 1)) +
         fl(n3("map_sfixed32_sfixed32"), f32(1, INT32_MIN, "<i") + f32(2, -1, "<i")) +
         fl(n3("map_string_string"), fl(1, "\u00e9\U0001f600\"\\\n") + fl(2, "")),
         "extreme keys of every integer kind, bool keys, escaped string keys")
    add3("map_enum_unknown", fl(n3("map_string_nested_enum"), fl(1, "a") + fv(2, 99)) +
         fl(n3("map_int64_nested_enum"), fv(1, 1) + fv(2, 1)),
         "proto3 map with an unknown enum value (open enum: kept)")
    add3("map_entry_invalid_utf8_key", fl(n3("map_string_string"), fl(1, b"\xff") + fl(2, "v")),
         "proto3 map<string,string> with invalid UTF-8 key")
    add3("map_entry_truncated", fl(mii, b"\x08"),
         "map entry whose key varint is missing")
    add2("map_enum_unknown", fl(n2("map_string_nested_enum"), fl(1, "a") + fv(2, 99)) +
         fl(n2("map_string_nested_enum"), fl(1, "b") + fv(2, 1)) + fl(n2("map_int32_nested_enum"), fv(1, 3) + fv(2, 42)),
         "proto2 map with closed-enum values: entries with unknown values")
    add2("map_required_missing", fl(n2("map_string_with_required"), fl(1, "k") + fl(2, fl(2, "no a or c"))),
         "proto2 map value message missing its required fields")

    # --- unknown fields
    unknown = (fv(9999, 1) + f64(9998, 2) + fl(9997, b"unk") + f32(9996, 3) +
               fg(9995, fv(1, 1) + fg(2, fg(3, fl(4, b"x")) + f32(5, 0)) + fl(6, b"")) +
               fv(536870911, 7))
    add3("unknown_all_wiretypes", fv(n3("optional_int32"), 1) + unknown + fl(n3("optional_string"), "after"),
         "unknown field numbers of every wire type incl. nested groups and max field number")
    add2("unknown_all_wiretypes", unknown + fv(n2("optional_int32"), 1),
         "proto2: unknown fields of every wire type")
    add3("unknown_in_nested", fl(n3("optional_nested_message"), fv(1, 4) + unknown),
         "unknown fields inside a nested message")
    add3("unknown_reserved_number", fv(505, 1) + fv(19000, 1) + fv(19999, 2),
         "reserved and implementation-reserved (19000-19999) field numbers")

    # --- enums
    add3("enum_unknown_open", fv(n3("optional_nested_enum"), 7) + fv(n3("optional_foreign_enum"), INT32_MAX) +
         fv(n3("repeated_nested_enum"), 5) + fv(n3("repeated_nested_enum"), 1) +
         fv(n3("proto3_optional_nested_enum"), 123) + fv(n3("optional_aliased_enum"), -3),
         "proto3 open enums with unknown numbers: kept and printed as numbers")
    add3("enum_negative_and_big", fv(n3("optional_nested_enum"), -1) + fv(n3("repeated_nested_enum"), 2**32 + 1) +
         fv(n3("repeated_nested_enum"), INT32_MIN),
         "negative enum (10-byte varint) and a varint wider than 32 bits")
    add3("enum_alias", fv(n3("optional_aliased_enum"), 2) + packed_varints(n3("repeated_nested_enum"), [0, 1, 2]),
         "allow_alias enum value 2 (ALIAS_BAZ / MOO / moo / bAz)")
    add3("enum_zero_implicit", fv(n3("optional_nested_enum"), 0) + fv(n3("proto3_optional_nested_enum"), 0),
         "enum zero in an implicit field (absent) and in a proto3 optional (present)")
    en = n2("optional_nested_enum")
    add2("enum_unknown_singular", fv(en, 1) + fv(en, 42),
         "proto2 closed enum: known value then unknown: keeps previous value")
    add2("enum_unknown_singular_only", fv(en, 42) + fv(n2("optional_foreign_enum"), 9),
         "proto2 closed enum with only unknown values: field absent")
    add2("enum_unknown_repeated", fv(n2("repeated_nested_enum"), 1) + fv(n2("repeated_nested_enum"), 42) +
         fv(n2("repeated_nested_enum"), 2),
         "proto2 closed enum repeated: unknown element dropped")
    add2("enum_unknown_packed", packed_varints(n2("packed_nested_enum"), [1, 42, 2, -1, 3]),
         "proto2 closed enum packed: unknown elements dropped")
    add2("enum_alias", fv(n2("optional_aliased_enum"), 2),
         "proto2 allow_alias enum")
    add2("enum_unknown_extension", fv(124, 77) + fv(124, 1) + fv(124, 55),
         "proto2 enum extension: unknown, known, unknown")

    # --- floats / -0.0 / NaN
    add3("negative_zero", fd(n3("optional_double"), -0.0) + ff(n3("optional_float"), -0.0) +
         fl(n3("optional_double_wrapper"), fd(1, -0.0)) + fl(n3("optional_float_wrapper"), ff(1, -0.0)) +
         fd(n3("proto3_optional_double"), -0.0) +
         fl(n3("map_int32_double"), fv(1, 1) + fd(2, -0.0)),
         "-0.0 in implicit double/float, wrappers, proto3 optional and a map value")
    add3("positive_zero", fd(n3("optional_double"), 0.0) + ff(n3("optional_float"), 0.0) +
         fl(n3("optional_double_wrapper"), fd(1, 0.0)),
         "+0.0 in implicit fields (absent) and wrapper (present, value 0)")
    add3("nan_inf", fd(n3("optional_double"), float("nan")) + ff(n3("optional_float"), float("inf")) +
         fl(n3("optional_double_wrapper"), fd(1, float("-inf"))) + fl(n3("optional_float_wrapper"), ff(1, float("nan"))) +
         fl(n3("repeated_double_wrapper"), fd(1, float("inf"))),
         "NaN and infinities in plain fields and wrappers")
    add3("nan_payloads", f64(n3("optional_double"), 0x7FF8000000000001) + f32(n3("optional_float"), 0xFFC00001) +
         f64(n3("repeated_double"), 0xFFF0000000000001),
         "NaNs with non-canonical payloads/sign")
    add3("float_precision", ff(n3("optional_float"), 0.1) + fd(n3("optional_double"), 0.1) +
         b"".join(f32(n3("repeated_float"), v) for v in (0x00000001, 0x007FFFFF, 0x00800000, 0x7F7FFFFF, 0x3F800001, 0x4B800001, 0x358637BD)) +
         b"".join(fd(n3("repeated_double"), v) for v in (5e-324, 1e21, 1e-7, 123456789012345680.0, 0.000001, 1e300)),
         "float32 shortest printing and double formatting extremes")
    add2("negative_zero", fd(n2("optional_double"), -0.0) + ff(n2("optional_float"), -0.0) +
         fd(n2("default_double"), -0.0),
         "proto2 -0.0 (explicit presence)")

    # --- integer encodings
    add3("varint_truncation", fv(n3("optional_int32"), 0xFFFFFFFF00000005) + fv(n3("optional_uint32"), 2**40 + 7) +
         fv(n3("optional_bool"), 256) + fv(n3("optional_sint32"), 2**33 + 3) +
         tag(n3("optional_int64"), 0) + b"\x81\x80\x80\x80\x80\x80\x80\x80\x80\x00",
         "varints wider than the field: int32/uint32/sint32 truncate, bool is any nonzero, overlong encoding")
    add3("varint_11_bytes", tag(n3("optional_int64"), 0) + b"\x80" * 10 + b"\x00",
         "an 11-byte varint")
    add3("varint_10th_byte_big", tag(n3("optional_int64"), 0) + b"\xff" * 9 + b"\x7f",
         "10-byte varint whose last byte has bits beyond 64")
    add3("int_extremes", fv(n3("optional_int32"), INT32_MIN) + fv(n3("optional_int64"), INT64_MIN) +
         fv(n3("optional_uint32"), UINT32_MAX) + fv(n3("optional_uint64"), UINT64_MAX) +
         fv(n3("optional_sint32"), zz(INT32_MIN)) + fv(n3("optional_sint64"), zz(INT64_MIN)) +
         f32(n3("optional_fixed32"), UINT32_MAX) + f64(n3("optional_fixed64"), UINT64_MAX) +
         f32(n3("optional_sfixed32"), INT32_MIN, "<i") + f64(n3("optional_sfixed64"), INT64_MIN, "<q") +
         fv(n3("proto3_optional_int32"), 0) + fv(n3("proto3_optional_uint64"), 0),
         "integer extremes; proto3 optional zero is present")
    add3("tag_overlong", b"\x88\x80\x80\x80\x00" + b"\x05",
         "field 1 tag encoded as an overlong 5-byte varint")

    # --- strings / bytes / UTF-8
    add3("invalid_utf8", fl(n3("optional_string"), b"ok\xff\xfe"),
         "invalid UTF-8 in a proto3 string")
    add3("invalid_utf8_surrogate", fl(n3("optional_string"), b"\xed\xa0\x80"),
         "UTF-8-encoded surrogate (CESU) in a proto3 string")
    add3("invalid_utf8_overlong", fl(n3("optional_string"), b"\xc0\xaf"),
         "overlong UTF-8 encoding in a proto3 string")
    add3("invalid_utf8_repeated", fl(n3("repeated_string"), "fine") + fl(n3("repeated_string"), b"\x80"),
         "invalid UTF-8 in a proto3 repeated string")
    add3("invalid_utf8_nested", fl(nm, fl(2, fl(14, b"\xfe"))),
         "invalid UTF-8 in a string of a nested message")
    add3("invalid_utf8_in_bytes", fl(n3("optional_bytes"), b"\xff\xfe\x00"),
         "invalid UTF-8 in bytes is fine")
    add3("invalid_utf8_in_unknown", fl(9000, b"\xff\xfe"),
         "invalid UTF-8 in an unknown LEN field is fine")
    quirk = (" (Python quirk: proto2 strings are not validated; upb hands back bytes and "
             "json_format str()s them, printing the bytes repr b'...')")
    add2("invalid_utf8", fl(n2("optional_string"), b"ok\xff\xfe"),
         "invalid UTF-8 in a proto2 string" + quirk)
    add2("invalid_utf8_repeated", fl(n2("repeated_string"), b"\xc3\x28"),
         "invalid UTF-8 in a proto2 repeated string" + quirk)
    add2("invalid_utf8_map_key", fl(n2("map_string_string"), fl(1, b"\xff") + fl(2, "v")),
         "invalid UTF-8 in a proto2 map key")
    add3("strings_escapes", fl(n3("optional_string"), "\x00\x01\x1f\x7f\"\\/\u2028\u2029\ufeff\U0001f600</script>") +
         fl(n3("optional_bytes"), bytes(range(256))) + fl(n3("repeated_bytes"), b"") + fl(n3("repeated_bytes"), b"\xfb\xff"),
         "control characters, quotes, separators, emoji; bytes of every value")

    # --- nesting depth
    for depth in (99, 100, 101, 102):
        data = b""
        for _ in range(depth):
            data = fl(1, fv(2, depth) + data)
        b.add("wire_recursive_depth_%d" % depth, s, refs, "protolake.test3.Recursive", [data],
              note="%d nested Recursive.child levels below the top-level message" % depth)
    rm = n3("recursive_message")
    for depth in (101, 102):  # (99 and 100 succeed; omitted to keep --emit-defaults output small)
        data = b""
        for _ in range(depth):
            data = fl(rm, data)
        add3("depth_%d" % depth, data, "%d nested recursive_message levels" % depth)
    def value_chain(levels):
        content = None
        for lvl in range(levels, 0, -1):
            if lvl % 2 == 1:  # google.protobuf.Value
                content = fv(4, 1) if content is None else fl(6, content)
            else:  # google.protobuf.ListValue
                content = b"" if content is None else fl(1, content)
        return content

    for depth in (100, 101):
        add3("depth_value_%d" % depth, fl(n3("optional_value"), value_chain(depth)),
             "Value/ListValue chain, %d nested message levels below the top-level message" % depth)
    data = fl(n2("optional_nested_message"), b"")
    for _ in range(50):
        data = fl(n2("optional_nested_message"), fl(2, data))
    add2("depth_corecursive_101", data, "NestedMessage.corecursive chain, 101 nested message levels")
    for depth in (99, 100, 101):
        body = b""
        for _ in range(depth - 1):
            body = fg(9990, body)
        add2("depth_unknown_group_%d" % depth, fg(9990, body), "unknown group nested %d levels" % depth)

    # --- malformed wire data
    add3("truncated_in_field", fv(n3("optional_int32"), 1) + tag(n3("optional_string"), 2) + varint(10) + b"abc",
         "message cut in the middle of a LEN field")
    add3("truncated_varint", fv(n3("optional_int32"), 1) + tag(n3("optional_int64"), 0) + b"\xff\xff",
         "message ends inside a varint")
    add3("truncated_tag", b"\x80",
         "message ends inside a tag")
    add3("truncated_fixed64", tag(n3("optional_double"), 1) + b"\x00\x00\x00",
         "message ends inside a fixed64")
    add3("length_past_end", tag(n3("optional_bytes"), 2) + varint(1000) + b"x",
         "LEN field longer than the rest of the message")
    add3("length_huge", tag(n3("optional_bytes"), 2) + varint(2**40) + b"x",
         "LEN field with a length over 2^32")
    add3("nested_length_past_parent", fl(nm, tag(1, 0) + b"\x01" + tag(14, 2) + varint(5) + b"ab") + b"cdef",
         "nested message whose inner LEN field runs past the parent's end")
    add3("field_number_zero", fv(0, 1),
         "field number 0")
    add3("field_number_zero_len", tag(0, 2) + varint(0),
         "field number 0 with LEN wire type")
    add3("wire_type_6", fv(n3("optional_int32"), 1) + tag(n3("optional_int64"), 6) + b"\x00",
         "wire type 6")
    add3("wire_type_7", tag(1, 7) + b"\x00",
         "wire type 7")
    add3("end_group_without_start", fv(n3("optional_int32"), 1) + tag(5, 4),
         "END_GROUP without a matching START_GROUP")
    add3("end_group_field_zero", tag(0, 4),
         "END_GROUP with field number 0")
    add3("start_group_in_proto3", fg(77, fv(1, 1)) + fv(n3("optional_int32"), 3),
         "unknown group in a proto3 message")
    add3("field_number_too_big", tag(2**29, 0) + b"\x01",
         "field number 2^29 (one past the maximum)")
    add3("trailing_zero_byte", fv(n3("optional_int32"), 1) + b"\x00",
         "a stray zero byte after a valid field (tag 0)")

    # --- required fields (proto2)
    wr = n2("optional_with_required")
    add2("required_missing", fl(wr, fl(2, "only b")),
         "sub-message missing its required fields a and c")
    add2("required_missing_one", fl(wr, fv(1, 1) + fl(2, "b")),
         "sub-message missing required field c")
    add2("required_present", fl(wr, fv(1, 0) + fl(3, "")),
         "required fields present with default values")
    add2("required_missing_repeated", fl(n2("repeated_with_required"), fv(1, 1) + fl(3, "c")) +
         fl(n2("repeated_with_required"), b""),
         "second element of a repeated message missing required fields")

    # --- proto2 defaults
    add2("defaults_unset", fv(n2("optional_int32"), 0),
         "proto2 fields with custom defaults, not set: not printed even with --emit-defaults")
    add2("defaults_set_to_default", fv(n2("default_int32"), -123456789 & (2**64 - 1)) + fl(n2("default_string"), "Rosebud \"quoted\" \u00e9") +
         fv(n2("default_enum"), 2) + fv(n2("default_bool"), 1) + fl(n2("default_bytes"), b"joshua\x00\xff") +
         ff(n2("default_float"), 9e9) + fd(n2("default_double_inf"), float("inf")),
         "proto2 fields explicitly set to their custom default: present")
    add2("defaults_set_other", fv(n2("default_int32"), 0) + fl(n2("default_string"), "") + fv(n2("default_bool"), 0) +
         ff(n2("default_float_nan"), 1.5) + fv(n2("default_uint64"), 0),
         "proto2 fields with custom defaults set to zero values")

    # --- extensions
    ext = (fv(120, 5) + fl(121, "a") + fl(121, "b") + fl(122, fv(1, 7)) + packed_varints(123, [1, -1, INT64_MAX]) +
           fv(123, 9) + fv(124, 1) + fl(125, b"\x00\x01") + fl(126, fv(1, 1700000000) + fv(2, 5000)) +
           fl(127, fv(1, 1)) + fl(127, b"") + fd(128, float("nan")) + fv(1000, zz(-2)) + fl(130, "scoped") +
           fl(131, fl(1, "holder") + fv(2, 3)) + packed_varints(132, [UINT64_MAX, 0]))
    add2("extensions_all", fv(n2("optional_int32"), 1) + ext,
         "every declared extension kind on the wire (scalar, repeated, packed, message, enum, bytes, WKT, scoped)")
    add2("extension_undeclared", fv(133, 5) + fv(135, 1) + fl(2000, "x") + fv(120, 1),
         "extension numbers inside the extension ranges that no extend declares")
    add2("extension_message_merge", fl(122, fv(1, 7)) + fl(122, b"") + fl(131, fl(1, "a")) + fl(131, fv(2, 9)),
         "message extension split over several occurrences: merged")
    add2("extension_wrong_wiretype", fl(120, b"\x01") + fv(122, 3) + fv(120, 2),
         "extension sent with wrong wire type, then correctly")
    add2("extension_last_wins", fv(120, 1) + fv(120, 2) + fl(130, "x") + fl(130, "y"),
         "singular extension repeated on the wire")
    add2("extension_inside_any", fl(n2("optional_any"), fl(1, "type.googleapis.com/" + P2) + fl(2, fv(120, 4) + fl(130, "in any"))),
         "extensions inside a message packed in Any")

    # --- well-known types
    ts = n3("optional_timestamp")
    add3("wkt_timestamp_max", fl(ts, fv(1, TS_MAX) + fv(2, 999999999)), "Timestamp at the maximum")
    add3("wkt_timestamp_min", fl(ts, fv(1, TS_MIN)), "Timestamp at the minimum (0001-01-01)")
    add3("wkt_timestamp_epoch", fl(ts, b""), "empty Timestamp (epoch)")
    add3("wkt_timestamp_precision", fl(n3("repeated_timestamp"), fv(1, 1) + fv(2, 1000000)) +
         fl(n3("repeated_timestamp"), fv(1, 1) + fv(2, 1000)) + fl(n3("repeated_timestamp"), fv(1, 1) + fv(2, 1)) +
         fl(n3("repeated_timestamp"), fv(1, -1) + fv(2, 999999999)) + fl(n3("repeated_timestamp"), fv(1, 951782400)),
         "Timestamp fractional digits 3/6/9, negative seconds, leap day")
    add3("wkt_timestamp_seconds_too_large", fl(ts, fv(1, TS_MAX + 1)), "Timestamp seconds past 9999-12-31")
    add3("wkt_timestamp_seconds_too_small", fl(ts, fv(1, TS_MIN - 1)), "Timestamp seconds before 0001-01-01")
    add3("wkt_timestamp_negative_nanos", fl(ts, fv(1, 10) + fv(2, -1)), "Timestamp with negative nanos")
    add3("wkt_timestamp_nanos_too_large", fl(ts, fv(1, 10) + fv(2, 1000000000)), "Timestamp nanos = 1e9")
    du = n3("optional_duration")
    add3("wkt_duration_ok", fl(n3("repeated_duration"), fv(1, 1) + fv(2, 500000000)) +
         fl(n3("repeated_duration"), fv(1, -1) + fv(2, -500000000)) + fl(n3("repeated_duration"), fv(2, -1)) +
         fl(n3("repeated_duration"), b"") + fl(n3("repeated_duration"), fv(1, DUR_MAX) + fv(2, 999999999)) +
         fl(n3("repeated_duration"), fv(1, -DUR_MAX) + fv(2, -999999999)) + fl(n3("repeated_duration"), fv(2, 1000)),
         "Durations: fractions, negatives, zero, extremes")
    add3("wkt_duration_sign_mismatch", fl(du, fv(1, 1) + fv(2, -5)), "Duration with positive seconds and negative nanos")
    add3("wkt_duration_sign_mismatch2", fl(du, fv(1, -1) + fv(2, 5)), "Duration with negative seconds and positive nanos")
    add3("wkt_duration_too_large", fl(du, fv(1, DUR_MAX + 1)), "Duration seconds out of range")
    add3("wkt_duration_nanos_too_large", fl(du, fv(2, 1000000000)), "Duration nanos out of range")
    fm = n3("optional_field_mask")
    add3("wkt_fieldmask_ok", fl(fm, fl(1, "foo_bar.baz_qux") + fl(1, "a") + fl(1, "x1_y")), "FieldMask with snake_case paths")
    add3("wkt_fieldmask_empty", fl(fm, b"") + fl(n3("repeated_fieldmask"), b""), "empty FieldMask")
    add3("wkt_fieldmask_empty_path", fl(fm, fl(1, "") + fl(1, "a")), "FieldMask with an empty path")
    add3("wkt_fieldmask_uppercase", fl(fm, fl(1, "fooBar")), "FieldMask path with an uppercase letter (not round-trippable)")
    add3("wkt_fieldmask_underscore_digit", fl(fm, fl(1, "field_1")), "FieldMask path with '_1'")
    add3("wkt_fieldmask_trailing_underscore", fl(fm, fl(1, "field_")), "FieldMask path with a trailing '_'")
    add3("wkt_fieldmask_double_underscore", fl(fm, fl(1, "a__b")), "FieldMask path with '__'")
    vv = n3("optional_value")
    add3("wkt_value_nan", fl(vv, fd(2, float("nan"))), "Value.number_value = NaN")
    add3("wkt_value_inf", fl(vv, fd(2, float("inf"))), "Value.number_value = Infinity")
    add3("wkt_value_neg_inf_in_list", fl(n3("optional_list_value"), fl(1, fd(2, float("-inf")))), "ListValue containing -Infinity")
    add3("wkt_value_empty", fl(vv, b""), "Value with no kind set")
    add3("wkt_value_empty_in_list", fl(n3("optional_list_value"), fl(1, b"") + fl(1, fv(4, 1))), "ListValue with an empty Value")
    add3("wkt_value_kinds", fl(n3("repeated_value"), fv(1, 0)) + fl(n3("repeated_value"), fd(2, -0.0)) +
         fl(n3("repeated_value"), fd(2, 1e300)) + fl(n3("repeated_value"), fd(2, 2**53 + 2)) +
         fl(n3("repeated_value"), fl(3, "")) + fl(n3("repeated_value"), fv(4, 0)) +
         fl(n3("repeated_value"), fl(5, b"")) + fl(n3("repeated_value"), fl(6, b"")) +
         fl(n3("repeated_value"), fv(1, 5)),
         "Values of every kind incl. empty struct/list and a null_value with unknown number 5")
    add3("wkt_value_oneof_switch", fl(vv, fl(3, "s") + fd(2, 1.5)), "Value kind switched on the wire: last wins")
    add3("wkt_value_invalid_utf8", fl(vv, fl(3, b"\xff")), "Value.string_value with invalid UTF-8")
    st = b""
    for i in range(30):
        st = fl(1, fl(1, "k%d" % i) + fl(2, fl(5, st)))
    add3("wkt_struct_deep", fl(n3("optional_struct"), st), "Struct nested 30 levels (90 message levels)")
    st = b""
    for i in range(34):
        st = fl(1, fl(1, "k") + fl(2, fl(5, st)))
    add3("wkt_struct_too_deep", fl(n3("optional_struct"), st), "Struct nested 34 levels (>100 message levels)")
    add3("wkt_struct_empty_key", fl(n3("optional_struct"), fl(1, fl(1, "") + fl(2, fv(1, 0))) + fl(1, fl(2, fl(3, "nokey")))),
         "Struct with empty keys / entries without key")
    add3("wkt_struct_entry_no_value", fl(n3("optional_struct"), fl(1, fl(1, "k"))), "Struct entry without a value")
    add3("wkt_struct_in_map_and_oneof", fl(n3("map_string_struct"), fl(1, "m") + fl(2, fl(1, fl(1, "a") + fl(2, fv(4, 1))))) +
         fl(n3("oneof_struct"), b""), "Struct as map value and empty Struct in oneof")
    anyf = n3("optional_any")

    def any_(type_name, value, prefix="type.googleapis.com/"):
        out = b""
        if type_name is not None:
            out += fl(1, prefix + type_name)
        if value is not None:
            out += fl(2, value)
        return out

    add3("wkt_any_empty", fl(anyf, b""), "Any with nothing set")
    add3("wkt_any_empty_message", fl(anyf, any_("google.protobuf.Empty", b"")), "Any holding google.protobuf.Empty")
    add3("wkt_any_empty_type_only", fl(anyf, any_("protolake.test3.ForeignMessage", None)), "Any with type URL and no value")
    add3("wkt_any_value_only", fl(anyf, any_(None, fv(1, 1))), "Any with value but no type URL")
    add3("wkt_any_timestamp", fl(anyf, any_("google.protobuf.Timestamp", fv(1, 1) + fv(2, 2))), "Any holding a Timestamp")
    add3("wkt_any_duration", fl(anyf, any_("google.protobuf.Duration", fv(1, 3))), "Any holding a Duration")
    add3("wkt_any_struct", fl(anyf, any_("google.protobuf.Struct", fl(1, fl(1, "a") + fl(2, fd(2, 1.0))))), "Any holding a Struct")
    add3("wkt_any_value", fl(anyf, any_("google.protobuf.Value", fl(3, "s"))), "Any holding a Value")
    add3("wkt_any_value_empty", fl(anyf, any_("google.protobuf.Value", b"")), "Any holding an empty Value")
    add3("wkt_any_list_value", fl(anyf, any_("google.protobuf.ListValue", fl(1, fv(4, 1)))), "Any holding a ListValue")
    add3("wkt_any_fieldmask", fl(anyf, any_("google.protobuf.FieldMask", fl(1, "a.b_c"))), "Any holding a FieldMask")
    add3("wkt_any_wrappers", b"".join(
        fl(n3("repeated_any"), any_("google.protobuf." + w, v)) for w, v in [
            ("Int32Value", fv(1, 5)), ("Int64Value", fv(1, INT64_MIN)), ("UInt64Value", fv(1, UINT64_MAX)),
            ("StringValue", fl(1, "s")), ("BytesValue", fl(1, b"\xff")), ("BoolValue", b""),
            ("DoubleValue", fd(1, float("nan"))), ("FloatValue", ff(1, 0.1)), ("UInt32Value", b"")]),
        "Any holding each wrapper (incl. default-valued ones)")
    inner = any_("protolake.test3.SmallMessage", enc(s.new("protolake.test3.SmallMessage", id="x", count=3)))
    add3("wkt_any_any", fl(anyf, any_("google.protobuf.Any", inner)), "Any holding Any holding a message")
    add3("wkt_any_any_empty", fl(anyf, any_("google.protobuf.Any", b"")), "Any holding an empty Any")
    add3("wkt_any_unresolvable", fl(anyf, any_("does.not.Exist", fv(1, 1))), "Any with a type URL not in the pool")
    add3("wkt_any_unresolvable_in_repeated", fl(n3("repeated_any"), any_("google.protobuf.Empty", b"")) +
         fl(n3("repeated_any"), any_("nope.Nope", b"")), "unresolvable Any inside a repeated field")
    add3("wkt_any_custom_prefix", fl(anyf, any_("protolake.test3.ForeignMessage", fv(1, 2), "example.com/a/b/")),
         "Any with a non-googleapis type URL prefix")
    add3("wkt_any_no_slash", fl(anyf, any_("protolake.test3.ForeignMessage", fv(1, 2), "")),
         "Any type URL without a '/'")
    add3("wkt_any_leading_dot", fl(anyf, any_(".protolake.test3.ForeignMessage", fv(1, 2))),
         "Any type URL whose name starts with '.' (found by the differential fuzzer)")
    add3("wkt_any_trailing_slash", fl(anyf, any_("", fv(1, 2), "type.googleapis.com/")),
         "Any type URL ending in '/'")
    add3("wkt_any_bad_value", fl(anyf, any_("protolake.test3.ForeignMessage", b"\x08")),
         "Any whose value does not parse as its type")
    add3("wkt_any_value_invalid_utf8", fl(anyf, any_("protolake.test3.SmallMessage", fl(1, b"\xff"))),
         "Any whose payload has invalid UTF-8 in a string")
    add3("wkt_any_proto2_payload", fl(anyf, any_(P2, fv(n2("optional_int32"), 1) + fv(120, 2) + fv(n2("optional_nested_enum"), 42))),
         "Any holding a proto2 message with an extension and an unknown closed-enum value")
    add3("wkt_any_in_map", fl(n3("map_string_any"), fl(1, "k") + fl(2, any_("google.protobuf.Empty", b""))) +
         fl(n3("map_string_any"), fl(1, "e") + fl(2, b"")),
         "Any as map value: holding Empty, and empty Any")
    add3("wkt_any_field_order", fl(anyf, fl(2, fv(1, 9)) + fl(1, "type.googleapis.com/protolake.test3.ForeignMessage")),
         "Any with value before type_url on the wire")
    nv = n3("optional_null_value")
    add3("wkt_null_value", fv(nv, 0) + fv(n3("proto3_optional_null_value"), 0) + packed_varints(n3("repeated_null_value"), [0, 0]) +
         fl(n3("map_string_null_value"), fl(1, "n")) + fv(n3("oneof_null_value"), 0),
         "NullValue singular (implicit: absent), proto3 optional, repeated, map value, oneof")
    add3("wkt_null_value_unknown", fv(nv, 3) + packed_varints(n3("repeated_null_value"), [1]) + fv(n3("proto3_optional_null_value"), 2),
         "NullValue with non-zero (unknown) numbers")
    add2("wkt_null_value", fv(n2("optional_null_value"), 0) + fv(n2("repeated_null_value"), 0) + fv(n2("oneof_null_value"), 0),
         "proto2 NullValue singular/repeated/oneof")
    add2("wkt_null_value_unknown", fv(n2("optional_null_value"), 1) + fv(n2("repeated_null_value"), 5),
         "proto2 message using NullValue (open enum from a proto3 file) with unknown numbers")
    add3("wkt_wrappers_defaults", b"".join(fl(n3(f), b"") for f in (
        "optional_bool_wrapper", "optional_int32_wrapper", "optional_int64_wrapper", "optional_uint32_wrapper",
        "optional_uint64_wrapper", "optional_float_wrapper", "optional_double_wrapper", "optional_string_wrapper",
        "optional_bytes_wrapper")), "every wrapper present but empty (default value)")
    add3("wkt_wrappers_extremes", fl(n3("optional_int64_wrapper"), fv(1, INT64_MIN)) + fl(n3("optional_uint64_wrapper"), fv(1, UINT64_MAX)) +
         fl(n3("optional_uint32_wrapper"), fv(1, UINT32_MAX)) + fl(n3("optional_int32_wrapper"), fv(1, INT32_MIN)) +
         fl(n3("optional_string_wrapper"), fl(1, "\u00e9\x00")) + fl(n3("optional_bytes_wrapper"), fl(1, b"\x00\xff")) +
         fl(n3("optional_bool_wrapper"), fv(1, 1)) + fl(n3("optional_float_wrapper"), ff(1, 3.4028234663852886e38)) +
         fl(n3("repeated_int32_wrapper"), b"") + fl(n3("repeated_int32_wrapper"), fv(1, 1)),
         "wrappers with extreme values; repeated wrapper")
    add3("wkt_wrapper_unknown_field", fl(n3("optional_int32_wrapper"), fv(1, 5) + fv(2, 6)),
         "wrapper with an unknown field")
    add3("wkt_wrapper_invalid_utf8", fl(n3("optional_string_wrapper"), fl(1, b"\xff")),
         "StringValue with invalid UTF-8")
    add3("wkt_empty", fl(n3("optional_empty"), b"") + fl(n3("repeated_empty"), b"") + fl(n3("repeated_empty"), fv(1, 1)) +
         fl(n3("map_string_empty"), fl(1, "e")), "Empty singular, repeated (one with an unknown field), map value")
    add3("wkt_oneof_members", fl(n3("oneof_empty"), b""), "oneof member of type Empty")
    add3("wkt_oneof_wrapper", fl(n3("oneof_int32_wrapper"), b""), "oneof member of wrapper type with default value")
    add3("wkt_map_values", fl(n3("map_string_timestamp"), fl(1, "t") + fl(2, fv(1, 1))) +
         fl(n3("map_string_duration"), fl(1, "d") + fl(2, fv(1, -1))) +
         fl(n3("map_string_int32_wrapper"), fl(1, "w")) + fl(n3("map_int32_double_wrapper"), fv(1, -1) + fl(2, fd(1, float("nan")))) +
         fl(n3("map_string_list_value"), fl(1, "l") + fl(2, fl(1, fl(3, "x")))) +
         fl(n3("map_string_field_mask"), fl(1, "f") + fl(2, fl(1, "a_b"))) +
         fl(n3("map_string_bytes_wrapper"), fl(1, "b") + fl(2, fl(1, b"\x01"))),
         "WKTs as map values")
    add3("wkt_map_bad_timestamp", fl(n3("map_string_timestamp"), fl(1, "t") + fl(2, fv(1, TS_MAX + 1))),
         "out-of-range Timestamp inside a map value")

    # --- names
    add3("json_names", b"".join(fv(s.num(P3, f.name), i + 1) for i, f in enumerate(
        sorted(s.desc(P3).fields, key=lambda f: f.number)) if f.number >= 401 and f.type == f.TYPE_INT32) +
         fl(s.num(P3, "json_named_string"), "j") + packed_varints(s.num(P3, "json_named_repeated"), [1]) +
         fl(s.num(P3, "json_named_message"), fv(1, 1)),
         "field names that camel-case interestingly, and explicit json_name")
    add2("json_names", b"".join(fv(n2(f), i + 1) for i, f in enumerate(
        ("field_name1", "FieldName2", "field__name3", "_field_name4", "field_Name5", "json_named"))) +
         fl(n2("json_named_list"), "x"), "proto2 camel-case names and json_name")
    add2("group_names", fg(n2("data"), fg(204, fl(1, "i"))) + fg(n2("repeatedgroup"), b""),
         "group field JSON names (lower-cased group name)")
    add3("empty_message", b"", "an empty proto3 message")
    add2("empty_message", b"", "an empty proto2 message")


def example_cases(b, ex_dir, rng):
    v1_path = os.path.join(ex_dir, "acme_events_v1.binpb")
    v2_path = os.path.join(ex_dir, "acme_events_v2.binpb")
    for p in (v1_path, v2_path):
        if not os.path.exists(p):
            raise SystemExit("missing %s (compile schemas/ first)" % p)
    s1 = Schema([v1_path])
    s2 = Schema([v2_path])
    r1 = ["../../descriptors/acme_events_v1.binpb"]
    r2 = ["../../descriptors/acme_events_v2.binpb"]
    t1, t2 = "acme.events.v1.PageView", "acme.events.v2.PageView"
    g1 = Gen(s1, rng, ["google.protobuf.Timestamp"])
    g2 = Gen(s2, rng, ["google.protobuf.Timestamp"])

    def msgs(s, g, t, n, density):
        out = []
        for _ in range(n):
            m = s.new(t)
            g.fill(m, 0, density)
            out.append(enc(m))
        return out

    b.add("example_v1_single", s1, r1, t1, msgs(s1, g1, t1, 1, 0.6), note="legacy v1 PageView, single")
    b.add("example_v1_stream_gzip", s1, r1, t1, msgs(s1, g1, t1, 15, 0.4), "varint", "gzip", ext="pb.gz",
          note="legacy v1 PageView varint stream, gzip (random fields incl. the campaign extension)")
    b.add("example_v1_empty_defaults", s1, r1, t1, [b""], note="empty v1 PageView: custom defaults are not printed")
    num = s1.num(t1, "source")
    b.add("example_v1_unknown_enum", s1, r1, t1, [fv(num, 2) + fv(num, 99)],
          note="v1 closed enum with unknown value after a known one")
    b.add("example_v2_single", s2, r2, t2, msgs(s2, g2, t2, 1, 0.6), note="v2 PageView, single")
    b.add("example_v2_stream", s2, r2, t2, msgs(s2, g2, t2, 20, 0.4), "varint", note="v2 PageView varint stream")
    b.add("example_v2_stream_gzip", s2, r2, t2, msgs(s2, g2, t2, 20, 0.3), "varint", "gzip", ext="pb.gz",
          note="v2 PageView varint stream, gzip")
    num2 = s2.num(t2, "source")
    b.add("example_v2_unknown_enum", s2, r2, t2, [fv(num2, 99) + fl(s2.num(t2, "url"), "https://example.com/")],
          note="v2 open enum with unknown value")
    # A v1 message read with the v2 schema (schema evolution).
    v1msg = s1.new(t1)
    g1.fill(v1msg, 0, 0.8)
    b.add("example_v1_bytes_as_v2", s2, r2, t2, [enc(v1msg)],
          note="v1-encoded PageView (with extension) decoded with the v2 schema")


# ---------------------------------------------------------------------------
# Protobuf Editions (tests/schemas_editions/, compiled to editions.binpb by protoc)
# ---------------------------------------------------------------------------

ED = "protolake.editions."
E23 = ED + "Editions2023"
E23_CHILD = E23 + ".Child"
E24 = ED + "Editions2024"
E24_CHILD = E24 + ".Child2024"
ED_OTHER = ED + "Other"
ED_P3 = ED + "p3.Proto3Message"  # proto3 original
ED_ED = ED + "ed.Proto3Message"  # its edition-2023 translation
ED_USES_P3 = ED + "mixed.EditionsUsesProto3"
ED_P2_USES = ED + "mixed.Proto2UsesEditions"
ED_RANDOM_TYPES = [E23, ED_OTHER, ED + "LegacyJson", E24, ED + "LegacyNames2024", ED_USES_P3, ED_P2_USES]
ED_HANDBUILT = "protolake.editions.handbuilt.MessageLevel"


def handbuilt_editions_fds():
    """A FileDescriptorSet protoc cannot produce from source: field features set on a message,
    a nested message and a oneof (protoc allows them on files and fields only, but feature
    resolution inherits through every scope, and upb applies them)."""
    F = descriptor_pb2.FieldDescriptorProto
    fdp = descriptor_pb2.FileDescriptorProto(
        name="protolake/editions/handbuilt.proto", package="protolake.editions.handbuilt",
        syntax="editions", edition=descriptor_pb2.EDITION_2023)
    fdp.options.features.enum_type = descriptor_pb2.FeatureSet.CLOSED
    m = fdp.message_type.add(name="MessageLevel")
    mf = m.options.features
    mf.field_presence = descriptor_pb2.FeatureSet.IMPLICIT
    mf.repeated_field_encoding = descriptor_pb2.FeatureSet.EXPANDED
    mf.message_encoding = descriptor_pb2.FeatureSet.DELIMITED
    mf.utf8_validation = descriptor_pb2.FeatureSet.NONE
    e = fdp.enum_type.add(name="HandOpen")
    e.options.features.enum_type = descriptor_pb2.FeatureSet.OPEN
    e.value.add(name="HAND_ZERO", number=0)
    e.value.add(name="HAND_ONE", number=1)
    n = m.nested_type.add(name="Inner")  # inherits MessageLevel's features
    n.field.add(name="b", number=1, type=F.TYPE_INT32, label=F.LABEL_OPTIONAL)
    n.field.add(name="s", number=2, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL)
    n.field.add(name="nums", number=3, type=F.TYPE_INT32, label=F.LABEL_REPEATED)
    n.field.add(name="inner", number=4, type=F.TYPE_MESSAGE, label=F.LABEL_OPTIONAL, type_name=".protolake.editions.handbuilt.MessageLevel.Inner")
    g = n.nested_type.add(name="Deeper")  # two levels down, overrides back
    g.options.features.field_presence = descriptor_pb2.FeatureSet.EXPLICIT
    g.options.features.repeated_field_encoding = descriptor_pb2.FeatureSet.PACKED
    g.field.add(name="c", number=1, type=F.TYPE_INT32, label=F.LABEL_OPTIONAL)
    g.field.add(name="nums", number=2, type=F.TYPE_INT32, label=F.LABEL_REPEATED)
    n.field.add(name="deeper", number=5, type=F.TYPE_MESSAGE, label=F.LABEL_OPTIONAL, type_name=".protolake.editions.handbuilt.MessageLevel.Inner.Deeper")
    m.field.add(name="a", number=1, type=F.TYPE_INT32, label=F.LABEL_OPTIONAL)
    m.field.add(name="s", number=2, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL)
    m.field.add(name="nums", number=3, type=F.TYPE_INT32, label=F.LABEL_REPEATED)
    m.field.add(name="inner", number=4, type=F.TYPE_MESSAGE, label=F.LABEL_OPTIONAL, type_name=".protolake.editions.handbuilt.MessageLevel.Inner")
    f = m.field.add(name="packed_nums", number=5, type=F.TYPE_INT32, label=F.LABEL_REPEATED)
    f.options.features.repeated_field_encoding = descriptor_pb2.FeatureSet.PACKED
    m.field.add(name="e", number=6, type=F.TYPE_ENUM, label=F.LABEL_OPTIONAL, type_name=".protolake.editions.handbuilt.HandOpen")
    o = m.oneof_decl.add(name="pick")
    o.options.features.message_encoding = descriptor_pb2.FeatureSet.LENGTH_PREFIXED  # the oneof's members inherit it
    m.field.add(name="pick_inner", number=7, type=F.TYPE_MESSAGE, label=F.LABEL_OPTIONAL, oneof_index=0, type_name=".protolake.editions.handbuilt.MessageLevel.Inner")
    m.field.add(name="pick_int", number=8, type=F.TYPE_INT32, label=F.LABEL_OPTIONAL, oneof_index=0)
    return descriptor_pb2.FileDescriptorSet(file=[fdp])


def editions_cases(b, s, refs, hs, hrefs, rng):
    n = s.num
    E, C = E23, E23_CHILD

    def add(name, type_name, data, note, schema=s, drefs=refs):
        return b.add("ed_" + name, schema, drefs, type_name, [data], note=note)

    # Sanity: the reference resolved the features the schemas ask for (guards the protoc
    # output and the pool; the full table is in the generator's --print-features).
    d = s.desc(E)
    fx = d.fields_by_name
    assert not fx["implicit_int32"].has_presence and fx["explicit_int32"].has_presence
    assert fx["closed_enum"].enum_type.is_closed and not fx["open_enum"].enum_type.is_closed
    assert fx["packed_int32"].is_packed and not fx["expanded_int32"].is_packed
    assert fx["delimited_child"].type == FieldDescriptor.TYPE_GROUP
    assert fx["length_prefixed_child"].type == FieldDescriptor.TYPE_MESSAGE
    assert fx["required_int32"].is_required
    assert not fx["cpp_legacy_closed"].enum_type.is_closed

    # --- closed enums: unknown numbers go to unknown fields (not printed)
    ce, cx, cp = n(E, "closed_enum"), n(E, "closed_enum_expanded"), n(E, "closed_enum_packed")
    add("closed_enum_unknown_singular", E, fv(ce, 2) + fv(ce, 99),
        "closed enum (file-level CLOSED): known value, then an unknown one: the known value stays")
    add("closed_enum_unknown_only", E, fv(ce, 99) + fv(n(E, "explicit_int32"), 1),
        "closed enum with only an unknown value: field absent")
    add("closed_enum_negative", E, fv(ce, -3) + fv(n(E, "nested_enum"), -1) + fv(n(E, "nested_enum"), 5),
        "closed enum: negative known values (10-byte varints), then an unknown nested-enum value")
    add("closed_enum_unknown_repeated_expanded", E, fv(cx, 1) + fv(cx, 99) + fv(cx, 2) + fv(cx, -7),
        "closed enum, EXPANDED repeated field sent expanded, with unknowns")
    add("closed_enum_unknown_repeated_packed", E, packed_varints(cp, [1, 99, 2, -3, -7]),
        "closed enum, PACKED repeated field sent packed, with unknowns")
    add("closed_enum_unknown_repeated_crossed", E, packed_varints(cx, [2, 42, 1]) + fv(cp, 1) + fv(cp, 43) + fv(cp, -3),
        "closed enum: EXPANDED field sent packed, PACKED field sent expanded, with unknowns")
    add("closed_enum_unknown_repeated_only", E, packed_varints(cp, [99, 100]) + fv(cx, 5),
        "closed enum repeated fields holding only unknown values: both absent")
    mce = n(E, "map_closed_enum")
    add("closed_enum_unknown_map_value", E, fl(mce, fl(1, "known") + fv(2, 1)) + fl(mce, fl(1, "unknown") + fv(2, 99)) +
        fl(mce, fl(1, "neg") + fv(2, -1)),
        "map<string, closed enum>: the entry whose value is unknown goes to unknown fields as a whole")
    add("closed_enum_unknown_map_value_replaces", E, fl(mce, fl(1, "k") + fv(2, 1)) + fl(mce, fl(1, "k") + fv(2, 99)),
        "map<string, closed enum>: a later entry with the same key and an unknown value")
    add("closed_enum_unknown_oneof", E, fv(n(E, "oneof_int32"), 5) + fv(n(E, "oneof_closed_enum"), 99),
        "oneof: int32 member, then the closed-enum member with an unknown value")
    add("closed_enum_unknown_oneof_only", E, fv(n(E, "oneof_closed_enum"), 99),
        "oneof closed-enum member with only an unknown value")
    add("closed_enum_unknown_nested", E, fg(n(E, "delimited_child"), fv(5, 99) + fv(1, 1)) +
        fl(n(E, "length_prefixed_child"), fv(5, 2) + fv(5, 77)),
        "closed enum with unknown values inside a DELIMITED and a LENGTH_PREFIXED child")
    add("closed_enum_unknown_extension", E, fv(n(E, "explicit_int32"), 1) + fv(1005, 99) + packed_varints(1008, [1, 99, 2]),
        "closed-enum extensions: singular unknown, packed repeated with an unknown")
    add("closed_enum_2024", E24, fv(n(E24, "closed"), 7) + fv(n(E24, "foreign_closed"), 99) +
        packed_varints(n(E24, "foreign_closed_rep"), [1, 99, -3]) + fv(n(E24, "pick_closed"), 9) + fv(n(E24, "implicit_int32"), 1),
        "edition 2024: enum-level CLOSED, a closed enum from the imported 2023 file (singular and packed), oneof")
    add("closed_enum_2024_known", E24, fv(n(E24, "closed"), 0) + fv(n(E24, "foreign_closed"), 1) + fv(n(E24, "pick_closed"), 0),
        "edition 2024: closed enums set to their first values (explicit presence: printed)")
    add("closed_enum_mixed_proto2", ED_P2_USES, fv(n(ED_P2_USES, "closed"), 99) + fv(n(ED_P2_USES, "open"), 99) +
        fv(n(ED_P2_USES, "open_rep"), 5) + fv(n(ED_P2_USES, "open_rep"), 1) + packed_varints(n(ED_P2_USES, "closed_rep"), [1, 99]),
        "proto2 fields of editions enums: the closed one drops 99, the open one keeps it (singular and repeated)")

    # --- open enums: unknown numbers printed as numbers
    add("open_enum_unknown", E, fv(n(E, "open_enum"), 99) + fv(n(E, "explicit_open_enum"), -5) +
        fv(n(E, "implicit_open_enum"), 7) + packed_varints(n(E, "open_enum_packed"), [1, 99, -1]) +
        fl(n(E, "map_open_enum"), fv(1, 1) + fv(2, 42)) + fv(1010, 77),
        "enum-level OPEN in a CLOSED file: unknown values kept (singular, implicit, packed, map value, extension)")
    add("open_enum_cpp_legacy_closed", E, fv(n(E, "cpp_legacy_closed"), 55),
        "open enum field with features.(pb.cpp).legacy_closed_enum = true: a C++-only feature, the field stays open")
    add("open_enum_implicit_zero", E, fv(n(E, "implicit_open_enum"), 0) + fv(n(E, "explicit_open_enum"), 0),
        "open enum zero: implicit presence (absent) vs explicit presence (printed)")
    add("open_enum_2024", E24, fv(n(E24, "open"), 5) + fv(n(E24, "foreign_open"), 9) + fl(n(E24, "map_open"), fl(1, "m") + fv(2, 3)),
        "edition 2024 open enums (default OPEN and a 2023 enum-level OPEN) with unknown values")
    add("open_enum_proto3_in_editions", ED_USES_P3, fv(n(ED_USES_P3, "color"), 0) + packed_varints(n(ED_USES_P3, "colors"), [0, 1, 9]) +
        fl(n(ED_USES_P3, "m"), fl(1, "x") + fv(2, 8)),
        "editions fields of a proto3 enum: open; explicit presence keeps a zero")

    # --- repeated encodings
    ei, pi = n(E, "expanded_int32"), n(E, "packed_int32")
    add("repeated_encodings_mixed", E, fv(ei, 1) + packed_varints(ei, [2, -3]) + fv(ei, 4) +
        packed_varints(pi, [5, 6]) + fv(pi, -7) + packed_varints(pi, []) +
        fl(n(E, "expanded_double"), struct.pack("<dd", 1.5, -0.0)) + fd(n(E, "expanded_double"), 2.5) +
        fd(n(E, "packed_double"), float("inf")) + fl(n(E, "packed_double"), struct.pack("<d", 0.1)) +
        packed_varints(n(E, "expanded_sint64"), [-1, 2**62], zz) + fv(n(E, "expanded_sint64"), zz(INT64_MIN)) +
        f32(n(E, "packed_fixed32"), UINT32_MAX) + fl(n(E, "packed_fixed32"), struct.pack("<II", 0, 7)) +
        fv(n(E, "packed_bool"), 1) + packed_varints(n(E, "packed_bool"), [0, 2]),
        "EXPANDED (file) and PACKED (field) repeated fields, each sent both packed and expanded")
    add("repeated_encodings_extensions", E, packed_varints(1001, [1, 2]) + fv(1001, 3) + fv(1002, 4) + packed_varints(1002, [5]) +
        fv(1100, 6) + packed_varints(1100, [7, 8]) + fv(1501, 9) + packed_varints(1501, [10]),
        "repeated extensions (EXPANDED, PACKED, PACKED from a 2024 file, proto2 EXPANDED) sent both ways")
    add("repeated_encodings_2024", E24, fv(n(E24, "packed"), 1) + packed_varints(n(E24, "packed"), [2, 3]) +
        packed_varints(n(E24, "expanded"), [4, 5]) + fv(n(E24, "expanded"), 6),
        "edition 2024: PACKED default and EXPANDED field, each sent both ways")
    add("repeated_packed_bad_length", E, fl(n(E, "packed_fixed32"), b"\x01\x02\x03"),
        "PACKED fixed32 payload whose length is not a multiple of 4")
    add("repeated_expanded_truncated_packed", E, fl(ei, b"\x01\x80"),
        "EXPANDED field sent packed, payload ending inside a varint")
    # What the reference serializer writes: PACKED fields as one LEN record, EXPANDED per element.
    w = s.new(E, packed_int32=[1, 2], expanded_int32=[3, 4]).SerializePartialToString(deterministic=True)
    assert w == fv(ei, 3) + fv(ei, 4) + packed_varints(pi, [1, 2]), w

    # --- implicit vs explicit presence
    zeros = b"".join([
        fv(n(E, "implicit_int32"), 0), fv(n(E, "implicit_int64"), 0), fv(n(E, "implicit_uint32"), 0),
        fv(n(E, "implicit_uint64"), 0), fv(n(E, "implicit_sint32"), 0), fv(n(E, "implicit_sint64"), 0),
        f32(n(E, "implicit_fixed32"), 0), f64(n(E, "implicit_fixed64"), 0), f32(n(E, "implicit_sfixed32"), 0),
        f64(n(E, "implicit_sfixed64"), 0), ff(n(E, "implicit_float"), 0.0), fd(n(E, "implicit_double"), 0.0),
        fv(n(E, "implicit_bool"), 0), fl(n(E, "implicit_string"), ""), fl(n(E, "implicit_bytes"), b""),
        fv(n(E, "implicit_open_enum"), 0), fl(n(E, "implicit_string_unverified"), "")])
    add("implicit_zeros", E, zeros, "every IMPLICIT field explicitly encoded as 0 / empty: absent (printed only with --emit-defaults)")
    add("implicit_negative_zero", E, ff(n(E, "implicit_float"), -0.0) + fd(n(E, "implicit_double"), -0.0),
        "IMPLICIT float/double set to -0.0 on the wire")
    add("implicit_nonzero_then_zero", E, fv(n(E, "implicit_int32"), 5) + fv(n(E, "implicit_int32"), 0) +
        fl(n(E, "implicit_string"), "x") + fl(n(E, "implicit_string"), ""),
        "IMPLICIT fields: a value, then 0 / empty: last wins, absent")
    add("explicit_zeros", E, fv(n(E, "explicit_int32"), 0) + fl(n(E, "explicit_string"), "") + fl(n(E, "explicit_bytes"), b"") +
        fd(n(E, "explicit_double"), 0.0) + fv(n(E, "explicit_bool"), 0) + fv(n(E, "explicit_open_enum"), 0) +
        fv(n(E, "closed_enum"), 1) + fv(n(E, "nested_enum"), 0) + fv(n(E, "legacy_json_enum"), 0) + fv(1000, 0) + fl(1006, ""),
        "EXPLICIT fields (and extensions) set to 0 / empty / first enum value: present, printed")
    add("implicit_zeros_2024", E24, fv(n(E24, "implicit_int32"), 0) + fl(n(E24, "implicit_string"), "") +
        fv(n(E24, "explicit_int32"), 0) + fd(n(E24, "implicit_double"), 0.0) + fl(n(E24, "implicit_bytes"), b"") +
        fv(n(E24, "open"), 0) + fl(n(E24, "none_string"), ""),
        "edition 2024 file-level IMPLICIT zeros vs the EXPLICIT field's zero")
    add("empty_2023", E, b"", "empty Editions2023 message (LEGACY_REQUIRED field missing; --emit-defaults prints the IMPLICIT ones)")
    add("empty_2024", E24, b"", "empty Editions2024 message")
    add("empty_child_2024", E24, fg(n(E24, "delimited"), b"") + fl(n(E24, "lp"), b""),
        "empty DELIMITED and LENGTH_PREFIXED children whose fields are IMPLICIT")

    # --- LEGACY_REQUIRED
    rq = n(E, "required_int32")
    add("required_missing", E, fv(n(E, "explicit_int32"), 3), "LEGACY_REQUIRED field missing")
    add("required_missing_nested", E, fg(n(E, "recursive"), fv(n(E, "explicit_int32"), 4)) + fv(rq, 1),
        "LEGACY_REQUIRED field missing in a DELIMITED sub-message only")
    add("required_zero", E, fv(rq, 0), "LEGACY_REQUIRED field present with 0")

    # --- DELIMITED message fields
    dc, lc = n(E, "delimited_child"), n(E, "length_prefixed_child")
    dcs, lcs = n(E, "delimited_children"), n(E, "length_prefixed_children")
    add("delimited_singular", E, fg(dc, fv(1, 5) + fl(2, "x")) + fl(lc, fv(1, 6)),
        "DELIMITED (file-level) child as a group, LENGTH_PREFIXED (field-level) child as LEN")
    add("delimited_repeated", E, fg(dcs, fv(1, 1)) + fg(dcs, b"") + fg(dcs, fv(4, 2) + fv(4, 3)) +
        fl(lcs, fv(1, 4)) + fl(lcs, b""),
        "repeated DELIMITED children (incl. an empty one) and repeated LENGTH_PREFIXED children")
    add("delimited_nested", E, fg(dc, fg(3, fg(3, fv(1, 1)) + fv(1, 2) + fl(6, fg(3, fv(1, 3)) + fv(1, 4)))),
        "DELIMITED inside DELIMITED inside DELIMITED, and a LENGTH_PREFIXED child holding a DELIMITED one")
    rec = n(E, "recursive")
    add("delimited_recursive", E, fg(rec, fg(rec, fg(rec, fv(1, 7)) + fv(1, 6)) + fg(dc, fv(1, 1))) + fv(1, 5),
        "recursive DELIMITED field, three levels")
    deep = b""
    for i in range(40):
        deep = fg(rec, deep + fv(1, i))
    add("delimited_recursive_deep", E, deep, "recursive DELIMITED field, 40 levels")
    deep = b""
    for i in range(120):
        deep = fg(rec, deep)
    add("delimited_recursive_too_deep", E, deep, "recursive DELIMITED field, 120 levels (beyond the 100-level limit)")
    add("delimited_merge", E, fg(dc, fv(1, 1) + fv(4, 1)) + fg(dc, fl(2, "s") + fv(4, 2)),
        "singular DELIMITED child twice: merged")
    add("delimited_wrong_end", E, tag(dc, 3) + fv(1, 5) + tag(dc + 1, 4),
        "DELIMITED child closed by the END_GROUP of another field number")
    add("delimited_wrong_end_nested", E, fg(dc, tag(3, 3) + fv(1, 1) + tag(4, 4)),
        "nested DELIMITED grandchild closed by a wrong END_GROUP")
    add("delimited_unterminated", E, tag(dc, 3) + fv(1, 5),
        "DELIMITED child never closed")
    add("delimited_stray_end_group", E, fv(n(E, "explicit_int32"), 1) + tag(dc, 4),
        "END_GROUP tag at the top level without a start")
    add("delimited_sent_length_prefixed", E, fl(dc, fv(1, 5)) + fv(n(E, "explicit_int32"), 1),
        "DELIMITED field sent length-prefixed (wire type LEN)")
    add("length_prefixed_sent_delimited", E, fg(lc, fv(1, 5)) + fv(n(E, "explicit_int32"), 1),
        "LENGTH_PREFIXED field sent as a group (wire type START_GROUP)")
    add("delimited_repeated_sent_length_prefixed", E, fg(dcs, fv(1, 1)) + fl(dcs, fv(1, 2)) + fg(dcs, fv(1, 3)),
        "repeated DELIMITED field with one element sent length-prefixed in the middle")
    add("delimited_oneof", E, fg(n(E, "oneof_child"), fv(1, 1)) + fl(n(E, "oneof_lp_child"), fv(1, 2)) +
        fg(n(E, "oneof_child"), fv(1, 3)),
        "oneof: DELIMITED member, LENGTH_PREFIXED member, DELIMITED again: last wins, no merge")
    add("delimited_other_top_level", E, fg(n(E, "delimited_other"), fv(1, 1) + fg(3, fl(2, "n") + fg(3, b""))),
        "DELIMITED field of a top-level type, recursive through Other.next")
    add("map_value_as_group", E, fl(n(E, "map_child"), fl(1, "g") + fg(2, fv(1, 1))) +
        fl(n(E, "map_child"), fl(1, "l") + fl(2, fv(1, 2) + fg(3, fv(1, 3)))),
        "map<string, Child> in a DELIMITED file: map values stay length-prefixed; a value sent as a group")
    add("delimited_extensions", E, fg(1003, fv(1, 1) + fg(3, fv(1, 2))) + fl(1004, fv(1, 3)) +
        fg(1011, fv(1, 4)) + fg(1011, fv(1, 5)) + fl(1502, fv(1, 6)) + fg(1503, fv(1, 7)),
        "extensions: DELIMITED, LENGTH_PREFIXED, repeated DELIMITED (message-scoped), proto2 LEN and group extensions")
    add("delimited_extension_sent_length_prefixed", E, fl(1003, fv(1, 1)) + fg(1004, fv(1, 2)),
        "DELIMITED extension sent LEN, LENGTH_PREFIXED extension sent as a group")
    add("delimited_2024", E24, fg(n(E24, "delimited"), fv(1, 1) + fg(2, fv(1, 2) + fg(2, b""))) +
        fg(n(E24, "delimited_rep"), fv(1, 3)) + fg(n(E24, "delimited_rep"), b"") + fl(n(E24, "lp"), fg(2, fv(1, 4))) +
        fg(n(E24, "pick_delimited"), fl(3, "p")) + fg(102, fv(1, 5)),
        "edition 2024 DELIMITED fields (singular, repeated, recursive, oneof, extension)")
    add("delimited_2024_wrong_end", E24, tag(n(E24, "delimited"), 3) + fv(1, 1) + tag(n(E24, "delimited_rep"), 4),
        "edition 2024 DELIMITED field closed by a wrong END_GROUP")
    add("delimited_proto3_type", ED_USES_P3, fg(n(ED_USES_P3, "delimited_nested"), fv(1, 1) + fl(2, "b") + fl(3, fv(1, 2))),
        "DELIMITED field whose type is from a proto3 file (its own child stays LEN)")
    add("delimited_proto3_type_sent_length_prefixed", ED_USES_P3, fl(n(ED_USES_P3, "delimited_nested"), fv(1, 1)),
        "DELIMITED field of a proto3 type sent length-prefixed")
    add("proto2_uses_editions", ED_P2_USES, fl(n(ED_P2_USES, "child"), fv(1, 1) + fg(3, fv(1, 2))) +
        fg(n(ED_P2_USES, "grp"), fv(8, 3)) + fl(n(ED_P2_USES, "whole"), fg(dc, fv(1, 4)) + fv(rq, 1)),
        "proto2 fields of editions types: LEN there, the editions type's own fields DELIMITED inside")
    add("proto2_uses_editions_child_as_group", ED_P2_USES, fg(n(ED_P2_USES, "child"), fv(1, 1)),
        "proto2 LEN field of an editions type sent as a group")

    # --- UTF-8: VERIFY is a parse error; NONE parses, and the contract makes it an error
    # for that message (as for proto2 strings: ContractPrinter)
    add("utf8_verify_invalid", E, fl(n(E, "verified_string"), b"ok\xff"), "VERIFY (field) string with invalid UTF-8")
    add("utf8_none_invalid", E, fl(n(E, "explicit_string"), b"ok\xff"), "NONE (file) string with invalid UTF-8")
    add("utf8_none_surrogate", E, fl(n(E, "explicit_string"), b"\xed\xa0\x80"), "NONE string holding a CESU-encoded surrogate")
    add("utf8_none_overlong", E, fl(n(E, "explicit_string"), b"\xc0\xaf"), "NONE string holding an overlong encoding")
    add("utf8_none_overridden", E, fl(n(E, "explicit_string"), b"\xff") + fl(n(E, "explicit_string"), "ok"),
        "NONE string: invalid UTF-8, then overridden by a valid value")
    add("utf8_none_valid", E, fl(n(E, "explicit_string"), "\u00e9\U0001f600\x00") + fl(n(E, "repeated_string"), "r"),
        "NONE string holding valid UTF-8")
    add("utf8_none_in_bytes", E, fl(n(E, "explicit_bytes"), b"\xff") + fl(n(E, "cpp_cord_bytes"), b"\xfe"),
        "invalid UTF-8 in bytes fields (fine)")
    add("utf8_implicit_verify_invalid", E, fl(n(E, "implicit_string"), b"\xc3\x28"), "IMPLICIT + VERIFY string with invalid UTF-8")
    add("utf8_implicit_none_invalid", E, fl(n(E, "implicit_string_unverified"), b"\xff"), "IMPLICIT + NONE string with invalid UTF-8")
    add("utf8_repeated_none_invalid", E, fl(n(E, "repeated_string"), "fine") + fl(n(E, "repeated_string"), b"\x80"),
        "repeated NONE string with an invalid element")
    add("utf8_map_none_invalid_key", E, fl(n(E, "map_utf8_none"), fl(1, b"\xff") + fl(2, "v")), "map<string,string> under NONE, invalid key")
    add("utf8_map_none_invalid_value", E, fl(n(E, "map_utf8_none"), fl(1, "k") + fl(2, b"\xff")), "map<string,string> under NONE, invalid value")
    add("utf8_map_verify_invalid_key", E, fl(n(E, "map_utf8_verify"), fl(1, b"\xff") + fl(2, "v")), "map<string,string> under VERIFY, invalid key")
    add("utf8_map_verify_invalid_value", E, fl(n(E, "map_utf8_verify"), fl(1, "k") + fl(2, b"\xff")), "map<string,string> under VERIFY, invalid value")
    add("utf8_map_valid", E, fl(n(E, "map_utf8_none"), fl(1, "\u00e9") + fl(2, "v")) + fl(n(E, "map_utf8_verify"), fl(1, "") + fl(2, "\U0001f600")),
        "string maps under NONE and VERIFY with valid UTF-8")
    add("utf8_oneof_verify_invalid", E, fl(n(E, "oneof_string"), b"\xff"), "oneof VERIFY string with invalid UTF-8")
    add("utf8_oneof_none_invalid", E, fl(n(E, "oneof_unverified"), b"\xff"), "oneof NONE string with invalid UTF-8")
    add("utf8_oneof_none_invalid_overridden", E, fl(n(E, "oneof_unverified"), b"\xff") + fv(n(E, "oneof_int32"), 1),
        "oneof NONE string with invalid UTF-8, then another member")
    add("utf8_child_none_invalid", E, fg(dc, fl(2, b"\xff")), "NONE string inside a DELIMITED child")
    add("utf8_other_verify_invalid", E, fg(n(E, "delimited_other"), fl(2, b"\xff")), "VERIFY repeated string inside a DELIMITED child")
    add("utf8_cpp_view_none_invalid", E, fl(n(E, "cpp_view_string"), b"\xff"),
        "NONE string with features.(pb.cpp).string_type = VIEW (language feature, no effect)")
    add("utf8_extension_none_invalid", E, fl(1006, b"\xff"), "string extension under NONE (file) with invalid UTF-8")
    add("utf8_extension_verify_invalid", E, fl(1007, b"\xff"), "string extension under VERIFY (field) with invalid UTF-8")
    add("utf8_extension_2024_verify_invalid", E, fl(1101, b"\xff"), "string extension declared in the 2024 file (VERIFY) with invalid UTF-8")
    add("utf8_2024_implicit_verify_invalid", E24, fl(n(E24, "implicit_string"), b"\xff"), "edition 2024 VERIFY (default) string")
    add("utf8_2024_none_invalid", E24, fl(n(E24, "none_string"), b"\xff"), "edition 2024 NONE (field) string")
    add("utf8_2024_child_verify_invalid", E24, fg(n(E24, "delimited"), fl(3, b"\xff")), "edition 2024 VERIFY string in a DELIMITED child")
    add("utf8_editions_default_verify_invalid", ED_USES_P3, fl(n(ED_USES_P3, "s"), b"\xff"),
        "edition 2023 with no file features: VERIFY by default")
    add("utf8_proto2_uses_editions_invalid", ED_P2_USES, fl(n(ED_P2_USES, "s"), b"\xff"), "proto2 string (no check) in the mixed file")
    add("utf8_proto2_uses_editions_child_invalid", ED_P2_USES, fl(n(ED_P2_USES, "child"), fl(2, b"\xff")),
        "editions NONE string reached through a proto2 field")

    # --- extensions set through the API
    m = s.new(E, explicit_int32=1, required_int32=2)
    X = s.ext
    m.Extensions[X(ED + "ext_int32")] = -1
    m.Extensions[X(ED + "ext_expanded")].extend([1, 2])
    m.Extensions[X(ED + "ext_packed")].extend([3, -4])
    m.Extensions[X(ED + "ext_delimited_child")].a = 5
    m.Extensions[X(ED + "ext_delimited_child")].child.s = "deep"
    m.Extensions[X(ED + "ext_lp_child")].values.append(6)
    m.Extensions[X(ED + "ext_closed_enum")] = 2
    m.Extensions[X(ED + "ext_string_none")] = "none"
    m.Extensions[X(ED + "ext_string_verify")] = "verify"
    m.Extensions[X(ED + "ext_closed_packed")].extend([1, -3])
    m.Extensions[X(ED + "ExtScope.scoped_open_enum")] = 1
    m.Extensions[X(ED + "ExtScope.scoped_others")].add(x=7)
    m.Extensions[X(ED + "from2024_packed")].extend([8, 9])
    m.Extensions[X(ED + "from2024_verify")] = "v"
    m.Extensions[X(ED + "mixed.p2_ext_int32")] = 10
    m.Extensions[X(ED + "mixed.p2_ext_rep")].extend([11, 12])
    m.Extensions[X(ED + "mixed.p2_ext_other")].x = 13
    m.Extensions[X(ED + "mixed.p2extgroup")].g = 14
    data = enc(m)
    add("extensions_set", E, data, "every extension of Editions2023 set (2023, 2024, message-scoped and proto2 declarations)")
    m = s.new(E24, implicit_int32=1)
    m.Extensions[X(ED + "ext2024_int32")] = 0
    m.Extensions[X(ED + "ext2024_packed")].extend([1, 2])
    m.Extensions[X(ED + "ext2024_delimited")].a = 3
    add("extensions_set_2024", E24, enc(m), "Editions2024 extensions (a zero is present: extensions have explicit presence)")

    # --- message-level and oneof-level features (hand-built descriptor, see handbuilt_editions_fds)
    H = ED_HANDBUILT
    hd = hs.desc(H)
    assert not hd.fields_by_name["a"].has_presence and hd.fields_by_name["inner"].type == FieldDescriptor.TYPE_GROUP
    assert hd.fields_by_name["pick_inner"].type == FieldDescriptor.TYPE_MESSAGE

    def addh(name, data, note):
        return b.add("ed_handbuilt_" + name, hs, hrefs, H, [data], note=note)

    addh("implicit_zeros", fv(1, 0) + fl(2, "") + fv(6, 0),
         "message-level IMPLICIT: zeros absent")
    addh("expanded_packed", packed_varints(3, [1, 2]) + fv(3, 3) + fv(5, 4) + packed_varints(5, [5]),
         "message-level EXPANDED and a field-level PACKED override, each sent both ways")
    addh("delimited_inherited", fg(4, fv(1, 0) + fv(1, 1) + fg(4, fv(1, 2)) + fg(5, fv(1, 0) + packed_varints(2, [1]) + fv(2, 2))),
         "message-level DELIMITED inherited by the nested message's own field; the doubly nested message "
         "overrides presence (a zero is printed) and encoding (PACKED)")
    addh("delimited_sent_length_prefixed", fl(4, fv(1, 1)),
         "message-level DELIMITED field sent length-prefixed")
    addh("oneof_length_prefixed", fl(7, fv(1, 1) + fg(4, fv(1, 2))) + fv(8, 0),
         "oneof-level LENGTH_PREFIXED member (its nested field stays DELIMITED), then an int member set to 0 (oneof: present)")
    addh("oneof_member_sent_delimited", fg(7, fv(1, 1)),
         "oneof-level LENGTH_PREFIXED member sent as a group")
    addh("utf8_none_inherited", fl(2, b"\xff"), "message-level NONE string with invalid UTF-8")
    addh("utf8_none_nested", fg(4, fl(2, b"\xff")), "nested message inherits NONE: invalid UTF-8")
    addh("open_enum_unknown", fv(6, 9), "enum-level OPEN in a CLOSED file")
    addh("empty", b"", "empty message")

    # --- random messages of every editions type
    gen = Gen(s, rng, [])
    for type_name in ED_RANDOM_TYPES:
        short = type_name[len(ED):].replace(".", "_").lower()
        for i in range(20):
            m = s.new(type_name)
            density = rng.choice([0.0, 0.1, 0.2, 0.3, 0.45]) if i else 0.0
            gen.fill(m, 0, density)
            b.add("ed_random_%s_%03d" % (short, i), s, refs, type_name, [enc(m)],
                  note="random %s message (density %.2f)" % (type_name, density))

    # --- proto3 and its editions translation: the same bytes, the same JSON
    def pair(name, data, note):
        e3 = b.add("ed_pair_%s_p3" % name, s, refs, ED_P3, [data], note=note + " (proto3 original)")
        ee = b.add("ed_pair_%s_ed" % name, s, refs, ED_ED, [data], note=note + " (edition 2023 translation)")
        assert e3 == ee, "proto3 vs editions translation differ on %s:\n%s\n%s" % (name, e3, ee)

    P = lambda f: s.num(ED_P3, f)  # noqa: E731
    pair("zeros", b"".join(fv(P(f), 0) for f in ("i32", "i64", "u32", "u64", "s32", "s64", "b", "color")) +
         f32(P("f32"), 0) + f64(P("f64"), 0) + f32(P("sf32"), 0) + f64(P("sf64"), 0) + ff(P("fl"), 0.0) + fd(P("db"), 0.0) +
         fl(P("s"), "") + fl(P("by"), b"") + fv(P("opt_i32"), 0) + fl(P("opt_s"), "") + fv(P("opt_color"), 0) +
         fd(P("opt_db"), 0.0) + fl(P("opt_by"), b""),
         "implicit zeros (absent) and optional/explicit zeros (present)")
    pair("repeated_mixed", fv(P("rep_i32"), 1) + packed_varints(P("rep_i32"), [2, 3]) + packed_varints(P("rep_unpacked"), [-1, 4], zz) +
         fv(P("rep_unpacked"), zz(-5)) + packed_varints(P("rep_color"), [0, 1, 7]) + fv(P("rep_color"), 2) +
         fd(P("rep_db"), 1.5) + fl(P("rep_db"), struct.pack("<d", -2.0)),
         "packed and unpacked repeated fields sent both ways; unknown open-enum value")
    pair("enum_unknown", fv(P("color"), 9) + fv(P("opt_color"), -2) + fl(P("map_s_color"), fl(1, "k") + fv(2, 5)) + fv(P("oneof_color"), 6),
         "open enums with unknown values (singular, optional, map value, oneof)")
    pair("oneof_and_maps", fv(P("oneof_i32"), 0) + fl(P("oneof_nested"), fv(1, 1)) + fl(P("map_s_i32"), fl(1, "a") + fv(2, 0)) +
         fl(P("map_i32_nested"), fv(1, 3) + fl(2, fl(3, fv(1, 4)))) + fl(P("map_s_s"), fl(1, "") + fl(2, "")),
         "oneof switching and maps with default keys/values")
    pair("nested", fl(P("nested"), b"") + fl(P("rep_nested"), fv(1, 0)) + fl(P("rep_nested"), fl(3, fl(3, fv(1, 1)))),
         "empty nested message (present) and nested implicit fields")
    pair("utf8_invalid", fl(P("s"), b"\xff"), "invalid UTF-8 in a proto3 / VERIFY string")
    pair("utf8_invalid_map_key", fl(P("map_s_s"), fl(1, b"\xff") + fl(2, "v")), "invalid UTF-8 in a proto3 / VERIFY map key")
    pair("unknown_fields", fv(999, 1) + fl(P("nested"), fv(99, 2)) + fl(P("i32"), b"x"), "unknown fields and a wire-type mismatch")
    gen3 = Gen(s, rng, [])
    for i in range(20):
        m = s.new(ED_P3)
        density = rng.choice([0.05, 0.15, 0.3, 0.5]) if i else 0.0
        gen3.fill(m, 0, density)
        pair("random_%03d" % i, enc(m), "random message (density %.2f)" % density)

    # --- streams
    def rand_msgs(type_name, count, density):
        out = []
        for _ in range(count):
            m = s.new(type_name)
            gen.fill(m, 0, density)
            out.append(enc(m))
        return out

    b.add("ed_stream_varint_2023", s, refs, E, rand_msgs(E, 15, 0.2), "varint",
          note="15 random Editions2023 messages, varint framing")
    b.add("ed_stream_varint_gzip_2024", s, refs, E24, rand_msgs(E24, 15, 0.3), "varint", "gzip", ext="bin.gz",
          note="15 random Editions2024 messages, varint framing, gzip")
    b.add("ed_stream_fixed32_gzip_proto2_uses_editions", s, refs, ED_P2_USES, rand_msgs(ED_P2_USES, 10, 0.3), "fixed32", "gzip",
          ext="bin.gz", note="10 random Proto2UsesEditions messages, fixed32 framing, gzip")
    msgs = rand_msgs(E, 8, 0.15)
    msgs[2] = fv(n(E, "closed_enum"), 99) + fg(dc, fv(5, 98))  # fine: unknown closed-enum values
    msgs[5] = fl(n(E, "verified_string"), b"\xff")  # a parse error
    b.add("ed_stream_varint_bad_middle", s, refs, E, msgs, "varint",
          note="message 2 holds unknown closed-enum values (fine), message 5 invalid UTF-8 in a VERIFY string")
    msgs = rand_msgs(E, 6, 0.15)
    msgs[3] = tag(dc, 3) + fv(1, 1)  # group running to the end of its frame
    b.add("ed_stream_varint_gzip_unterminated_group", s, refs, E, msgs, "varint", "gzip", ext="bin.gz",
          note="message 3 has a DELIMITED field never closed inside its frame")


# ---------------------------------------------------------------------------


def write_json(path, doc):
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        json.dump(doc, fh, allow_nan=False, ensure_ascii=True, separators=(",", ":"))
        fh.write("\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--descriptors", required=True, help="FileDescriptorSet compiled from tests/schemas/")
    ap.add_argument("--out", required=True, help="output directory (tests/fixtures)")
    ap.add_argument("--example-descriptors", default=None,
                    help="directory holding acme_events_v1.binpb / acme_events_v2.binpb "
                         "(default: <out>/../../descriptors)")
    ap.add_argument("--editions-descriptors", default=None,
                    help="FileDescriptorSet (with imports) compiled by protoc from tests/schemas_editions/ "
                         "by tests/compile_editions.sh (default: <out>/editions.binpb)")
    args = ap.parse_args()

    out = args.out
    ex_dir = args.example_descriptors or os.path.join(out, "..", "..", "descriptors")
    desc_ref = os.path.relpath(os.path.abspath(args.descriptors), os.path.abspath(out))
    inputs = os.path.join(out, "inputs")
    if os.path.isdir(inputs):
        shutil.rmtree(inputs)
    os.makedirs(inputs)

    schema = Schema([args.descriptors])
    oracle = Oracle()
    b = Builder(out, oracle)
    refs = [desc_ref.replace(os.sep, "/")]
    random_cases(b, schema, refs, random.Random(SEED))
    stream_cases(b, schema, refs, random.Random(SEED + 1))
    wire_cases(b, schema, refs)
    example_cases(b, ex_dir, random.Random(SEED + 2))

    ed_path = args.editions_descriptors or os.path.join(out, "editions.binpb")
    if not os.path.exists(ed_path):
        raise SystemExit("missing %s (run tests/compile_editions.sh first)" % ed_path)
    ed_refs = [os.path.relpath(os.path.abspath(ed_path), os.path.abspath(out)).replace(os.sep, "/")]
    hb_path = os.path.join(out, "editions_handbuilt.binpb")
    with open(hb_path, "wb") as fh:
        fh.write(handbuilt_editions_fds().SerializeToString(deterministic=True))
    editions_cases(b, Schema([ed_path]), ed_refs, Schema([hb_path]), ["editions_handbuilt.binpb"],
                   random.Random(SEED + 3))

    # The cases are written in one file per name family (p2, p3, ed, ...): one file of all of
    # them was past 5 MiB. manifest.json names the parts in order.
    parts = {}
    for case in b.cases:
        parts.setdefault("cases-%s.json" % case["name"].split("_")[0], []).append(case)
    for old in os.listdir(out):
        if old.startswith("cases-") and old.endswith(".json") and old not in parts:
            os.remove(os.path.join(out, old))
    for name, cases in parts.items():
        write_json(os.path.join(out, name), {"cases": cases})
    write_json(os.path.join(out, "manifest.json"), {"flag_sets": FLAG_SETS, "parts": list(parts)})
    print("wrote %d cases to %s" % (len(b.cases), out), file=sys.stderr)


if __name__ == "__main__":
    main()
