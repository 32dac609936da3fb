"""The app factory and its settings: environment, .env, secrets, limits, model path."""
from __future__ import annotations

import logging

import pytest

from app import create_app, settings


def test_settings_come_from_the_environment(make_web_app, monkeypatch, tmp_path):
    model = tmp_path / "model.onnx"
    model.write_bytes((settings.default_model_path()).read_bytes())
    for name, value in {"COLORIZER_API_URL": "http://api.example/colorize", "COLORIZER_API_KEY": "k3y",
                        "COLORIZER_TIMEOUT": "4.5", "MAX_UPLOAD_MB": "3", "COLORIZER_MODEL_PATH": str(model),
                        "MAX_PIXELS": "2000000"}.items():
        monkeypatch.setenv(name, value)
    app = create_app({"TESTING": True})
    config = app.config
    assert config["COLORIZER_API_URL"] == "http://api.example/colorize" and config["COLORIZER_API_KEY"] == "k3y"
    assert config["COLORIZER_TIMEOUT"] == 4.5
    assert config["MAX_CONTENT_LENGTH"] == 3 * 1024 * 1024
    assert config["MAX_PIXELS"] == 2_000_000
    assert app.extensions["backends"].model.path == model
    assert app.extensions["backends"].remote.timeout_s == 4.5


def test_defaults(web_app):
    assert web_app.config["MAX_UPLOAD_MB"] == 10
    assert web_app.config["MAX_CONTENT_LENGTH"] == 10 * 1024 * 1024
    assert web_app.config["MAX_PIXELS"] == 50_000_000
    assert web_app.config["COLORIZER_API_URL"] is None
    assert web_app.extensions["backends"].name == "local"


def test_dotenv_fills_in_unset_variables(make_web_app, monkeypatch, tmp_path):
    import app as app_module

    (tmp_path / ".env").write_text("MAX_UPLOAD_MB=7\nCOLORIZER_API_KEY=from-dotenv\n")
    monkeypatch.setattr(app_module, "DOTENV", tmp_path / ".env")
    monkeypatch.delenv("MAX_UPLOAD_MB")
    monkeypatch.setenv("COLORIZER_API_KEY", "from-environment")  # the real environment wins
    app = create_app({"TESTING": True})
    assert app.config["MAX_UPLOAD_MB"] == 7
    assert app.config["COLORIZER_API_KEY"] == "from-environment"


@pytest.mark.parametrize("name, value", [("MAX_UPLOAD_MB", "ten"), ("COLORIZER_TIMEOUT", "-1")])
def test_bad_numbers_stop_the_start(make_web_app, monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(RuntimeError, match=name):
        create_app({"TESTING": True})


def test_on_heroku_a_missing_secret_key_refuses_to_start(make_web_app, monkeypatch):
    monkeypatch.setenv("DYNO", "web.1")
    with pytest.raises(RuntimeError, match="SECRET_KEY is not set"):
        create_app()


def test_in_development_a_random_secret_key_is_used_with_a_warning(make_web_app, caplog):
    with caplog.at_level(logging.WARNING):
        first, second = create_app(), create_app()
    assert len(first.config["SECRET_KEY"]) >= 32 and first.config["SECRET_KEY"] != second.config["SECRET_KEY"]
    assert "SECRET_KEY is not set" in caplog.text


def test_secret_key_from_the_environment(make_web_app, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "s3cret-from-env")
    monkeypatch.setenv("DYNO", "web.1")
    app = create_app()
    assert app.config["SECRET_KEY"] == "s3cret-from-env"
    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_on_heroku_https_from_the_router_is_honoured(make_web_app, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "x" * 32)
    monkeypatch.setenv("DYNO", "web.1")
    page = create_app().test_client().get("/", headers={"X-Forwarded-Proto": "https"})
    assert "https://localhost/api/colorize" in page.text
    assert "Secure" in page.headers["Set-Cookie"]


def test_missing_model_stops_the_start_with_a_clear_message(make_web_app, tmp_path):
    with pytest.raises(FileNotFoundError, match="COLORIZER_MODEL_PATH"):
        make_web_app(COLORIZER_MODEL_PATH=tmp_path / "missing.onnx")


def test_model_is_loaded_once_per_process(make_web_app):
    assert make_web_app().extensions["backends"].model is make_web_app().extensions["backends"].model
