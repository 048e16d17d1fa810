//! Well-known types in their special JSON forms, as `json_format` prints them.

use super::json;
use super::plan::{FieldType, Label, MessagePlan, Scalar, Wkt};
use super::wire::{err, Result};
use super::writer::{Occ, Writer};
use super::TranscodeErrorKind;

/// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z.
pub(super) const TIMESTAMP_MIN_SECONDS: i64 = -62_135_596_800;
pub(super) const TIMESTAMP_MAX_SECONDS: i64 = 253_402_300_799;
/// 10,000 years.
pub(super) const DURATION_MAX_SECONDS: i64 = 315_576_000_000;

impl Writer<'_> {
    pub(super) fn write_wkt(
        &mut self,
        wkt: Wkt,
        idx: u32,
        chunks: &[(usize, usize)],
        depth: u32,
        out: &mut Vec<u8>,
    ) -> Result<()> {
        let plans = self.plans;
        let plan = &plans.messages[idx as usize];
        let at = chunks.first().map_or(0, |c| c.0);
        let mut occs = self.take_slot(depth);
        self.scan(plan, chunks, depth, &mut occs)?;
        let last = |number: u32| -> Option<Occ> {
            let fi = plan.field_index(number)?;
            occs.iter().rev().find(|o| o.field as usize == fi).copied()
        };
        match wkt {
            Wkt::Timestamp => {
                let seconds = last(1).map_or(0, |o| o.num as i64);
                let nanos = last(2).map_or(0, |o| o.num as i32);
                check_timestamp(seconds, nanos, at)?;
                write_timestamp(out, seconds, nanos);
            }
            Wkt::Duration => {
                let seconds = last(1).map_or(0, |o| o.num as i64);
                let nanos = last(2).map_or(0, |o| o.num as i32);
                check_duration(seconds, nanos, at)?;
                write_duration(out, seconds, nanos);
            }
            Wkt::Wrapper => {
                let fi = plan.field_index(1);
                let f = fi.map(|i| &plan.fields[i]);
                match (f, last(1)) {
                    (Some(f), Some(o)) => {
                        let FieldType::Scalar(s) = f.ty else {
                            unreachable!("wrapper value is a scalar")
                        };
                        self.write_scalar(s, &o, plan, f, out)?;
                    }
                    (Some(f), None) => {
                        if let FieldType::Scalar(s) = f.ty {
                            self.write_scalar_default(s, out);
                        }
                    }
                    (None, _) => out.extend_from_slice(b"null"),
                }
            }
            Wkt::FieldMask => {
                let joined = self.field_mask_text(plan, &occs)?;
                json::write_str(out, &joined);
            }
            Wkt::Struct => {
                let fi = plan.field_index(1);
                match fi.map(|i| (i, &plan.fields[i])) {
                    Some((i, f)) if f.label == Label::Map => {
                        let FieldType::Message(entry) = f.ty else {
                            unreachable!()
                        };
                        let start = occs.iter().position(|o| o.field as usize == i);
                        let group: Vec<Occ> = match start {
                            Some(s) => occs[s..]
                                .iter()
                                .take_while(|o| o.field as usize == i)
                                .copied()
                                .collect(),
                            None => Vec::new(),
                        };
                        self.write_map(entry, &group, depth, out)?;
                    }
                    _ => out.extend_from_slice(b"{}"),
                }
            }
            Wkt::ListValue => {
                out.push(b'[');
                if let Some(fi) = plan.field_index(1) {
                    let group: Vec<Occ> = occs
                        .iter()
                        .filter(|o| o.field as usize == fi)
                        .copied()
                        .collect();
                    let f = &plan.fields[fi];
                    self.write_elements(f, plan, &group, depth, out)?;
                }
                out.push(b']');
            }
            Wkt::Value => {
                // The oneof is resolved by scan(): what is left is the last member set.
                match occs.last().copied() {
                    None => out.extend_from_slice(b"null"),
                    Some(o) => {
                        let f = &plan.fields[o.field as usize];
                        match (f.number, f.ty) {
                            (2, FieldType::Scalar(Scalar::Double)) => {
                                let v = f64::from_bits(o.num);
                                if !v.is_finite() {
                                    return Err(err(
                                        at,
                                        TranscodeErrorKind::Unrepresentable(format!(
                                            "Value.number_value {v} has no JSON form (it would read back as a string)"
                                        )),
                                    ));
                                }
                                json::write_f64(out, v);
                            }
                            (_, FieldType::Scalar(s)) => self.write_scalar(s, &o, plan, f, out)?,
                            (_, FieldType::Message(m) | FieldType::Group(m)) => {
                                let ranges: Vec<(usize, usize)> = occs
                                    .iter()
                                    .filter(|x| x.field == o.field)
                                    .map(Occ::range)
                                    .collect();
                                self.write_message(m, &ranges, depth + 1, out)?;
                            }
                        }
                    }
                }
            }
            Wkt::Any => {
                let type_url = match last(1) {
                    Some(o) => std::str::from_utf8(&self.buf[o.start..o.end]).map_err(|_| {
                        err(
                            o.start,
                            TranscodeErrorKind::InvalidUtf8 {
                                field: "google.protobuf.Any.type_url".into(),
                            },
                        )
                    })?,
                    None => "",
                };
                let value = last(2).map(|o| o.range()).unwrap_or((at, at));
                if type_url.is_empty() && value.0 == value.1 {
                    out.extend_from_slice(b"{}");
                } else {
                    let name = type_url.rsplit('/').next().unwrap_or("");
                    let Some(&inner) = plans.by_name.get(name) else {
                        return Err(err(
                            at,
                            TranscodeErrorKind::AnyTypeNotFound(type_url.to_owned()),
                        ));
                    };
                    out.extend_from_slice(b"{\"@type\":");
                    json::write_str(out, type_url);
                    self.depth_check(depth + 1, value.0)?;
                    if plans.messages[inner as usize].wkt.is_some() {
                        out.extend_from_slice(b",\"value\":");
                        self.write_message(inner, &[value], depth + 1, out)?;
                    } else {
                        self.write_fields(inner, &[value], depth + 1, out, false)?;
                    }
                    out.push(b'}');
                }
            }
        }
        self.put_slot(depth, occs);
        Ok(())
    }

    /// A FieldMask's paths as its JSON string holds them: lowerCamelCase, joined by `,`.
    pub(super) fn field_mask_text(&self, plan: &MessagePlan, occs: &[Occ]) -> Result<String> {
        let mut joined = String::new();
        if let Some(fi) = plan.field_index(1) {
            for (n, o) in occs.iter().filter(|o| o.field as usize == fi).enumerate() {
                let path = std::str::from_utf8(&self.buf[o.start..o.end]).map_err(|_| {
                    err(
                        o.start,
                        TranscodeErrorKind::InvalidUtf8 {
                            field: "google.protobuf.FieldMask.paths".into(),
                        },
                    )
                })?;
                // An empty path still takes its place: json_format prints ",a".
                if n > 0 {
                    joined.push(',');
                }
                snake_to_camel(path, &mut joined)
                    .map_err(|m| err(o.start, TranscodeErrorKind::Unrepresentable(m)))?;
            }
        }
        Ok(joined)
    }
}

