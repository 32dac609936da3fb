"""Network interpolation between a GAN generator and its L1-only twin.

    python -m training.interpolate runs/main/last.pt runs/l1only/last.pt --alpha 0.6 --out runs/blend.pt

Both runs must fork from the same checkpoint (the end of the L1 warm-up),
so their weights stay in one basin and a weighted average of them is a
working network (Wang et al. 2019, "Deep Network Interpolation"; ESRGAN's
PSNR/GAN trade-off). alpha = 1 is the GAN generator, 0 the L1 one: one
number trades the GAN's vivid but blotchy colour against L1's faithful but
sepia colour, without training anything again. BatchNorm running statistics
are averaged like the weights, which is exact enough for twins this close.
The output is a checkpoint that training.export reads like any other.
"""
from __future__ import annotations

import argparse

import torch

from training.networks import define_generator, generator_args


def interpolate(gan: dict, l1: dict, alpha: float) -> dict:
    """alpha * gan + (1 - alpha) * l1 for every floating-point tensor of the generator state."""
    if gan.keys() != l1.keys():
        raise ValueError("the two generators have different layers: they are not twins")
    return {k: alpha * v + (1 - alpha) * l1[k] if v.is_floating_point() else v for k, v in gan.items()}


def same_network(a: dict, b: dict) -> bool:
    """Whether two checkpoints' model_args build the same generator.

    Compared as rebuilt, so a checkpoint written before a config field existed
    (its default then implied) still matches one that spells it out.
    """
    return generator_args(define_generator(**a)) == generator_args(define_generator(**b))


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("gan", help="checkpoint of the GAN-trained generator")
    p.add_argument("l1", help="checkpoint of the L1-only generator forked from the same warm-up")
    p.add_argument("--alpha", type=float, default=0.5, help="weight of the GAN generator, 0..1")
    p.add_argument("--ema", action="store_true", help="take the GAN checkpoint's moving average of the generator")
    p.add_argument("--out", required=True, help="checkpoint to write (generator and model_args only)")
    args = p.parse_args(argv)
    if not 0.0 <= args.alpha <= 1.0:
        raise SystemExit("--alpha must lie between 0 and 1")
    gan = torch.load(args.gan, map_location="cpu", weights_only=False)
    l1 = torch.load(args.l1, map_location="cpu", weights_only=False)
    if not same_network(gan["model_args"], l1["model_args"]):
        raise SystemExit("the checkpoints have different model_args")
    if args.ema and "generator_ema" not in gan:
        raise SystemExit(f"{args.gan} holds no moving average of the generator")
    state = {"generator": interpolate(gan["generator_ema" if args.ema else "generator"], l1["generator"], args.alpha),
             "model_args": gan["model_args"],
             "config": {**gan["config"], "interpolation": {"gan": args.gan, "l1": args.l1, "alpha": args.alpha,
                                                       "ema": args.ema}}}
    torch.save(state, args.out)
    print(f"wrote {args.out}: {args.alpha:g} x {args.gan} + {1 - args.alpha:g} x {args.l1}")


if __name__ == "__main__":
    main()
