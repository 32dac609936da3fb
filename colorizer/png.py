"""PNG encoding on every core: the last stage of a colorization, and once its slowest.

Pillow filters each row five ways to pick the best filter and deflates the
whole image on one core: half a second for a 12-megapixel photo here. This
encoder uses the "Up" filter for every row but each band's first, which gets
"Sub" (for photos this compresses as well as Pillow's adaptive choice, at a
fraction of the cost), and deflates bands of rows in parallel threads, as
pigz does: each band is an independent deflate segment ended by a sync
flush, so the segments concatenate into one valid zlib stream. A band needs
no pixels but its own, so a picture can be encoded while it is being made,
band by band (encode_rows). The fast levels 1-3 deflate with Intel's ISA-L
where the PyPI package `isal` is installed (requirements.txt has it), levels
0 and 4-9 and everything without it with zlib; both release the GIL while
they compress. The default, ISA-L's level 2, deflates a photo four to five
times faster than zlib's level 1, for 1-5 % more bytes on the site's
samples; ISA-L also computes the stream's Adler-32 and the chunks' CRC-32
where it is installed.
The output is an ordinary PNG (IHDR, IDATs, IEND) that any decoder reads.
"""
from __future__ import annotations

import struct
import zlib
from collections.abc import Callable

import numpy as np
from PIL import Image

try:  # optional: inference needs only onnxruntime, numpy and Pillow; with isal, PNGs come faster
    from isal import isal_zlib
except ImportError:
    isal_zlib = None

from colorizer.threads import map_bands

COLOUR_TYPES = {"L": 0, "RGB": 2, "LA": 4, "RGBA": 6}  # 8-bit modes this encoder writes
SEGMENT_BYTES = 1 << 20  # raw (filtered) bytes per independently deflated segment
# Adler-32 and CRC-32 by ISA-L's vector code where it is installed: five times zlib's speed here
# (2.6 GB/s Adler-32, 4.2 GB/s CRC-32 with zlib; a 12 MP photo's PNG sums 36 MB and 14 MB).
checksums = isal_zlib or zlib
SIGNATURE = b"\x89PNG\r\n\x1a\n"
SUB, UP = 1, 2  # PNG filter types: each byte minus the one a pixel to its left; minus the one above it


def encode(image: Image.Image, compress_level: int = 2, threads: int | None = None) -> bytes:
    """`image` (mode L, LA, RGB or RGBA) as PNG bytes; threads defaults to the usable cores."""
    image.load()  # a lazily opened file must be decoded once, not by every thread at the same time
    width = image.width
    return encode_rows(image.size, image.mode, lambda top, bottom: np.asarray(image.crop((0, top, width, bottom))),
                       compress_level, threads)


def encode_rows(size: tuple[int, int], mode: str, rows: Callable[[int, int], np.ndarray],
                compress_level: int = 2, threads: int | None = None) -> bytes:
    """A `size` (width, height) picture in `mode` as PNG bytes, its pixels read as rows(top, bottom):
    uint8 (bottom - top, width, channels), or (bottom - top, width) for L.

    Each segment's rows are asked for, filtered and deflated in one go, on `threads` threads: a picture
    made band by band (colorizer.engine.Colorization) is never whole in memory.
    """
    width, height = size
    rows_per_segment = max(1, SEGMENT_BYTES // (width * len(mode) + 1))
    tops = range(0, height, rows_per_segment)

    def segment(top: int) -> tuple[bytes, int, int]:
        bottom = min(top + rows_per_segment, height)
        raw = _filtered(rows(top, bottom))
        deflate = _raw_deflate(compress_level)
        data = deflate.compress(raw) + deflate.flush(zlib.Z_FINISH if bottom == height else zlib.Z_SYNC_FLUSH)
        return data, checksums.adler32(raw), len(raw)

    segments = map_bands(segment, tops, threads)
    checksum = 1
    for _, adler, length in segments:
        checksum = _adler32_combine(checksum, adler, length)
    idat = [data for data, _, _ in segments]  # one IDAT chunk per segment; together, one zlib stream
    idat[0] = _zlib_header(compress_level) + idat[0]
    idat[-1] += struct.pack(">I", checksum)
    header = struct.pack(">IIBBBBB", width, height, 8, COLOUR_TYPES[mode], 0, 0, 0)
    chunks = [(b"IHDR", header), *((b"IDAT", part) for part in idat), (b"IEND", b"")]
    return b"".join([SIGNATURE, *(piece for kind, data in chunks for piece in _chunk(kind, data))])


def _filtered(pixels: np.ndarray) -> memoryview:
    """Rows (rows, width[, channels]) as PNG scanlines, each a filter-type byte and its bytes: the first
    row minus the pixel to its left ("Sub"), each next row minus the row above ("Up"). Starting each
    segment with Sub lets it be made from its own rows alone, and compresses as well as Up.

    A flat view of the bytes, not a copy: deflate and Adler-32 read any buffer.
    """
    step = pixels.shape[2] if pixels.ndim == 3 else 1  # bytes per pixel
    pixels = pixels.reshape(pixels.shape[0], -1)
    out = np.empty((pixels.shape[0], pixels.shape[1] + 1), np.uint8)
    out[0, 0], out[1:, 0] = SUB, UP
    out[0, 1:1 + step] = pixels[0, :step]
    np.subtract(pixels[0, step:], pixels[0, :-step], out=out[0, 1 + step:])
    np.subtract(pixels[1:], pixels[:-1], out=out[1:, 1:])
    return memoryview(out.reshape(-1))


def _raw_deflate(level: int):
    """A compressor of raw deflate (no zlib header): ISA-L for its levels 1-3 if installed, else zlib."""
    library = isal_zlib if isal_zlib is not None and 1 <= level <= 3 else zlib
    return library.compressobj(level, library.DEFLATED, -15)


def _chunk(kind: bytes, data: bytes) -> tuple[bytes, bytes, bytes]:
    """A PNG chunk as (length + type, data, CRC): joined once at the end, the data is never copied twice."""
    return struct.pack(">I", len(data)) + kind, data, struct.pack(">I", checksums.crc32(data, checksums.crc32(kind)))


def _zlib_header(level: int) -> bytes:
    """CMF (deflate, 32 KB window) and FLG (level hint, check bits) of RFC 1950."""
    flg = (0 if level < 2 else 1 if level < 6 else 2 if level == 6 else 3) << 6
    flg += 31 - (0x78 * 256 + flg) % 31
    return bytes([0x78, flg])


def _adler32_combine(first: int, second: int, second_length: int) -> int:
    """Adler-32 of A + B from adler32(A), adler32(B) and len(B) (zlib's adler32_combine)."""
    base = 65521
    low = ((first & 0xFFFF) + (second & 0xFFFF) - 1) % base
    high = ((first >> 16) + (second >> 16) + second_length * (first & 0xFFFF) - second_length) % base
    return (high << 16) | low


def png_length(data: bytes) -> int | None:
    """Bytes from the signature to the end of the IEND chunk, or None if `data` is not a whole PNG.

    Walks the chunk lengths only (no decoding), so a caller can refuse what trails the image.
    """
    if not data.startswith(SIGNATURE):
        return None
    offset = len(SIGNATURE)
    while offset + 8 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, offset)
        offset += 12 + length  # length, type, data, CRC
        if kind == b"IEND":
            return offset if offset <= len(data) else None
    return None
