"""Bands shared over threads: every band's result, in order, and a failing band's own error."""
from __future__ import annotations

import threading

import pytest

from colorizer.threads import map_bands


def test_every_band_runs_once_and_results_keep_the_bands_order():
    seen = []

    def work(top: int) -> int:
        seen.append((top, threading.get_ident()))
        return top * 2

    assert map_bands(work, range(0, 50, 5), threads=3) == [top * 2 for top in range(0, 50, 5)]
    assert sorted(top for top, _ in seen) == list(range(0, 50, 5))


def test_one_thread_runs_in_the_callers_thread():
    assert map_bands(lambda _: threading.get_ident(), range(4), threads=1) == [threading.get_ident()] * 4


def test_a_failing_band_raises_its_own_error():
    def work(top: int) -> int:
        if top == 3:
            raise ValueError("band 3")
        return top

    with pytest.raises(ValueError, match="band 3"):
        map_bands(work, range(6), threads=2)

