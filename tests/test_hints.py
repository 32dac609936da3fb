"""colorizer.hints: parsing the visitor's hints, and spreading them edge-aware over the model's colour."""
from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from colorizer.hints import (MAX_HINTS, PIN, SIGMA_L, SPREAD, Hint, HintError, apply_hints, hint_map, parse_hint,
                             parse_hints, propagate)
from colorizer.lab import rgb_to_lab

RED = "#c03020"


def test_cli_hint_is_parsed():
    assert parse_hint("12,7,#C03020") == Hint(12, 7, RED)
    assert Hint(12, 7, RED).rgb == (0xC0, 0x30, 0x20)


@pytest.mark.parametrize("text", ["12,7", "12,7,#c03020,1", "-1,7,#c03020", "a,7,#c03020", "1.5,7,#c03020",
                                  "12,7,c03020", "12,7,#c0302", "12,7,#c0302g", "12,7,red", ""])
def test_malformed_cli_hint_is_refused(text):
    with pytest.raises(HintError):
        parse_hint(text)


def test_json_hints_are_parsed_from_text_or_list():
    items = [{"x": 1, "y": 2, "color": "#00FF00"}, {"x": 0, "y": 0, "color": RED}]
    expected = [Hint(1, 2, "#00ff00"), Hint(0, 0, RED)]
    assert parse_hints(json.dumps(items)) == expected
    assert parse_hints(items) == expected
    assert parse_hints("") == parse_hints(None) == parse_hints("[]") == []


@pytest.mark.parametrize("value", ['{"x": 1}', "[1, 2]", '[{"x": 1, "y": 2}]', '[{"x": 1, "y": 2, "color": 3}]',
                                   '[{"x": true, "y": 2, "color": "#000000"}]', "not json", "[" * 100_000,
                                   '[{"x": 1, "y": 2, "color": "#000000", "z": 0}]',
                                   '[{"x": 1e9999, "y": 2, "color": "#000000"}]'])
def test_malformed_json_hints_are_refused(value):
    with pytest.raises(HintError):
        parse_hints(value)


def test_too_many_hints_are_refused():
    with pytest.raises(HintError, match=str(MAX_HINTS)):
        parse_hints([{"x": 0, "y": 0, "color": RED}] * (MAX_HINTS + 1))


