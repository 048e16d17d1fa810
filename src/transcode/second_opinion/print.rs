//! The printer behind prost-reflect's decoder: canonical JSON from a `DynamicMessage`,
//! with the contract's corners that prost-reflect's serde does not follow.

use super::*;

/// Writes canonical proto3 JSON from a decoded message.
pub(super) struct Printer<'o> {
    pub(super) opts: &'o JsonOptions,
    pub(super) max_depth: u32,
}

/// Whether a value of a field without presence is its default (so not printed); `-0.0`
/// is not a default, as upb decides presence by bits.
fn is_default(v: &Value) -> bool {
    match v {
        Value::Bool(b) => !b,
        Value::I32(n) => *n == 0,
        Value::I64(n) => *n == 0,
        Value::U32(n) => *n == 0,
        Value::U64(n) => *n == 0,
        Value::F32(x) => x.to_bits() == 0,
        Value::F64(x) => x.to_bits() == 0,
        Value::String(s) => s.is_empty(),
        Value::Bytes(b) => b.is_empty(),
        Value::EnumNumber(n) => *n == 0,
        Value::Message(_) => false,
        Value::List(l) => l.is_empty(),
        Value::Map(m) => m.is_empty(),
    }
}

impl Printer<'_> {
    pub(super) fn message(
        &self,
        msg: &DynamicMessage,
        depth: u32,
        out: &mut Vec<u8>,
    ) -> Result<()> {
        let desc = msg.descriptor();
        if Wkt::from_name(desc.full_name()).is_some() {
            return self.well_known(msg, depth, out);
        }
        out.push(b'{');
        self.fields(msg, depth, out, true)?;
        out.push(b'}');
        Ok(())
    }

    fn key(&self, out: &mut Vec<u8>, first: &mut bool, name: &str) {
        if !*first {
            out.push(b',');
        }
        *first = false;
        json::write_str(out, name);
        out.push(b':');
    }

    /// Writes the members of `msg` (no braces); `first` says whether none was written yet.
    fn fields(
        &self,
        msg: &DynamicMessage,
        depth: u32,
        out: &mut Vec<u8>,
        mut first: bool,
    ) -> Result<()> {
        let desc = msg.descriptor();
        let mut fields: Vec<FieldDescriptor> = desc.fields().collect();
        fields.sort_by_key(FieldDescriptor::number);
        for f in &fields {
            let value = msg.get_field(f);
            let present = if f.supports_presence() {
                msg.has_field(f)
            } else {
                !is_default(&value)
            };
            // Unset: printed only with --emit-defaults, and only for fields without presence.
            let print_default = self.opts.emit_defaults && !f.supports_presence();
            if !present && !print_default {
                continue;
            }
            let name = if self.opts.proto_field_names {
                f.name()
            } else {
                f.json_name()
            };
            self.key(out, &mut first, name);
            self.value(&f.kind(), &value, depth, out)?;
        }
        let mut extensions: Vec<_> = msg.extensions().collect();
        extensions.sort_by_key(|(x, _)| x.number());
        for (x, value) in extensions {
            self.key(out, &mut first, &format!("[{}]", x.full_name()));
            self.value(&x.kind(), value, depth, out)?;
        }
        // A repeated extension seen on the wire but left empty: upb lists it.
        let mut noted = empty_extension_notes(msg);
        noted.sort_unstable();
        noted.dedup();
        for number in noted {
            if let Some(x) = desc.get_extension(number) {
                if !msg.has_extension(&x) {
                    self.key(out, &mut first, &format!("[{}]", x.full_name()));
                    out.extend_from_slice(b"[]");
                }
            }
        }
        Ok(())
    }

    fn value(&self, kind: &Kind, v: &Value, depth: u32, out: &mut Vec<u8>) -> Result<()> {
        match v {
            Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
            Value::I32(n) => json::write_int(out, *n),
            Value::U32(n) => json::write_int(out, *n),
            Value::I64(n) => json::write_int_quoted(out, *n),
            Value::U64(n) => json::write_int_quoted(out, *n),
            Value::F32(x) => json::write_f32(out, *x),
            Value::F64(x) => json::write_f64(out, *x),
            Value::String(s) if s == INVALID_UTF8 => return Err(invalid_utf8()),
            Value::String(s) => json::write_str(out, s),
            Value::Bytes(b) => json::write_base64(out, b),
            Value::EnumNumber(n) => match kind {
                Kind::Enum(e) => self.enum_value(e, *n, out),
                _ => json::write_int(out, *n),
            },
            Value::Message(m) => self.message(m, depth + 1, out)?,
            Value::List(items) => {
                out.push(b'[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    self.value(kind, item, depth, out)?;
                }
                out.push(b']');
            }
            Value::Map(entries) => {
                let Kind::Message(entry) = kind else {
                    unreachable!("map fields are entry messages")
                };
                let value_kind = entry.get_field(2).map(|f| f.kind()).unwrap_or(Kind::Bool);
                out.push(b'{');
                for (i, (k, item)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    match k {
                        MapKey::Bool(b) => {
                            out.extend_from_slice(if *b { b"\"true\"" } else { b"\"false\"" })
                        }
                        MapKey::I32(n) => json::write_int_quoted(out, *n),
                        MapKey::I64(n) => json::write_int_quoted(out, *n),
                        MapKey::U32(n) => json::write_int_quoted(out, *n),
                        MapKey::U64(n) => json::write_int_quoted(out, *n),
                        MapKey::String(s) if s == INVALID_UTF8 => return Err(invalid_utf8()),
                        MapKey::String(s) => json::write_str(out, s),
                    }
                    out.push(b':');
                    // Entry values sit one level below the entry.
                    self.value(&value_kind, item, depth + 1, out)?;
                }
                out.push(b'}');
            }
        }
        Ok(())
    }

    fn enum_value(&self, e: &EnumDescriptor, n: i32, out: &mut Vec<u8>) {
        if e.full_name() == "google.protobuf.NullValue" {
            out.extend_from_slice(b"null");
        } else if self.opts.enum_numbers {
            json::write_int(out, n);
        } else if let Some(v) = e
            .enum_descriptor_proto()
            .value
            .iter()
            .find(|v| v.number() == n)
        {
            // The first declared name of an aliased number, as json_format prints it
            // (`values()` is not in declaration order).
            json::write_str(out, v.name());
        } else {
            json::write_int(out, n);
        }
    }

    /// The special JSON forms of the well-known types (`Wkt`).
    fn well_known(&self, msg: &DynamicMessage, depth: u32, out: &mut Vec<u8>) -> Result<()> {
        let desc = msg.descriptor();
        let field =
            |n: u32| -> Option<Cow<'_, Value>> { desc.get_field(n).map(|f| msg.get_field(&f)) };
        let int = |n: u32| -> i64 {
            match field(n).as_deref() {
                Some(Value::I64(v)) => *v,
                Some(Value::I32(v)) => i64::from(*v),
                _ => 0,
            }
        };
        let Some(wkt) = Wkt::from_name(desc.full_name()) else {
            unreachable!(
                "{} is not a well-known type with a JSON form",
                desc.full_name()
            )
        };
        match wkt {
            Wkt::Timestamp => {
                let (seconds, nanos) = (int(1), int(2));
                if !(wkt::TIMESTAMP_MIN_SECONDS..=wkt::TIMESTAMP_MAX_SECONDS).contains(&seconds)
                    || !(0..1_000_000_000).contains(&nanos)
                {
                    return Err(err(
                        0,
                        TranscodeErrorKind::Unrepresentable(format!(
                            "Timestamp {{seconds: {seconds}, nanos: {nanos}}} is outside 0001-01-01..9999-12-31 or has invalid nanos"
                        )),
                    ));
                }
                wkt::write_timestamp(out, seconds, nanos as i32);
            }
            Wkt::Duration => {
                let (seconds, nanos) = (int(1), int(2));
                if !(-wkt::DURATION_MAX_SECONDS..=wkt::DURATION_MAX_SECONDS).contains(&seconds)
                    || nanos.abs() >= 1_000_000_000
                    || (nanos < 0 && seconds > 0)
                    || (nanos > 0 && seconds < 0)
                {
                    return Err(err(
                        0,
                        TranscodeErrorKind::Unrepresentable(format!(
                            "Duration {{seconds: {seconds}, nanos: {nanos}}} is out of range or its signs differ"
                        )),
                    ));
                }
                wkt::write_duration(out, seconds, nanos as i32);
            }
            Wkt::Wrapper => match desc.get_field(1) {
                Some(f) => self.value(&f.kind(), &msg.get_field(&f), depth, out)?,
                None => out.extend_from_slice(b"null"),
            },
            Wkt::FieldMask => {
                let mut joined = String::new();
                if let Some(Value::List(paths)) = field(1).as_deref() {
                    for (i, p) in paths.iter().enumerate() {
                        if i > 0 {
                            joined.push(',');
                        }
                        let path = p.as_str().unwrap_or_default();
                        wkt::snake_to_camel(path, &mut joined)
                            .map_err(|m| err(0, TranscodeErrorKind::Unrepresentable(m)))?;
                    }
                }
                json::write_str(out, &joined);
            }
            Wkt::Struct => match desc.get_field(1) {
                Some(f) => self.value(&f.kind(), &msg.get_field(&f), depth, out)?,
                None => out.extend_from_slice(b"{}"),
            },
            Wkt::ListValue => match desc.get_field(1) {
                Some(f) => self.value(&f.kind(), &msg.get_field(&f), depth, out)?,
                None => out.extend_from_slice(b"[]"),
            },
            Wkt::Value => {
                let set = desc.fields().find(|f| msg.has_field(f));
                match set {
                    None => out.extend_from_slice(b"null"),
                    Some(f) => {
                        let v = msg.get_field(&f);
                        if let (2, Value::F64(x)) = (f.number(), v.as_ref()) {
                            if !x.is_finite() {
                                return Err(err(
                                    0,
                                    TranscodeErrorKind::Unrepresentable(format!(
                                        "Value.number_value {x} has no JSON form (it would read back as a string)"
                                    )),
                                ));
                            }
                        }
                        self.value(&f.kind(), &v, depth, out)?;
                    }
                }
            }
            Wkt::Any => {
                let type_url = match field(1).as_deref() {
                    Some(Value::String(s)) => s.clone(),
                    _ => String::new(),
                };
                let value = match field(2).as_deref() {
                    Some(Value::Bytes(b)) => b.clone(),
                    _ => Default::default(),
                };
                if type_url.is_empty() && value.is_empty() {
                    out.extend_from_slice(b"{}");
                    return Ok(());
                }
                let name = type_url.rsplit('/').next().unwrap_or("");
                // prost-reflect also finds ".pkg.Msg"; the reference looks names up exactly.
                let found = match name.strip_prefix('.') {
                    Some(_) => None,
                    None => desc.parent_pool().get_message_by_name(name),
                };
                let Some(inner_desc) = found else {
                    return Err(err(0, TranscodeErrorKind::AnyTypeNotFound(type_url)));
                };
                let inner = decode(&inner_desc, &value, 0, depth + 1, self.max_depth)?;
                out.extend_from_slice(b"{\"@type\":");
                json::write_str(out, &type_url);
                if Wkt::from_name(inner_desc.full_name()).is_some() {
                    out.extend_from_slice(b",\"value\":");
                    self.message(&inner, depth + 1, out)?;
                } else {
                    self.fields(&inner, depth + 1, out, false)?;
                }
                out.push(b'}');
            }
        }
        Ok(())
    }
}
