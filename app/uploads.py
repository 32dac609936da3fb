"""Turn a multipart request into what the colorizer needs: an image, a vividness, hints, a name.

Shared by the upload form and the JSON API so both accept exactly the same
input. Uploads are parsed in memory (see InMemoryRequest); the client's file
name is only ever used, sanitised, to name the download.
"""
from __future__ import annotations

import io
import re
from typing import IO

from flask import Request, current_app, request
from PIL import Image

from app.budget import current_budget
from app.responses import FALLBACK_STEM
from colorizer.errors import MissingImage, parse_vividness
from colorizer.hints import Hint, parse_hints
from colorizer.imageio import open_image

UNSAFE = re.compile(r"[^\w.-]+")  # \w is Unicode-aware: keeps letters of every script
RAW_FILENAME = re.compile(r'filename="([^"]*)"')


class InMemoryRequest(Request):
    """Werkzeug spools file uploads over 500 KB to a temporary file; keep them in memory.

    MAX_CONTENT_LENGTH bounds the size, so memory is bounded too.
    """

    def _get_file_stream(self, total_content_length: int | None, content_type: str | None,
                         filename: str | None = None, content_length: int | None = None) -> IO[bytes]:
        return io.BytesIO()


def uploaded_image() -> tuple[Image.Image, str]:
    """The decoded `image` field and its original file name; raises ImageError/MissingImage."""
    upload = request.files.get("image")
    if upload is None or not upload.filename:
        raise MissingImage("Please choose an image to colorize.")
    # The pixel budget is taken from the header, before decoding, and given back when the request ends.
    image = open_image(upload.stream.read(), max_pixels=current_app.config["MAX_PIXELS"],
                       admit=current_budget().admit)
    return image, client_filename(upload.headers.get("Content-Disposition", ""), upload.filename)


def client_filename(disposition: str, parsed: str) -> str:
    """The file name as the browser sent it.

    Browsers put a backslash into filename="..." as it is (C:\\fakepath\\photo.png, and every
    Windows path), but the multipart parser reads it as a quoted-string escape and drops it
    (C:fakepathphoto.png). So read the raw header; RFC 5987's filename* wins when present.
    """
    match = RAW_FILENAME.search(disposition)
    return match.group(1) if match and "filename*" not in disposition else parsed


def vividness() -> float:
    """The optional `vividness` field: 0 (grey) .. 2 (twice the model's colour), default 1."""
    return parse_vividness(request.form.get("vividness"))


def hints() -> list[Hint]:
    """The optional `hints` field: JSON [{"x", "y", "color": "#rrggbb"}, ...] in the upload's pixels.

    Raises HintError (400, bad_hints) when malformed; the backend checks that they lie on the picture.
    """
    return parse_hints(request.form.get("hints", "").strip())


def download_name(client_filename: str) -> str:
    """`<original stem>-colorized.png`, safe as a file name on any system.

    Only the last path component counts, whichever separator the client used
    (C:\\fakepath\\photo.png -> photo-colorized.png). Letters of any script survive
    (фото.jpg -> фото-colorized.png; responses.ascii_filename gives the ASCII fallback);
    quotes, control and shell characters do not.
    """
    name = re.split(r"[\\/]", client_filename)[-1]
    stem = name.rsplit(".", 1)[0] if "." in name.lstrip(".") else name
    safe = UNSAFE.sub("_", stem)[:80].strip("._-")
    return f"{safe or FALLBACK_STEM}-colorized.png"
