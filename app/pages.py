"""The website: the upload page, the result page and the result download."""
from __future__ import annotations

import base64
import io

from flask import Blueprint, Response, current_app, render_template, request, url_for
from PIL import Image

from app.backends import grayscale
from app.errors import RequestError
from app.responses import png_response
from app.security import check_csrf
from app.store import ResultTooLarge
from app.uploads import download_name, uploaded_image, vividness
from colorizer.imageio import fit_within, open_image, to_png

bp = Blueprint("pages", __name__)

PREVIEW_SIDE = 1280  # the page shows both images at most this big; the download is full size


@bp.app_context_processor
def page_context() -> dict:
    """What every page (error pages too) shows: the limits and the samples."""
    config = current_app.config
    return {"max_mb": config["MAX_UPLOAD_MB"], "max_bytes": config["MAX_CONTENT_LENGTH"],
            "max_megapixels": config["MAX_PIXELS"] / 1e6, "samples": current_app.extensions["samples"]}


@bp.get("/")
def index() -> str:
    return render_template("index.html")


@bp.post("/colorize")
def colorize() -> tuple[str, dict]:
    check_csrf()
    image, filename = _sample() if request.form.get("sample") else uploaded_image()
    amount = vividness()
    result = current_app.extensions["backends"].colorize(image, amount)
    name = download_name(filename)
    try:
        token = current_app.extensions["results"].put(to_png(result.image), name, result.backend)
    except ResultTooLarge:
        raise RequestError("The colorized image is too large to keep for download; try a smaller one.",
                           code="too_large", status=413) from None
    gray = grayscale(fit_within(image, max_side=PREVIEW_SIDE))
    colour = fit_within(result.image, max_side=PREVIEW_SIDE)
    page = render_template(
        "result.html", gray=_data_uri(gray), colour=_data_uri(colour), width=image.width,
        height=image.height, backend=result.backend, vividness=amount, filename=name,
        download_url=url_for("pages.download", token=token),
        minutes=round(current_app.config["RESULT_TTL_S"] / 60),
    )
    return page, {"X-Colorizer-Backend": result.backend, "Cache-Control": "no-store"}


@bp.get("/result/<token>/download")
def download(token: str) -> Response:
    result = current_app.extensions["results"].get(token)
    if result is None:
        raise RequestError("That result has expired (results are kept in memory for a few minutes, "
                           "never on disk). Please colorize the image again.", code="expired", status=404)
    return png_response(result.png, result.filename, result.backend, attachment=True)


def _sample() -> tuple[Image.Image, str]:
    """One of the shipped samples, picked by name from a fixed list (never a client path)."""
    path = current_app.extensions["samples"].get(request.form["sample"])
    if path is None:
        raise RequestError("There is no such sample.", code="no_sample")
    return open_image(path), path.name


def _data_uri(image: Image.Image) -> str:
    """A display copy inlined in the page (WebP: small, and keeps transparency)."""
    buf = io.BytesIO()
    image.save(buf, format="WEBP", quality=85, method=4)
    return "data:image/webp;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
