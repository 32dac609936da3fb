"""Part 2: end-to-end colorization of 0.25, 1, 12 and 48 MP JPEGs, stage by stage, and peak memory.

    bench/quiet.sh .venv/bin/python -m bench.pipeline --sizes 1 12 --paths library api

Each (path, photo) pair runs in a fresh interpreter: imports, model load and
three warm-up colorizations of a 64x64 image first, then the baseline RSS is
taken and the peak-RSS watermark reset, then the photo is colorized `runs`
times. Peak memory growth is the peak RSS (VmHWM) after the runs minus that
baseline, so it includes the upload's bytes, the decoded image, the result
and its PNG. Paths:

  library  bytes -> colorizer.imageio.open_image -> Colorizer.colorization -> to_png  (what the CLI and Lambda do)
  api      a multipart POST /api/colorize through the Flask app's WSGI callable
           (app.create_app(), local backend), response body consumed

Stages are timed by wrapping the library's own functions (nothing is
re-implemented here): decode = open_image minus EXIF and mode conversion;
resize = predict_ab minus inference (the downscale to the working size and
its L); "png" is Colorization.to_png's wall time, which paints each band just
before deflating it (code before that change: "bands" is apply_ab's wall time,
then to_png's), and L extraction (a band's L*, from
its grey or RGB pixels), ab upsample and Lab->RGB are the per-band calls,
summed over the bands: the engine runs bands side by side on the cores, so
those three can add up to more than their stage (their share of the work, not of
the wall time); "rest" is the rest of the request (multipart parsing, Flask and the response for `api`;
freeing the images for both). `--src DIR` runs
another checkout's colorizer/ (e.g. the code before optimisation).
"""
from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import threading
import time
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path

from bench.common import (PYTHON, ROOT, cached_photo, load_results, peak_rss_bytes, reset_peak_rss, rss_bytes,
                          save_results, table)

SIZES = (0.25, 1, 12, 48)
RUNS = {0.25: 20, 1: 15, 12: 5, 48: 3}
STAGES = ("decode", "exif", "to_rgb", "resize", "inference", "l_extraction", "ab_upsample", "lab_to_rgb",
          "bands", "png", "rest", "total")
TARGETS_MS = {1: 150, 12: 1500}
TARGET_BYTES_PER_PIXEL = 24


class Stages:
    """Wall time per stage within one run, filled by wrappers around the library's functions.

    The engine's bands call the wrappers from several threads at once: a lock keeps every sum whole.
    """

    def __init__(self) -> None:
        self.ms: dict[str, float] = defaultdict(float)
        self.depth: dict[str, int] = defaultdict(int)
        self.lock = threading.Lock()

    @contextmanager
    def timing(self, stage: str):
        with self.lock:
            self.depth[stage] += 1
        started = time.perf_counter()
        try:
            yield
        finally:
            with self.lock:
                self.ms[stage] += (time.perf_counter() - started) * 1000
                self.depth[stage] -= 1

    def wrap(self, owner, name: str, stage: str, unless: str | None = None) -> None:
        """Replace owner.name by a timed wrapper; not counted while inside stage `unless`."""
        original = getattr(owner, name)

        def timed(*args, **kwargs):
            if unless and self.depth[unless]:
                return original(*args, **kwargs)
            with self.timing(stage):
                return original(*args, **kwargs)

        setattr(owner, name, timed)


def instrument(stages: Stages) -> None:
    """Wrap the pipeline's functions (before anything imports them by name)."""
    from PIL import ImageOps

    from colorizer import engine, imageio

    stages.wrap(imageio, "open_image", "open_image")
    stages.wrap(ImageOps, "exif_transpose", "exif")
    stages.wrap(imageio, "_to_colorizer_mode", "to_rgb")
    stages.wrap(engine.Colorizer, "predict_ab", "predict_ab")
    stages.wrap(engine, "apply_ab", "apply_ab")
    if hasattr(engine, "_band_lightness"):  # a band's L* (the code before it: rgb_to_l, after any RGB conversion)
        stages.wrap(engine, "_band_lightness", "l_extraction")
    else:
        stages.wrap(engine, "rgb_to_l", "l_extraction", unless="predict_ab")
    stages.wrap(engine, "_resize_rows", "ab_upsample")
    for name in ("lab_to_rgb8", "lab_to_rgb", "to_uint8"):  # lab_to_rgb + to_uint8: the code before optimisation
        if hasattr(engine, name):
            stages.wrap(engine, name, "lab_to_rgb")
    stages.wrap(imageio, "to_png", "png")
    if hasattr(engine, "Colorization"):
        stages.wrap(engine.Colorization, "to_png", "png")


