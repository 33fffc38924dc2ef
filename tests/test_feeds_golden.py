"""Golden tests of the feed renderers: a Feed value from input.json, rendered as RSS, Atom and JSON Feed,
compared byte for byte with expected.*. Regenerate with AGGREGATOR_REGEN_GOLDEN=1 and review the diff."""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path

import pytest

from aggregator.publish.feeds import Feed, FeedCategory, FeedEntry, FeedEvent, render_feed

GOLDEN = Path(__file__).resolve().parent / "golden" / "feeds"
CASES = sorted(p.name for p in GOLDEN.iterdir() if p.is_dir())
EXTENSIONS = {"rss": "rss", "atom": "atom", "json": "json"}


def load_input(path: Path) -> Feed:
    data = json.loads(path.read_text(encoding="utf-8"))

    def when(value: str | None) -> datetime | None:
        return datetime.fromisoformat(value) if value else None

    def entry(e: dict) -> FeedEntry:
        event = e.get("event")
        return FeedEntry(
            guid=e["guid"],
            title=e["title"],
            url=e.get("url"),
            published=when(e["published"]),
            updated=when(e.get("updated") or e["published"]),
            summary=e.get("summary", ""),
            summary_html=e.get("summary_html", ""),
            authors=tuple(e.get("authors", ())),
            categories=tuple(FeedCategory(**c) for c in e.get("categories", ())),
            image_url=e.get("image_url"),
            event=FeedEvent(**{**event, "start": when(event["start"]), "end": when(event.get("end"))})
            if event
            else None,
            also_listed_on=tuple(e.get("also_listed_on", ())),
        )

    feed = data["feed"]
    return Feed(
        id=feed["id"],
        title=feed["title"],
        description=feed["description"],
        home_url=feed["home_url"],
        url_stem=feed["url_stem"],
        publisher=feed["publisher"],
        updated=when(feed["updated"]),
        entries=tuple(entry(e) for e in data["entries"]),
    )


def test_there_are_golden_cases():
    assert CASES, f"no golden cases in {GOLDEN}"


@pytest.mark.parametrize("fmt", list(EXTENSIONS))
@pytest.mark.parametrize("case", CASES)
def test_feed_renders_as_expected(case: str, fmt: str):
    folder = GOLDEN / case
    assert (folder / "README.md").is_file(), "every golden case says where its input comes from"
    rendered = render_feed(load_input(folder / "input.json"), fmt)
    expected = folder / f"expected.{EXTENSIONS[fmt]}"
    if os.environ.get("AGGREGATOR_REGEN_GOLDEN") == "1":
        expected.write_bytes(rendered)
    assert expected.is_file(), f"missing {expected}: run with AGGREGATOR_REGEN_GOLDEN=1 and review it"
    assert rendered.decode("utf-8") == expected.read_text(encoding="utf-8")
