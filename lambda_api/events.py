"""API Gateway / Function URL events in, Lambda proxy responses out.

Three event shapes reach the function: HTTP API payload 2.0 and Lambda
Function URLs (the same shape), and REST API proxy events (1.0). They
differ only in where the method, headers and query sit, so they are read
into one small Request and the rest of the code never sees the difference.
The response shape below is the one all three integrations accept.
"""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass


class RequestError(Exception):
    """A request we refuse: `status` is the HTTP status, `code` a short machine-readable reason."""

    def __init__(self, status: int, code: str, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status, self.code, self.headers = status, code, headers or {}


@dataclass(frozen=True)
class Request:
    method: str
    headers: dict[str, str]  # names lower-cased
    query: dict[str, str]
    body: bytes
    api_request_id: str = ""

    @classmethod
    def from_event(cls, event: dict) -> "Request":
        """Read a payload 2.0 / Function URL event or a REST proxy 1.0 event."""
        context = event.get("requestContext") or {}
        # REST proxy (1.0) has httpMethod at the top; HTTP API 2.0 and Function URLs under requestContext.
        method = event["httpMethod"] if "httpMethod" in event else context["http"]["method"]
        return cls(
            method=method.upper(),
            headers={name.lower(): value for name, value in (event.get("headers") or {}).items()},
            query=dict(event.get("queryStringParameters") or {}),
            body=_body_bytes(event),
            api_request_id=context.get("requestId", ""),
        )


def _body_bytes(event: dict) -> bytes:
    """API Gateway base64-encodes binary bodies and passes text ones as they are."""
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        return base64.b64decode(body)
    return body.encode("utf-8")


def png_response(png: bytes, headers: dict[str, str] | None = None) -> dict:
    """200 with a PNG body, base64-encoded as the proxy integration requires for binary."""
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "image/png", **(headers or {})},
        "body": base64.b64encode(png).decode("ascii"),
        "isBase64Encoded": True,
    }


def error_response(status: int, code: str, detail: str, headers: dict[str, str] | None = None) -> dict:
    """An error as JSON {"error": code, "detail": message for a person}."""
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json", **(headers or {})},
        "body": json.dumps({"error": code, "detail": detail}),
        "isBase64Encoded": False,
    }
