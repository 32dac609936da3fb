"""The colour-classification head: its bins, its read-out, and the run that trains it on a frozen base."""
from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
import torch
from PIL import Image

from colorizer.lab import AB_SCALE, rgb_to_lab
from training.export import main as export_main
from training.networks import AB_BIN_STEP, BinHead, define_generator, gamut_bins, generator_args
from training.train_bins import main as train_bins_main
from training.train_bins import soft_targets


def test_every_srgb_colour_falls_in_one_of_the_gamut_bins():
    centres = gamut_bins().numpy() * AB_SCALE
    colours = np.random.default_rng(0).integers(0, 256, (1, 20000, 3), dtype=np.uint8)
    ab = rgb_to_lab(colours)[0, :, 1:]
    nearest = np.abs(ab[:, None] - centres[None]).max(axis=2).min(axis=1)  # max-norm: the cell's half side
    assert nearest.max() <= AB_BIN_STEP / 2 + 1e-3
    assert len(centres) == 261 and np.abs(centres).max() <= AB_SCALE  # the bins reach no a*b* the gamut lacks


def test_soft_targets_are_a_distribution_peaked_at_the_true_colour():
    centres = gamut_bins()
    truth = centres[[40, 200]].T[None, :, :, None]  # two pixels (1, 2, 2, 1) on two bin centres
    target = soft_targets(truth, centres)
    torch.testing.assert_close(target.sum(dim=1), torch.ones(1, 2, 1))
    assert target[0, :, 0, 0].argmax() == 40 and target[0, :, 1, 0].argmax() == 200
    assert 0.5 < target.max() < 0.7  # its four neighbours share the rest: sigma 5 against a step of 10


def _head_with_logits(logits: torch.Tensor, temperature: float, prior_weight: float = 0.0) -> BinHead:
    head = BinHead(4, temperature, prior_weight)
    last = head.mix[2]
    torch.nn.init.zeros_(last.weight)
    with torch.no_grad():
        last.bias.copy_(logits)
    return head


def test_the_read_out_runs_from_the_mean_at_temperature_one_to_the_mode_near_zero():
    centres = gamut_bins()
    logits = torch.full((len(centres),), -20.0)
    logits[[10, 150]] = torch.tensor([1.0, 0.0])  # two colours, the first more likely
    features = torch.zeros(1, 4, 2, 2)
    weights = torch.softmax(torch.tensor([1.0, 0.0]), dim=0)
    mean = _head_with_logits(logits, 1.0)(features)[0, :, 0, 0]
    torch.testing.assert_close(mean, weights[0] * centres[10] + weights[1] * centres[150], atol=1e-5, rtol=0)
    mode = _head_with_logits(logits, 0.05)(features)[0, :, 0, 0]
    torch.testing.assert_close(mode, centres[10], atol=1e-5, rtol=0)


def test_the_prior_weight_moves_the_colour_towards_rare_bins():
    centres = gamut_bins()
    logits = torch.full((len(centres),), -20.0)
    logits[[10, 150]] = 0.0  # two colours, equally likely
    frequencies = torch.full((len(centres),), 1e-4)
    frequencies[10] = 0.5  # the first is common in the photos
    frequencies /= frequencies.sum()
    plain, discounted = (_head_with_logits(logits, 1.0, weight) for weight in (0.0, 1.0))
    for head in (plain, discounted):
        head.set_prior(frequencies)
    features = torch.zeros(1, 4, 1, 1)
    distance = [(head(features)[0, :, 0, 0] - centres[150]).norm() for head in (plain, discounted)]
    assert distance[1] < distance[0] / 2


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    root = tmp_path_factory.mktemp("bins_photos")
    rng = np.random.default_rng(0)
    for i in range(4):
        colour = rng.uniform(30, 230, 3)
        img = colour + rng.normal(0, 8, (48, 48, 3))
        Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(root / f"p{i}.png")
    return root


@pytest.fixture(scope="module")
def base_checkpoint(tmp_path_factory):
    net = define_generator("effnet", decoder=[32, 16, 16, 8, 8], hints=True, hint_width=8)
    path = tmp_path_factory.mktemp("bins_base") / "base.pt"
    torch.save({"generator": net.state_dict(), "model_args": generator_args(net), "config": {"size": 32}}, path)
    return path


def test_the_head_learns_on_a_frozen_base_and_exports_with_its_read_out(photos, base_checkpoint, tmp_path):
    out = tmp_path / "bins"
    args = [str(base_checkpoint), str(photos), "--out", str(out), "--size", "32", "--batch-size", "2",
            "--workers", "0", "--prior-weight", "0.5"]
    train_bins_main([*args, "--steps", "2"])
    base = torch.load(base_checkpoint, weights_only=False)["generator"]
    ckpt = torch.load(out / "last.pt", weights_only=False)
    assert ckpt["step"] == 2 and ckpt["model_args"]["head"] == "bins" and ckpt["model_args"]["prior_weight"] == 0.5
    frozen = {name: value for name, value in base.items() if not name.startswith("out.")}
    assert all(torch.equal(value, ckpt["generator"][name]) for name, value in frozen.items())
    assert ckpt["generator"]["out.log_prior"].std() > 0  # set from the photos' colours
    train_bins_main([*args, "--steps", "4", "--resume"])
    assert torch.load(out / "last.pt", weights_only=False)["step"] == 4

    export_main([str(out / "last.pt"), str(tmp_path / "bins.onnx"), "--temperature", "0.5"])
    session = ort.InferenceSession(str(tmp_path / "bins.onnx"), providers=["CPUExecutionProvider"])
    assert '"temperature": 0.5' in session.get_modelmeta().custom_metadata_map["model_args"]
    inputs = {"L": np.zeros((1, 1, 64, 32), np.float32), "hints": np.zeros((1, 3, 64, 32), np.float32)}
    ab = session.run(["ab"], inputs)[0]
    assert ab.shape == (1, 2, 64, 32) and np.abs(ab).max() <= 1.0
