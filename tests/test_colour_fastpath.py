"""The optimised colour path (colorizer.lab's float32 planes and sRGB table, the engine's bands)
against a straightforward float64 implementation of the same maths, written out here.

The fast path may differ from exact rounding by one 8-bit level, never more, and
only rarely: a systematic shift would also stay within one level, so the share of
differing values is bounded too.
"""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from colorizer import lab
from colorizer.engine import apply_ab
from tests.helpers import ROOT

SAMPLES = sorted((ROOT / "static" / "samples").glob("*.jpg"))  # real photos and a pencil drawing
MAX_DIFFERING = 0.01  # share of channel values allowed to be one level off

# --- the reference: float64, no tables, no bands, no in-place tricks ---------------------------
WHITE = np.array([0.950489, 1.0, 1.088840])
RGB_TO_XYZ = np.array([[0.4124564, 0.3575761, 0.1804375],
                       [0.2126729, 0.7151522, 0.0721750],
                       [0.0193339, 0.1191920, 0.9503041]])
XYZ_TO_RGB = np.linalg.inv(RGB_TO_XYZ)
EPS = (6 / 29) ** 3


def ref_l(rgb8: np.ndarray) -> np.ndarray:
    """uint8 sRGB -> L*."""
    c = rgb8 / 255.0
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    y = linear @ RGB_TO_XYZ[1]
    return 116 * np.where(y > EPS, np.cbrt(y), y / (3 * (6 / 29) ** 2) + 4 / 29) - 16


def ref_rgb8(lightness: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """L*a*b* -> uint8 sRGB; out-of-gamut colour mixed toward the grey of equal luminance, then clipped."""
    fy = (lightness + 16) / 116
    f = np.stack([fy + a / 500, fy, fy - b / 200], axis=-1)
    xyz = np.where(f > 6 / 29, f**3, 3 * (6 / 29) ** 2 * (f - 4 / 29)) * WHITE
    linear = xyz @ XYZ_TO_RGB.T
    y = np.clip(linear @ RGB_TO_XYZ[1], 0, 1)[..., None]
    excess = linear - y
    with np.errstate(divide="ignore", invalid="ignore"):
        room = np.where(excess > 0, (1 - y) / excess, np.where(excess < 0, -y / excess, np.inf))
    linear = np.clip(y + excess * np.minimum(room.min(axis=-1, keepdims=True), 1), 0, 1)
    srgb = np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * linear ** (1 / 2.4) - 0.055)
    return np.floor(srgb * 255 + 0.5).astype(np.uint8)


def assert_within_one_level(got: np.ndarray, expected: np.ndarray) -> None:
    diff = np.abs(got.astype(np.int16) - expected.astype(np.int16))
    assert got.shape == expected.shape
    assert diff.max() <= 1
    assert (diff > 0).mean() < MAX_DIFFERING


# --- random Lab, in and far out of the gamut -------------------------------------------------

@pytest.fixture(scope="module")
def random_lab() -> np.ndarray:
    rng = np.random.default_rng(0)
    values = rng.uniform([0, -150, -150], [100, 150, 150], (300_000, 3))
    values[:2000, 0] = rng.uniform(-10, 0, 2000)  # darker than black
    values[2000:4000, 0] = rng.uniform(100, 110, 2000)  # brighter than white
    values[4000:6000, 1:] = 0  # greys
    values[6000:8000, 0] = rng.uniform(0, 8, 2000)  # the linear part of the L* curve
    return values


def test_lab_to_rgb8_matches_reference(random_lab):
    planes = [random_lab[:, i].astype(np.float32) for i in range(3)]
    assert_within_one_level(lab.lab_to_rgb8(*planes), ref_rgb8(*random_lab.T))


