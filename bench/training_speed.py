"""Part 4: training throughput on this CPU, images per second, for the shipped architecture.

    bench/quiet.sh .venv/bin/python -m bench.training_speed --size 128 --step gan

The networks and optimisers are built from training.options' defaults (the generator
models/colorizer.onnx was exported from, with its frozen stem and encoder
learning rate) and the PatchGAN with ndf 64, 3 layers. One step is
training.step.optimize_parameters, the function training.train calls per
batch: in the GAN phase a discriminator update on real and generated pairs,
then a generator update through the frozen discriminator plus L1 and the
moving-average update, every pair D sees through DiffAugment as the default
recipe has it; in the L1 warm-up only the generator's L1 update.
Batches are random tensors already in memory, so this is the networks' cost
alone: the real run also decodes and augments photos in a DataLoader worker
on the same cores.
"""
from __future__ import annotations

import argparse
import json

import torch

from bench.common import cores, load_results, save_results, table, time_runs
from training.networks import define_discriminator, define_generator
from training.options import parse_args
from training.step import build_gan, optimize_parameters


def make_step(kind: str, size: int, batch: int):
    """A closure running one optimize_parameters step on a fixed random batch."""
    args = parse_args(["--data", ".", "--size", str(size)])
    net_g = define_generator(args.generator).train()
    net_d = define_discriminator(ndf=args.ndf, n_layers=args.n_layers_d).train()
    gan = build_gan(args, net_g, net_d)
    generator = torch.Generator().manual_seed(0)
    lightness = torch.rand(batch, 1, size, size, generator=generator) * 2 - 1
    real_ab = (torch.rand(batch, 2, size, size, generator=generator) * 2 - 1) * 0.3
    return lambda: optimize_parameters(gan, lightness, real_ab, args.lambda_l1, warmup=kind == "l1")


def measure(kind: str, size: int, batch: int, warmup: int, steps: int) -> dict:
    torch.set_num_threads(cores())
    step = make_step(kind, size, batch)
    seconds = [ms / 1000 for ms in time_runs(step, warmup, steps)]
    median = sorted(seconds)[len(seconds) // 2]
    return {"step_s": {"median": round(median, 3), "min": round(min(seconds), 3), "max": round(max(seconds), 3)},
            "images_per_s": round(batch / median, 2), "batch": batch, "steps": steps, "warmup": warmup,
            "threads": torch.get_num_threads()}


def report(results: dict) -> str:
    rows = [[key.split("/")[0], key.split("/")[1], r["batch"], f"{r['step_s']['median']:.2f}",
             f"{r['step_s']['min']:.2f}-{r['step_s']['max']:.2f}", f"{r['images_per_s']:.1f}"]
            for key, r in sorted(results.items())]
    return table(["size", "step", "batch", "s/step (median)", "range", "images/s"], rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, nargs="+", default=[256, 128])
    parser.add_argument("--step", nargs="+", choices=("gan", "l1"), default=["gan", "l1"])
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--steps", type=int, default=5)
    args = parser.parse_args(argv)
    results = load_results("training")
    for size in args.size:
        for kind in args.step:
            results[f"{size}/{kind}"] = measure(kind, size, args.batch, args.warmup, args.steps)
            print(f"{size}/{kind}", json.dumps(results[f"{size}/{kind}"]), flush=True)
    save_results("training", results)
    print(report(results))


if __name__ == "__main__":
    main()
