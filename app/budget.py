"""Admission control: a per-worker budget of image pixels being worked on at once.

A worker's memory follows the pixels it holds, not the bytes it was sent: a
48 KB PNG can decode to 50 megapixels. So every upload reserves its pixel
count, read from the header before a single pixel is decoded; a request that
would take the worker past PIXEL_BUDGET waits up to BUDGET_WAIT_S for others
to finish, then gets 503 with Retry-After. The reservation is given back when
the request ends, whatever happened to it.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import logging
import threading
import time
from collections.abc import Callable

from flask import Flask, current_app, g

from colorizer.errors import Busy

log = logging.getLogger(__name__)

RETRY_AFTER_S = 5
M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter
MMAP_THRESHOLD_BYTES = 4 << 20


class PixelBudget:
    """Thread-safe count of pixels in flight, bounded by `max_pixels`."""

    def __init__(self, max_pixels: int, wait_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_pixels, self.wait_s, self.clock = max_pixels, wait_s, clock
        self.in_flight = 0
        self._changed = threading.Condition()

    def acquire(self, pixels: int) -> bool:
        """Reserve `pixels`, waiting up to wait_s for room; False when there is none."""
        deadline = self.clock() + self.wait_s
        with self._changed:
            while self.in_flight + pixels > self.max_pixels:
                left = deadline - self.clock()
                if left <= 0:
                    return False
                self._changed.wait(left)
            self.in_flight += pixels
            return True

    def release(self, pixels: int) -> None:
        with self._changed:
            self.in_flight -= pixels
            self._changed.notify_all()

    def admit(self, pixels: int) -> None:
        """For open_image(admit=...) inside a request: reserve until the request ends, or raise Busy."""
        if not self.acquire(pixels):
            raise Busy(f"The server is busy with other large images; please try again in {RETRY_AFTER_S} seconds.",
                       headers={"Retry-After": str(RETRY_AFTER_S)})
        g.reserved_pixels = g.get("reserved_pixels", 0) + pixels


def current_budget() -> PixelBudget:
    """This worker's budget (made by init_app)."""
    return current_app.extensions["pixel_budget"]


def _give_back(exc: BaseException | None) -> None:
    pixels = g.pop("reserved_pixels", 0)
    if pixels:
        current_budget().release(pixels)


def return_freed_memory_to_the_system() -> bool:
    """Serve every allocation of 4 MB or more (image blocks, full-size arrays) by mmap, so freeing it unmaps it.

    glibc's default threshold adapts upwards (to 32 MB): after the first large image is freed, later ones
    come from the heap, which keeps them after free. A worker then stayed at 372 MB after a 50 MP upload;
    with a fixed threshold it drops back to its start-up size (bench/RESULTS.md, section 5). 1 MB
    returned a little more but cost ~25 % more CPU per 1 MP request (page faults on every 1 MB PNG
    segment). Same effect as MALLOC_MMAP_THRESHOLD_=4194304 in the environment. False without glibc.
    """
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))
    except (OSError, AttributeError):
        return False


def init_app(app: Flask) -> None:
    budget = int(app.config["PIXEL_BUDGET"])
    if budget < app.config["MAX_PIXELS"]:
        raise RuntimeError(f"PIXEL_BUDGET ({budget}) must be at least MAX_PIXELS ({app.config['MAX_PIXELS']}), "
                           "or the largest allowed image could never be admitted")
    app.extensions["pixel_budget"] = PixelBudget(budget, float(app.config["BUDGET_WAIT_S"]))
    app.teardown_request(_give_back)



