//! The direct engine's writer: one pass over a message's wire bytes collects the
//! occurrences of its known fields, resolves oneofs, last-one-wins and merges as upb does,
//! and prints canonical JSON from them, recursing into sub-messages.

use super::plan::{FieldPlan, FieldType, Label, MessagePlan, Plans, Scalar, ScanCheck};
use super::wire::{err, read_fixed, read_varint, zigzag32, zigzag64, Result, MAX_FIELD_NUMBER};
use super::{json, JsonOptions, TranscodeErrorKind};

/// One occurrence of a known field on the wire.
#[derive(Debug, Clone, Copy)]
pub(super) struct Occ {
    /// Index into the message plan's `fields`.
    pub(super) field: u32,
    pub(super) wire: u8,
    /// Position among the message's known-field occurrences (wire order).
    pub(super) seq: u32,
    /// Varint / fixed value.
    pub(super) num: u64,
    /// Byte range of a length-delimited value or a group body.
    pub(super) start: usize,
    pub(super) end: usize,
}

impl Occ {
    pub(super) fn range(&self) -> (usize, usize) {
        (self.start, self.end)
    }
}

pub(super) struct Writer<'a> {
    pub(super) plans: &'a Plans,
    pub(super) buf: &'a [u8],
    pub(super) opts: JsonOptions,
    pub(super) max_depth: u32,
    pub(super) stack: Vec<Vec<Occ>>,
}

/// Writes `,` between members and the key.
#[inline]
pub(super) fn key(out: &mut Vec<u8>, first: &mut bool, key: &str) {
    if !*first {
        out.push(b',');
    }
    *first = false;
    out.extend_from_slice(key.as_bytes());
}

impl<'a> Writer<'a> {
    pub(super) fn depth_check(&self, depth: u32, offset: usize) -> Result<()> {
        if depth > self.max_depth {
            return Err(err(offset, TranscodeErrorKind::DepthLimit(self.max_depth)));
        }
        Ok(())
    }

    pub(super) fn take_slot(&mut self, depth: u32) -> Vec<Occ> {
        let d = depth as usize;
        if self.stack.len() <= d {
            self.stack.resize_with(d + 1, Vec::new);
        }
        let mut v = std::mem::take(&mut self.stack[d]);
        v.clear();
        v
    }

    pub(super) fn put_slot(&mut self, depth: u32, v: Vec<Occ>) {
        self.stack[depth as usize] = v;
    }

    /// Skips a group body whose start tag (field `number`) was just read; returns the
    /// position of its end-group tag.
    pub(super) fn skip_group(
        &self,
        pos: &mut usize,
        end: usize,
        number: u64,
        depth: u32,
    ) -> Result<usize> {
        self.depth_check(depth, *pos)?;
        loop {
            if *pos >= end {
                return Err(err(*pos, TranscodeErrorKind::UnterminatedGroup(number)));
            }
            let tag_pos = *pos;
            let tag = read_varint(self.buf, pos, end)?;
            let n = tag >> 3;
            if n == 0 || n > MAX_FIELD_NUMBER {
                return Err(err(tag_pos, TranscodeErrorKind::InvalidFieldNumber(n)));
            }
            match (tag & 7) as u8 {
                0 => {
                    read_varint(self.buf, pos, end)?;
                }
                1 => {
                    read_fixed::<8>(self.buf, pos, end)?;
                }
                2 => {
                    let len = read_varint(self.buf, pos, end)?;
                    if len > (end - *pos) as u64 {
                        return Err(err(tag_pos, TranscodeErrorKind::Truncated));
                    }
                    *pos += len as usize;
                }
                3 => {
                    self.skip_group(pos, end, n, depth + 1)?;
                }
                4 => {
                    if n == number {
                        let body_end = tag_pos;
                        return Ok(body_end);
                    }
                    return Err(err(tag_pos, TranscodeErrorKind::UnexpectedEndGroup(n)));
                }
                5 => {
                    read_fixed::<4>(self.buf, pos, end)?;
                }
                wt => return Err(err(tag_pos, TranscodeErrorKind::InvalidWireType(wt))),
            }
        }
    }

