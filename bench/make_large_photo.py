"""Make a phone-sized grey JPEG from any photo, for timing and memory checks of the CLI.

    python bench/make_large_photo.py SOURCE.jpg bench/out/photo-12mp.jpg --size 4000x3000

The source is upscaled and given film grain, so the JPEG is as large and as
costly to decode as a real 12-megapixel photo (a smooth upscale compresses
to almost nothing).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image


def make(source: Path, target: Path, width: int, height: int, grain: float = 6.0, seed: int = 0) -> None:
    grey = Image.open(source).convert("L").resize((width, height), Image.BICUBIC)
    noise = np.random.default_rng(seed).normal(0.0, grain, (height, width))
    pixels = np.clip(np.asarray(grey, np.float32) + noise, 0, 255).astype(np.uint8)
    target.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).convert("RGB").save(target, quality=92)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", type=Path, help="any photo")
    parser.add_argument("target", type=Path, help="JPEG to write")
    parser.add_argument("--size", default="4000x3000", help="WIDTHxHEIGHT (default: %(default)s)")
    args = parser.parse_args()
    width, height = map(int, args.size.lower().split("x"))
    make(args.source, args.target, width, height)
    print(f"wrote {args.target} ({args.target.stat().st_size / 1e6:.1f} MB, {width}x{height})")


if __name__ == "__main__":
    main()
