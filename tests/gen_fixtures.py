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
``descriptors/acme_events_v2.binpb`` (see ``--example-descriptors``).

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
       is neither the string nor anything another runtime prints).
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


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--descriptors", required=True, help="FileDescriptorSet compiled from tests/schemas/")
    ap.add_argument("--out", required=True, help="output directory (tests/fixtures)")
    ap.add_argument("--example-descriptors", default=None,
                    help="directory holding acme_events_v1.binpb / acme_events_v2.binpb "
                         "(default: <out>/../../descriptors)")
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

    manifest = {"flag_sets": FLAG_SETS, "cases": b.cases}
    with open(os.path.join(out, "manifest.json"), "w", encoding="utf-8", newline="\n") as fh:
        json.dump(manifest, fh, allow_nan=False, ensure_ascii=True, separators=(",", ":"))
        fh.write("\n")
    print("wrote %d cases to %s" % (len(b.cases), out), file=sys.stderr)


if __name__ == "__main__":
    main()
