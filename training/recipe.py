"""The shipped model's recipe as one command: train, blend, teach hints, export, evaluate.

    python -m training.recipe --data ../shared/data/photos/train --val ../shared/data/photos/val --out runs/v2

Phases, each in its own folder under OUT, with the model card's schedule as
the defaults:

  gan/      L1 warm-up for --warmup-epochs, then the GAN to --epochs, at --size
  l1/       the L1-only twin: a fork of gan/'s last warm-up epoch, L1 to --epochs
  gan192/   gan/ fine-tuned at --fine-size for --gan-fine-epochs more epochs
  l1_192/   l1/ fine-tuned there for --l1-fine-epochs more
  blend.pt  --alpha x gan192/'s moving average + the rest x l1_192/ (deep network interpolation)
  hints/    a hint branch on the blend (training.hintdata's pack, then training.train_hints; the
            shipped branch had two such runs and was carried over to v2.3: models/MODEL_CARD.md)
  colorizer.onnx, val.json   the exported model and, with --val, its scores (training.evaluate)

Every phase resumes: run the same command again after a stop and each phase
continues from its last checkpoint, or finds itself done. A fork copies its
parent's checkpoint only if it has none of its own yet. `--only` runs the
named phases, so on two cores the twin can run beside the GAN run, one
thread each: `--only gan gan192` in one process, and once gan/ has passed its
warm-up, `--only l1 l1_192` in another; then `--only blend hints export evaluate`.
On a GPU, pass a bigger --batch-size and more --workers; --phase-minutes caps
each training phase (it stops with a checkpoint that a rerun continues).
"""
from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from training import evaluate, export, hintdata, interpolate, train, train_hints
from training.options import DEVICE_HELP

PHASES = ("gan", "l1", "gan192", "l1_192", "blend", "hints", "export", "evaluate")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m training.recipe", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--data", required=True, help="folder of colour photos for training")
    p.add_argument("--val", default=None, help="folder of colour photos for sample grids and the final evaluation")
    p.add_argument("--out", default="runs/recipe", help="folder of the phases' run folders and the model")
    p.add_argument("--only", nargs="+", choices=PHASES, default=PHASES, help="run only these phases, in recipe order")
    p.add_argument("--size", type=int, default=128, help="crop side of the first phases")
    p.add_argument("--fine-size", type=int, default=192, help="crop side of the fine-tuning: the model's working size")
    p.add_argument("--warmup-epochs", type=int, default=14, help="L1-only epochs before the GAN and its twin fork")
    p.add_argument("--epochs", type=int, default=30, help="epochs of the first phases, warm-up included")
    p.add_argument("--gan-fine-epochs", type=int, default=10, help="epochs of the GAN run at --fine-size")
    p.add_argument("--l1-fine-epochs", type=int, default=20, help="epochs of the L1 twin at --fine-size")
    p.add_argument("--steps-per-epoch", type=int, default=0, help="cap on the first phases' steps per epoch (0 = all photos)")
    p.add_argument("--fine-steps-per-epoch", type=int, default=50, help="steps per epoch at --fine-size")
    p.add_argument("--ema", type=float, default=0.995, help="decay of the GAN generator's moving average")
    p.add_argument("--alpha", type=float, default=0.7, help="weight of the GAN generator in the blend")
    p.add_argument("--hint-variants", type=int, default=2, help="hint examples per training photo")
    p.add_argument("--hint-steps", type=int, default=2000, help="steps of the hint branch (0 = join --branch untrained)")
    p.add_argument("--branch", default=None, help="hint checkpoint whose branch the hint phase starts from")
    p.add_argument("--batch-size", type=int, default=16, help="images per training step")
    p.add_argument("--workers", type=int, default=1, help="DataLoader workers, and hint pack processes")
    p.add_argument("--threads", type=int, default=1, help="CPU threads for torch (0 = torch's default)")
    p.add_argument("--device", default="auto", help=DEVICE_HELP)
    p.add_argument("--encoder-weights", default=None, help="ImageNet weights file (training.pack) instead of the package's")
    p.add_argument("--phase-minutes", type=float, default=0.0, help="stop each training phase after this long (0 = no limit)")
    p.add_argument("--seed", type=int, default=0, help="random seed of every phase")
    return p


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    run = set(args.only)
    each_run = ["--batch-size", str(args.batch_size), "--threads", str(args.threads), "--device", args.device,
                "--seed", str(args.seed), "--max-minutes", str(args.phase_minutes), "--resume"]  # hint phase too
    common = ["--data", args.data, "--workers", str(args.workers), *each_run]
    common += ["--val", args.val] if args.val else []
    common += ["--encoder-weights", args.encoder_weights] if args.encoder_weights else []
    first = ["--size", str(args.size), "--epochs", str(args.epochs), "--max-steps-per-epoch", str(args.steps_per_epoch)]
    fine = ["--size", str(args.fine_size), "--max-steps-per-epoch", str(args.fine_steps_per_epoch)]
    ema = ["--ema", str(args.ema)]

    if "gan" in run:
        train.main([*common, *first, *ema, "--out", str(out / "gan"), "--warmup-epochs", str(args.warmup_epochs)])
    if "l1" in run:
        fork(out / "gan" / f"epoch_{args.warmup_epochs:03d}.pt", out / "l1")
        train.main([*common, *first, "--out", str(out / "l1"), "--warmup-epochs", str(args.epochs)])
    if "gan192" in run:
        fork(out / "gan" / "last.pt", out / "gan192")
        train.main([*common, *fine, *ema, "--out", str(out / "gan192"),
                    "--epochs", str(args.epochs + args.gan_fine_epochs), "--warmup-epochs", str(args.warmup_epochs)])
    if "l1_192" in run:
        l1_epochs = str(args.epochs + args.l1_fine_epochs)
        fork(out / "l1" / "last.pt", out / "l1_192")
        train.main([*common, *fine, "--out", str(out / "l1_192"), "--epochs", l1_epochs, "--warmup-epochs", l1_epochs])
    if "blend" in run:
        interpolate.main([str(out / "gan192" / "last.pt"), str(out / "l1_192" / "last.pt"), "--ema",
                          "--alpha", str(args.alpha), "--out", str(out / "blend.pt")])
    if "hints" in run:
        pack = out / "hintpack.npz"
        if not pack.exists():
            hintdata.main([args.data, str(pack), "--grid", str(args.fine_size), "--variants", str(args.hint_variants),
                           "--jobs", str(max(args.workers, 1)), "--seed", str(args.seed)])
        train_hints.main([str(out / "blend.pt"), str(pack), "--out", str(out / "hints"), *each_run,
                          "--steps", str(args.hint_steps), *(["--branch", args.branch] if args.branch else [])])
    if "export" in run:
        export.main([str(out / "hints" / "last.pt"), str(out / "colorizer.onnx")])
    if "evaluate" in run and args.val:
        evaluate.main(["--model", str(out / "colorizer.onnx"), args.val, "--hints", "1", "5", "10", "20",
                       "--sketches", "--json", str(out / "val.json")])


def fork(parent: Path, run: Path) -> None:
    """Start run from parent's checkpoint, unless run already has one of its own (a resumed recipe)."""
    if not (run / "last.pt").exists():
        if not parent.exists():
            raise SystemExit(f"{run.name} starts from {parent}, which is not there yet: run its parent phase first")
        run.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(parent, run / "last.pt")


if __name__ == "__main__":
    main()
