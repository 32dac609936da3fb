"""The uploaded image's bytes, from whichever of the three body forms a client sent.

Raw bytes suit curl and server-to-server calls, multipart/form-data suits
HTML forms, JSON with base64 suits clients that can only send text. Parsing
uses the standard library's MIME parser: no dependency is worth adding to
the Lambda artifact for this.
"""
from __future__ import annotations

import base64
import binascii
import json
from email.parser import BytesParser
from email.policy import HTTP

from colorizer.errors import ColorizerError, MissingImage

FIELD = "image"
ACCEPTED = 'image/* bytes, multipart/form-data with a field "image", or JSON {"image": "<base64>"}'


def image_bytes(content_type: str | None, body: bytes) -> bytes:
    """The image bytes in `body`; ColorizerError (400 / 415) when there are none to find."""
    mime = (content_type or "").split(";", 1)[0].strip().lower()
    if mime == "multipart/form-data":
        return _multipart_field(content_type or "", body)
    if mime == "application/json" or mime.endswith("+json"):
        return _json_field(body)
    if not mime or mime.startswith("image/") or mime == "application/octet-stream":
        return body
    raise ColorizerError(f"Content-Type {mime} is not accepted; send {ACCEPTED}.", status=415,
                         code="unsupported_media_type")


def _multipart_field(content_type: str, body: bytes) -> bytes:
    message = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + content_type.encode("utf-8") + b"\r\n\r\n" + body)
    if message.is_multipart():
        for part in message.iter_parts():
            if part.get_param("name", header="content-disposition") == FIELD:
                return part.get_payload(decode=True) or b""
    raise MissingImage(f'The multipart/form-data upload has no field named "{FIELD}".')


def _json_field(body: bytes) -> bytes:
    try:
        document = json.loads(body)
    except RecursionError as exc:  # e.g. 100,000 "[": too deeply nested for the parser
        raise ColorizerError("The body is not valid JSON: nested too deeply.", code="bad_json") from exc
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        raise ColorizerError(f"The body is not valid JSON: {exc}.", code="bad_json") from exc
    encoded = document.get(FIELD) if isinstance(document, dict) else None
    if not isinstance(encoded, str):
        raise MissingImage(f'The JSON body has no string field "{FIELD}" (base64 of the image).')
    if encoded.startswith("data:"):  # a data: URL as produced by FileReader.readAsDataURL
        encoded = encoded.partition(",")[2]
    try:
        return base64.b64decode("".join(encoded.split()), validate=True)  # tolerate line-wrapped base64
    except binascii.Error as exc:
        raise ColorizerError(f'The "{FIELD}" field is not valid base64: {exc}.', code="bad_base64") from exc
