"""Settings from the environment (and a local .env), in one place.

Everything the site needs to know about its deployment arrives as an
environment variable, as Heroku config vars do; create_app() may override any
of them with a mapping (the tests do).
"""
from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Mapping
from pathlib import Path

from colorizer.engine import default_model_path
from colorizer.imageio import DEFAULT_MAX_PIXELS

log = logging.getLogger(__name__)

MB = 1024 * 1024


def from_env(environ: Mapping[str, str] = os.environ) -> dict:
    """The app's configuration as read from `environ`; see the README's settings table."""
    return {
        "SECRET_KEY": environ.get("SECRET_KEY") or None,
        "ON_HEROKU": bool(environ.get("DYNO")),  # every Heroku dyno has DYNO=web.1 etc.
        "COLORIZER_API_URL": environ.get("COLORIZER_API_URL") or None,
        "COLORIZER_API_KEY": environ.get("COLORIZER_API_KEY") or None,
        "COLORIZER_TIMEOUT": _number(environ, "COLORIZER_TIMEOUT", 10.0),
        "COLORIZER_MODEL_PATH": Path(environ.get("COLORIZER_MODEL_PATH") or default_model_path()),
        "MAX_UPLOAD_MB": _number(environ, "MAX_UPLOAD_MB", 10.0),
        "MAX_PIXELS": int(_number(environ, "MAX_PIXELS", DEFAULT_MAX_PIXELS)),
        "PIXEL_BUDGET": int(_number(environ, "PIXEL_BUDGET", DEFAULT_MAX_PIXELS)),
        "BUDGET_WAIT_S": _number(environ, "BUDGET_WAIT_S", 5.0),
        "API_BREAKER_FAILURES": int(_number(environ, "API_BREAKER_FAILURES", 3)),
        "API_BREAKER_COOLDOWN_S": _number(environ, "API_BREAKER_COOLDOWN_S", 30.0),
    }


def derive(config: dict) -> None:
    """Fill in what follows from the settings: Flask's own limits and cookie flags."""
    config["MAX_CONTENT_LENGTH"] = int(config["MAX_UPLOAD_MB"] * MB)
    config["SESSION_COOKIE_HTTPONLY"] = True
    config["SESSION_COOKIE_SAMESITE"] = "Lax"
    config["SESSION_COOKIE_SECURE"] = config["ON_HEROKU"]  # Heroku serves the site over https
    if not config["SECRET_KEY"]:
        config["SECRET_KEY"] = _fallback_secret(config["ON_HEROKU"])


def _fallback_secret(on_heroku: bool) -> str:
    """A random key for development; on Heroku a missing key is a deployment error."""
    if on_heroku:
        raise RuntimeError(
            "SECRET_KEY is not set. On Heroku run: heroku config:set SECRET_KEY=$(python -c "
            "'import secrets; print(secrets.token_hex(32))')"
        )
    log.warning("SECRET_KEY is not set: using a random key (fine for development; forms break across restarts)")
    return secrets.token_hex(32)


def _number(environ: Mapping[str, str], name: str, default: float) -> float:
    raw = environ.get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise RuntimeError(f"{name} must be a number, got {raw!r}") from None
    if value <= 0:
        raise RuntimeError(f"{name} must be positive, got {raw!r}")
    return value
