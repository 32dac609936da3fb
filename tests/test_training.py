"""Training pipeline: networks, losses, data, sketches, the loop (single process and DDP), export."""
from __future__ import annotations

import csv
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from PIL import Image

from colorizer.lab import encode_l, rgb_to_lab
from training.data import ColorPhotos
from training.diffaugment import diff_augment, translate
from training.export import load_generator
from training.export import main as export_main
from training.from_onnx import main as from_onnx_main
from training.losses import discriminator_loss, gan_loss, generator_loss
from training.networks import count_parameters, define_discriminator, define_generator
from training.options import parse_args
from training.pack import ENCODER_FILE
from training.pack import main as pack_main
from training.photos import find_images
from training.recipe import main as recipe_main
from training.sketch import pencil_sketch
from training.step import GAN, build_gan, optimize_parameters
from training.train import main as train_main

ROOT = Path(__file__).resolve().parent.parent
TINY = ["--generator", "unet", "--depth", "5", "--size", "32", "--ngf", "8", "--max-channels", "32", "--ndf", "8",
        "--workers", "0"]


def _colour_photo(seed: int, size=(48, 40)) -> Image.Image:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0 : size[1], 0 : size[0]]
    base = rng.uniform(40, 220, 3)
    img = base + 30 * np.stack([np.sin(x / 5 + i) for i in range(3)], -1) + rng.normal(0, 5, (size[1], size[0], 3))
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))


@pytest.fixture(scope="module")
def photo_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("photos")
    (root / "class_a").mkdir()
    for i in range(8):
        _colour_photo(i).save(root / "class_a" / f"p{i}.jpg", quality=95)
    Image.new("L", (48, 40), 128).save(root / "gray.png")  # must be skipped
    (root / "notes.txt").write_text("not a photo")
    return root


