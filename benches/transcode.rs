//! In-process transcoding throughput: `Session::transcode` over 10,000 analytics events
//! (bench/analytics.proto, ~410 bytes each), for both engines.
//!
//!     cargo bench --bench transcode
//!
//! The events are generated here, deterministically (fixed seed, hand-written wire
//! encoding), so the bench needs nothing but the .proto file. Throughput is bytes of
//! protobuf input per second.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use protolake::{Engine, JsonOptions, Transcoder};

const MESSAGES: usize = 10_000;
const TYPE: &str = "bench.analytics.v1.AnalyticsEvent";

/// SplitMix64: tiny, deterministic, good enough for test data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn range(&mut self, lo: u64, hi_inclusive: u64) -> u64 {
        lo + self.below(hi_inclusive - lo + 1)
    }
    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len() as u64) as usize]
    }
    fn hex(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from_digit(self.below(16) as u32, 16).unwrap())
            .collect()
    }
}

/// Minimal protobuf wire encoder (proto3: default values are not written).
#[derive(Default)]
struct Enc(Vec<u8>);

impl Enc {
    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push(v as u8 | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }
    fn tag(&mut self, field: u32, wire_type: u8) {
        self.varint(((field as u64) << 3) | wire_type as u64);
    }
    fn uint(&mut self, field: u32, v: u64) {
        if v != 0 {
            self.tag(field, 0);
            self.varint(v);
        }
    }
    fn int(&mut self, field: u32, v: i64) {
        self.uint(field, v as u64);
    }
    fn sint32(&mut self, field: u32, v: i32) {
        self.uint(field, ((v << 1) ^ (v >> 31)) as u32 as u64);
    }
    fn boolean(&mut self, field: u32, v: bool) {
        self.uint(field, v as u64);
    }
    fn bytes(&mut self, field: u32, b: &[u8]) {
        if !b.is_empty() {
            self.tag(field, 2);
            self.varint(b.len() as u64);
            self.0.extend_from_slice(b);
        }
    }
    fn string(&mut self, field: u32, s: &str) {
        self.bytes(field, s.as_bytes());
    }
    /// A string with explicit presence (`optional`): written even when empty.
    fn string_present(&mut self, field: u32, s: &str) {
        self.tag(field, 2);
        self.varint(s.len() as u64);
        self.0.extend_from_slice(s.as_bytes());
    }
    fn fixed64(&mut self, field: u32, v: u64) {
        if v != 0 {
            self.tag(field, 1);
            self.0.extend_from_slice(&v.to_le_bytes());
        }
    }
    fn double(&mut self, field: u32, v: f64) {
        if v != 0.0 {
            self.tag(field, 1);
            self.0.extend_from_slice(&v.to_le_bytes());
        }
    }
    fn float(&mut self, field: u32, v: f32) {
        if v != 0.0 {
            self.tag(field, 5);
            self.0.extend_from_slice(&v.to_le_bytes());
        }
    }
    /// A message field: always written (sub-messages have presence).
    fn message(&mut self, field: u32, body: impl FnOnce(&mut Enc)) {
        let mut sub = Enc::default();
        body(&mut sub);
        self.tag(field, 2);
        self.varint(sub.0.len() as u64);
        self.0.extend_from_slice(&sub.0);
    }
    fn packed_int32(&mut self, field: u32, vs: &[i32]) {
        if vs.is_empty() {
            return;
        }
        let mut sub = Enc::default();
        for &v in vs {
            sub.varint(v as i64 as u64);
        }
        self.bytes(field, &sub.0);
    }
    fn timestamp(&mut self, field: u32, seconds: i64, nanos: i32) {
        self.message(field, |e| {
            e.int(1, seconds);
            e.int(2, nanos as i64);
        });
    }
}