    /// Collects the known-field occurrences of a message spread over `chunks` (several
    /// chunks = occurrences of a singular message field, merged as protobuf merges them).
    /// Returns whether anything went to unknown fields.
    pub(super) fn scan(
        &self,
        plan: &MessagePlan,
        chunks: &[(usize, usize)],
        depth: u32,
        occs: &mut Vec<Occ>,
    ) -> Result<bool> {
        let buf = self.buf;
        let mut unknown = false;
        let mut seq = 0u32;
        // Whether the occurrences are already in field order (the usual case).
        let (mut sorted, mut last) = (true, 0u32);
        for &(start, end) in chunks {
            let mut pos = start;
            while pos < end {
                let tag_pos = pos;
                let tag = read_varint(buf, &mut pos, end)?;
                let number = tag >> 3;
                if number == 0 || number > MAX_FIELD_NUMBER {
                    return Err(err(tag_pos, TranscodeErrorKind::InvalidFieldNumber(number)));
                }
                let wt = (tag & 7) as u8;
                let (num, s, e) = match wt {
                    0 => (read_varint(buf, &mut pos, end)?, 0, 0),
                    1 => (read_fixed::<8>(buf, &mut pos, end)?, 0, 0),
                    2 => {
                        let len = read_varint(buf, &mut pos, end)?;
                        if len > (end - pos) as u64 {
                            return Err(err(tag_pos, TranscodeErrorKind::Truncated));
                        }
                        let s = pos;
                        pos += len as usize;
                        (0, s, pos)
                    }
                    3 => {
                        let s = pos;
                        let e = self.skip_group(&mut pos, end, number, depth + 1)?;
                        (0, s, e)
                    }
                    4 => return Err(err(tag_pos, TranscodeErrorKind::UnexpectedEndGroup(number))),
                    5 => (read_fixed::<4>(buf, &mut pos, end)?, 0, 0),
                    _ => return Err(err(tag_pos, TranscodeErrorKind::InvalidWireType(wt))),
                };
                let Some(fi) = plan.field_index(number as u32) else {
                    unknown = true;
                    continue;
                };
                let f = &plan.fields[fi];
                if f.wire_mask & (1 << wt) == 0 {
                    unknown = true;
                    continue;
                }
                match f.scan_check {
                    ScanCheck::None => {}
                    // Strings are length-delimited only (the mask let nothing else through).
                    ScanCheck::Utf8 => {
                        // proto3 checks every occurrence when parsing, also those a later
                        // one overrides (upb fails the whole message).
                        let bytes = &buf[s..e];
                        // Most strings are short and ASCII: the cheap test first.
                        if !bytes.is_ascii() && std::str::from_utf8(bytes).is_err() {
                            return Err(err(
                                s,
                                TranscodeErrorKind::InvalidUtf8 {
                                    field: format!("{}.{}", plan.full_name, field_name(f)),
                                },
                            ));
                        }
                    }
                    // A closed enum keeps unknown numbers out of the field (a packed run is
                    // filtered when it is read).
                    ScanCheck::ClosedEnum(en) => {
                        if wt == 0 && !self.plans.enums[en as usize].is_known(num as i32) {
                            unknown = true;
                            continue;
                        }
                    }
                }
                sorted &= fi as u32 >= last;
                last = fi as u32;
                occs.push(Occ {
                    field: fi as u32,
                    wire: wt,
                    seq,
                    num,
                    start: s,
                    end: e,
                });
                seq += 1;
            }
        }
        if plan.oneof_count > 0 && !occs.is_empty() {
            for loser in resolve_oneofs(plan, occs) {
                self.check_occurrence(plan, &loser, depth)?;
            }
        }
        if !sorted {
            // Stable: wire order within a field is kept (last one wins, repeated order).
            occs.sort_by_key(|o| o.field);
        }
        Ok(unknown)
    }

