"""The website's pages without JavaScript: upload form, result page carrying its download, every error as a page."""
from __future__ import annotations

import base64
import io
import re
import tempfile

import numpy as np
import pytest
from PIL import Image

from tests.conftest import chroma, crafted_png_header, noise_png, pcx_image, photo_bytes, truncated_jpeg


def data_uri_image(html: str, element_id: str) -> Image.Image:
    src = re.search(rf'id="{element_id}" src="data:image/webp;base64,([^"]+)"', html).group(1)
    return Image.open(io.BytesIO(base64.b64decode(src)))


def download(html: str) -> tuple[str, Image.Image]:
    """The result page's download link: (its file name, the full-resolution PNG it carries)."""
    match = re.search(r'id="download" href="data:image/png;base64,([^"]+)" download="([^"]+)"', html)
    image = Image.open(io.BytesIO(base64.b64decode(match.group(1))))
    assert image.format == "PNG"
    return match.group(2), image


class Visitor:
    """A browser's view of the site: loads the form, then posts it with the session's token."""

    def __init__(self, client):
        self.client = client

    def token(self) -> str:
        page = self.client.get("/")
        return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)

    def colorize(self, data: bytes | None = None, filename: str = "photo.jpg", **fields):
        form = {"csrf_token": self.token(), **fields}
        if data is not None:
            form["image"] = (io.BytesIO(data), filename)
        return self.client.post("/colorize", data=form, content_type="multipart/form-data")


@pytest.fixture
def visitor(web_client):
    return Visitor(web_client)


def test_upload_page_has_everything_a_visitor_needs(web_client):
    page = web_client.get("/")
    assert page.status_code == 200
    html = page.text
    assert 'enctype="multipart/form-data"' in html and 'type="file" name="image"' in html
    assert "JPEG, PNG, WebP" in html and "up to 10 MB and 50 megapixels" in html
    assert 'type="range" name="vividness"' in html and 'id="progress"' in html and "<h1>" in html
    assert 'name="csrf_token"' in html
    assert html.count('class="sample"') >= 3
    assert "<script src=\"/static/app.js\"" in html and "http" not in re.findall(r'src="([^"]+)"', html)[0]


def test_static_assets_are_served_locally(web_client):
    for path in ("/static/style.css", "/static/app.js", "/static/favicon.svg"):
        assert web_client.get(path).status_code == 200
    page = web_client.get("/").text
    assert not re.search(r'(src|href)="(https?:)?//', page), "no CDN or external resources"


def test_colorize_shows_grayscale_and_colour_side_by_side(visitor):
    upload = photo_bytes((900, 600))
    page = visitor.colorize(upload, vividness="1.5")
    assert page.status_code == 200
    assert page.headers["X-Colorizer-Backend"] == "local"
    assert page.headers["Cache-Control"] == "no-store"
    gray, colour = data_uri_image(page.text, "gray"), data_uri_image(page.text, "colour")
    assert gray.size == colour.size == (900, 600)
    assert chroma(gray) < 0.5 < chroma(colour)
    assert "900 × 600 px" in page.text and "vividness 1.5" in page.text


def test_preview_is_downscaled_but_download_is_full_resolution(visitor):
    upload = photo_bytes((2000, 1500))
    page = visitor.colorize(upload, filename="holiday.photo.jpg")
    assert data_uri_image(page.text, "colour").size == (1280, 960)
    name, result = download(page.text)
    assert name == "holiday.photo-colorized.png"
    assert result.size == (2000, 1500) and chroma(result) > 0.5


def test_a_result_too_big_for_the_page_is_sent_as_the_download(visitor, monkeypatch):
    monkeypatch.setattr("app.pages.INLINE_PNG_BYTES", 10_000)
    response = visitor.colorize(photo_bytes((400, 300)), filename="big.jpg")
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert response.headers["Content-Disposition"] == "attachment; filename=big-colorized.png"
    assert Image.open(io.BytesIO(response.data)).size == (400, 300)


