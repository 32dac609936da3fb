"""The website: one page that uploads, shows, re-tunes and downloads results.

With JavaScript (everyone, nearly) the page posts each picture to
/api/colorize and shows and downloads the answer as a blob URL: nothing is
held on the server between requests. Without JavaScript the form posts to
/colorize, whose answer is the result page itself, carrying the
full-resolution PNG as a data: URL download; GET /colorize (a reload that
dropped the POST, a bookmark) goes back to the upload page.
"""
from __future__ import annotations

import base64
import io

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from PIL import Image
from werkzeug.wrappers import Response

from app.api import MAX_BATCH_FILES
from app.backends import current_backends, grayscale
from app.responses import png_response
from app.samples import current_samples
from app.security import check_csrf
from app.uploads import download_name, hints, uploaded_image, vividness
from colorizer.errors import MAX_VIVIDNESS, ColorizerError
from colorizer.hints import MAX_HINTS
from colorizer.imageio import fit_within, open_image

bp = Blueprint("pages", __name__)

PREVIEW_SIDE = 1280  # the page shows both images at most this big; the download is full size
# A result PNG up to this size travels inside the page as a data: URL (+33 % base64, copied while
# rendering); a bigger one is sent as the download itself, so a 512 MB dyno is not flooded.
INLINE_PNG_BYTES = 8 * 1024 * 1024


@bp.app_context_processor
def page_context() -> dict:
    """What every page (error pages too) shows: the limits and the samples."""
    config = current_app.config
    return {"max_mb": config["MAX_UPLOAD_MB"], "max_bytes": config["MAX_CONTENT_LENGTH"],
            "max_megapixels": config["MAX_PIXELS"] / 1e6, "samples": current_samples(),
            "max_files": MAX_BATCH_FILES, "max_hints": MAX_HINTS, "max_vividness": MAX_VIVIDNESS}


@bp.get("/")
def index() -> str:
    return render_template("index.html")


@bp.get("/colorize")
def colorize_again() -> Response:
    """Nothing to show without the upload: back to the form (the result was never stored)."""
    return redirect(url_for("pages.index"), code=303)


@bp.post("/colorize")
def colorize() -> tuple[str, dict] | Response:
    """The form without JavaScript: the result page carries the result itself (a big one: the PNG alone)."""
    check_csrf()
    image, filename = _sample() if request.form.get("sample") else uploaded_image()
    amount = vividness()
    result = current_backends().colorize(image, amount, hints())
    png = result.colour.to_png()
    if len(png) > INLINE_PNG_BYTES:  # the browser saves it and stays on the form
        return png_response(png, download_name(filename), result.backend, attachment=True)
    gray = grayscale(fit_within(image, max_side=PREVIEW_SIDE))
    colour = result.colour.preview(PREVIEW_SIDE)
    page = render_template(
        "result.html", gray=_data_uri(gray), colour=_data_uri(colour), width=image.width,
        height=image.height, preview_width=colour.width, preview_height=colour.height,
        backend=result.backend, vividness=amount, filename=download_name(filename),
        download_url="data:image/png;base64," + base64.b64encode(png).decode("ascii"),
    )
    return page, {"X-Colorizer-Backend": result.backend, "Cache-Control": "no-store"}


def _sample() -> tuple[Image.Image, str]:
    """One of the shipped samples, picked by name from a fixed list (never a client path)."""
    sample = current_samples().get(request.form["sample"])
    if sample is None:
        raise ColorizerError("There is no such sample.", code="no_sample")
    return open_image(sample.path), sample.path.name


def _data_uri(image: Image.Image) -> str:
    """A display copy inlined in the page (WebP: small, and keeps transparency)."""
    buf = io.BytesIO()
    image.save(buf, format="WEBP", quality=85, method=4)
    return "data:image/webp;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
