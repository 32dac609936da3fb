"""Part 3: the website under load, served exactly as the Procfile's web: line says.

    bench/quiet.sh .venv/bin/python -m bench.load                       # Procfile defaults
    bench/quiet.sh .venv/bin/python -m bench.load --env GUNICORN_THREADS=4

Starts gunicorn with the Procfile's command (local backend, no Lambda API),
measures the CPU time one request costs the server (sequential requests,
utime + stime of the gunicorn processes from /proc), which gives the
machine's limit: cores / CPU seconds per request. Then wrk (Debian's:
`apt-get install -y wrk`) posts 1 MP photos at concurrency 8 for 60 s
(bench/post_photo.lua) and the server's throughput, latency percentiles,
errors and each worker's peak RSS (VmHWM) are recorded. wrk runs on the
same 2 cores, so it takes a little of the CPU the limit counts.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

from bench.common import OUT, ROOT, cached_photo, cores, load_results, percentiles, save_results, table

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
TARGET_SHARE = 0.8
LIMIT_S = 30.0  # Heroku's router gives up on a request after 30 s


def procfile_web() -> str:
    line = next(line for line in (ROOT / "Procfile").read_text().splitlines() if line.startswith("web:"))
    return line.split(":", 1)[1].strip()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tree(pid: int) -> list[int]:
    """pid and its children (the gunicorn master and its workers)."""
    children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    return [pid, *map(int, children)]


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / CLOCK_TICKS


def status_mb(pid: int, field: str) -> float:
    line = next(line for line in Path(f"/proc/{pid}/status").read_text().splitlines() if line.startswith(field))
    return round(int(line.split()[1]) / 1024, 1)


def start_server(port: int, overrides: dict[str, str], log: Path) -> subprocess.Popen:
    env = {**os.environ, "PORT": str(port), "SECRET_KEY": "bench",
           "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}", **overrides}
    for name in ("DYNO", "COLORIZER_API_URL"):  # local backend, not "on Heroku"
        env.pop(name, None)
    server = subprocess.Popen(["bash", "-c", "exec " + procfile_web()], env=env, cwd=ROOT, start_new_session=True,
                              stdout=log.open("w"), stderr=subprocess.STDOUT)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).ok:
                return server
        except requests.ConnectionError:
            time.sleep(0.3)
    stop(server)
    raise RuntimeError(f"gunicorn did not answer within 60 s; see {log}")


def stop(server: subprocess.Popen) -> None:
    os.killpg(server.pid, signal.SIGTERM)  # our own session: gunicorn's master and workers
    server.wait(timeout=30)


def single_requests(url: str, photo: bytes, server: subprocess.Popen, runs: int) -> dict:
    """Sequential requests: latency and the server's CPU time per request."""
    files = {"image": ("photo.jpg", photo, "image/jpeg")}
    for _ in range(3):
        assert requests.post(url, files=files, timeout=LIMIT_S).ok
    pids = tree(server.pid)
    cpu_before, latencies = cpu_seconds(pids), []
    for _ in range(runs):
        started = time.perf_counter()
        response = requests.post(url, files=files, timeout=LIMIT_S)
        latencies.append((time.perf_counter() - started) * 1000)
        assert response.ok and response.headers["X-Colorizer-Backend"] == "local", response.status_code
    cpu_ms = (cpu_seconds(pids) - cpu_before) / runs * 1000
    return {"latency_ms": percentiles(latencies), "server_cpu_ms_per_request": round(cpu_ms, 1),
            "limit_rps": round(cores() / (cpu_ms / 1000), 2)}


