"""A small time-to-live cache that serves its last value when a refresh fails.

The question bank changes rarely and is read at every question; caching it keeps the
interviewer drawing questions through a short Supabase outage. A value older than `ttl` is
reloaded; if the reload raises one of `stale_on`, the old value is served (and logged), and only
a key never loaded lets the error through.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

log = logging.getLogger("interview.cache")

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class StaleCache(Generic[K, V]):
    def __init__(
        self,
        ttl: float,
        *,
        stale_on: tuple[type[BaseException], ...],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl = ttl
        self._stale_on = stale_on
        self._clock = clock
        self._entries: dict[K, tuple[float, V]] = {}

    async def get(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        cached = self._entries.get(key)
        if cached is not None and self._clock() - cached[0] < self._ttl:
            return cached[1]
        try:
            value = await load()
        except self._stale_on:
            if cached is None:
                raise
            log.warning("serving a stale cached value", extra={"key": str(key)})
            return cached[1]
        self._entries[key] = (self._clock(), value)
        return value