@pytest.fixture(scope="module")
def trained_run(photo_dir, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("run")
    train_main(["--data", str(photo_dir), "--val", str(photo_dir), "--out", str(out), "--epochs", "1",
                "--batch-size", "4", "--grid-images", "2", *TINY])
    return out


def test_generator_maps_l_to_ab_in_range():
    net = define_generator(ngf=8, depth=5, max_channels=32).eval()
    out = net(torch.randn(2, 1, 64, 96))
    assert out.shape == (2, 2, 64, 96)
    assert out.abs().max() <= 1.0


def test_shipped_generator_configuration_fits_size_budget():
    assert count_parameters(define_generator()) * 4 < 30e6  # fp32 ONNX file <= 30 MB


def test_discriminator_is_a_70x70_patchgan():
    net = define_discriminator(ndf=8).eval()
    lightness = torch.zeros(1, 1, 256, 256, requires_grad=True)
    logits = net(lightness, torch.zeros(1, 2, 256, 256))
    assert logits.shape == (1, 1, 30, 30)
    logits[0, 0, 15, 15].backward()
    rows, cols = np.nonzero(lightness.grad[0, 0].abs().numpy())
    assert (rows.max() - rows.min() + 1, cols.max() - cols.min() + 1) == (70, 70)


def test_weights_initialised_as_pix2pix():
    net = define_generator()
    conv = net.down[3][1].weight
    assert abs(conv.std().item() - 0.02) < 0.002 and abs(conv.mean().item()) < 0.002


def test_unknown_network_name_is_a_value_error():
    with pytest.raises(ValueError, match="unknown generator"):
        define_generator("resnet_9blocks")
    with pytest.raises(ValueError, match="upsample"):
        define_generator(upsample="pixelshuffle")


def test_gan_loss_matches_hand_computation():
    logits = torch.tensor([0.0, 2.0, -1.0])
    sig = [1 / (1 + math.exp(-v)) for v in (0.0, 2.0, -1.0)]
    real = -sum(math.log(s) for s in sig) / 3
    fake = -sum(math.log(1 - s) for s in sig) / 3
    assert gan_loss(logits, True).item() == pytest.approx(real, rel=1e-6)
    assert gan_loss(logits, False).item() == pytest.approx(fake, rel=1e-6)


def test_generator_loss_is_gan_plus_lambda_l1():
    fake_logits = torch.tensor([[1.0]])
    fake_ab, real_ab = torch.tensor([0.5, -0.5]), torch.tensor([0.0, 0.0])
    total, gan, l1 = generator_loss(fake_logits, fake_ab, real_ab, lambda_l1=100.0)
    assert gan.item() == pytest.approx(-math.log(1 / (1 + math.exp(-1.0))), rel=1e-6)
    assert l1.item() == pytest.approx(0.5)
    assert total.item() == pytest.approx(gan.item() + 50.0, rel=1e-6)


def test_discriminator_loss_is_half_the_real_fake_log_loss():
    total, real, fake = discriminator_loss(torch.tensor([3.0]), torch.tensor([-2.0]))
    assert real.item() == pytest.approx(-math.log(1 / (1 + math.exp(-3.0))), rel=1e-6)
    assert fake.item() == pytest.approx(-math.log(1 - 1 / (1 + math.exp(2.0))), rel=1e-6)
    assert total.item() == pytest.approx(0.5 * (real.item() + fake.item()))


def test_discriminator_augmentation_moves_l_with_its_ab_and_lets_gradients_through():
    torch.manual_seed(0)
    lightness = torch.rand(8, 1, 32, 32) + 0.5  # never zero, so zeros mark the fill
    ab = torch.cat([2 * lightness, -lightness], dim=1).requires_grad_(True)
    seen_l, seen_ab = diff_augment(lightness, ab)
    assert torch.equal(seen_ab[:, :1], 2 * seen_l) and torch.equal(seen_ab[:, 1:], -seen_l)  # still a pair
    filled = seen_l[:, 0] == 0
    assert (filled.sum(dim=(1, 2)) >= 16 * 16).all()  # each picture lost at least its cut-out square
    assert len({tuple(f.flatten().tolist()) for f in filled}) == 8  # a fresh draw per picture
    seen_ab.sum().backward()
    assert (ab.grad != 0).any() and (ab.grad == 0).any()  # G learns from what D still sees


def test_translation_shifts_each_picture_by_at_most_an_eighth_of_its_side():
    torch.manual_seed(1)
    x = torch.arange(1, 6 * 32 * 32 + 1, dtype=torch.float32).view(6, 1, 32, 32)
    shifts = []
    for picture, shifted in zip(x, translate(x)):
        kept = shifted[0].nonzero()
        top, left = kept.min(dim=0).values.tolist()
        source = picture[0] == shifted[0, top, left]
        sy, sx = source.nonzero()[0].tolist()
        dy, dx = top - sy, left - sx
        assert abs(dy) <= 4 and abs(dx) <= 4
        assert torch.equal(shifted[0], torch.roll(picture[0], (dy, dx), (0, 1)) * (shifted[0] != 0))
        shifts.append((dy, dx))
    assert any(dy != dx for dy, dx in shifts)  # rows and columns are drawn apart


def test_gan_step_shows_the_discriminator_only_augmented_pairs():
    torch.manual_seed(2)
    net_g = define_generator("unet", depth=5, ngf=8, max_channels=32)
    net_d = define_discriminator(ndf=8)
    calls = []

    def augment(lightness, ab):
        calls.append(ab.requires_grad)
        return diff_augment(lightness, ab)

    gan = GAN(net_g, net_d, torch.optim.Adam(net_g.parameters()), torch.optim.Adam(net_d.parameters()), net_d,
              augment=augment)
    lightness, real_ab = torch.rand(2, 1, 32, 32) * 2 - 1, torch.rand(2, 2, 32, 32) * 2 - 1
    losses = optimize_parameters(gan, lightness, real_ab, lambda_l1=100.0)
    assert calls == [False, False, True]  # D's real and generated pairs, then G's pair with its gradient
    assert all(torch.isfinite(v) for v in losses.values())
    optimize_parameters(gan, lightness, real_ab, lambda_l1=100.0, warmup=True)
    assert len(calls) == 3  # the L1 warm-up has no discriminator to show anything


def test_the_gan_learns_with_what_the_options_say():
    net_g, net_d = define_generator("effnet", pretrained=False), define_discriminator(ndf=8)
    gan = build_gan(parse_args(["--data", ".", "--lr", "1e-3", "--lr-d-scale", "0.5", "--ema", "0.99"]), net_g, net_d)
    assert gan.net_g is net_g and gan.net_d is gan.plain_d is net_d
    assert [g["lr"] for g in gan.opt_g.param_groups] == pytest.approx([1e-3, 1e-4])  # the encoder at lr * 0.1
    assert not net_g.encoder._conv_stem.weight.requires_grad  # stem and first blocks frozen by default
    assert gan.opt_d.param_groups[0]["lr"] == pytest.approx(5e-4)
    assert gan.augment is diff_augment and gan.ema is not None
    plain = build_gan(parse_args(["--data", ".", "--ema", "0", "--no-diffaugment"]),
                      define_generator("effnet", pretrained=False), define_discriminator(ndf=8))
    assert plain.ema is None and plain.augment is None


def test_dataset_finds_photos_recursively_and_skips_grayscale(photo_dir):
    assert len(find_images(photo_dir)) == 9  # 8 colour + 1 grey; the .txt is ignored
    ds = ColorPhotos(photo_dir, size=32, train=True)
    for i in range(len(ds)):
        lightness, ab = ds[i]
        assert lightness.shape == (1, 32, 32) and ab.shape == (2, 32, 32)
        assert -1 <= lightness.min() and lightness.max() <= 1
        assert (ab * 110).norm(dim=0).mean() > 3  # the grey photo was replaced


def test_dataset_with_sketches_changes_only_the_input(photo_dir):
    torch.manual_seed(0)
    lightness, _ = ColorPhotos(photo_dir, size=32, train=False)[0]
    sketched, _ = ColorPhotos(photo_dir, size=32, train=True, sketch_prob=1.0)[0]
    assert sketched.mean() > lightness.mean()  # paper-white sketch is brighter than the photo


def test_pencil_sketch_is_white_paper_with_dark_strokes():
    gray = np.full((64, 64), 200, np.uint8)
    gray[:, 30:34] = 20  # one dark vertical edge
    sketch = pencil_sketch(gray, np.random.default_rng(0))
    assert sketch.shape == gray.shape and sketch.dtype == np.uint8
    assert np.median(sketch) > 190  # mostly paper
    assert sketch[:, 26:38].mean() < sketch[:, :20].mean() - 20  # the edge is drawn
    np.testing.assert_array_equal(sketch, pencil_sketch(gray, np.random.default_rng(0)))


def test_training_writes_logs_grids_and_checkpoints(trained_run):
    for name in ("last.pt", "epoch_001.pt", "grid_001.png", "losses.csv", "options.json"):
        assert (trained_run / name).is_file(), name
    rows = (trained_run / "losses.csv").read_text().splitlines()
    assert rows[0].startswith("step,epoch,phase") and len(rows) == 1 + 2  # 8 photos / batch 4
    ckpt = torch.load(trained_run / "last.pt", weights_only=False)
    assert ckpt["model_args"]["depth"] == 5 and ckpt["config"]["lambda_l1"] == 100.0
    assert Image.open(trained_run / "grid_001.png").size == (3 * 32, 2 * 32)


def test_resume_continues_training_and_changes_weights(trained_run, photo_dir):
    before = torch.load(trained_run / "last.pt", weights_only=False)
    train_main(["--data", str(photo_dir), "--out", str(trained_run), "--epochs", "2", "--batch-size", "4",
                "--resume", *TINY])
    after = torch.load(trained_run / "last.pt", weights_only=False)
    assert (after["epoch"], after["step"]) == (2, before["step"] + 2)
    for net in ("generator", "discriminator"):
        changed = [k for k, v in before[net].items() if v.is_floating_point() and not torch.equal(v, after[net][k])]
        assert changed, f"{net} weights did not change"


def test_warmup_trains_the_generator_alone(photo_dir, tmp_path):
    train_main(["--data", str(photo_dir), "--out", str(tmp_path), "--epochs", "1", "--warmup-epochs", "1",
                "--batch-size", "4", *TINY])
    rows = [r.split(",") for r in (tmp_path / "losses.csv").read_text().splitlines()[1:]]
    assert all(r[2] == "l1" and float(r[5]) == 0.0 and float(r[4]) > 0 for r in rows)


def test_distributed_training_with_two_gloo_processes(photo_dir, tmp_path):
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           "-m", "training.train", "--data", str(photo_dir), "--out", str(tmp_path), "--epochs", "1",
           "--batch-size", "2", "--device", "cpu", "--threads", "1", *TINY]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ckpt = torch.load(tmp_path / "last.pt", weights_only=False)
    assert ckpt["step"] == 2  # 8 photos split over 2 ranks, batch 2 each


