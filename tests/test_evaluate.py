"""training.evaluate: the scores the model card reports, with the shipped model on a few made-up photos."""
from __future__ import annotations

import json

import numpy as np
import pytest

from colorizer.engine import Colorizer
from conftest import photo_bytes
from training.evaluate import evaluate, format_table, main, truth_hints


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("photos")
    for i, size in enumerate([(320, 240), (200, 300), (256, 256)]):
        (folder / f"p{i}.png").write_bytes(photo_bytes(size, "PNG"))
    return folder


def test_truth_hints_carry_the_true_colour_at_seeded_random_points():
    truth = np.random.default_rng(0).integers(0, 256, (40, 60, 3), dtype=np.uint8)
    hints = truth_hints(truth, 5, seed=7)
    assert hints == truth_hints(truth, 5, seed=7) != truth_hints(truth, 5, seed=8)
    for hint in hints:
        assert hint.rgb == tuple(truth[hint.y, hint.x])


def test_hints_bring_the_colour_closer_to_the_truth(colorizer_model, photos):
    results = evaluate(colorizer_model, photos, hint_counts=(1, 10), sketches=True)
    assert list(results) == ["model", "grayscale", "1 hints", "10 hints", "sketches"]
    assert results["grayscale"]["colourfulness"] < 1.0
    assert results["10 hints"]["psnr"] > results["model"]["psnr"] + 1.0
    assert all(r["images"] == 3 for r in results.values())
    table = format_table(results)
    assert "| 10 hints |" in table and "| ground truth |" in table


def test_the_command_line_scores_the_engine_with_its_mirror_average_or_without(photos, tmp_path, capsys):
    scores = {}
    for flags in ([], ["--no-mirror"]):
        out = tmp_path / f"scores{len(flags)}.json"
        main([str(photos), "--json", str(out), *flags])
        scores[bool(flags)] = json.loads(out.read_text())["model"]
    assert "| model |" in capsys.readouterr().out
    one_pass = evaluate(Colorizer.load(mirror=False), photos)["model"]
    assert scores[True] == pytest.approx(one_pass)
    assert scores[False]["psnr"] != pytest.approx(one_pass["psnr"], abs=1e-3)