    /// Parses, without printing, a message that will not be printed (a oneof member set
    /// before another one, a map entry overridden or moved to the unknown fields): upb
    /// parses every sub-message as it reads it, so an error inside one (malformed bytes, a
    /// proto3 string that is not UTF-8, too deep) fails the whole message all the same.
    /// Rare, so it allocates freely.
    pub(super) fn check_message(&self, idx: u32, range: (usize, usize), depth: u32) -> Result<()> {
        self.depth_check(depth, range.0)?;
        let plan = &self.plans.messages[idx as usize];
        let mut occs = Vec::new();
        self.scan(plan, &[range], depth, &mut occs)?;
        for o in &occs {
            self.check_occurrence(plan, o, depth)?;
        }
        Ok(())
    }

    /// Checks what a discarded occurrence of a field of `plan` holds (see `check_message`).
    pub(super) fn check_occurrence(&self, plan: &MessagePlan, o: &Occ, depth: u32) -> Result<()> {
        let f = &plan.fields[o.field as usize];
        match f.ty {
            FieldType::Message(m) | FieldType::Group(m) if f.label == Label::Map => {
                let eplan = &self.plans.messages[m as usize];
                self.depth_check(depth + 1, o.start)?;
                let mut eoccs = Vec::new();
                self.scan(eplan, &[o.range()], depth + 1, &mut eoccs)?;
                for x in &eoccs {
                    self.check_occurrence(eplan, x, depth + 1)?;
                }
                Ok(())
            }
            FieldType::Message(m) | FieldType::Group(m) => {
                self.check_message(m, o.range(), depth + 1)
            }
            FieldType::Scalar(_) => Ok(()),
        }
    }

    pub(super) fn write_message(
        &mut self,
        idx: u32,
        chunks: &[(usize, usize)],
        depth: u32,
        out: &mut Vec<u8>,
    ) -> Result<()> {
        self.depth_check(depth, chunks.first().map_or(0, |c| c.0))?;
        let plan = &self.plans.messages[idx as usize];
        if let Some(w) = plan.wkt {
            return self.write_wkt(w, idx, chunks, depth, out);
        }
        out.push(b'{');
        self.write_fields(idx, chunks, depth, out, true)?;
        out.push(b'}');
        Ok(())
    }

    /// Writes the members of a message object (without braces). `first` says whether a
    /// member was already written before (for `Any`, which starts with `@type`).
    pub(super) fn write_fields(
        &mut self,
        idx: u32,
        chunks: &[(usize, usize)],
        depth: u32,
        out: &mut Vec<u8>,
        mut first: bool,
    ) -> Result<()> {
        let plans = self.plans;
        let plan = &plans.messages[idx as usize];
        let mut occs = self.take_slot(depth);
        self.scan(plan, chunks, depth, &mut occs)?;
        let emit_defaults = self.opts.emit_defaults;
        let mut i = 0;
        if emit_defaults {
            // Every field, in order: the unset ones print their defaults.
            for (fi, f) in plan.fields.iter().enumerate() {
                let start = i;
                while i < occs.len() && occs[i].field as usize == fi {
                    i += 1;
                }
                if start == i {
                    if !f.is_extension && f.label != Label::Explicit {
                        key(out, &mut first, f.key(self.opts.proto_field_names));
                        self.write_default(f, out);
                    }
                    continue;
                }
                self.write_field(plan, f, &occs[start..i], depth, out, &mut first)?;
            }
        } else {
            // Only the fields present: the occurrences, grouped by field, in field order.
            while i < occs.len() {
                let (start, fi) = (i, occs[i].field);
                while i < occs.len() && occs[i].field == fi {
                    i += 1;
                }
                let f = &plan.fields[fi as usize];
                self.write_field(plan, f, &occs[start..i], depth, out, &mut first)?;
            }
        }
        self.put_slot(depth, occs);
        Ok(())
    }

