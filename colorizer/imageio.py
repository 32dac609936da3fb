"""Image intake and output: whatever a visitor uploads -> a decoded L, RGB or RGBA image.

Uploads come from phones, scanners and old archives, so intake must cope
with every mode Pillow reads (palette, 16-bit, CMYK, 1-bit, with or without
alpha) and with EXIF-rotated photos, and must refuse bad input with a typed
error the web app and the Lambda handler can turn into a clear message:
nothing here ever surfaces as a stack trace. Decompression bombs are refused
from the header alone, before a single pixel is decoded.
"""
from __future__ import annotations

import io
import os
import warnings
from typing import IO, Callable

import numpy as np
from PIL import Image, ImageOps

from colorizer import png
from colorizer.errors import (  # noqa: F401 -- re-exported: colorizer.imageio.ImageError stays importable
    EmptyImage,
    ImageError,
    ImageTooLarge,
    NotAnImage,
    TruncatedImage,
    UnsupportedImage,
)

DEFAULT_MAX_PIXELS = 50_000_000

# The Pillow plugins we decode with, and no others: the formats the site names (JPEG, PNG,
# WebP, BMP, TIFF, GIF) plus what phones send (MPO comes through the JPEG plugin, AVIF).
# Pillow registers some 40 more (DDS, PSD, EPS, FITS...), each a parser of hostile bytes
# we have no use for; they only ever get to name a file for a 415 message.
ALLOWED_PLUGINS = ("JPEG", "PNG", "WEBP", "BMP", "TIFF", "GIF", "AVIF")
SUPPORTED_FORMATS = {"JPEG", "MPO", "PNG", "WEBP", "BMP", "DIB", "TIFF", "GIF", "AVIF"}
GREY_MODES = {"1", "L", "I", "I;16", "I;16L", "I;16B", "I;16N", "F"}


def open_image(source: bytes | str | os.PathLike | IO[bytes], max_pixels: int = DEFAULT_MAX_PIXELS,
               admit: Callable[[int], None] | None = None) -> Image.Image:
    """Decode an upload to an upright image (first frame of animations): RGB, RGBA, or L for grey.

    A single-channel grey input stays one byte per pixel (L) rather than being widened to RGB.
    `admit(pixels)`, when given, is called with the pixel count after the header is read and
    before a single pixel is decoded (the website's memory budget); it may raise.
    Raises an ImageError subclass for empty, unreadable, truncated, oversized or unsupported
    input: any exception of the decoder is the upload's fault, never a crash.
    """
    data = _read_bytes(source)
    if not data:
        raise EmptyImage("The file is empty.")
    with warnings.catch_warnings():
        # We check the pixel count ourselves, against our own limit, before decoding; and Pillow's
        # warnings about a damaged file ("Corrupt EXIF data") are the upload's business, not the log's.
        warnings.simplefilter("ignore")
        img = _identify(data, max_pixels)
        width, height = img.size
        if width * height > max_pixels:
            raise ImageTooLarge(
                f"The image is {width}x{height} ({_megapixels(width * height)}); "
                f"the limit is {_megapixels(max_pixels)}."
            )
        if width <= 0 or height <= 0:
            raise NotAnImage("The image has no pixels.")
        if admit is not None:
            admit(width * height)
        try:
            img.seek(0)
            img.load()
            ImageOps.exif_transpose(img, in_place=True)
        except MemoryError:
            raise
        except Exception as exc:  # OSError, EOFError, SyntaxError, AssertionError, IndexError, ...
            raise TruncatedImage("The image file is truncated or corrupt; please upload it again.") from exc
    try:
        return _to_colorizer_mode(img)
    except ValueError as exc:  # a mode Pillow reads but cannot convert, e.g. premultiplied "La"
        raise UnsupportedImage(f"{img.mode} images are not supported; use an RGB or grayscale image.") from exc
    except MemoryError:
        raise
    except Exception as exc:  # e.g. AssertionError: a palette image without its palette
        raise TruncatedImage("The image file is corrupt; please upload it again.") from exc


