"""lambda_api.handler called as Lambda calls it: real event shapes, the real model.

Events follow the payloads AWS documents for HTTP API 2.0, Function URLs
and REST API proxy 1.0 integrations, including their header casing and
API Gateway's base64 encoding of binary bodies.
"""
from __future__ import annotations

import base64
import io
import json
import logging
import os
import struct
import subprocess
import sys
import zlib
from types import SimpleNamespace

import numpy as np
import pytest
import requests
from PIL import Image

from colorizer.lab import rgb_to_lab
from tests.helpers import ROOT, dds_header, palette_png_without_plte, photo_bytes
from lambda_api import handler

CONTEXT = SimpleNamespace(aws_request_id="8f5e6a52-0c41-4c55-9b1c-2f4b8d0a7e11")


def gray_jpeg(size=(320, 240)) -> bytes:
    return photo_bytes(size, "JPEG", "L")


def http_api_event(body: bytes, content_type: str | None = "image/jpeg", method="POST", query=None,
                   headers=None, text=False) -> dict:
    """HTTP API payload 2.0, as API Gateway sends it (headers lower-cased, binary body in base64)."""
    all_headers = {"host": "abc123.execute-api.eu-west-1.amazonaws.com", "user-agent": "curl/8.5.0",
                   "content-length": str(len(body)), "x-forwarded-proto": "https", **(headers or {})}
    if content_type:
        all_headers["content-type"] = content_type
    event = {
        "version": "2.0",
        "routeKey": "ANY /colorize",
        "rawPath": "/colorize",
        "rawQueryString": "&".join(f"{k}={v}" for k, v in (query or {}).items()),
        "headers": all_headers,
        "requestContext": {
            "accountId": "123456789012", "apiId": "abc123", "domainName": all_headers["host"], "domainPrefix": "abc123",
            "http": {"method": method, "path": "/colorize", "protocol": "HTTP/1.1", "sourceIp": "203.0.113.7",
                     "userAgent": "curl/8.5.0"},
            "requestId": "JKJaXmPLvHcESHA=", "routeKey": "ANY /colorize", "stage": "$default",
            "time": "26/Nov/2026:07:15:00 +0000", "timeEpoch": 1795676100000,
        },
        "body": body.decode() if text else base64.b64encode(body).decode(),
        "isBase64Encoded": not text,
    }
    if query:
        event["queryStringParameters"] = dict(query)
    return event


def function_url_event(body: bytes, content_type="image/jpeg", **kwargs) -> dict:
    """A Lambda Function URL event: payload 2.0 with no route table and a lambda-url domain."""
    event = http_api_event(body, content_type, **kwargs)
    event["routeKey"] = event["requestContext"]["routeKey"] = "$default"
    event["rawPath"] = event["requestContext"]["http"]["path"] = "/"
    event["requestContext"]["domainName"] = "k3x7tqv2.lambda-url.eu-west-1.on.aws"
    event["requestContext"]["apiId"] = "k3x7tqv2"
    return event


def rest_event(body: bytes, content_type="image/jpeg", method="POST", query=None, headers=None) -> dict:
    """REST API proxy integration (payload 1.0): headers as the client cased them, null when absent."""
    all_headers = {"Host": "abc123.execute-api.eu-west-1.amazonaws.com", "Content-Type": content_type,
                   "User-Agent": "python-requests/2.34.2", **(headers or {})}
    return {
        "resource": "/colorize", "path": "/colorize", "httpMethod": method,
        "headers": all_headers,
        "multiValueHeaders": {k: [v] for k, v in all_headers.items()},
        "queryStringParameters": dict(query) if query else None,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": None, "stageVariables": None,
        "requestContext": {"resourcePath": "/colorize", "httpMethod": method, "path": "/prod/colorize",
                           "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef", "stage": "prod",
                           "identity": {"sourceIp": "203.0.113.7"}, "apiId": "abc123"},
        "body": base64.b64encode(body).decode(),
        "isBase64Encoded": True,
    }


def multipart(fields: dict) -> tuple[bytes, str]:
    """Body and Content-Type of a browser-style form post, encoded by requests."""
    prepared = requests.Request("POST", "http://x/", files=fields).prepare()
    return prepared.body, prepared.headers["Content-Type"]


def call(event: dict) -> dict:
    return handler.lambda_handler(event, CONTEXT)


