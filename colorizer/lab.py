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
    """sRGB (..., 3) -> L* (...) float32: only the luminance, for the model input.

    Grey uint8 pixels (R = G = B: every grayscale photo and sketch) take a
    256-entry table, three times faster than the general path; the table is
    the general path's own output, so both give the same values.
    """
    rgb = np.asarray(rgb)
    if rgb.dtype == np.uint8 and _is_grey(rgb):
        return grey_to_l(rgb[..., 0])
    return _rgb_to_l(rgb)


def grey_to_l(grey: np.ndarray) -> np.ndarray:
    """8-bit grey levels (...) uint8 -> L* (...) float32, by table: a grey image needs no RGB copy first."""
    return np.take(_GREY_U8_TO_L, grey)


def _rgb_to_l(rgb: np.ndarray) -> np.ndarray:
    return 116.0 * _f(srgb_to_linear(rgb) @ _Y_WEIGHTS) - 16.0


def _is_grey(rgb: np.ndarray) -> bool:
    return bool(np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 1], rgb[..., 2]))


_GREY_U8_TO_L = _rgb_to_l(np.repeat(np.arange(256, dtype=np.uint8)[:, None], 3, axis=1))


def lab_to_rgb(lab: np.ndarray) -> np.ndarray:
    """Lab (..., 3) -> sRGB (..., 3) float32 in [0, 1].

    Colours outside the sRGB gamut are brought inside, never wrapped and
    never NaN: first by mixing with the grey of the same luminance (which
    keeps L* and roughly the hue, so a too-vivid prediction loses chroma
    rather than lightness), then by clipping what L* itself puts out of range.
    """
    lab = np.asarray(lab, dtype=np.float32)
    linear, _ = _lab_to_fitted_linear(lab[..., 0], lab[..., 1], lab[..., 2])
    return np.ascontiguousarray(np.moveaxis(linear_to_srgb(linear), 0, -1))


