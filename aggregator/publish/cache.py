"""The public pages' caches: values kept until their stamp changes (rebuilt in the background) and rendered bodies by ETag."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

logger = logging.getLogger(__name__)
T = TypeVar("T")
Spawn = Callable[[Callable[[], None]], object]


def one_thread() -> Spawn:
    """Run rebuilds one at a time in one background thread: a change that makes every page stale costs one
    database connection and one core at a time, never as many as there are pages (which would empty the
    engine's pool under the requests' feet)."""
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="public-page-rebuild").submit


def inline(work: Callable[[], None]) -> None:
    """Run `work` at once, in the asking thread (tests, and callers that want every change shown at once)."""
    work()


class StampedCache:
    """Values kept until their stamp changes. A request that finds its value stale gets the old one and
    starts one rebuild through `spawn` (`one_thread()` by default), so no request waits on a query whose
    cost grows with the archive; requests meanwhile get the old value too (stale-while-rebuild). With nothing
    cached yet there is nothing to serve: the first request builds it and the others wait for that one build
    rather than each building it too (which, under load, piles up)."""

    def __init__(self, spawn: Spawn | None = None) -> None:
        self._items: dict[Hashable, tuple[Hashable, object]] = {}
        self._building: set[Hashable] = set()
        self._done = threading.Condition()
        self._spawn = spawn or one_thread()

    def get(self, key: Hashable, stamp: Hashable, build: Callable[[], T]) -> T:
        with self._done:
            while True:
                found = self._items.get(key)
                if found is not None and (found[0] == stamp or key in self._building):
                    return found[1]  # type: ignore[return-value]
                if key not in self._building:
                    break
                self._done.wait()  # the first build is under way: its value is what this request needs
            self._building.add(key)
        if found is None:
            self._build(key, stamp, build, reraise=True)
        else:
            self._spawn(lambda: self._build(key, stamp, build, reraise=False))
        with self._done:  # the new value if `spawn` ran the build already, else the stale one
            return self._items[key][1]  # type: ignore[return-value]

    def settle(self, timeout: float | None = None) -> bool:
        """Wait until no rebuild is under way; False if one still is after `timeout` seconds."""
        with self._done:
            return self._done.wait_for(lambda: not self._building, timeout)

    def _build(self, key: Hashable, stamp: Hashable, build: Callable[[], object], *, reraise: bool) -> None:
        try:
            value = build()
            with self._done:
                self._items[key] = (stamp, value)
        except Exception:
            if reraise:
                raise
            # the stale value stays served; the next request with a new stamp tries again
            logger.exception("public page rebuild failed", extra={"key": repr(key)})
        finally:
            with self._done:
                self._building.discard(key)
                self._done.notify_all()


class RenderCache:
    """A small thread-safe LRU of rendered bodies by ETag."""

    def __init__(self, size: int = 64) -> None:
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()
        self._size = size

    def get(self, key: str, render: Callable[[], bytes]) -> bytes:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        body = render()  # outside the lock: two threads may render the same version; either is right
        with self._lock:
            self._items[key] = body
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return body