def png_of(response: dict) -> Image.Image:
    assert response["statusCode"] == 200, response["body"]
    assert response["headers"]["Content-Type"] == "image/png"
    assert response["isBase64Encoded"] is True
    image = Image.open(io.BytesIO(base64.b64decode(response["body"])))
    assert image.format == "PNG"
    return image


def mean_chroma(image: Image.Image) -> float:
    lab = rgb_to_lab(np.asarray(image.convert("RGB")))
    return float(np.hypot(lab[..., 1], lab[..., 2]).mean())


def error_of(response: dict, status: int, code: str) -> str:
    assert response["statusCode"] == status, response["body"]
    assert response["headers"]["Content-Type"] == "application/json"
    body = json.loads(response["body"])
    assert body["error"] == code
    assert body["detail"] and "Traceback" not in body["detail"]
    return body["detail"]


def bomb_png(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width x height pixels (a decompression bomb's calling card)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
            + chunk(b"IEND", b""))


@pytest.fixture
def logs(caplog):
    """The handler's JSON log lines, parsed."""
    logger = logging.getLogger("lambda_api")
    logger.addHandler(caplog.handler)
    yield lambda: [json.loads(record.getMessage()) for record in caplog.records if record.name == "lambda_api"]
    logger.removeHandler(caplog.handler)


@pytest.fixture(autouse=True)
def no_api_key(monkeypatch):
    monkeypatch.delenv("COLORIZER_API_KEY", raising=False)


# --- event shapes and body forms ---------------------------------------------------------------

@pytest.mark.parametrize("make_event", [http_api_event, function_url_event, rest_event])
def test_each_event_shape_gets_a_colour_png_of_the_same_size(make_event):
    image = png_of(call(make_event(gray_jpeg((320, 240)))))
    assert image.size == (320, 240)
    assert image.mode == "RGB"
    assert mean_chroma(image) > 1.0  # a grey photo came back in colour


def test_multipart_form_field_image():
    body, content_type = multipart({"note": (None, "hello"), "image": ("photo.jpg", gray_jpeg(), "image/jpeg")})
    assert png_of(call(http_api_event(body, content_type))).size == (320, 240)


@pytest.mark.parametrize("encode", [
    lambda data: base64.b64encode(data).decode(),
    lambda data: "data:image/jpeg;base64," + base64.b64encode(data).decode(),
    lambda data: base64.encodebytes(data).decode(),  # wrapped at 76 columns, as the base64 tool does
], ids=["plain", "data-url", "line-wrapped"])
def test_json_base64_image(encode):
    body = json.dumps({"image": encode(gray_jpeg())}).encode()
    # API Gateway passes JSON as text, not base64.
    assert png_of(call(http_api_event(body, "application/json", text=True))).size == (320, 240)


@pytest.mark.parametrize("content_type", ["image/png", "application/octet-stream", None])
def test_raw_bytes_with_or_without_an_image_type(content_type):
    assert png_of(call(http_api_event(photo_bytes((64, 48), "PNG", "L"), content_type))).size == (64, 48)


def test_max_side_downscales_keeping_aspect():
    assert png_of(call(rest_event(gray_jpeg((640, 480)), query={"max_side": "100"}))).size == (100, 75)


def test_max_side_never_upscales():
    assert png_of(call(http_api_event(gray_jpeg((64, 48)), query={"max_side": "1000"}))).size == (64, 48)


def test_vividness_zero_gives_grey_and_is_passed_through():
    grey = png_of(call(http_api_event(gray_jpeg(), query={"vividness": "0"})))
    default = png_of(call(http_api_event(gray_jpeg())))
    assert mean_chroma(grey) < 0.5
    assert mean_chroma(default) > 1.0


def test_transparency_is_kept():
    image = png_of(call(http_api_event(photo_bytes((80, 60), "PNG", "RGBA"), "image/png")))
    assert image.mode == "RGBA" and image.size == (80, 60)


# --- errors --------------------------------------------------------------------------------------

def _truncated_jpeg() -> bytes:
    data = gray_jpeg()
    return data[: len(data) // 2]


def _ico() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (32, 32)).save(buf, "ICO")
    return buf.getvalue()


@pytest.mark.parametrize("body, content_type, status, code", [
    (b"", "image/jpeg", 400, "empty"),
    (b"this is not a picture", "image/jpeg", 400, "not_an_image"),
    (_truncated_jpeg(), "image/jpeg", 400, "truncated"),
    (_ico(), "image/x-icon", 415, "unsupported"),
    (b"name=value", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
    (b"hello", "text/plain", 415, "unsupported_media_type"),
    (bomb_png(20_000, 10_000), "image/png", 413, "too_large"),
], ids=["empty", "not-image", "truncated", "ico", "form-urlencoded", "text", "pixel-bomb"])
def test_bad_uploads_get_a_json_error(body, content_type, status, code):
    error_of(call(http_api_event(body, content_type)), status, code)


@pytest.mark.parametrize("body, code", [
    (b"{not json", "bad_json"),
    (b'["image"]', "missing_image"),
    (b'{"picture": "AAAA"}', "missing_image"),
    (b'{"image": 42}', "missing_image"),
    (b'{"image": "%%% not base64 %%%"}', "bad_base64"),
])
def test_bad_json_bodies(body, code):
    error_of(call(http_api_event(body, "application/json", text=True)), 400, code)


def test_multipart_without_an_image_field():
    body, content_type = multipart({"photo": ("photo.jpg", gray_jpeg(), "image/jpeg")})
    assert '"image"' in error_of(call(http_api_event(body, content_type)), 400, "missing_image")


def test_multipart_without_a_boundary():
    error_of(call(http_api_event(b"--x\r\n\r\n", "multipart/form-data")), 400, "missing_image")


@pytest.mark.parametrize("query", [
    {"vividness": "vivid"}, {"vividness": "-0.1"}, {"vividness": "2.5"}, {"vividness": "nan"}, {"vividness": "inf"},
    {"max_side": "0"}, {"max_side": "-5"}, {"max_side": "1.5"}, {"max_side": "big"},
])
def test_bad_query_parameters(query):
    error_of(call(http_api_event(gray_jpeg(), query=query)), 400, "bad_parameter")


@pytest.mark.parametrize("make_event", [http_api_event, rest_event])
@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_wrong_method_is_405_with_allow_header(make_event, method):
    response = call(make_event(b"", method=method))
    error_of(response, 405, "method_not_allowed")
    assert response["headers"]["Allow"] == "POST"


def test_unexpected_failure_is_a_500_without_stack_trace_but_logged(monkeypatch, logs):
    def broken(image, vividness, hints=()):
        raise RuntimeError("secret internal state")

    monkeypatch.setattr(handler.COLORIZER, "colorization", broken)
    response = call(http_api_event(gray_jpeg()))
    detail = error_of(response, 500, "internal")
    assert "secret internal state" not in response["body"]
    assert CONTEXT.aws_request_id in detail  # what a user can quote to support
    (line,) = [entry for entry in logs() if entry["event"] == "request"]
    assert line["level"] == "ERROR" and line["request_id"] == CONTEXT.aws_request_id
    assert "RuntimeError: secret internal state" in line["traceback"]


# Issue 10, defect 5: each of these was a 500 "internal".
@pytest.mark.parametrize("event", [
    {}, {"unexpected": "shape"}, {"requestContext": {"requestId": "x"}}, {"requestContext": {"http": {}}},
    {"requestContext": "nope"}, {"httpMethod": "POST", "headers": ["not", "a", "map"]}, [], None, "event",
])
def test_malformed_events_are_400_json(event):
    error_of(call(event), 400, "bad_event")


def test_invalid_base64_body_is_400():
    event = http_api_event(gray_jpeg())
    event["body"] = "%%% not base64 %%%"
    error_of(call(event), 400, "bad_base64")


def test_deeply_nested_json_is_400_not_a_recursion_error():
    error_of(call(http_api_event(b"[" * 100_000, "application/json", text=True)), 400, "bad_json")


@pytest.mark.parametrize("data, status, code", [
    (palette_png_without_plte(), 400, "truncated"), (dds_header(), 400, "not_an_image")])
def test_files_that_crash_the_decoder_are_clean_errors(data, status, code):
    error_of(call(http_api_event(data, "image/png")), status, code)


# --- size guards -----------------------------------------------------------------------------------

def _form(data: bytes) -> tuple[bytes, str, bool]:
    body, content_type = multipart({"image": ("big.jpg", data, "image/jpeg")})
    return body, content_type, False


@pytest.mark.parametrize("wrap", [
    lambda data: (data, "image/jpeg", False),
    _form,
    lambda data: (json.dumps({"image": base64.b64encode(data).decode()}).encode(), "application/json", True),
], ids=["raw", "multipart", "json"])
def test_images_over_4mb_are_refused_with_the_reason(wrap):
    body, content_type, text = wrap(os.urandom(handler.MAX_IMAGE_BYTES + 1))
    detail = error_of(call(http_api_event(body, content_type, text=text)), 413, "too_large")
    assert "4 MB" in detail and "6 MB" in detail and "base64" in detail


@pytest.mark.parametrize("mode", ["RGB", "RGBA"])
def test_pixel_budget_fits_the_response_even_for_incompressible_noise(mode):
    """The worst case PNG: random noise at the full budget, through the same encoder."""
    from colorizer.imageio import to_png

    pixels = handler.png_pixel_budget(Image.new(mode, (1, 1)))
    width = 1500
    noise = np.random.default_rng(0).integers(0, 256, (pixels // width, width, len(mode)), dtype=np.uint8)
    png = to_png(Image.fromarray(noise, mode))
    assert len(png) <= handler.MAX_PNG_BYTES
    assert len(png) > 0.95 * handler.MAX_PNG_BYTES  # the budget is not needlessly small


def test_large_photo_is_downscaled_so_the_response_fits_lambdas_6mb():
    noise = np.random.default_rng(1).integers(0, 256, (2000, 2600), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(noise, "L").save(buf, "JPEG", quality=85)
    assert len(buf.getvalue()) < handler.MAX_IMAGE_BYTES  # accepted as input...
    response = call(http_api_event(buf.getvalue()))
    image = png_of(response)
    assert image.width * image.height <= handler.png_pixel_budget(image)  # ...but the 5.2 MP result shrinks
    assert abs(image.width / image.height - 2600 / 2000) < 0.01
    assert len(json.dumps(response)) < handler.LAMBDA_PAYLOAD_BYTES


# --- API key -------------------------------------------------------------------------------------

@pytest.mark.parametrize("headers", [{}, {"x-api-key": "wrong"}, {"x-api-key": "s3cret-but-longer"},
                                     {"x-api-key": "clé"}])
def test_api_key_required_when_configured(monkeypatch, headers):
    monkeypatch.setenv("COLORIZER_API_KEY", "s3cret")
    error_of(call(http_api_event(gray_jpeg(), headers=headers)), 401, "unauthorized")


def test_api_key_accepted_in_any_header_case(monkeypatch):
    monkeypatch.setenv("COLORIZER_API_KEY", "s3cret")
    png_of(call(http_api_event(gray_jpeg(), headers={"x-api-key": "s3cret"})))
    png_of(call(rest_event(gray_jpeg(), headers={"X-Api-Key": "s3cret"})))


def test_empty_api_key_setting_means_open(monkeypatch):
    monkeypatch.setenv("COLORIZER_API_KEY", "")
    png_of(call(http_api_event(gray_jpeg((32, 32)))))


# --- logs ------------------------------------------------------------------------------------------

def test_every_request_logs_one_json_line_with_the_request_ids(logs):
    call(http_api_event(gray_jpeg()))
    call(http_api_event(b"junk"))
    ok, bad = [entry for entry in logs() if entry["event"] == "request"]
    for entry in (ok, bad):
        assert entry["request_id"] == CONTEXT.aws_request_id
        assert entry["api_request_id"] == "JKJaXmPLvHcESHA="
        assert entry["ms"] >= 0
    assert ok["status"] == 200 and (ok["width"], ok["height"]) == (320, 240)
    assert bad["status"] == 400 and bad["error"] == "not_an_image"


def test_responses_carry_the_request_id():
    assert call(http_api_event(b"junk"))["headers"]["X-Request-Id"] == CONTEXT.aws_request_id


def test_threads_setting_reaches_the_onnxruntime_session():
    """The template sets COLORIZER_THREADS=1 to match one vCPU; checked in a fresh cold start."""
    script = "import lambda_api.handler as h; print(h.COLORIZER.session.get_session_options().intra_op_num_threads)"
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120,
                            env={**os.environ, "COLORIZER_THREADS": "1"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "1"
