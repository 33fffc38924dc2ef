"""How long a failing source waits before its next try: exponential backoff with jitter."""

from __future__ import annotations

from datetime import timedelta

BACKOFF_FIRST = timedelta(minutes=15)
"""The wait after a source's first failure in a row; it doubles with each further failure."""
BACKOFF_MAX = timedelta(days=1)


def backoff_delay(failures: int, jitter: float) -> timedelta:
    """The wait after `failures` failures in a row: doubling from BACKOFF_FIRST up to BACKOFF_MAX, half of it
    fixed and half scaled by `jitter` in [0, 1), so that sources failing together do not return together."""
    full = min(BACKOFF_FIRST * 2 ** min(failures - 1, 16), BACKOFF_MAX)
    return full / 2 + full / 2 * jitter
