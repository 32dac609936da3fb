"""Finding and framing photos: shared by training data, evaluation and sample grids.

Kept free of torch so that evaluation and the model-card grid need only the
runtime packages and Pillow.
"""
from __future__ import annotations

from pathlib import Path

from PIL import Image

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"}


def find_images(root: str | Path) -> list[Path]:
    """All image files below root, sorted so every run sees the same order."""
    files = sorted(p for p in Path(root).rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not files:
        raise FileNotFoundError(f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) found under {root}")
    return files


def center_square(img: Image.Image, size: int) -> Image.Image:
    """Centre-crop to a square and resize with Lanczos: the evaluation protocol."""
    side = min(img.size)
    left, top = (img.width - side) // 2, (img.height - side) // 2
    return img.resize((size, size), Image.LANCZOS, box=(left, top, left + side, top + side))
