"""Give a trained colorizer a colour-classification head. Read top to bottom: set-up, data, networks, loop.

    python -m training.from_onnx models/colorizer.onnx runs/shipped.pt
    python -m training.train_bins runs/shipped.pt ../shared/data/photos/train --out runs/bins

The base generator (any effnet checkpoint, its hint branch included) is
frozen; a BinHead (training.networks) replaces its tanh output and learns,
by cross-entropy, the distribution of each pixel's colour over the gamut's
a*b* bins. The target is the photo's a*b* softly encoded over its nearest
bins (a Gaussian of sigma 5 a*b* units, as in Zhang et al. 2016), at
stride 4 as there: every other pixel of the head's stride-2 output. `--tune-last-stage` also trains the decoder's last stage,
whose features were shaped for a regression. The photos' bin frequencies
go into the head too, for its read-out (BinHead). OUT/last.pt exports with
training.export like any checkpoint; its `--temperature` and
`--prior-weight` pick the read-out, from faithful to vivid.
"""
from __future__ import annotations

import argparse
import csv
import os
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

from training.data import ColorPhotos
from training.networks import define_generator, generator_args
from training.options import pick_device

SIGMA = 5.0 / 110  # soft encoding's Gaussian, in model units


def soft_targets(ab: torch.Tensor, centres: torch.Tensor) -> torch.Tensor:
    """True ab (N, 2, h, w) -> a distribution over the bins (N, Q, h, w): a Gaussian around the truth."""
    distance2 = (ab.square().sum(dim=1, keepdim=True) - 2 * F.conv2d(ab, centres[:, :, None, None])
                 + centres.square().sum(dim=1)[None, :, None, None])
    return torch.softmax(-distance2 / (2 * SIGMA**2), dim=1)


