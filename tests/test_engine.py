"""colorizer.engine: plumbing against tiny ONNX graphs, the full-resolution contract against the shipped model."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from colorizer import engine, png
from colorizer.engine import Colorization, Colorizer, apply_ab, default_model_path
from colorizer.lab import AB_SCALE, lab_to_rgb, rgb_to_l, rgb_to_lab, to_uint8
from tests.helpers import MODEL_PATH, photo

ONE_LEVEL = 100 / 255  # one 8-bit grey level on the L* scale


def lightness(img: Image.Image) -> np.ndarray:
    return rgb_to_l(np.asarray(img.convert("RGB")))


def grey(value: int, size=(60, 40)) -> Image.Image:
    return Image.new("RGB", size, (value, value, value))


def horizontal_ramp(size=(256, 64)) -> Image.Image:
    """Dark on the left, light on the right, constant down each column."""
    return Image.fromarray(np.linspace(20, 235, size[0], dtype=np.uint8)[None].repeat(size[1], axis=0)).convert("RGB")


# --- plumbing, with models whose output is known -------------------------------------------

def test_constant_colour_lands_on_every_pixel(tiny_model):
    colorizer = Colorizer.load(tiny_model(offset=(0.2, -0.1)))
    out = colorizer.colorize(grey(119, (97, 41)))
    assert (out.mode, out.size) == ("RGB", (97, 41))
    lab = rgb_to_lab(np.asarray(out))
    np.testing.assert_allclose(lab[..., 1], 0.2 * AB_SCALE, atol=1.0)
    np.testing.assert_allclose(lab[..., 2], -0.1 * AB_SCALE, atol=1.0)
    np.testing.assert_allclose(lab[..., 0], lightness(grey(119, (97, 41))), atol=ONE_LEVEL)


def test_model_input_is_encoded_l_and_output_is_decoded_ab(tiny_model):
    """ab = (0.5, -0.25) * L_in with L_in = L/50 - 1: a*, b* follow from L exactly."""
    colorizer = Colorizer.load(tiny_model(scale=(0.5, -0.25)), size=64)
    ab = colorizer.predict_ab(grey(200))  # 60 x 40: the long side fits 64, the aspect ratio is kept
    assert ab.shape == (43, 64, 2) and ab.dtype == np.float32
    l_in = lightness(grey(200))[0, 0] / 50 - 1
    np.testing.assert_allclose(ab[..., 0], 0.5 * l_in * AB_SCALE, rtol=1e-4)
    np.testing.assert_allclose(ab[..., 1], -0.25 * l_in * AB_SCALE, rtol=1e-4)


def test_predicted_ab_keeps_image_orientation(tiny_model):
    ab = Colorizer.load(tiny_model(scale=(0.5, 0.5)), size=64).predict_ab(horizontal_ramp())
    assert (np.diff(ab[..., 0], axis=1) > 0).all()  # increases left to right, like L
    np.testing.assert_allclose(ab[..., 0], ab[:1, :, 0].repeat(16, axis=0), atol=1e-4)  # constant down columns


def test_vividness_scales_chroma(tiny_model):
    colorizer = Colorizer.load(tiny_model(offset=(0.1, 0.15)))
    chroma = [np.abs(rgb_to_lab(np.asarray(colorizer.colorize(grey(128), v)))[..., 1:]).mean()
              for v in (0.0, 0.5, 1.0, 2.0)]
    assert chroma[0] < 0.1
    np.testing.assert_allclose(chroma[1:], np.array([0.5, 1.0, 2.0]) * chroma[2], rtol=0.05)


def test_size_from_fixed_input_shape(tiny_model):
    path = tiny_model(input_shape=(1, 1, 64, 64), metadata={"working_size": "256"})
    colorizer = Colorizer.load(path)
    assert colorizer.size == 64
    assert colorizer.colorize(grey(100, (300, 200))).size == (300, 200)


def test_size_from_metadata_default_and_argument(tiny_model):
    assert Colorizer.load(tiny_model(metadata={"working_size": "128"})).size == 128
    assert Colorizer.load(tiny_model()).size == engine.DEFAULT_SIZE
    assert Colorizer.load(tiny_model(metadata={"working_size": "128"}), size=32).size == 32


@pytest.mark.parametrize("size", [100, -128])
def test_size_the_model_cannot_run_at_is_refused(tiny_model, size):
    with pytest.raises(ValueError, match="multiple of 128"):
        Colorizer.load(tiny_model(metadata={"size_multiple": "128"}), size=size)


def test_load_missing_model():
    with pytest.raises(FileNotFoundError, match="COLORIZER_MODEL_PATH"):
        Colorizer.load("/nonexistent/model.onnx")


def test_model_path_from_environment(tiny_model, monkeypatch):
    path = tiny_model()
    monkeypatch.setenv("COLORIZER_MODEL_PATH", str(path))
    assert default_model_path() == path
    assert Colorizer.load().path == path
    monkeypatch.delenv("COLORIZER_MODEL_PATH")
    assert default_model_path() == MODEL_PATH


def test_threads(tiny_model):
    colorizer = Colorizer.load(tiny_model(), threads=1)
    assert colorizer.session.get_session_options().intra_op_num_threads == 1


def test_the_session_keeps_no_memory_arena_between_pictures(tiny_model):
    """A worker must not hold the largest activations it ever needed (bench/RESULTS.md, seventh session)."""
    assert Colorizer.load(tiny_model()).session.get_session_options().enable_cpu_mem_arena is False


def test_describe(tiny_model):
    colorizer = Colorizer.load(tiny_model(metadata={"model_args": '{"depth": 7}'}))
    assert colorizer.describe() == {"path": colorizer.path.name, "size": 256, "model_args": {"depth": 7}}


# --- apply_ab: colour of any resolution onto full-resolution L -----------------------------

def split_ab(height: int, width: int) -> np.ndarray:
    """a* = +30 on the left half, -30 on the right half; b* = 0."""
    ab = np.zeros((height, width, 2), np.float32)
    ab[:, : width // 2, 0], ab[:, width // 2:, 0] = 30, -30
    return ab


@pytest.mark.parametrize("ab_shape", [(8, 8), (50, 75), (400, 500)])
def test_apply_ab_of_another_resolution(ab_shape):
    image = photo((301, 203), "L")
    out = apply_ab(image, split_ab(*ab_shape))
    assert (out.mode, out.size) == ("RGB", (301, 203))
    a = rgb_to_lab(np.asarray(out))[..., 1]
    assert np.median(a[:, :100]) > 20 and np.median(a[:, -100:]) < -20
    assert np.abs(lightness(out) - lightness(image)).max() <= ONE_LEVEL


def test_a_grey_photo_gets_the_same_colour_as_grey_pixels_in_rgb():
    """The L-mode fast path reads a band's L* by table; it must agree with the RGB path to the bit."""
    grey = photo((257, 131), "L")
    ab = np.random.default_rng(1).uniform(-60, 60, (9, 13, 2)).astype(np.float32)
    np.testing.assert_array_equal(np.asarray(apply_ab(grey, ab)), np.asarray(apply_ab(grey.convert("RGB"), ab)))


