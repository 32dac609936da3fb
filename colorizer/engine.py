"""The ONNX colorizer: a photo of any size in, the same photo in colour out.

The generator works at the small size it was trained for (its `working_size`
metadata), but users upload 12-megapixel phone photos and expect them back
just as sharp. So the model only predicts colour: the photo is shrunk to fit
the working size with its aspect ratio kept (a squashed picture is not what
the encoder learned from), padded to the model's size multiple, and the
prediction cropped back. The network also colours the mirror image, and
the two predictions are averaged: a colour that depends on which way the
picture faces is a guess, and the mean of the two guesses is closer to the
truth (MODEL_CARD.md: +0.2 dB PSNR on val, for a second pass of the network
at the working size). A model trained to read hints (an ONNX input `hints`)
is given the hints spread over the grid (colorizer.hints.hint_map) and
recolours what they say belongs with them; for every model the hints then
correct the prediction (colorizer.hints.apply_hints), so each pin shows its
colour. The ab is upsampled to the original resolution and recombined with
the original full-resolution L, which carries all the detail. Full-resolution
work runs in horizontal bands, side by side on the cores, and a PNG is
deflated band by band as the colour is made (Colorization.to_png), so that
memory stays a few bytes per pixel above the decoded image.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import onnxruntime as ort
from PIL import Image

from colorizer import png
from colorizer.errors import MAX_VIVIDNESS
from colorizer.hints import Hint, apply_hints, check_inside, hint_map
from colorizer.imageio import fit_within
from colorizer.lab import decode_ab, encode_l, grey_to_l, lab_to_rgb8, rgb_to_l
from colorizer.threads import map_bands

DEFAULT_SIZE = 256
# Full-resolution pixels converted per band: small enough that a band's float32
# temporaries stay near the CPU cache and memory stays a few bytes per pixel, large enough
# that the two band threads seldom wait for each other at the GIL between numpy calls.
# 2**16 against 2**15 on the 2-core VM (bench/RESULTS.md): the 12 MP bands 252-295 ms against
# 313-430, the site worker's peak for a 50 MP upload 3 MB higher; 2**17 was slower again.
BAND_PIXELS = 1 << 16


def default_model_path() -> Path:
    """$COLORIZER_MODEL_PATH, or the model shipped in models/."""
    env = os.environ.get("COLORIZER_MODEL_PATH")
    return Path(env) if env else Path(__file__).resolve().parent.parent / "models" / "colorizer.onnx"


class Colorizer:
    """One onnxruntime session; create it once per process and reuse it."""

    def __init__(self, session: ort.InferenceSession, size: int, path: Path, mirror: bool = True) -> None:
        self.session, self.size, self.path, self.mirror = session, size, path, mirror
        self.metadata = dict(session.get_modelmeta().custom_metadata_map)
        height, width = session.get_inputs()[0].shape[2:]
        self.fixed_shape = isinstance(height, int) and isinstance(width, int)
        self.size_multiple = int(self.metadata.get("size_multiple", 1))
        self.reads_hints = reads_hints(session)

    @classmethod
    def load(cls, path: str | os.PathLike | None = None, threads: int | None = None,
             size: int | None = None, mirror: bool = True) -> "Colorizer":
        """Open the model at `path` (default: default_model_path()).

        threads: intra-op threads (None = onnxruntime's default, all cores).
        size: working size; default from the model's fixed input shape, else
        its `working_size` metadata, else 256. Raises ValueError for a size
        the model cannot run at (not a multiple of its `size_multiple`).
        mirror: average the network's colour for the picture and its mirror
        image (the default); False runs the network once, as evaluated alone.
        """
        path = Path(path) if path else default_model_path()
        if not path.is_file():
            raise FileNotFoundError(f"colorizer model not found at {path} (set COLORIZER_MODEL_PATH)")
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        # No busy-waiting between operators: a web worker runs several requests at once, and
        # spinning threads would burn the CPU the others need (~10% of the model's CPU time).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        # No memory arena: onnxruntime would keep the largest activations it ever needed for the
        # process's life; allocating them per run costs no measurable time at 192 (bench/RESULTS.md,
        # seventh session) and the site worker peaks 8-10 MB lower.
        options.enable_cpu_mem_arena = False
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        size = size or _working_size(session)
        _check_size(session, size)
        return cls(session, size, path, mirror)

    def describe(self) -> dict:
        """A short, JSON-ready description for health checks and logs."""
        return {"path": self.path.name, "size": self.size,
                "model_args": json.loads(self.metadata.get("model_args", "null"))}

    def grid(self, width: int, height: int) -> tuple[int, int]:
        """The (width, height) a width x height picture is shrunk to: long side = working size, aspect kept."""
        if self.fixed_shape:
            return self.size, self.size
        scale = self.size / max(width, height)
        return max(1, round(width * scale)), max(1, round(height * scale))

    def predict_ab(self, image: Image.Image, hints: list[Hint] = ()) -> np.ndarray:
        """Colour for `image` on its working-size grid (see grid()): a*, b* as float32 (h, w, 2).

        hints, in the image's pixel coordinates, correct the model's colour (colorizer.hints).
        """
        width, height = self.grid(*image.size)
        small = _small_rgb(image, (width, height))  # never a full-resolution RGB copy of a grey or RGBA image
        lightness = rgb_to_l(np.asarray(small))  # (h, w) L*
        spread = hint_map(lightness, list(hints), image.size) if self.reads_hints else None
        ab = self._network_ab(lightness, spread)
        if self.mirror:  # the mirror image's colour, mirrored back (one run each: see _network_ab)
            flipped = self._network_ab(lightness[:, ::-1], None if spread is None else spread[:, ::-1])
            ab = 0.5 * (ab + flipped[:, ::-1])
        return apply_hints(lightness, decode_ab(ab), list(hints), image.size)

    def _network_ab(self, lightness: np.ndarray, spread: np.ndarray | None) -> np.ndarray:
        """The network's ab (h, w, 2) in [-1, 1] for L* (h, w) and, for a hint-reading model, the
        hint map (h, w, 3), padded to the size multiple and the prediction cropped back.

        The engine runs it once per view, not on a batch of the picture and its mirror: the batch
        was 2 ms faster at 192 but raised the site worker's peak memory by 10 MB (measured while
        onnxruntime's memory arena, since turned off in load(), kept the largest activations).
        """
        height, width = lightness.shape
        multiple = self.size_multiple if not self.fixed_shape else 1
        pad = ((0, -height % multiple), (0, -width % multiple))
        feeds = {"L": encode_l(np.pad(lightness, pad, mode="symmetric"))[None, None]}
        if spread is not None:  # padding carries no hints
            feeds["hints"] = np.pad(spread, pad + ((0, 0),)).transpose(2, 0, 1)[None]
        return self.session.run(["ab"], feeds)[0][0, :, :height, :width].transpose(1, 2, 0)

    def colorize(self, image: Image.Image, vividness: float = 1.0, hints: list[Hint] = ()) -> Image.Image:
        """Colorize `image` from its lightness and the visitor's hints; same size and alpha as the input.

        vividness scales the chroma: 0 gives grey, 1 the model, 2 twice as vivid.
        Raises HintError for a hint outside the picture.
        """
        return self.colorization(image, vividness, hints).to_image()

    def colorization(self, image: Image.Image, vividness: float = 1.0, hints: list[Hint] = ()) -> Colorization:
        """As colorize(), but painted only when asked: Colorization.to_png() makes the PNG band by band."""
        _check_vividness(vividness)
        check_inside(list(hints), *image.size)
        if vividness == 0:
            return Colorization(image, np.zeros((1, 1, 2), np.float32), 0.0)
        return Colorization(image, self.predict_ab(image, hints), vividness)


class Colorization:
    """A picture's colour on its full-resolution L*, painted band by band only when asked.

    `ab` (h, w, 2) a*/b*, any resolution, is bilinearly upsampled to the picture. Output L* equals the
    input's wherever the colour fits the sRGB gamut (out-of-gamut colour loses chroma, not lightness);
    the input's alpha is kept. to_image() paints the whole picture; to_png() deflates each band as it
    is painted, so a grey 50 MP upload never needs its full-size colour (150 MB) in memory; preview()
    paints a small copy. Bands run side by side on the cores (colorizer.threads).
    """

    def __init__(self, image: Image.Image, ab: np.ndarray, vividness: float = 1.0) -> None:
        _check_vividness(vividness)
        self.image = image
        self.ab = np.asarray(ab, dtype=np.float32) * np.float32(vividness)  # bilinear upsampling is linear
        self.mode = "RGBA" if "A" in image.getbands() else "RGB"
        width, height = image.size
        # The colour stays on its small grid and each band stretches only its own rows (_resize_rows):
        # a copy of the grid's rows widened to the picture would hold 9-11 MB for a 50 MP upload while its
        # PNG is made. A picture smaller than the grid has the colour shrunk to it once, by Pillow,
        # whose filter averages the grid's samples where a stretch would skip some.
        small = np.ascontiguousarray(self.ab.transpose(2, 0, 1))  # (2, h, w): both channels in the same calls
        grid = (small.shape[2], small.shape[1])  # (w, h), as Pillow sizes go
        fitted = (min(grid[0], width), min(grid[1], height))
        if fitted != grid:
            small = np.stack([np.asarray(Image.fromarray(plane, mode="F").resize(fitted, Image.BILINEAR))
                              for plane in small])
        self._ab_small = small
        below, weight = _taps(small.shape[2], width, 0, width)
        self._columns = np.bincount(below, minlength=small.shape[2]), weight
        image.load()  # a lazily opened file is decoded here once, not by two bands at the same time

    def rows(self, top: int, bottom: int) -> np.ndarray:
        """Rows [top, bottom) in colour, uint8 (rows, width, 3 or 4 with alpha), made BAND_PIXELS at a time."""
        width, height = self.image.size
        out = np.empty((bottom - top, width, len(self.mode)), np.uint8)
        band = max(1, BAND_PIXELS // width)
        for start in range(top, bottom, band):
            stop = min(start + band, bottom)
            pixels = self.image.crop((0, start, width, stop))
            a, b = _resize_rows(self._ab_small, self._columns, height, start, stop - start)
            lab_to_rgb8(_band_lightness(pixels), a, b, out=out[start - top:stop - top, :, :3])
            if self.mode == "RGBA":
                out[start - top:stop - top, :, 3] = np.asarray(pixels.getchannel("A"))
        return out

    def to_image(self) -> Image.Image:
        """The whole picture in colour: RGB, or RGBA with the input's alpha."""
        width, height = self.image.size
        result = Image.new(self.mode, self.image.size, None)  # every band is pasted: no fill
        band = max(1, BAND_PIXELS // width)

        def paint(top: int) -> None:  # bands are disjoint: each writes only its own rows
            result.paste(Image.fromarray(self.rows(top, min(top + band, height))), (0, top))

        map_bands(paint, range(0, height, band))
        return result

    def to_png(self, compress_level: int = 2) -> bytes:
        """The picture in colour as PNG bytes, each band painted just before it is deflated (colorizer.png)."""
        return png.encode_rows(self.image.size, self.mode, self.rows, compress_level)

    def preview(self, max_side: int) -> Image.Image:
        """The colour on a copy of the picture shrunk to `max_side`: for display, at a fraction of the cost."""
        return Colorization(fit_within(self.image, max_side=max_side), self.ab).to_image()


def apply_ab(image: Image.Image, ab: np.ndarray, vividness: float = 1.0) -> Image.Image:
    """Colour `ab` (h, w, 2) a*/b*, any resolution, painted on the full-resolution L of `image` (see Colorization)."""
    return Colorization(image, ab, vividness).to_image()


def _small_rgb(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """`image` bilinearly resized to size (w, h), as RGB: the same pixels as converting first, for less memory."""
    def shrink(img: Image.Image) -> Image.Image:
        return img.resize(size, Image.BILINEAR, reducing_gap=2.0)

    if image.mode in ("RGB", "L"):  # L: every RGB channel would be the same plane
        return shrink(image).convert("RGB")
    if image.mode == "RGBA":  # band by band: alpha must not weight the colour, as in an RGB resize
        return Image.merge("RGB", [shrink(image.getchannel(band)) for band in "RGB"])
    return shrink(image.convert("RGB"))


def _band_lightness(pixels: Image.Image) -> np.ndarray:
    """L* of a band of the photo: a grey (L) band by table, without widening it to RGB first."""
    if pixels.mode == "L":
        return grey_to_l(np.asarray(pixels))
    return rgb_to_l(np.asarray(pixels if pixels.mode == "RGB" else pixels.convert("RGB")))


def _resize_rows(small: np.ndarray, columns: tuple[np.ndarray, np.ndarray], height: int,
                 top: int, rows: int) -> np.ndarray:
    """Rows [top, top + rows) of `small` (c, h, w), h <= height, bilinearly stretched to `height` rows
    and across the picture's columns (see _widen): float32 (c, rows, width).

    Only the few rows of the small grid that these rows blend are widened; each output row is then a
    blend of two of them, which plain numpy does in a few passes over every channel at once, faster
    than a resize call per band (and each call is a moment the band threads may wait for each other).
    """
    below, weight = _taps(small.shape[1], height, top, rows)
    first, end = int(below[0]), min(int(below[-1]) + 2, small.shape[1])  # the grid rows in use
    wide = _widen(small[:, first:end], columns)
    below -= first
    lower = wide[:, below]
    out = wide[:, np.minimum(below + 1, end - first - 1)] - lower
    out *= weight[:, None]
    out += lower
    return out


def _widen(rows: np.ndarray, columns: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Grid rows (c, k, w) bilinearly stretched to the picture's width: float32 (c, k, width).

    columns: for each grid column, how many picture columns have it as their left sample, and each
    picture column's weight of the sample after it (_taps). np.repeat lays out the left samples and
    the steps to the next in one pass each, about twice as fast as indexing every picture column.
    """
    starts, step_weight = columns
    out = np.repeat(rows, starts, axis=2)
    step = np.repeat(np.diff(rows, axis=2, append=rows[:, :, -1:]), starts, axis=2)  # the last column: edge
    step *= step_weight
    out += step
    return out


def _taps(source: int, target: int, start: int, count: int) -> tuple[np.ndarray, np.ndarray]:
    """For samples [start, start + count) of `source` samples stretched to `target`: the source sample at
    or before each (intp) and the weight of the one after it (float32), pixel centres aligned as in
    Pillow's resize, the edges clamped.
    """
    position = (np.arange(start, start + count) + 0.5) * (source / target) - 0.5
    np.clip(position, 0, source - 1, out=position)
    below = position.astype(np.intp)  # floor: position >= 0
    return below, (position - below).astype(np.float32)


def reads_hints(session: ort.InferenceSession) -> bool:
    """Whether the model was trained to read hints (training.train_hints): it has a second input, `hints`."""
    return any(i.name == "hints" for i in session.get_inputs())


def _working_size(session: ort.InferenceSession) -> int:
    height, width = session.get_inputs()[0].shape[2:]
    if isinstance(height, int) and isinstance(width, int) and height == width:
        return height
    meta = session.get_modelmeta().custom_metadata_map
    return int(meta.get("working_size", DEFAULT_SIZE))


def _check_size(session: ort.InferenceSession, size: int) -> None:
    """A U-Net of depth d only runs at sides divisible by 2**d; fail here, not inside onnxruntime."""
    multiple = int(session.get_modelmeta().custom_metadata_map.get("size_multiple", 1))
    if size < 1 or size % multiple:
        raise ValueError(f"working size must be a positive multiple of {multiple} for this model, got {size}")


def _check_vividness(vividness: float) -> None:
    if not 0.0 <= vividness <= MAX_VIVIDNESS:
        raise ValueError(f"vividness must lie between 0 and {MAX_VIVIDNESS:g}, got {vividness}")
