"""The site in Debian's Chromium (Playwright): what a visitor does, on a desktop and on a phone.

Screenshots go to tests/artifacts/ (ignored by git) for a human to look at.
"""
from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest
from PIL import Image
from werkzeug.serving import make_server

from tests.conftest import ROOT, chroma, photo_bytes

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = ROOT / "tests" / "artifacts"
VIEWPORTS = {"desktop": {"viewport": {"width": 1280, "height": 800}},
             "phone": {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2,
                       "is_mobile": True, "has_touch": True}}

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).is_file(),
                                reason=f"Chromium not found at {CHROMIUM} (apt-get install chromium chromium-driver)")


@pytest.fixture(scope="module")
def site():
    """The website on a real socket, served from a thread."""
    from app import create_app

    app = create_app({"TESTING": True, "SECRET_KEY": "browser-test", "COLORIZER_API_URL": None,
                      "MAX_UPLOAD_MB": 10})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture(params=list(VIEWPORTS))
def page(request, browser):
    """A fresh tab at the viewport's size; fails the test on any console error (CSP violations included)."""
    context = browser.new_context(accept_downloads=True, **VIEWPORTS[request.param])
    tab = context.new_page()
    errors: list[str] = []
    tab.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.viewport_name = request.param
    tab.expected_errors = ()
    yield tab
    context.close()
    assert [e for e in errors if not any(expected in e for expected in tab.expected_errors)] == []


def shoot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"{page.viewport_name}-{name}.png", full_page=True)


@pytest.fixture
def upload(tmp_path) -> Path:
    """A grayscale harbour scene, upscaled to a photo's size."""
    path = tmp_path / "Grandpa's harbour.jpg"
    Image.open(ROOT / "static" / "samples" / "harbour-photo.jpg").resize((1200, 900)).save(path, quality=90)
    return path


def test_upload_colorize_compare_download(site, page, upload, tmp_path):
    page.goto(site)
    shoot(page, "upload")
    assert page.locator("#submit").is_visible()
    assert "up to 10 MB" in page.locator(".hint").inner_text()

    page.set_input_files("#image", upload)
    page.wait_for_function("document.getElementById('preview').naturalWidth > 0")
    assert "Grandpa's harbour.jpg" in page.locator("#file-info").inner_text()
    page.locator("#vividness").fill("1.4")
    assert page.locator("#vividness-value").inner_text() == "1.4"
    shoot(page, "chosen")

    with page.expect_navigation():
        page.click("#submit")
    gray, colour = page.locator("#gray"), page.locator("#colour")
    page.wait_for_function("document.getElementById('colour').complete && document.getElementById('gray').complete")
    g, c = gray.bounding_box(), colour.bounding_box()
    assert g["width"] == pytest.approx(c["width"], abs=1) and g["height"] == pytest.approx(c["height"], abs=1)
    assert g["y"] == pytest.approx(c["y"], abs=1) and g["x"] + g["width"] <= c["x"]  # side by side
    assert g["width"] > 100
    assert page.locator("#compare").is_visible()  # the before/after slider (needs the script)
    shoot(page, "result")

    with page.expect_download() as info:
        page.click("#download")
    download = info.value
    assert download.suggested_filename == "Grandpa_s_harbour-colorized.png"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    result = Image.open(saved)
    assert result.format == "PNG" and result.size == (1200, 900)
    assert chroma(result) > 0.5


def test_drop_and_paste_fill_the_picker(site, page):
    page.goto(site)
    data = list(photo_bytes((320, 240), fmt="PNG"))
    for event in ("drop", "paste"):
        page.evaluate("""([bytes, event]) => {
            const file = new File([new Uint8Array(bytes)], event + ".png", {type: "image/png"});
            const transfer = new DataTransfer();
            transfer.items.add(file);
            const target = event === "drop" ? document.getElementById("drop") : document;
            const init = {bubbles: true, cancelable: true};
            target.dispatchEvent(event === "drop" ? new DragEvent("drop", {...init, dataTransfer: transfer})
                                                  : new ClipboardEvent("paste", {...init, clipboardData: transfer}));
        }""", [data, event])
        assert page.evaluate("document.getElementById('image').files[0].name") == f"{event}.png"
        page.wait_for_function("document.getElementById('preview').naturalWidth === 320")
    with page.expect_navigation():
        page.click("#submit")
    assert page.locator("#colour").is_visible()


def test_too_large_file_is_caught_before_upload(site, page, tmp_path):
    big = tmp_path / "huge.jpg"
    big.write_bytes(b"\xff\xd8" + os.urandom(11 * 1024 * 1024))
    page.goto(site)
    page.set_input_files("#image", big)
    assert "the limit is 10 MB" in page.locator("#client-error").inner_text()
    page.click("#submit")
    assert page.url.rstrip("/") == site  # no request was sent
    shoot(page, "too-large")


def test_busy_indicator_while_colorizing(site, page):
    held = []
    page.route("**/colorize", lambda route: held.append(route))
    page.goto(site)
    # Click and look in one step: Playwright's own actions would wait for the held navigation.
    busy, disabled = page.evaluate("""() => {
        document.querySelector(".sample-button").click();
        return [!document.getElementById("busy").hidden, document.getElementById("submit").disabled];
    }""")
    assert busy and disabled
    while not held:  # let Playwright deliver the intercepted request to our handler
        page.wait_for_timeout(50)
    with page.expect_navigation():
        held[0].continue_()
    assert page.locator("#colour").is_visible()


def test_server_error_page_shows_the_form_again(site, page, tmp_path):
    text = tmp_path / "notes.png"
    text.write_bytes(b"this is not a picture at all")
    page.expected_errors = ("status of 400",)  # Chromium logs the page's HTTP status
    page.goto(site)
    page.set_input_files("#image", text)
    with page.expect_navigation():
        page.click("#submit")
    assert "not an image" in page.locator("#error").inner_text()
    assert page.locator("#image").count() == 1
    shoot(page, "error")
