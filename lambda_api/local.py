"""Local stand-in for API Gateway: `python -m lambda_api.local --port 9000`.

Each HTTP request becomes an HTTP API payload 2.0 event, goes through the
real lambda_handler, and its proxy response becomes the HTTP response,
so the website and the tests talk to it exactly as they would to AWS.
Like API Gateway it routes only /colorize (any method: the handler answers
405 itself), base64-encodes binary bodies, and refuses bodies over
Lambda's 6 MB payload limit before invoking anything.
"""
from __future__ import annotations

import argparse
import base64
import json
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from colorizer.errors import ColorizerError
from lambda_api.handler import LAMBDA_PAYLOAD_BYTES, lambda_handler

ROUTE = "/colorize"
# Content types API Gateway passes as text; it base64-encodes every other body.
TEXT_TYPES = ("text/", "application/json", "application/xml", "application/javascript",
              "application/x-www-form-urlencoded")


class PayloadTooLarge(ColorizerError):
    """A body over Lambda's payload limit: API Gateway refuses it before invoking the function."""

    status = 413
    code = "too_large"


TOO_LARGE = "The request is over AWS Lambda's 6 MB payload limit."


@dataclass
class LocalContext:
    """The part of Lambda's context object that the handler reads."""

    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))


def to_event(method: str, target: str, headers: Iterable[tuple[str, str]], body: bytes, client_ip: str) -> dict:
    """The HTTP API payload 2.0 event API Gateway would send for this request."""
    url = urlsplit(target)
    lowered = _comma_joined((name.lower(), value) for name, value in headers)
    query = _comma_joined(parse_qsl(url.query, keep_blank_values=True))
    is_text = lowered.get("content-type", "").lower().startswith(TEXT_TYPES)
    try:
        text = body.decode("utf-8") if is_text else None
    except UnicodeDecodeError:
        text = None
    event = {
        "version": "2.0",
        "routeKey": f"ANY {ROUTE}",
        "rawPath": url.path,
        "rawQueryString": url.query,
        "headers": lowered,
        "requestContext": {
            "http": {"method": method, "path": url.path, "protocol": "HTTP/1.1", "sourceIp": client_ip,
                     "userAgent": lowered.get("user-agent", "")},
            "requestId": uuid.uuid4().hex,
            "routeKey": f"ANY {ROUTE}",
            "stage": "$default",
            "timeEpoch": int(time.time() * 1000),
        },
        "body": text if text is not None else base64.b64encode(body).decode("ascii"),
        "isBase64Encoded": text is None,
    }
    if query:
        event["queryStringParameters"] = query
    return event


def _comma_joined(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Repeated names become one comma-joined value, as in payload 2.0 headers and query parameters."""
    joined: dict[str, str] = {}
    for name, value in pairs:
        joined[name] = f"{joined[name]},{value}" if name in joined else value
    return joined


class ApiGatewayHandler(BaseHTTPRequestHandler):
    """Routes /colorize to lambda_handler; everything else is 404, as an HTTP API route table does."""

    server_version = "colorizer-local"

    def _invoke(self) -> None:
        if urlsplit(self.path).path != ROUTE:
            return self._send_json(404, "not_found", f"No route here; POST images to {ROUTE}.")
        try:
            body = self._read_body()
        except ColorizerError as exc:  # a body API Gateway would refuse before invoking the function
            self.close_connection = True  # what follows on this connection can no longer be framed
            return self._send_json(exc.status, exc.code, str(exc))
        event = to_event(self.command, self.path, self.headers.items(), body, self.client_address[0])
        result = lambda_handler(event, LocalContext())
        payload = result.get("body") or ""
        data = base64.b64decode(payload) if result.get("isBase64Encoded") else payload.encode("utf-8")
        self._send(result["statusCode"], result.get("headers") or {}, data)

    do_POST = do_GET = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _invoke

    def _read_body(self) -> bytes:
        """The request body, framed by Content-Length or chunked transfer coding, as API Gateway reads it."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        raw = (self.headers.get("Content-Length") or "0").strip()
        if not raw.isdigit():  # "abc", "-1", "1e3", "1, 2"
            raise ColorizerError(f"Content-Length {raw!r} is not a number of bytes.")
        length = int(raw)
        if length > LAMBDA_PAYLOAD_BYTES:
            self._discard(length)
            raise PayloadTooLarge(TOO_LARGE)
        return self.rfile.read(length)

    def _read_chunked(self) -> bytes:
        chunks, total = [], 0
        while True:
            line = self.rfile.readline(1024)
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise ColorizerError("The chunked request body is malformed.") from None
            if size == 0:
                while self.rfile.readline(1024).strip():  # trailer fields, up to the blank line
                    pass
                return b"".join(chunks)
            total += size
            if size < 0 or total > LAMBDA_PAYLOAD_BYTES:
                raise PayloadTooLarge(TOO_LARGE)
            chunk = self.rfile.read(size)
            if len(chunk) < size or self.rfile.readline(1024).strip():
                raise ColorizerError("The chunked request body is malformed.")
            chunks.append(chunk)

    def _discard(self, length: int) -> None:
        """Read and drop a refused body, so the client gets our answer rather than a reset connection."""
        while length > 0:
            chunk = self.rfile.read(min(length, 1 << 20))
            if not chunk:
                break
            length -= len(chunk)

    def _send_json(self, status: int, code: str, detail: str) -> None:
        body = json.dumps({"error": code, "detail": detail}).encode("utf-8")
        self._send(status, {"Content-Type": "application/json"}, body)

    def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format: str, *args) -> None:
        """The handler already logs each request as JSON; skip http.server's access log."""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve the Lambda handler locally, as API Gateway would.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000)
    args = parser.parse_args(argv)
    server = ThreadingHTTPServer((args.host, args.port), ApiGatewayHandler)
    print(f"Colorization API emulator on http://{args.host}:{server.server_port}{ROUTE}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
