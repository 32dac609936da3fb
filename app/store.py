"""Finished results, kept in memory just long enough to be downloaded.

Nothing a visitor uploads or receives is written to disk. The result page
links to its full-resolution PNG by an unguessable token; the PNG lives here,
bounded in count, total bytes and age, so memory use cannot grow without
limit. Each gunicorn worker has its own store (see the README: one worker per
dyno, threads for concurrency).
"""
from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Callable


@dataclass(frozen=True)
class Result:
    png: bytes
    filename: str
    backend: str
    created: float = field(default=0.0, compare=False)


class ResultTooLarge(ValueError):
    """A single result bigger than the whole store."""


class ResultStore:
    """Thread-safe token -> Result map; oldest entries go first when a bound is hit."""

    def __init__(self, ttl_s: float, max_bytes: int, max_items: int = 64,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s, self.max_bytes, self.max_items, self.clock = ttl_s, max_bytes, max_items, clock
        self._items: OrderedDict[str, Result] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def put(self, png: bytes, filename: str, backend: str) -> str:
        """Keep a result; returns the token that fetches it."""
        if len(png) > self.max_bytes:
            raise ResultTooLarge(f"result of {len(png)} bytes exceeds the store's {self.max_bytes} bytes")
        token = secrets.token_urlsafe(18)
        with self._lock:
            self._expire()
            while self._items and (len(self._items) >= self.max_items or self._bytes + len(png) > self.max_bytes):
                self._drop_oldest()
            self._items[token] = Result(png, filename, backend, self.clock())
            self._bytes += len(png)
        return token

    def get(self, token: str) -> Result | None:
        """The result for `token`, or None when unknown or expired."""
        with self._lock:
            self._expire()
            return self._items.get(token)

    def __len__(self) -> int:
        with self._lock:
            self._expire()
            return len(self._items)

    @property
    def nbytes(self) -> int:
        with self._lock:
            return self._bytes

    def _expire(self) -> None:
        deadline = self.clock() - self.ttl_s
        while self._items and next(iter(self._items.values())).created <= deadline:
            self._drop_oldest()

    def _drop_oldest(self) -> None:
        _, result = self._items.popitem(last=False)
        self._bytes -= len(result.png)