@pytest.mark.parametrize("mode", ["L", "RGB", "RGBA"])
def test_the_png_made_band_by_band_has_the_painted_pixels(monkeypatch, mode):
    """to_png paints each segment's rows just before deflating them: many bands, many segments, no seam."""
    monkeypatch.setattr(engine, "BAND_PIXELS", 120 * 3)
    monkeypatch.setattr(png, "SEGMENT_BYTES", 120 * 4 * 7 + 5)
    image = photo((120, 90), mode)
    if mode == "RGBA":
        image.putalpha(Image.linear_gradient("L").resize((120, 90)))
    colour = Colorization(image, np.random.default_rng(2).uniform(-60, 60, (17, 23, 2)).astype(np.float32), 1.3)
    decoded = Image.open(io.BytesIO(colour.to_png()))
    assert decoded.mode == ("RGBA" if mode == "RGBA" else "RGB")
    np.testing.assert_array_equal(np.asarray(decoded), np.asarray(colour.to_image()))


def test_a_read_only_image_is_painted_and_left_alone(monkeypatch):
    """Bands read a shared, read-only buffer side by side: each time the same colour, the buffer untouched."""
    monkeypatch.setattr(engine, "BAND_PIXELS", 120 * 3)
    pixels = np.asarray(photo((120, 90)).convert("RGBA")).copy()
    shared = Image.frombuffer("RGBA", (120, 90), pixels, "raw", "RGBA", 0, 1)
    assert shared.readonly
    ab = split_ab(90, 120)
    expected = np.asarray(apply_ab(shared.copy(), ab))
    for _ in range(5):
        np.testing.assert_array_equal(np.asarray(apply_ab(shared, ab)), expected)
    np.testing.assert_array_equal(np.asarray(shared), pixels)


