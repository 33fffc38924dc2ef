"""The editors' files read once per process and again only when they change (path + mtime + size)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Generic, TypeVar

T = TypeVar("T")


class FileCache(Generic[T]):
    """`load(path)` remembered per path until the file's stamp (mtime, size, inode) changes, so a long-running
    process (the scheduler, the web app) picks up an edited sources.yaml without a restart. A failed load
    raises and is not remembered; the cached values must be immutable (the config models are frozen)."""

    def __init__(self, load: Callable[[Path], T]) -> None:
        self._load = load
        self._entries: dict[Path, tuple[tuple[int, int, int], T]] = {}
        self._lock = threading.Lock()

    def get(self, path: Path) -> T:
        key = Path(path).resolve()
        stamp = _stamp(key)
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and stamp is not None and entry[0] == stamp:
                return entry[1]
        value = self._load(Path(path))  # outside the lock: a slow read does not hold up the other files
        if stamp is not None:
            with self._lock:
                self._entries[key] = (stamp, value)
        return value


def _stamp(path: Path) -> tuple[int, int, int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None  # missing: the loader raises its own error with a hint
    return (info.st_mtime_ns, info.st_size, info.st_ino)
