"""Where colour comes from: the Lambda API when configured and healthy, the local ONNX model always.

The Lambda API gets a small grayscale copy (<= 1 MP, far inside Lambda's
6 MB payload limit); its colour is put back onto the full-resolution
lightness here, so the visitor gets back every pixel they uploaded. Any
failure of the API falls back to the local model with a logged warning: the
visitor always gets an answer, and never waits for the API longer than
COLORIZER_TIMEOUT in all (connect, send and the whole body together).
After a few failures in a row a circuit breaker sends requests straight to
the local model for a while, then lets one request probe the API again.
"""
from __future__ import annotations

import functools
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import requests
from flask import Flask, current_app
from PIL import Image
from requests.adapters import HTTPAdapter

from colorizer.engine import Colorization, Colorizer, apply_ab
from colorizer.errors import ImageError
from colorizer.hints import Hint, check_inside, scale_hints
from colorizer.imageio import fit_within, open_image, to_png
from colorizer.lab import rgb_to_lab
from colorizer.png import png_length

log = logging.getLogger(__name__)

API_MAX_PIXELS = 1_000_000
API_MAX_BYTES = 8_000_000  # a 1 MP RGB PNG is at most ~3 MB even as noise; Lambda cannot send more than 6 MB
CONNECT_TIMEOUT_S = 3.05
READ_BYTES = 64 * 1024
ATTEMPTS = 2  # one retry after a refused connection or a 5xx, if the deadline leaves time for it


class BackendError(RuntimeError):
    """The remote API did not give us usable colour."""


class _Retryable(BackendError):
    """A failure worth one more try (refused connection, 5xx)."""


@dataclass(frozen=True)
class Colorized:
    colour: Colorization  # painted band by band as its PNG is made: never a second full-size image
    backend: str  # "lambda" or "local": what served it, for X-Colorizer-Backend


@functools.lru_cache(maxsize=None)
def load_model(path: Path) -> Colorizer:
    """The ONNX session for `path`, opened once per process (i.e. per gunicorn worker)."""
    return Colorizer.load(path)


def grayscale(image: Image.Image) -> Image.Image:
    """The image as the model sees it: its L* with no colour (alpha kept)."""
    return apply_ab(image, np.zeros((1, 1, 2), np.float32))


