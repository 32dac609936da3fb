"""The one way a colorized PNG leaves the site: the API's answer and the page's download."""
from __future__ import annotations

import io
import re
import unicodedata
from urllib.parse import quote

from flask import Response, send_file

FALLBACK_STEM = "image"


def png_response(png: bytes, filename: str, backend: str, attachment: bool) -> Response:
    """PNG bytes named `filename`, never cached, saying which backend colorized them."""
    response = send_file(io.BytesIO(png), mimetype="image/png", as_attachment=attachment,
                         download_name=filename, max_age=0)
    response.headers.update({"X-Colorizer-Backend": backend, "Cache-Control": "no-store",
                             "Content-Disposition": content_disposition(filename, attachment)})
    return response


def content_disposition(filename: str, attachment: bool) -> str:
    """RFC 6266: an ASCII filename= for old clients and, when it differs, the real name as filename*."""
    kind = "attachment" if attachment else "inline"
    fallback = ascii_filename(filename)
    if fallback == filename:
        return f"{kind}; filename={filename}"
    return f"{kind}; filename={fallback}; filename*=UTF-8''{quote(filename, safe='')}"


def ascii_filename(filename: str) -> str:
    """Accents dropped (Café -> Cafe), other scripts gone; a stem with nothing left becomes "image"."""
    stem, dot, suffix = filename.rpartition("-colorized.")
    if not dot:
        stem, suffix = filename, ""
    ascii_stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode("ascii")
    ascii_stem = re.sub(r"[^A-Za-z0-9._-]+", "_", ascii_stem).strip("._-") or FALLBACK_STEM
    return f"{ascii_stem}-colorized.{suffix}" if dot else ascii_stem
