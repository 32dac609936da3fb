"""Security headers on every response, and the upload form's CSRF token.

The token lives in the signed session cookie and in a hidden form field; a
POST without a matching pair is refused. The JSON API never touches the
session, so it sets no cookie and needs no token.
"""
from __future__ import annotations

import hmac
import secrets

from flask import Flask, Response, request, session

from colorizer.errors import ColorizerError

CSP = "; ".join([
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "connect-src 'self'",
    "form-action 'self'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
])
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def csrf_token() -> str:
    """The session's form token, created on first use (exposed to templates)."""
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def check_csrf() -> None:
    """Refuse a form POST whose token does not match the session's."""
    sent, expected = request.form.get("csrf_token", ""), session.get("csrf", "")
    if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise ColorizerError("The form had expired (or your browser blocks cookies). Please try again.",
                           code="csrf")


HSTS = "max-age=31536000"  # one year; Heroku's router serves every *.herokuapp.com site over https


def add_headers(response: Response) -> Response:
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def add_hsts(response: Response) -> Response:
    response.headers.setdefault("Strict-Transport-Security", HSTS)
    return response


def init_app(app: Flask) -> None:
    app.after_request(add_headers)
    if app.config["ON_HEROKU"]:  # never on plain-http local runs: browsers would remember it for localhost
        app.after_request(add_hsts)
    app.jinja_env.globals["csrf_token"] = csrf_token