def two_regions(size: int = 64) -> np.ndarray:
    """L* 30 on the left half, 70 on the right: one strong vertical edge."""
    lightness = np.full((size, size), 30.0, np.float32)
    lightness[:, size // 2:] = 70.0
    return lightness


def test_a_hint_colours_its_region_and_stops_at_the_edge():
    lightness, ab = two_regions(), np.zeros((64, 64, 2), np.float32)
    out = apply_hints(lightness, ab, [Hint(10, 30, RED)], (64, 64))
    hint_ab = rgb_to_lab(np.array([[[0xC0, 0x30, 0x20]]], np.uint8))[0, 0, 1:]
    np.testing.assert_allclose(out[30, 10], hint_ab, atol=1.0)
    share = out[..., 0] / hint_ab[0]  # how much of the hint's correction each pixel took
    assert share[22:38, 2:18].mean() > 0.7 and share[:, :28].mean() > 0.4  # its region follows the hint
    assert np.abs(share[:, 36:]).max() < 0.01  # the other side of the edge does not move


def test_a_hint_fades_with_distance_in_an_even_picture():
    """One pin recolours its neighbourhood, not the whole picture (on any grid size)."""
    for side in (64, 128):
        out = apply_hints(np.full((side, side), 50.0, np.float32), np.zeros((side, side, 2), np.float32),
                          [Hint(side // 2, side // 2, RED)], (side, side))
        share = out[..., 0] / out[side // 2, side // 2, 0]
        assert share[side // 2, side // 2 + side // 8] > 0.35 > 0.25 > share[0, 0]


def test_a_hint_corrects_the_model_colour_and_keeps_its_variation():
    lightness = np.full((32, 32), 50.0, np.float32)
    ab = np.zeros((32, 32, 2), np.float32)
    ab[:, :, 0] = np.linspace(-10, 10, 32)[None]  # the model's colour varies across the picture
    out = apply_hints(lightness, ab, [Hint(16, 16, "#808080")], (32, 32))  # grey wanted at the centre
    assert abs(out[16, 16, 0]) < 1.0
    away = np.r_[0:12, 20:31]  # outside the hint's own pixels, which take its colour exactly
    np.testing.assert_allclose(np.diff(out[16, :, 0])[away], np.diff(ab[16, :, 0])[away], atol=0.2)  # a shift


def test_hint_coordinates_are_scaled_to_the_grid():
    lightness, ab = two_regions(), np.zeros((64, 64, 2), np.float32)
    out = apply_hints(lightness, ab, [Hint(900, 100, RED)], (1000, 500))  # hints on a 1000 x 500 image
    assert np.abs(out[:, 36:, 0]).mean() > 10 > np.abs(out[:, :28, 0]).mean()  # lands on the right half


def test_the_spread_solves_the_documented_system_on_grids_the_cascade_halves():
    """The matrix-free solve against the module docstring's system built densely and solved exactly."""
    rng = np.random.default_rng(0)
    height, width = 37, 70  # odd and even sides: the cascade drops rows and columns to halve
    lightness = np.repeat(rng.uniform(20, 80, (height, width // 7)), 7, axis=1).astype(np.float32)
    pinned = np.zeros((height, width), np.float32)
    pinned[rng.integers(height, size=6), rng.integers(width, size=6)] = PIN
    target = rng.normal(0, 30, (height, width, 3)).astype(np.float32)

    index = np.arange(height * width).reshape(height, width)
    matrix = np.diag(1.0 / (SPREAD * width) ** 2 + pinned.ravel().astype(np.float64))
    for p, q, diff in ((index[:, :-1], index[:, 1:], np.diff(lightness, axis=1)),
                       (index[:-1], index[1:], np.diff(lightness, axis=0))):
        for i, j, w in zip(p.ravel(), q.ravel(), np.exp(-np.square(diff.ravel()) / (2 * SIGMA_L**2))):
            matrix[i, i] += w
            matrix[j, j] += w
            matrix[i, j] -= w
            matrix[j, i] -= w
    exact = np.linalg.solve(matrix, (pinned[..., None] * target).reshape(-1, 3)).reshape(height, width, 3)
    got = propagate(lightness, target, pinned)
    assert got.shape == exact.shape
    # CG stops at a residual of CG_TOLERANCE; the barely screened smooth modes leave a few per cent
    # (4 % here, before and after the channels-first rewrite); a wrong stencil is off by its whole size
    assert np.linalg.norm(got - exact) < 0.1 * np.linalg.norm(exact)


def test_no_hints_return_the_model_colour_unchanged():
    ab = np.random.default_rng(0).normal(size=(8, 8, 2)).astype(np.float32)
    assert apply_hints(np.zeros((8, 8), np.float32), ab, [], (8, 8)) is ab


# --- through the engine, with the shipped model ------------------------------------------------

def test_colorize_puts_the_hint_colour_on_the_photo_and_keeps_its_lightness(colorizer_model):
    image = Image.new("RGB", (300, 200), (128, 128, 128))  # a flat grey wall
    hint = Hint(150, 100, "#2050c0")
    out = np.asarray(colorizer_model.colorize(image, hints=[hint]))
    lab_out, lab_in = rgb_to_lab(out), rgb_to_lab(np.asarray(image))
    hint_lab = rgb_to_lab(np.array([[hint.rgb]], np.uint8))[0, 0]
    hue = np.degrees(np.arctan2(lab_out[100, 150, 2], lab_out[100, 150, 1]))
    hint_hue = np.degrees(np.arctan2(hint_lab[2], hint_lab[1]))
    assert abs(hue - hint_hue) < 10 and np.hypot(*lab_out[100, 150, 1:]) > 20  # blue, not grey
    np.testing.assert_allclose(lab_out[..., 0], lab_in[..., 0], atol=100 / 255)


def test_colorize_refuses_a_hint_outside_the_picture(colorizer_model):
    with pytest.raises(HintError, match="outside"):
        colorizer_model.colorize(Image.new("RGB", (30, 20)), hints=[Hint(30, 0, RED)])


# --- the hint map a hint-trained network reads ----------------------------------------------------

def test_hint_map_is_empty_without_hints():
    assert not hint_map(two_regions(), [], (64, 64)).any()


def test_hint_map_carries_the_hint_colour_over_its_region_with_fading_confidence():
    spread = hint_map(two_regions(), [Hint(10, 30, RED)], (64, 64))
    hint_ab = rgb_to_lab(np.array([[[0xC0, 0x30, 0x20]]], np.uint8))[0, 0, 1:]
    assert spread.shape == (64, 64, 3) and spread.dtype == np.float32
    np.testing.assert_allclose(spread[5:60, 2:26, :2] * 110, np.broadcast_to(hint_ab, (55, 24, 2)), atol=0.5)
    confidence = spread[..., 2]
    assert confidence[30, 10] > 0.95 and confidence[30, 10] > confidence[5, 25] > 0.3  # fades with distance
    assert confidence[:, 36:].max() < 0.01  # barely reaches across the edge


def test_hint_map_averages_two_hints_where_both_reach():
    lightness = np.full((32, 32), 50.0, np.float32)
    spread = hint_map(lightness, [Hint(2, 16, "#c03020"), Hint(29, 16, "#2050e0")], (32, 32))
    red, blue = (rgb_to_lab(np.array([[c]], np.uint8))[0, 0, 1:] / 110
                 for c in ((0xC0, 0x30, 0x20), (0x20, 0x50, 0xE0)))
    np.testing.assert_allclose(spread[16, 2, :2], red, atol=0.01)
    np.testing.assert_allclose(spread[16, 29, :2], blue, atol=0.01)
    np.testing.assert_allclose(spread[16, 15:17, :2].mean(axis=0), (red + blue) / 2, atol=0.05)