def test_apply_ab_in_bands_equals_one_pass(monkeypatch):
    """No seams: a band boundary off by one row would move these rough colours by several levels."""
    image = photo((333, 257))
    ab = np.random.default_rng(0).uniform(-60, 60, (17, 23, 2)).astype(np.float32)
    monkeypatch.setattr(engine, "BAND_PIXELS", 10**9)
    whole = np.asarray(apply_ab(image, ab), np.int16)
    monkeypatch.setattr(engine, "BAND_PIXELS", 333 * 7 + 5)
    np.testing.assert_array_equal(np.asarray(apply_ab(image, ab), np.int16), whole)


@pytest.mark.parametrize("size, grid", [((333, 257), (23, 17)), ((40, 300), (60, 17)), ((300, 12), (23, 17))],
                         ids=["stretched", "narrower-than-the-grid", "shorter-than-the-grid"])
def test_the_colour_is_stretched_to_the_picture_as_pillow_resizes_it(size, grid):
    """Each band stretches its own rows of the small grid; the picture must get the colour a bilinear
    resize of the whole grid gives (pixel centres aligned, edges clamped, a smaller picture averaged)."""
    image = photo(size)
    ab = np.random.default_rng(3).uniform(-60, 60, (grid[1], grid[0], 2)).astype(np.float32)
    resized = np.stack([np.asarray(Image.fromarray(np.ascontiguousarray(ab[..., i]), mode="F")
                                   .resize(size, Image.BILINEAR)) for i in range(2)], axis=-1)
    expected = np.asarray(apply_ab(image, resized), np.int16)  # a grid at the picture's size is used as it is
    painted = np.asarray(apply_ab(image, ab), np.int16)
    # Float rounding in another order than Pillow's tips the odd pixel over a rounding edge.
    assert np.abs(painted - expected).max() <= 1
    assert (painted != expected).mean() < 1e-3


@pytest.mark.parametrize("mode", ["RGBA", "LA"])
def test_apply_ab_keeps_alpha(mode):
    image = photo((64, 48), "RGB").convert(mode)
    image.putalpha(Image.linear_gradient("L").resize((64, 48)))
    out = apply_ab(image, split_ab(4, 4))
    assert out.mode == "RGBA"
    np.testing.assert_array_equal(np.asarray(out.getchannel("A")), np.asarray(image.getchannel("A")))


# --- the shipped model: the full-resolution contract ---------------------------------------

def test_shipped_model_working_size(colorizer_model):
    assert colorizer_model.path == MODEL_PATH
    # The size the model was trained for, recorded by training.export.
    assert colorizer_model.size == int(colorizer_model.metadata["working_size"]) == 192
    assert colorizer_model.session.get_inputs()[0].name == "L"
    assert colorizer_model.session.get_outputs()[0].name == "ab"


@pytest.mark.parametrize("size", [(1001, 333), (255, 257), (64, 700)])
def test_output_has_input_size_and_lightness(colorizer_model, size):
    image = photo(size, "L")
    out = colorizer_model.colorize(image)
    assert (out.mode, out.size) == ("RGB", size)
    assert np.abs(lightness(out) - lightness(image)).max() <= ONE_LEVEL


def test_vividness_zero_gives_grey(colorizer_model):
    out = np.asarray(colorizer_model.colorize(photo((200, 150)), vividness=0.0), dtype=np.int16)
    assert np.abs(out - out[..., :1]).max() <= 1


@pytest.mark.parametrize("vividness", [-0.1, 2.01, float("nan")])
def test_vividness_out_of_range(colorizer_model, vividness):
    with pytest.raises(ValueError, match="vividness"):
        colorizer_model.colorize(photo((32, 32)), vividness)
    with pytest.raises(ValueError, match="vividness"):
        apply_ab(photo((32, 32)), np.zeros((2, 2, 2), np.float32), vividness)


