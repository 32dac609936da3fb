"""The local API Gateway emulator, run as a real process and called over HTTP."""
from __future__ import annotations

import base64
import io
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import requests
from PIL import Image

from colorizer.lab import rgb_to_lab
from tests.helpers import ROOT, photo_bytes
from lambda_api.local import to_event


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Emulator:
    url: str  # .../colorize
    log: Path  # its stdout and stderr


def start_emulator(log: Path, api_key: str = "") -> Iterator[Emulator]:
    """`python -m lambda_api.local --port N` in a subprocess, until the fixture using it ends."""
    port = free_port()
    env = {**os.environ, "COLORIZER_API_KEY": api_key}
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "lambda_api.local", "--port", str(port)], cwd=ROOT, env=env,
                                stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, log.read_text()
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "emulator did not start listening within 60 s"
                time.sleep(0.2)
        yield Emulator(f"http://127.0.0.1:{port}/colorize", log)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    yield from start_emulator(tmp_path_factory.mktemp("emulator") / "out.log")


@pytest.fixture(scope="module")
def keyed_api(tmp_path_factory):
    yield from start_emulator(tmp_path_factory.mktemp("emulator") / "out.log", api_key="emulator-key")


def test_colorizes_a_photo_over_http(api):
    response = requests.post(api.url, data=photo_bytes((640, 480), "JPEG", "L"),
                             headers={"Content-Type": "image/jpeg"}, timeout=60)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "image/png"
    image = Image.open(io.BytesIO(response.content))
    assert image.format == "PNG" and image.size == (640, 480)
    lab = rgb_to_lab(np.asarray(image.convert("RGB")))
    assert np.hypot(lab[..., 1], lab[..., 2]).mean() > 1.0  # in colour


def test_multipart_with_max_side_over_http(api):
    form = {"image": ("photo.png", photo_bytes((640, 480), "PNG", "L"), "image/png")}
    response = requests.post(api.url, params={"max_side": 200, "vividness": 1.5}, files=form, timeout=60)
    assert response.status_code == 200, response.text
    assert Image.open(io.BytesIO(response.content)).size == (200, 150)


def test_json_body_over_http(api):
    payload = {"image": base64.b64encode(photo_bytes((96, 64), "PNG", "L")).decode()}
    response = requests.post(api.url, json=payload, timeout=60)
    assert response.status_code == 200, response.text
    assert Image.open(io.BytesIO(response.content)).size == (96, 64)


def test_handler_errors_arrive_as_json(api):
    response = requests.post(api.url, data=b"not an image", headers={"Content-Type": "image/jpeg"}, timeout=60)
    assert response.status_code == 400
    assert response.headers["Content-Type"] == "application/json"
    assert response.json()["error"] == "not_an_image"


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_other_methods_get_the_handlers_405(api, method):
    response = requests.request(method, api.url, timeout=60)
    assert response.status_code == 405
    assert response.headers["Allow"] == "POST"
    assert response.json()["error"] == "method_not_allowed"


@pytest.mark.parametrize("path", ["/", "/colorise", "/colorize/extra"])
def test_other_paths_are_404_json(api, path):
    response = requests.post(api.url.replace("/colorize", path), data=b"x", timeout=60)
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_bodies_over_lambdas_6mb_are_refused_before_the_handler(api):
    response = requests.post(api.url, data=b"\0" * 6_500_000, headers={"Content-Type": "image/png"}, timeout=60)
    assert response.status_code == 413
    assert "6 MB" in response.json()["detail"]


def test_api_key_from_the_environment(keyed_api):
    image = photo_bytes((64, 48), "PNG", "L")
    refused = requests.post(keyed_api.url, data=image, headers={"Content-Type": "image/png"}, timeout=60)
    assert refused.status_code == 401
    ok = requests.post(keyed_api.url, data=image, timeout=60,
                       headers={"Content-Type": "image/png", "X-API-Key": "emulator-key"})
    assert ok.status_code == 200, ok.text


def test_event_encodes_binary_bodies_and_joins_repeats_like_api_gateway():
    headers = [("Content-Type", "image/png"), ("X-Tag", "a"), ("X-Tag", "b")]
    event = to_event("POST", "/colorize?vividness=1.5&x=1&x=2", headers, b"\x89PNG\xff", "127.0.0.1")
    assert event["version"] == "2.0" and event["requestContext"]["http"]["method"] == "POST"
    assert event["headers"]["x-tag"] == "a,b" and event["headers"]["content-type"] == "image/png"
    assert event["queryStringParameters"] == {"vividness": "1.5", "x": "1,2"}
    assert event["isBase64Encoded"] is True and base64.b64decode(event["body"]) == b"\x89PNG\xff"

    text = to_event("POST", "/colorize", [("Content-Type", "application/json")], b'{"image": ""}', "127.0.0.1")
    assert text["isBase64Encoded"] is False and json.loads(text["body"]) == {"image": ""}
    assert "queryStringParameters" not in text  # absent, not empty, as in API Gateway's events


def test_logs_are_json_lines_with_request_ids(api):
    response = requests.post(api.url, data=b"junk", headers={"Content-Type": "image/png"}, timeout=60)
    entries = [json.loads(line) for line in api.log.read_text().splitlines() if line.startswith("{")]
    assert entries[0]["event"] == "cold_start" and entries[0]["model_load_ms"] > 0
    requests_logged = {entry["request_id"]: entry for entry in entries if entry["event"] == "request"}
    assert requests_logged[response.headers["X-Request-Id"]]["error"] == "not_an_image"


# --- request framing (issue 10, defect 6) ---------------------------------------------------------

def raw_exchange(url: str, request: bytes) -> bytes:
    """Send `request` as is on a fresh socket; everything the server answers until it closes."""
    port = int(url.split(":")[2].split("/")[0])
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(request)
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


@pytest.mark.parametrize("length", [b"abc", b"-1", b"1e3"])
def test_a_bad_content_length_is_a_400_answer(api, length):
    answer = raw_exchange(api.url, b"POST /colorize HTTP/1.1\r\nHost: x\r\nContent-Length: " + length + b"\r\n\r\nxyz")
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.0 400") or head.startswith(b"HTTP/1.1 400"), answer[:200]
    assert json.loads(body)["error"] == "bad_request"
    assert "Traceback" not in api.log.read_text()


def test_chunked_bodies_are_read(api):
    data = photo_bytes((96, 64), "PNG", "L")
    response = requests.post(api.url, data=iter([data[:1000], data[1000:]]),  # a generator: requests sends chunked
                             headers={"Content-Type": "image/png"}, timeout=60)
    assert response.request.headers.get("Transfer-Encoding") == "chunked"
    assert response.status_code == 200, response.text
    assert Image.open(io.BytesIO(response.content)).size == (96, 64)


def test_malformed_chunked_body_is_a_400(api):
    answer = raw_exchange(api.url, b"POST /colorize HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
    assert b" 400 " in answer.split(b"\r\n", 1)[0]
