"""Training pairs for the hint branch: photos, colour hints drawn from them, and the engine's hint map.

    python -m training.hintdata ../shared/data/photos/train runs/hintpack.npz --variants 2 --jobs 2

The hint map (colorizer.hints.hint_map: the hints spread by the edge-aware
chain, and how strongly they reach each pixel), with the maps that find
the recoloured regions below, costs about 0.16 s per example on one core
of the 2-core VM, as much as the example's share of a training step on
both, so it is computed once into a pack rather than in the DataLoader. Each
variant of a photo is a random square crop framed as the evaluation frames
photos (256 px, Lanczos), shrunk to the working grid as the engine does,
with 1 to MAX_HINTS hints at random pixels carrying the photo's colour
there (as `training.evaluate --hints` draws them); a third of the variants
show a pencil sketch of the crop instead of its L*, with the photo's
colours as hints, because sketches are where people place hints most.

Hints drawn from the truth only ever agree with the photo, so a network
trained on them alone learns that one bluish point means a bluish picture:
a visitor's single blue pin on a red car then tints the whole photo. So
half of the variants are recoloured first: at 1 to 3 of the hint points,
the region the edge-aware chain reaches from that point (a drawn outline's
inside, in a sketch) takes a random colour, and the hints and the target
are drawn from that edited photo. The network learns what people mean by
a pin: this region is this colour, the rest stays as it was.
"""
from __future__ import annotations

import argparse
import multiprocessing
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps
from torch.utils.data import Dataset

from colorizer.engine import _small_rgb
from colorizer.hints import Hint, hint_map
from colorizer.lab import encode_ab, encode_l, lab_to_rgb8, rgb_to_l, rgb_to_lab
from training.photos import find_images
from training.sketch import pencil_sketch

FRAME = 256  # the evaluation's picture size, which hints' pixel coordinates refer to
MAX_HINTS = 32
SKETCH_SHARE = 1 / 3
EDIT_SHARE = 1 / 2
MAX_EDITS = 3


def make_variant(photo: Image.Image, grid: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """One training example from an RGB photo: input L*, true a*b* and hint map on a grid x grid grid."""
    side = int(min(photo.size) * rng.uniform(0.55, 1.0))
    left, top = int(rng.integers(photo.width - side + 1)), int(rng.integers(photo.height - side + 1))
    framed = photo.resize((FRAME, FRAME), Image.LANCZOS, box=(left, top, left + side, top + side))
    if rng.random() < SKETCH_SHARE:
        sketch = pencil_sketch(np.asarray(framed.convert("L")), rng)
        shown = Image.fromarray(sketch).convert("RGB")
    else:
        shown = framed
    lightness = rgb_to_l(np.asarray(_small_rgb(shown, (grid, grid))))
    count = int(np.exp(rng.uniform(0.0, np.log(MAX_HINTS + 1))))
    points = rng.integers(FRAME, size=(max(count, 1), 2))
    if rng.random() < EDIT_SHARE:
        framed = recolour_regions(framed, lightness, points[:rng.integers(1, MAX_EDITS + 1)], rng)
    truth = np.asarray(framed)
    hints = [Hint(int(x), int(y), "#" + bytes(truth[y, x]).hex()) for x, y in points]
    true_ab = rgb_to_lab(np.asarray(_small_rgb(framed, (grid, grid))))[..., 1:]
    return {"L": lightness.astype(np.float16), "ab": true_ab.astype(np.float16),
            "hints": hint_map(lightness, hints, (FRAME, FRAME)).astype(np.float16)}


def recolour_regions(framed: Image.Image, lightness: np.ndarray, seeds: np.ndarray,
                     rng: np.random.Generator) -> Image.Image:
    """`framed` with the region around each seed (x, y) a random colour, L* kept.

    The region is where the hint spread reaches from a pin at the seed
    (the confidence of colorizer.hints.hint_map on the grid whose L* is
    `lightness`), softly edged.
    """
    lab = rgb_to_lab(np.asarray(framed))
    for x, y in seeds:
        reach = hint_map(lightness, [Hint(int(x), int(y), "#000000")], framed.size)[..., 2]
        mask = np.clip(4.0 * reach - 0.4, 0.0, 1.0).astype(np.float32)
        mask = np.asarray(Image.fromarray(mask, mode="F").resize(framed.size, Image.BILINEAR))[..., None]
        hue, chroma = rng.uniform(0, 2 * np.pi), rng.uniform(15, 65)
        lab[..., 1:] = (1 - mask) * lab[..., 1:] + mask * np.array([np.cos(hue), np.sin(hue)]) * chroma
    return Image.fromarray(lab_to_rgb8(lab[..., 0], lab[..., 1], lab[..., 2]))


def _job(task: tuple[list[Path], int, int, int]) -> dict[str, np.ndarray]:
    files, grid, variants, seed = task
    if not files:
        return {}
    rng = np.random.default_rng(seed)
    examples = []
    for path in files:
        with Image.open(path) as img:
            photo = ImageOps.exif_transpose(img).convert("RGB")
        examples += [make_variant(photo, grid, rng) for _ in range(variants)]
    return {k: np.stack([e[k] for e in examples]) for k in examples[0]}


def build_pack(folder: str | Path, out: str | Path, grid: int = 192, variants: int = 2, jobs: int = 1,
               seed: int = 0) -> int:
    """Write `variants` examples of every photo under folder to the .npz `out`; returns the count."""
    files = find_images(folder)
    tasks = [(files[i::jobs * 8], grid, variants, seed * 1000 + i) for i in range(jobs * 8)]
    with multiprocessing.Pool(jobs) as pool:
        parts = [p for p in pool.map(_job, tasks) if p]
    pack = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    np.savez(out, **pack)
    return len(pack["L"])


class HintPack(Dataset):
    """A pack's examples as model tensors: L (1, H, W), hints (3, H, W), true ab (2, H, W); random flips."""

    def __init__(self, path: str | Path) -> None:
        with np.load(path) as pack:
            self.lightness, self.ab, self.hints = pack["L"], pack["ab"], pack["hints"]

    def __len__(self) -> int:
        return len(self.lightness)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        lightness = encode_l(self.lightness[index].astype(np.float32))[None]
        hints = self.hints[index].astype(np.float32).transpose(2, 0, 1)
        ab = encode_ab(self.ab[index].astype(np.float32)).transpose(2, 0, 1)
        if torch.rand(()) < 0.5:
            lightness, hints, ab = lightness[..., ::-1], hints[..., ::-1], ab[..., ::-1]
        return tuple(torch.from_numpy(np.ascontiguousarray(x)) for x in (lightness, hints, ab))


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("folder", help="folder of colour photos, searched recursively")
    p.add_argument("out", help=".npz pack to write")
    p.add_argument("--grid", type=int, default=192, help="working grid side (the model's working size)")
    p.add_argument("--variants", type=int, default=2, help="examples (crop, hints, sketch or not) per photo")
    p.add_argument("--jobs", type=int, default=1, help="worker processes")
    p.add_argument("--seed", type=int, default=0, help="random seed")
    args = p.parse_args(argv)
    count = build_pack(args.folder, args.out, args.grid, args.variants, args.jobs, args.seed)
    print(f"wrote {count} examples to {args.out}")


if __name__ == "__main__":
    main()