def test_export_matches_pytorch_and_follows_the_io_contract(trained_run, tmp_path, capsys):
    out = tmp_path / "g.onnx"
    export_main([str(trained_run / "epoch_001.pt"), str(out), "--size", "64"])
    assert "max |PyTorch - ONNX|" in capsys.readouterr().out
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["L"] and [o.name for o in session.get_outputs()] == ["ab"]
    ab = session.run(["ab"], {"L": np.zeros((3, 1, 64, 96), np.float32)})[0]  # dynamic batch and sides
    assert ab.shape == (3, 2, 64, 96)
    assert session.get_modelmeta().custom_metadata_map["working_size"] == "64"
    assert session.get_modelmeta().graph_name and min(o.version for o in _opsets(out)) >= 17


def _opsets(path: Path):
    return [o for o in onnx.load(str(path)).opset_import if o.domain in ("", "ai.onnx")]


def test_export_refuses_a_file_that_breaks_parity(trained_run, tmp_path):
    out = tmp_path / "g.onnx"
    with pytest.raises(SystemExit, match="parity check failed"):
        export_main([str(trained_run / "epoch_001.pt"), str(out), "--size", "32", "--tolerance", "-1"])
    assert not out.exists()


def test_model_card_grid_has_photo_sketch_and_hint_rows(trained_run, photo_dir, tmp_path):
    from training.samples import model_card_grid

    model = tmp_path / "g.onnx"
    export_main([str(trained_run / "epoch_001.pt"), str(model), "--size", "32"])
    photos = [str(p) for p in find_images(photo_dir)[:2]]
    model_card_grid(str(model), photos, photos[:1], tmp_path / "grid.png", size=64, hinted=photos[:1])
    grid = np.asarray(Image.open(tmp_path / "grid.png"))
    assert grid.shape == (4 * 64, 3 * 64, 3)
    sketch_input = grid[128:192, :64]
    assert sketch_input.mean() > grid[:64, :64].mean()  # the sketch row's input is paper-white
    hint_input = grid[192:, :64].astype(int)
    assert np.abs(hint_input - hint_input[..., :1]).max() > 20  # grey photo with coloured pins


