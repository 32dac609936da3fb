"""AWS Lambda entry point: an image in, the colorized image out as PNG.

A thin edge: read the event, call the shared colorizer, serialise. The
onnxruntime session is created once, at import, which Lambda runs during
the cold start; warm invocations reuse it.

Lambda caps a synchronous request and response at 6 MB each, including
the base64 that API Gateway adds to binary bodies (+33%). So images over
4 MB are refused up front with 413, and results are downscaled to a pixel
count whose PNG fits the response even when it does not compress at all.
"""
from __future__ import annotations

import hmac
import json
import logging
import os
import sys
import time
import traceback

from PIL import Image

from colorizer.engine import Colorizer
from colorizer.errors import BadParameter, ColorizerError, parse_vividness
from colorizer.hints import Hint, check_inside, parse_hints, scale_hints
from colorizer.imageio import fit_within, open_image
from lambda_api.events import Request, error_response, png_response
from lambda_api.payload import image_bytes

LAMBDA_PAYLOAD_BYTES = 6_000_000  # synchronous invoke limit, request and response alike
MAX_IMAGE_BYTES = 4_000_000  # -> 5.3 MB once base64-encoded, plus the event around it
MAX_PNG_BYTES = (LAMBDA_PAYLOAD_BYTES - 16_384) * 3 // 4  # what base64 leaves of the response
PNG_WORST_CASE = 1.01  # bytes per sample of incompressible PNG: row filter bytes, deflate and chunk framing


def _json_logger() -> logging.Logger:
    """One JSON object per line on stdout, which CloudWatch Logs Insights indexes as fields."""
    logger = logging.getLogger("lambda_api")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    return logger


LOG = _json_logger()


def _log(level: int, event: str, **fields) -> None:
    LOG.log(level, json.dumps({"level": logging.getLevelName(level), "event": event, **fields}, default=str))


def _threads() -> int | None:
    """$COLORIZER_THREADS: onnxruntime threads, set to the vCPUs the memory setting buys (template: 1).

    Lambda shows the function more cores than its CPU share pays for; one
    thread per visible core then spins on a single vCPU (measured: model run
    29 ms with 1 thread vs 48 ms with 2, on one core).
    """
    value = os.environ.get("COLORIZER_THREADS", "")
    return int(value) if value else None


_started = time.perf_counter()
COLORIZER = Colorizer.load(threads=_threads())
_log(logging.INFO, "cold_start", model_load_ms=round((time.perf_counter() - _started) * 1000, 1),
    model=COLORIZER.describe())


def lambda_handler(event: dict, context: object) -> dict:
    """API Gateway (HTTP API 2.0, REST 1.0) or Function URL event -> proxy response."""
    started = time.perf_counter()
    request_id = getattr(context, "aws_request_id", "") or "local"
    fields: dict = {}
    try:
        request = Request.from_event(event)
        fields["api_request_id"] = request.api_request_id
        response = _colorize(request, fields)
    except ColorizerError as exc:
        fields.update(error=exc.code, detail=str(exc))
        response = error_response(exc.status, exc.code, str(exc), exc.headers)
    except Exception as exc:  # anything else is our bug: log it whole, tell the client only the id
        fields.update(error="internal", exception=repr(exc), traceback=traceback.format_exc())
        response = error_response(500, "internal", f"The colorizer failed unexpectedly (request id {request_id}).")
    response["headers"]["X-Request-Id"] = request_id
    status = response["statusCode"]
    _log(logging.ERROR if status >= 500 else logging.INFO, "request", request_id=request_id, status=status,
        ms=round((time.perf_counter() - started) * 1000, 1), **fields)
    return response


def _colorize(request: Request, fields: dict) -> dict:
    if request.method != "POST":
        raise ColorizerError(f"{request.method} is not allowed; POST an image.", status=405,
                             code="method_not_allowed", headers={"Allow": "POST"})
    _check_api_key(request.headers.get("x-api-key", ""))
    vividness, max_side = _query_params(request.query)
    content_type = request.headers.get("content-type")
    data = image_bytes(content_type, request.body)
    hints = _hints(request.query, content_type, request.body)
    fields["in_bytes"] = len(data)
    if len(data) > MAX_IMAGE_BYTES:
        raise ColorizerError(
            f"The image is {len(data) / 1e6:.1f} MB; this API takes at most {MAX_IMAGE_BYTES / 1e6:g} MB "
            "because AWS Lambda limits a request to 6 MB and base64 encoding adds a third. "
            "Send a smaller JPEG or downscale it first.", status=413, code="too_large",
        )
    image = open_image(data)
    check_inside(hints, *image.size)
    # Shrinking before colorizing gives the same result (the model sees its working size either way) for less work.
    shrunk = fit_within(image, max_side=max_side, max_pixels=png_pixel_budget(image))
    hints, image = scale_hints(hints, image.size, shrunk.size), shrunk
    png = COLORIZER.colorization(image, vividness, hints).to_png()
    fields.update(width=image.width, height=image.height, out_bytes=len(png), hints=len(hints))
    return png_response(png)


def _check_api_key(given: str) -> None:
    """When COLORIZER_API_KEY is set, require it in x-api-key (constant-time comparison)."""
    expected = os.environ.get("COLORIZER_API_KEY", "")
    if expected and not hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8")):
        raise ColorizerError("A valid x-api-key header is required.", status=401, code="unauthorized")


def _query_params(query: dict[str, str]) -> tuple[float, int | None]:
    """vividness in [0, MAX_VIVIDNESS] (default 1) and max_side >= 1 (default: no limit)."""
    vividness = parse_vividness(query.get("vividness"))
    if "max_side" not in query:
        return vividness, None
    try:
        max_side = int(query["max_side"])
    except ValueError:
        max_side = 0
    if max_side < 1:
        raise BadParameter("max_side must be a positive whole number of pixels.")
    return vividness, max_side


def _hints(query: dict[str, str], content_type: str | None, body: bytes) -> list[Hint]:
    """Colour hints from the query parameter `hints` or a JSON body's field `hints` (HintError if malformed).

    Both hold a JSON list of {"x": int, "y": int, "color": "#rrggbb"} in the image's pixel coordinates.
    """
    if "hints" in query:
        return parse_hints(query["hints"])
    mime = (content_type or "").split(";", 1)[0].strip().lower()
    if mime == "application/json" or mime.endswith("+json"):
        document = json.loads(body)  # image_bytes() has already refused a body that is not JSON
        if isinstance(document, dict) and document.get("hints") is not None:
            return parse_hints(document["hints"])
    return []


def png_pixel_budget(image: Image.Image) -> int:
    """Most pixels whose PNG fits MAX_PNG_BYTES even if it does not compress at all (e.g. film grain)."""
    channels = 4 if "A" in image.getbands() else 3  # the colour output: a grey (L) input comes back RGB
    return int(MAX_PNG_BYTES / (channels * PNG_WORST_CASE))
