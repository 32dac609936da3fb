"""Sample grids: one row per image, input L | model output | ground truth."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from colorizer.lab import AB_SCALE, L_CENTER, lab_to_rgb, to_uint8


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
