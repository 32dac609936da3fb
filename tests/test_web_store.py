"""The in-memory result store: bounded in count, bytes and age; safe across threads."""
from __future__ import annotations

import threading

import pytest

from app.store import ResultStore, ResultTooLarge


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_put_then_get():
    store = ResultStore(ttl_s=60, max_bytes=100)
    token = store.put(b"png", "a-colorized.png", "local")
    result = store.get(token)
    assert (result.png, result.filename, result.backend) == (b"png", "a-colorized.png", "local")
    assert store.get("unknown") is None
    assert len(token) >= 22  # unguessable: 144 random bits


def test_entries_expire():
    clock = Clock()
    store = ResultStore(ttl_s=60, max_bytes=100, clock=clock)
    token = store.put(b"x", "a.png", "local")
    clock.now += 59
    assert store.get(token) is not None
    clock.now += 2
    assert store.get(token) is None and len(store) == 0 and store.nbytes == 0


def test_byte_budget_drops_the_oldest():
    store = ResultStore(ttl_s=60, max_bytes=10)
    first, second = store.put(b"1234", "1", "local"), store.put(b"5678", "2", "local")
    third = store.put(b"abcd", "3", "local")
    assert store.get(first) is None and store.get(second) and store.get(third)
    assert store.nbytes == 8


def test_count_budget_drops_the_oldest():
    store = ResultStore(ttl_s=60, max_bytes=1000, max_items=2)
    tokens = [store.put(b"x", str(i), "local") for i in range(3)]
    assert [store.get(t) is not None for t in tokens] == [False, True, True]


def test_a_result_bigger_than_the_store_is_refused():
    store = ResultStore(ttl_s=60, max_bytes=10)
    kept = store.put(b"keep", "k", "local")
    with pytest.raises(ResultTooLarge):
        store.put(b"x" * 11, "big", "local")
    assert store.get(kept) is not None


def test_concurrent_puts_keep_the_books_straight():
    store = ResultStore(ttl_s=60, max_bytes=5_000, max_items=1_000)

    def work():
        for _ in range(500):
            store.put(b"0123456789", "f", "local")

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.nbytes == 10 * len(store) <= 5_000