    /// Writes one field that has occurrences (`group`, in wire order) as a member, unless
    /// what they hold prints as nothing (an implicit default, a list of dropped elements).
    fn write_field(
        &mut self,
        plan: &MessagePlan,
        f: &FieldPlan,
        group: &[Occ],
        depth: u32,
        out: &mut Vec<u8>,
        first: &mut bool,
    ) -> Result<()> {
        let proto_names = self.opts.proto_field_names;
        let emit_defaults = self.opts.emit_defaults;
        match f.label {
            Label::Implicit | Label::Explicit => match f.ty {
                FieldType::Scalar(s) => {
                    let o = group[group.len() - 1];
                    if f.label == Label::Implicit && is_default(s, &o) && !emit_defaults {
                        return Ok(());
                    }
                    key(out, first, f.key(proto_names));
                    self.write_scalar(s, &o, plan, f, out)?;
                }
                FieldType::Message(m) | FieldType::Group(m) => {
                    key(out, first, f.key(proto_names));
                    if group.len() == 1 {
                        self.write_message(m, &[group[0].range()], depth + 1, out)?;
                    } else {
                        let ranges: Vec<(usize, usize)> = group.iter().map(Occ::range).collect();
                        self.write_message(m, &ranges, depth + 1, out)?;
                    }
                }
            },
            Label::Repeated => {
                let mark = out.len();
                let was_first = *first;
                key(out, first, f.key(proto_names));
                out.push(b'[');
                let n = self.write_elements(f, plan, group, depth, out)?;
                if n == 0 && !emit_defaults && !f.is_extension {
                    // Every element was dropped (closed enum) or packed runs were empty:
                    // the field is not set. (An extension seen on the wire is, even
                    // empty: upb lists it, and json_format prints `[]`.)
                    out.truncate(mark);
                    *first = was_first;
                    return Ok(());
                }
                out.push(b']');
            }
            Label::Map => {
                let FieldType::Message(entry) = f.ty else {
                    unreachable!("map fields are entry messages")
                };
                let mark = out.len();
                let was_first = *first;
                key(out, first, f.key(proto_names));
                let n = self.write_map(entry, group, depth, out)?;
                if n == 0 && !emit_defaults {
                    out.truncate(mark);
                    *first = was_first;
                }
            }
        }
        Ok(())
    }

    pub(super) fn write_elements(
        &mut self,
        f: &FieldPlan,
        plan: &MessagePlan,
        group: &[Occ],
        depth: u32,
        out: &mut Vec<u8>,
    ) -> Result<usize> {
        let mut n = 0;
        for o in group {
            match f.ty {
                FieldType::Scalar(s) if o.wire == 2 && s.packable() => {
                    let (buf, plans) = (self.buf, self.plans);
                    for_each_packed(buf, plans, s, f, o, |num| {
                        if n > 0 {
                            out.push(b',');
                        }
                        let el = Occ { num, ..*o };
                        self.write_scalar(s, &el, plan, f, out)?;
                        n += 1;
                        Ok(())
                    })?;
                }
                FieldType::Scalar(s) => {
                    if n > 0 {
                        out.push(b',');
                    }
                    self.write_scalar(s, o, plan, f, out)?;
                    n += 1;
                }
                FieldType::Message(m) | FieldType::Group(m) => {
                    if n > 0 {
                        out.push(b',');
                    }
                    self.write_message(m, &[o.range()], depth + 1, out)?;
                    n += 1;
                }
            }
        }
        Ok(n)
    }

