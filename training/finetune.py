"""Fine-tune a trained generator by L1 alone. Read top to bottom: set-up, data, network, loop.

    python -m training.from_onnx models/colorizer.onnx runs/shipped.pt
    python -m training.finetune runs/shipped.pt --data ../shared/data/photos/train --out runs/finetune

The GAN-trained network guesses vivid hues and is often wrong about them; a
few hundred steps of L1 from it keep its hues and lower its chroma wherever
it is unsure (the L1 twin trained from the warm-up instead guesses sepia).
A chroma gain (training.networks.EffNetUNet, set when the hint branch is
trained: training.train_hints --chroma-gain) then brings the colour back.
BatchNorm stays in eval mode: a checkpoint rebuilt from an ONNX file has its
BatchNorms folded into the convolutions (training.from_onnx), and batch
statistics of 16 crops would undo that. OUT/last.pt is a checkpoint that
training.export, training.train_hints and training.interpolate read.
"""
from __future__ import annotations

import argparse

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

from training import run_folder
from training.data import ColorPhotos
from training.networks import define_generator, generator_args, generator_param_groups
from training.options import DEVICE_HELP


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("base", help="generator checkpoint to start from (training.train, training.from_onnx)")
    p.add_argument("--data", required=True, help="folder of colour photos, searched recursively")
    p.add_argument("--out", default="runs/finetune", help="run folder: last.pt, step_N.pt and losses.csv")
    p.add_argument("--resume", action="store_true", help="continue from OUT/last.pt if it exists")
    p.add_argument("--steps", type=int, default=800, help="total steps; the learning rate decays linearly to 0")
    p.add_argument("--save-every", type=int, default=300, help="also keep OUT/step_N.pt every this many steps (0 = never)")
    p.add_argument("--size", type=int, default=192, help="training crop side in pixels (a multiple of 32)")
    p.add_argument("--batch-size", type=int, default=16, help="crops per step")
    p.add_argument("--lr", type=float, default=1e-4, help="Adam learning rate of the decoder")
    p.add_argument("--encoder-lr-scale", type=float, default=0.1, help="the pretrained encoder learns at lr * this")
    p.add_argument("--freeze-blocks", type=int, default=3, help="freeze the encoder's stem and this many first blocks")
    p.add_argument("--sketch-prob", type=float, default=0.25, help="probability of a synthetic pencil sketch as input")
    p.add_argument("--checkpoint-minutes", type=float, default=5.0, help="save OUT/last.pt this often")
    p.add_argument("--max-minutes", type=float, default=0.0, help="stop after this many minutes with a checkpoint (0 = no limit)")
    p.add_argument("--workers", type=int, default=1, help="DataLoader worker processes (decode + Lab)")
    p.add_argument("--threads", type=int, default=0, help="CPU threads for torch (0 = torch's default)")
    p.add_argument("--device", default="auto", help=DEVICE_HELP)
    p.add_argument("--seed", type=int, default=0, help="random seed")
    return p


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    device, out = run_folder.start(args)

    # --- data ---
    photos = ColorPhotos(args.data, size=args.size, train=True, sketch_prob=args.sketch_prob)
    loader = DataLoader(photos, batch_size=args.batch_size, shuffle=True, drop_last=True, num_workers=args.workers,
                        persistent_workers=args.workers > 0)
    if not len(loader):
        raise SystemExit(f"{args.data} holds {len(photos)} photos, fewer than one batch of {args.batch_size}")

    # --- network: BatchNorm frozen, the encoder's first blocks too ---
    base = torch.load(args.base, map_location="cpu", weights_only=False)
    net = define_generator(**base["model_args"])
    net.load_state_dict(base["generator"])
    net.eval().to(device)
    opt = torch.optim.Adam(generator_param_groups(net, args.lr, args.encoder_lr_scale, args.freeze_blocks),
                           betas=(0.5, 0.999))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0 - s / max(args.steps, 1))
    step = run_folder.resume(out, device, net, opt, sched) if args.resume else 0

    def save_checkpoint(name: str = "last.pt") -> None:
        state = {"generator": net.state_dict(), "model_args": generator_args(net), "opt": opt.state_dict(),
                 "sched": sched.state_dict(), "step": step,
                 "config": {**vars(args), "base_config": base.get("config", {})}}
        run_folder.save(out, state, name)

    # --- loop ---
    log_file, log = run_folder.open_log(out, ["step", "l1", "lr", "seconds"])
    clock = run_folder.Clock(args.checkpoint_minutes, args.max_minutes)
    while step < args.steps:
        for lightness, real_ab in loader:
            loss = F.l1_loss(net(lightness.to(device)), real_ab.to(device))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            if step % 10 == 0:
                log.writerow([step, f"{loss.item():.5f}", f"{sched.get_last_lr()[0]:.3g}", f"{clock.seconds():.1f}"])
                log_file.flush()
            if args.save_every and step % args.save_every == 0:
                save_checkpoint(f"step_{step}.pt")
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
