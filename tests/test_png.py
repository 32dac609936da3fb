"""colorizer.png: a valid, lossless PNG from bands deflated in parallel, whatever the thread count."""
from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from colorizer import png
from colorizer.imageio import to_png
from tests.helpers import ROOT, photo


def chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """(type, body) of every chunk, each CRC checked."""
    assert data.startswith(png.SIGNATURE)
    out, pos = [], len(png.SIGNATURE)
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        assert struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])[0] == zlib.crc32(kind + body)
        out.append((kind, body))
        pos += 12 + length
    return out


def noise(mode: str, size: tuple[int, int]) -> Image.Image:
    """Incompressible pixels: the raw data of a 1100x700 image spans several deflate segments."""
    bands = len(mode)
    shape = (size[1], size[0], bands) if bands > 1 else (size[1], size[0])
    return Image.fromarray(np.random.default_rng(bands).integers(0, 256, shape, dtype=np.uint8), mode)


@pytest.mark.parametrize("mode", ["L", "LA", "RGB", "RGBA"])
@pytest.mark.parametrize("size", [(1100, 700), (1, 1), (3, 517)])
def test_lossless_and_a_valid_zlib_stream(mode, size):
    image = noise(mode, size)
    data = png.encode(image)
    parts = chunks(data)
    assert [kind for kind, _ in parts][:1] == [b"IHDR"] and parts[-1] == (b"IEND", b"")
    raw = zlib.decompress(b"".join(body for kind, body in parts if kind == b"IDAT"))  # checks Adler-32
    assert len(raw) == size[1] * (size[0] * len(mode) + 1)
    decoded = Image.open(io.BytesIO(data))
    assert (decoded.mode, decoded.size) == (mode, size)
    np.testing.assert_array_equal(np.asarray(decoded), np.asarray(image))


def test_same_bytes_with_any_thread_count():
    image = noise("RGB", (1100, 700))
    assert png.encode(image, threads=1) == png.encode(image, threads=2) == png.encode(image, threads=5)


def test_rows_are_asked_for_once_each_so_a_picture_can_be_made_while_it_is_encoded():
    """A segment needs only its own rows: a picture painted band by band is painted once, never whole."""
    pixels = np.asarray(photo((1100, 700)))
    asked = []

    def rows(top: int, bottom: int) -> np.ndarray:
        asked.append((top, bottom))
        return pixels[top:bottom]

    data = png.encode_rows((1100, 700), "RGB", rows)
    spans = sorted(asked)
    assert len(spans) >= 3 and spans[0][0] == 0 and spans[-1][1] == 700
    assert all(end == start for (_, end), (start, _) in zip(spans, spans[1:]))  # no row twice, none skipped
    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(data))), pixels)


@pytest.mark.parametrize("level", [0, 1, 3, 6, 9])
def test_every_compress_level(level):
    image = photo((900, 700))
    decoded = Image.open(io.BytesIO(png.encode(image, level)))
    np.testing.assert_array_equal(np.asarray(decoded), np.asarray(image))


def test_isal_deflates_the_fast_levels_and_zlib_serves_without_it(monkeypatch):
    image = photo((300, 200))
    assert png.isal_zlib is not None  # requirements.txt installs it
    with_isal = png.encode(image, 2)
    monkeypatch.setattr(png, "isal_zlib", None)  # a machine without the package
    monkeypatch.setattr(png, "checksums", zlib)
    with_zlib = png.encode(image, 2)
    assert with_isal != with_zlib  # two different deflaters ran...
    for data in (with_isal, with_zlib):  # ...and both wrote the same picture, with true checksums
        zlib.decompress(b"".join(body for kind, body in chunks(data) if kind == b"IDAT"))
        np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(data))), np.asarray(image))


def test_compresses_a_photo_about_as_well_as_pillow():
    with Image.open(ROOT / "static" / "samples" / "forest-path.jpg") as img:
        image = img.convert("RGB")
    pillow = io.BytesIO()
    image.save(pillow, format="PNG", compress_level=1)
    # ISA-L at the default level: 7 % over Pillow's adaptive filters with zlib, at a fifth of the time
    assert len(png.encode(image)) <= 1.10 * pillow.tell()


@pytest.mark.parametrize("mode", ["P", "I;16", "1"])
def test_other_modes_go_through_pillow(mode):
    image = photo((40, 30)).convert("L").convert(mode) if mode != "P" else photo((40, 30)).convert("P")
    decoded = Image.open(io.BytesIO(to_png(image)))
    assert decoded.mode == image.mode
    np.testing.assert_array_equal(np.asarray(decoded), np.asarray(image))
