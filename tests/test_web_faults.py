"""Every way the colorization API can misbehave, against a real socket server, through the real site.

Each fault must cost the visitor at most COLORIZER_TIMEOUT on top of the local model's own time,
and the answer must still be a colorized image with `X-Colorizer-Backend: local` (issue 10,
defects 1, 2 and 8). The server speaks raw HTTP so that it can misbehave in ways http.server
will not: drip a byte at a time, lie about lengths, never answer, send a body without end.
"""
from __future__ import annotations

import io
import socket
import socketserver
import threading
import time

import numpy as np
import pytest
from PIL import Image

from tests.helpers import photo_bytes

TIMEOUT_S = 1.5
UPLOAD = photo_bytes((400, 300))


def sepia_png(request_png: bytes) -> bytes:
    gray = np.asarray(Image.open(io.BytesIO(request_png)).convert("L"), np.float32)
    buf = io.BytesIO()
    Image.fromarray(np.stack([gray, gray * 0.8, gray * 0.55], -1).astype(np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def head(status: str, length: int | None, extra: str = "") -> bytes:
    framing = f"Content-Length: {length}\r\n" if length is not None else "Connection: close\r\n"
    return f"HTTP/1.1 {status}\r\nContent-Type: image/png\r\n{framing}{extra}\r\n".encode()


def drip(sock, body):
    good = sepia_png(body)
    sock.sendall(head("200 OK", len(good)))
    for i in range(len(good)):  # one byte every 20 ms: ~0.1 KB/s, far longer than the deadline
        sock.sendall(good[i:i + 1])
        time.sleep(0.02)


def silent(sock, body):
    time.sleep(TIMEOUT_S * 4)


def huge_declared(sock, body):
    sock.sendall(head("200 OK", 100_000_000))
    sock.sendall(b"\0" * 1_000_000)


def huge_unframed(sock, body):  # no Content-Length: the body ends when the server closes, 100 MB later
    sock.sendall(head("200 OK", None))
    block = b"\0" * (1 << 20)
    for _ in range(100):
        sock.sendall(block)


def trailing(sock, body):
    good = sepia_png(body) + b"\0" * 100_000
    sock.sendall(head("200 OK", len(good)) + good)


def truncated(sock, body):
    good = sepia_png(body)
    sock.sendall(head("200 OK", len(good)) + good[: len(good) // 2])


def status(code: str):
    def answer(sock, body):
        sock.sendall(head(code, 2) + b"{}")
    return answer


def garbage(sock, body):
    sock.sendall(head("200 OK", 21) + b"<html>surprise</html>")


def wrong_size(sock, body):
    small = sepia_png(photo_bytes((10, 10), "PNG"))
    sock.sendall(head("200 OK", len(small)) + small)


def redirect_loop(sock, body):
    sock.sendall(head("307 Temporary Redirect", 0, "Location: /colorize\r\n"))


class FaultyApi:
    """A raw HTTP server on 127.0.0.1 that answers every request with `fault(sock, request_body)`."""

    def __init__(self, fault):
        self.requests = 0
        api = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                while True:  # keep-alive: the site's Session may send its next request on this connection
                    line = self.rfile.readline(65536)
                    if not line:
                        return
                    length = 0
                    while (header := self.rfile.readline(65536).strip()):
                        name, _, value = header.partition(b":")
                        if name.strip().lower() == b"content-length":
                            length = int(value)
                    body = self.rfile.read(length)
                    api.requests += 1
                    try:
                        fault(self.connection, body)
                    except OSError:  # the site gave up on us, as it should
                        return

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/colorize"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def refused_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/colorize"


def post(client):
    started = time.monotonic()
    response = client.post("/api/colorize", data={"image": (io.BytesIO(UPLOAD), "p.jpg")},
                           content_type="multipart/form-data")
    return response, time.monotonic() - started


@pytest.fixture(scope="module")
def local_seconds():
    """What the local model alone takes for UPLOAD here (the slowest of three warm runs)."""
    from app import create_app

    client = create_app({"TESTING": True, "SECRET_KEY": "x", "COLORIZER_API_URL": None}).test_client()
    post(client)
    return max(post(client)[1] for _ in range(3))


FAULTS = {
    "refused": None, "silent": silent, "drip": drip, "5xx": status("503 Service Unavailable"),
    "4xx": status("403 Forbidden"), "garbage": garbage, "truncated": truncated, "wrong size": wrong_size,
    "huge (declared)": huge_declared, "huge (unframed)": huge_unframed, "bytes past the PNG end": trailing,
    "redirect loop": redirect_loop,
}


@pytest.mark.parametrize("name", FAULTS)
def test_each_upstream_fault_costs_at_most_the_timeout(make_web_app, local_seconds, caplog, name):
    api = FaultyApi(FAULTS[name]) if FAULTS[name] else None
    try:
        client = make_web_app(COLORIZER_API_URL=api.url if api else refused_url(),
                              COLORIZER_TIMEOUT=TIMEOUT_S).test_client()
        response, waited = post(client)
        assert response.status_code == 200
        assert response.headers["X-Colorizer-Backend"] == "local"
        assert Image.open(io.BytesIO(response.data)).size == (400, 300)
        # The promise: COLORIZER_TIMEOUT + the local time. Slack for a shared 2-core machine: 0.5 s and 2x local.
        assert waited < TIMEOUT_S + 2 * local_seconds + 0.5, f"{name}: {waited:.2f} s"
        assert "using the local model" in caplog.text
        if name == "redirect loop":
            assert api.requests == 1  # not followed: requests used to follow 30 of them
        if name == "5xx":
            assert api.requests == 2  # one retry, inside the same deadline
    finally:
        if api:
            api.close()


def test_a_drip_does_not_take_the_site_down(make_web_app):
    """Two dripping API calls used to hold both threads for 75 s; now each ends at the deadline."""
    api = FaultyApi(drip)
    try:
        client = make_web_app(COLORIZER_API_URL=api.url, COLORIZER_TIMEOUT=TIMEOUT_S).test_client()
        results = []
        threads = [threading.Thread(target=lambda: results.append(post(client))) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert len(results) == 2 and all(r.headers["X-Colorizer-Backend"] == "local" for r, _ in results)
    finally:
        api.close()


def test_the_breaker_opens_after_repeated_failures_and_healthz_says_so(make_web_app):
    api = FaultyApi(status("500 Internal Server Error"))
    try:
        app = make_web_app(COLORIZER_API_URL=api.url, COLORIZER_TIMEOUT=TIMEOUT_S, API_BREAKER_FAILURES=2,
                           API_BREAKER_COOLDOWN_S=1.0)
        client = app.test_client()
        assert client.get("/healthz").json["api"] == {"state": "ok"}
        post(client)
        health = client.get("/healthz").json
        assert health["backend"] == "lambda" and health["api"]["state"] == "failing"
        post(client)
        assert client.get("/healthz").json["api"]["state"] == "open"
        asked = api.requests
        response, _ = post(client)  # the circuit is open: straight to the local model, no request
        assert response.headers["X-Colorizer-Backend"] == "local" and api.requests == asked
        time.sleep(1.1)
        post(client)  # after the cooldown one request probes the API again
        assert api.requests > asked
        assert client.get("/healthz").json["api"]["state"] == "open"  # the probe failed: open again
    finally:
        api.close()


def test_the_breaker_closes_when_the_api_recovers(make_web_app):
    failing = {"now": True}

    def flaky(sock, body):
        if failing["now"]:
            return status("500 Internal Server Error")(sock, body)
        good = sepia_png(body)
        sock.sendall(head("200 OK", len(good)) + good)

    api = FaultyApi(flaky)
    try:
        client = make_web_app(COLORIZER_API_URL=api.url, COLORIZER_TIMEOUT=TIMEOUT_S, API_BREAKER_FAILURES=1,
                              API_BREAKER_COOLDOWN_S=0.5).test_client()
        post(client)
        assert client.get("/healthz").json["api"]["state"] == "open"
        failing["now"] = False
        time.sleep(0.6)
        response, _ = post(client)
        assert response.headers["X-Colorizer-Backend"] == "lambda"
        assert client.get("/healthz").json["api"] == {"state": "ok"}
    finally:
        api.close()


def test_one_session_per_worker_keeps_the_connection_alive(make_web_app):
    connections = []

    def ok(sock, body):
        if sock not in connections:
            connections.append(sock)
        good = sepia_png(body)
        sock.sendall(head("200 OK", len(good)) + good)

    api = FaultyApi(ok)
    try:
        client = make_web_app(COLORIZER_API_URL=api.url, COLORIZER_TIMEOUT=TIMEOUT_S).test_client()
        for _ in range(3):
            assert post(client)[0].headers["X-Colorizer-Backend"] == "lambda"
        assert api.requests == 3 and len(connections) == 1
    finally:
        api.close()


def test_a_chunked_answer_is_read(make_web_app):
    def chunked(sock, body):
        good = sepia_png(body)
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nTransfer-Encoding: chunked\r\n\r\n")
        for i in range(0, len(good), 1000):
            sock.sendall(b"%x\r\n" % len(good[i:i + 1000]) + good[i:i + 1000] + b"\r\n")
        sock.sendall(b"0\r\n\r\n")

    api = FaultyApi(chunked)
    try:
        client = make_web_app(COLORIZER_API_URL=api.url, COLORIZER_TIMEOUT=TIMEOUT_S).test_client()
        for _ in range(2):  # and the connection stays usable
            assert post(client)[0].headers["X-Colorizer-Backend"] == "lambda"
    finally:
        api.close()
