"""Where colour comes from: the Lambda API when configured, the local ONNX model always.

The Lambda API gets a small grayscale copy (<= 1 MP, far inside Lambda's
6 MB payload limit); its colour is put back onto the full-resolution
lightness here, so the visitor gets back every pixel they uploaded. Any
failure of the API -- timeout, refused connection, an error status, a body
that is not an image -- falls back to the local model with a logged warning:
the visitor always gets an answer.
"""
from __future__ import annotations

import functools
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import requests
from PIL import Image
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from colorizer.engine import Colorizer, apply_ab
from colorizer.hints import Hint, check_inside, scale_hints
from colorizer.imageio import ImageError, fit_within, open_image, to_png
from colorizer.lab import rgb_to_lab

log = logging.getLogger(__name__)

API_MAX_PIXELS = 1_000_000
CONNECT_TIMEOUT_S = 3.05


class BackendError(RuntimeError):
    """The remote API did not give us usable colour."""


@dataclass(frozen=True)
class Colorized:
    image: Image.Image
    backend: str  # "lambda" or "local": what served it, for X-Colorizer-Backend


@functools.lru_cache(maxsize=None)
def load_model(path: Path) -> Colorizer:
    """The ONNX session for `path`, opened once per process (i.e. per gunicorn worker)."""
    return Colorizer.load(path)


def grayscale(image: Image.Image) -> Image.Image:
    """The image as the model sees it: its L* with no colour (alpha kept)."""
    return apply_ab(image, np.zeros((1, 1, 2), np.float32))


class LambdaBackend:
    """Client of the colorization API (AWS Lambda, or `python -m lambda_api.local`)."""

    name = "lambda"

    def __init__(self, url: str, api_key: str | None, timeout_s: float) -> None:
        self.url, self.api_key = url, api_key
        self.timeout = (min(CONNECT_TIMEOUT_S, timeout_s), timeout_s)
        # One retry for connection errors and 5xx; a read timeout is not retried,
        # so the worst case stays inside Heroku's 30 s router limit.
        self.retry = Retry(total=1, connect=1, read=0, other=0, status=1, redirect=0,
                           status_forcelist=(500, 502, 503, 504), allowed_methods=None,
                           respect_retry_after_header=False, raise_on_status=False)

    def colorize(self, image: Image.Image, vividness: float, hints: list[Hint] = ()) -> Image.Image:
        """Colour from the API on the full-resolution `image`; raises BackendError.

        The hints, in `image`'s pixel coordinates, are moved to the small copy's.
        """
        small = grayscale(fit_within(image, max_pixels=API_MAX_PIXELS)).convert("L")
        body = self._post(to_png(small), vividness, scale_hints(list(hints), image.size, small.size))
        try:
            colour = open_image(body, max_pixels=API_MAX_PIXELS * 2).convert("RGB")
        except ImageError as exc:
            raise BackendError(f"the API answered with something that is not an image: {exc}") from exc
        if colour.size != small.size:
            raise BackendError(f"the API answered {colour.size} for a {small.size} request")
        return apply_ab(image, rgb_to_lab(np.asarray(colour))[..., 1:])

    def _post(self, png: bytes, vividness: float, hints: list[Hint]) -> bytes:
        headers = {"Content-Type": "image/png", "Accept": "image/png"}
        params = {"vividness": f"{vividness:g}"}
        if hints:
            params["hints"] = json.dumps([hint.to_json() for hint in hints], separators=(",", ":"))
        if self.api_key:
            headers["x-api-key"] = self.api_key
        with requests.Session() as session:
            session.mount("http://", HTTPAdapter(max_retries=self.retry))
            session.mount("https://", HTTPAdapter(max_retries=self.retry))
            try:
                response = session.post(self.url, data=png, params=params, headers=headers, timeout=self.timeout)
            except requests.RequestException as exc:
                raise BackendError(f"the API could not be reached: {exc}") from exc
        if response.status_code != 200:
            raise BackendError(f"the API answered HTTP {response.status_code}: {response.text[:200]!r}")
        return response.content


class Backends:
    """The configured way to colorize: the API first when there is one, then the local model."""

    def __init__(self, model: Colorizer, remote: LambdaBackend | None = None) -> None:
        self.model, self.remote = model, remote

    @property
    def name(self) -> str:
        """The backend that serves requests while everything works."""
        return self.remote.name if self.remote else "local"

    def colorize(self, image: Image.Image, vividness: float, hints: list[Hint] = ()) -> Colorized:
        """Colorize `image` at full resolution; never fails because of the API.

        Raises HintError (a 400, never a fallback) for a hint outside the picture.
        """
        check_inside(list(hints), *image.size)
        if self.remote:
            try:
                return Colorized(self.remote.colorize(image, vividness, hints), self.remote.name)
            except BackendError as exc:
                log.warning("colorization API failed, using the local model: %s", exc)
        return Colorized(self.model.colorize(image, vividness, hints), "local")
