"""colorizer.imageio: every mode and format an upload arrives in, and every way it can be bad."""
from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image, ImageFile

from colorizer import engine, errors, hints, imageio
from colorizer.errors import BadParameter, Busy, ColorizerError, parse_vividness
from colorizer.imageio import (
    EmptyImage,
    ImageError,
    ImageTooLarge,
    NotAnImage,
    TruncatedImage,
    UnsupportedImage,
    fit_within,
    open_image,
    to_png,
)
from tests.helpers import dds_header, palette_png_without_plte, photo


def encode(img: Image.Image, fmt: str, **options) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **options)
    return buf.getvalue()


def pixels(img: Image.Image) -> np.ndarray:
    return np.asarray(img, dtype=np.int16)


def noisy_photo(size=(400, 300)) -> Image.Image:
    """photo() with grain, so that it compresses like a real photo and half a file is half a picture."""
    grain = np.random.default_rng(0).normal(0, 12, (size[1], size[0], 3))
    return Image.fromarray(np.clip(pixels(photo(size)) + grain, 0, 255).astype(np.uint8))


# --- modes ---------------------------------------------------------------------------------

@pytest.mark.parametrize("mode, decoded", [("RGB", "RGB"), ("L", "L"), ("P", "RGB"), ("1", "L")])
def test_opaque_modes_decode_like_pillow(mode, decoded):
    """Colour stays RGB; one-channel grey stays one byte per pixel (L), never widened to RGB."""
    original = photo((64, 48), mode)
    img = open_image(encode(original, "PNG"))
    assert (img.mode, img.size) == (decoded, (64, 48))
    np.testing.assert_array_equal(pixels(img.convert("RGB")), pixels(original.convert("RGB")))


@pytest.mark.parametrize("mode", ["RGBA", "LA"])
def test_alpha_modes_keep_alpha(mode):
    original = photo((64, 48), "RGB").convert(mode)
    original.putalpha(Image.linear_gradient("L").resize((64, 48)))
    img = open_image(encode(original, "PNG"))
    assert img.mode == "RGBA"
    np.testing.assert_array_equal(pixels(img), pixels(original.convert("RGBA")))


@pytest.mark.parametrize("mode", ["P", "L", "RGB"])
def test_transparency_key_becomes_alpha(mode):
    original = photo((64, 48), mode)
    key = original.getpixel((0, 0))
    img = open_image(encode(original, "PNG", transparency=key))
    assert img.mode == "RGBA"
    alpha = pixels(img.getchannel("A"))
    assert alpha[0, 0] == 0 and alpha.max() == 255


@pytest.mark.parametrize("fmt", ["JPEG", "TIFF"])
def test_cmyk(fmt):
    original = photo((64, 48)).convert("CMYK")
    img = open_image(encode(original, fmt, **({"quality": 95} if fmt == "JPEG" else {})))
    assert img.mode == "RGB"
    assert np.abs(pixels(img) - pixels(original.convert("RGB"))).mean() < 2


def test_16_bit_grey_png_is_scaled_not_clipped_to_white():
    mid_grey = Image.fromarray(np.full((32, 32), 32768, np.uint16))
    assert Image.open(io.BytesIO(encode(mid_grey, "PNG"))).mode == "I;16"
    img = open_image(encode(mid_grey, "PNG"))
    assert img.mode == "L"
    assert np.abs(pixels(img) - 128).max() <= 1


def test_16_bit_gradient_keeps_its_range():
    ramp = Image.fromarray(np.linspace(0, 65535, 256, dtype=np.uint16)[None].repeat(8, axis=0))
    grey = pixels(open_image(encode(ramp, "PNG")))[0]
    assert grey[0] == 0 and grey[-1] == 255
    assert (np.diff(grey) >= 0).all()


