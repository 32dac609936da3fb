"""The whole system as Heroku and `heroku local` run it: gunicorn with the Procfile's
command, and the Lambda emulator, as real processes talking HTTP."""
from __future__ import annotations

import base64
import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import requests
from PIL import Image

from colorizer.lab import rgb_to_lab
from tests.conftest import ROOT, chroma, photo_bytes

STARTUP_S = 90  # generous: CI machines are slow and share their two cores


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def procfile_command(name: str, procfile: Path = ROOT / "Procfile") -> str:
    """The command of process type `name`, as Heroku reads it."""
    for line in procfile.read_text().splitlines():
        kind, _, command = line.partition(":")
        if kind.strip() == name:
            return command.strip()
    raise AssertionError(f"no {name}: line in {procfile}")


def start(command: str, env: dict, log: Path) -> subprocess.Popen:
    """Run `command` through bash, as Heroku does, in its own process group."""
    bin_dir = str(Path(sys.executable).parent)  # the venv's gunicorn and python
    env = {**os.environ, **env, "PATH": bin_dir + os.pathsep + os.environ["PATH"], "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(["bash", "-c", command], cwd=ROOT, env=env, stdout=log.open("wb"),
                            stderr=subprocess.STDOUT, start_new_session=True)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def wait_for(url: str, process: subprocess.Popen, log: Path, method: str = "GET") -> None:
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"process exited with {process.returncode}:\n{log.read_text()}")
        try:
            requests.request(method, url, timeout=2)
            return
        except (requests.ConnectionError, requests.Timeout):  # not listening yet, or busy loading the model
            time.sleep(0.2)
    raise AssertionError(f"{url} did not come up in {STARTUP_S} s:\n{log.read_text()}")


@pytest.fixture
def system(tmp_path, request):
    """The emulator and the website, wired together as in Procfile.dev.

    Parametrize indirectly with the number of gunicorn workers (default 1, as app.json deploys).
    """
    workers = getattr(request, "param", 1)
    api_port, web_port = free_port(), free_port()
    api_log, web_log = tmp_path / "lambda.log", tmp_path / "web.log"
    shared = {"COLORIZER_API_KEY": "integration-key", "COLORIZER_MODEL_PATH": ""}  # the handler checks the key
    api = start(f"python -m lambda_api.local --port {api_port}", shared, api_log)
    web = start(procfile_command("web"), {
        "PORT": str(web_port), "WEB_CONCURRENCY": str(workers), "SECRET_KEY": "integration-secret",
        "COLORIZER_API_URL": f"http://127.0.0.1:{api_port}/colorize", "COLORIZER_TIMEOUT": "20", "DYNO": "",
        **shared,
    }, web_log)
    try:
        wait_for(f"http://127.0.0.1:{api_port}/colorize", api, api_log)
        wait_for(f"http://127.0.0.1:{web_port}/healthz", web, web_log)
        yield {"url": f"http://127.0.0.1:{web_port}", "api": api, "web_log": web_log, "api_log": api_log}
    finally:
        stop(web)
        stop(api)


def api_colorize(url: str, upload: bytes) -> requests.Response:
    return requests.post(f"{url}/api/colorize", files={"image": ("photo.jpg", upload, "image/jpeg")}, timeout=60)


def test_procfile_binds_port_and_bounds_time():
    web = procfile_command("web")
    assert web.startswith("gunicorn 'app:create_app()'")
    assert "--bind 0.0.0.0:$PORT" in web and "--workers ${WEB_CONCURRENCY:-1}" in web
    timeout = int(re.search(r"--timeout (\d+)", web).group(1))
    assert timeout < 30  # Heroku's router gives up at 30 s
    assert "--preload" not in web  # the model is loaded in each worker, not shared across a fork
    dev = {name: procfile_command(name, ROOT / "Procfile.dev") for name in ("web", "lambda")}
    assert dev["lambda"] == "python -m lambda_api.local --port 9000"
    assert "http://127.0.0.1:9000/colorize" in dev["web"]


