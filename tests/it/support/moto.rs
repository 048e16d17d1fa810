//! moto server (PyPI `moto[server]`, installed in .venv by `make setup`) on a free
//! 127.0.0.1 port, started on first use by the test process and stopped when it exits: a
//! small shell wrapper kills moto when the test process's end of a pipe closes.
//! `PROTOLAKE_TEST_ENDPOINT` points the tests at an already running server instead.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub struct Moto {
    pub endpoint: String,
    _child: Option<Child>,
}

static MOTO: OnceLock<Moto> = OnceLock::new();

fn ready(endpoint: &str) -> bool {
    let addr = endpoint.trim_start_matches("http://");
    let Ok(mut s) = TcpStream::connect_timeout(&addr.parse().unwrap(), Duration::from_millis(200))
    else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    if s.write_all(format!("GET /moto-api/ HTTP/1.0\r\nHost: {addr}\r\n\r\n").as_bytes())
        .is_err()
    {
        return false;
    }
    let mut buf = [0u8; 12];
    s.read_exact(&mut buf).is_ok() && buf.starts_with(b"HTTP/1.") && &buf[9..12] == b"200"
}

/// The shared moto server.
pub fn moto() -> &'static Moto {
    MOTO.get_or_init(|| {
        if let Ok(ep) = std::env::var("PROTOLAKE_TEST_ENDPOINT") {
            return Moto { endpoint: ep, _child: None };
        }
        let server = super::root().join(".venv/bin/moto_server");
        assert!(server.exists(), "{} is missing: run `make setup` (the README's test command does)", server.display());
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let script = format!(
            "'{}' -H 127.0.0.1 -p {port} >/dev/null 2>&1 & pid=$!; trap 'kill $pid 2>/dev/null' EXIT; cat >/dev/null",
            server.display()
        );
        let child = Command::new("sh")
            .arg("-c")
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("start moto_server");
        let endpoint = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(60);
        while !ready(&endpoint) {
            assert!(Instant::now() < deadline, "moto_server did not answer on {endpoint} within 60 s");
            std::thread::sleep(Duration::from_millis(100));
        }
        Moto {
            endpoint,
            _child: Some(child),
        }
    })
}

impl Moto {
    /// Environment for a child process (the real binary) to reach moto.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ACCESS_KEY_ID", "test".into()),
            ("AWS_SECRET_ACCESS_KEY", "test".into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ]
    }

    /// An S3 client for the test itself.
    pub async fn s3(&self) -> aws_sdk_s3::Client {
        let conf = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(&self.endpoint)
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_s3::config::Credentials::new(
                "test", "test", None, None, "static",
            ))
            .load()
            .await;
        aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&conf)
                .force_path_style(true)
                .build(),
        )
    }
}

/// A bucket name no other test uses.
pub fn unique(prefix: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}
