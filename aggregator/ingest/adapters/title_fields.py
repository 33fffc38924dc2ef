"""Fields a partner writes into its titles ("TITLE, Speaker, Affiliation, 10 December 2020"), read by a source's regex."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable

from aggregator.model import RawEntry


def apply_title_fields(
    entries: Iterable[RawEntry], pattern: str, *, default_tz: str = "Europe/London"
) -> list[RawEntry]:
    """Each entry whose title matches `pattern`: group `title` becomes the title, the other named groups
    become fields (a field the adapter already found is kept), and `event_date` makes the event.

    An entry whose title does not match is kept as it is.
    """
    from aggregator.ingest.adapters.page import make_event

    compiled = re.compile(pattern)
    result = []
    for entry in entries:
        match = compiled.fullmatch(entry.title.strip())
        if match is None:
            result.append(entry)
            continue
        groups = {name: " ".join(value.split()) for name, value in match.groupdict().items() if value and value.strip()}
        title = groups.pop("title", entry.title)
        extra = {**groups, **dict(entry.extra)}
        event = entry.event or make_event(extra, default_tz=default_tz)
        result.append(dataclasses.replace(entry, title=title, extra=extra, event=event))
    return result