class LambdaBackend:
    """Client of the colorization API (AWS Lambda, or `python -m lambda_api.local`).

    One requests.Session per instance, i.e. per gunicorn worker: connections (and on AWS their TLS
    handshakes) are kept alive between uploads. Redirects are never followed.
    """

    name = "lambda"

    def __init__(self, url: str, api_key: str | None, timeout_s: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.url, self.api_key, self.timeout_s, self.clock = url, api_key, timeout_s, clock
        self.session = requests.Session()
        self.session.max_redirects = 0
        for prefix in ("http://", "https://"):
            self.session.mount(prefix, HTTPAdapter(max_retries=0, pool_maxsize=8))

    def colorize(self, image: Image.Image, vividness: float, hints: list[Hint] = ()) -> Colorization:
        """Colour from the API for the full-resolution `image`; raises BackendError.

        The hints, in `image`'s pixel coordinates, are moved to the small copy's.
        """
        small = grayscale(fit_within(image, max_pixels=API_MAX_PIXELS)).convert("L")
        body = self.fetch(to_png(small), vividness, scale_hints(list(hints), image.size, small.size))
        end = png_length(body)
        if end is None or end != len(body):
            raise BackendError(f"the API answered {len(body)} bytes that are not exactly one PNG")
        try:
            colour = open_image(body, max_pixels=API_MAX_PIXELS * 2).convert("RGB")
        except ImageError as exc:
            raise BackendError(f"the API answered with something that is not an image: {exc}") from exc
        if colour.size != small.size:
            raise BackendError(f"the API answered {colour.size} for a {small.size} request")
        return Colorization(image, rgb_to_lab(np.asarray(colour))[..., 1:])

    def fetch(self, png: bytes, vividness: float, hints: list[Hint] = ()) -> bytes:
        """POST `png` (and the hints, in its pixels), return the 200 body; everything within timeout_s
        from now. Raises BackendError."""
        deadline = self.clock() + self.timeout_s
        for attempt in range(ATTEMPTS):
            try:
                return self._attempt(png, vividness, hints, deadline)
            except _Retryable as exc:
                if attempt + 1 == ATTEMPTS or self.clock() >= deadline:
                    raise BackendError(str(exc)) from exc
        raise AssertionError("unreachable")

    def _attempt(self, png: bytes, vividness: float, hints: list[Hint], deadline: float) -> bytes:
        # identity: the byte cap and the PNG check apply to the bytes as sent, never to a decompressed stream
        headers = {"Content-Type": "image/png", "Accept": "image/png", "Accept-Encoding": "identity"}
        if self.api_key:
            headers["x-api-key"] = self.api_key
        params = {"vividness": f"{vividness:g}"}
        if hints:
            params["hints"] = json.dumps([hint.to_json() for hint in hints], separators=(",", ":"))
        left = deadline - self.clock()
        try:
            response = self.session.post(self.url, data=png, params=params,
                                         headers=headers, stream=True, allow_redirects=False,
                                         timeout=(min(CONNECT_TIMEOUT_S, left), left))
        except requests.ConnectionError as exc:  # refused, reset, or no connection within the connect timeout
            raise _Retryable(f"the API could not be reached: {exc}") from exc
        except requests.RequestException as exc:  # no response headers within the deadline, and the rest
            raise BackendError(f"the API did not answer in time: {exc}") from exc
        with response:
            if response.status_code >= 500:
                raise _Retryable(f"the API answered HTTP {response.status_code}")
            if response.is_redirect:
                raise BackendError(f"the API answered HTTP {response.status_code} to "
                                   f"{response.headers.get('Location')!r}; redirects are not followed")
            if response.status_code != 200:
                raise BackendError(f"the API answered HTTP {response.status_code}")
            return self._read_body(response, deadline)

    def _read_body(self, response: requests.Response, deadline: float) -> bytes:
        """The body, read as it arrives, within the deadline and API_MAX_BYTES."""
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > API_MAX_BYTES:
            raise BackendError(f"the API announced {declared} bytes, over the {API_MAX_BYTES} byte cap")
        raw, chunks, total = response.raw, [], 0
        sock = getattr(raw.connection, "sock", None)
        pooled_timeout = sock.gettimeout() if sock is not None else None
        try:
            while True:
                left = deadline - self.clock()
                if left <= 0:
                    raise BackendError(f"the API's answer took longer than {self.timeout_s:g} s in all")
                if sock is not None:
                    sock.settimeout(left)  # each read waits at most what is left of the deadline
                chunk = raw.read1(READ_BYTES)
                if not chunk:
                    break
                total += len(chunk)
                if total > API_MAX_BYTES:
                    raise BackendError(f"the API's answer is over the {API_MAX_BYTES} byte cap")
                chunks.append(chunk)
        except BackendError:
            raise
        except Exception as exc:  # socket timeout, reset, urllib3's ProtocolError (fewer bytes than announced)
            raise BackendError(f"the API's answer broke off or stalled: {exc}") from exc
        finally:
            if sock is not None and sock.fileno() != -1:
                sock.settimeout(pooled_timeout)  # the connection goes back to the pool as we found it
        return b"".join(chunks)


class CircuitBreaker:
    """After `threshold` API failures in a row, skip the API for `cooldown_s`; then one request probes it."""

    def __init__(self, threshold: int = 3, cooldown_s: float = 30.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.threshold, self.cooldown_s, self.clock = threshold, cooldown_s, clock
        self.failures = 0
        self.failing_since: float | None = None  # wall clock, for /healthz
        self.opened_at: float | None = None
        self.probing = False
        self._lock = threading.Lock()

    def allow(self) -> bool:
        """Whether this request may try the API."""
        with self._lock:
            if self.opened_at is None:
                return True
            if self.probing or self.clock() - self.opened_at < self.cooldown_s:
                return False
            self.probing = True  # half-open: this request is the probe
            return True

    def succeeded(self) -> None:
        with self._lock:
            self.failures, self.failing_since, self.opened_at, self.probing = 0, None, None, False

    def failed(self) -> None:
        with self._lock:
            self.failures += 1
            if self.failing_since is None:
                self.failing_since = time.time()
            if self.probing or self.failures >= self.threshold:
                self.opened_at, self.probing = self.clock(), False

    def describe(self) -> dict:
        """{"state": "ok" | "failing" | "open", ...}: what /healthz reports."""
        with self._lock:
            if self.failing_since is None:
                return {"state": "ok"}
            state = {"state": "open" if self.opened_at is not None else "failing",
                     "consecutive_failures": self.failures,
                     "failing_since": datetime.fromtimestamp(self.failing_since, timezone.utc).isoformat()}
            if self.opened_at is not None:
                state["retry_in_s"] = max(0.0, round(self.cooldown_s - (self.clock() - self.opened_at), 1))
            return state


class Backends:
    """The configured way to colorize: the API first when there is one and it is healthy, then the local model."""

    def __init__(self, model: Colorizer, remote: LambdaBackend | None = None,
                 breaker: CircuitBreaker | None = None) -> None:
        self.model, self.remote = model, remote
        self.breaker = breaker or CircuitBreaker()

    @property
    def name(self) -> str:
        """The configured backend: the one that serves requests while everything works."""
        return self.remote.name if self.remote else "local"

    def describe(self) -> dict:
        """The configured backend and, for the API, its state: for /healthz."""
        if not self.remote:
            return {"backend": "local"}
        return {"backend": self.remote.name, "api": self.breaker.describe()}

    def colorize(self, image: Image.Image, vividness: float, hints: list[Hint] = ()) -> Colorized:
        """Colorize `image` at full resolution; never fails because of the API.

        The result is painted only as it is encoded (Colorization.to_png): a 50 MP upload needs
        no full-size image in memory but its own. Raises HintError (a 400, never a fallback)
        for a hint outside the picture.
        """
        check_inside(list(hints), *image.size)
        if self.remote and self.breaker.allow():
            try:
                result = Colorized(self.remote.colorize(image, vividness, hints), self.remote.name)
            except BackendError as exc:
                self.breaker.failed()
                log.warning("colorization API failed, using the local model: %s", exc)
            except BaseException:
                self.breaker.failed()  # never leave a half-open breaker waiting for a probe that died
                raise
            else:
                self.breaker.succeeded()
                return result
        return Colorized(self.model.colorization(image, vividness, hints), "local")


def init_app(app: Flask) -> Backends:
    """This worker's Backends from app.config: the local model, and the Lambda API when COLORIZER_API_URL is set."""
    config = app.config
    remote = None
    if config["COLORIZER_API_URL"]:
        remote = LambdaBackend(config["COLORIZER_API_URL"], config["COLORIZER_API_KEY"], config["COLORIZER_TIMEOUT"])
    breaker = CircuitBreaker(config["API_BREAKER_FAILURES"], config["API_BREAKER_COOLDOWN_S"])
    backends = app.extensions["backends"] = Backends(load_model(Path(config["COLORIZER_MODEL_PATH"])), remote, breaker)
    return backends


def current_backends() -> Backends:
    """The current app's Backends (made by init_app)."""
    return current_app.extensions["backends"]