def _identify(data: bytes, max_pixels: int) -> Image.Image:
    """Parse the header with the allowed plugins; name a format we do not read for a 415."""
    try:
        img = Image.open(io.BytesIO(data), formats=ALLOWED_PLUGINS)
    except Image.DecompressionBombError as exc:
        raise ImageTooLarge(f"The image has too many pixels (limit {_megapixels(max_pixels)}).") from exc
    except MemoryError:
        raise
    except Exception:  # UnidentifiedImageError, or any header parser's own exception
        img = None
    if img is not None and img.format in SUPPORTED_FORMATS:
        return img
    other = img.format if img is not None else _format_name(data)
    if other:
        raise UnsupportedImage(f"{other} files are not supported; use JPEG, PNG, WebP, BMP, TIFF or GIF.")
    raise NotAnImage("This file is not an image we can read (try JPEG, PNG or WebP).")


def _format_name(data: bytes) -> str | None:
    """The format another Pillow plugin would call `data` (header only, never decoded), or None."""
    try:
        with Image.open(io.BytesIO(data)) as other:
            return other.format
    except Exception:  # whatever a plugin raises, the file is not one we read
        return None


def _megapixels(pixels: int) -> str:
    return f"{round(pixels / 1e6, 3):g} megapixels"


def _read_bytes(source: bytes | str | os.PathLike | IO[bytes]) -> bytes:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source)
    if isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as f:
            return f.read()
    return source.read()


def _to_colorizer_mode(img: Image.Image) -> Image.Image:
    """Any Pillow mode -> L (opaque grey), RGB, or RGBA when the image carries transparency."""
    if img.mode == "F" or img.mode.startswith("I"):  # I, I;16, I;16B, ...
        img = _high_depth_gray_to_8bit(img)
    # An alpha band, a palette with alpha, or a tRNS colour key (P, L, RGB).
    if img.has_transparency_data:
        target = "RGBA"
    else:
        target = "L" if img.mode in GREY_MODES else "RGB"
    return img if img.mode == target else img.convert(target)


def _high_depth_gray_to_8bit(img: Image.Image) -> Image.Image:
    """16-bit / 32-bit grey -> 8-bit L, scaled by the range its type implies.

    Pillow's own conversion clips 16-bit values at 255, which turns a
    16-bit scan into a white sheet.
    """
    arr = np.asarray(img, dtype=np.float64)
    if img.mode == "F":
        peak = 1.0 if arr.max(initial=0.0) <= 1.0 else 255.0
    elif img.mode.startswith("I;16") or arr.max(initial=0) > 255:
        peak = 65535.0
    else:
        peak = 255.0
    return Image.fromarray(np.clip(arr * (255.0 / peak) + 0.5, 0, 255).astype(np.uint8), mode="L")


def fit_within(image: Image.Image, max_side: int | None = None, max_pixels: int | None = None) -> Image.Image:
    """Downscale (never upscale) so the longer side <= max_side and the area <= max_pixels."""
    width, height = image.size
    scale = 1.0
    if max_side:
        scale = min(scale, max_side / max(width, height))
    if max_pixels:
        scale = min(scale, (max_pixels / (width * height)) ** 0.5)
    if scale >= 1.0:
        return image
    size = (max(1, int(width * scale)), max(1, int(height * scale)))
    return image.resize(size, Image.LANCZOS, reducing_gap=3.0)


def to_png(image: Image.Image, compress_level: int = 2) -> bytes:
    """Encode as PNG. Level 2 (colorizer.png: ISA-L) is many times faster than Pillow's default 6.

    The colorizer's modes (L, LA, RGB, RGBA) go through colorizer.png, which
    deflates on every core; anything else through Pillow.
    """
    if image.mode in png.COLOUR_TYPES and image.width and image.height:
        return png.encode(image, compress_level)
    buf = io.BytesIO()
    image.save(buf, format="PNG", compress_level=compress_level)
    return buf.getvalue()
