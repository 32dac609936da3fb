"""The site in Debian's Chromium (Playwright): what a visitor does, on a desktop and on a phone.

Every page state is checked with axe-core (vendored in tests/vendor/axe-core) for serious or
critical accessibility violations. Screenshots go to tests/artifacts/ (ignored by git) for a
human to look at.
"""
from __future__ import annotations

import io
import json
import os
import shutil
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from werkzeug.serving import make_server

from colorizer.lab import rgb_to_lab
from tests.conftest import ROOT, chroma, photo_bytes

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = ROOT / "tests" / "artifacts"
AXE = (ROOT / "tests" / "vendor" / "axe-core" / "axe.min.js").read_text(encoding="utf-8")
VIEWPORTS = {"desktop": {"viewport": {"width": 1280, "height": 800}},
             "phone": {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2,
                       "is_mobile": True, "has_touch": True}}
RESULT_SHOWN = "document.getElementById('colour').complete && document.getElementById('colour').naturalWidth > 0"

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


def new_tab(browser, viewport: str, **options):
    context = browser.new_context(accept_downloads=True, **VIEWPORTS[viewport], **options)
    tab = context.new_page()
    tab.errors = []
    tab.on("console", lambda message: tab.errors.append(message.text) if message.type == "error" else None)
    tab.on("pageerror", lambda exc: tab.errors.append(str(exc)))
    tab.viewport_name = viewport
    tab.expected_errors = ()
    tab.posts = []
    tab.on("request", lambda r: tab.posts.append(r.url) if r.method == "POST" else None)
    return tab


@pytest.fixture(params=list(VIEWPORTS))
def page(request, browser):
    """A fresh tab at the viewport's size; fails the test on any console error (CSP violations included)."""
    tab = new_tab(browser, request.param)
    yield tab
    tab.context.close()
    assert [e for e in tab.errors if not any(expected in e for expected in tab.expected_errors)] == []


def shoot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"{page.viewport_name}-{name}.png", full_page=True)


def check_accessibility(page, what: str) -> None:
    """axe-core on the page as it is now: no serious or critical violation (WCAG A/AA and best practice)."""
    if not page.evaluate("typeof axe !== 'undefined'"):
        page.evaluate(AXE)  # through the DevTools protocol, which the page's CSP does not govern
    violations = page.evaluate("""() => axe.run(document, {resultTypes: ["violations"]}).then(r =>
        r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                               nodes: v.nodes.slice(0, 4).map(n => n.target.join(" "))})))""")
    serious = [v for v in violations if v["impact"] in ("serious", "critical")]
    assert serious == [], f"{what}: {json.dumps(serious, indent=1)}"


def save_download(page, tmp_path: Path, click) -> tuple[str, Path]:
    with page.expect_download() as info:
        click()
    download = info.value
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    return download.suggested_filename, path


def lab_at(path: Path, x: int, y: int) -> np.ndarray:
    return rgb_to_lab(np.asarray(Image.open(path).convert("RGB")))[y, x]


@pytest.fixture
def upload(tmp_path) -> Path:
    """A real grayscale photograph (a sample), upscaled to 1.08 MP."""
    path = tmp_path / "Grandpa's boats.jpg"
    Image.open(ROOT / "static" / "samples" / "evening-glow.jpg").resize((1200, 750)).save(path, quality=90)
    return path


def colorize_upload(page, site, upload) -> None:
    page.goto(site)
    page.set_input_files("#image", upload)
    page.wait_for_function("() => document.getElementById('preview').naturalWidth > 0")
    page.click("#submit")
    page.wait_for_function(f"() => {RESULT_SHOWN}")


def test_upload_progress_result_and_download(site, page, upload, tmp_path):
    page.goto(site)
    assert page.locator("h1").count() == 1
    check_accessibility(page, "home")
    shoot(page, "upload")
    assert "up to 10 MB" in page.locator(".hint").inner_text()

    page.set_input_files("#image", upload)
    page.wait_for_function("() => document.getElementById('preview').naturalWidth > 0")
    assert "Grandpa's boats.jpg" in page.locator("#file-info").inner_text()
    page.locator("#vividness").fill("1.4")
    assert page.locator("#vividness-value").inner_text() == "1.4"
    shoot(page, "chosen")

    page.click("#submit")
    page.wait_for_function(f"() => {RESULT_SHOWN}")
    assert page.url.rstrip("/") == site  # no navigation: the result is the API's answer, shown from a blob URL
    assert page.posts == [f"{site}/api/colorize"]
    assert page.evaluate("document.getElementById('colour').src").startswith("blob:")
    assert page.evaluate("document.activeElement.id") == "result-title"
    assert page.title() == "Colorized: Grandpa_s_boats-colorized.png — Colorize"
    assert page.locator("#tune-vividness").input_value() == "1.4"
    gray, colour = page.locator("#gray").bounding_box(), page.locator("#colour").bounding_box()
    assert gray["width"] == pytest.approx(colour["width"], abs=1) and gray["y"] == pytest.approx(colour["y"], abs=1)
    assert gray["x"] + gray["width"] <= colour["x"]  # side by side
    assert page.locator("#compare").is_visible()
    check_accessibility(page, "result")
    shoot(page, "result")

    name, saved = save_download(page, tmp_path, lambda: page.click("#download"))
    assert name == "Grandpa_s_boats-colorized.png"
    result = Image.open(saved)
    assert result.format == "PNG" and result.size == (1200, 750)
    assert chroma(result) > 0.5