def derive(ms: dict[str, float], total: float) -> dict[str, float]:
    """The table's stage times from the wrapped (inclusive) ones."""
    out = {key: ms.get(key, 0.0) for key in ("exif", "to_rgb", "l_extraction", "ab_upsample", "lab_to_rgb", "png")}
    out["decode"] = ms["open_image"] - out["exif"] - out["to_rgb"]
    out["inference"] = ms.get("inference", 0.0)
    out["resize"] = ms["predict_ab"] - out["inference"]
    out["bands"] = ms["apply_ab"]
    out["rest"] = total - ms["open_image"] - ms["predict_ab"] - ms["apply_ab"] - out["png"]
    out["total"] = total
    return out


def child(path: str, photo: Path, runs: int, band_pixels: int | None) -> dict:
    """Runs in a fresh interpreter: load, warm up, take the RSS baseline, colorize `runs` times."""
    stages = Stages()
    instrument(stages)
    from PIL import Image

    from colorizer import engine, imageio
    from bench.common import cores

    if band_pixels:
        engine.BAND_PIXELS = band_pixels

    if path == "api":
        os.environ.setdefault("SECRET_KEY", "bench")
        from werkzeug.test import EnvironBuilder

        from app import create_app

        app = create_app()
        model = app.extensions["backends"].model

        def colorize(data: bytes) -> int:
            builder = EnvironBuilder(method="POST", path="/api/colorize",
                                     data={"image": (io.BytesIO(data), photo.name)})
            environ = builder.get_environ()  # body already encoded: what the server receives
            builder.close()
            status = []
            started = time.perf_counter()
            body = app(environ, lambda s, headers, exc_info=None: status.append(s))
            size = sum(len(chunk) for chunk in body)
            stages.ms["request"] = (time.perf_counter() - started) * 1000
            assert status[0].startswith("200"), status
            return size
    else:
        model = engine.Colorizer.load(threads=cores())

        def colorize(data: bytes) -> int:
            started = time.perf_counter()
            image = imageio.open_image(data)
            if hasattr(model, "colorization"):  # painted band by band as its PNG is deflated
                size = len(model.colorization(image).to_png())
            else:  # a --src checkout from before that
                size = len(imageio.to_png(model.colorize(image)))
            stages.ms["request"] = (time.perf_counter() - started) * 1000
            return size

    original_run = model.session.run

    def timed_run(*args, **kwargs):
        with stages.timing("inference"):
            return original_run(*args, **kwargs)

    model.session = _SessionProxy(model.session, timed_run)
    buf = io.BytesIO()
    Image.new("L", (64, 64), 128).save(buf, "PNG")
    for _ in range(3):  # warm-up: lazy imports; onnxruntime grows its arena by ~20 MB on the *second* run
        colorize(buf.getvalue())
    baseline = rss_bytes()
    reset_peak_rss()
    data = photo.read_bytes()
    samples, png_bytes = [], 0
    for _ in range(runs):
        stages.ms.clear()
        png_bytes = colorize(data)
        samples.append(derive(stages.ms, stages.ms["request"]))
    with Image.open(photo) as img:
        pixels = img.width * img.height
    return {"samples": samples, "pixels": pixels, "jpeg_bytes": len(data), "png_bytes": png_bytes,
            "colorizer": str(Path(engine.__file__).parent),
            "baseline_rss": baseline, "peak_rss_growth": peak_rss_bytes() - baseline}


class _SessionProxy:
    """The onnxruntime session with `run` timed (InferenceSession's attributes are read-only)."""

    def __init__(self, session, run) -> None:
        self._session, self.run = session, run

    def __getattr__(self, name):
        return getattr(self._session, name)


