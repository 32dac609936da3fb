"""PNG encoding on every core: the last stage of a colorization, and once its slowest.

Pillow filters each row five ways to pick the best filter and deflates the
whole image on one core: half a second for a 12-megapixel photo here. This
encoder uses the "Up" filter for every row (for photos it compresses as well
as Pillow's adaptive choice, at a fraction of the cost) and deflates bands
of rows in parallel threads, as pigz does: each band is an independent
deflate segment ended by a sync flush, so the segments concatenate into one
valid zlib stream. The fast levels 1-3 deflate with Intel's ISA-L where the
PyPI package `isal` is installed (requirements.txt has it), levels 0 and 4-9
and everything without it with zlib; both release the GIL while they
compress. The default, ISA-L's level 2, deflates a photo four to five times
faster than zlib's level 1, for 1-5 % more bytes on the site's samples;
ISA-L also computes the stream's Adler-32 and the chunks' CRC-32 where it is installed.
The output is an ordinary PNG (IHDR, IDATs, IEND) that any decoder reads.
"""
from __future__ import annotations

import struct
import zlib

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
UP = 2  # PNG filter type: each byte minus the byte above it


def encode(image: Image.Image, compress_level: int = 2, threads: int | None = None) -> bytes:
    """`image` (mode L, LA, RGB or RGBA) as PNG bytes; threads defaults to the usable cores."""
    image.load()  # a lazily opened file must be decoded once, not by every thread at the same time
    width, height = image.size
    channels = len(image.getbands())
    rows = max(1, SEGMENT_BYTES // (width * channels + 1))
    tops = range(0, height, rows)

    def segment(top: int) -> tuple[bytes, int, int]:
        raw = _up_filtered(image, top, min(top + rows, height))
        deflate = _raw_deflate(compress_level)
        last = top + rows >= height
        data = deflate.compress(raw) + deflate.flush(zlib.Z_FINISH if last else zlib.Z_SYNC_FLUSH)
        return data, checksums.adler32(raw), len(raw)

    segments = map_bands(segment, tops, threads)
    checksum = 1
    for _, adler, length in segments:
        checksum = _adler32_combine(checksum, adler, length)
    idat = [data for data, _, _ in segments]  # one IDAT chunk per segment; together, one zlib stream
    idat[0] = _zlib_header(compress_level) + idat[0]
    idat[-1] += struct.pack(">I", checksum)
    header = struct.pack(">IIBBBBB", width, height, 8, COLOUR_TYPES[image.mode], 0, 0, 0)
    chunks = [(b"IHDR", header), *((b"IDAT", part) for part in idat), (b"IEND", b"")]
    return b"".join([SIGNATURE, *(piece for kind, data in chunks for piece in _chunk(kind, data))])


def _up_filtered(image: Image.Image, top: int, bottom: int) -> memoryview:
    """Rows [top, bottom) as PNG scanlines: a filter-type byte, then each byte minus the one above.

    A flat view of the bytes, not a copy: deflate and Adler-32 read any buffer.
    """
    pixels = np.asarray(image.crop((0, max(top - 1, 0), image.width, bottom)))
    pixels = pixels.reshape(pixels.shape[0], -1)
    out = np.empty((bottom - top, pixels.shape[1] + 1), np.uint8)
    out[:, 0] = UP
    if top == 0:  # the first scanline's "row above" is zeros
        out[0, 1:] = pixels[0]
        np.subtract(pixels[1:], pixels[:-1], out=out[1:, 1:])
    else:
        np.subtract(pixels[1:], pixels[:-1], out=out[:, 1:])
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
