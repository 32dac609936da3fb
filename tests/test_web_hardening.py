"""The website against awkward clients (issue 10): hostile files, odd names, a full worker, https."""
from __future__ import annotations

import io
import threading

import pytest
from werkzeug.http import parse_options_header

from app.budget import PixelBudget
from tests.helpers import dds_header, palette_png_without_plte, photo_bytes


def raw_upload(client, filename: bytes, data: bytes):
    """A multipart upload with the Content-Disposition exactly as a browser writes it (backslashes unescaped)."""
    body = (b'--XX\r\nContent-Disposition: form-data; name="image"; filename="' + filename + b'"\r\n'
            b"Content-Type: image/png\r\n\r\n" + data + b"\r\n--XX--\r\n")
    return client.post("/api/colorize", data=body, content_type="multipart/form-data; boundary=XX")


@pytest.mark.parametrize("sent, expected", [
    (rb"C:\fakepath\photo.png", "photo-colorized.png"),        # was fakepathphoto-colorized.png
    (rb"D:\Scans\1950\grandpa.tif", "grandpa-colorized.png"),
    (b"/home/ann/pictures/cat.jpg", "cat-colorized.png"),
])
def test_only_the_last_path_component_names_the_download(web_client, sent, expected):
    response = raw_upload(web_client, sent, photo_bytes((32, 24), "PNG"))
    assert response.status_code == 200
    assert parse_options_header(response.headers["Content-Disposition"])[1]["filename"] == expected


@pytest.mark.parametrize("sent, ascii_fallback, full", [
    ("фото.png", "image-colorized.png", "фото-colorized.png"),    # was -colorized.png
    ("Café au lait.png", "Cafe_au_lait-colorized.png", "Café_au_lait-colorized.png"),
    ("写真.png", "image-colorized.png", "写真-colorized.png"),
])
def test_non_ascii_names_get_a_real_ascii_fallback(web_client, sent, ascii_fallback, full):
    response = raw_upload(web_client, sent.encode(), photo_bytes((32, 24), "PNG"))
    header = response.headers["Content-Disposition"]
    assert f"filename={ascii_fallback};" in header
    assert parse_options_header(header)[1]["filename"] == full  # filename* carries the real name


@pytest.mark.parametrize("data, status, code", [
    (palette_png_without_plte(), 400, "truncated"),  # AssertionError in Pillow: was a 500
    (dds_header(), 400, "not_an_image"),             # NotImplementedError in Pillow: was a 500
])
def test_files_that_crash_the_decoder_are_clean_errors(web_client, data, status, code):
    response = web_client.post("/api/colorize", data={"image": (io.BytesIO(data), "x.png")},
                               content_type="multipart/form-data")
    assert (response.status_code, response.json["error"]) == (status, code)


def test_hsts_on_heroku_only(make_web_app, monkeypatch):
    local = make_web_app().test_client().get("/healthz")
    assert "Strict-Transport-Security" not in local.headers
    monkeypatch.setenv("DYNO", "web.1")
    heroku = make_web_app().test_client().get("/healthz", base_url="https://x.herokuapp.com")
    assert heroku.headers["Strict-Transport-Security"] == "max-age=31536000"


def test_a_full_pixel_budget_answers_503_with_retry_after(make_web_app):
    app = make_web_app(PIXEL_BUDGET=100_000, MAX_PIXELS=100_000, BUDGET_WAIT_S=0.2)
    budget = app.extensions["pixel_budget"]
    assert budget.acquire(90_000)  # another request holds most of the budget
    client = app.test_client()
    busy = client.post("/api/colorize", data={"image": (io.BytesIO(photo_bytes((200, 100))), "p.jpg")},
                       content_type="multipart/form-data")
    assert (busy.status_code, busy.json["error"]) == (503, "busy")
    assert busy.headers["Retry-After"] == "5"
    budget.release(90_000)
    ok = client.post("/api/colorize", data={"image": (io.BytesIO(photo_bytes((200, 100))), "p.jpg")},
                     content_type="multipart/form-data")
    assert ok.status_code == 200
    assert budget.in_flight == 0  # given back when the request ended


def test_every_request_gives_its_pixels_back_even_when_it_fails(make_web_app, monkeypatch):
    app = make_web_app()
    budget = app.extensions["pixel_budget"]

    def broken(*args):
        raise RuntimeError("boom")

    monkeypatch.setattr(app.extensions["backends"].model, "colorization", broken)
    response = app.test_client().post("/api/colorize", data={"image": (io.BytesIO(photo_bytes()), "p.jpg")},
                                      content_type="multipart/form-data")
    assert (response.status_code, response.json["error"]) == (500, "internal")
    assert budget.in_flight == 0


def test_a_waiting_request_gets_in_when_room_is_made():
    budget = PixelBudget(100, wait_s=5)
    assert budget.acquire(80)
    threading.Timer(0.2, budget.release, args=(80,)).start()
    assert budget.acquire(50)  # waited for the release instead of failing
    assert budget.in_flight == 50


def test_the_budget_cannot_be_smaller_than_the_largest_image(make_web_app):
    with pytest.raises(RuntimeError, match="PIXEL_BUDGET"):
        make_web_app(PIXEL_BUDGET=1000, MAX_PIXELS=2000)
