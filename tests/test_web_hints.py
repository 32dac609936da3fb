"""Colour hints on the website: the `hints` field of /api/colorize and of the form, and /healthz's capabilities."""
from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image

from colorizer.hints import MAX_HINTS
from colorizer.lab import rgb_to_lab
from tests.conftest import photo_bytes
from tests.test_web_backends import API_KEY, FakeApi

RED = {"x": 600, "y": 450, "color": "#e01010"}


def gray_photo(size=(800, 600)) -> bytes:
    return photo_bytes(size, "JPEG", "L")


def post(client, data: bytes, **fields):
    form = {"image": (io.BytesIO(data), "photo.jpg"), **fields}
    return client.post("/api/colorize", data=form, content_type="multipart/form-data")


def a_star(response, x: int, y: int) -> float:
    assert response.status_code == 200, response.text
    return float(rgb_to_lab(np.asarray(Image.open(io.BytesIO(response.data)).convert("RGB")))[y, x, 1])


def test_a_hint_colours_its_region(web_client):
    upload = gray_photo()
    plain = a_star(post(web_client, upload), 600, 450)
    hinted = post(web_client, upload, hints=json.dumps([RED]))
    assert a_star(hinted, 600, 450) > plain + 20
    assert Image.open(io.BytesIO(hinted.data)).size == (800, 600)


def test_no_hints_and_an_empty_list_are_the_same(web_client):
    upload = gray_photo((200, 150))
    assert post(web_client, upload).data == post(web_client, upload, hints="[]").data


@pytest.mark.parametrize("hints", [
    "not json", '{"x": 1, "y": 1, "color": "#ffffff"}', '[{"x": 1, "y": 1}]', '[{"x": 1.5, "y": 1, "color": "#fff"}]',
    '[{"x": 1, "y": 1, "color": "red"}]', '[{"x": -3, "y": 1, "color": "#ffffff"}]',
    '[{"x": 800, "y": 10, "color": "#ffffff"}]',  # just outside an 800-wide picture
    json.dumps([{"x": 1, "y": 1, "color": "#ffffff"}] * (MAX_HINTS + 1)),
])
def test_malformed_or_outside_hints_are_a_json_400(web_client, hints):
    response = post(web_client, gray_photo(), hints=hints)
    assert response.status_code == 400
    assert response.json["error"] == "bad_hints" and response.json["detail"]


def test_the_form_takes_hints_too(web_client):
    from tests.test_web_pages import Visitor, download

    page = Visitor(web_client).colorize(gray_photo(), hints=json.dumps([RED]))
    result = download(page.text)[1].convert("RGB")
    assert rgb_to_lab(np.asarray(result))[450, 600, 1] > 20
    bad = Visitor(web_client).colorize(gray_photo(), hints="[oops")
    assert bad.status_code == 400 and "hints must be a JSON list" in bad.text


def test_hints_reach_the_lambda_api_in_its_coordinates(make_web_app):
    api = FakeApi("ok")  # a real HTTP server
    try:
        client = make_web_app(COLORIZER_API_URL=api.url, COLORIZER_API_KEY=API_KEY, COLORIZER_TIMEOUT=5).test_client()
        response = post(client, gray_photo((2000, 1500)), hints=json.dumps([{"x": 1999, "y": 0, "color": "#00AA00"}]))
    finally:
        api.close()
    assert response.status_code == 200 and response.headers["X-Colorizer-Backend"] == "lambda"
    sent = Image.open(io.BytesIO(api.seen[0]["body"]))
    assert sent.size == (1154, 866)  # the <= 1 MP copy
    assert json.loads(api.seen[0]["query"]["hints"][0]) == [{"x": 1153, "y": 0, "color": "#00aa00"}]


def test_healthz_reports_capabilities(make_web_app):
    health = make_web_app(MAX_UPLOAD_MB=3, MAX_PIXELS=2_000_000).test_client().get("/healthz").json
    caps = health["capabilities"]
    assert caps["hints"]["max"] == MAX_HINTS and "#rrggbb" in caps["hints"]["format"]
    assert caps["vividness"] == {"min": 0.0, "max": 2.0, "default": 1.0}
    assert caps["limits"] == {"max_upload_bytes": 3 * 1024 * 1024, "max_pixels": 2_000_000, "max_batch_files": 20}
