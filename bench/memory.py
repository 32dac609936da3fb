"""The website's memory for the largest uploads, served exactly as the Procfile's web: line says.

    .venv/bin/python -m bench.memory            # prints JSON, writes bench/out/results/memory.json

Starts gunicorn with the Procfile's command (local backend, Procfile defaults: one worker, two
threads), then posts all-zero 50-megapixel PNGs (7071 x 7071; 48 KB as grey, 145 KB as RGB:
the cheapest way to make a worker hold the most pixels) to /api/colorize, one alone and two at
once, and reads the worker's peak resident memory (VmHWM in /proc, reset between cases through
/proc/PID/clear_refs). tests/test_web_memory.py runs the same measurement and holds the worker
under WORKER_BUDGET_MB.
"""
from __future__ import annotations

import argparse
import io
import json
import threading
from pathlib import Path

import requests
from PIL import Image

from bench.common import OUT, save_results
from bench.load import free_port, start_server, status_mb, stop, tree

SIDE = 7071  # 49.99 MP, just under the site's 50 MP limit
WORKER_BUDGET_MB = 450  # a 512 MB Heroku Basic dyno, less the gunicorn master and some headroom


def zero_png(mode: str, side: int = SIDE) -> bytes:
    buf = io.BytesIO()
    Image.new(mode, (side, side)).save(buf, format="PNG", compress_level=9)
    return buf.getvalue()


def post(url: str, png: bytes) -> requests.Response:
    return requests.post(url, files={"image": ("zeros.png", png, "image/png")}, timeout=120)


def at_once(url: str, png: bytes, count: int) -> list[int]:
    statuses: list[int] = []
    threads = [threading.Thread(target=lambda: statuses.append(post(url, png).status_code)) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(statuses)


def reset_peak(pid: int) -> None:
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # VmHWM := VmRSS


def measure(modes: tuple[str, ...] = ("L", "RGB"), log: Path | None = None) -> dict:
    """Worker RSS after start-up and its peaks for each case, in MB."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/api/colorize"
    log = log or OUT / "gunicorn-memory.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    server = start_server(port, {}, log)
    try:
        master, worker = tree(server.pid)[:2]
        result = {"worker_rss_after_start_mb": status_mb(worker, "VmRSS"), "master_rss_mb": status_mb(master, "VmRSS"),
                  "budget_mb": WORKER_BUDGET_MB, "cases": []}
        for mode in modes:
            png = zero_png(mode)
            for count in (1, 2):
                reset_peak(worker)
                statuses = at_once(url, png, count)
                result["cases"].append({"upload": f"{SIDE}x{SIDE} {mode} zeros, {len(png) // 1000} KB",
                                        "at_once": count, "statuses": statuses,
                                        "worker_peak_mb": status_mb(worker, "VmHWM"),
                                        "worker_rss_after_mb": status_mb(worker, "VmRSS")})
        return result
    finally:
        stop(server)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.parse_args(argv)
    result = measure()
    print(json.dumps(result, indent=2))
    save_results("memory", result)


if __name__ == "__main__":
    main()
