"""The HTTP API: stateless, so `curl -F image=@photo.jpg .../api/colorize -o out.png` just works.

The website's own page uses it too (from JavaScript): every result goes
straight back to the browser, nothing is kept here between requests, so any
number of workers and dynos can serve any request.

No session, no cookie, hence no CSRF token: a cross-site form could make a
visitor's browser post here, but it would only spend our CPU, exactly as the
attacker could do directly.
"""
from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify

from app.backends import current_backends
from app.responses import png_response
from app.uploads import download_name, hints, uploaded_image, vividness
from colorizer.errors import MAX_VIVIDNESS
from colorizer.hints import MAX_HINTS

bp = Blueprint("api", __name__)

MAX_BATCH_FILES = 20  # the page colorizes at most this many files in one go, one request each


@bp.post("/api/colorize")
def colorize() -> Response:
    image, filename = uploaded_image()
    result = current_backends().colorize(image, vividness(), hints())
    return png_response(result.colour.to_png(), download_name(filename), result.backend, attachment=False)


@bp.get("/healthz")
def healthz() -> Response:
    backends = current_backends()
    return jsonify(status="ok", **backends.describe(), model=backends.model.describe(),
                   capabilities=capabilities())


def capabilities() -> dict:
    """What a client may send: the fields of POST /api/colorize and their limits."""
    config = current_app.config
    return {
        "hints": {"max": MAX_HINTS, "format": '[{"x": int, "y": int, "color": "#rrggbb"}]',
                  "coordinates": "pixels of the uploaded image, from the top left"},
        "vividness": {"min": 0.0, "max": MAX_VIVIDNESS, "default": 1.0},
        "limits": {"max_upload_bytes": config["MAX_CONTENT_LENGTH"], "max_pixels": config["MAX_PIXELS"],
                   "max_batch_files": MAX_BATCH_FILES},
    }