const WORDS: &[&str] = &[
    "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet",
    "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo", "sierra", "tango",
    "checkout", "cart", "search", "home", "pricing", "docs", "blog", "account", "settings",
];
const EVENT_NAMES: &[&str] = &[
    "Page Viewed",
    "Button Clicked",
    "Product Added",
    "Order Completed",
    "Signed Up",
    "Products Searched",
    "Page Scrolled",
];
// (platform, os, os_version, model, browser, width, height, mobile)
type DeviceRow = (
    u64,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    u64,
    u64,
    bool,
);
const DEVICES: &[DeviceRow] = &[
    (
        1,
        "macOS",
        "14.4",
        "MacBookPro18,1",
        "Chrome",
        1512,
        982,
        false,
    ),
    (1, "Windows", "11", "PC", "Edge", 1920, 1080, false),
    (2, "iOS", "17.4.1", "iPhone15,2", "Safari", 393, 852, true),
    (3, "Android", "14", "Pixel 8", "Chrome", 412, 915, true),
    (
        4,
        "Linux",
        "6.8",
        "ThinkPad X1",
        "Firefox",
        2560,
        1440,
        false,
    ),
];
// (country, region, city, lat, lon, tz)
const GEOS: &[(&str, &str, &str, f64, f64, &str)] = &[
    (
        "US",
        "California",
        "San Francisco",
        37.77,
        -122.42,
        "America/Los_Angeles",
    ),
    ("DE", "Berlin", "Berlin", 52.52, 13.40, "Europe/Berlin"),
    ("JP", "Tokyo", "Tokyo", 35.68, 139.69, "Asia/Tokyo"),
    (
        "BR",
        "Sao Paulo",
        "Sao Paulo",
        -23.55,
        -46.63,
        "America/Sao_Paulo",
    ),
    ("GB", "England", "London", 51.51, -0.13, "Europe/London"),
];
const LOCALES: &[&str] = &[
    "en-US", "de-DE", "fr-FR", "ja-JP", "pt-BR", "en-GB", "hi-IN",
];
const SEGMENTS: &[&str] = &[
    "trial",
    "paid",
    "enterprise",
    "churn-risk",
    "power-user",
    "beta",
];
const CATEGORIES: &[&str] = &[
    "books",
    "electronics",
    "garden",
    "toys",
    "apparel",
    "grocery",
];
const TAGS: &[&str] = &["ab", "web", "prod", "eu", "us", "vip", "mobile"];

