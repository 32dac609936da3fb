"""The hint branch: a trained colorizer learns to read the engine's hint map, exports with a `hints` input,
and the engine feeds it; without hints it is the base model, bit for bit."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from PIL import Image

from colorizer.engine import Colorizer
from colorizer.hints import Hint
from tests.helpers import wavy_photo
from training.export import main as export_main
from training.hint_graph import skip_joins_without_hints
from training.hintdata import HintPack, build_pack
from training.networks import define_generator, generator_args
from training.train_hints import main as train_hints_main


@pytest.fixture(scope="module")
def base_checkpoint(tmp_path_factory) -> Path:
    """An effnet generator as training.train saves one (untrained: the branch does not care)."""
    torch.manual_seed(0)
    net = define_generator("effnet")
    path = tmp_path_factory.mktemp("base") / "base.pt"
    torch.save({"generator": net.state_dict(), "model_args": generator_args(net), "config": {"size": 32}}, path)
    return path


@pytest.fixture(scope="module")
def hint_run(base_checkpoint, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("hintrun")
    (root / "photos").mkdir()
    for i in range(3):
        wavy_photo(i).save(root / "photos" / f"p{i}.png")
    assert build_pack(root / "photos", root / "pack.npz", grid=32, variants=2, jobs=1) == 6
    train_hints_main([str(base_checkpoint), str(root / "pack.npz"), "--out", str(root / "run"), "--steps", "3",
                      "--batch-size", "2", "--hint-width", "8"])
    return root


def test_hint_pack_holds_input_hint_map_and_truth_on_the_working_grid(hint_run):
    pack = HintPack(hint_run / "pack.npz")
    lightness, hints, ab = pack[0]
    assert lightness.shape == (1, 32, 32) and hints.shape == (3, 32, 32) and ab.shape == (2, 32, 32)
    assert -1 <= lightness.min() and lightness.max() <= 1
    assert 0 < hints[2].max() <= 1  # every example has at least one hint


def test_the_hint_branch_adds_nothing_without_hints():
    torch.manual_seed(0)
    net = define_generator("effnet", hints=True, hint_width=8).eval()
    for join in net.hint_joins:  # a trained branch: its output convolution is no longer zero
        torch.nn.init.normal_(join.mix[-1].weight, 0, 0.5)
    lightness = torch.rand(2, 1, 64, 64) * 2 - 1
    with torch.no_grad():
        plain = net(lightness)
        assert torch.equal(net(lightness, torch.zeros(2, 3, 64, 64)), plain)
        hints = torch.zeros(2, 3, 64, 64)
        hints[:, 0], hints[:, 2, 20:30, 20:30] = 0.5, 1.0
        assert (net(lightness, hints) - plain).abs().max() > 1e-3


def test_hint_training_learns_only_the_branch(hint_run, base_checkpoint):
    trained = torch.load(hint_run / "run" / "last.pt", weights_only=False)
    base = torch.load(base_checkpoint, weights_only=False)["generator"]
    assert trained["step"] == 3 and trained["model_args"]["hints"] is True
    assert all(torch.equal(trained["generator"][k], v) for k, v in base.items())  # the base is frozen
    assert any(v.abs().max() > 0 for k, v in trained["generator"].items() if k.endswith("mix.4.weight"))


def test_a_new_base_starts_its_hint_branch_from_a_trained_one(hint_run, tmp_path):
    torch.manual_seed(1)
    net = define_generator("effnet")
    new_base = tmp_path / "new_base.pt"
    torch.save({"generator": net.state_dict(), "model_args": generator_args(net), "config": {"size": 32}}, new_base)
    trained = hint_run / "run" / "last.pt"
    train_hints_main([str(new_base), str(hint_run / "pack.npz"), "--out", str(tmp_path / "run"), "--steps", "0",
                      "--hint-width", "8", "--branch", str(trained)])
    grafted = torch.load(tmp_path / "run" / "last.pt", weights_only=False)["generator"]
    branch = torch.load(trained, weights_only=False)["generator"]
    assert all(torch.equal(grafted[k], v) for k, v in net.state_dict().items())
    assert all(torch.equal(grafted[k], v) for k, v in branch.items() if k.startswith("hint_joins."))
    with pytest.raises(SystemExit, match="not --hint-width 16"):
        train_hints_main([str(new_base), str(hint_run / "pack.npz"), "--out", str(tmp_path / "run16"),
                          "--steps", "1", "--hint-width", "16", "--branch", str(trained)])


def test_the_hint_branch_learns_under_the_chroma_gain_it_is_given_and_keeps_the_bases_otherwise(hint_run,
                                                                                                 base_checkpoint,
                                                                                                 tmp_path):
    pack = str(hint_run / "pack.npz")
    train_hints_main([str(base_checkpoint), pack, "--out", str(tmp_path / "gained"), "--steps", "1",
                      "--batch-size", "2", "--hint-width", "8", "--chroma-gain", "1.3"])
    gained = tmp_path / "gained" / "last.pt"
    assert torch.load(gained, weights_only=False)["model_args"]["chroma_gain"] == 1.3
    train_hints_main([str(gained), pack, "--out", str(tmp_path / "again"), "--steps", "0", "--hint-width", "8"])
    assert torch.load(tmp_path / "again" / "last.pt", weights_only=False)["model_args"]["chroma_gain"] == 1.3


def test_a_hint_model_exports_with_a_hints_input_that_the_engine_feeds(hint_run, base_checkpoint, tmp_path,
                                                                      monkeypatch):
    hinted, plain = tmp_path / "hinted.onnx", tmp_path / "plain.onnx"
    export_main([str(hint_run / "run" / "last.pt"), str(hinted)])
    export_main([str(base_checkpoint), str(plain)])
    session = ort.InferenceSession(str(hinted), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["L", "hints"]
    assert "hint_map" in session.get_modelmeta().custom_metadata_map["hint_input"]
    # export's parity check has run the graph both ways; here: one If per join, whose way without hints
    # passes the features on untouched, so an automatic colorization does not pay for the branch
    graph = onnx.load(hinted).graph
    ifs = [{a.name: [m.op_type for m in a.g.node] for a in n.attribute} for n in graph.node if n.op_type == "If"]
    assert len(ifs) == len(define_generator("effnet", hints=True).hint_joins) == 5
    assert all(i["else_branch"] == ["Identity"] and "Conv" in i["then_branch"] for i in ifs)
    with pytest.raises(ValueError, match="no hint joins"):
        skip_joins_without_hints(onnx.load(plain))

    with_branch, without = Colorizer.load(hinted), Colorizer.load(plain)
    assert with_branch.reads_hints and not without.reads_hints and with_branch.size == 32
    image = wavy_photo(7)
    np.testing.assert_array_equal(np.asarray(with_branch.colorize(image)), np.asarray(without.colorize(image)))
    hints = [Hint(10, 10, "#2050e0"), Hint(70, 50, "#c03020")]
    fed = []

    class Recording:
        def run(self, names, feeds):
            fed.append(feeds)
            return session.run(names, feeds)

    session = with_branch.session
    monkeypatch.setattr(with_branch, "session", Recording())
    with_branch.colorize(image, hints=hints)
    assert fed[0]["hints"].shape == (1, 3, 32, 32) and fed[0]["hints"][0, 2].max() > 0.5


def test_a_recoloured_region_follows_the_edges_and_keeps_the_lightness():
    from colorizer.lab import rgb_to_l, rgb_to_lab
    from training.hintdata import recolour_regions

    grey = np.full((64, 64, 3), 90, np.uint8)
    grey[:, 32:] = 200  # one strong vertical edge
    image = Image.fromarray(grey)
    edited = np.asarray(recolour_regions(image, rgb_to_l(grey), np.array([[10, 30]]), np.random.default_rng(0)))
    chroma = np.hypot(*rgb_to_lab(edited)[..., 1:].transpose(2, 0, 1))
    assert chroma[20:40, 4:16].mean() > 10  # the seed's side takes a colour
    assert chroma[:, 40:].max() < 2  # the other side of the edge keeps its own (grey)
    np.testing.assert_allclose(rgb_to_l(edited), rgb_to_l(grey), atol=1.0)


def test_hint_training_refuses_a_base_that_is_not_an_effnet(hint_run, tmp_path):
    unet = define_generator("unet", depth=5, ngf=8, max_channels=32)
    base = tmp_path / "unet.pt"
    torch.save({"generator": unet.state_dict(), "model_args": generator_args(unet)}, base)
    with pytest.raises(SystemExit, match="effnet"):
        train_hints_main([str(base), str(hint_run / "pack.npz"), "--out", str(tmp_path / "run"), "--steps", "1"])


def test_hint_training_refuses_a_pack_smaller_than_one_batch(hint_run, base_checkpoint, tmp_path):
    with pytest.raises(SystemExit, match="6 examples, fewer than one batch of 16"):
        train_hints_main([str(base_checkpoint), str(hint_run / "pack.npz"), "--out", str(tmp_path / "run"),
                          "--hint-width", "8"])
