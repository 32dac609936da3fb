"""The run folder and clock that the trainers share (training.train, training.finetune, training.train_hints).

Each keeps OUT/last.pt, written whole or not at all, that --resume continues
(weights, optimiser, schedule and step), and OUT/losses.csv, appended to
across resumes with its header written once; a Clock says when the next
periodic checkpoint is due and when --max-minutes is up.
"""
from __future__ import annotations

import argparse
import csv
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import torch
from torch import nn

from training.options import pick_device

if TYPE_CHECKING:
    import _csv  # csv.writer() is a function; the writers it returns are _csv.Writer


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
    torch.save(state, out / f"{name}.tmp")
    os.replace(out / f"{name}.tmp", out / name)


def open_log(out: Path, header: list[str]) -> tuple[TextIO, _csv.Writer]:
    """OUT/losses.csv opened for appending, with header written if the file is new."""
    log_file = open(out / "losses.csv", "a", newline="")
    log = csv.writer(log_file)
    if log_file.tell() == 0:
        log.writerow(header)
    return log_file, log


class Clock:
    """A run's time since it started: when a checkpoint is due (--checkpoint-minutes), when --max-minutes is up."""

    def __init__(self, checkpoint_minutes: float, max_minutes: float) -> None:
        self.checkpoint_minutes, self.max_minutes = checkpoint_minutes, max_minutes
        self.start = self.last_save = time.time()

    def seconds(self) -> float:
        return time.time() - self.start

    def checkpoint_due(self) -> bool:
        return time.time() - self.last_save > self.checkpoint_minutes * 60

    def saved(self) -> None:
        """A checkpoint was just written: the next is due checkpoint_minutes from now."""
        self.last_save = time.time()

    def out_of_time(self) -> bool:
        return bool(self.max_minutes) and self.seconds() > self.max_minutes * 60
