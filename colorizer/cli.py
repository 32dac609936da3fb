"""Command line: `python -m colorizer colorize INPUT... --out-dir DIR`.

A thin edge over the shared library: parse arguments, open each file with
colorizer.imageio, colorize with colorizer.engine, write PNG. One bad file
is reported on one line and the others are still done, so a batch of
hundreds of scans is never lost to a single corrupt one.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from colorizer.engine import Colorizer
from colorizer.errors import MAX_VIVIDNESS, BadParameter, ColorizerError, parse_vividness
from colorizer.hints import Hint, HintError, parse_hint
from colorizer.imageio import open_image

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
PROGRESS_MIN_FILES = 4  # fewer files finish before a progress line would help


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m colorizer", description="Colorize grayscale photos and pencil sketches.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    colorize = commands.add_parser(
        "colorize", help="colorize images, writing one PNG each",
        description="Colorize each INPUT and write it as PNG, at the input's full resolution.")
    colorize.add_argument("inputs", nargs="+", type=Path, metavar="INPUT",
                          help="image files (JPEG, PNG, WebP, BMP, TIFF, GIF)")
    target = colorize.add_mutually_exclusive_group(required=True)
    target.add_argument("--out-dir", type=Path, metavar="DIR",
                        help="write DIR/<input stem>.png for each input (created if missing; "
                             "a name used twice gets -1, -2...)")
    target.add_argument("-o", "--output", type=Path, metavar="FILE", help="output PNG for a single INPUT")
    colorize.add_argument("--model", type=Path, default=None, metavar="PATH",
                          help="ONNX model (default: $COLORIZER_MODEL_PATH, else models/colorizer.onnx)")
    colorize.add_argument("--vividness", type=vividness, default=1.0, metavar="V",
                          help=f"colour strength: 0 grey, 1 as predicted, up to {MAX_VIVIDNESS:g} "
                               "(default: %(default)s)")
    colorize.add_argument("--hint", type=hint, action="append", default=[], metavar="X,Y,#RRGGBB",
                          help="colour hint: pixel X, Y (from the left and top of the input) should be "
                               "#RRGGBB; repeat for several; the photo keeps its lightness")
    colorize.add_argument("--size", type=positive_int, default=None, metavar="N",
                          help="working size the model runs at (default: from the model)")
    colorize.add_argument("--threads", type=positive_int, default=None, metavar="N",
                          help="inference threads (default: all cores)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 a file or the model failed, 2 usage)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.output and len(args.inputs) > 1:
        parser.error("-o/--output takes a single INPUT; use --out-dir for several")
    try:
        colorizer = Colorizer.load(args.model, threads=args.threads, size=args.size)
    except ValueError as exc:  # a --size this model cannot run at
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:  # missing file, or one onnxruntime cannot load (it raises bare Exceptions)
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    outputs = [args.output] if args.output else output_paths(args.inputs, args.out_dir)
    failed = 0
    progress = Progress(len(args.inputs), sys.stderr)
    for source, target in zip(args.inputs, outputs):
        try:
            colorize_file(colorizer, source, target, args.vividness, args.hint)
        except Exception as exc:  # one bad file never stops the batch; MemoryError included
            failed += 1
            progress.message(f"error: {source}: {_describe(exc)}")
        progress.advance()
    progress.close()
    return EXIT_FAILED if failed else EXIT_OK


def colorize_file(colorizer: Colorizer, source: Path, target: Path, vividness: float,
                  hints: list[Hint] = ()) -> None:
    """Colorize one file into a PNG at `target`; raises ColorizerError (HintError: a hint off this picture),
    OSError, or whatever else failed."""
    result = colorizer.colorization(open_image(source), vividness, hints)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(result.to_png())


def output_paths(inputs: list[Path], out_dir: Path) -> list[Path]:
    """out_dir/<stem>.png for each input, never clobbering an input or another output."""
    taken = {source.resolve() for source in inputs}
    paths = []
    for source in inputs:
        path, n = out_dir / f"{source.stem}.png", 0
        while path.resolve() in taken:
            n += 1
            path = out_dir / f"{source.stem}-{n}.png"
        taken.add(path.resolve())
        paths.append(path)
    return paths


class Progress:
    """A `[####    ] 3/10` line on stderr redrawn in place; only on a terminal and for several files."""

    WIDTH = 30

    def __init__(self, total: int, stream: TextIO) -> None:
        self.total, self.stream, self.done = total, stream, 0
        self.shown = total >= PROGRESS_MIN_FILES and stream.isatty()

    def advance(self) -> None:
        self.done += 1
        self._draw()

    def message(self, line: str) -> None:
        """Print a line (an error) above the progress line."""
        self._clear()
        print(line, file=self.stream)
        self._draw()

    def close(self) -> None:
        if self.shown:
            self.stream.write("\n")
            self.stream.flush()

    def _draw(self) -> None:
        if self.shown:
            filled = self.WIDTH * self.done // self.total
            self.stream.write(f"\r[{'#' * filled}{' ' * (self.WIDTH - filled)}] {self.done}/{self.total}")
            self.stream.flush()

    def _clear(self) -> None:
        if self.shown:
            self.stream.write("\r" + " " * (self.WIDTH + 2 * len(str(self.total)) + 4) + "\r")


def _describe(exc: Exception) -> str:
    """ColorizerError messages (ImageError, HintError...) are written for users; OSError's strerror drops
    the errno noise; anything else is a failure we did not foresee, named by its type (no traceback)."""
    if isinstance(exc, ColorizerError):
        return str(exc)
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    return f"could not colorize this file ({type(exc).__name__}: {exc})"


def vividness(text: str) -> float:
    try:
        return parse_vividness(text)
    except BadParameter as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def hint(text: str) -> Hint:
    try:
        return parse_hint(text)
    except HintError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be a positive integer")
    return value