fn words(r: &mut Rng, n: u64, sep: &str, capitalize: bool) -> String {
    (0..n)
        .map(|_| {
            let w = r.pick(WORDS);
            if capitalize {
                w[..1].to_ascii_uppercase() + &w[1..]
            } else {
                w.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(sep)
}

/// One AnalyticsEvent, shaped like bench/run.py's generator.
fn event(r: &mut Rng, seq: u64) -> Vec<u8> {
    let mut e = Enc::default();
    let etype = r.range(1, 7);
    let ts = 1_717_000_000 + seq as i64 * 7 + r.below(7) as i64;
    let id = format!(
        "{}-{}-4{}-{}-{}",
        r.hex(8),
        r.hex(4),
        r.hex(3),
        r.hex(4),
        r.hex(12)
    );
    e.string(1, &id);
    e.uint(2, etype);
    e.string(3, EVENT_NAMES[etype as usize - 1]);
    e.timestamp(4, ts, (r.below(1000) * 1_000_000) as i32);
    e.timestamp(5, ts + r.below(3) as i64, r.below(1_000_000_000) as i32);
    e.string(6, &r.hex(16));
    e.uint(7, seq);
    let (plat, os, osv, model, browser, w, h, mobile) = r.pick(DEVICES);
    let device_id = r.hex(16);
    let locale = r.pick(LOCALES);
    e.message(8, |d| {
        d.string(1, &device_id);
        d.uint(2, plat);
        d.string(3, os);
        d.string(4, osv);
        d.string(5, model);
        d.string(6, browser);
        d.uint(7, w);
        d.uint(8, h);
        d.string(9, locale);
        d.boolean(10, mobile);
    });
    let (cc, region, city, lat, lon, tz) = r.pick(GEOS);
    let (dlat, dlon) = (
        r.below(4000) as f64 / 1e4 - 0.2,
        r.below(4000) as f64 / 1e4 - 0.2,
    );
    e.message(9, |g| {
        g.string(1, cc);
        g.string(2, region);
        g.string(3, city);
        g.double(4, lat + dlat);
        g.double(5, lon + dlon);
        g.string(6, tz);
    });
    let n = r.range(1, 2);
    let path = format!("/{}", words(r, n, "/", false));
    let url = r
        .chance(0.5)
        .then(|| format!("https://shop.example.com{path}"));
    let referrer = r.chance(0.2).then(|| {
        format!(
            "https://www.google.com/search?q={}",
            words(r, 2, "+", false)
        )
    });
    let n = r.range(1, 2);
    let title = words(r, n, " ", true);
    let utm = r.chance(0.25).then(|| {
        (
            r.pick(&["google", "newsletter", "twitter", "partner"]),
            format!("spring_{}", r.pick(WORDS)),
        )
    });
    let load = r.range(80, 4000);
    e.message(10, |p| {
        p.string(1, url.as_deref().unwrap_or(""));
        p.string(2, &path);
        p.string(3, referrer.as_deref().unwrap_or(""));
        p.string(4, &title);
        if let Some((src, campaign)) = &utm {
            p.string(5, src);
            p.string(6, campaign);
        }
        p.uint(7, load);
    });
    let logged_in = r.chance(0.7);
    let user_id = format!("u_{:09}", r.below(1_000_000_000));
    let segs: Vec<&str> = (0..r.range(0, 2)).map(|_| r.pick(SEGMENTS)).collect();
    let ltv = r.below(5_000_000) as i64;
    let created = 1_500_000_000 + r.below(200_000_000) as i64;
    let anon = r.hex(32);
    e.message(11, |u| {
        if logged_in {
            u.string(1, &user_id);
            for s in &segs {
                u.string_present(3, s);
            }
            u.int(4, ltv);
            u.timestamp(5, created, 0);
            u.boolean(6, true);
        } else {
            u.string(2, &anon);
        }
    });
    for _ in 0..r.range(0, 2) {
        let k = r.pick(WORDS);
        let v = format!("{}_{}", r.pick(WORDS), r.below(1000));
        e.message(12, |m| {
            m.string(1, k);
            m.string(2, &v);
        });
    }
    let mut revenue_micros = 0i64;
    if etype == 3 || etype == 4 {
        for _ in 0..r.range(1, 3) {
            let sku = format!("SKU-{:06}", r.below(1_000_000));
            let name = words(r, 3, " ", true);
            let price = (r.range(1, 499) * 10_000 * 99) as i64;
            let qty = r.range(1, 4);
            let cat = r.pick(CATEGORIES);
            revenue_micros += price * qty as i64;
            e.message(13, |p| {
                p.string(1, &sku);
                p.string(2, &name);
                p.int(3, price);
                p.uint(4, qty);
                p.string(5, cat);
            });
        }
    }
    for _ in 0..r.range(0, 2) {
        e.string_present(14, r.pick(TAGS));
    }
    if etype == 4 {
        e.double(15, (revenue_micros / 10_000) as f64 / 100.0);
        e.string(16, r.pick(&["USD", "EUR", "JPY", "BRL"]));
    }
    e.sint32(17, r.pick(&[-480, -300, 0, 60, 120, 330, 540]));
    e.boolean(18, r.chance(0.02));
    if r.chance(0.5) {
        let t: Vec<u8> = (0..16).map(|_| r.next() as u8).collect();
        e.bytes(19, &t);
    }
    e.fixed64(20, r.next());
    e.float(21, r.pick(&[1.0f32, 0.5, 0.1, 0.25]));
    e.int(22, 7);
    let exps: Vec<i32> = (0..r.range(0, 3))
        .map(|_| r.range(100, 399) as i32)
        .collect();
    e.packed_int32(23, &exps);
    if r.chance(0.3) {
        e.string_present(24, r.pick(&["all", "necessary", "analytics"]));
    }
    e.uint(25, r.below(120_000));
    e.0
}

fn corpus() -> Vec<Vec<u8>> {
    let mut r = Rng(20240611);
    (0..MESSAGES as u64).map(|i| event(&mut r, i)).collect()
}

fn transcode(c: &mut Criterion) {
    let proto = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("bench/analytics.proto");
    let pool = protolake::registry::load_paths(&[proto]).expect("bench/analytics.proto loads");
    let transcoder = Transcoder::new(&pool);
    let id = transcoder
        .message(TYPE)
        .expect("AnalyticsEvent is in the pool");
    let messages = corpus();
    let total: usize = messages.iter().map(Vec::len).sum();

    // Both engines must accept every message and agree on it, or the numbers mean nothing.
    let mut direct = transcoder.session(id, JsonOptions::default(), Engine::Direct, 100);
    let mut reflect = transcoder.session(id, JsonOptions::default(), Engine::Reflect, 100);
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for (i, m) in messages.iter().enumerate() {
        a.clear();
        b.clear();
        direct
            .transcode(m, &mut a)
            .unwrap_or_else(|e| panic!("direct, message {i}: {e}"));
        reflect
            .transcode(m, &mut b)
            .unwrap_or_else(|e| panic!("reflect, message {i}: {e}"));
        let (ja, jb): (serde_json::Value, serde_json::Value) = (
            serde_json::from_slice(&a).unwrap(),
            serde_json::from_slice(&b).unwrap(),
        );
        assert_eq!(ja, jb, "engines disagree on message {i}");
    }
    eprintln!(
        "analytics corpus: {} messages, {} bytes (avg {:.0} B/message)",
        messages.len(),
        total,
        total as f64 / messages.len() as f64
    );

    let mut group = c.benchmark_group("transcode/analytics");
    group.throughput(Throughput::Bytes(total as u64));
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(10));
    for (name, engine) in [
        ("direct", Engine::Direct),
        ("serde", Engine::Serde),
        ("reflect", Engine::Reflect),
    ] {
        group.bench_function(name, |bench| {
            let mut session = transcoder.session(id, JsonOptions::default(), engine, 100);
            let mut out = Vec::with_capacity(4096);
            bench.iter(|| {
                for m in &messages {
                    out.clear();
                    session.transcode(black_box(m), &mut out).unwrap();
                    black_box(&out);
                }
            })
        });
    }
    group.finish();
}

criterion_group!(benches, transcode);
criterion_main!(benches);