def test_network_interpolation_spans_the_two_generators(trained_run, tmp_path):
    from training.interpolate import interpolate, main as interpolate_main

    gan = torch.load(trained_run / "epoch_001.pt", weights_only=False)
    l1 = {k: v + 1.0 if v.is_floating_point() else v for k, v in gan["generator"].items()}
    for alpha, expected in ((1.0, gan["generator"]), (0.0, l1)):
        mixed = interpolate(gan["generator"], l1, alpha)
        assert all(torch.allclose(mixed[k].float(), expected[k].float()) for k in mixed)
    half = interpolate(gan["generator"], l1, 0.5)
    key = next(k for k, v in half.items() if v.is_floating_point())
    assert torch.allclose(half[key], gan["generator"][key] + 0.5)
    with pytest.raises(ValueError, match="twins"):
        interpolate(gan["generator"], {"other": torch.zeros(1)}, 0.5)

    out = tmp_path / "blend.pt"
    interpolate_main([str(trained_run / "epoch_001.pt"), str(trained_run / "epoch_001.pt"), "--alpha", "0.3",
                      "--out", str(out)])
    export_main([str(out), str(tmp_path / "blend.onnx"), "--size", "32"])  # exports like any checkpoint
    assert (tmp_path / "blend.onnx").is_file()
    older = torch.load(trained_run / "epoch_001.pt", weights_only=False)
    del older["model_args"]["upsample"]  # written before the field existed: its default is implied
    torch.save(older, tmp_path / "older.pt")
    interpolate_main([str(trained_run / "epoch_001.pt"), str(tmp_path / "older.pt"), "--out", str(out)])
    older["model_args"]["upsample"] = "transpose"
    torch.save(older, tmp_path / "other.pt")
    with pytest.raises(SystemExit, match="different model_args"):
        interpolate_main([str(trained_run / "epoch_001.pt"), str(tmp_path / "other.pt"), "--out", str(out)])
    interpolate_main([str(trained_run / "epoch_001.pt"), str(trained_run / "epoch_001.pt"), "--ema",
                      "--out", str(out)])  # the GAN run's moving average against a twin
    blend = torch.load(out, weights_only=False)
    assert blend["config"]["interpolation"]["ema"] is True
    ema = torch.load(trained_run / "epoch_001.pt", weights_only=False)["generator_ema"]
    assert all(torch.allclose(blend["generator"][k].float(), (0.5 * ema[k] + 0.5 * gan["generator"][k]).float())
               for k in ema if ema[k].is_floating_point())


