"""Sample grids: one row per image, input L | model output | ground truth."""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from colorizer.engine import Colorizer
from colorizer.hints import Hint
from colorizer.lab import AB_SCALE, L_CENTER, lab_to_rgb, to_uint8
from training.evaluate import truth_hints
from training.photos import center_square
from training.sketch import pencil_sketch


def to_rgb(lightness: torch.Tensor, ab: torch.Tensor) -> np.ndarray:
    """Scaled model tensors L (1, H, W) and ab (2, H, W) -> uint8 RGB (H, W, 3)."""
    lab = torch.cat([(lightness + 1) * L_CENTER, ab * AB_SCALE]).permute(1, 2, 0)
    return to_uint8(lab_to_rgb(lab.float().cpu().numpy()))


def save_grid(lightness: torch.Tensor, fake_ab: torch.Tensor, real_ab: torch.Tensor, path: str | Path) -> None:
    """Batches L (N, 1, H, W), predicted and true ab (N, 2, H, W) -> PNG with N rows of 3 tiles."""
    rows = []
    for l, fake, real in zip(lightness, fake_ab, real_ab):
        gray = to_rgb(l, torch.zeros_like(real))
        rows.append(np.concatenate([gray, to_rgb(l, fake), to_rgb(l, real)], axis=1))
    Image.fromarray(np.concatenate(rows, axis=0)).save(path)



def model_card_grid(model_path: str | None, photos: list[str], sketches: list[str], out: str | Path,
                    size: int = 256, seed: int = 0, hinted: list[str] = (), hint_count: int = 5) -> None:
    """The model card's grid, made with the exported ONNX model as users get it.

    Photo rows: grayscale photo | colorized | original. Sketch rows: a
    synthetic pencil sketch of the photo | colorized sketch | original.
    Hint rows: grayscale photo with `hint_count` pins in the true colours at
    random points | colorized with those hints | original.
    """
    model = Colorizer.load(model_path)
    rng = np.random.default_rng(seed)
    rows = []
    for path, kind in [(p, "photo") for p in photos] + [(p, "sketch") for p in sketches] + \
            [(p, "hints") for p in hinted]:
        with Image.open(path) as img:
            truth = center_square(img.convert("RGB"), size)
        gray = np.asarray(truth.convert("L"))
        if kind == "sketch":
            gray = pencil_sketch(gray, rng)
        gray_rgb = Image.fromarray(gray).convert("RGB")
        hints = truth_hints(np.asarray(truth), hint_count, seed) if kind == "hints" else []
        colour = model.colorize(gray_rgb, hints=hints)
        rows.append(np.concatenate([np.asarray(draw_pins(gray_rgb, hints)), np.asarray(colour), np.asarray(truth)],
                                   axis=1))
    Image.fromarray(np.concatenate(rows, axis=0)).save(out)


def draw_pins(image: Image.Image, hints: list[Hint], radius: int = 5) -> Image.Image:
    """A copy of `image` with each hint drawn as a dot of its colour in a white ring."""
    pinned = image.copy()
    draw = ImageDraw.Draw(pinned)
    for hint in hints:
        box = (hint.x - radius, hint.y - radius, hint.x + radius, hint.y + radius)
        draw.ellipse(box, fill=hint.rgb, outline=(255, 255, 255), width=2)
    return pinned


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m training.samples", description=model_card_grid.__doc__.split("\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("photos", nargs="+", help="colour photos: one row each")
    p.add_argument("--sketch", action="append", default=[], help="photo to render as a pencil sketch (repeatable)")
    p.add_argument("--hinted", action="append", default=[], help="photo to colorize with hints from its truth (repeatable)")
    p.add_argument("--hint-count", type=int, default=5, help="hints per --hinted photo")
    p.add_argument("--model", default=None, help="ONNX model (default: models/colorizer.onnx)")
    p.add_argument("--out", default="models/samples.png", help="PNG to write")
    p.add_argument("--size", type=int, default=256, help="tile side in pixels")
    args = p.parse_args(argv)
    model_card_grid(args.model, args.photos, args.sketch, args.out, args.size, hinted=args.hinted,
                    hint_count=args.hint_count)


if __name__ == "__main__":
    main()