    /// Writes a map as a JSON object; returns the number of entries written.
    pub(super) fn write_map(
        &mut self,
        entry: u32,
        group: &[Occ],
        depth: u32,
        out: &mut Vec<u8>,
    ) -> Result<usize> {
        let plans = self.plans;
        let eplan = &plans.messages[entry as usize];
        let (Some(ki), Some(vi)) = (eplan.field_index(1), eplan.field_index(2)) else {
            out.extend_from_slice(b"{}");
            return Ok(0);
        };
        let kf = &eplan.fields[ki];
        let vf = &eplan.fields[vi];
        // One buffer for every entry's key JSON and one for message values' chunks, so a
        // map costs a few allocations, not several per entry.
        struct Entry {
            key: (usize, usize),
            value: Option<Occ>,
            ranges: (usize, usize),
        }
        let mut entries: Vec<Entry> = Vec::with_capacity(group.len());
        let mut keys: Vec<u8> = Vec::with_capacity(group.len() * 8);
        let mut ranges: Vec<(usize, usize)> = Vec::new();
        // Duplicate keys (the last entry wins): a linear search for small maps, an index
        // past that.
        const LINEAR_MAX: usize = 16;
        let mut index: std::collections::HashMap<Vec<u8>, usize> = Default::default();
        for o in group {
            self.depth_check(depth + 1, o.start)?;
            let mut eoccs = self.take_slot(depth + 1);
            let had_unknown = self.scan(eplan, &[o.range()], depth + 1, &mut eoccs)?;
            if had_unknown {
                // upb moves an entry with anything unknown in it (a closed-enum miss, a
                // wire-type mismatch) to the unknown fields, whole; it parsed it first.
                for x in &eoccs {
                    self.check_occurrence(eplan, x, depth + 1)?;
                }
                self.put_slot(depth + 1, eoccs);
                continue;
            }
            let key_occ = eoccs.iter().rev().find(|x| x.field as usize == ki).copied();
            let FieldType::Scalar(ks) = kf.ty else {
                unreachable!("map keys are scalars")
            };
            let key_start = keys.len();
            self.write_map_key(ks, key_occ.as_ref(), eplan, kf, &mut keys)?;
            let key = (key_start, keys.len());
            let mut value = None;
            let ranges_start = ranges.len();
            match vf.ty {
                FieldType::Scalar(_) => {
                    value = eoccs.iter().rev().find(|x| x.field as usize == vi).copied()
                }
                FieldType::Message(_) | FieldType::Group(_) => {
                    ranges.extend(
                        eoccs
                            .iter()
                            .filter(|x| x.field as usize == vi)
                            .map(Occ::range),
                    );
                }
            }
            self.put_slot(depth + 1, eoccs);
            let e = Entry {
                key,
                value,
                ranges: (ranges_start, ranges.len()),
            };
            let key_bytes = &keys[key.0..key.1];
            let existing = if entries.len() < LINEAR_MAX {
                entries
                    .iter()
                    .position(|x| &keys[x.key.0..x.key.1] == key_bytes)
            } else {
                if index.is_empty() {
                    for (at, x) in entries.iter().enumerate() {
                        index.insert(keys[x.key.0..x.key.1].to_vec(), at);
                    }
                }
                index.get(key_bytes).copied()
            };
            match existing {
                Some(at) => {
                    // The overridden entry's message value is not printed: parse it anyway.
                    if let FieldType::Message(m) | FieldType::Group(m) = vf.ty {
                        let (from, to) = entries[at].ranges;
                        for &r in &ranges[from..to] {
                            self.check_message(m, r, depth + 2)?;
                        }
                    }
                    entries[at] = e;
                }
                None => {
                    if !index.is_empty() {
                        index.insert(key_bytes.to_vec(), entries.len());
                    }
                    entries.push(e);
                }
            }
        }
        out.push(b'{');
        for (n, e) in entries.iter().enumerate() {
            if n > 0 {
                out.push(b',');
            }
            out.extend_from_slice(&keys[e.key.0..e.key.1]);
            out.push(b':');
            match vf.ty {
                FieldType::Scalar(s) => match &e.value {
                    Some(o) => self.write_scalar(s, o, eplan, vf, out)?,
                    None => self.write_scalar_default(s, out),
                },
                FieldType::Message(m) | FieldType::Group(m) => {
                    self.write_message(m, &ranges[e.ranges.0..e.ranges.1], depth + 2, out)?;
                }
            }
        }
        out.push(b'}');
        Ok(entries.len())
    }

