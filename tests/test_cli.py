"""python -m colorizer colorize: outputs, naming, exit codes, error lines, progress."""
from __future__ import annotations

import io
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from colorizer.cli import Progress, main
from colorizer.lab import AB_SCALE, rgb_to_lab
from tests.helpers import ROOT, dds_header, palette_png_without_plte, photo_bytes


@pytest.fixture
def inputs(tmp_path):
    """Two good pictures (a grey JPEG and an RGBA PNG) and one corrupt file, in tmp_path/in."""
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "grey.jpg").write_bytes(photo_bytes((120, 80), "JPEG", "L"))
    (folder / "clear.png").write_bytes(photo_bytes((90, 60), "PNG", "RGBA"))
    jpeg = photo_bytes((120, 80), "JPEG")
    (folder / "broken.jpg").write_bytes(jpeg[: len(jpeg) // 2])
    return folder


def opened(path) -> Image.Image:
    img = Image.open(path)
    img.load()
    return img


def test_module_entry_point(inputs, tmp_path):
    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, "-m", "colorizer", "colorize", str(inputs / "grey.jpg"), str(inputs / "clear.png"),
         "--out-dir", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert opened(out / "grey.png").size == (120, 80)
    assert opened(out / "clear.png").mode == "RGBA"


def test_one_bad_file_among_good_ones(inputs, tmp_path, capsys):
    out = tmp_path / "out"
    files = [inputs / "grey.jpg", inputs / "broken.jpg", inputs / "clear.png"]
    assert main(["colorize", *map(str, files), "--out-dir", str(out)]) == 1
    assert sorted(p.name for p in out.iterdir()) == ["clear.png", "grey.png"]
    assert capsys.readouterr().err.splitlines() == [
        f"error: {inputs / 'broken.jpg'}: The image file is truncated or corrupt; please upload it again."]


def test_files_that_crash_the_decoder_are_reported_and_the_batch_goes_on(inputs, tmp_path, capsys):
    """Issue 10, defect 4: Pillow's AssertionError / NotImplementedError used to end the run with a traceback."""
    (inputs / "no-palette.png").write_bytes(palette_png_without_plte())
    (inputs / "header.dds").write_bytes(dds_header())
    out = tmp_path / "out"
    files = [inputs / "no-palette.png", inputs / "header.dds", inputs / "grey.jpg"]
    assert main(["colorize", *map(str, files), "--out-dir", str(out)]) == 1
    assert [p.name for p in out.iterdir()] == ["grey.png"]
    errors = capsys.readouterr().err.splitlines()
    assert [line.split(": ")[1] for line in errors] == [str(inputs / "no-palette.png"), str(inputs / "header.dds")]


def test_an_unforeseen_failure_is_one_line_too(inputs, tmp_path, capsys, monkeypatch):
    from colorizer import cli

    def explode(*args):
        raise RuntimeError("onnxruntime went away")

    monkeypatch.setattr(cli.Colorizer, "colorization", explode)
    assert main(["colorize", str(inputs / "grey.jpg"), "--out-dir", str(tmp_path / "out")]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"error: {inputs / 'grey.jpg'}: could not colorize this file (RuntimeError: onnxruntime went away)"]


def test_missing_and_non_image_inputs(inputs, tmp_path, capsys):
    (inputs / "notes.txt").write_text("not a picture")
    files = [inputs / "nope.jpg", inputs / "notes.txt", inputs]
    assert main(["colorize", *map(str, files), "--out-dir", str(tmp_path / "out")]) == 1
    errors = capsys.readouterr().err.splitlines()
    assert errors == [
        f"error: {inputs / 'nope.jpg'}: No such file or directory",
        f"error: {inputs / 'notes.txt'}: This file is not an image we can read (try JPEG, PNG or WebP).",
        f"error: {inputs}: Is a directory",
    ]


def test_single_output_file(inputs, tmp_path):
    target = tmp_path / "sub" / "colour.png"
    assert main(["colorize", str(inputs / "grey.jpg"), "-o", str(target)]) == 0
    assert opened(target).format == "PNG" and opened(target).size == (120, 80)


def test_same_stem_never_clobbers(inputs, tmp_path):
    (inputs / "grey.png").write_bytes(photo_bytes((50, 40), "PNG"))
    files = [inputs / "grey.jpg", inputs / "grey.png", inputs / "grey.jpg"]
    assert main(["colorize", *map(str, files), "--out-dir", str(inputs)]) == 0
    # inputs/grey.png is an input: outputs go around it
    assert opened(inputs / "grey.png").size == (50, 40)
    assert [opened(inputs / f"grey-{n}.png").size for n in (1, 2, 3)] == [(120, 80), (50, 40), (120, 80)]


def test_vividness_zero_gives_grey(inputs, tmp_path):
    target = tmp_path / "grey.png"
    assert main(["colorize", str(inputs / "clear.png"), "-o", str(target), "--vividness", "0"]) == 0
    rgb = np.asarray(opened(target).convert("RGB"), np.int16)
    assert np.abs(rgb - rgb[..., :1]).max() <= 1


def test_model_option(inputs, tmp_path, tiny_model):
    model = tiny_model(offset=(0.2, 0.0))
    target = tmp_path / "red.png"
    assert main(["colorize", str(inputs / "grey.jpg"), "-o", str(target), "--model", str(model),
                 "--size", "64", "--threads", "1"]) == 0
    a = rgb_to_lab(np.asarray(opened(target)))[..., 1]
    assert np.median(a) == pytest.approx(0.2 * AB_SCALE, abs=1.5)


@pytest.mark.parametrize("content, message", [(None, "colorizer model not found"), (b"not onnx", "")])
def test_unusable_model(inputs, tmp_path, capsys, content, message):
    model = tmp_path / "model.onnx"
    if content is not None:
        model.write_bytes(content)
    assert main(["colorize", str(inputs / "grey.jpg"), "-o", str(tmp_path / "x.png"), "--model", str(model)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {message}") and err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "x.png").exists()


@pytest.mark.parametrize("args", [
    [],
    ["colorize"],
    ["colorize", "a.jpg"],  # neither -o nor --out-dir
    ["colorize", "a.jpg", "b.jpg", "-o", "x.png"],
    ["colorize", "a.jpg", "-o", "x.png", "--out-dir", "out"],
    ["colorize", "a.jpg", "-o", "x.png", "--vividness", "2.5"],
    ["colorize", "a.jpg", "-o", "x.png", "--vividness", "vivid"],
    ["colorize", "a.jpg", "-o", "x.png", "--size", "0"],
    ["colorize", "a.jpg", "-o", "x.png", "--hint", "10,10"],
    ["colorize", "a.jpg", "-o", "x.png", "--hint", "10,10,red"],
    ["colorize", "a.jpg", "-o", "x.png", "--hint", "-3,10,#ff0000"],
    ["sharpen", "a.jpg"],
])
def test_usage_errors(args, capsys):
    with pytest.raises(SystemExit) as info:
        main(args)
    assert info.value.code == 2
    assert "usage:" in capsys.readouterr().err


def test_hints_colour_the_picture_where_asked(inputs, tmp_path):
    plain, hinted = tmp_path / "plain.png", tmp_path / "hinted.png"
    source = str(inputs / "grey.jpg")  # 120 x 80
    assert main(["colorize", source, "-o", str(plain)]) == 0
    assert main(["colorize", source, "-o", str(hinted), "--hint", "20,20,#2040ff", "--hint", "100,60,#ff2020"]) == 0
    before, after = (rgb_to_lab(np.asarray(opened(p).convert("RGB"))) for p in (plain, hinted))
    assert after[20, 20, 2] < before[20, 20, 2] - 20  # bluer where the blue hint is
    assert after[60, 100, 1] > before[60, 100, 1] + 20  # redder where the red hint is
    np.testing.assert_allclose(after[..., 0], before[..., 0], atol=0.5)  # the lightness stays


def test_a_hint_off_one_picture_fails_that_file_only(inputs, tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["colorize", str(inputs / "grey.jpg"), str(inputs / "clear.png"), "--out-dir", str(out),
                 "--hint", "100,70,#ff0000"])  # inside the 120 x 80 JPEG, outside the 90 x 60 PNG
    assert code == 1
    assert (out / "grey.png").exists() and not (out / "clear.png").exists()
    assert "outside the 90x60 picture" in capsys.readouterr().err


def test_size_the_model_cannot_run_at(inputs, tmp_path, capsys):
    assert main(["colorize", str(inputs / "grey.jpg"), "-o", str(tmp_path / "x.png"), "--size", "100"]) == 2
    assert capsys.readouterr().err.startswith("error: working size must be a positive multiple of 32")


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_line_on_a_terminal():
    stream = Terminal()
    progress = Progress(4, stream)
    progress.advance()
    progress.message("error: b.jpg: broken")
    for _ in range(3):
        progress.advance()
    progress.close()
    text = stream.getvalue()
    assert "] 1/4" in text and "] 4/4" in text and "[" + "#" * Progress.WIDTH + "]" in text
    assert "\nerror: b.jpg: broken\n" in text.replace("\r", "\n") and text.endswith("\n")


@pytest.mark.parametrize("total, stream", [(3, Terminal()), (10, io.StringIO())])
def test_no_progress_for_few_files_or_off_a_terminal(total, stream):
    progress = Progress(total, stream)
    for _ in range(total):
        progress.advance()
    progress.close()
    assert stream.getvalue() == ""
