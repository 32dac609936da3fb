"""Test data builders, imported by the test modules (`from tests.helpers import photo_bytes`).

Tests make their own data; nothing is downloaded.
"""
from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from colorizer.lab import rgb_to_lab

ROOT = Path(__file__).resolve().parent.parent
MODEL_PATH = ROOT / "models" / "colorizer.onnx"


def photo_bytes(size: tuple[int, int] = (640, 480), fmt: str = "JPEG", mode: str = "RGB") -> bytes:
    """A small colourful test picture (gradients and shapes), encoded in `fmt`."""
    w, h = size
    y, x = np.mgrid[0:h, 0:w]
    rgb = np.stack([255 * x / w, 255 * y / h, 128 + 100 * np.sin(x / 23.0)], -1).astype(np.uint8)
    img = Image.fromarray(rgb)
    ImageDraw.Draw(img).ellipse((w // 4, h // 4, w // 2, h // 2), fill=(20, 200, 60))
    buf = io.BytesIO()
    img.convert(mode).save(buf, format=fmt)
    return buf.getvalue()


def chroma(image) -> float:
    """Mean sqrt(a*^2 + b*^2): about 0 for a grey image."""
    lab = rgb_to_lab(np.asarray(image.convert("RGB")))
    return float(np.hypot(lab[..., 1], lab[..., 2]).mean())


def noise_png(side: int) -> bytes:
    """An incompressible PNG of about 3 * side^2 bytes."""
    noise = np.random.default_rng(0).integers(0, 256, (side, side, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(noise).save(buf, format="PNG", compress_level=0)
    return buf.getvalue()


def crafted_png_header(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height but carries one row of data: a decompression bomb's shape."""
    ihdr = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 0, 0, 0, 0])
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(b"\0" * (width + 1)))
            + png_chunk(b"IEND", b""))


def truncated_jpeg() -> bytes:
    """The first half of a JPEG, as an interrupted upload leaves it."""
    data = photo_bytes((400, 300))
    return data[: len(data) // 2]


def pcx_image() -> bytes:
    """A format Pillow reads but the colorizer does not accept (415)."""

    buf = io.BytesIO()
    Image.new("RGB", (20, 10), "red").save(buf, format="PCX")
    return buf.getvalue()


def wavy_photo(seed: int, size: tuple[int, int] = (80, 60)) -> Image.Image:
    """A small colour photo of smooth waves, a different tint per seed: training data that is never grey."""

    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0 : size[1], 0 : size[0]]
    img = rng.uniform(40, 220, 3) + 40 * np.stack([np.sin(x / 7 + i) * np.cos(y / 9) for i in range(3)], -1)
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))


def photo(size: tuple[int, int] = (320, 240), mode: str = "RGB"):
    """photo_bytes() decoded: a PIL image in `mode`, losslessly."""

    return Image.open(io.BytesIO(photo_bytes(size, "PNG", mode)))


def write_tiny_model(path: Path, scale=(0.0, 0.0), offset=(0.0, 0.0), input_shape=("N", 1, "H", "W"),
                     metadata: dict[str, str] | None = None) -> Path:
    """An ONNX model with the colorizer's I/O contract computing ab = scale * L + offset per channel.

    Predictable output for the engine's plumbing; input_shape fixes or frees the working size.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    params = [numpy_helper.from_array(np.array(v, np.float32).reshape(1, 2, 1, 1), name)
              for name, v in (("scale", scale), ("offset", offset))]
    n, _, h, w = input_shape
    graph = helper.make_graph(
        [helper.make_node("Mul", ["L", "scale"], ["scaled"]), helper.make_node("Add", ["scaled", "offset"], ["ab"])],
        "tiny_colorizer",
        [helper.make_tensor_value_info("L", TensorProto.FLOAT, list(input_shape))],
        [helper.make_tensor_value_info("ab", TensorProto.FLOAT, [n, 2, h, w])],
        initializer=params,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    helper.set_model_props(model, metadata or {})
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def palette_png_without_plte() -> bytes:
    """A 68-byte palette PNG with no PLTE chunk: Pillow opens it, then asserts (AssertionError) on conversion."""
    ihdr = struct.pack(">IIBBBBB", 4, 4, 8, 3, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(b"\0" * 20)) \
        + png_chunk(b"IEND", b"")


def dds_header() -> bytes:
    """A 128-byte DDS header with a FourCC Pillow does not implement: its plugin raises NotImplementedError."""
    header = bytearray(128)
    header[0:4] = b"DDS "
    struct.pack_into("<7I", header, 4, 124, 0x1007, 8, 8, 0, 0, 0)
    struct.pack_into("<2I4s", header, 76, 32, 0x4, b"ZZZZ")
    return bytes(header)


def zero_png(side: int, mode: str = "L") -> bytes:
    """An all-zero side x side PNG: tens of kilobytes on the wire, side^2 pixels once decoded."""

    buf = io.BytesIO()
    Image.new(mode, (side, side)).save(buf, format="PNG", compress_level=9)
    return buf.getvalue()