def test_lab_to_rgb8_fits_the_few_out_of_gamut_pixels_of_a_mostly_plausible_picture(random_lab):
    """Photos put a few pixels in a hundred outside sRGB: those alone are fitted, the rest left as they are."""
    rng = np.random.default_rng(2)
    plausible = np.column_stack([rng.uniform(20, 90, 50_000), rng.normal(0, 8, (50_000, 2))])
    mixed = np.concatenate([plausible, random_lab[:1000]])[rng.permutation(51_000)]
    planes = [mixed[:, i].astype(np.float32) for i in range(3)]
    assert_within_one_level(lab.lab_to_rgb8(*planes), ref_rgb8(*mixed.T))


def test_lab_to_rgb8_keeps_any_shape(random_lab):
    block = random_lab[:24].reshape(2, 3, 4, 3).astype(np.float32)
    got = lab.lab_to_rgb8(block[..., 0], block[..., 1], block[..., 2])
    assert got.shape == (2, 3, 4, 3) and got.dtype == np.uint8
    np.testing.assert_array_equal(got.reshape(-1, 3), lab.lab_to_rgb8(*block.reshape(-1, 3).T))


def test_non_finite_lab_gives_some_colour_not_an_error():
    values = np.array([np.nan, np.inf, -np.inf, 50.0], np.float32)
    with np.errstate(invalid="ignore"):  # numpy's warnings about the NaN are expected
        got = lab.lab_to_rgb8(values, values[::-1].copy(), np.zeros(4, np.float32))
    assert got.shape == (4, 3) and got.dtype == np.uint8


def test_float_path_matches_reference(random_lab):
    expected = ref_rgb8(*random_lab.T)
    assert_within_one_level(lab.to_uint8(lab.lab_to_rgb(random_lab.astype(np.float32))), expected)


def test_rgb_to_l_matches_reference():
    rng = np.random.default_rng(1)
    colours = rng.integers(0, 256, (100_000, 3), dtype=np.uint8)
    greys = np.repeat(np.arange(256, dtype=np.uint8)[:, None], 3, axis=1)  # the table path
    for rgb in (colours, greys, greys.reshape(16, 16, 3)):
        got = lab.rgb_to_l(rgb)
        assert got.dtype == np.float32 and got.shape == rgb.shape[:-1]
        assert np.abs(got - ref_l(rgb)).max() < 2e-3


# --- real images through the engine's bands ---------------------------------------------------

@pytest.fixture(scope="module", params=[p.name for p in SAMPLES])
def sample(request) -> np.ndarray:
    with Image.open(ROOT / "static" / "samples" / request.param) as img:
        return np.asarray(img.convert("RGB"))


def test_there_are_real_samples():
    assert len(SAMPLES) >= 3


@pytest.mark.parametrize("gain", [1.0, 2.5])
def test_apply_ab_matches_reference_on_real_photos(sample, gain):
    """The photo's own colour (gain 1: the photo comes back) and a far too vivid one (2.5)."""
    rgb = sample
    lightness = ref_l(rgb)
    own = lab.rgb_to_lab(rgb)[..., 1:].astype(np.float64)
    ab = own * gain
    got = np.asarray(apply_ab(Image.fromarray(rgb), ab.astype(np.float32)))  # ab at full size: no resampling
    assert_within_one_level(got, ref_rgb8(lightness, ab[..., 0], ab[..., 1]))
    if gain == 1.0:
        assert_within_one_level(got, rgb)


def test_colorize_matches_reference_on_real_photos(sample, colorizer_model):
    """The whole path: model colour upsampled (here in one piece) onto the full-resolution L."""
    grey = Image.fromarray(sample).convert("L").convert("RGB")
    vividness = 1.5
    ab = colorizer_model.predict_ab(grey) * vividness
    width, height = grey.size
    upsampled = [np.asarray(Image.fromarray(np.ascontiguousarray(ab[..., i]), "F").resize((width, height),
                                                                                         Image.BILINEAR))
                 for i in range(2)]
    expected = ref_rgb8(ref_l(np.asarray(grey)), *(np.float64(u) for u in upsampled))
    assert_within_one_level(np.asarray(colorizer_model.colorize(grey, vividness)), expected)