def run_child(path: str, megapixels: float, grey: bool, runs: int, src: Path | None, band_pixels: int) -> dict:
    photo = cached_photo(megapixels, grey)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(str(p) for p in (src, ROOT) if p)}
    if src:
        env["COLORIZER_MODEL_PATH"] = str(ROOT / "models" / "colorizer.onnx")
    command = [PYTHON, "-m", "bench.pipeline", "--child", path, str(photo), str(runs),
               "--band-pixels", str(band_pixels)]
    # python -m puts the working directory first on sys.path: it decides which colorizer/ is imported.
    result = subprocess.run(command, env=env, capture_output=True, text=True, cwd=src or ROOT)
    if result.returncode:
        raise RuntimeError(f"{' '.join(command)} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.splitlines()[-1])


def summarise(raw: dict) -> dict:
    """Median per stage over the runs, plus min total and memory per pixel."""
    stages = {stage: round(statistics.median(s[stage] for s in raw["samples"]), 1) for stage in STAGES}
    return {"stages_ms": stages, "total_min_ms": round(min(s["total"] for s in raw["samples"]), 1),
            "runs": len(raw["samples"]), "pixels": raw["pixels"], "colorizer": raw["colorizer"],
            "jpeg_mb": round(raw["jpeg_bytes"] / 1e6, 2),
            "png_mb": round(raw["png_bytes"] / 1e6, 2), "baseline_rss_mb": round(raw["baseline_rss"] / 2**20),
            "peak_growth_mb": round(raw["peak_rss_growth"] / 2**20),
            "bytes_per_pixel": round(raw["peak_rss_growth"] / raw["pixels"], 1)}


def report(results: dict) -> str:
    headers = ["code", "path", "input", "MP", *STAGES[:-1], "total ms (median / min)", "target",
               "peak RSS growth", "B/px"]
    rows = []
    for key, r in results.items():
        code, path, kind, mp = key.split("/")
        mp = float(mp)
        s = r["stages_ms"]
        target = TARGETS_MS.get(mp)
        verdict = f"< {target} {'✓' if target and s['total'] < target else '✗'}" if target else ""
        cells = ("–" if k not in s else f"{s[k]:.0f}" if s[k] >= 10 else f"{s[k]:.1f}"  # results saved before a stage
                 for k in STAGES[:-1])
        rows.append([code, path, kind, f"{mp:g}", *cells,
                     f"{s['total']:.0f} / {r['total_min_ms']:.0f}", verdict,
                     f"{r['peak_growth_mb']} MiB", f"{r['bytes_per_pixel']}"])
    text = table(headers, rows)
    pairs = [(key.split("/", 1)[1], r, results[key.replace("before/", "now/", 1)]) for key, r in results.items()
             if key.startswith("before/") and key.replace("before/", "now/", 1) in results]
    if pairs:
        text += "\n\n" + table(["path / input / MP", "before ms", "now ms", "speed-up", "before B/px", "now B/px"],
                                 [[key, f"{b['stages_ms']['total']:.0f}", f"{n['stages_ms']['total']:.0f}",
                                   f"{b['stages_ms']['total'] / n['stages_ms']['total']:.1f}x",
                                   b["bytes_per_pixel"], n["bytes_per_pixel"]] for key, b, n in pairs])
    return text


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--child", nargs=3, metavar=("PATH", "PHOTO", "RUNS"), help=argparse.SUPPRESS)
    parser.add_argument("--sizes", nargs="+", type=float, default=list(SIZES), help="megapixels")
    parser.add_argument("--paths", nargs="+", choices=("library", "api"), default=["library", "api"])
    parser.add_argument("--inputs", nargs="+", choices=("grey", "colour"), default=["grey"],
                        help="grey JPEGs (a grayscale photo) and/or colour ones (a phone photo)")
    parser.add_argument("--src", type=Path, help="run the colorizer/ package of this directory instead")
    parser.add_argument("--label", default="now", help="code label in the results (e.g. 'before')")
    parser.add_argument("--band-pixels", type=int, default=0, help="override colorizer.engine.BAND_PIXELS")
    args = parser.parse_args(argv)
    if args.child:
        path, photo, runs = args.child
        print(json.dumps(child(path, Path(photo), int(runs), args.band_pixels)))
        return
    results = load_results("pipeline")
    for kind in args.inputs:
        for path in args.paths:
            for mp in args.sizes:
                key = f"{args.label}/{path}/{kind}/{mp:g}"
                raw = run_child(path, mp, kind == "grey", RUNS.get(mp, 5), args.src, args.band_pixels)
                results[key] = summarise(raw)
                print(key, json.dumps(results[key]), flush=True)
    save_results("pipeline", results)
    print(report(results))


if __name__ == "__main__":
    main()
