"""The Lambda backend against real HTTP servers that behave well or badly, and the local fallback.

Each FakeApi is a real server on 127.0.0.1 (http.server in a thread): the
website's real requests/urllib3 stack talks to it over a socket, so
timeouts, retries and refused connections happen for real.
"""
from __future__ import annotations

import io
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest
from PIL import Image

from colorizer.lab import rgb_to_l
from tests.conftest import chroma, photo_bytes

API_KEY = "test-api-key"


def sepia(png: bytes) -> bytes:
    """What a colorization API might answer: the grey request, tinted brown, same size."""
    gray = np.asarray(Image.open(io.BytesIO(png)).convert("L"), np.float32)
    rgb = np.stack([gray, gray * 0.8, gray * 0.55], -1).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="PNG")
    return buf.getvalue()


class FakeApi:
    """A colorization API on a real socket; `answers` scripts its replies, one per request."""

    def __init__(self, *answers: str):
        self.answers = list(answers)
        self.seen: list[dict] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                api.seen.append({"path": urlsplit(self.path).path, "query": parse_qs(urlsplit(self.path).query),
                                 "headers": dict(self.headers), "body": body})
                answer = api.answers[min(len(api.seen), len(api.answers)) - 1]
                try:
                    self.reply(answer, body)
                except OSError:  # the client gave up (timeout): nobody is listening any more
                    pass

            def reply(self, answer, body):
                if answer == "slow":
                    time.sleep(2.0)
                    answer = "ok"
                status, payload = {"ok": (200, lambda: sepia(body)),
                                   "error": (500, lambda: b'{"error": "internal"}'),
                                   "forbidden": (403, lambda: b'{"error": "forbidden"}'),
                                   "garbage": (200, lambda: b"<html>surprise</html>"),
                                   "wrong_size": (200, lambda: sepia(photo_bytes((10, 10), "PNG")))}[answer]
                data = payload()
                self.send_response(status)
                self.send_header("Content-Type", "image/png" if status == 200 else "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/colorize"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake_api():
    servers = []

    def start(*answers):
        servers.append(FakeApi(*answers))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def client_for(make_web_app, url, timeout: float = 0.5):
    """A site using the API at `url`; the short default timeout keeps the fault tests quick, and a
    working API gets a generous one so that a busy machine does not turn it into a fallback."""
    return make_web_app(COLORIZER_API_URL=url, COLORIZER_API_KEY=API_KEY, COLORIZER_TIMEOUT=timeout).test_client()


def colorize(client, upload: bytes, **fields):
    return client.post("/api/colorize", data={"image": (io.BytesIO(upload), "p.jpg"), **fields},
                       content_type="multipart/form-data")


def unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_lambda_colour_goes_onto_the_full_resolution_photo(make_web_app, fake_api):
    api = fake_api("ok")
    upload = photo_bytes((2000, 1500))
    response = colorize(client_for(make_web_app, api.url, timeout=10), upload, vividness="1.3")
    assert response.status_code == 200
    assert response.headers["X-Colorizer-Backend"] == "lambda"
    (request,) = api.seen
    assert request["path"] == "/colorize"
    assert request["headers"]["x-api-key"] == API_KEY
    assert request["headers"]["Content-Type"] == "image/png"
    assert request["query"] == {"vividness": ["1.3"]}
    sent = Image.open(io.BytesIO(request["body"]))
    assert sent.mode == "L" and sent.width * sent.height <= 1_000_000
    assert sent.width / sent.height == pytest.approx(2000 / 1500, rel=0.01)
    result = Image.open(io.BytesIO(response.data))
    assert result.size == (2000, 1500)
    source = np.asarray(Image.open(io.BytesIO(upload)).convert("RGB"))
    assert np.abs(rgb_to_l(np.asarray(result)) - rgb_to_l(source)).mean() < 1.5  # full-res detail kept
    assert chroma(result) > 5  # the API's sepia, not the local model's colour


def test_result_page_says_lambda(make_web_app, fake_api):
    import re

    api = fake_api("ok")
    client = client_for(make_web_app, api.url, timeout=10)
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/").text).group(1)
    page = client.post("/colorize", data={"csrf_token": token, "image": (io.BytesIO(photo_bytes()), "p.jpg")},
                       content_type="multipart/form-data")
    assert page.status_code == 200 and page.headers["X-Colorizer-Backend"] == "lambda"
    assert "colorized by the Lambda API" in page.text


def test_no_key_header_without_a_key(make_web_app, fake_api):
    api = fake_api("ok")
    client = make_web_app(COLORIZER_API_URL=api.url).test_client()
    assert colorize(client, photo_bytes((64, 48))).headers["X-Colorizer-Backend"] == "lambda"
    assert "x-api-key" not in {name.lower() for name in api.seen[0]["headers"]}


def test_a_5xx_is_retried_once(make_web_app, fake_api):
    api = fake_api("error", "ok")
    response = colorize(client_for(make_web_app, api.url), photo_bytes((64, 48)))
    assert response.headers["X-Colorizer-Backend"] == "lambda"
    assert len(api.seen) == 2


@pytest.mark.parametrize("answers, requests_made, reason", [
    (("error",), 2, "HTTP 500"),               # retried once, then given up
    (("slow",), 1, "Read timed out"),          # a read timeout is not retried
    (("garbage",), 1, "not exactly one PNG"),
    (("wrong_size",), 1, "answered (10, 10)"),
    (("forbidden",), 1, "HTTP 403"),           # a 4xx is not retried
])
def test_api_failures_fall_back_to_the_local_model(make_web_app, fake_api, caplog, answers, requests_made, reason):
    api = fake_api(*answers)
    upload = photo_bytes((300, 200))
    response = colorize(client_for(make_web_app, api.url), upload)
    assert response.status_code == 200
    assert response.headers["X-Colorizer-Backend"] == "local"
    assert Image.open(io.BytesIO(response.data)).size == (300, 200)
    assert len(api.seen) == requests_made
    warning = [r for r in caplog.records if r.levelname == "WARNING" and "using the local model" in r.getMessage()]
    assert warning and reason in warning[0].getMessage()


def test_unreachable_api_falls_back(make_web_app, caplog):
    client = client_for(make_web_app, f"http://127.0.0.1:{unused_port()}/colorize")
    response = colorize(client, photo_bytes((120, 90)))
    assert response.status_code == 200 and response.headers["X-Colorizer-Backend"] == "local"
    assert "could not be reached" in caplog.text