/// A Timestamp the JSON form can express: 0001-01-01..9999-12-31, nanos in 0..1e9.
pub(super) fn check_timestamp(seconds: i64, nanos: i32, at: usize) -> Result<()> {
    if !(TIMESTAMP_MIN_SECONDS..=TIMESTAMP_MAX_SECONDS).contains(&seconds)
        || !(0..1_000_000_000).contains(&nanos)
    {
        return Err(err(
            at,
            TranscodeErrorKind::Unrepresentable(format!(
                "Timestamp {{seconds: {seconds}, nanos: {nanos}}} is outside 0001-01-01..9999-12-31 or has invalid nanos"
            )),
        ));
    }
    Ok(())
}

/// A Duration the JSON form can express: within 10,000 years, nanos of the seconds' sign.
pub(super) fn check_duration(seconds: i64, nanos: i32, at: usize) -> Result<()> {
    if !(-DURATION_MAX_SECONDS..=DURATION_MAX_SECONDS).contains(&seconds)
        || nanos <= -1_000_000_000
        || nanos >= 1_000_000_000
        || (nanos < 0 && seconds > 0)
        || (nanos > 0 && seconds < 0)
    {
        return Err(err(
            at,
            TranscodeErrorKind::Unrepresentable(format!(
                "Duration {{seconds: {seconds}, nanos: {nanos}}} is out of range or its signs differ"
            )),
        ));
    }
    Ok(())
}

