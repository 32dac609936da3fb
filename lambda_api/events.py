"""API Gateway / Function URL events in, Lambda proxy responses out.

Three event shapes reach the function: HTTP API payload 2.0 and Lambda
Function URLs (the same shape), and REST API proxy events (1.0). They
differ only in where the method, headers and query sit, so they are read
into one small Request and the rest of the code never sees the difference.
The response shape below is the one all three integrations accept.
"""
from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass

from colorizer.errors import ColorizerError


class BadEvent(ColorizerError):
    """An event that is not an API Gateway / Function URL request: answered 400, never 500."""

    code = "bad_event"


@dataclass(frozen=True)
class Request:
    method: str
    headers: dict[str, str]  # names lower-cased
    query: dict[str, str]
    body: bytes
    api_request_id: str = ""

    @classmethod
    def from_event(cls, event: object) -> Request:
        """Read a payload 2.0 / Function URL event or a REST proxy 1.0 event; BadEvent if it is neither."""
        if not isinstance(event, dict):
            raise BadEvent("The event is not an HTTP request (expected an API Gateway or Function URL event).")
        context = _mapping(event.get("requestContext"), "requestContext")
        # REST proxy (1.0) has httpMethod at the top; HTTP API 2.0 and Function URLs under requestContext.
        method = event["httpMethod"] if "httpMethod" in event else _mapping(context.get("http"), "http").get("method")
        if not isinstance(method, str) or not method:
            raise BadEvent("The event has no HTTP method (requestContext.http.method or httpMethod).")
        request_id = context.get("requestId")
        return cls(
            method=method.upper(),
            headers={str(k).lower(): str(v) for k, v in _mapping(event.get("headers"), "headers").items()},
            query={str(k): str(v) for k, v in _mapping(event.get("queryStringParameters"), "query").items()},
            body=_body_bytes(event),
            api_request_id=request_id if isinstance(request_id, str) else "",
        )


def _mapping(value: object, name: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadEvent(f"The event's {name} is not an object.")
    return value


def _body_bytes(event: dict) -> bytes:
    """API Gateway base64-encodes binary bodies and passes text ones as they are."""
    body = event.get("body") or ""
    if not isinstance(body, str):
        raise BadEvent("The event's body is not a string.")
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ColorizerError(f"The body is marked base64 but is not valid base64: {exc}.",
                                 code="bad_base64") from exc
    return body.encode("utf-8", "surrogatepass")


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
