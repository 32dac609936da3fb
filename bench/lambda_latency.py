"""Cold start and warm latency of the Lambda handler, on this machine.

    .venv/bin/python bench/lambda_latency.py [--processes 5] [--runs 5]

Cold start is what Lambda's init phase does: a fresh interpreter imports
lambda_api.handler (numpy, onnxruntime, Pillow, then the model session).
Warm latency is one lambda_handler call on an HTTP API 2.0 event, from
the base64 body in to the base64 PNG out, in a process that has already
served a request. Both are measured twice: with the repo's venv on all
cores, and as deployed: the built artifact alone (build/lambda/package,
made by `python -m lambda_api.build`: its pinned wheels, shipped bytecode,
no site-packages) pinned to one core with COLORIZER_THREADS=1, as the
template's 1769 MB (one vCPU) runs it. Peak RSS sizes the function's
memory. Results go to stdout as JSON.
"""
from __future__ import annotations

import argparse
import base64
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ARTIFACT = ROOT / "build" / "lambda" / "package"
# name -> (width, height, format): what the web app sends (<= 1 MP grey PNG), a small JPEG,
# a 12 MP phone photo and a 48 MP one (near the 50 MP intake limit, 2.4 MB as JPEG), both
# shrunk by the handler to fit Lambda's 6 MB response; the last sets the peak memory.
CASES = {"web_app_1mp_png": (1152, 864, "PNG"), "jpeg_640x480": (640, 480, "JPEG"),
         "jpeg_12mp": (4000, 3000, "JPEG"), "jpeg_48mp": (8000, 6000, "JPEG")}


def child(runs: int, one_cpu: bool) -> dict:
    """Run inside the measured interpreter: import the handler (cold), then time warm calls."""
    if one_cpu:
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    started = time.perf_counter()
    from lambda_api.handler import lambda_handler  # the cold start: imports + model load

    cold_ms = (time.perf_counter() - started) * 1000
    warm = {}
    for name, (width, height, fmt) in CASES.items():
        event = {"version": "2.0", "headers": {"content-type": f"image/{fmt.lower()}"},
                 "requestContext": {"http": {"method": "POST"}},
                 "body": base64.b64encode(_photo(width, height, fmt)).decode(), "isBase64Encoded": True}
        assert lambda_handler(event, None)["statusCode"] == 200  # warm-up
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            lambda_handler(event, None)
            times.append((time.perf_counter() - started) * 1000)
        warm[name] = times
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # ru_maxrss is in kB on Linux
    return {"cold_ms": cold_ms, "warm_ms": warm, "peak_rss_mb": peak_rss_mb}


def _photo(width: int, height: int, fmt: str) -> bytes:
    """A grey photo-like test picture: a gradient, stripes and a disc (Pillow imported after the cold start)."""
    from PIL import Image, ImageDraw

    image = Image.linear_gradient("L").resize((width, height))
    draw = ImageDraw.Draw(image)
    for x in range(0, width, max(1, width // 40)):
        draw.line((x, 0, x + height // 3, height), fill=(x * 7) % 256, width=max(1, width // 200))
    draw.ellipse((width // 4, height // 4, width // 2, height // 2), fill=200)
    buf = io.BytesIO()
    image.save(buf, fmt, **({"quality": 90} if fmt == "JPEG" else {}))
    return buf.getvalue()


def measure(label: str, command: list[str], env: dict, processes: int, runs: int) -> dict:
    samples = []
    for _ in range(processes):
        result = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
        samples.append(json.loads(result.stdout.splitlines()[-1]))
    cold = [s["cold_ms"] for s in samples]
    warm = {name: sorted(t for s in samples for t in s["warm_ms"][name]) for name in CASES}
    return {
        "setup": label,
        "cold_start_ms": {"median": round(statistics.median(cold)), "min": round(min(cold)), "max": round(max(cold))},
        "warm_ms": {name: {"median": round(statistics.median(t)), "p90": round(t[int(0.9 * (len(t) - 1))])}
                    for name, t in warm.items()},
        "peak_rss_mb": round(max(s["peak_rss_mb"] for s in samples)),
        "samples": {"processes": processes, "warm_calls_per_case": processes * runs},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=5, help="fresh interpreters (cold starts) per setup")
    parser.add_argument("--runs", type=int, default=5, help="warm calls per case in each interpreter")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--one-cpu", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.runs, args.one_cpu)))
        return
    script = [str(Path(__file__).resolve()), "--child", "--runs", str(args.runs)]
    base_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "COLORIZER_API_KEY": ""}
    results = [measure(f"repo venv, {len(os.sched_getaffinity(0))} cores", [sys.executable, *script],
                       {**base_env, "PYTHONPATH": str(ROOT)}, args.processes, args.runs)]
    if ARTIFACT.is_dir():  # -S: no site-packages; the artifact's /var/task is read-only, so write no bytecode
        env = {**base_env, "PYTHONPATH": str(ARTIFACT), "PYTHONDONTWRITEBYTECODE": "1", "COLORIZER_THREADS": "1"}
        results.append(measure("lambda artifact, 1 core, COLORIZER_THREADS=1",
                               [sys.executable, "-S", *script, "--one-cpu"], env, args.processes, args.runs))
    machine = {"cpus": os.cpu_count(), "python": sys.version.split()[0], "load_avg_1m": os.getloadavg()[0]}
    print(json.dumps({"machine": machine, "results": results}, indent=2))


if __name__ == "__main__":
    main()