def bin_frequencies(photos: ColorPhotos, centres: torch.Tensor) -> torch.Tensor:
    """How often each bin holds the photos' colour (Q,), soft-encoded at stride 4 as the loss sees it."""
    total = torch.zeros(len(centres), dtype=torch.float64)
    for _, ab in photos:
        total += soft_targets(F.avg_pool2d(ab[None], 4), centres).sum(dim=(0, 2, 3)).double()
    return (total / total.sum()).float()


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("base", help="checkpoint of the trained effnet generator (training.from_onnx makes one from a model)")
    p.add_argument("data", help="folder of colour photos")
    p.add_argument("--out", default="runs/bins", help="run folder: last.pt and losses.csv")
    p.add_argument("--resume", action="store_true", help="continue from OUT/last.pt if it exists")
    p.add_argument("--steps", type=int, default=3000, help="total steps; the learning rate decays linearly to 0")
    p.add_argument("--batch-size", type=int, default=16, help="crops per step")
    p.add_argument("--size", type=int, default=192, help="crop side (the base's working size)")
    p.add_argument("--sketch-prob", type=float, default=0.25, help="probability that a crop's L is a pencil sketch")
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate of the head")
    p.add_argument("--tune-last-stage", action="store_true", help="also train the decoder's last stage (at lr / 10)")
    p.add_argument("--temperature", type=float, default=1.0, help="read-out's annealing temperature, kept in the checkpoint")
    p.add_argument("--prior-weight", type=float, default=0.5,
                   help="read-out's discount of common colours (0..1), kept in the checkpoint")
    p.add_argument("--checkpoint-minutes", type=float, default=5.0, help="save OUT/last.pt this often")
    p.add_argument("--max-minutes", type=float, default=0.0, help="stop after this many minutes with a checkpoint (0 = no limit)")
    p.add_argument("--threads", type=int, default=0, help="CPU threads for torch (0 = torch's default)")
    p.add_argument("--workers", type=int, default=1, help="DataLoader worker processes")
    p.add_argument("--device", default="auto", help="'auto' (CUDA if present, else CPU), 'cpu', 'cuda' or 'cuda:N'")
    p.add_argument("--seed", type=int, default=0, help="random seed")
    return p


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    device = pick_device(args.device)
    torch.manual_seed(args.seed)
    if args.threads:
        torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    # --- data ---
    photos = ColorPhotos(args.data, size=args.size, train=True, sketch_prob=args.sketch_prob)
    loader = DataLoader(photos, batch_size=args.batch_size, shuffle=True, drop_last=True,
                        num_workers=args.workers, persistent_workers=args.workers > 0)

    # --- networks: the frozen base with a new head ---
    base = torch.load(args.base, map_location="cpu", weights_only=False)
    if base["model_args"].get("name") != "effnet":
        raise SystemExit("the head replaces the effnet generator's output; the base is not one")
    net = define_generator(**{**base["model_args"], "head": "bins", "temperature": args.temperature,
                              "prior_weight": args.prior_weight})
    missing, _ = net.load_state_dict({k: v for k, v in base["generator"].items() if not k.startswith("out.")},
                                     strict=False)
    if any(not k.startswith("out.") for k in missing):
        raise SystemExit(f"{args.base} lacks weights the network needs: {missing}")
    net.out.set_prior(bin_frequencies(ColorPhotos(args.data, size=args.size, train=False), net.out.centres))
    net.eval().requires_grad_(False)  # BatchNorm keeps the base's statistics
    learning = [{"params": net.out.parameters(), "lr": args.lr}]
    if args.tune_last_stage:
        learning.append({"params": net.up[-1].parameters(), "lr": args.lr / 10})
    for group in learning:
        group["params"] = list(group["params"])
        for param in group["params"]:
            param.requires_grad_(True)
    net.to(device)
    opt = torch.optim.Adam(learning)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0 - s / max(args.steps, 1))
    step = 0
    if args.resume and (out / "last.pt").exists():
        ckpt = torch.load(out / "last.pt", map_location=device, weights_only=False)
        net.load_state_dict(ckpt["generator"])
        opt.load_state_dict(ckpt["opt"])
        sched.load_state_dict(ckpt["sched"])
        step = ckpt["step"]
        print(f"resumed from {out / 'last.pt'} at step {step}")

    def save_checkpoint() -> None:
        state = {"generator": net.state_dict(), "model_args": generator_args(net), "opt": opt.state_dict(),
                 "sched": sched.state_dict(), "step": step,
                 "config": {**vars(args), "base_config": base.get("config", {})}}
        torch.save(state, out / "last.tmp")
        os.replace(out / "last.tmp", out / "last.pt")

    # --- loop ---
    log_file = open(out / "losses.csv", "a", newline="")
    log = csv.writer(log_file)
    if log_file.tell() == 0:
        log.writerow(["step", "cross_entropy", "lr", "seconds"])
    t0 = last_save = time.time()
    while step < args.steps:
        for lightness, real_ab in loader:
            lightness, real_ab = lightness.to(device), real_ab.to(device)
            logits = net.out.logits(net.decoder_features(lightness), every=2)  # at stride 4
            target = soft_targets(F.avg_pool2d(real_ab, 4), net.out.centres)
            loss = -(target * torch.log_softmax(logits, dim=1)).sum(dim=1).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            if step % 10 == 0:
                log.writerow([step, f"{loss.item():.5f}", f"{sched.get_last_lr()[0]:.3g}", f"{time.time() - t0:.1f}"])
                log_file.flush()
            if time.time() - last_save > args.checkpoint_minutes * 60:
                save_checkpoint()
                last_save = time.time()
            if step >= args.steps or (args.max_minutes and time.time() - t0 > args.max_minutes * 60):
                break
        if args.max_minutes and time.time() - t0 > args.max_minutes * 60:
            break
    save_checkpoint()
    log_file.close()
    print(f"stopped at step {step}; {out / 'last.pt'}")


if __name__ == "__main__":
    main()
