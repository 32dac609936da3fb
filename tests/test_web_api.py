"""The HTTP API: POST /api/colorize (stateless, image/png) and GET /healthz."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from colorizer.lab import rgb_to_l, rgb_to_lab
from tests.conftest import crafted_png_header, noise_png, pcx_image, photo_bytes, truncated_jpeg


def post(client, data: bytes | None, filename: str = "photo.jpg", **fields):
    form = dict(fields)
    if data is not None:
        form["image"] = (io.BytesIO(data), filename)
    return client.post("/api/colorize", data=form, content_type="multipart/form-data")


def test_colorize_returns_full_resolution_png(web_client):
    upload = photo_bytes((1500, 1000))
    response = post(web_client, upload, filename="scan.tiff")
    assert response.status_code == 200
    assert response.mimetype == "image/png"
    assert response.headers["X-Colorizer-Backend"] == "local"
    assert 'filename=scan-colorized.png' in response.headers["Content-Disposition"]
    result = Image.open(io.BytesIO(response.data))
    assert result.format == "PNG" and result.size == (1500, 1000) and result.mode == "RGB"
    # Colour on the original lightness: detail kept, hue changed.
    source = np.asarray(Image.open(io.BytesIO(upload)).convert("RGB"))
    out = np.asarray(result)
    assert np.abs(rgb_to_l(out) - rgb_to_l(source)).mean() < 1.5
    lab = rgb_to_lab(out)
    assert np.hypot(lab[..., 1], lab[..., 2]).mean() > 0.5


def test_api_is_stateless(web_client):
    response = post(web_client, photo_bytes((64, 48)))
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    assert "Cookie" not in response.headers.get("Vary", "")


def test_api_needs_no_csrf_token_even_with_a_session(web_client):
    web_client.get("/")  # a session cookie now exists; the API ignores it
    assert post(web_client, photo_bytes((64, 48))).status_code == 200


def test_vividness_zero_is_grey(web_client):
    result = Image.open(io.BytesIO(post(web_client, photo_bytes((64, 48)), vividness="0").data))
    lab = rgb_to_lab(np.asarray(result))
    assert np.hypot(lab[..., 1], lab[..., 2]).max() < 1.0


@pytest.mark.parametrize("upload, status, code", [
    (None, 400, "missing_image"),
    (b"", 400, "empty"),
    (b"%PDF-1.4 not a picture", 400, "not_an_image"),
    (truncated_jpeg(), 400, "truncated"),
    (crafted_png_header(20_000, 10_000), 413, "too_large"),
    (pcx_image(), 415, "unsupported"),
])
def test_errors_are_json(web_client, upload, status, code):
    response = post(web_client, upload)
    assert response.status_code == status
    assert response.is_json
    assert response.json["error"] == code and response.json["detail"]
    assert "Traceback" not in response.text


def test_bad_vividness_is_json_400(web_client):
    response = post(web_client, photo_bytes((32, 32)), vividness="3")
    assert response.status_code == 400 and response.json["error"] == "bad_parameter"


def test_upload_over_limit_is_json_413(make_web_app):
    client = make_web_app(MAX_UPLOAD_MB=0.05).test_client()
    response = post(client, noise_png(200))
    assert response.status_code == 413
    assert response.json == {"error": "too_large", "detail": "The file is larger than the 0.05 MB limit."}


def test_wrong_method_and_unknown_path_are_json(web_client):
    response = web_client.get("/api/colorize")
    assert response.status_code == 405 and response.json["error"] == "method_not_allowed"
    response = web_client.get("/api/nothing")
    assert response.status_code == 404 and response.json["error"] == "not_found"


def test_healthz_reports_backend_and_model(web_client):
    response = web_client.get("/healthz")
    assert response.status_code == 200
    assert response.json["status"] == "ok" and response.json["backend"] == "local"
    assert response.json["model"]["path"] == "colorizer.onnx" and response.json["model"]["size"] > 0
    assert "Set-Cookie" not in response.headers


def test_healthz_says_lambda_when_an_api_is_configured(make_web_app):
    client = make_web_app(COLORIZER_API_URL="http://127.0.0.1:9/colorize").test_client()
    assert client.get("/healthz").json["backend"] == "lambda"
