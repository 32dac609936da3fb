"""Every failure becomes a clear answer: an HTML page with the form, or JSON under /api/.

Every refusal is a colorizer.errors.ColorizerError (image problems, bad
parameters, a stale form, a full server...) carrying its own status, code
and message, the same vocabulary as the Lambda API and the CLI; anything
unexpected is logged with its traceback and answered with a plain 500. A
visitor never sees a stack trace.
"""
from __future__ import annotations

import logging

from flask import Flask, current_app, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from colorizer.errors import ColorizerError

log = logging.getLogger(__name__)

JSON_PREFIXES = ("/api/", "/healthz")
CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 413: "too_large",
         415: "unsupported", 500: "internal"}


def error_response(status: int, code: str, message: str):
    """The error as JSON for API clients, else the upload page with the message on top."""
    if request.path.startswith(JSON_PREFIXES):
        return jsonify(error=code, detail=message), status
    return render_template("index.html", error=message), status


def _known(exc: ColorizerError):
    response = error_response(exc.status, exc.code, str(exc))
    if exc.headers:
        body, status = response
        return body, status, exc.headers
    return response


def _http(exc: HTTPException):
    status = exc.code or 500
    if status == 413:
        message = f"The file is larger than the {current_app.config['MAX_UPLOAD_MB']:g} MB limit."
    elif status == 404:
        message = "There is nothing at this address."
    else:
        message = exc.description or exc.name
    return error_response(status, CODES.get(status, exc.name.lower().replace(" ", "_")), message)


def _unexpected(exc: Exception):
    log.exception("unhandled error on %s %s", request.method, request.path)
    return error_response(500, "internal", "Something went wrong on our side. Please try again.")


def init_app(app: Flask) -> None:
    app.register_error_handler(ColorizerError, _known)
    app.register_error_handler(HTTPException, _http)
    app.register_error_handler(Exception, _unexpected)