@pytest.mark.parametrize("client_name, expected", [
    ("../../etc/passwd.png", "passwd-colorized.png"),
    ("/var/www/static/app.js.png", "app.js-colorized.png"),
    ("my holiday (1) ~ final!.jpeg", "my_holiday_1_final-colorized.png"),
    ("фото.jpg", "фото-colorized.png"),
    ("写真.jpg", "写真-colorized.png"),
    ("$(rm -rf ~);.jpg", "rm_-rf-colorized.png"),
    (".hidden.png", "hidden-colorized.png"),
])
def test_download_name_is_sanitised(visitor, client_name, expected):
    page = visitor.colorize(photo_bytes((64, 48)), filename=client_name)
    assert page.status_code == 200
    assert download(page.text)[0] == expected


def test_vividness_zero_gives_a_grey_result(visitor):
    page = visitor.colorize(photo_bytes((120, 90)), vividness="0")
    assert chroma(download(page.text)[1]) < 0.5


def test_transparency_survives(visitor):
    rgba = Image.open(io.BytesIO(photo_bytes((100, 80), fmt="PNG"))).convert("RGBA")
    rgba.putalpha(Image.linear_gradient("L").resize((100, 80)))
    buf = io.BytesIO()
    rgba.save(buf, format="PNG")
    result = download(visitor.colorize(buf.getvalue(), filename="logo.png").text)[1]
    assert result.mode == "RGBA"
    assert np.array_equal(np.asarray(result.getchannel("A")), np.asarray(rgba.getchannel("A")))


def test_each_sample_colorizes_in_one_click(web_app, visitor):
    assert len(web_app.extensions["samples"]) >= 5
    for name in web_app.extensions["samples"]:
        page = visitor.colorize(sample=name)
        assert page.status_code == 200, name
        assert download(page.text)[0] == f"{name}-colorized.png"


def test_samples_are_credited_on_the_page(web_app, web_client):
    html = web_client.get("/").text
    for sample in web_app.extensions["samples"].values():
        assert sample.author in html and sample.licence in html
    assert "CREDITS.md" in html and web_client.get("/static/samples/CREDITS.md").status_code == 200


def test_unknown_sample_is_refused_not_opened(visitor):
    page = visitor.colorize(sample="../../app/__init__")
    assert page.status_code == 400
    assert "no such sample" in page.text


def test_nothing_is_kept_between_requests(visitor, web_app):
    """The result travels in the page; a reload without the POST (GET /colorize) goes back to the form."""
    page = visitor.colorize(photo_bytes((64, 48)))
    assert page.status_code == 200 and "/result/" not in page.text
    again = visitor.client.get("/colorize")
    assert again.status_code == 303 and again.headers["Location"] in ("/", "http://localhost/")
    assert 'type="file" name="image"' in visitor.client.get("/colorize", follow_redirects=True).text


