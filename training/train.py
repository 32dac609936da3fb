"""Train the colorization GAN. Read top to bottom: set-up, data, networks, loop.

    python -m training.train --data ../shared/data/photos/train --val ../shared/data/photos/val --out runs/x
    torchrun --nproc_per_node=8 -m training.train --data /imagenet/train ...   # DistributedDataParallel

Each step (training.step.optimize_parameters) trains the discriminator on
(L, real ab) vs (L, G(L)), then the generator on the non-saturating GAN term
plus lambda * L1, with D frozen; during --warmup-epochs only the generator's
L1 step runs. Checkpoints (OUT/last.pt, OUT/epoch_NNN.pt) hold the networks,
the generator's moving average, optimisers, model_args and the resolved
options, so export and resume need nothing else. --max-minutes ends a
time-boxed run with a checkpoint that --resume continues from.

A fork (e.g. a GAN run and its L1-only twin from one warm-up) is a copy of
the warm-up's last.pt in a new run folder, resumed with other options.
"""
from __future__ import annotations

import json
import os
import warnings
from contextlib import nullcontext
from pathlib import Path

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel as DDP
from torch.utils.data import DataLoader, DistributedSampler, Subset
from tqdm import tqdm

from training import run_folder
from training.data import ColorPhotos
from training.networks import define_discriminator, define_generator, generator_args
from training.options import parse_args, pick_device
from training.samples import save_grid
from training.step import build_gan, optimize_parameters


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)

    # --- processes and device: one process, or one per GPU/CPU rank under torchrun ---
    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    device = pick_device(args.device)
    if distributed:
        local_rank = int(os.environ["LOCAL_RANK"])
        if device.type == "cuda":
            device = torch.device("cuda", local_rank)
            torch.cuda.set_device(device)
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    rank = dist.get_rank() if distributed else 0
    main_process = rank == 0
    torch.manual_seed(args.seed + rank)
    if args.threads:
        torch.set_num_threads(args.threads)
    use_amp = args.amp == "on" or (args.amp == "auto" and device.type == "cuda")
    autocast = (lambda: torch.autocast(device.type, dtype=torch.bfloat16)) if use_amp else nullcontext
    out = Path(args.out)
    if main_process:
        out.mkdir(parents=True, exist_ok=True)
        (out / "options.json").write_text(json.dumps(vars(args), indent=2))

    # --- data ---
    train_set = ColorPhotos(args.data, args.size, train=True, sketch_prob=args.sketch_prob,
                            crop_scale=args.crop_scale)
    sampler = DistributedSampler(train_set, seed=args.seed) if distributed else None
    loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=sampler is None, sampler=sampler,
                        num_workers=args.workers, drop_last=True, pin_memory=device.type == "cuda",
                        persistent_workers=args.workers > 0)
    grid_batch = None
    if args.val and main_process:
        val_set = ColorPhotos(args.val, args.size, train=False)
        grid_set = Subset(val_set, range(min(args.grid_images, len(val_set))))
        grid_batch = next(iter(DataLoader(grid_set, batch_size=len(grid_set))))

    # --- networks and optimisers ---
    pretrained = args.pretrained and not (args.resume and (out / "last.pt").exists())  # a checkpoint replaces them
    net_g = define_generator(args.generator, pretrained=pretrained and (args.encoder_weights or True),
                             **generator_options(args)).to(device)
    net_d = define_discriminator(ndf=args.ndf, n_layers=args.n_layers_d).to(device)
    gan = build_gan(args, net_g, net_d)
    opt_g, opt_d, ema = gan.opt_g, gan.opt_d, gan.ema
    half = args.epochs // 2  # constant lr for the first half, then linear decay to 0
    decay = lambda epoch: 1.0 - max(0, epoch - half) / (args.epochs - half + 1)  # noqa: E731
    sched_g = torch.optim.lr_scheduler.LambdaLR(opt_g, decay)
    sched_d = torch.optim.lr_scheduler.LambdaLR(opt_d, decay)
    start_epoch, step = 0, 0
    if args.resume and (out / "last.pt").exists():
        ckpt = torch.load(out / "last.pt", map_location=device, weights_only=False)
        if "discriminator" not in ckpt:  # a hint run's or training.from_onnx's: weights without a run's state
            raise SystemExit(f"{out / 'last.pt'} is not a checkpoint of training.train (it has no discriminator "
                             "or optimiser state to resume)")
        net_g.load_state_dict(ckpt["generator"])
        net_d.load_state_dict(ckpt["discriminator"])
        if ema is not None and "generator_ema" in ckpt:
            ema.module.load_state_dict(ckpt["generator_ema"])
            ema.n_averaged.fill_(ckpt["ema_steps"])
        for obj, key in ((opt_g, "opt_g"), (opt_d, "opt_d"), (sched_g, "sched_g"), (sched_d, "sched_d")):
            obj.load_state_dict(ckpt[key])
        start_epoch, step = ckpt["epoch"], ckpt["step"]
        if main_process:
            print(f"resumed from {out / 'last.pt'} at epoch {start_epoch}, step {step}")
    # net_g and net_d stay the plain networks; under torchrun the step trains their DDP
    # wrappers, and reaches D for G's step through gan.plain_d, D itself: frozen there,
    # it needs no gradient synchronisation.
    if distributed:
        gan.net_g, gan.net_d = DDP(net_g), DDP(net_d)

    def save_checkpoint(epoch: int, name: str) -> None:
        state = {
            "generator": net_g.state_dict(), "discriminator": net_d.state_dict(),
            "opt_g": opt_g.state_dict(), "opt_d": opt_d.state_dict(),
            "sched_g": sched_g.state_dict(), "sched_d": sched_d.state_dict(),
            "model_args": generator_args(net_g), "config": vars(args), "epoch": epoch, "step": step,
        }
        if ema is not None and ema.n_averaged > 0:
            state |= {"generator_ema": ema.module.state_dict(), "ema_steps": int(ema.n_averaged)}
        run_folder.save(out, state, name)

    # --- training loop ---
    header = ["step", "epoch", "phase", "g_gan", "g_l1", "d_real", "d_fake", "lr", "seconds"]
    log_file, log = run_folder.open_log(out, header) if main_process else (None, None)
    clock = run_folder.Clock(args.checkpoint_minutes, args.max_minutes)
    stopped = False  # --max-minutes ran out inside an epoch
    for epoch in range(start_epoch, args.epochs):
        if sampler:
            sampler.set_epoch(epoch)
        warmup = epoch < args.warmup_epochs
        gan.net_g.train(), gan.net_d.train()
        steps = len(loader) if not args.max_steps_per_epoch else min(len(loader), args.max_steps_per_epoch)
        bar = tqdm(total=steps, desc=f"epoch {epoch + 1}/{args.epochs}{' (L1 warm-up)' if warmup else ''}",
                   disable=not main_process, dynamic_ncols=True)
        for i, (lightness, real_ab) in enumerate(loader):
            if i >= steps:
                break
            lightness = lightness.to(device, non_blocking=True)  # (N, 1, H, W) in [-1, 1]
            real_ab = real_ab.to(device, non_blocking=True)  # (N, 2, H, W) in about [-1, 1]
            losses = optimize_parameters(gan, lightness, real_ab, args.lambda_l1, warmup, autocast)
            step += 1
            if main_process:
                values = [losses[k].item() for k in ("g_gan", "g_l1", "d_real", "d_fake")]
                log.writerow([step, epoch + 1, "l1" if warmup else "gan", *(f"{v:.5f}" for v in values),
                              f"{sched_g.get_last_lr()[0]:.3g}", f"{clock.seconds():.1f}"])
                bar.set_postfix(g_gan=f"{values[0]:.3f}", l1=f"{values[1]:.4f}", d_real=f"{values[2]:.3f}",
                                d_fake=f"{values[3]:.3f}")
                bar.update()
                if clock.checkpoint_due():
                    save_checkpoint(epoch, "last.pt")  # mid-epoch: resume restarts this epoch
                    clock.saved()
            if clock.out_of_time() and i + 1 < steps:
                stopped = True
                break
        bar.close()
        if stopped:  # the epoch is unfinished: save it as such, and resume repeats it
            if main_process:
                save_checkpoint(epoch, "last.pt")
                print(f"--max-minutes {args.max_minutes:g} reached at epoch {epoch + 1}, step {step}")
            break
        sched_g.step()
        with warnings.catch_warnings():  # in warm-up D never stepped, but its schedule still advances
            warnings.simplefilter("ignore", UserWarning)
            sched_d.step()

        if main_process:
            log_file.flush()
            save_checkpoint(epoch + 1, "last.pt")
            save_checkpoint(epoch + 1, f"epoch_{epoch + 1:03d}.pt")
            clock.saved()
            if grid_batch is not None:
                shown = ema.module if ema is not None and ema.n_averaged > 0 else net_g
                shown.eval()
                with torch.no_grad():
                    fake = shown(grid_batch[0].to(device)).float().cpu()
                save_grid(grid_batch[0], fake, grid_batch[1], out / f"grid_{epoch + 1:03d}.png")
    if log_file:
        log_file.close()
    if distributed:
        dist.destroy_process_group()


def generator_options(args) -> dict:
    """The model_args of --generator taken from the command line."""
    if args.generator == "unet":
        return {"ngf": args.ngf, "depth": args.depth, "max_channels": args.max_channels, "upsample": args.upsample}
    return {}


if __name__ == "__main__":
    main()
