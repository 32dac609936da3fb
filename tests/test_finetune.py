"""Fine-tuning a shipped model by L1 (training.finetune) and the chroma gain that brings its colour back."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch

from tests.helpers import wavy_photo
from training.export import main as export_main
from training.finetune import main as finetune_main
from training.from_onnx import main as from_onnx_main
from training.networks import define_generator, generator_args


@pytest.fixture(scope="module")
def unfolded(tmp_path_factory) -> Path:
    """A checkpoint rebuilt from an exported effnet model, as the shipped file is fine-tuned."""
    root = tmp_path_factory.mktemp("finetune")
    (root / "photos").mkdir()
    for i in range(4):
        wavy_photo(i, (64, 48)).save(root / "photos" / f"p{i}.png")
    torch.manual_seed(0)
    net = define_generator("effnet")
    for name, tensor in net.state_dict().items():  # as training leaves them: no bias exactly zero
        if name.endswith(("bias", "running_mean")):
            tensor.normal_(0, 0.1)
        elif name.endswith("running_var"):
            tensor.uniform_(0.5, 2)
    torch.save({"generator": net.state_dict(), "model_args": generator_args(net), "config": {"size": 32}},
               root / "trained.pt")
    export_main([str(root / "trained.pt"), str(root / "trained.onnx")])
    from_onnx_main([str(root / "trained.onnx"), str(root / "unfolded.pt")])
    return root


def _finetune(root: Path, out: Path, *extra: str) -> None:
    finetune_main([str(root / "unfolded.pt"), "--data", str(root / "photos"), "--out", str(out), "--size", "32",
                   "--batch-size", "2", "--workers", "0", "--device", "cpu", "--save-every", "2", *extra])


def test_fine_tuning_an_unfolded_model_trains_the_decoder_and_keeps_its_batchnorm_and_first_blocks(unfolded, tmp_path):
    _finetune(unfolded, tmp_path / "run", "--steps", "3")
    before = torch.load(unfolded / "unfolded.pt", weights_only=False)["generator"]
    after = torch.load(tmp_path / "run" / "last.pt", weights_only=False)
    assert after["step"] == 3 and (tmp_path / "run" / "step_2.pt").exists()
    state = after["generator"]
    statistics = [k for k in before if k.endswith(("running_mean", "running_var"))]
    assert statistics and all(torch.equal(state[k], before[k]) for k in statistics)  # eval mode all along
    assert all(torch.equal(state[k], v) for k, v in before.items() if k.startswith(("encoder._conv_stem.",
                                                                                     "encoder._blocks.0.")))
    assert not torch.equal(state["out.0.weight"], before["out.0.weight"])
    export_main([str(tmp_path / "run" / "last.pt"), str(tmp_path / "tuned.onnx")])  # with its parity check


def test_a_time_boxed_fine_tune_resumes_where_it_stopped(unfolded, tmp_path):
    _finetune(unfolded, tmp_path / "run", "--steps", "3", "--max-minutes", "1e-9")
    assert torch.load(tmp_path / "run" / "last.pt", weights_only=False)["step"] == 1
    _finetune(unfolded, tmp_path / "run", "--steps", "3", "--resume")
    assert torch.load(tmp_path / "run" / "last.pt", weights_only=False)["step"] == 3
    steps = [row.split(",")[0] for row in (tmp_path / "run" / "losses.csv").read_text().splitlines()]
    assert steps == ["step"]  # logged every 10 steps: nothing yet, and the header once


def test_a_chroma_gain_multiplies_the_colour_and_clips_it_in_pytorch_and_in_the_exported_file(unfolded, tmp_path):
    ckpt = torch.load(unfolded / "unfolded.pt", weights_only=False)
    plain, gained = (define_generator(**{**ckpt["model_args"], "chroma_gain": gain}).eval() for gain in (1.0, 40.0))
    plain.load_state_dict(ckpt["generator"])
    gained.load_state_dict(ckpt["generator"])
    lightness = torch.rand(1, 1, 32, 64) * 2 - 1
    with torch.no_grad():
        expected = (plain(lightness) * 40).clamp(-1, 1)
        assert torch.equal(gained(lightness), expected)
    assert expected.abs().max() == 1 and 0 < expected.abs().min() < 1  # some colours clipped, some not

    torch.save({**ckpt, "model_args": generator_args(gained)}, tmp_path / "gained.pt")
    export_main([str(tmp_path / "gained.pt"), str(tmp_path / "gained.onnx")])
    session = ort.InferenceSession(str(tmp_path / "gained.onnx"), providers=["CPUExecutionProvider"])
    assert json.loads(session.get_modelmeta().custom_metadata_map["model_args"])["chroma_gain"] == 40.0
    np.testing.assert_allclose(session.run(["ab"], {"L": lightness.numpy()})[0], expected.numpy(), atol=1e-4)
    from_onnx_main([str(tmp_path / "gained.onnx"), str(tmp_path / "back.pt")])  # with its parity check
    assert torch.load(tmp_path / "back.pt", weights_only=False)["model_args"]["chroma_gain"] == 40.0


def test_fine_tuning_on_fewer_photos_than_one_batch_is_refused_with_a_message(unfolded, tmp_path):
    (tmp_path / "one").mkdir()
    wavy_photo(0).save(tmp_path / "one" / "p.png")
    with pytest.raises(SystemExit, match="holds 1 photos, fewer than one batch of 2"):
        finetune_main([str(unfolded / "unfolded.pt"), "--data", str(tmp_path / "one"), "--out", str(tmp_path / "run"),
                       "--size", "32", "--batch-size", "2", "--workers", "0", "--device", "cpu"])
