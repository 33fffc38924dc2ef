"""Queue page positions (`?after=`): the last resource's sort key and id, written and read back."""

from __future__ import annotations

import math
from datetime import datetime

_MAX_ID = 2**63 - 1  # the widest integer column either database has


class CursorError(ValueError):
    """A page cursor (`?after=`) that this app did not make: the message says what is wrong with it."""


def encode_cursor(created_at: datetime, resource_id: int) -> str:
    return f"{created_at.isoformat()}_{resource_id}"


def encode_certainty_cursor(certainty: float, resource_id: int) -> str:
    return f"c{certainty!r}_{resource_id}"


def _check_id(rid: str) -> int:
    try:
        resource_id = int(rid)
    except ValueError:
        raise CursorError(f"the page position's id {rid[:40]!r} is not a number") from None
    if not 0 < resource_id <= _MAX_ID:
        raise CursorError(f"the page position's id {rid[:40]} is out of range")
    return resource_id


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    """(created_at, id) from "<aware ISO timestamp>_<id>"; CursorError names what is wrong otherwise."""
    stamp, _, rid = cursor.rpartition("_")
    try:
        created = datetime.fromisoformat(stamp)
    except ValueError:
        raise CursorError(
            f"the page position {cursor[:80]!r} is not '<timestamp>_<id>'; open the queue from its first page"
        ) from None
    if created.tzinfo is None:
        raise CursorError(f"the page position's timestamp {stamp[:40]!r} has no time zone (add +00:00)")
    return created, _check_id(rid)


def decode_certainty_cursor(cursor: str) -> tuple[float, int]:
    """(certainty, id) from "c<certainty>_<id>" (the least-sure-first order)."""
    value, _, rid = cursor.rpartition("_")
    try:
        certainty = float(value[1:]) if value.startswith("c") else math.nan
    except ValueError:
        certainty = math.nan
    if not 0.0 <= certainty <= 1.0:  # also refuses nan
        raise CursorError(f"the page position {cursor[:80]!r} is not 'c<certainty>_<id>'; open the queue afresh")
    return certainty, _check_id(rid)
