"""Shared fixtures; the data builders live in tests/helpers.py."""
from __future__ import annotations

import pytest

from tests.helpers import (  # noqa: F401 -- re-exported for test modules that still import them from here
    MODEL_PATH,
    ROOT,
    chroma,
    crafted_png_header,
    noise_png,
    pcx_image,
    photo,
    photo_bytes,
    truncated_jpeg,
    write_tiny_model,
)

# --- website (tests/test_web_*.py) ---------------------------------------------------------
WEB_ENV = ("SECRET_KEY", "DYNO", "COLORIZER_API_URL", "COLORIZER_API_KEY", "COLORIZER_MODEL_PATH", "PIXEL_BUDGET",
           "BUDGET_WAIT_S", "API_BREAKER_FAILURES", "API_BREAKER_COOLDOWN_S",
           "COLORIZER_TIMEOUT", "MAX_UPLOAD_MB", "MAX_PIXELS")


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


# --- colorizer library and CLI ---------------------------------------------------------
@pytest.fixture
def tiny_model(tmp_path):
    """write_tiny_model(...) into tmp_path; returns the path. Several calls give several files."""
    count = 0

    def make(**kwargs):
        nonlocal count
        count += 1
        return write_tiny_model(tmp_path / f"tiny{count}.onnx", **kwargs)

    return make


@pytest.fixture(scope="session")
def colorizer_model():
    """The shipped model, loaded once for the whole run."""
    from colorizer.engine import Colorizer

    return Colorizer.load(MODEL_PATH)