def lab_to_rgb8(lightness: np.ndarray, a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """L*, a*, b* as three same-shaped arrays -> sRGB uint8 (..., 3): the full-resolution path.

    The same conversion as to_uint8(lab_to_rgb(lab)), within one level per
    channel, at a fraction of the cost: the planes need no interleaving, and
    the sRGB curve is a table lookup instead of a power function per value.
    The engine feeds it bands small enough for the CPU cache. out: a uint8 (..., 3) array (a view
    will do) to write into instead of a new one.
    """
    linear, inside = _lab_to_fitted_linear(lightness, a, b)
    np.multiply(linear, _LUT_STEPS, out=linear)
    index = linear.astype(np.int32)  # half the bytes of intp; np.take reads it faster than [] does
    if not inside:  # NaN from non-finite input must not index outside the table
        np.clip(index, 0, _LUT_STEPS, out=index)
    rgb = np.empty(index.shape[1:] + (3,), np.uint8) if out is None else out
    for channel in range(3):
        rgb[..., channel] = np.take(_LINEAR_TO_U8, index[channel])
    return rgb


def _lab_to_fitted_linear(lightness: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, bool]:
    """Lab planes -> linear RGB planes (3, ...) float32, inside [0, 1] (see lab_to_rgb), and
    whether every pixel was inside already (then none is NaN either).

    Written as in-place float32 operations on whole planes: this is the hot
    loop of every full-resolution colorization. The common cases (no pixel
    dark enough for the linear part of f_inv, no pixel outside the gamut) are
    each found by a reduction over all planes, before any per-pixel mask is made.
    """
    shape = np.shape(lightness)
    f = np.empty((3, int(np.prod(shape))), np.float32)  # flat planes: any leading shape, even ()
    fy = f[1]
    np.add(np.reshape(lightness, -1), 16.0, out=fy)
    fy *= np.float32(1 / 116)
    np.multiply(np.reshape(a, -1), np.float32(1 / 500), out=f[0])
    f[0] += fy
    np.multiply(np.reshape(b, -1), np.float32(-1 / 200), out=f[2])
    f[2] += fy
    xyz = f * f  # X/Xn, Y/Yn, Z/Zn = f_inv(f)
    xyz *= f
    if not f.min(initial=np.inf) > DELTA:  # NaN too
        dark = ~(f > DELTA)
        xyz[dark] = _f_inv(f[dark])
    linear = np.matmul(_M_XYZN2RGB.T, xyz, out=f)
    if linear.min(initial=0.0) >= 0.0 and linear.max(initial=1.0) <= 1.0:  # NaN compares False
        return linear.reshape((3,) + shape), True
    high, low = xyz[0], xyz[2]  # X and Z are spent: scratch planes for the largest and smallest channel
    np.maximum(linear[0], linear[1], out=high)
    np.maximum(high, linear[2], out=high)
    np.minimum(linear[0], linear[1], out=low)
    np.minimum(low, linear[2], out=low)
    inside = np.less_equal(high, 1.0)
    inside &= low >= 0.0  # NaN compares False: a non-finite pixel is fitted (and clipped) like one outside
    outside = np.flatnonzero(~inside)
    if outside.size > inside.size // 8:  # gathering costs more than fitting every pixel
        _fit_gamut(linear, np.clip(xyz[1], 0.0, 1.0, out=xyz[1]), high, low)
    else:  # a few pixels in a hundred, in most photos: fit only those
        y = np.clip(xyz[1, outside], 0.0, 1.0)
        linear[:, outside] = _fit_gamut(linear[:, outside], y, high[outside], low[outside])
    return linear.reshape((3,) + shape), False


def _fit_gamut(linear: np.ndarray, y: np.ndarray, high: np.ndarray, low: np.ndarray) -> np.ndarray:
    """Mix each pixel of `linear` (3, n) with the grey of its luminance `y` until it fits [0, 1].

    The largest channel (`high`) bounds the mix from above, the smallest
    (`low`) from below: scale = min(1, (1 - y) / (max - y), y / (y - min)).
    Works in place, `high` and `low` too; returns `linear`.
    """
    scale = 1.0 - y
    with np.errstate(divide="ignore", invalid="ignore"):  # 0/0 only where any scale fits
        high -= y
        np.maximum(high, scale, out=high)  # room above >= 1 unless max > 1
        np.divide(scale, high, out=scale)
        np.subtract(y, low, out=low)
        np.maximum(low, y, out=low)  # room below >= 1 unless min < 0
        np.divide(y, low, out=low)
    np.fmin(scale, low, out=scale)  # fmin: a 0/0 NaN yields to the other bound
    np.fmin(scale, 1.0, out=scale)
    linear -= y
    linear *= scale
    linear += y
    return np.clip(linear, 0.0, 1.0, out=linear)


def to_uint8(rgb: np.ndarray) -> np.ndarray:
    """Float sRGB in [0, 1] -> uint8 with rounding (not truncation)."""
    return (np.clip(rgb, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


# Linear light -> sRGB uint8 by table: linear values quantised to 2**16 steps (each entry is the
# rounded sRGB of its step's centre, plus one entry for exactly 1.0). The curve's steepest slope
# is 12.92 * 255 levels per unit, 0.05 level per step, so the table is off by at most one level
# and only for values within half a step of a rounding edge.
_LUT_STEPS = 1 << 16
_LINEAR_TO_U8 = to_uint8(linear_to_srgb((np.arange(_LUT_STEPS + 1) + 0.5) / _LUT_STEPS))


def encode_l(lightness: np.ndarray) -> np.ndarray:
    """L* in [0, 100] -> model input in [-1, 1]."""
    return (np.asarray(lightness, dtype=np.float32) / L_CENTER - 1.0).astype(np.float32)


def encode_ab(ab: np.ndarray) -> np.ndarray:
    """a*, b* -> training target in about [-1, 1]."""
    return (np.asarray(ab, dtype=np.float32) / AB_SCALE).astype(np.float32)


def decode_ab(ab: np.ndarray) -> np.ndarray:
    """Model output in [-1, 1] -> a*, b*."""
    return (np.asarray(ab, dtype=np.float32) * AB_SCALE).astype(np.float32)