def load(url: str, photo: Path, server: subprocess.Popen, connections: int, seconds: int) -> dict:
    pids = tree(server.pid)
    cpu_before = cpu_seconds(pids)
    samples: dict[int, list[float]] = {pid: [] for pid in pids[1:]}
    running = threading.Event()
    running.set()

    def sample() -> None:  # each worker's RSS every 2 s: stable, or growing?
        while running.is_set():
            for pid in samples:
                samples[pid].append(status_mb(pid, "VmRSS"))
            time.sleep(2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    command = ["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds}s", "--timeout", f"{LIMIT_S:g}s",
               "-s", str(ROOT / "bench" / "post_photo.lua"), url]
    result = subprocess.run(command, env={**os.environ, "BENCH_PHOTO": str(photo)}, capture_output=True, text=True,
                            check=True)
    running.clear()
    sampler.join()
    stats = json.loads(result.stdout.strip().splitlines()[-1])
    duration = stats["duration_us"] / 1e6
    return {"command": " ".join(command[:-3] + ["bench/post_photo.lua", url]), "requests": stats["requests"],
            "throughput_rps": round(stats["requests"] / duration, 2), "errors": stats["errors"],
            "latency_ms": {k: round(v / 1000, 1) for k, v in stats["latency_us"].items()},
            "server_cpu_share": round((cpu_seconds(pids) - cpu_before) / duration / cores(), 2),
            "workers": [{"pid": pid, "peak_rss_mb": status_mb(pid, "VmHWM"), "rss_mb": status_mb(pid, "VmRSS"),
                         "rss_every_2s_mb": {"first": samples[pid][0], "min": min(samples[pid]),
                                             "max": max(samples[pid]), "last": samples[pid][-1],
                                             "n": len(samples[pid])}}
                        for pid in pids[1:]],
            "master_rss_mb": status_mb(pids[0], "VmRSS")}


def run(overrides: dict[str, str], connections: int, seconds: int, single_runs: int) -> dict:
    photo = cached_photo(1)
    port = free_port()
    url = f"http://127.0.0.1:{port}/api/colorize"
    log = OUT / "gunicorn.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    server = start_server(port, overrides, log)
    try:
        single = single_requests(url, photo.read_bytes(), server, single_runs)
        loaded = load(url, photo, server, connections, seconds)
    finally:
        stop(server)
    errors = sum(loaded["errors"].values())
    return {"procfile_web": procfile_web(), "env": overrides, "photo": photo.name, "single": single, "load": loaded,
            "share_of_limit": round(loaded["throughput_rps"] / single["limit_rps"], 2),
            "meets_target": loaded["throughput_rps"] >= TARGET_SHARE * single["limit_rps"] and errors == 0
            and loaded["latency_ms"]["max"] < LIMIT_S * 1000}


def report(results: dict) -> str:
    rows = []
    for name, r in results.items():
        s, ld = r["single"], r["load"]
        rows.append([name, f"{s['latency_ms']['p50']:.0f}", f"{s['server_cpu_ms_per_request']:.0f}",
                     f"{s['limit_rps']:.1f}", f"{ld['throughput_rps']:.1f}", f"{r['share_of_limit']:.0%}",
                     f"{ld['latency_ms']['p50']:.0f} / {ld['latency_ms']['p95']:.0f} / {ld['latency_ms']['p99']:.0f}",
                     f"{ld['latency_ms']['max']:.0f}", sum(ld["errors"].values()),
                     ", ".join(f"{w['peak_rss_mb']:.0f}" for w in ld["workers"]),
                     "✓" if r["meets_target"] else "✗"])
    return table(["settings", "single p50 ms", "server CPU ms/request", "limit req/s", "throughput req/s",
                  "of limit", "p50 / p95 / p99 ms", "max ms", "errors", "worker peak RSS MB", "target"], rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", nargs="*", default=[], metavar="NAME=VALUE",
                        help="environment for the Procfile's command (e.g. GUNICORN_THREADS=4)")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--single-runs", type=int, default=30)
    args = parser.parse_args(argv)
    overrides = dict(item.split("=", 1) for item in args.env)
    name = " ".join(args.env) or "Procfile defaults"
    results = load_results("load")
    results[name] = run(overrides, args.connections, args.seconds, args.single_runs)
    print(json.dumps(results[name], indent=2))
    save_results("load", results)
    print(report(results))


if __name__ == "__main__":
    main()
