"""One training step, as pix2pix's optimize_parameters: the discriminator, then the generator.

training.train builds its GAN with build_gan and calls optimize_parameters for
every batch; bench.training_speed does the same, so what is measured is what is
trained.
"""
from __future__ import annotations

import argparse
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Callable, ContextManager

import torch
import torch.nn.functional as F
from torch import nn

from training.diffaugment import diff_augment
from training.losses import discriminator_loss, generator_loss
from training.networks import generator_param_groups


@dataclass
class GAN:
    """The networks and optimisers one step updates.

    net_g and net_d may be DDP wrappers; plain_d is D itself, used for the
    generator's step, where D is frozen and needs no gradient synchronisation.
    ema, when present, is an exponential moving average of G, updated after
    each GAN step: averaging the weights over the last thousand steps smooths
    the blotches a GAN generator jumps between. augment, when present,
    transforms every (L, ab) pair on its way into D (training.diffaugment).
    """

    net_g: nn.Module
    net_d: nn.Module
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    plain_d: nn.Module
    ema: torch.optim.swa_utils.AveragedModel | None = None
    augment: Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]] | None = None


def build_gan(args: argparse.Namespace, net_g: nn.Module, net_d: nn.Module) -> GAN:
    """G and D with what training.options says they learn with: Adam for each, D's at
    lr * --lr-d-scale, G's pretrained encoder slower and its stem frozen, G's moving
    average when --ema is set, DiffAugment when --diffaugment is.

    The networks stay plain here; under torchrun, training.train wraps gan.net_g and
    gan.net_d in DDP afterwards (plain_d stays D itself).
    """
    betas = (args.beta1, 0.999)
    opt_g = torch.optim.Adam(generator_param_groups(net_g, args.lr, args.encoder_lr_scale, args.freeze_blocks),
                             betas=betas)
    opt_d = torch.optim.Adam(net_d.parameters(), lr=args.lr * args.lr_d_scale, betas=betas)
    ema = torch.optim.swa_utils.AveragedModel(
        net_g, multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(args.ema), use_buffers=True
    ) if args.ema else None
    return GAN(net_g, net_d, opt_g, opt_d, net_d, ema, diff_augment if args.diffaugment else None)


def optimize_parameters(gan: GAN, lightness: torch.Tensor, real_ab: torch.Tensor, lambda_l1: float,
                        warmup: bool = False,
                        autocast: Callable[[], ContextManager] = nullcontext) -> dict[str, torch.Tensor]:
    """One step on a batch: L (N, 1, H, W) and true ab (N, 2, H, W), both scaled to about [-1, 1].

    GAN phase: D learns real pairs -> 1 and generated pairs -> 0, then G
    minimises -log D(G(x)|x) + lambda * |G(x) - y|_1 through the frozen D.
    L1 warm-up: only G's L1 step. Returns the loss terms (detached scalars).
    """
    with autocast():
        fake_ab = gan.net_g(lightness)
    zero = torch.zeros((), device=lightness.device)
    d_real = d_fake = g_gan = zero
    if not warmup:
        with autocast():
            loss_d, d_real, d_fake = discriminator_loss(gan.net_d(*_seen(gan, lightness, real_ab)),
                                                        gan.net_d(*_seen(gan, lightness, fake_ab.detach())))
        gan.opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        gan.opt_d.step()

    gan.plain_d.requires_grad_(False)
    with autocast():
        if warmup:
            g_l1 = F.l1_loss(fake_ab.float(), real_ab)
            loss_g = lambda_l1 * g_l1
        else:
            loss_g, g_gan, g_l1 = generator_loss(gan.plain_d(*_seen(gan, lightness, fake_ab)), fake_ab.float(), real_ab,
                                                 lambda_l1)
    gan.opt_g.zero_grad(set_to_none=True)
    loss_g.backward()
    gan.opt_g.step()
    gan.plain_d.requires_grad_(True)
    if gan.ema is not None and not warmup:
        gan.ema.update_parameters(gan.net_g)
    return {"g_gan": g_gan.detach(), "g_l1": g_l1.detach(), "d_real": d_real.detach(), "d_fake": d_fake.detach()}


def _seen(gan: GAN, lightness: torch.Tensor, ab: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The pair as D sees it: augmented when the GAN has an augment."""
    return gan.augment(lightness, ab) if gan.augment else (lightness, ab)
