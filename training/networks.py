"""Generator and discriminator, pix2pix style, picked by name from a registry.

Generator: a U-Net from L (N, 1, H, W) in [-1, 1] to ab (N, 2, H, W) in [-1, 1].
The encoder halves the resolution with strided 4x4 convolutions; the decoder
doubles it again by nearest-neighbour resize followed by a 3x3 convolution,
which avoids the checkerboard artifacts of transposed convolutions. It is
fully convolutional: trained on crops, it runs at any size divisible by
2**depth.

Discriminator: the conditional 70x70 PatchGAN, which scores overlapping
patches of the concatenation (L, ab) and returns logits (N, 1, H', W').
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn


@dataclass
class GeneratorConfig:
    """Everything needed to rebuild a generator; saved inside checkpoints."""

    ngf: int = 32  # channels after the first layer
    depth: int = 7  # number of down-samplings; input sides must divide 2**depth
    max_channels: int = 224  # channel cap for the deep layers (keeps the fp32 ONNX file under 30 MB)
    dropout: float = 0.5  # in the innermost decoder blocks, as in pix2pix
    dropout_blocks: int = 3
    upsample: str = "resize"  # "resize" (nearest + 3x3 conv) or "transpose"


class UNetGenerator(nn.Module):
    """U-Net: L -> ab. Shapes: (N, 1, H, W) -> (N, 2, H, W)."""

    def __init__(self, cfg: GeneratorConfig) -> None:
        super().__init__()
        self.cfg = cfg
        widths = [min(cfg.ngf * 2**i, cfg.max_channels) for i in range(cfg.depth)]
        self.down = nn.ModuleList()
        in_ch = 1
        for i, out_ch in enumerate(widths):
            outermost, innermost = i == 0, i == cfg.depth - 1
            layers: list[nn.Module] = [] if outermost else [nn.LeakyReLU(0.2)]
            layers.append(nn.Conv2d(in_ch, out_ch, 4, 2, 1, bias=outermost or innermost))
            if not (outermost or innermost):
                layers.append(nn.BatchNorm2d(out_ch))
            self.down.append(nn.Sequential(*layers))
            in_ch = out_ch
        self.up = nn.ModuleList()
        for i in reversed(range(cfg.depth)):
            innermost, outermost = i == cfg.depth - 1, i == 0
            in_ch = widths[i] if innermost else widths[i] * 2  # skip concatenation
            out_ch = 2 if outermost else widths[i - 1]
            layers = [nn.ReLU(), _upsample(in_ch, out_ch, cfg.upsample, bias=outermost)]
            if outermost:
                layers.append(nn.Tanh())
            else:
                layers.append(nn.BatchNorm2d(out_ch))
                if cfg.depth - 1 - i < cfg.dropout_blocks and cfg.dropout > 0 and not innermost:
                    layers.append(nn.Dropout(cfg.dropout))
            self.up.append(nn.Sequential(*layers))

    def forward(self, lightness: torch.Tensor) -> torch.Tensor:
        skips = []
        x = lightness
        for block in self.down:
            x = block(x)
            skips.append(x)
        x = self.up[0](skips.pop())
        for block in self.up[1:]:
            x = block(torch.cat([x, skips.pop()], dim=1))
        return x


def _upsample(in_ch: int, out_ch: int, mode: str, bias: bool) -> nn.Module:
    if mode == "transpose":
        return nn.ConvTranspose2d(in_ch, out_ch, 4, 2, 1, bias=bias)
    if mode == "resize":
        return nn.Sequential(
            nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(in_ch, out_ch, 3, 1, 1, bias=bias)
        )
    raise ValueError(f"unknown upsample mode {mode!r}: use 'resize' or 'transpose'")


class PatchDiscriminator(nn.Module):
    """Conditional PatchGAN: (L, ab) (N, 3, H, W) -> patch logits (N, 1, H/8 - 2, W/8 - 2).

    With n_layers=3 each output logit sees a 70x70 receptive field.
    """

    def __init__(self, ndf: int = 64, n_layers: int = 3, in_channels: int = 3) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(in_channels, ndf, 4, 2, 1), nn.LeakyReLU(0.2)]
        ch = ndf
        for i in range(1, n_layers + 1):
            out_ch = ndf * min(2**i, 8)
            stride = 2 if i < n_layers else 1
            layers += [nn.Conv2d(ch, out_ch, 4, stride, 1, bias=False), nn.BatchNorm2d(out_ch), nn.LeakyReLU(0.2)]
            ch = out_ch
        layers.append(nn.Conv2d(ch, 1, 4, 1, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, lightness: torch.Tensor, ab: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([lightness, ab], dim=1))


def init_weights(net: nn.Module, gain: float = 0.02) -> None:
    """pix2pix initialisation: conv weights N(0, 0.02), norm weights N(1, 0.02), biases 0."""
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, gain)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, gain)
            nn.init.zeros_(m.bias)


GENERATORS = {
    "unet": lambda **kw: UNetGenerator(GeneratorConfig(**kw)),
}


def define_generator(name: str = "unet", **model_args) -> UNetGenerator:
    """Build and initialise a generator by name; model_args are GeneratorConfig fields."""
    if name not in GENERATORS:
        raise ValueError(f"unknown generator {name!r}; choose from {sorted(GENERATORS)}")
    net = GENERATORS[name](**model_args)
    init_weights(net)
    return net


def define_discriminator(ndf: int = 64, n_layers: int = 3) -> PatchDiscriminator:
    """Build and initialise the conditional PatchGAN."""
    net = PatchDiscriminator(ndf=ndf, n_layers=n_layers)
    init_weights(net)
    return net


def generator_args(net: UNetGenerator) -> dict:
    """The model_args that rebuild `net` with define_generator."""
    return asdict(net.cfg)


def count_parameters(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())