    pub(super) fn write_map_key(
        &self,
        s: Scalar,
        o: Option<&Occ>,
        plan: &MessagePlan,
        f: &FieldPlan,
        out: &mut Vec<u8>,
    ) -> Result<()> {
        let num = o.map_or(0, |o| o.num);
        match s {
            Scalar::String { .. } => match o {
                Some(o) => self.write_scalar(s, o, plan, f, out)?,
                None => out.extend_from_slice(b"\"\""),
            },
            Scalar::Bool => {
                out.extend_from_slice(if num != 0 { b"\"true\"" } else { b"\"false\"" })
            }
            Scalar::Int32 | Scalar::Sfixed32 => json::write_int_quoted(out, num as i32),
            Scalar::Sint32 => json::write_int_quoted(out, zigzag32(num)),
            Scalar::Uint32 | Scalar::Fixed32 => json::write_int_quoted(out, num as u32),
            Scalar::Int64 | Scalar::Sfixed64 => json::write_int_quoted(out, num as i64),
            Scalar::Sint64 => json::write_int_quoted(out, zigzag64(num)),
            Scalar::Uint64 | Scalar::Fixed64 => json::write_int_quoted(out, num),
            // Not valid map key kinds; printed like values for robustness.
            _ => json::write_int_quoted(out, num),
        }
        Ok(())
    }

    pub(super) fn write_scalar(
        &self,
        s: Scalar,
        o: &Occ,
        plan: &MessagePlan,
        f: &FieldPlan,
        out: &mut Vec<u8>,
    ) -> Result<()> {
        match s {
            Scalar::Double => json::write_f64(out, f64::from_bits(o.num)),
            Scalar::Float => json::write_f32(out, f32::from_bits(o.num as u32)),
            Scalar::Int64 | Scalar::Sfixed64 => json::write_int_quoted(out, o.num as i64),
            Scalar::Uint64 | Scalar::Fixed64 => json::write_int_quoted(out, o.num),
            Scalar::Sint64 => json::write_int_quoted(out, zigzag64(o.num)),
            Scalar::Int32 | Scalar::Sfixed32 => json::write_int(out, o.num as i32),
            Scalar::Uint32 | Scalar::Fixed32 => json::write_int(out, o.num as u32),
            Scalar::Sint32 => json::write_int(out, zigzag32(o.num)),
            Scalar::Bool => out.extend_from_slice(if o.num != 0 { b"true" } else { b"false" }),
            Scalar::String { .. } => {
                if json::write_utf8(out, &self.buf[o.start..o.end]).is_err() {
                    return Err(err(
                        o.start,
                        TranscodeErrorKind::InvalidUtf8 {
                            field: format!("{}.{}", plan.full_name, field_name(f)),
                        },
                    ));
                }
            }
            Scalar::Bytes => json::write_base64(out, &self.buf[o.start..o.end]),
            Scalar::Enum(e) => self.write_enum(e, o.num as i32, out),
        }
        Ok(())
    }

    pub(super) fn write_enum(&self, e: u32, n: i32, out: &mut Vec<u8>) {
        let en = &self.plans.enums[e as usize];
        if en.null_value {
            out.extend_from_slice(b"null");
        } else if self.opts.enum_numbers {
            json::write_int(out, n);
        } else if let Some(name) = en.name(n) {
            out.extend_from_slice(name.as_bytes());
        } else {
            // Open enums keep unknown numbers and print them as numbers.
            json::write_int(out, n);
        }
    }

    pub(super) fn write_scalar_default(&self, s: Scalar, out: &mut Vec<u8>) {
        match s {
            Scalar::Double | Scalar::Float => out.extend_from_slice(b"0.0"),
            Scalar::Int64
            | Scalar::Sfixed64
            | Scalar::Uint64
            | Scalar::Fixed64
            | Scalar::Sint64 => out.extend_from_slice(b"\"0\""),
            Scalar::Int32
            | Scalar::Sfixed32
            | Scalar::Uint32
            | Scalar::Fixed32
            | Scalar::Sint32 => out.push(b'0'),
            Scalar::Bool => out.extend_from_slice(b"false"),
            Scalar::String { .. } | Scalar::Bytes => out.extend_from_slice(b"\"\""),
            Scalar::Enum(e) => self.write_enum(e, 0, out),
        }
    }

