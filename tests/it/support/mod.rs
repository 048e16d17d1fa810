//! Test support: run the real binary (with a timeout, so a hang fails the test instead of
//! the suite) and compare JSON semantically.
#![allow(dead_code)]

pub mod aws;
pub mod events;
pub mod fault_proxy;
pub mod moto;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The built `protolake` binary, or `PROTOLAKE_TEST_BIN` when set (a copy of it: several
/// worktrees sharing one CARGO_TARGET_DIR overwrite each other's `debug/protolake`).
pub fn bin() -> PathBuf {
    std::env::var_os("PROTOLAKE_TEST_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_protolake")))
}

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Result of a run.
pub struct Run {
    pub status: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

impl Run {
    pub fn stdout_str(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
    /// Lines of standard output.
    pub fn lines(&self) -> Vec<String> {
        self.stdout_str().lines().map(str::to_owned).collect()
    }
    /// Asserts the process failed cleanly: non-zero exit, no panic, exactly one error line.
    pub fn assert_clean_failure(&self) -> &str {
        assert!(!self.stderr.contains("panicked"), "panic: {}", self.stderr);
        let code = self.status.expect("killed by a signal");
        assert!(
            code == 1 || code == 2,
            "exit code {code}, stderr: {}",
            self.stderr
        );
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert_eq!(
            lines.len(),
            1,
            "expected one error line, got: {}",
            self.stderr
        );
        assert!(lines[0].starts_with("protolake: error: "), "{}", lines[0]);
        lines[0]
    }
}

/// Runs the binary with `args`, feeding `stdin`; fails the test after `timeout`.
pub fn run_with(
    args: &[&str],
    stdin: Option<&[u8]>,
    envs: &[(&str, &str)],
    timeout: Duration,
) -> Run {
    let mut cmd = Command::new(bin());
    cmd.args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env_remove("PROTOLAKE_REGISTRY")
        .env_remove("PROTOLAKE_LANDING");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn protolake");
    if let Some(data) = stdin {
        let mut si = child.stdin.take().unwrap();
        let data = data.to_vec();
        std::thread::spawn(move || {
            let _ = si.write_all(&data);
        });
    }
    let pid = child.id();
    let deadline = Instant::now() + timeout;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    loop {
        if let Ok(out) = rx.try_recv() {
            let out: Output = out.expect("wait");
            return Run {
                status: out.status.code(),
                stdout: out.stdout,
                stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            };
        }
        if Instant::now() > deadline {
            let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
            panic!("protolake {args:?} did not finish within {timeout:?} (hang)");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

pub fn run(args: &[&str]) -> Run {
    run_with(args, None, &[], Duration::from_secs(60))
}

pub fn path_str(p: &Path) -> String {
    p.display().to_string()
}

/// Semantic JSON equality: numbers compared as numbers (and -0.0 distinct from 0.0), key
/// order free. Returns the path of the first difference.
pub fn json_diff(ours: &Value, reference: &Value, path: &str) -> Option<String> {
    match (ours, reference) {
        (Value::Number(a), Value::Number(b)) => {
            if let (Some(x), Some(y)) = (a.as_i64(), b.as_i64()) {
                return (x != y).then(|| format!("{path}: {a} != {b}"));
            }
            if let (Some(x), Some(y)) = (a.as_u64(), b.as_u64()) {
                return (x != y).then(|| format!("{path}: {a} != {b}"));
            }
            let (x, y) = (a.as_f64().unwrap(), b.as_f64().unwrap());
            (x != y || x.is_sign_negative() != y.is_sign_negative())
                .then(|| format!("{path}: {a} != {b}"))
        }
        (Value::Object(a), Value::Object(b)) => {
            for k in a.keys() {
                if !b.contains_key(k) {
                    return Some(format!("{path}.{k}: present in ours only"));
                }
            }
            for (k, bv) in b {
                match a.get(k) {
                    None => {
                        return Some(format!("{path}.{k}: missing in ours (reference has {bv})"))
                    }
                    Some(av) => {
                        if let Some(d) = json_diff(av, bv, &format!("{path}.{k}")) {
                            return Some(d);
                        }
                    }
                }
            }
            None
        }
        (Value::Array(a), Value::Array(b)) => {
            if a.len() != b.len() {
                return Some(format!("{path}: array length {} != {}", a.len(), b.len()));
            }
            a.iter()
                .zip(b)
                .enumerate()
                .find_map(|(i, (x, y))| json_diff(x, y, &format!("{path}[{i}]")))
        }
        (a, b) => (a != b).then(|| format!("{path}: {a} != {b}")),
    }
}

/// Runs one of the Python checkers in tests/ (the test venv's python, `make setup`) on the real
/// binary; echoes its report and returns its closing `N passed, N failed` line, failing the test
/// when the checker failed.
pub fn python_check(script: &str) -> String {
    let out = Command::new(root().join(".venv/bin/python"))
        .arg(root().join("tests").join(script))
        .arg("--protolake")
        .arg(bin())
        .output()
        .expect("the test venv's python (make setup)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    print!("{stdout}");
    eprint!("{}", String::from_utf8_lossy(&out.stderr));
    let last = stdout.lines().last().unwrap_or_default().to_owned();
    assert!(out.status.success(), "{script} failed: {last}");
    last
}
