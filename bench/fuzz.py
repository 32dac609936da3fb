"""Fuzz the image intake and the colorizer with mutated files: no input may crash, hang or bloat them.

    nice .venv/bin/python -m bench.fuzz --cases 20000        # ~10 min on the 2-core dev VM

Each case is a seed file (every format and mode the site accepts, plus files known to have upset
Pillow) mutated a few times: bytes flipped, runs overwritten with extreme values (0, 0xFF..., sizes
near 2^31), slices cut, duplicated or spliced from another seed. The case goes through
`open_image` and, when that gives an image, `Colorizer.colorize`. The only acceptable outcomes are
a colour image of the same size or an `ImageError`. A worker process runs the cases so that a hang
(over --hang-s) or a dead interpreter is caught and counted, and its peak RSS is reported.
Cases are numbered and generated from --seed, so any reported case can be replayed with --replay N.
"""
from __future__ import annotations

import argparse
import io
import json
import multiprocessing as mp
import os
import random
import time
import traceback

import numpy as np
from PIL import Image

from bench.common import save_results

MAX_PIXELS = 4_000_000  # mutated headers claim anything; a 50 MP decode per case would only measure the decoder
EXTREMES = [b"\x00\x00\x00\x00", b"\xff\xff\xff\xff", b"\x7f\xff\xff\xff", b"\x80\x00\x00\x00", b"\x00\x01\x00\x00"]


def seeds() -> list[bytes]:
    """Small valid files in every format and mode the intake accepts, and two known troublemakers."""
    from tests.helpers import dds_header, palette_png_without_plte

    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:48, 0:64]
    rgb = Image.fromarray(np.stack([x * 4, y * 5, (x + y) * 2], -1).astype(np.uint8))
    noisy = Image.fromarray(rng.integers(0, 256, (40, 56, 3), dtype=np.uint8))
    files = []

    def add(image: Image.Image, fmt: str, **options) -> None:
        buf = io.BytesIO()
        image.save(buf, format=fmt, **options)
        files.append(buf.getvalue())

    for fmt in ("JPEG", "PNG", "WEBP", "BMP", "TIFF", "GIF"):
        add(rgb, fmt)
    add(noisy, "JPEG", quality=90, progressive=True)
    add(rgb.convert("L"), "PNG")
    add(rgb.convert("P"), "PNG", transparency=0)
    add(rgb.convert("RGBA"), "PNG")
    add(rgb.convert("LA"), "PNG")
    add(rgb.convert("1"), "TIFF", compression="group4")
    add(rgb.convert("CMYK"), "JPEG")
    add(Image.fromarray((np.asarray(rgb.convert("L"), np.uint16) * 257)), "PNG")
    add(rgb, "TIFF", compression="tiff_lzw")
    add(rgb.convert("RGBA"), "WEBP", lossless=True)
    add(rgb, "GIF", save_all=True, append_images=[rgb.rotate(90)])
    files += [palette_png_without_plte(), dds_header()]
    return files


def mutate(rng: random.Random, data: bytes, corpus: list[bytes]) -> bytes:
    """1-4 random edits of `data`."""
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        kind = rng.randrange(6)
        pos = rng.randrange(len(out)) if out else 0
        if kind == 0:  # flip bytes
            for _ in range(rng.randint(1, 8)):
                if out:
                    out[rng.randrange(len(out))] = rng.randrange(256)
        elif kind == 1:  # an extreme 32-bit value: widths, heights, lengths, offsets
            out[pos:pos + 4] = rng.choice(EXTREMES)
        elif kind == 2:  # truncate
            del out[rng.randint(0, len(out)):]
        elif kind == 3:  # cut a slice
            del out[pos:pos + rng.randint(1, 64)]
        elif kind == 4:  # duplicate a slice
            out[pos:pos] = out[pos:pos + rng.randint(1, 256)]
        else:  # splice in a slice of another seed
            other = rng.choice(corpus)
            start = rng.randrange(len(other))
            out[pos:pos] = other[start:start + rng.randint(1, 256)]
    return bytes(out)