    /// The value `--emit-defaults` prints for a field without presence that is unset.
    pub(super) fn write_default(&self, f: &FieldPlan, out: &mut Vec<u8>) {
        match f.label {
            Label::Repeated => out.extend_from_slice(b"[]"),
            Label::Map => out.extend_from_slice(b"{}"),
            _ => match f.ty {
                FieldType::Scalar(s) => self.write_scalar_default(s, out),
                // Message fields always have presence; kept total for safety.
                FieldType::Message(_) | FieldType::Group(_) => out.extend_from_slice(b"null"),
            },
        }
    }
}

/// Calls `each` with the values of one packed run `o` of field `f`, in order, leaving out
/// the numbers a closed enum does not declare (they go to the unknown fields).
pub(super) fn for_each_packed(
    buf: &[u8],
    plans: &Plans,
    s: Scalar,
    f: &FieldPlan,
    o: &Occ,
    mut each: impl FnMut(u64) -> Result<()>,
) -> Result<()> {
    let size = match s.wire_type() {
        1 => 8,
        5 => 4,
        _ => 0,
    };
    if size > 0 && (o.end - o.start) % size != 0 {
        return Err(err(o.start, TranscodeErrorKind::BadPackedLength(f.number)));
    }
    let closed = match s {
        Scalar::Enum(e) => Some(&plans.enums[e as usize]).filter(|en| en.closed),
        _ => None,
    };
    let mut pos = o.start;
    while pos < o.end {
        let num = match size {
            8 => read_fixed::<8>(buf, &mut pos, o.end)?,
            4 => read_fixed::<4>(buf, &mut pos, o.end)?,
            _ => read_varint(buf, &mut pos, o.end)?,
        };
        if closed.is_some_and(|en| !en.is_known(num as i32)) {
            continue;
        }
        each(num)?;
    }
    Ok(())
}

pub(super) fn field_name(f: &FieldPlan) -> &str {
    f.proto_key.trim_end_matches(':').trim_matches('"')
}

/// Whether a singular implicit-presence value is the default (so not printed). Only +0.0
/// is a default: `-0.0` has bits set, as upb decides presence.
pub(super) fn is_default(s: Scalar, o: &Occ) -> bool {
    match s {
        Scalar::Double
        | Scalar::Int64
        | Scalar::Uint64
        | Scalar::Fixed64
        | Scalar::Sfixed64
        | Scalar::Sint64
        | Scalar::Bool => o.num == 0,
        Scalar::Float
        | Scalar::Int32
        | Scalar::Fixed32
        | Scalar::Uint32
        | Scalar::Sfixed32
        | Scalar::Sint32
        | Scalar::Enum(_) => o.num as u32 == 0,
        Scalar::String { .. } | Scalar::Bytes => o.start == o.end,
    }
}

/// Keeps, for each oneof, only the member set last, and of a message member only the
/// occurrences after the last switch (setting another member clears it).
/// Returns the dropped occurrences of message-typed members (to be checked).
pub(super) fn resolve_oneofs(plan: &MessagePlan, occs: &mut Vec<Occ>) -> Vec<Occ> {
    let mut losers = Vec::new();
    // (field, seq of the switch to it) per oneof; on the stack for the usual few oneofs.
    let mut small = [(u32::MAX, 0u32); 8];
    let mut large = Vec::new();
    let winners: &mut [(u32, u32)] = if usize::from(plan.oneof_count) <= small.len() {
        &mut small[..]
    } else {
        large.resize(usize::from(plan.oneof_count), (u32::MAX, 0));
        &mut large[..]
    };
    let mut any = false;
    for o in occs.iter() {
        if let Some(k) = plan.fields[o.field as usize].oneof {
            any = true;
            let w = &mut winners[usize::from(k)];
            if w.0 != o.field {
                *w = (o.field, o.seq);
            }
        }
    }
    if any {
        occs.retain(|o| match plan.fields[o.field as usize].oneof {
            Some(k) => {
                let w = winners[usize::from(k)];
                let keep = w.0 == o.field && o.seq >= w.1;
                if !keep && !matches!(plan.fields[o.field as usize].ty, FieldType::Scalar(_)) {
                    losers.push(*o);
                }
                keep
            }
            None => true,
        });
    }
    losers
}