def test_export_records_the_training_crop_size_as_working_size(trained_run, tmp_path):
    out = tmp_path / "g.onnx"
    export_main([str(trained_run / "epoch_001.pt"), str(out)])  # trained on 32x32 crops (TINY)
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    assert session.get_modelmeta().custom_metadata_map["working_size"] == "32"


def test_effnet_gan_run_keeps_a_moving_average_that_exports(photo_dir, tmp_path):
    out = tmp_path / "effnet"
    train_main(["--data", str(photo_dir), "--out", str(out), "--epochs", "2", "--warmup-epochs", "1",
                "--batch-size", "2", "--size", "32", "--workers", "0", "--ndf", "8", "--max-steps-per-epoch", "2"])
    ckpt = torch.load(out / "last.pt", weights_only=False)
    assert ckpt["model_args"]["name"] == "effnet" and ckpt["ema_steps"] == 2  # averaged over the GAN steps only
    assert any(not torch.equal(v, ckpt["generator"][k]) for k, v in ckpt["generator_ema"].items()
               if v.is_floating_point())
    export_main([str(out / "last.pt"), str(tmp_path / "ema.onnx"), "--ema"])
    session = ort.InferenceSession(str(tmp_path / "ema.onnx"), providers=["CPUExecutionProvider"])
    assert session.get_modelmeta().custom_metadata_map["size_multiple"] == "32"


def test_bf16_autocast_trains_the_gan_as_a_gpu_run_would_and_keeps_float32_weights(photo_dir, tmp_path, monkeypatch):
    """--amp on is what --amp auto turns on for CUDA; CPU autocast runs the same mixed-precision code."""
    seen = []

    def spy(gan, lightness, real_ab, lambda_l1, warmup, autocast):
        with autocast():
            seen.append((torch.is_autocast_enabled("cpu"), torch.get_autocast_dtype("cpu")))
        return optimize_parameters(gan, lightness, real_ab, lambda_l1, warmup, autocast)

    monkeypatch.setattr("training.train.optimize_parameters", spy)
    out = tmp_path / "amp"
    train_main(["--data", str(photo_dir), "--out", str(out), "--epochs", "2", "--warmup-epochs", "1",
                "--batch-size", "2", "--size", "32", "--workers", "0", "--ndf", "8", "--max-steps-per-epoch", "2",
                "--amp", "on", "--ema", "0.9", "--diffaugment"])
    with open(out / "losses.csv") as f:
        rows = list(csv.DictReader(f))
    assert seen == [(True, torch.bfloat16)] * 4  # every step ran under bf16 autocast
    assert [row["phase"] for row in rows] == ["l1", "l1", "gan", "gan"]
    assert all(math.isfinite(float(row[k])) for row in rows for k in ("g_gan", "g_l1", "d_real", "d_fake"))
    assert float(rows[-1]["d_real"]) > 0  # the discriminator's step ran too
    ckpt = torch.load(out / "last.pt", weights_only=False)
    assert {v.dtype for v in ckpt["generator"].values() if v.is_floating_point()} == {torch.float32}
    export_main([str(out / "last.pt"), str(tmp_path / "amp.onnx"), "--ema"])


