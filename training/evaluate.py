"""Score an ONNX colorizer on a folder of colour photos, against the grayscale baseline.

    python -m training.evaluate --model models/colorizer.onnx ../shared/data/photos/val

Protocol: each photo is centre-cropped to a square and resized to 256x256
(Lanczos), colorized from its L channel alone, and compared with the photo
as RGB uint8: PSNR and SSIM (data range 255), colourfulness (Hasler &
Suesstrunk, |rg|/|yb| variant) and its absolute gap to the photo's own.
The baseline keeps the true L and sets ab = 0, i.e. the grayscale photo.

--sketches adds a row for the model given a synthetic pencil sketch of each
photo instead of its L (training/sketch.py): a sketch has no true colours, so
only its colourfulness says much (PSNR against the photo is shown too).

--hints 1 5 10 20 also scores the model given that many colour hints drawn
from the truth: random points (seeded by the photo's name, so every model
gets the same points) with the true colour there, written and parsed as the
command line's `--hint X,Y,#RRGGBB`.
"""
from __future__ import annotations

import argparse
import json
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

from colorizer.engine import Colorizer
from colorizer.hints import Hint, parse_hint
from training.metrics import colourfulness, psnr, ssim
from training.photos import center_square, find_images
from training.sketch import pencil_sketch

EVAL_SIZE = 256


def score(pred: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """All metrics of one prediction against its ground truth (uint8 RGB)."""
    c_pred, c_truth = colourfulness(pred), colourfulness(truth)
    return {"psnr": psnr(pred, truth), "ssim": ssim(pred, truth), "colourfulness": c_pred,
            "colourfulness_gap": abs(c_pred - c_truth), "truth_colourfulness": c_truth}


def truth_hints(truth: np.ndarray, count: int, seed: int) -> list[Hint]:
    """`count` hints at random pixels of `truth` (uint8 RGB) with the true colour there, via the CLI's format."""
    rng = np.random.default_rng(seed)
    height, width = truth.shape[:2]
    hints = []
    for _ in range(count):
        x, y = int(rng.integers(width)), int(rng.integers(height))
        hints.append(parse_hint(f"{x},{y},#{bytes(truth[y, x]).hex()}"))
    return hints


def evaluate(model: Colorizer, folder: str | Path, limit: int = 0, hint_counts: tuple[int, ...] = (),
             sketches: bool = False) -> dict[str, dict[str, float]]:
    """Mean metrics over the folder for the model, the grayscale baseline, the model with hints and on sketches."""
    files = find_images(folder)
    if limit:
        files = files[:limit]
    rows: dict[str, list[dict[str, float]]] = {"model": [], "grayscale": []}
    rows |= {f"{n} hints": [] for n in hint_counts} | ({"sketches": []} if sketches else {})
    for path in files:
        with Image.open(path) as img:
            truth_img = center_square(img.convert("RGB"), EVAL_SIZE)
        truth = np.asarray(truth_img)
        rows["model"].append(score(np.asarray(model.colorize(truth_img)), truth))
        rows["grayscale"].append(score(np.asarray(model.colorize(truth_img, vividness=0.0)), truth))
        seed = zlib.crc32(path.name.encode())  # the same points and strokes for every model
        for n in hint_counts:
            hints = truth_hints(truth, n, seed)
            rows[f"{n} hints"].append(score(np.asarray(model.colorize(truth_img, hints=hints)), truth))
        if sketches:
            sketch = Image.fromarray(pencil_sketch(np.asarray(truth_img.convert("L")), np.random.default_rng(seed)))
            rows["sketches"].append(score(np.asarray(model.colorize(sketch.convert("RGB"))), truth))
    means = {name: {k: float(np.mean([r[k] for r in rs])) for k in rs[0]} for name, rs in rows.items()}
    for m in means.values():
        m["images"] = len(files)
    return means


def format_table(results: dict[str, dict[str, float]]) -> str:
    """Markdown table, one row per system."""
    lines = ["| system | PSNR (dB) | SSIM | colourfulness | gap to truth |", "|---|---|---|---|---|"]
    for name, m in results.items():
        lines.append(f"| {name} | {m['psnr']:.2f} | {m['ssim']:.4f} | {m['colourfulness']:.1f} "
                     f"| {m['colourfulness_gap']:.1f} |")
    truth = next(iter(results.values()))["truth_colourfulness"]
    lines.append(f"| ground truth | - | - | {truth:.1f} | 0 |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("folder", help="folder of colour photos, searched recursively")
    p.add_argument("--model", default=None, help="ONNX model (default: models/colorizer.onnx or $COLORIZER_MODEL_PATH)")
    p.add_argument("--limit", type=int, default=0, help="score only the first N photos (0 = all)")
    p.add_argument("--json", default=None, help="also write the results to this JSON file")
    p.add_argument("--hints", type=int, nargs="*", default=[], metavar="N",
                   help="also score with N colour hints drawn from the truth, for each N given")
    p.add_argument("--sketches", action="store_true", help="also score the model on pencil sketches of the photos")
    p.add_argument("--size", type=int, default=None, help="working size to run the model at (default: the model's)")
    p.add_argument("--no-mirror", action="store_true",
                   help="run the network once per picture, without averaging in its mirror image's colour")
    args = p.parse_args(argv)

    try:
        model = Colorizer.load(args.model, size=args.size, mirror=not args.no_mirror)
        results = evaluate(model, args.folder, args.limit, tuple(args.hints), args.sketches)
    except FileNotFoundError as exc:  # no model, or no photos: one line, not a traceback
        raise SystemExit(str(exc)) from exc
    print(json.dumps(results, indent=2))
    print(format_table(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