def test_32_bit_int_tiff():
    img = open_image(encode(Image.fromarray(np.full((16, 16), 65535 // 4, np.int32)), "TIFF"))
    assert np.abs(pixels(img) - 64).max() <= 1


def test_float_tiff_in_unit_range():
    ramp = Image.fromarray(np.linspace(0, 1, 101, dtype=np.float32)[None].repeat(4, axis=0))
    assert ramp.mode == "F"
    grey = pixels(open_image(encode(ramp, "TIFF")))[0]
    assert (grey[0], grey[50], grey[-1]) == (0, 128, 255)


# --- formats -------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt, options, tolerance", [
    ("PNG", {}, 0), ("BMP", {}, 0), ("TIFF", {}, 0), ("WEBP", {"lossless": True}, 0),
    ("WEBP", {"quality": 90}, 6), ("JPEG", {"quality": 95}, 4),
])
def test_formats(fmt, options, tolerance):
    original = photo((96, 64))
    img = open_image(encode(original, fmt, **options))
    assert (img.mode, img.size) == ("RGB", (96, 64))
    assert np.abs(pixels(img) - pixels(original)).mean() <= tolerance


def test_animated_gif_uses_the_first_frame():
    frames = [Image.new("RGB", (32, 32), colour) for colour in [(255, 0, 0), (0, 255, 0), (0, 0, 255)]]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)
    assert Image.open(io.BytesIO(data)).n_frames == 3
    img = open_image(data)
    assert img.getpixel((5, 5)) == (255, 0, 0)


def test_mpo_uses_the_first_frame():
    first, second = Image.new("RGB", (64, 32), (200, 30, 30)), Image.new("RGB", (64, 32), (30, 30, 200))
    data = encode(first, "MPO", save_all=True, append_images=[second], quality=95)
    assert Image.open(io.BytesIO(data)).format == "MPO"
    red, green, blue = open_image(data).getpixel((10, 10))
    assert red > 150 and blue < 80


@pytest.mark.parametrize("kind", ["bytes", "str", "path", "file"])
def test_sources(kind, tmp_path):
    data = encode(photo((40, 30)), "PNG")
    path = tmp_path / "in.png"
    path.write_bytes(data)
    source = {"bytes": data, "str": str(path), "path": path, "file": io.BytesIO(data)}[kind]
    assert open_image(source).size == (40, 30)


# --- EXIF orientation ----------------------------------------------------------------------

UPRIGHT = np.block([[np.full((16, 32), 30), np.full((16, 32), 90)],
                    [np.full((16, 32), 150), np.full((16, 32), 220)]]).astype(np.uint8)  # 64 wide, 32 high

# How a camera stores the upright picture for each EXIF Orientation value (the tag says where the
# stored row 0 / column 0 belong): 6 means "rotate 90 degrees clockwise to display", so it is stored
# rotated counter-clockwise.
STORED = {
    1: lambda a: a,
    2: np.fliplr,
    3: lambda a: np.rot90(a, 2),
    4: np.flipud,
    5: lambda a: a.T,
    6: lambda a: np.rot90(a, 1),
    7: lambda a: np.rot90(a, 2).T,
    8: lambda a: np.rot90(a, -1),
}


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied(orientation):
    exif = Image.Exif()
    exif[0x0112] = orientation
    stored = Image.fromarray(np.ascontiguousarray(STORED[orientation](UPRIGHT)))
    img = open_image(encode(stored, "JPEG", quality=100, exif=exif))
    assert img.size == (64, 32)
    assert img.mode == "L"
    assert np.abs(pixels(img) - UPRIGHT).max() <= 3


# --- bad input -----------------------------------------------------------------------------

def test_zero_bytes(tmp_path):
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    for source in (b"", empty):
        with pytest.raises(EmptyImage) as info:
            open_image(source)
        assert (info.value.status, info.value.code) == (400, "empty")


@pytest.mark.parametrize("data", [b"hello, this is text", b"\x89PNG\r\n\x1a\n" + b"\0" * 40, bytes(range(256)) * 8])
def test_not_an_image(data):
    with pytest.raises(NotAnImage) as info:
        open_image(data)
    assert (info.value.status, info.value.code) == (400, "not_an_image")
    assert "not an image" in str(info.value)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_truncated_file(fmt):
    data = encode(noisy_photo(), fmt)
    assert len(data) > 10_000
    with pytest.raises(TruncatedImage) as info:
        open_image(data[: len(data) // 2])
    assert (info.value.status, info.value.code) == (400, "truncated")


def png_header_only(width: int, height: int) -> bytes:
    """A PNG signature and IHDR claiming width x height 8-bit RGB, and not one pixel of data."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


def refuse_to_decode(self):
    raise pytest.fail("pixels were decoded")


@pytest.fixture
def no_decoding(monkeypatch):
    """Fail the test if any pixel data is decoded."""
    monkeypatch.setattr(ImageFile.ImageFile, "load", refuse_to_decode)


@pytest.mark.parametrize("width, height", [(20000, 20000), (8000, 8000)])  # above / below Pillow's own bomb limit
def test_decompression_bomb_is_refused_from_the_header(width, height, no_decoding):
    with pytest.raises(ImageTooLarge) as info:
        open_image(png_header_only(width, height))
    assert (info.value.status, info.value.code) == (413, "too_large")
    assert "50 megapixels" in str(info.value)


def test_real_bomb_file_is_refused(no_decoding):
    data = encode(Image.new("1", (12000, 12000)), "PNG")  # 144 megapixels in ~20 kB
    assert len(data) < 100_000
    with pytest.raises(ImageTooLarge):
        open_image(data)


def test_pixel_limit_is_configurable():
    data = encode(photo((100, 100)), "PNG")
    with pytest.raises(ImageTooLarge) as info:
        open_image(data, max_pixels=1000)
    assert "100x100" in str(info.value) and "0.001 megapixels" in str(info.value)
    assert open_image(data, max_pixels=10_000).size == (100, 100)


@pytest.mark.parametrize("fmt", ["ICO", "EPS", "PCX"])
def test_unsupported_format(fmt):
    with pytest.raises(UnsupportedImage) as info:
        open_image(encode(photo((32, 32)), fmt))
    assert (info.value.status, info.value.code) == (415, "unsupported")
    assert fmt in str(info.value)


def test_errors_are_value_errors_with_a_user_message():
    for error in (EmptyImage, NotAnImage, TruncatedImage, ImageTooLarge, UnsupportedImage):
        assert issubclass(error, ImageError) and issubclass(error, ValueError)


# --- output --------------------------------------------------------------------------------

@pytest.mark.parametrize("size, limits, expected", [
    ((400, 300), {"max_side": 200}, (200, 150)),
    ((300, 400), {"max_side": 200}, (150, 200)),
    ((400, 300), {"max_pixels": 30_000}, (200, 150)),
    ((400, 300), {"max_side": 300, "max_pixels": 30_000}, (200, 150)),
    ((400, 300), {"max_side": 100, "max_pixels": 30_000}, (100, 75)),
    ((400, 300), {"max_side": 1000}, (400, 300)),
    ((400, 300), {}, (400, 300)),
])
def test_fit_within(size, limits, expected):
    assert fit_within(photo(size), **limits).size == expected


def test_fit_within_never_upscales_and_keeps_the_picture():
    small = photo((80, 60))
    assert fit_within(small, max_side=1000, max_pixels=10**9) is small
    large = photo((800, 600))
    shrunk = fit_within(large, max_side=80)
    np.testing.assert_allclose(pixels(shrunk).mean(axis=(0, 1)), pixels(large).mean(axis=(0, 1)), atol=2)


@pytest.mark.parametrize("mode", ["RGB", "RGBA"])
def test_to_png_is_lossless(mode):
    original = photo((64, 48), mode)
    data = to_png(original)
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    decoded = Image.open(io.BytesIO(data))
    assert decoded.mode == mode
    np.testing.assert_array_equal(pixels(decoded), pixels(original))
    assert len(to_png(original, compress_level=9)) <= len(data)


def test_alpha_round_trip_through_the_engine(colorizer_model):
    original = photo((90, 70), "RGBA")
    original.putalpha(Image.radial_gradient("L").resize((90, 70)))
    result = colorizer_model.colorize(open_image(encode(original, "PNG")))
    back = open_image(to_png(result))
    assert back.mode == "RGBA"
    np.testing.assert_array_equal(pixels(back.getchannel("A")), pixels(original.getchannel("A")))


# --- hostile input: whatever the decoder raises is the upload's fault (issue 10, defect 4) ---

@pytest.mark.parametrize("data, error, code", [
    (palette_png_without_plte(), TruncatedImage, "truncated"),  # AssertionError inside Pillow
    (dds_header(), NotAnImage, "not_an_image"),  # NotImplementedError inside Pillow's DDS plugin
])
def test_decoder_exceptions_become_image_errors(data, error, code):
    with pytest.raises(error) as info:
        open_image(data)
    assert info.value.code == code and info.value.status == 400


@pytest.mark.parametrize("fmt", ["QOI", "PPM", "TGA", "SGI"])
def test_only_allowed_plugins_decode(fmt, monkeypatch):
    """Formats Pillow decodes but the site does not name are refused from the header, not decoded."""
    data = encode(photo((16, 16)), fmt)
    monkeypatch.setattr(ImageFile.ImageFile, "load", refuse_to_decode)
    with pytest.raises(UnsupportedImage) as info:
        open_image(data)
    assert fmt in str(info.value)


def test_admit_sees_the_pixel_count_before_decoding(monkeypatch):
    data = encode(photo((40, 30)), "PNG")
    monkeypatch.setattr(ImageFile.ImageFile, "load", refuse_to_decode)
    seen = []

    def admit(pixels):
        seen.append(pixels)
        raise Busy("full")

    with pytest.raises(Busy):
        open_image(data, admit=admit)
    assert seen == [1200]


def test_errors_share_one_tree():
    assert issubclass(ImageError, ColorizerError) and issubclass(BadParameter, ColorizerError)
    assert imageio.ImageError is errors.ImageError
    assert errors.MAX_VIVIDNESS == engine.MAX_VIVIDNESS


def test_a_subclass_of_bad_parameter_keeps_its_own_code():
    class HintError(BadParameter):
        code = "bad_hints"

    error = HintError("bad hints")
    assert (error.status, error.code) == (400, "bad_hints")
    assert issubclass(hints.HintError, BadParameter) and hints.HintError("x").code == "bad_hints"
    assert (BadParameter("x").code, ColorizerError("x", code="csrf").code) == ("bad_parameter", "csrf")


@pytest.mark.parametrize("raw, expected", [(None, 1.0), ("", 1.0), (" 0.5 ", 0.5), ("0", 0.0), ("2", 2.0), (1.5, 1.5)])
def test_parse_vividness(raw, expected):
    assert parse_vividness(raw) == expected


@pytest.mark.parametrize("raw", ["nan", "-0.1", "2.01", "inf", "lots", object()])
def test_parse_vividness_refuses(raw):
    with pytest.raises(BadParameter) as info:
        parse_vividness(raw)
    assert (info.value.status, info.value.code) == (400, "bad_parameter")