def test_max_minutes_ends_the_run_with_a_resumable_checkpoint(photo_dir, tmp_path, capsys):
    out = tmp_path / "boxed"
    train_main(["--data", str(photo_dir), "--out", str(out), "--epochs", "3", "--batch-size", "2",
                "--max-minutes", "1e-9", *TINY])
    ckpt = torch.load(out / "last.pt", weights_only=False)
    assert (ckpt["epoch"], ckpt["step"]) == (0, 1)  # stopped after one step, the epoch left to redo
    assert "--max-minutes" in capsys.readouterr().out
    assert not (out / "epoch_001.pt").exists()


def test_a_pack_carries_small_photos_and_the_encoder_in_half_precision(photo_dir, tmp_path):
    pack_main([str(photo_dir), str(tmp_path / "pack"), "--short-side", "24"])
    photos = find_images(tmp_path / "pack" / "photos")
    assert len(photos) == 9 and all(p.suffix == ".jpg" for p in photos)
    assert (tmp_path / "pack" / "photos" / "class_a" / "p0.jpg").is_file()  # the folders are kept
    assert all(min(Image.open(p).size) == 24 for p in photos)  # 48x40 photos, short side 40 -> 24
    state = torch.load(tmp_path / "pack" / ENCODER_FILE, weights_only=True)
    assert all(v.dtype == torch.float16 for v in state.values() if v.is_floating_point())
    from_pack = define_generator("effnet", pretrained=tmp_path / "pack" / ENCODER_FILE).encoder.state_dict()
    from_package = define_generator("effnet", pretrained=True).encoder.state_dict()
    for key, value in from_package.items():
        torch.testing.assert_close(from_pack[key], value, rtol=1e-3, atol=1e-4, check_dtype=False)


