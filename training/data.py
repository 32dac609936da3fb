"""Colour photos -> (L, ab) training pairs.

Any folder tree of photos works (the ImageNet train layout as is): files are
found recursively. Each item is decoded in a DataLoader worker, randomly
cropped and flipped, converted to Lab with the shared colorizer.lab, and
scaled to the model's I/O contract. Grayscale photos carry no colour to
learn from, so they are detected on load and replaced by another photo.
"""
from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps
from torch.utils.data import Dataset

from colorizer.lab import encode_ab, encode_l, rgb_to_l, rgb_to_lab
from training.photos import center_square, find_images
from training.sketch import pencil_sketch

MIN_MEAN_CHROMA = 3.0  # mean sqrt(a^2 + b^2) below this counts as grayscale


def random_resized_crop(img: Image.Image, size: int, rng: random.Random, scale=(0.3, 1.0)) -> Image.Image:
    """A random crop covering `scale` of the area with aspect 3/4..4/3, resized to size x size."""
    area = img.width * img.height
    for _ in range(10):
        target = area * rng.uniform(*scale)
        aspect = np.exp(rng.uniform(np.log(3 / 4), np.log(4 / 3)))
        w, h = int(round((target * aspect) ** 0.5)), int(round((target / aspect) ** 0.5))
        if 0 < w <= img.width and 0 < h <= img.height:
            left, top = rng.randint(0, img.width - w), rng.randint(0, img.height - h)
            return img.resize((size, size), Image.BILINEAR, box=(left, top, left + w, top + h))
    return center_square(img, size)


def lab_pair(rgb: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 RGB (H, W, 3) -> model input L (1, H, W) and target ab (2, H, W), both scaled."""
    lab = rgb_to_lab(rgb)
    lightness = torch.from_numpy(encode_l(lab[..., 0]))[None]
    ab = torch.from_numpy(encode_ab(lab[..., 1:]).transpose(2, 0, 1).copy())
    return lightness, ab


def sketch_l(rgb: np.ndarray, rng: np.random.Generator) -> torch.Tensor:
    """Replace a photo's L by that of a synthetic pencil sketch of it, scaled (1, H, W)."""
    gray = (rgb_to_l(rgb) * 2.55 + 0.5).clip(0, 255).astype(np.uint8)
    sketch = pencil_sketch(gray, rng)
    return torch.from_numpy(encode_l(rgb_to_l(np.repeat(sketch[..., None], 3, axis=-1))))[None]


class ColorPhotos(Dataset):
    """Training pairs from a folder of colour photos.

    train=True: random resized crop, horizontal flip, sketch input with
    probability sketch_prob. train=False: deterministic centre square.
    """

    def __init__(self, root: str | Path, size: int = 256, train: bool = True, sketch_prob: float = 0.0,
                 crop_scale: tuple[float, float] = (0.3, 1.0)) -> None:
        self.files = find_images(root)
        self.size, self.train, self.sketch_prob, self.crop_scale = size, train, sketch_prob, tuple(crop_scale)

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        rng = random.Random()  # per-item randomness; DataLoader workers are seeded by torch
        rng.seed(torch.randint(0, 2**31, ()).item())
        for _ in range(20):
            rgb = self._load(self.files[index], rng)
            lightness, ab = lab_pair(rgb)
            if (ab * 110).norm(dim=0).mean() >= MIN_MEAN_CHROMA:
                break
            index = rng.randrange(len(self.files))  # grayscale photo: use another one
        if self.train and rng.random() < self.sketch_prob:
            lightness = sketch_l(rgb, np.random.default_rng(rng.randrange(2**31)))
        return lightness, ab

    def _load(self, path: Path, rng: random.Random) -> np.ndarray:
        with Image.open(path) as img:
            img = ImageOps.exif_transpose(img).convert("RGB")
            if not self.train:
                return np.asarray(center_square(img, self.size))
            img = random_resized_crop(img, self.size, rng, self.crop_scale)
        if rng.random() < 0.5:
            img = img.transpose(Image.FLIP_LEFT_RIGHT)
        return np.asarray(img)