fn write_fraction(out: &mut Vec<u8>, nanos: u32) {
    if nanos == 0 {
        return;
    }
    let (digits, value) = if nanos % 1_000_000 == 0 {
        (3, nanos / 1_000_000)
    } else if nanos % 1_000 == 0 {
        (6, nanos / 1_000)
    } else {
        (9, nanos)
    };
    out.push(b'.');
    write_digits(out, u64::from(value), digits);
}

/// Appends exactly `width` decimal digits of `value` (zero-padded; `value` must fit).
fn write_digits(out: &mut Vec<u8>, mut value: u64, width: usize) {
    let start = out.len();
    out.resize(start + width, b'0');
    for slot in out[start..].iter_mut().rev() {
        *slot = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

/// RFC 3339 in UTC with 0, 3, 6 or 9 fractional digits.
pub(crate) fn write_timestamp(out: &mut Vec<u8>, seconds: i64, nanos: i32) {
    let days = seconds.div_euclid(86_400);
    let secs = seconds.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    // Callers keep `seconds` within years 1..=9999, so four digits hold the year.
    out.push(b'"');
    write_digits(out, y.unsigned_abs(), 4);
    out.push(b'-');
    write_digits(out, u64::from(m), 2);
    out.push(b'-');
    write_digits(out, u64::from(d), 2);
    out.push(b'T');
    write_digits(out, (secs / 3600) as u64, 2);
    out.push(b':');
    write_digits(out, ((secs / 60) % 60) as u64, 2);
    out.push(b':');
    write_digits(out, (secs % 60) as u64, 2);
    write_fraction(out, nanos as u32);
    out.extend_from_slice(b"Z\"");
}

pub(crate) fn write_duration(out: &mut Vec<u8>, seconds: i64, nanos: i32) {
    out.push(b'"');
    if seconds < 0 || nanos < 0 {
        out.push(b'-');
    }
    json::write_int(out, seconds.unsigned_abs());
    write_fraction(out, nanos.unsigned_abs());
    out.extend_from_slice(b"s\"");
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// FieldMask paths print in lowerCamelCase; a path that would not convert back
/// (upper-case letters, `_` not followed by a lower-case letter) is refused, as
/// json_format refuses it.
pub(super) fn snake_to_camel(path: &str, out: &mut String) -> std::result::Result<(), String> {
    let mut after_underscore = false;
    for c in path.chars() {
        if c.is_uppercase() {
            return Err(format!(
                "FieldMask path {path:?} has upper-case letters and cannot be printed as JSON"
            ));
        }
        if after_underscore {
            if c.is_lowercase() {
                out.extend(c.to_uppercase());
                after_underscore = false;
            } else {
                return Err(format!(
                    "FieldMask path {path:?}: the character after \"_\" must be a lower-case letter"
                ));
            }
        } else if c == '_' {
            after_underscore = true;
        } else {
            out.push(c);
        }
    }
    if after_underscore {
        return Err(format!("FieldMask path {path:?} ends with \"_\""));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: i64, n: i32) -> String {
        let mut v = Vec::new();
        write_timestamp(&mut v, s, n);
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn timestamps_format_like_json_format() {
        assert_eq!(ts(0, 0), "\"1970-01-01T00:00:00Z\"");
        assert_eq!(ts(TIMESTAMP_MIN_SECONDS, 0), "\"0001-01-01T00:00:00Z\"");
        assert_eq!(
            ts(TIMESTAMP_MAX_SECONDS, 999_999_999),
            "\"9999-12-31T23:59:59.999999999Z\""
        );
        assert_eq!(ts(-1, 500_000_000), "\"1969-12-31T23:59:59.500Z\"");
        assert_eq!(ts(951_782_400, 1_000), "\"2000-02-29T00:00:00.000001Z\"");
    }

    #[test]
    fn durations_format_with_sign_and_fraction() {
        let d = |s, n| {
            let mut v = Vec::new();
            write_duration(&mut v, s, n);
            String::from_utf8(v).unwrap()
        };
        assert_eq!(d(1, 500_000_000), "\"1.500s\"");
        assert_eq!(d(0, -1), "\"-0.000000001s\"");
        assert_eq!(d(-5, 0), "\"-5s\"");
    }

    #[test]
    fn field_mask_paths_camel_case_or_refuse() {
        let c = |p: &str| {
            let mut s = String::new();
            snake_to_camel(p, &mut s).map(|()| s)
        };
        assert_eq!(c("foo_bar.baz_qux").unwrap(), "fooBar.bazQux");
        assert!(c("fooBar").is_err());
        assert!(c("foo_1").is_err());
        assert!(c("foo_").is_err());
    }
}