def test_the_recipe_makes_a_scored_hint_model_from_a_pack_and_resumes_without_redoing(photo_dir, tmp_path):
    pack_main([str(photo_dir), str(tmp_path / "pack"), "--short-side", "40"])
    out = tmp_path / "recipe"
    argv = ["--data", str(tmp_path / "pack" / "photos"), "--val", str(photo_dir), "--out", str(out),
            "--encoder-weights", str(tmp_path / "pack" / ENCODER_FILE), "--size", "32", "--fine-size", "64",
            "--warmup-epochs", "1", "--epochs", "2", "--gan-fine-epochs", "1", "--l1-fine-epochs", "2",
            "--steps-per-epoch", "1", "--fine-steps-per-epoch", "1", "--hint-variants", "1", "--hint-steps", "2",
            "--batch-size", "2", "--workers", "0", "--device", "cpu"]
    recipe_main(argv)

    def ckpt(run: str) -> dict:
        return torch.load(out / run / "last.pt", weights_only=False)

    assert [ckpt(run)["epoch"] for run in ("gan", "l1", "gan192", "l1_192")] == [2, 2, 3, 4]
    assert ckpt("gan192")["config"]["size"] == 64 and ckpt("gan192")["ema_steps"] == 2  # epochs 2 and 3 of GAN
    assert "generator_ema" not in ckpt("l1_192")  # the twin never had a GAN step
    l1_phases = [row.split(",")[2] for row in (out / "l1" / "losses.csv").read_text().splitlines()[1:]]
    assert l1_phases == ["l1"]  # forked after the warm-up's one step, then its own L1 epoch
    assert ckpt("hints")["step"] == 2
    session = ort.InferenceSession(str(out / "colorizer.onnx"), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["L", "hints"]
    assert session.get_modelmeta().custom_metadata_map["working_size"] == "64"
    scores = json.loads((out / "val.json").read_text())
    assert set(scores) == {"model", "grayscale", "1 hints", "5 hints", "10 hints", "20 hints", "sketches"}
    assert all(row["images"] == 9 for row in scores.values())  # every photo scored, in every row

    with pytest.raises(SystemExit, match="gan/epoch_001.pt, which is not there yet"):
        recipe_main([*argv, "--out", str(tmp_path / "fresh"), "--only", "l1"])
    logs = {run: (out / run / "losses.csv").read_text() for run in ("gan", "l1", "gan192", "l1_192", "hints")}
    recipe_main([*argv, "--only", "gan", "l1", "gan192", "l1_192", "hints"])
    assert {run: (out / run / "losses.csv").read_text() for run in logs} == logs  # not a step again


def test_the_shipped_model_unfolds_into_a_checkpoint_that_computes_what_the_file_does(tmp_path, capsys):
    from_onnx_main([str(ROOT / "models" / "colorizer.onnx"), str(tmp_path / "shipped.pt")])
    assert "max |PyTorch - ONNX|" in capsys.readouterr().out
    net, size = load_generator(tmp_path / "shipped.pt")
    assert size == 192 and net.hint_joins is not None
    session = ort.InferenceSession(str(ROOT / "models" / "colorizer.onnx"), providers=["CPUExecutionProvider"])
    photo = np.asarray(_colour_photo(3, (96, 64)))
    lightness = encode_l(rgb_to_lab(photo)[..., 0])[None, None]
    hints = np.zeros((1, 3, 64, 96), np.float32)
    hints[0, :, 20:30, 40:50] = np.array([0.4, -0.3, 1.0], np.float32)[:, None, None]  # one blue-green patch
    for inputs in ({"L": lightness, "hints": np.zeros_like(hints)}, {"L": lightness, "hints": hints}):
        with torch.no_grad():
            ours = net(*(torch.from_numpy(v) for v in inputs.values())).numpy()
        np.testing.assert_allclose(ours, session.run(["ab"], inputs)[0], atol=1e-4)


def test_an_unfolded_checkpoint_exports_to_the_same_model_and_is_no_run_to_resume(trained_run, photo_dir, tmp_path):
    export_main([str(trained_run / "epoch_001.pt"), str(tmp_path / "first.onnx")])
    (tmp_path / "run").mkdir()
    from_onnx_main([str(tmp_path / "first.onnx"), str(tmp_path / "run" / "last.pt")])
    with pytest.raises(SystemExit, match="not a checkpoint of training.train"):
        train_main(["--data", str(photo_dir), "--out", str(tmp_path / "run"), "--epochs", "1", "--resume", *TINY])
    os.replace(tmp_path / "run" / "last.pt", tmp_path / "back.pt")
    export_main([str(tmp_path / "back.pt"), str(tmp_path / "again.onnx")])
    lightness = {"L": np.random.default_rng(0).uniform(-1, 1, (2, 1, 32, 64)).astype(np.float32)}
    sessions = (ort.InferenceSession(str(tmp_path / f), providers=["CPUExecutionProvider"])
                for f in ("first.onnx", "again.onnx"))
    first, again = (session.run(["ab"], lightness)[0] for session in sessions)
    np.testing.assert_allclose(again, first, atol=1e-5)


def test_unfolding_a_model_not_written_by_the_exporter_is_refused_with_a_message(tmp_path):
    model = onnx.load(ROOT / "models" / "colorizer.onnx", load_external_data=False)
    del model.metadata_props[:]
    onnx.save(model, tmp_path / "bare.onnx")
    with pytest.raises(SystemExit, match="not written by training.export"):
        from_onnx_main([str(tmp_path / "bare.onnx"), str(tmp_path / "bare.pt")])
