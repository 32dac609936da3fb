"""Image-quality metrics for colorization, in numpy, on uint8 RGB (H, W, 3).

PSNR and SSIM measure closeness to the ground truth (and reward cautious,
desaturated guesses); colourfulness measures how much colour there is (and
rewards artifacts). A colorizer is judged on both at once.
"""
from __future__ import annotations

import numpy as np

DATA_RANGE = 255.0


def psnr(pred: np.ndarray, truth: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB over all channels, data range 255."""
    mse = np.mean((pred.astype(np.float64) - truth.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else float(10 * np.log10(DATA_RANGE**2 / mse))


def _gaussian_filter(img: np.ndarray, sigma: float = 1.5, radius: int = 5) -> np.ndarray:
    """Separable Gaussian blur (H, W, C), 'valid' region only (as SSIM's reference code crops borders)."""
    x = np.arange(-radius, radius + 1)
    k = np.exp(-(x**2) / (2 * sigma**2))
    k /= k.sum()
    rows = np.apply_along_axis(lambda v: np.convolve(v, k, mode="valid"), 0, img)
    return np.apply_along_axis(lambda v: np.convolve(v, k, mode="valid"), 1, rows)


def ssim(pred: np.ndarray, truth: np.ndarray) -> float:
    """Mean structural similarity (Wang et al. 2004): Gaussian window sigma 1.5, K1 0.01, K2 0.03,
    averaged over channels; matches skimage's structural_similarity(gaussian_weights=True,
    use_sample_covariance=False, data_range=255)."""
    x, y = pred.astype(np.float64), truth.astype(np.float64)
    c1, c2 = (0.01 * DATA_RANGE) ** 2, (0.03 * DATA_RANGE) ** 2
    mx, my = _gaussian_filter(x), _gaussian_filter(y)
    vx = _gaussian_filter(x * x) - mx * mx
    vy = _gaussian_filter(y * y) - my * my
    cov = _gaussian_filter(x * y) - mx * my
    s = ((2 * mx * my + c1) * (2 * cov + c2)) / ((mx**2 + my**2 + c1) * (vx + vy + c2))
    return float(s.mean())


def colourfulness(rgb: np.ndarray) -> float:
    """Hasler & Suesstrunk (2003) M3 on |rg| and |yb|, the variant DDColor reports."""
    r, g, b = (rgb[..., i].astype(np.float64) for i in range(3))
    rg, yb = np.abs(r - g), np.abs(0.5 * (r + g) - b)
    return float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))
