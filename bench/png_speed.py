"""PNG encoding of a colorized 12 MP photo: Pillow against colorizer.png (zlib, ISA-L) on one thread and every core.

    bench/quiet.sh .venv/bin/python -m bench.png_speed

The image is the real output of Colorizer.colorize for the generated 12 MP
grey JPEG, so it compresses like what users download. Best of 3 per encoder.
"""
from __future__ import annotations

import argparse
import io
import json
import time

from bench.common import cached_photo, cores, load_results, save_results, table
from colorizer import png
from colorizer.engine import Colorizer
from colorizer.imageio import open_image


def best_ms(encode, repeats: int) -> tuple[float, int]:
    times, size = [], 0
    for _ in range(repeats):
        started = time.perf_counter()
        size = len(encode())
        times.append((time.perf_counter() - started) * 1000)
    return round(min(times), 1), size


def pillow(image, level: int) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG", compress_level=level)
    return buf.getvalue()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--megapixels", type=float, default=12)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    image = Colorizer.load(threads=cores()).colorize(open_image(cached_photo(args.megapixels).read_bytes()))
    encoders = {"Pillow, level 1 (adaptive filters)": lambda: pillow(image, 1),
                "Pillow, level 6 (its default)": lambda: pillow(image, 6),
                "colorizer.png, level 6 (zlib), 1 thread": lambda: png.encode(image, 6, threads=1),
                "colorizer.png, level 1 (ISA-L), 1 thread": lambda: png.encode(image, 1, threads=1),
                "colorizer.png, level 2 (ISA-L), 1 thread": lambda: png.encode(image, 2, threads=1),
                f"colorizer.png, level 2 (ISA-L), {cores()} threads (to_png)": lambda: png.encode(image)}
    results = load_results("png")
    for name, encode in encoders.items():
        ms, size = best_ms(encode, args.repeats)
        results[f"{args.megapixels:g} MP: {name}"] = {"ms": ms, "mb": round(size / 1e6, 2)}
        print(name, json.dumps(results[f"{args.megapixels:g} MP: {name}"]), flush=True)
    save_results("png", results)
    print(report(results))


def report(results: dict) -> str:
    return table(["encoder", "ms (best of 3)", "PNG MB"], [[k, v["ms"], v["mb"]] for k, v in results.items()])


if __name__ == "__main__":
    main()
