"""colorizer.lab against scikit-image, over the whole RGB cube, plus its edge cases."""
from __future__ import annotations

import numpy as np
import pytest
from skimage import color

from colorizer import lab

LEVELS = np.r_[np.arange(0, 256, 4), 255].astype(np.uint8)  # 65 levels per channel


@pytest.fixture(scope="module")
def cube() -> np.ndarray:
    """Every combination of LEVELS: (65**3, 3) uint8, black and white included."""
    return np.stack(np.meshgrid(LEVELS, LEVELS, LEVELS, indexing="ij"), axis=-1).reshape(-1, 3)


def test_rgb_to_lab_matches_scikit_image_over_the_cube(cube):
    ours = lab.rgb_to_lab(cube)
    reference = color.rgb2lab(cube / 255.0)
    assert ours.dtype == np.float32
    assert np.abs(ours - reference).max() <= 5e-3


def test_lab_to_rgb_matches_scikit_image_inside_the_gamut(cube):
    lab_values = lab.rgb_to_lab(cube)
    reference = color.lab2rgb(lab_values.astype(np.float64))
    assert np.abs(lab.lab_to_rgb(lab_values) - reference).max() <= 2e-3


def test_uint8_round_trip_is_exact(cube):
    back = lab.to_uint8(lab.lab_to_rgb(lab.rgb_to_lab(cube)))
    np.testing.assert_array_equal(back, cube)


def test_reference_colours():
    white, black = lab.rgb_to_lab(np.array([[255, 255, 255], [0, 0, 0]], np.uint8))
    np.testing.assert_allclose(white, [100, 0, 0], atol=5e-3)
    np.testing.assert_allclose(black, [0, 0, 0], atol=1e-6)
    red = lab.rgb_to_lab(np.array([255, 0, 0], np.uint8))
    np.testing.assert_allclose(red, [53.24, 80.09, 67.20], atol=0.01)


@pytest.fixture(scope="module")
def wild_lab() -> np.ndarray:
    """Lab far outside the sRGB gamut: L in [-20, 120], a/b in [-200, 200]."""
    grid = np.meshgrid(np.linspace(-20, 120, 29), np.linspace(-200, 200, 41), np.linspace(-200, 200, 41),
                       indexing="ij")
    return np.stack(grid, axis=-1).astype(np.float32)


def test_out_of_gamut_lab_clips_into_range_without_nan(wild_lab):
    rgb = lab.lab_to_rgb(wild_lab)
    assert rgb.dtype == np.float32
    assert np.isfinite(rgb).all()
    assert rgb.min() >= 0.0 and rgb.max() <= 1.0


def test_out_of_gamut_lab_keeps_lightness(wild_lab):
    lightness = wild_lab[..., 0]
    rgb = lab.lab_to_rgb(wild_lab)
    inside = (lightness >= 0) & (lightness <= 100)
    assert np.abs(lab.rgb_to_l(rgb)[inside] - lightness[inside]).max() < 1e-3
    np.testing.assert_allclose(rgb[lightness > 100], 1.0, atol=1e-6)  # brighter than white: white
    np.testing.assert_array_equal(rgb[lightness < 0], 0.0)  # darker than black: black


def test_too_vivid_colour_loses_chroma_not_hue():
    vivid = np.array([50.0, 150.0, 0.0], np.float32)  # a* far beyond sRGB at L* 50
    fitted = lab.rgb_to_lab(lab.lab_to_rgb(vivid))
    assert fitted[0] == pytest.approx(50.0, abs=1e-3)
    assert 0 < fitted[1] < 150.0
    assert abs(fitted[2]) < 1.0


def test_float_and_uint8_inputs_agree(cube):
    np.testing.assert_allclose(lab.rgb_to_lab(cube), lab.rgb_to_lab(cube / 255.0), atol=1e-4)
    np.testing.assert_allclose(lab.rgb_to_lab(cube), lab.rgb_to_lab((cube / 255.0).astype(np.float32)), atol=1e-4)


def test_float_input_outside_unit_range_is_clipped():
    np.testing.assert_array_equal(lab.rgb_to_lab(np.array([1.5, -0.2, 2.0])), lab.rgb_to_lab(np.array([1.0, 0.0, 1.0])))


@pytest.mark.parametrize("shape", [(3,), (7, 3), (2, 5, 3), (2, 3, 4, 3), (0, 3)])
def test_any_leading_shape(shape):
    rgb = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    lab_values = lab.rgb_to_lab(rgb)
    assert lab_values.shape == shape
    assert lab.lab_to_rgb(lab_values).shape == shape
    assert lab.rgb_to_l(rgb).shape == shape[:-1]
    np.testing.assert_array_equal(lab_values.reshape(-1, 3), lab.rgb_to_lab(rgb.reshape(-1, 3)))


def test_rgb_to_l_is_the_l_of_rgb_to_lab(cube):
    np.testing.assert_allclose(lab.rgb_to_l(cube), lab.rgb_to_lab(cube)[..., 0], atol=1e-4)
    assert lab.rgb_to_l(cube).dtype == np.float32


def test_to_uint8_rounds_and_clips():
    values = np.array([-0.1, 0.0, 0.49 / 255, 0.51 / 255, 254.5 / 255, 1.0, 1.7], np.float32)
    np.testing.assert_array_equal(lab.to_uint8(values), [0, 0, 0, 1, 255, 255, 255])


def test_model_io_scaling():
    np.testing.assert_array_equal(lab.encode_l(np.array([0.0, 50.0, 100.0])), [-1.0, 0.0, 1.0])
    np.testing.assert_allclose(lab.encode_ab(np.array([-110.0, 0.0, 55.0])), [-1.0, 0.0, 0.5])
    np.testing.assert_allclose(lab.decode_ab(np.array([-1.0, 0.5, 1.0])), [-110.0, 55.0, 110.0])
    ab = np.random.default_rng(1).uniform(-110, 110, (4, 4, 2)).astype(np.float32)
    np.testing.assert_allclose(lab.decode_ab(lab.encode_ab(ab)), ab, rtol=1e-6)
    for out in (lab.encode_l(np.zeros(2)), lab.encode_ab(np.zeros(2)), lab.decode_ab(np.zeros(2))):
        assert out.dtype == np.float32
