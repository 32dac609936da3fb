"""Shared fixtures. Tests make their own data; nothing is downloaded."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


# --- website (tests/test_web_*.py) ---------------------------------------------------------
WEB_ENV = ("SECRET_KEY", "DYNO", "COLORIZER_API_URL", "COLORIZER_API_KEY", "COLORIZER_MODEL_PATH",
           "COLORIZER_TIMEOUT", "MAX_UPLOAD_MB", "MAX_PIXELS")


def photo_bytes(size: tuple[int, int] = (640, 480), fmt: str = "JPEG", mode: str = "RGB") -> bytes:
    """A small colourful test picture (gradients and shapes), encoded in `fmt`."""
    import io

    import numpy as np
    from PIL import Image, ImageDraw

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
    import numpy as np

    from colorizer.lab import rgb_to_lab

    lab = rgb_to_lab(np.asarray(image.convert("RGB")))
    return float(np.hypot(lab[..., 1], lab[..., 2]).mean())


def noise_png(side: int) -> bytes:
    """An incompressible PNG of about 3 * side^2 bytes."""
    import io

    import numpy as np
    from PIL import Image

    noise = np.random.default_rng(0).integers(0, 256, (side, side, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(noise).save(buf, format="PNG", compress_level=0)
    return buf.getvalue()


def crafted_png_header(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height but carries one row of data: a decompression bomb's shape."""
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return len(body).to_bytes(4, "big") + kind + body + zlib.crc32(kind + body).to_bytes(4, "big")

    ihdr = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 0, 0, 0, 0])
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * (width + 1))) + chunk(b"IEND", b"")


def truncated_jpeg() -> bytes:
    """The first half of a JPEG, as an interrupted upload leaves it."""
    data = photo_bytes((400, 300))
    return data[: len(data) // 2]


def pcx_image() -> bytes:
    """A format Pillow reads but the colorizer does not accept (415)."""
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (20, 10), "red").save(buf, format="PCX")
    return buf.getvalue()


@pytest.fixture
def make_web_app(monkeypatch):
    """create_app() with the given settings, isolated from the developer's environment and .env."""
    from app import create_app

    for name in WEB_ENV:
        monkeypatch.setenv(name, "")  # set (so .env cannot fill it) but empty (so the default applies)

    def make(**config):
        return create_app({"TESTING": True, "SECRET_KEY": "test-secret", **config})

    return make


@pytest.fixture
def web_app(make_web_app):
    return make_web_app()


@pytest.fixture
def web_client(web_app):
    return web_app.test_client()


# --- colorizer library and CLI (tests/test_lab.py, test_imageio.py, test_engine.py, test_cli.py) ---
MODEL_PATH = ROOT / "models" / "colorizer.onnx"


def photo(size: tuple[int, int] = (320, 240), mode: str = "RGB"):
    """photo_bytes() decoded: a PIL image in `mode`, losslessly."""
    import io

    from PIL import Image

    return Image.open(io.BytesIO(photo_bytes(size, "PNG", mode)))


def write_tiny_model(path: Path, scale=(0.0, 0.0), offset=(0.0, 0.0), input_shape=("N", 1, "H", "W"),
                     metadata: dict[str, str] | None = None) -> Path:
    """An ONNX model with the colorizer's I/O contract computing ab = scale * L + offset per channel.

    Predictable output for the engine's plumbing; input_shape fixes or frees the working size.
    """
    import numpy as np
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


@pytest.fixture
def tiny_model(tmp_path):
    """write_tiny_model(...) into tmp_path; returns the path. Several calls give several files."""
    count = 0

    def make(**kwargs) -> Path:
        nonlocal count
        count += 1
        return write_tiny_model(tmp_path / f"tiny{count}.onnx", **kwargs)

    return make


@pytest.fixture(scope="session")
def colorizer_model():
    """The shipped model, loaded once for the whole run."""
    from colorizer.engine import Colorizer

    return Colorizer.load(MODEL_PATH)
