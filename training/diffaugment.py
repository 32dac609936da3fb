"""Differentiable augmentation of the discriminator's inputs, for a GAN trained on few photos.

With 1354 photos the discriminator soon remembers the real pairs, and its
verdict stops telling the generator anything about colour in general (Zhao
et al. 2020, "Differentiable Augmentation for Data-Efficient GAN
Training"). Every pair D sees, real or generated, in D's step and in G's,
is shifted and has a square cut out, drawn afresh for each picture; the
same transform moves the L condition with its ab, so the pair stays a pair,
and gradients flow through it to G. Zero fill is mid-grey L* and no colour.
"""
from __future__ import annotations

import torch

SHIFT = 1 / 8  # largest shift, as a fraction of each side
CUTOUT = 1 / 2  # side of the cut-out square, as a fraction of each side


def diff_augment(lightness: torch.Tensor, ab: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Shift and cut out (L, ab) pairs (N, 1 + 2, H, W) jointly, with a fresh draw per picture."""
    pair = cutout(translate(torch.cat([lightness, ab], dim=1)))
    return pair[:, :1], pair[:, 1:]


def translate(x: torch.Tensor, ratio: float = SHIFT) -> torch.Tensor:
    """Shift each picture by up to ratio of its sides, filling with zeros."""
    n, c, h, w = x.shape
    rows, cols = _grid(x)
    dy = _draw(n, round(h * ratio), x.device)
    dx = _draw(n, round(w * ratio), x.device)
    src_y, src_x = rows - dy, cols - dx
    inside = (src_y >= 0) & (src_y < h) & (src_x >= 0) & (src_x < w)
    index = (src_y.clamp(0, h - 1) * w + src_x.clamp(0, w - 1)).view(n, 1, h * w).expand(n, c, h * w)
    return torch.gather(x.reshape(n, c, h * w), 2, index).view(n, c, h, w) * inside.unsqueeze(1)


def cutout(x: torch.Tensor, ratio: float = CUTOUT) -> torch.Tensor:
    """Zero a square of ratio of the sides at a random place inside each picture."""
    n, _, h, w = x.shape
    rows, cols = _grid(x)
    size_y, size_x = round(h * ratio), round(w * ratio)
    top = torch.randint(0, h - size_y + 1, (n, 1, 1), device=x.device)
    left = torch.randint(0, w - size_x + 1, (n, 1, 1), device=x.device)
    hole = (rows >= top) & (rows < top + size_y) & (cols >= left) & (cols < left + size_x)
    return x * ~hole.unsqueeze(1)


def _grid(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Row and column indices (1, H, 1) and (1, 1, W) of x's pictures."""
    h, w = x.shape[-2:]
    return torch.arange(h, device=x.device).view(1, h, 1), torch.arange(w, device=x.device).view(1, 1, w)


def _draw(n: int, largest: int, device: torch.device) -> torch.Tensor:
    """n shifts in -largest..largest, shaped (n, 1, 1)."""
    return torch.randint(-largest, largest + 1, (n, 1, 1), device=device)
