"""A picture's bands shared over the cores.

numpy's ufuncs, Pillow's crop, resize and paste, and zlib all release the GIL
while they loop over pixels, so plain threads run a big picture's bands side
by side: no processes, no copies of the picture.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


def usable_cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))  # Linux: the affinity mask, which containers narrow
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def map_bands(work: Callable[[Item], Result], bands: Iterable[Item], threads: int | None = None) -> list[Result]:
    """[work(band) for band in bands], on up to `threads` threads (default: usable_cores()).

    One thread, or one band, runs in the caller's thread. The first exception of any band is raised.
    """
    bands = list(bands)
    threads = min(threads or usable_cores(), len(bands))
    if threads <= 1:
        return [work(band) for band in bands]
    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(work, bands))
