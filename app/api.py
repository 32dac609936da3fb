"""The HTTP API: stateless, so `curl -F image=@photo.jpg .../api/colorize -o out.png` just works.

No session, no cookie, hence no CSRF token: a cross-site form could make a
visitor's browser post here, but it would only spend our CPU, exactly as the
attacker could do directly.
"""
from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify

from app.responses import png_response
from app.uploads import download_name, uploaded_image, vividness
from colorizer.imageio import to_png

bp = Blueprint("api", __name__)


@bp.post("/api/colorize")
def colorize() -> Response:
    image, filename = uploaded_image()
    result = current_app.extensions["backends"].colorize(image, vividness())
    return png_response(to_png(result.image), download_name(filename), result.backend, attachment=False)


@bp.get("/healthz")
def healthz() -> Response:
    backends = current_app.extensions["backends"]
    return jsonify(status="ok", **backends.describe(), model=backends.model.describe())
