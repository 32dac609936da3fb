"""CIE L*a*b* <-> sRGB in numpy, and the model's I/O scaling.

This is the only colour-science implementation in the project: training,
export, the ONNX engine, the Lambda handler and the web app all import it,
so a picture means the same thing at every stage.

Conventions: sRGB with the IEC 61966-2-1 transfer curve, reference white D65
given as XYZ = (95.0489, 100, 108.8840), and the standard sRGB matrix (whose
own white differs in the fifth digit: sRGB white lands at a* = -0.003). The
inverse matrix is computed, so forward and inverse transforms are exact
inverses and every uint8 colour round-trips.
Everything is float32 and vectorised; arrays may have any leading shape.
"""
from __future__ import annotations

import numpy as np

WHITE_D65 = np.array([95.0489, 100.0, 108.8840], dtype=np.float64) / 100.0
DELTA = 6.0 / 29.0

# Model I/O contract: input L in [0, 100] -> L / 50 - 1 in [-1, 1];
# output ab in [-1, 1] -> * 110 gives a*, b*.
L_CENTER = 50.0
AB_SCALE = 110.0


# Linear sRGB -> XYZ (IEC 61966-2-1, 7-digit form); columns are R, G, B.
_M_RGB2XYZ = np.array(
    [
        [0.4124564, 0.3575761, 0.1804375],
        [0.2126729, 0.7151522, 0.0721750],
        [0.0193339, 0.1191920, 0.9503041],
    ]
)
_M_XYZ2RGB = np.linalg.inv(_M_RGB2XYZ)
# Rows pre-divided by the white so that X/Xn etc. come out of one matmul.
_M_RGB2XYZN = (_M_RGB2XYZ / WHITE_D65[:, None]).T.astype(np.float32)
_M_XYZN2RGB = (_M_XYZ2RGB * WHITE_D65[None, :]).T.astype(np.float32)
_Y_WEIGHTS = _M_RGB2XYZ[1].astype(np.float32)  # luminance from linear RGB (Yn = 1)


def _srgb_to_linear_float(c: np.ndarray) -> np.ndarray:
    c = np.asarray(c, dtype=np.float32)
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4).astype(np.float32)


_U8_TO_LINEAR = _srgb_to_linear_float(np.arange(256, dtype=np.float32) / 255.0)


def srgb_to_linear(rgb: np.ndarray) -> np.ndarray:
    """sRGB (uint8 0..255 or float 0..1) -> linear light, float32.

    uint8 input goes through a 256-entry table: exact and much faster than
    the power function on every pixel.
    """
    rgb = np.asarray(rgb)
    if rgb.dtype == np.uint8:
        return _U8_TO_LINEAR[rgb]
    return _srgb_to_linear_float(np.clip(rgb, 0.0, 1.0))


def linear_to_srgb(linear: np.ndarray) -> np.ndarray:
    """Linear light -> sRGB float32 in [0, 1]; out-of-gamut values clip first."""
    c = np.clip(np.asarray(linear, dtype=np.float32), 0.0, 1.0)
    return np.where(c <= 0.0031308, c * 12.92, 1.055 * c ** (1 / 2.4) - 0.055).astype(np.float32)


def _f(t: np.ndarray) -> np.ndarray:
    return np.where(t > DELTA**3, np.cbrt(t), t / (3 * DELTA**2) + 4.0 / 29.0).astype(np.float32)


def _f_inv(t: np.ndarray) -> np.ndarray:
    return np.where(t > DELTA, t**3, 3 * DELTA**2 * (t - 4.0 / 29.0)).astype(np.float32)


def rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """sRGB (..., 3), uint8 or float in [0, 1] -> Lab (..., 3) float32.

    L in [0, 100]; a*, b* roughly in [-110, 110] for sRGB colours.
    """
    fxyz = _f(srgb_to_linear(rgb) @ _M_RGB2XYZN)
    fx, fy, fz = fxyz[..., 0], fxyz[..., 1], fxyz[..., 2]
    return np.stack([116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)], axis=-1)


def rgb_to_l(rgb: np.ndarray) -> np.ndarray:
    """sRGB (..., 3) -> L* (...) float32: only the luminance, for the model input."""
    return 116.0 * _f(srgb_to_linear(rgb) @ _Y_WEIGHTS) - 16.0


def lab_to_rgb(lab: np.ndarray) -> np.ndarray:
    """Lab (..., 3) -> sRGB (..., 3) float32 in [0, 1].

    Colours outside the sRGB gamut are brought inside, never wrapped and
    never NaN: first by mixing with the grey of the same luminance (which
    keeps L* and roughly the hue, so a too-vivid prediction loses chroma
    rather than lightness), then by clipping what L* itself puts out of range.
    """
    lab = np.asarray(lab, dtype=np.float32)
    fy = (lab[..., 0] + 16.0) / 116.0
    f = np.stack([fy + lab[..., 1] / 500.0, fy, fy - lab[..., 2] / 200.0], axis=-1)
    return linear_to_srgb(_fit_gamut(_f_inv(f) @ _M_XYZN2RGB))


def _fit_gamut(linear: np.ndarray) -> np.ndarray:
    """Scale each pixel's chroma (its distance from grey of equal Y) until it fits [0, 1]."""
    y = np.clip(linear @ _Y_WEIGHTS, 0.0, 1.0)[..., None]
    excess = linear - y
    with np.errstate(divide="ignore", invalid="ignore"):
        room = np.where(excess > 0, (1.0 - y) / excess, np.where(excess < 0, -y / excess, np.inf))
    scale = np.minimum(room.min(axis=-1, keepdims=True), 1.0)
    return y + excess * scale


def to_uint8(rgb: np.ndarray) -> np.ndarray:
    """Float sRGB in [0, 1] -> uint8 with rounding (not truncation)."""
    return (np.clip(rgb, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def encode_l(lightness: np.ndarray) -> np.ndarray:
    """L* in [0, 100] -> model input in [-1, 1]."""
    return (np.asarray(lightness, dtype=np.float32) / L_CENTER - 1.0).astype(np.float32)


def encode_ab(ab: np.ndarray) -> np.ndarray:
    """a*, b* -> training target in about [-1, 1]."""
    return (np.asarray(ab, dtype=np.float32) / AB_SCALE).astype(np.float32)


def decode_ab(ab: np.ndarray) -> np.ndarray:
    """Model output in [-1, 1] -> a*, b*."""
    return (np.asarray(ab, dtype=np.float32) * AB_SCALE).astype(np.float32)
