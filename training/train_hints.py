"""Teach a trained colorizer to read colour hints. Read top to bottom: set-up, data, networks, loop.

    python -m training.hintdata ../shared/data/photos/train runs/hintpack.npz --jobs 2
    python -m training.train_hints runs/blend.pt runs/hintpack.npz --out runs/hints

The base generator (any effnet checkpoint) is frozen and gains a hint
branch (training.networks.HintJoin at each decoder stride) that reads the
engine's hint map; only the branch learns, by L1 against the photo's true
colour. With no hints the branch adds exactly zero, so the automatic colour
stays the base model's, and the GAN-trained vividness of the base is kept
wherever hints say nothing. OUT/last.pt is a checkpoint that
training.export turns into a model with a second input, `hints`. A hint
checkpoint works as the base too: its branch goes on learning (on a new
pack, with a fresh schedule) and the base network under it stays frozen.
`--branch` starts the branch from another checkpoint's instead of from
zero: a retrained base keeps what a trained branch knows about reading
hints; `--steps 0` joins it to the new base untrained, and a few hundred
steps fit it to the new base's colour. `--chroma-gain` sets the base's
colour gain (training.finetune says why); the branch then learns under it.
"""
from __future__ import annotations

import argparse

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

from training import run_folder
from training.hintdata import HintPack
from training.networks import define_generator, generator_args
from training.options import DEVICE_HELP


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("base", help="checkpoint of the trained effnet generator to extend (its `generator` weights; a hint "
                        "checkpoint's branch is kept and trained on)")
    p.add_argument("pack", help="hint pack from training.hintdata")
    p.add_argument("--out", default="runs/hints", help="run folder: last.pt and losses.csv")
    p.add_argument("--resume", action="store_true", help="continue from OUT/last.pt if it exists")
    p.add_argument("--steps", type=int, default=2000,
                   help="total steps; the learning rate decays linearly to 0 (0 = only join the branch to the base)")
    p.add_argument("--batch-size", type=int, default=16, help="examples per step")
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate of the hint branch")
    p.add_argument("--hint-width", type=int, default=64, help="channels inside each hint join (the shipped branch: 64)")
    p.add_argument("--chroma-gain", type=float, default=None,
                   help="multiply the network's colour by this (training.networks.EffNetUNet), so the branch learns "
                        "under it (default: the base's, 1 for most)")
    p.add_argument("--branch", default=None,
                   help="hint checkpoint whose branch this run starts from (default: the base's own, else zero)")
    p.add_argument("--checkpoint-minutes", type=float, default=5.0, help="save OUT/last.pt this often")
    p.add_argument("--max-minutes", type=float, default=0.0, help="stop after this many minutes with a checkpoint (0 = no limit)")
    p.add_argument("--threads", type=int, default=0, help="CPU threads for torch (0 = torch's default)")
    p.add_argument("--device", default="auto", help=DEVICE_HELP)
    p.add_argument("--seed", type=int, default=0, help="random seed")
    return p


def branch_state(path: str, hint_width: int) -> dict[str, torch.Tensor]:
    """The hint joins' weights of a hint checkpoint, keyed as net.hint_joins names them."""
    ckpt = torch.load(path, map_location="cpu", weights_only=False)
    joins = {k.removeprefix("hint_joins."): v for k, v in ckpt["generator"].items() if k.startswith("hint_joins.")}
    if not joins:
        raise SystemExit(f"{path} holds no hint branch")
    if ckpt["model_args"].get("hint_width") != hint_width:
        raise SystemExit(f"{path}'s branch is {ckpt['model_args'].get('hint_width')} wide, not --hint-width {hint_width}")
    return joins


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    device, out = run_folder.start(args)

    # --- data ---
    pack = HintPack(args.pack)
    loader = DataLoader(pack, batch_size=args.batch_size, shuffle=True, drop_last=True)
    size = pack.lightness.shape[-1]

    # --- networks: the frozen base plus a hint branch that starts at zero ---
    base = torch.load(args.base, map_location="cpu", weights_only=False)
    if base["model_args"].get("name") != "effnet":
        raise SystemExit("the hint branch joins the effnet generator's decoder; the base is not one")
    gain = {} if args.chroma_gain is None else {"chroma_gain": args.chroma_gain}
    net = define_generator(**{**base["model_args"], "hints": True, "hint_width": args.hint_width, **gain})
    net.load_state_dict(base["generator"], strict=False)
    if args.branch:
        net.hint_joins.load_state_dict(branch_state(args.branch, args.hint_width))
    net.eval().requires_grad_(False)  # BatchNorm keeps the base's statistics
    net.hint_joins.requires_grad_(True)
    net.to(device)
    opt = torch.optim.Adam(net.hint_joins.parameters(), lr=args.lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0 - s / max(args.steps, 1))
    step = run_folder.resume(out, device, net, opt, sched) if args.resume else 0

    def save_checkpoint() -> None:
        state = {"generator": net.state_dict(), "model_args": generator_args(net), "opt": opt.state_dict(),
                 "sched": sched.state_dict(), "step": step,
                 "config": {**vars(args), "size": size, "base_config": base.get("config", {})}}
        run_folder.save(out, state)

    # --- loop ---
    if step < args.steps and not len(loader):  # else the loop below would wait forever for a first batch
        raise SystemExit(f"{args.pack} holds {len(pack)} examples, fewer than one batch of {args.batch_size}")
    log_file, log = run_folder.open_log(out, ["step", "l1", "l1_base", "lr", "seconds"])
    clock = run_folder.Clock(args.checkpoint_minutes, args.max_minutes)
    while step < args.steps:
        for lightness, hints, real_ab in loader:
            lightness, hints, real_ab = lightness.to(device), hints.to(device), real_ab.to(device)
            fake_ab = net(lightness, hints)
            loss = F.l1_loss(fake_ab, real_ab)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            if step % 10 == 0:  # the base's own loss on the same batch, for comparison
                with torch.no_grad():
                    base_loss = F.l1_loss(net(lightness), real_ab).item()
                log.writerow([step, f"{loss.item():.5f}", f"{base_loss:.5f}", f"{sched.get_last_lr()[0]:.3g}",
                              f"{clock.seconds():.1f}"])
                log_file.flush()
            if clock.checkpoint_due():
                save_checkpoint()
                clock.saved()
            if step >= args.steps or clock.out_of_time():
                break
        if clock.out_of_time():
            break
    save_checkpoint()
    log_file.close()
    print(f"stopped at step {step}; {out / 'last.pt'}")


if __name__ == "__main__":
    main()
