"""Synthetic pencil sketches, so the model learns to colorize what users draw.

A photographed pencil sketch is mostly paper white with grey strokes, a
little paper grain and uneven lighting. We imitate that from any photo: the
classic colour-dodge of the grey image with its blurred negative keeps the
edges and washes out flat regions, then strokes get a directional grain and
the paper a low-frequency shading.
"""
from __future__ import annotations

import numpy as np
from PIL import Image, ImageFilter


def pencil_sketch(gray: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Grey photo (H, W) uint8 -> pencil-sketch rendering (H, W) uint8, paper ~ white."""
    h, w = gray.shape
    g = gray.astype(np.float32)
    radius = rng.uniform(1.5, 5.0)
    blurred_neg = np.asarray(Image.fromarray(255 - gray).filter(ImageFilter.GaussianBlur(radius)), np.float32)
    dodge = np.clip(g * 255.0 / np.maximum(255.0 - blurred_neg, 1.0), 0, 255) / 255.0
    darkness = (1.0 - dodge) ** rng.uniform(0.7, 1.2) * rng.uniform(1.0, 2.0)  # stroke weight

    grain = rng.normal(0.0, 1.0, (h, w)).astype(np.float32)
    streaks = Image.fromarray(((grain * 40) + 128).clip(0, 255).astype(np.uint8))
    angle = rng.uniform(0, 180)
    streaks = streaks.rotate(angle, resample=Image.BILINEAR).filter(ImageFilter.BoxBlur(1))
    streaks = streaks.resize((w, h)).rotate(-angle, resample=Image.BILINEAR)
    stroke_texture = 0.75 + 0.5 * np.asarray(streaks, np.float32) / 255.0
    darkness *= stroke_texture

    paper = _paper_shading(h, w, rng) + rng.normal(0.0, rng.uniform(0.005, 0.02), (h, w))
    sketch = np.clip(paper - darkness, 0.0, 1.0)
    return (sketch * 255.0 + 0.5).astype(np.uint8)


def _paper_shading(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """Smooth uneven lighting of a photographed page, values around 0.85..1."""
    coarse = rng.uniform(0.0, 1.0, (3, 3)).astype(np.float32)
    shade = np.asarray(Image.fromarray(coarse, mode="F").resize((w, h), Image.BICUBIC), np.float32)
    low, high = rng.uniform(0.8, 0.95), rng.uniform(0.97, 1.0)
    return low + (high - low) * np.clip(shade, 0.0, 1.0)
