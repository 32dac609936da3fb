"""The one way a colorized PNG leaves the site: the API's answer and the page's download."""
from __future__ import annotations

import io

from flask import Response, send_file


def png_response(png: bytes, filename: str, backend: str, attachment: bool) -> Response:
    """PNG bytes named `filename`, never cached, saying which backend colorized them."""
    response = send_file(io.BytesIO(png), mimetype="image/png", as_attachment=attachment,
                         download_name=filename, max_age=0)
    response.headers.update({"X-Colorizer-Backend": backend, "Cache-Control": "no-store"})
    return response