@pytest.mark.parametrize("system", [2], indirect=True)
def test_through_the_lambda_api_then_without_it(system):
    url = system["url"]
    deadline = time.monotonic() + STARTUP_S  # the second worker may still be loading its model
    while system["web_log"].read_text().count("colorizer site ready") < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    log = system["web_log"].read_text()
    assert log.count("Booting worker") == 2 == log.count("colorizer site ready")  # one model per worker
    assert requests.get(f"{url}/healthz", timeout=10).json()["backend"] == "lambda"
    upload = photo_bytes((1600, 1200))

    response = api_colorize(url, upload)
    assert response.status_code == 200, response.text
    assert response.headers["X-Colorizer-Backend"] == "lambda"
    assert "Set-Cookie" not in response.headers
    result = Image.open(io.BytesIO(response.content))
    assert result.size == (1600, 1200) and chroma(result) > 0.5
    assert '"status": 200' in system["api_log"].read_text()  # the emulator really served it

    stop(system["api"])
    response = api_colorize(url, upload)
    assert response.status_code == 200
    assert response.headers["X-Colorizer-Backend"] == "local"
    assert Image.open(io.BytesIO(response.content)).size == (1600, 1200)
    assert "using the local model" in system["web_log"].read_text()


def form_colorize(browser: requests.Session, url: str, name: str, upload: bytes) -> requests.Response:
    token = re.search(r'name="csrf_token" value="([^"]+)"', browser.get(url, timeout=10).text).group(1)
    return browser.post(f"{url}/colorize", data={"csrf_token": token, "vividness": "1"},
                        files={"image": (name, upload, "image/jpeg")}, timeout=60)


def page_download(page: requests.Response) -> tuple[str, Image.Image]:
    """The result page's download: (file name, the PNG carried in its data: URL)."""
    match = re.search(r'id="download" href="data:image/png;base64,([^"]+)" download="([^"]+)"', page.text)
    return match.group(2), Image.open(io.BytesIO(base64.b64decode(match.group(1))))


def test_form_result_and_download_through_gunicorn(system):
    url = system["url"]
    with requests.Session() as browser:
        page = form_colorize(browser, url, "Old photo.jpg", photo_bytes((800, 600)))
    assert page.status_code == 200 and page.headers["X-Colorizer-Backend"] == "lambda"
    name, image = page_download(page)
    assert name == "Old_photo-colorized.png" and image.size == (800, 600)


def test_hints_travel_through_the_site_and_the_lambda_api(system):
    upload = photo_bytes((1600, 1200), "JPEG", "L")
    hints = json.dumps([{"x": 1200, "y": 900, "color": "#e01010"}])
    response = requests.post(f"{system['url']}/api/colorize", data={"hints": hints},
                             files={"image": ("photo.jpg", upload, "image/jpeg")}, timeout=60)
    assert response.status_code == 200 and response.headers["X-Colorizer-Backend"] == "lambda"
    result = np.asarray(Image.open(io.BytesIO(response.content)).convert("RGB"))
    assert rgb_to_lab(result)[900, 1200, 1] > 20  # red where the hint is
    assert '"hints": 1' in system["api_log"].read_text()
    bad = requests.post(f"{system['url']}/api/colorize", data={"hints": '[{"x": 1600, "y": 0, "color": "#ffffff"}]'},
                        files={"image": ("photo.jpg", upload, "image/jpeg")}, timeout=60)
    assert bad.status_code == 400 and bad.json()["error"] == "bad_hints"


@pytest.mark.parametrize("system", [3], indirect=True)
def test_three_workers_serve_every_result_without_affinity(system):
    """Nothing is kept between requests: any worker serves any request, and every download works."""
    url = system["url"]
    deadline = time.monotonic() + STARTUP_S
    while system["web_log"].read_text().count("colorizer site ready") < 3 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert system["web_log"].read_text().count("colorizer site ready") == 3
    sizes = [(320 + 16 * i, 240 + 8 * i) for i in range(9)]

    def one(i: int) -> tuple[int, tuple[int, int]]:
        upload = photo_bytes(sizes[i])
        with requests.Session() as browser:  # a new visitor each time: no affinity of any kind
            if i % 3 == 0:  # the form without JavaScript: the result page carries the PNG
                page = form_colorize(browser, url, f"photo {i}.jpg", upload)
                assert page.status_code == 200, page.text[:300]
                return i, page_download(page)[1].size
            response = browser.post(f"{url}/api/colorize", files={"image": (f"p{i}.jpg", upload, "image/jpeg")},
                                    timeout=60)  # what the page's script does
            assert response.status_code == 200, response.text
            return i, Image.open(io.BytesIO(response.content)).size

    with ThreadPoolExecutor(max_workers=3) as pool:
        results = dict(pool.map(one, range(len(sizes))))
    assert results == dict(enumerate(sizes))
    assert "Traceback" not in system["web_log"].read_text()
