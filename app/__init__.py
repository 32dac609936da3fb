"""The colorizer website (Flask): one page (upload, result, batch) and the JSON API it uses.

create_app() reads the settings from the environment (and from .env for local
runs), loads the ONNX model once for this process and registers the two
blueprints. gunicorn calls it once per worker: `gunicorn 'app:create_app()'`.
Nothing is kept between requests, so any number of workers and dynos serve alike.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

from dotenv import load_dotenv
from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from app import api, backends, budget, errors, pages, samples, security, settings
from app.uploads import InMemoryRequest

ROOT = Path(__file__).resolve().parent.parent
DOTENV = ROOT / ".env"  # local settings; Heroku and heroku local set the environment themselves


def create_app(config: Mapping | None = None) -> Flask:
    """Build the app; `config` overrides the environment's settings (tests use it)."""
    _log_to_stderr()
    budget.return_freed_memory_to_the_system()  # before the model and any image is allocated
    load_dotenv(DOTENV)  # never overrides variables already set
    app = Flask(__name__, static_folder=str(ROOT / "static"), template_folder=str(ROOT / "templates"))
    app.request_class = InMemoryRequest
    app.config.update(settings.from_env())
    app.config.update(config or {})
    settings.derive(app.config)
    if app.config["ON_HEROKU"]:  # the router terminates TLS and says so in X-Forwarded-Proto
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1)

    colorizers = backends.init_app(app)
    samples.init_app(app, ROOT / "static" / "samples")
    budget.init_app(app)
    security.init_app(app)
    errors.init_app(app)
    app.register_blueprint(pages.bp)
    app.register_blueprint(api.bp)
    app.logger.info("colorizer site ready: backend=%s model=%s", colorizers.name, colorizers.model.path)
    return app


def _log_to_stderr() -> None:
    """Send the app's warnings (e.g. an API fallback) to stderr, where gunicorn and Heroku collect them."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
