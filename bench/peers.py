"""The peers' colorization networks, rebuilt from their published architectures, for timing only.

Speed does not depend on weight values, so both run with random weights.
Input and output follow our model's contract (L in, ab out, full resolution)
so that the three networks are timed on the same job.

- pix2pix `unet_256` (Isola et al. 2017; the reference PyTorch code's
  UnetGenerator with num_downs=8, ngf=64, BatchNorm, dropout in the three
  innermost 512-channel decoder blocks): 8 strided 4x4 convolutions down,
  8 transposed 4x4 convolutions up, skip connections by concatenation.
  54.4 M parameters.
- Zhang, Isola, Efros 2016, "Colorful Image Colorization" (the published
  layer list, conv1..conv8): VGG-like blocks with BatchNorm after each,
  dilation 2 in conv5 and conv6, a transposed convolution in conv8, a
  313-way softmax over quantised ab bins at 1/4 resolution, the 1x1
  regression from bin probabilities to ab, and the final 4x bilinear
  upsampling. 32.2 M parameters.
"""
from __future__ import annotations

import torch
from torch import nn

PIX2PIX_PARAMS_M = 54.4
ZHANG_PARAMS_M = 32.2


class UnetBlock(nn.Module):
    """pix2pix's UnetSkipConnectionBlock: down, the inner block, up; the input is concatenated on the way out."""

    def __init__(self, outer: int, inner: int, in_ch: int | None = None, sub: nn.Module | None = None,
                 outermost: bool = False, dropout: bool = False) -> None:
        super().__init__()
        self.outermost = outermost
        down_conv = nn.Conv2d(in_ch or outer, inner, 4, 2, 1, bias=False)  # bias=False: BatchNorm follows
        if outermost:
            layers = [down_conv, sub, nn.ReLU(True), nn.ConvTranspose2d(inner * 2, outer, 4, 2, 1), nn.Tanh()]
        elif sub is None:  # innermost
            layers = [nn.LeakyReLU(0.2, True), down_conv,
                      nn.ReLU(True), nn.ConvTranspose2d(inner, outer, 4, 2, 1, bias=False), nn.BatchNorm2d(outer)]
        else:
            layers = [nn.LeakyReLU(0.2, True), down_conv, nn.BatchNorm2d(inner), sub,
                      nn.ReLU(True), nn.ConvTranspose2d(inner * 2, outer, 4, 2, 1, bias=False), nn.BatchNorm2d(outer)]
            if dropout:
                layers.append(nn.Dropout(0.5))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x) if self.outermost else torch.cat([x, self.model(x)], 1)


def pix2pix_unet256(in_ch: int = 1, out_ch: int = 2, ngf: int = 64) -> nn.Module:
    """pix2pix's UnetGenerator(num_downs=8, ngf=64, norm=batch, use_dropout=True), built inside out."""
    block = UnetBlock(ngf * 8, ngf * 8)  # innermost: 1x1 at 256x256 input
    for _ in range(3):
        block = UnetBlock(ngf * 8, ngf * 8, sub=block, dropout=True)
    block = UnetBlock(ngf * 4, ngf * 8, sub=block)
    block = UnetBlock(ngf * 2, ngf * 4, sub=block)
    block = UnetBlock(ngf, ngf * 2, sub=block)
    return UnetBlock(out_ch, ngf, in_ch=in_ch, sub=block, outermost=True)


def _convs(widths: list[int], strided_last: bool = False, dilation: int = 1) -> list[nn.Module]:
    """3x3 conv + ReLU for each consecutive pair of widths; the last one may stride 2; then BatchNorm."""
    layers: list[nn.Module] = []
    for i, (cin, cout) in enumerate(zip(widths, widths[1:])):
        stride = 2 if strided_last and i == len(widths) - 2 else 1
        layers += [nn.Conv2d(cin, cout, 3, stride, dilation, dilation=dilation), nn.ReLU(True)]
    return layers + [nn.BatchNorm2d(widths[-1])]


class ZhangColorization(nn.Module):
    """Zhang et al. 2016: L (N, 1, H, W) -> ab (N, 2, H, W), through 313 ab-bin probabilities at H/4."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(
            *_convs([1, 64, 64], strided_last=True),  # conv1 -> H/2
            *_convs([64, 128, 128], strided_last=True),  # conv2 -> H/4
            *_convs([128, 256, 256, 256], strided_last=True),  # conv3 -> H/8
            *_convs([256, 512, 512, 512]),  # conv4
            *_convs([512, 512, 512, 512], dilation=2),  # conv5
            *_convs([512, 512, 512, 512], dilation=2),  # conv6
            *_convs([512, 512, 512, 512]),  # conv7
            nn.ConvTranspose2d(512, 256, 4, 2, 1), nn.ReLU(True),  # conv8 -> H/4
            nn.Conv2d(256, 256, 3, 1, 1), nn.ReLU(True),
            nn.Conv2d(256, 256, 3, 1, 1), nn.ReLU(True),
            nn.Conv2d(256, 313, 1),  # logits over the 313 in-gamut ab bins
        )
        self.to_ab = nn.Conv2d(313, 2, 1, bias=False)  # expectation over the bins' ab values
        self.upsample = nn.Upsample(scale_factor=4, mode="bilinear")

    def forward(self, lightness: torch.Tensor) -> torch.Tensor:
        return self.upsample(self.to_ab(torch.softmax(self.body(lightness), dim=1)))


def count_m(net: nn.Module) -> float:
    """Parameters in millions, rounded as papers quote them."""
    return round(sum(p.numel() for p in net.parameters()) / 1e6, 1)


def build(name: str) -> nn.Module:
    """A peer network in eval mode; asserts its published parameter count."""
    net, expected = {"pix2pix_unet256": (pix2pix_unet256, PIX2PIX_PARAMS_M),
                     "zhang2016": (ZhangColorization, ZHANG_PARAMS_M)}[name]
    net = net().eval()
    assert count_m(net) == expected, f"{name}: {count_m(net)} M parameters, the published architecture has {expected} M"
    return net
