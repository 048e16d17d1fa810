#!/usr/bin/env python3
"""Inflaters compared on bench/run.py's corpora: is a faster gzip decoder than flate2 + zlib-rs
(what protolake inflates with) worth having where the gzip stream is the limit?

Builds (from the repository root; see bench/codegen/Cargo.toml for what each needs):

    cargo build --release --locked --manifest-path bench/codegen/Cargo.toml
    cargo build --release --locked --manifest-path bench/codegen/Cargo.toml \\
        --features alt-inflaters,isal --target-dir bench/codegen/target/alt
    cargo build --release --locked --manifest-path bench/codegen/Cargo.toml \\
        --features zlib-ng --target-dir bench/codegen/target/zlib-ng
    cargo build --release --locked --manifest-path bench/codegen/Cargo.toml \\
        --features gzippy --target-dir bench/codegen/target/gzippy
    cargo build --release --locked --manifest-path bench/codegen/Cargo.toml \\
        --features rapidgzip-cpp --target-dir bench/codegen/target/rapidgzip-cpp

(all but the first optional: a variant whose binary is missing is left out), then
`python3 bench/codegen/inflaters.py [--repeat 5] [CORPUS.gz ...]`. Every variant's output is
first hashed (SHA-256) against zlib-rs's; then the timed runs go round-robin, so that a noisy
moment hits every variant alike. Wall clock is the best of --repeat; peak RSS is the largest
seen (GNU time's %M). MB/s is of decompressed bytes, MB = 10^6.
"""
import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TARGET = ROOT / "bench" / "codegen" / "target"
DEFAULT = TARGET / "release" / "baseline"
ALT = TARGET / "alt" / "release" / "baseline"
NG = TARGET / "zlib-ng" / "release" / "baseline"
GZIPPY = TARGET / "gzippy" / "release" / "baseline"
RGZ_CPP = TARGET / "rapidgzip-cpp" / "release" / "baseline"
TASKSET = shutil.which("taskset")
TIME = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None
MB = 1e6


def variants():
    """(label, cores, argv before FILE); cores is the taskset CPU list."""
    v = [("flate2 zlib-rs, no CPU detection (streaming; as protolake builds it)", "0",
          [DEFAULT, "gunzip"])]
    if ALT.exists():
        v.append(("flate2 zlib-rs + runtime_detection (streaming)", "0", [ALT, "gunzip"]))
    if NG.exists():
        v.append(("flate2 zlib-ng + runtime_detection (streaming)", "0", [NG, "gunzip"]))
    if ALT.exists():
        v += [
            ("libdeflate 1.26 (whole buffer)", "0", [ALT, "libdeflate"]),
            ("isa-l via isal-rs (streaming)", "0", [ALT, "isal"]),
            ("zune-inflate (whole buffer)", "0", [ALT, "zune"]),
            ("rapidgzip-core, 1 thread", "0", [ALT, "rapidgzip", "--threads", "1"]),
        ]
    if GZIPPY.exists():
        v.append(("gzippy, 1 thread (whole input)", "0", [GZIPPY, "gzippy", "--threads", "1"]))
    if RGZ_CPP.exists():
        v.append(("rapidgzip C++ (-Os), 1 thread", "0",
                  [RGZ_CPP, "rapidgzip-cpp", "--threads", "1"]))
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) >= 2:
        two = f"{cpus[0]},{cpus[1]}"
        if ALT.exists():
            v.append(("flate2 zlib-rs + runtime_detection, 2 cores (it uses 1)", two,
                      [ALT, "gunzip"]))
            v.append(("rapidgzip-core, 2 threads, 2 cores", two,
                      [ALT, "rapidgzip", "--threads", "2"]))
        if GZIPPY.exists():
            v.append(("gzippy, 2 threads, 2 cores (whole input)", two,
                      [GZIPPY, "gzippy", "--threads", "2"]))
        if RGZ_CPP.exists():
            v.append(("rapidgzip C++ (-Os), 2 threads, 2 cores", two,
                      [RGZ_CPP, "rapidgzip-cpp", "--threads", "2"]))
    return v


def pin(cores, argv):
    return ([TASKSET, "-c", cores] if TASKSET else []) + [str(a) for a in argv]


