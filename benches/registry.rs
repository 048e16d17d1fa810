//! Registry benchmark against moto server: cold load of a registry of 1,000 descriptor
//! files, warm type lookup, and a TTL re-check with nothing changed. Run with
//! `cargo bench --bench registry` (needs `make setup` for moto). Prints a table; asserts
//! nothing about time.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use prost::Message as _;
use prost_types::field_descriptor_proto::{Label, Type};
use prost_types::{DescriptorProto, FieldDescriptorProto, FileDescriptorProto, FileDescriptorSet};
use protolake::registry::RegistryCache;
use protolake::store::s3::S3Store;
use protolake::store::Place;

const FILES: usize = 1000;

fn descriptor_set(i: usize) -> Vec<u8> {
    let fields = (1..=10)
        .map(|n| FieldDescriptorProto {
            name: Some(format!("field_{n}")),
            number: Some(n),
            label: Some(Label::Optional as i32),
            r#type: Some(if n % 2 == 0 {
                Type::String
            } else {
                Type::Int64
            } as i32),
            json_name: Some(format!("field{n}")),
            ..Default::default()
        })
        .collect();
    let file = FileDescriptorProto {
        name: Some(format!("gen/f{i}.proto")),
        package: Some(format!("gen.p{i}")),
        message_type: vec![DescriptorProto {
            name: Some(format!("M{i}")),
            field: fields,
            ..Default::default()
        }],
        syntax: Some("proto3".into()),
        ..Default::default()
    };
    FileDescriptorSet { file: vec![file] }.encode_to_vec()
}

fn start_moto() -> (String, Option<std::process::Child>) {
    if let Ok(ep) = std::env::var("PROTOLAKE_TEST_ENDPOINT") {
        return (ep, None);
    }
    let server = concat!(env!("CARGO_MANIFEST_DIR"), "/.venv/bin/moto_server");
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let script = format!("'{server}' -H 127.0.0.1 -p {port} >/dev/null 2>&1 & pid=$!; trap 'kill $pid 2>/dev/null' EXIT; cat >/dev/null");
    let child = Command::new("sh")
        .arg("-c")
        .arg(script)
        .stdin(Stdio::piped())
        .spawn()
        .expect("moto_server (run make setup)");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
            let _ = s.write_all(b"GET /moto-api/ HTTP/1.0\r\n\r\n");
            let mut b = [0u8; 12];
            if s.read_exact(&mut b).is_ok() && &b[9..12] == b"200" {
                break;
            }
        }
        assert!(Instant::now() < deadline, "moto did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    (format!("http://127.0.0.1:{port}"), Some(child))
}

fn main() {
    // `cargo test --all-targets` runs bench binaries without `--bench`: do nothing then.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let (endpoint, _moto) = start_moto();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let conf = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(&endpoint)
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_s3::config::Credentials::new(
                "test", "test", None, None, "static",
            ))
            .load()
            .await;
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&conf)
                .force_path_style(true)
                .build(),
        );
        let bucket = format!("bench-registry-{}", std::process::id());
        s3.create_bucket().bucket(&bucket).send().await.unwrap();
        let started = Instant::now();
        let sem = Arc::new(tokio::sync::Semaphore::new(16));
        let mut puts = tokio::task::JoinSet::new();
        for i in 0..FILES {
            let (s3, bucket, sem) = (s3.clone(), bucket.clone(), sem.clone());
            puts.spawn(async move {
                let _p = sem.acquire().await;
                s3.put_object()
                    .bucket(&bucket)
                    .key(format!("schemas/f{i:04}.binpb"))
                    .body(descriptor_set(i).into())
                    .send()
                    .await
                    .unwrap();
            });
        }
        while puts.join_next().await.is_some() {}
        println!(
            "published {FILES} descriptor sets to moto in {:.2}s",
            started.elapsed().as_secs_f64()
        );
        let place = Place {
            store: Arc::new(S3Store::new(s3.clone(), bucket.clone())),
            prefix: "schemas/".into(),
        };
        let mut cold = Vec::new();
        for _ in 0..3 {
            let cache = RegistryCache::new(
                place.clone(),
                Duration::from_secs(3600),
                Duration::from_secs(10),
            );
            let t = Instant::now();
            let r = cache.registry().await.unwrap();
            cold.push(t.elapsed());
            assert_eq!(r.transcoder.pool().all_messages().count(), FILES);
        }
        let cache = RegistryCache::new(
            place.clone(),
            Duration::from_millis(1),
            Duration::from_secs(10),
        );
        cache.registry().await.unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
        let t = Instant::now();
        cache.registry().await.unwrap();
        let recheck = t.elapsed();
        assert_eq!(
            cache.object_reads(),
            FILES as u64,
            "an unchanged registry is listed, not re-read"
        );
        // The same files from a local directory: what is compute, what is moto.
        let dir = tempfile::tempdir().unwrap();
        for i in 0..FILES {
            std::fs::write(dir.path().join(format!("f{i:04}.binpb")), descriptor_set(i)).unwrap();
        }
        let local = Place {
            store: Arc::new(protolake::store::local::LocalStore::new(
                dir.path().to_owned(),
            )),
            prefix: String::new(),
        };
        let t = Instant::now();
        RegistryCache::new(local, Duration::from_secs(3600), Duration::from_secs(10))
            .registry()
            .await
            .unwrap();
        let local_cold = t.elapsed();
        let cache = RegistryCache::new(place, Duration::from_secs(3600), Duration::from_secs(10));
        cache.registry().await.unwrap();
        let n = 200_000u32;
        let t = Instant::now();
        for i in 0..n {
            let name = if i % 2 == 0 {
                "gen.p500.M500"
            } else {
                "gen.p7.M7"
            };
            std::hint::black_box(cache.message(name).await.unwrap());
        }
        let warm = t.elapsed() / n;
        let best = cold.iter().min().unwrap();
        println!();
        println!("| registry benchmark (moto on 127.0.0.1, {FILES} descriptor files) | time |");
        println!("|---|---|");
        println!(
            "| cold load: list + {FILES} GETs + merge + plans (best of 3) | {:.0} ms |",
            best.as_secs_f64() * 1e3
        );
        println!(
            "| cold load of the same files from a local directory | {:.0} ms |",
            local_cold.as_secs_f64() * 1e3
        );
        println!(
            "| TTL re-check, nothing changed (list only, 0 GETs) | {:.0} ms |",
            recheck.as_secs_f64() * 1e3
        );
        println!(
            "| warm type lookup (cached registry) | {} ns |",
            warm.as_nanos()
        );
    });
}