def test_uploads_are_never_spooled_to_disk(visitor, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("an upload was about to be written to a temporary file")

    monkeypatch.setattr(tempfile, "SpooledTemporaryFile", refuse)
    monkeypatch.setattr(tempfile, "TemporaryFile", refuse)
    monkeypatch.setattr(tempfile, "NamedTemporaryFile", refuse)
    monkeypatch.setattr("werkzeug.formparser.SpooledTemporaryFile", refuse)
    big = noise_png(700)
    assert len(big) > 1024 * 1024  # well over werkzeug's 500 KB in-memory threshold
    assert visitor.colorize(big, filename="big.png").status_code == 200


# --- errors: a page that explains, with the form shown again -------------------------------

@pytest.mark.parametrize("upload, status, message", [
    (b"this is a text file", 400, "not an image"),
    (b"", 400, "empty"),
    (truncated_jpeg(), 400, "truncated"),
    (crafted_png_header(20_000, 10_000), 413, "megapixels"),
    (pcx_image(), 415, "not supported"),
])
def test_bad_uploads_get_an_explaining_page_with_the_form(visitor, upload, status, message):
    page = visitor.colorize(upload, filename="upload.bin")
    assert page.status_code == status
    assert message in page.text
    assert 'role="alert"' in page.text and 'type="file" name="image"' in page.text
    assert "Traceback" not in page.text


def test_missing_file_is_explained(visitor):
    page = visitor.colorize(None)
    assert page.status_code == 400 and "Please choose an image" in page.text


@pytest.mark.parametrize("value", ["lots", "-0.1", "2.5", "nan", "inf"])
def test_bad_vividness_is_explained(visitor, value):
    page = visitor.colorize(photo_bytes((32, 32)), vividness=value)
    assert page.status_code == 400 and "vividness must be a number from 0 to 2" in page.text


def test_upload_over_max_upload_mb_is_a_413_page(make_web_app):
    app = make_web_app(MAX_UPLOAD_MB=0.05)
    assert app.config["MAX_CONTENT_LENGTH"] == int(0.05 * 1024 * 1024)
    visitor = Visitor(app.test_client())
    page = visitor.colorize(noise_png(200), filename="big.png")
    assert page.status_code == 413
    assert "larger than the 0.05 MB limit" in page.text and 'type="file"' in page.text
    assert "up to 0.05 MB" in visitor.client.get("/").text


def test_pixel_limit_comes_from_settings(make_web_app):
    app = make_web_app(MAX_PIXELS=10_000)
    page = Visitor(app.test_client()).colorize(photo_bytes((200, 100)))
    assert page.status_code == 413 and "megapixels" in page.text


@pytest.mark.parametrize("token", [None, "", "forged"])
def test_form_without_the_session_token_is_refused(web_client, token):
    web_client.get("/")  # the session now holds a token; the form below does not send it
    form = {"image": (io.BytesIO(photo_bytes((32, 32))), "a.jpg")}
    if token is not None:
        form["csrf_token"] = token
    page = web_client.post("/colorize", data=form, content_type="multipart/form-data")
    assert page.status_code == 400 and "form had expired" in page.text
    assert 'name="csrf_token" value="' in page.text  # a fresh form to try again


def test_form_from_another_session_is_refused(web_app):
    token = Visitor(web_app.test_client()).token()
    other = web_app.test_client()
    page = other.post("/colorize", data={"csrf_token": token, "image": (io.BytesIO(photo_bytes((32, 32))), "a.jpg")},
                      content_type="multipart/form-data")
    assert page.status_code == 400


def test_unknown_page_and_wrong_method(web_client):
    page = web_client.get("/nope")
    assert page.status_code == 404 and 'type="file"' in page.text
    page = web_client.put("/colorize")
    assert page.status_code == 405 and 'type="file"' in page.text


def test_unexpected_failure_is_a_plain_500_page(web_app, visitor, caplog):
    class Broken:
        name = "local"

        def colorize(self, image, vividness, hints=()):
            raise RuntimeError("secret internal detail")

    web_app.extensions["backends"] = Broken()
    page = visitor.colorize(photo_bytes((32, 32)))
    assert page.status_code == 500
    assert "Something went wrong on our side" in page.text
    assert "secret internal detail" not in page.text and "Traceback" not in page.text
    assert "secret internal detail" in caplog.text  # logged for us, with the traceback


@pytest.mark.parametrize("path", ["/", "/static/style.css", "/nope", "/healthz"])
def test_security_headers_everywhere(web_client, path):
    headers = web_client.get(path).headers
    csp = headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "img-src 'self' data: blob:" in csp
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"


def test_pages_use_no_inline_script_or_style(visitor):
    for html in (visitor.client.get("/").text, visitor.colorize(photo_bytes((32, 32))).text):
        assert not re.search(r"<script(?![^>]*\bsrc=)", html)
        assert "<style" not in html and " style=" not in html


def test_session_cookie_is_httponly_and_samesite(web_client):
    cookie = web_client.get("/").headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