def digest(cmd):
    """SHA-256 of what the command writes to stdout, and its stderr's last line."""
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    h = hashlib.sha256()
    while chunk := p.stdout.read(1 << 20):
        h.update(chunk)
    err = p.stderr.read().decode(errors="replace").strip().splitlines()
    if p.wait() != 0:
        sys.exit(f"{cmd}: exit {p.returncode}: {err[-1:] }")
    return h.hexdigest(), (err[-1] if err else "")


def timed(cmd):
    """Wall seconds, CPU seconds (user + sys, all threads) and peak RSS (KiB) of one run, output
    discarded. The RSS is GNU time's %M
    where /usr/bin/time exists (a child forked from this Python would count Python's own pages
    in its ru_maxrss: Linux keeps the high-water mark across exec), else that ru_maxrss."""
    if TIME:
        cmd = [TIME, "-f", "maxrss_kib=%M"] + cmd
    t = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    err = p.stderr.read().decode(errors="replace")
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{cmd}: {err.strip()[-300:]}")
    rss = [int(line.split("=")[1]) for line in err.splitlines() if line.startswith("maxrss_kib=")]
    return wall, usage.ru_utime + usage.ru_stime, (rss[-1] if rss else usage.ru_maxrss)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("corpora", nargs="*", type=Path,
                    default=[ROOT / "bench" / "out" / f"{n}.varint.gz" for n in ("analytics", "otel")])
    a = ap.parse_args()
    if not DEFAULT.exists():
        sys.exit(f"{DEFAULT} missing: build it first (see this file's docstring)")
    rows = []
    for corpus in a.corpora:
        vs = variants()
        ref = None
        print(f"{corpus.name}: {corpus.stat().st_size} bytes gzip'd; hashing", file=sys.stderr)
        for label, cores, argv in vs:
            h, summary = digest(pin(cores, argv + ["--stdout", corpus]))
            ref = ref or h
            print(f"  {h[:16]} {'ok  ' if h == ref else 'DIFF'} {label}: {summary}", file=sys.stderr)
            if h != ref:
                sys.exit(f"{label}: output differs from zlib-rs's on {corpus}")
        raw = int(summary.split()[1])
        walls = {label: [] for label, _, _ in vs}
        cpus = {label: [] for label, _, _ in vs}
        rss = {label: 0 for label, _, _ in vs}
        for _ in range(a.repeat):
            for label, cores, argv in vs:
                w, c, m = timed(pin(cores, argv + [corpus]))
                walls[label].append(w)
                cpus[label].append(c)
                rss[label] = max(rss[label], m)
        base, base_cpu = min(walls[vs[0][0]]), min(cpus[vs[0][0]])
        detect = min(walls[vs[1][0]]) if ALT.exists() else None
        for label, _, _ in vs:
            w, c = min(walls[label]), min(cpus[label])
            med = sorted(walls[label])[len(walls[label]) // 2]
            rows.append((corpus.name, label, f"{raw / w / MB:.0f}", f"{rss[label] / 1024:.1f} MiB",
                         f"{base / w:.2f}x", f"{detect / w:.2f}x" if detect else "",
                         f"{w * 1000:.0f} / {med * 1000:.0f} ms", f"{raw / c / MB:.0f}",
                         f"{base_cpu / c:.2f}x"))
        if ALT.exists():
            # libdeflate's inflate alone, timed inside the process: the first pass into a fresh
            # output buffer (its page faults included), the later ones into the same buffer.
            first, warm = [], []
            for _ in range(max(3, a.repeat // 2)):
                r = subprocess.run(pin("0", [ALT, "libdeflate", "--passes", "4", corpus]),
                                   capture_output=True, text=True, check=True)
                summary = r.stderr.strip().splitlines()[-1]
                ms = [float(x) for x in summary.split("passes ")[1].split(" ms")[0].split()]
                first.append(ms[0])
                warm += ms[1:]
            for label, t in (("libdeflate, inflate call only, fresh buffer", min(first)),
                             ("libdeflate, inflate call only, reused buffer", min(warm))):
                rows.append((corpus.name, label, f"{raw / (t / 1e3) / MB:.0f}", "",
                             f"{base / (t / 1e3):.2f}x", f"{detect / (t / 1e3):.2f}x",
                             f"{t:.0f} ms (in process)", "", ""))
    print("| corpus | inflater | MB/s (best wall) | peak RSS | vs zlib-rs as built "
          "| vs zlib-rs + detection | best / median wall | MB/s per CPU-second "
          "| vs zlib-rs as built (CPU) |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
