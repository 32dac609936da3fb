"""The pix2pix objective, exactly as specified, on discriminator logits.

Generator:      -log D(G(x)|x) + lambda * |G(x) - y|_1   (non-saturating GAN term)
Discriminator:  -[log D(y|x) + log(1 - D(G(x)|x))]        (real/fake log loss)

Written with binary cross-entropy on logits, which is the same quantity
computed without overflowing for confident discriminators.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def gan_loss(logits: torch.Tensor, target_is_real: bool) -> torch.Tensor:
    """Mean of -log sigmoid(logits) (real) or -log(1 - sigmoid(logits)) (fake) over all patches."""
    target = torch.ones_like(logits) if target_is_real else torch.zeros_like(logits)
    return F.binary_cross_entropy_with_logits(logits, target)


def generator_loss(
    fake_logits: torch.Tensor, fake_ab: torch.Tensor, real_ab: torch.Tensor, lambda_l1: float
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Return (total, gan term, l1 term); the l1 term is the mean absolute error before lambda."""
    gan = gan_loss(fake_logits, True)
    l1 = F.l1_loss(fake_ab, real_ab)
    return gan + lambda_l1 * l1, gan, l1


def discriminator_loss(
    real_logits: torch.Tensor, fake_logits: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Return (total, real term, fake term). pix2pix halves the sum to slow D relative to G."""
    real = gan_loss(real_logits, True)
    fake = gan_loss(fake_logits, False)
    return 0.5 * (real + fake), real, fake
