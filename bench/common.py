"""What every benchmark part shares: the machine's description, statistics, test photos, output files."""
from __future__ import annotations

import io
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from importlib.metadata import version
from pathlib import Path

import numpy as np

from colorizer.threads import usable_cores

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"  # git-ignored: generated photos, exported peers, logs
RESULTS = OUT / "results"  # this run's JSON; python -m bench archives it to bench/out/run-<time>/
PYTHON = sys.executable
cores = usable_cores  # CPU cores this process may run on (2 on the dev VM), as the engine counts them


def machine() -> dict:
    """CPU model, cores, memory and package versions, for RESULTS.md."""
    lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    model = next((line.split(":", 1)[1].strip() for line in lscpu.splitlines() if line.startswith("Model name")), "?")
    mem_kb = int(next(line.split()[1] for line in open("/proc/meminfo") if line.startswith("MemTotal")))
    return {"cpu": model, "cores": cores(), "memory_gib": round(mem_kb / 2**20, 1), "python": platform.python_version(),
            "kernel": platform.release(), "load_avg_1m": round(os.getloadavg()[0], 2),
            **{pkg: version(pkg) for pkg in ("numpy", "onnxruntime", "torch", "pillow", "flask", "gunicorn")}}


def time_runs(run, warmup: int, runs: int) -> list[float]:
    """Call run() `warmup` times untimed, then `runs` times: each call's wall time in ms."""
    for _ in range(warmup):
        run()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        run()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def percentiles(samples_ms: list[float]) -> dict:
    """p50/p95/p99 (linear interpolation), mean and count of millisecond samples."""
    p50, p95, p99 = np.percentile(samples_ms, [50, 95, 99])
    return {"p50": round(float(p50), 2), "p95": round(float(p95), 2), "p99": round(float(p99), 2),
            "mean": round(statistics.fmean(samples_ms), 2), "n": len(samples_ms)}


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(field + ":"))


def rss_bytes() -> int:
    """This process's resident set size now."""
    return _status_kb("VmRSS") * 1024


def reset_peak_rss() -> None:
    """Restart the peak-RSS watermark from the current RSS (Linux: clear_refs 5)."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def peak_rss_bytes() -> int:
    """Peak resident set size since start or the last reset_peak_rss().

    VmHWM rather than getrusage's ru_maxrss: a child process inherits its
    parent's ru_maxrss across fork and exec, which would hide its own peak.
    """
    return _status_kb("VmHWM") * 1024


def photo_jpeg(megapixels: float, grey: bool = True, seed: int = 0, quality: int = 90) -> bytes:
    """A 4:3 photo-like JPEG: smooth shading, hard-edged shapes and film grain.

    Grain keeps the JPEG as large and as slow to decode as a real photo of
    that size (a smooth synthetic picture compresses to almost nothing).
    Colour photos play a phone's portrait shot: EXIF orientation 6 (rotate
    90 degrees on display), which open_image must apply. Grey ones play a
    scanned print: no EXIF.
    """
    from PIL import Image, ImageDraw

    width = int(round((megapixels * 1e6 * 4 / 3) ** 0.5))
    height = int(round(width * 3 / 4))
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    shade = 128 + 90 * np.sin(x / (width / 7)) * np.cos(y / (height / 5))
    rgb = np.stack([shade, 255 * x / width, 255 * y / height], axis=-1) + rng.normal(0, 6, (height, width, 1))
    image = Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(12):
        cx, cy, r = rng.integers(0, width), rng.integers(0, height), int(min(width, height) * rng.uniform(0.05, 0.2))
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=tuple(int(v) for v in rng.integers(0, 256, 3)))
    buf = io.BytesIO()
    if grey:
        image.convert("L").save(buf, format="JPEG", quality=quality)
    else:
        exif = Image.Exif()
        exif[0x0112] = 6  # Orientation: the camera was turned 90 degrees clockwise
        image.save(buf, format="JPEG", quality=quality, exif=exif)
    return buf.getvalue()


def cached_photo(megapixels: float, grey: bool = True) -> Path:
    """photo_jpeg() written once to bench/out/photos/ and reused by every part and process."""
    path = OUT / "photos" / f"{'grey' if grey else 'colour-exif6'}-{megapixels:g}mp.jpg"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(photo_jpeg(megapixels, grey))
    return path


def load_results(name: str) -> dict:
    """Results of part `name` so far in this run (parts add to them one invocation at a time)."""
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text())["results"] if path.exists() else {}


def save_results(name: str, results: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps({"machine": machine(), "results": results}, indent=2))
    return path


def table(headers: list[str], rows: list[list]) -> str:
    """A Markdown table."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)
