"""Re-tuning in place: what the result page costs the server on each slider move or pin.

    bench/quiet.sh .venv/bin/python -m bench.retune

The page sends the file it already holds again with a new vividness and
hints; this times that request, POST /api/colorize through Flask's test
client with the local model, for a 1-megapixel grey JPEG: without hints, and
with 1 and 10 hints. The browser adds its 150 ms debounce and the transfer.
"""
from __future__ import annotations

import io
import json

from app import create_app
from bench.common import load_results, percentiles, save_results, table, time_runs
from tests.helpers import photo_bytes

HINTS = [{"x": 100 + 90 * i, "y": 80 + 60 * i, "color": "#d02010"} for i in range(10)]


def measure(upload: bytes, hints: list[dict], runs: int = 10) -> dict:
    client = create_app({"TESTING": True}).test_client()

    def post() -> None:
        form = {"image": (io.BytesIO(upload), "photo.jpg"), "vividness": "1.4", "hints": json.dumps(hints)}
        assert client.post("/api/colorize", data=form, content_type="multipart/form-data").status_code == 200

    return percentiles(time_runs(post, 2, runs))


def main() -> None:
    upload = photo_bytes((1200, 834), "JPEG", "L")  # 1.0 MP
    results = load_results("retune")
    for count in (0, 1, 10):
        results[f"{count} hints"] = measure(upload, HINTS[:count])
        print(count, json.dumps(results[f"{count} hints"]), flush=True)
    save_results("retune", results)
    print(table(["hints", "p50 ms", "p95 ms"], [[k, f"{v['p50']:.0f}", f"{v['p95']:.0f}"] for k, v in results.items()]))


if __name__ == "__main__":
    main()