def case(seed: int, index: int, corpus: list[bytes]) -> bytes:
    rng = random.Random(seed * 1_000_003 + index)
    return mutate(rng, rng.choice(corpus), corpus)


def check(data: bytes, colorizer) -> str:
    """"image", "refused" (an ImageError) or "crash: <what>"; never raises."""
    from colorizer.imageio import ImageError, open_image

    try:
        image = open_image(data, max_pixels=MAX_PIXELS)
    except ImageError:
        return "refused"
    except Exception as exc:  # the finding
        return f"crash: open_image: {type(exc).__name__}: {exc}"
    try:
        result = colorizer.colorize(image)
    except Exception as exc:  # the finding
        return f"crash: colorize: {type(exc).__name__}: {exc}\n{traceback.format_exc()}"
    if result.size != image.size or result.mode not in ("RGB", "RGBA"):
        return f"crash: colorize gave {result.mode} {result.size} for {image.mode} {image.size}"
    return "image"


def _worker(connection, seed: int) -> None:
    from colorizer.engine import Colorizer

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)  # libtiff and libjpeg print a line per damaged file; the outcome is what counts

    colorizer, corpus = Colorizer.load(threads=1), seeds()
    while True:
        index = connection.recv()
        if index is None:
            connection.send(_peak_rss_mb())
            return
        connection.send(check(case(seed, index, corpus), colorizer))


def _peak_rss_mb() -> float:
    with open("/proc/self/status") as status:
        return round(next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024, 1)


def run(cases: int, seed: int, hang_s: float) -> dict:
    context = mp.get_context("spawn")
    outcomes = {"image": 0, "refused": 0}
    crashes, hangs, peak = [], [], 0.0
    started = time.monotonic()

    def start():
        parent, child = context.Pipe()
        process = context.Process(target=_worker, args=(child, seed), daemon=True)
        process.start()
        return process, parent

    process, connection = start()
    first = True
    for index in range(cases):
        connection.send(index)
        if connection.poll(hang_s + (60 if first else 0)):  # the first case also loads the model
            try:
                outcome = connection.recv()
            except EOFError:
                outcome = f"crash: the worker died (exit code {process.join(5) or process.exitcode})"
        else:
            hangs.append(index)
            process.kill()
            process.join()
            process, connection = start()
            first = True
            continue
        first = False
        if outcome.startswith("crash"):
            crashes.append({"case": index, "what": outcome})
            if not process.is_alive():
                process, connection = start()
                first = True
        else:
            outcomes[outcome] += 1
        if (index + 1) % 1000 == 0:
            print(f"{index + 1} cases, {len(crashes)} crashes, {len(hangs)} hangs, "
                  f"{time.monotonic() - started:.0f} s", flush=True)
    connection.send(None)
    peak = connection.recv() if connection.poll(30) else None
    process.join(10)
    return {"cases": cases, "seed": seed, "hang_s": hang_s, "max_pixels": MAX_PIXELS, "decoded_and_colorized":
            outcomes["image"], "refused_with_image_error": outcomes["refused"], "crashes": len(crashes),
            "hangs": len(hangs), "crash_cases": crashes[:20], "hang_cases": hangs[:20],
            "worker_peak_rss_mb": peak, "seconds": round(time.monotonic() - started, 1)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=10)
    parser.add_argument("--hang-s", type=float, default=10.0, help="a case taking longer than this is a hang")
    parser.add_argument("--replay", type=int, default=None, metavar="N", help="run case N here and print it")
    args = parser.parse_args(argv)
    if args.replay is not None:
        from colorizer.engine import Colorizer

        data = case(args.seed, args.replay, seeds())
        print(f"case {args.replay}: {len(data)} bytes, {data[:32]!r}...")
        print(check(data, Colorizer.load()))
        return
    result = run(args.cases, args.seed, args.hang_s)
    print(json.dumps(result, indent=2))
    save_results("fuzz", result)


if __name__ == "__main__":
    main()
