"""One error vocabulary for every surface: the website, the Lambda API and the command line.

Each failure a client can cause is a ColorizerError with an HTTP `status`
and a short machine-readable `code`; its message is written for a person.
The site and the Lambda handler answer `{"error": code, "detail": message}`
with that status, the CLI prints the message: the same failure has the same
code everywhere. The README's "Error codes" table lists them all.

A subclass names its own `code` (and `status`) as class attributes; an
instance may override both, e.g. `ColorizerError("...", code="csrf")`.
"""
from __future__ import annotations

import math

MAX_VIVIDNESS = 2.0  # the engine, the site and the Lambda API all read it from here


class ColorizerError(ValueError):
    """A request or an input we refuse: `status` is the HTTP status, `code` its short name."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.headers = dict(headers or {})


class BadParameter(ColorizerError):
    """A parameter outside what we accept (vividness, max_side, hints...)."""

    code = "bad_parameter"


class MissingImage(ColorizerError):
    """The request carries no image at all."""

    code = "missing_image"


class Busy(ColorizerError):
    """The server is at its memory budget: try again shortly (503 with Retry-After)."""

    status = 503
    code = "busy"


# --- image intake (colorizer.imageio re-exports these) -------------------------------------
class ImageError(ColorizerError):
    """An upload we cannot colorize."""

    code = "bad_image"


class EmptyImage(ImageError):
    code = "empty"


class NotAnImage(ImageError):
    code = "not_an_image"


class TruncatedImage(ImageError):
    code = "truncated"


class ImageTooLarge(ImageError):
    status = 413
    code = "too_large"


class UnsupportedImage(ImageError):
    status = 415
    code = "unsupported"


def parse_vividness(raw: str | float | None) -> float:
    """0 (grey) .. MAX_VIVIDNESS (twice the model's colour); None or "" gives 1. Raises BadParameter."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return 1.0
    try:
        value = float(raw)
    except (TypeError, ValueError):
        value = math.nan
    if not 0.0 <= value <= MAX_VIVIDNESS:  # also refuses nan
        raise BadParameter(f"vividness must be a number from 0 to {MAX_VIVIDNESS:g}.")
    return value
