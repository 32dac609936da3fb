"""Turn a multipart request into what the colorizer needs: an image, a vividness, hints, a name.

Shared by the upload form and the JSON API so both accept exactly the same
input. Uploads are parsed in memory (see InMemoryRequest); the client's file
name is only ever used, sanitised, to name the download.
"""
from __future__ import annotations

import io
import re
from pathlib import PurePosixPath, PureWindowsPath
from typing import IO

from flask import Request, current_app, request
from PIL import Image

from app.errors import RequestError
from colorizer.engine import MAX_VIVIDNESS
from colorizer.hints import Hint, parse_hints
from colorizer.imageio import open_image

DEFAULT_STEM = "image"
UNSAFE = re.compile(r"[^\w.-]+")  # \w is Unicode-aware: keeps letters of every script


class InMemoryRequest(Request):
    """Werkzeug spools file uploads over 500 KB to a temporary file; keep them in memory.

    MAX_CONTENT_LENGTH bounds the size, so memory is bounded too.
    """

    def _get_file_stream(self, total_content_length: int | None, content_type: str | None,
                         filename: str | None = None, content_length: int | None = None) -> IO[bytes]:
        return io.BytesIO()


def uploaded_image() -> tuple[Image.Image, str]:
    """The decoded `image` field and its original file name; raises ImageError/RequestError."""
    upload = request.files.get("image")
    if upload is None or not upload.filename:
        raise RequestError("Please choose an image to colorize.", code="no_image")
    image = open_image(upload.stream.read(), max_pixels=current_app.config["MAX_PIXELS"])
    return image, upload.filename


def vividness() -> float:
    """The optional `vividness` field: 0 (grey) .. 2 (twice the model's colour), default 1."""
    raw = request.form.get("vividness", "").strip()
    if not raw:
        return 1.0
    try:
        value = float(raw)
    except ValueError:
        value = None
    if value is None or not 0.0 <= value <= MAX_VIVIDNESS:  # also refuses nan
        raise RequestError(f"vividness must be a number from 0 to {MAX_VIVIDNESS:g}.", code="bad_vividness")
    return value


def hints() -> list[Hint]:
    """The optional `hints` field: JSON [{"x", "y", "color": "#rrggbb"}, ...] in the upload's pixels.

    Raises HintError (400, bad_hints) when malformed; the backend checks that they lie on the picture.
    """
    return parse_hints(request.form.get("hints", "").strip())


def download_name(client_filename: str) -> str:
    """`<original stem>-colorized.png`, safe as a file name on any system.

    Letters of any script survive (фото.jpg -> фото-colorized.png); path
    separators, quotes, control and shell characters do not.
    """
    name = PureWindowsPath(PurePosixPath(client_filename).name).name  # C:\fakepath\x.jpg -> x.jpg
    stem = UNSAFE.sub("_", PurePosixPath(name).stem)[:80].strip("._-")
    return f"{stem or DEFAULT_STEM}-colorized.png"
