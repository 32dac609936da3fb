"""The run folder that the short trainers share (training.finetune, training.train_hints).

Each keeps OUT/last.pt, written whole or not at all, that --resume continues
(weights, optimiser, schedule and step), and OUT/losses.csv, appended to
across resumes with its header written once.
"""
from __future__ import annotations

import argparse
import csv
import os
from pathlib import Path
from typing import TextIO

import torch
from torch import nn

from training.options import pick_device


def start(args: argparse.Namespace) -> tuple[torch.device, Path]:
    """The device and the (created) run folder of a trainer's --device, --seed, --threads and --out."""
    device = pick_device(args.device)
    torch.manual_seed(args.seed)
    if args.threads:
        torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    return device, out


def resume(out: Path, device: torch.device, net: nn.Module, opt: torch.optim.Optimizer,
           sched: torch.optim.lr_scheduler.LRScheduler) -> int:
    """Load OUT/last.pt into net, opt and sched if it exists; the step to go on from (0 without one)."""
    if not (out / "last.pt").exists():
        return 0
    ckpt = torch.load(out / "last.pt", map_location=device, weights_only=False)
    net.load_state_dict(ckpt["generator"])
    opt.load_state_dict(ckpt["opt"])
    sched.load_state_dict(ckpt["sched"])
    print(f"resumed from {out / 'last.pt'} at step {ckpt['step']}")
    return ckpt["step"]


def save(out: Path, state: dict, name: str = "last.pt") -> None:
    """Write state to OUT/name through a temporary file, so a stop mid-write leaves the last one whole."""
    torch.save(state, out / "last.tmp")
    os.replace(out / "last.tmp", out / name)


def open_log(out: Path, header: list[str]) -> tuple[TextIO, csv.writer]:
    """OUT/losses.csv opened for appending, with header written if the file is new."""
    log_file = open(out / "losses.csv", "a", newline="")
    log = csv.writer(log_file)
    if log_file.tell() == 0:
        log.writerow(header)
    return log_file, log