def test_small_pictures_are_never_upscaled(site, page, tmp_path):
    small = tmp_path / "small.png"
    small.write_bytes(photo_bytes((160, 120), "PNG", "L"))
    colorize_upload(page, site, small)
    for element in ("gray", "colour"):
        box = page.locator(f"#{element}").bounding_box()
        assert box["width"] <= 160.5 and box["height"] <= 120.5, (element, box)
    assert page.locator("#compare-after").bounding_box()["width"] <= 160.5


def retuned(page, action) -> None:
    """Do `action` on the result view and wait for the new result it asks for."""
    before = page.evaluate("() => document.getElementById('colour').src")
    action()
    page.wait_for_function(f"() => document.getElementById('colour').src !== {json.dumps(before)} && ({RESULT_SHOWN})"
                           " && document.getElementById('retune-status').textContent.startsWith('Updated')")


def hint_positions(page) -> list[tuple[int, int]]:
    """The hints as the page lists them ("Hint 1 at X, Y")."""
    labels = page.evaluate("() => Array.from(document.querySelectorAll('#hint-list label')).map(l => l.textContent)")
    return [tuple(int(v) for v in label.split(" at ")[1].split(", ")) for label in labels]


def test_hints_pins_and_retuning_in_place(site, page, upload, tmp_path):
    colorize_upload(page, site, upload)
    posts = len(page.posts)
    image = page.locator("#colour")
    box = image.bounding_box()
    # A blue hint on the pier's water, at 25 % x 80 % of the picture.
    page.locator("#hint-colour").fill("#1e5bd8")
    retuned(page, lambda: image.click(position={"x": box["width"] * 0.25, "y": box["height"] * 0.8}))
    assert page.locator(".pin").count() == 1 and len(page.posts) == posts + 1  # the same file, sent again
    (x, y), = hint_positions(page)
    assert abs(x - 300) <= 3 and abs(y - 600) <= 3  # where the click was, in the upload's pixels
    shoot(page, "hint")
    _, saved = save_download(page, tmp_path, lambda: page.click("#download"))
    assert lab_at(saved, x, y)[2] < -20  # b* strongly negative: blue where the pin is

    # Drag the pin to the top left quarter; the result follows.
    page.locator(".pin").scroll_into_view_if_needed()
    box, pin = image.bounding_box(), page.locator(".pin").bounding_box()
    page.mouse.move(pin["x"] + pin["width"] / 2, pin["y"] + pin["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.3, steps=5)
    retuned(page, page.mouse.up)
    (x, y), = hint_positions(page)
    assert abs(x - 600) <= 3 and abs(y - 225) <= 3

    # Vividness 0 in place: grey, without choosing the file again; then the pin goes.
    retuned(page, lambda: page.locator("#tune-vividness").fill("0"))
    _, saved = save_download(page, tmp_path, lambda: page.click("#download"))
    assert chroma(Image.open(saved)) < 0.5
    page.locator(".pin").focus()
    page.keyboard.press("Delete")
    assert page.locator(".pin").count() == 0
    assert page.evaluate("document.activeElement.id") == "add-hint"


def tab_to(page, selector: str, limit: int = 60) -> None:
    """Press Tab until `selector` has the focus, checking that every stop on the way shows it."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        visible = page.evaluate("""() => {
            const el = document.activeElement;
            const ring = e => {
                const s = getComputedStyle(e);
                return s.outlineStyle !== "none" && parseFloat(s.outlineWidth) >= 2;
            };
            const seen = getComputedStyle(el).opacity !== "0";
            // Two controls are drawn by their container: the file input (the drop zone) and the compare slider.
            return (ring(el) && seen) || (el.id === "image" && ring(document.getElementById("drop")))
                || (el.id === "compare-range" && ring(document.getElementById("compare-frame")));
        }""")
        assert visible, page.evaluate("document.activeElement.outerHTML.slice(0, 200)")
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{selector} not reached with Tab")


def choose_file_with_keyboard(page):
    """Space on the focused file input opens the chooser; Chromium now and then drops the first key
    event of a freshly focused input under load (a full `.ci/run` on 2 cores once lost two in a row,
    5 s apart), so up to three presses are allowed, 10 s apart (never a click)."""
    presses = 3
    for attempt in range(presses):
        try:
            with page.expect_file_chooser(timeout=10000) as chooser:
                page.keyboard.press("Space")
            return chooser.value
        except PlaywrightTimeout:
            if attempt == presses - 1:
                raise


def test_keyboard_only_from_upload_to_download(site, page, upload, tmp_path):
    page.goto(site)
    tab_to(page, "#image")
    chooser = choose_file_with_keyboard(page)
    chooser.set_files(upload)
    tab_to(page, "#submit")
    page.keyboard.press("Enter")
    page.wait_for_function(f"() => {RESULT_SHOWN}")
    tab_to(page, "#add-hint")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.className") == "pin"
    retuned(page, lambda: page.keyboard.press("Shift+ArrowRight"))
    assert page.locator("#hint-list label").inner_text() == "Hint 1 at 720, 375"  # 600 + 10 * 12 px
    shoot(page, "keyboard-pin")
    retuned(page, lambda: page.keyboard.press("Delete"))
    assert page.locator(".pin").count() == 0
    tab_to(page, "#download")
    name, saved = save_download(page, tmp_path, lambda: page.keyboard.press("Enter"))
    assert name.endswith("-colorized.png") and Image.open(saved).size == (1200, 750)
    tab_to(page, "#compare-range")
    page.keyboard.press("Home")
    assert page.locator("#compare-range").input_value() == "0"
    shoot(page, "keyboard-compare")


def test_cancel_during_upload(site, page, upload):
    held = []
    page.route("**/api/colorize", lambda route: held.append(route))
    page.goto(site)
    page.set_input_files("#image", upload)
    page.click("#submit")
    assert page.locator("#progress").is_visible()
    assert page.locator("#progress-bar").is_visible()
    assert page.evaluate("document.activeElement.id") == "cancel"
    while not held:
        page.wait_for_timeout(50)
    shoot(page, "progress")
    check_accessibility(page, "progress")
    page.click("#cancel")
    assert page.locator("#upload").is_visible() and not page.locator("#progress").is_visible()
    assert "Cancelled" in page.locator("#file-info").inner_text()
    assert page.evaluate("document.activeElement.id") == "submit"


def test_progress_reports_upload_percentage_then_working(site, page, upload):
    page.goto(site)
    page.evaluate("""() => {
        window.seen = [];
        new MutationObserver(() => seen.push(document.getElementById("progress-text").textContent))
            .observe(document.getElementById("progress-text"), {childList: true, characterData: true, subtree: true});
    }""")
    page.set_input_files("#image", upload)
    page.click("#submit")
    page.wait_for_function(f"() => {RESULT_SHOWN}")
    seen = page.evaluate("seen")
    assert any(s.startswith("Uploading") and s.endswith("%") for s in seen) and "Colorizing…" in seen


def test_several_pictures_at_once(site, page, tmp_path):
    files = []
    for i, size in enumerate([(400, 300), (300, 400), (500, 250)]):
        path = tmp_path / f"photo {i}.jpg"
        path.write_bytes(photo_bytes(size, "JPEG", "L"))
        files.append(path)
    bad = tmp_path / "notes.png"
    bad.write_bytes(b"this is not a picture at all")
    files.insert(1, bad)
    page.expected_errors = ("status of 400",)  # Chromium logs the API's 400 for the bad file
    page.goto(site)
    page.set_input_files("#image", files)
    assert "4 pictures" in page.locator("#file-info").inner_text()
    page.click("#submit")
    page.wait_for_function("() => document.getElementById('batch-status').textContent.startsWith('Finished')")
    tiles = page.locator(".tile")
    assert tiles.count() == 4
    states = [tiles.nth(i).get_attribute("data-state") for i in range(4)]
    assert states == ["done", "error", "done", "done"]
    assert "not an image" in tiles.nth(1).locator(".tile-status").inner_text()
    assert not tiles.nth(1).locator(".tile-download").is_visible()
    assert tiles.nth(0).locator(".tile-download").is_visible()
    assert "3 colorized, 1 failed" in page.locator("#batch-status").inner_text()
    check_accessibility(page, "batch")
    shoot(page, "batch")

    name, one = save_download(page, tmp_path, lambda: tiles.nth(2).locator(".tile-download").click())
    assert name == "photo_1-colorized.png" and Image.open(one).size == (300, 400)
    name, archive = save_download(page, tmp_path, lambda: page.click("#zip"))
    assert name == "colorized.zip"
    with zipfile.ZipFile(archive) as z:
        assert z.testzip() is None
        assert z.namelist() == ["photo_0-colorized.png", "photo_1-colorized.png", "photo_2-colorized.png"]
        sizes = [Image.open(io.BytesIO(z.read(n))).size for n in z.namelist()]
    assert sizes == [(400, 300), (300, 400), (500, 250)]

    tiles.nth(3).locator(".tile-open").click()  # adjust one of them: grey, then back to the gallery
    page.wait_for_function(f"() => {RESULT_SHOWN}")
    assert page.locator("#another").inner_text() == "Back to all pictures"
    retuned(page, lambda: page.locator("#tune-vividness").fill("0"))
    page.click("#another")
    assert page.locator("#gallery").is_visible()
    _, archive = save_download(page, tmp_path, lambda: page.click("#zip"))
    with zipfile.ZipFile(archive) as z:
        assert chroma(Image.open(io.BytesIO(z.read("photo_2-colorized.png")))) < 0.5  # the re-tuned one
        assert chroma(Image.open(io.BytesIO(z.read("photo_0-colorized.png")))) > 0.5


def test_samples_colorize_in_one_click(site, page):
    page.goto(site)
    assert "Ian Hex" in page.locator(".credits").inner_text()
    page.locator(".sample-button").first.click()
    page.wait_for_function(f"() => {RESULT_SHOWN}")
    assert page.locator("#download").get_attribute("download") == "evening-glow-colorized.png"


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
        page.wait_for_function("() => document.getElementById('preview').naturalWidth === 320")
    page.click("#submit")
    page.wait_for_function(f"() => {RESULT_SHOWN}")


def test_too_large_file_is_caught_before_upload(site, page, tmp_path):
    big = tmp_path / "huge.jpg"
    big.write_bytes(b"\xff\xd8" + os.urandom(11 * 1024 * 1024))
    page.goto(site)
    page.set_input_files("#image", big)
    assert "the limit is 10 MB" in page.locator("#client-error").inner_text()
    page.click("#submit")
    assert page.posts == []  # no request was sent
    shoot(page, "too-large")


def test_errors_are_shown_on_the_form(site, page, tmp_path):
    text = tmp_path / "notes.png"
    text.write_bytes(b"this is not a picture at all")
    page.expected_errors = ("status of 400", "status of 404")
    page.goto(site)
    page.set_input_files("#image", text)
    page.click("#submit")
    page.wait_for_function("() => !document.getElementById('client-error').hidden")
    assert "not an image" in page.locator("#client-error").inner_text()
    assert page.evaluate("document.activeElement.id") == "submit"
    check_accessibility(page, "error on the form")
    shoot(page, "error")
    page.goto(site + "/no-such-page")  # the server's own error page
    assert "nothing at this address" in page.locator("#error").inner_text()
    check_accessibility(page, "404 page")


def test_server_rendered_result_page_is_accessible(site, page):
    """The page without JavaScript's result (form.submit() skips the script's submit handler)."""
    page.goto(site)
    with page.expect_navigation():
        page.evaluate("() => document.querySelector('form.sample').submit()")
    assert page.locator("h1").inner_text() == "Your picture in colour"
    assert page.locator("#download").get_attribute("href").startswith("data:image/png;base64,")
    check_accessibility(page, "server-rendered result")


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_without_javascript_the_form_still_works(site, browser, upload, tmp_path, viewport):
    page = new_tab(browser, viewport, java_script_enabled=False)
    page.goto(site)
    page.set_input_files("#image", upload)
    with page.expect_navigation():
        page.click("#submit")
    assert page.locator("h1").inner_text() == "Your picture in colour"
    shoot(page, "no-js-result")
    name, saved = save_download(page, tmp_path, lambda: page.click("#download"))
    assert name == "Grandpa_s_boats-colorized.png" and Image.open(saved).size == (1200, 750)
    page.goto(site + "/colorize")  # what a reload without the POST, or a bookmark, asks for
    assert page.url.rstrip("/") == site and page.locator("#image").count() == 1
    with page.expect_navigation():
        page.locator(".sample-button").first.click()
    assert page.locator("#download").get_attribute("download") == "evening-glow-colorized.png"
    page.context.close()


def test_at_most_20_pictures_go_at_once(site, browser, tmp_path):
    page = new_tab(browser, "desktop")
    files = []
    for i in range(21):
        files.append(tmp_path / f"tiny {i:02d}.png")
        files[-1].write_bytes(photo_bytes((48 + i, 32), "PNG", "L"))
    page.goto(site)
    page.set_input_files("#image", files)
    assert "up to 20 go at once" in page.locator("#client-error").inner_text()
    page.click("#submit")
    page.wait_for_function("() => document.getElementById('batch-status').textContent.startsWith('Finished')")
    assert page.locator(".tile").count() == 20 and page.locator('.tile[data-state="done"]').count() == 20
    assert page.locator(".tile-name").last.inner_text() == "tiny 19.png"
    page.context.close()
    assert page.errors == []