def test_rgba_alpha_preserved_exactly(colorizer_model):
    image = photo((120, 90), "RGBA")
    image.putalpha(Image.radial_gradient("L").resize((120, 90)))
    out = colorizer_model.colorize(image, vividness=1.5)
    assert (out.mode, out.size) == ("RGBA", (120, 90))
    np.testing.assert_array_equal(np.asarray(out.getchannel("A")), np.asarray(image.getchannel("A")))


def test_colour_photo_is_colorized_from_its_lightness_alone(colorizer_model, monkeypatch):
    """The network sees L* only: two photos with other colours and the same L* feed it the same input
    (up to the uint8 rounding of the recoloured one), and both come back with their own L*."""
    colour = photo((300, 200))
    lab = rgb_to_lab(np.asarray(colour))
    lab[..., 1:] *= -0.5  # other colours, same L*
    recoloured = Image.fromarray(to_uint8(lab_to_rgb(lab)))
    assert np.abs(np.asarray(colour, np.int16) - np.asarray(recoloured, np.int16)).mean() > 30
    fed = []

    class Recording:
        def run(self, names, feeds):
            fed.append(feeds["L"].copy())
            return session.run(names, feeds)

    session = colorizer_model.session
    monkeypatch.setattr(colorizer_model, "session", Recording())
    outs = [colorizer_model.colorize(img) for img in (colour, recoloured)]
    views = len(fed) // 2  # the picture and its mirror image, for each photo
    lightness_levels = np.abs(np.stack(fed[:views]) - np.stack(fed[views:])) * 50  # the input is L* / 50 - 1
    assert lightness_levels.mean() < 0.2 and lightness_levels.max() < 4  # rounding, not colour
    for img, out in zip((colour, recoloured), outs):
        np.testing.assert_allclose(rgb_to_l(np.asarray(out)), rgb_to_l(np.asarray(img)), atol=0.6)


def test_a_mirrored_photo_gets_the_mirrored_colour(colorizer_model):
    """The engine averages the network's colour for the picture and for its mirror image, so both
    facings of a photo get the same colour; the network alone does not."""
    image = photo((240, 160), "L")
    mirrored = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    ab = colorizer_model.predict_ab(image)
    np.testing.assert_allclose(colorizer_model.predict_ab(mirrored)[:, ::-1], ab, atol=0.01)
    single = Colorizer.load(colorizer_model.path, mirror=False)
    one_way, other_way = single.predict_ab(image), single.predict_ab(mirrored)[:, ::-1]
    assert np.abs(one_way - other_way).max() > 2  # a*, b* units
    np.testing.assert_allclose(ab, 0.5 * (one_way + other_way), atol=0.01)


# --- memory: fewer bytes per full-resolution pixel (issue 10, defect 3) ---------------------

@pytest.mark.parametrize("mode", ["L", "RGBA"])
def test_the_streamed_png_and_the_preview_show_the_colorized_picture(colorizer_model, mode):
    image = photo((300, 200), mode)
    if mode == "RGBA":
        image.putalpha(Image.linear_gradient("L").resize((300, 200)))
    expected = colorizer_model.colorize(image, 1.3)
    colour = colorizer_model.colorization(image, 1.3)
    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(colour.to_png()))), np.asarray(expected))
    preview = colour.preview(150)
    assert (preview.size, preview.mode) == ((150, 100), expected.mode)
    small = np.asarray(expected.resize((150, 100), Image.LANCZOS).convert("RGB"), np.int16)
    assert np.abs(np.asarray(preview.convert("RGB"), np.int16) - small).mean() < 3  # the same picture, smaller


@pytest.mark.parametrize("mode", ["L", "RGB", "RGBA", "P"])
def test_the_models_input_is_the_same_without_a_full_size_rgb_copy(mode):
    image = photo((301, 203), mode)
    if mode == "RGBA":
        image.putalpha(Image.linear_gradient("L").resize((301, 203)))
    reference = image.convert("RGB").resize((128, 128), Image.BILINEAR, reducing_gap=2.0)
    np.testing.assert_array_equal(np.asarray(engine._small_rgb(image, (128, 128))), np.asarray(reference))
