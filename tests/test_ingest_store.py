"""Reading feeds without their content, and storing batches of any size: the ingest's two shortcuts that must change nothing."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import select

from aggregator.db import schema
from aggregator.errors import ParseError
from aggregator.ingest.adapters.feed import parse_feed
from aggregator.model import RawEntry
from tests.support import resources as resources_support
from tests.test_feed_corpus import feed_inputs


def outcome(function, *args) -> tuple[str, object]:
    try:
        return "returns", function(*args)
    except ParseError as error:
        return "raises", str(error)


@pytest.mark.corpus
def test_reading_without_content_changes_nothing_else(corpus_dir, sites_dir):
    """with_content=False gives the same entries as with_content=True, content aside, for every feed of
    the corpus and the sites."""

    def read(body: bytes, with_content: bool) -> list:
        return parse_feed(body, "https://partner.example.org/feed/", with_content=with_content)

    for path in [*feed_inputs(corpus_dir), *sorted(sites_dir.rglob("*.xml"))]:
        body = path.read_bytes()
        full, light = outcome(read, body, True), outcome(read, body, False)
        if full[0] == "raises":
            assert light == full, path
        else:
            assert light[1] == [replace(entry, content_html=None) for entry in full[1]], path


@pytest.mark.parametrize("count", [1, 15, 16, 17, 50, 129, 300, 1001, 2500])
def test_every_entry_points_at_its_own_resource(engine, count):
    """Ids returned by INSERT ... RETURNING reach the right entries, whatever the batch size."""
    config = resources_support.source("chunks")
    resources_support.store(
        engine,
        config,
        [
            RawEntry(url=f"https://chunks.example/{n}/", title=f"Entry {n}", published=resources_support.NOW)
            for n in range(count)
        ],
    )
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                schema.entries.c.canonical_url,
                schema.entries.c.title,
                schema.resources.c.canonical_url,
                schema.resources.c.title,
            ).join(schema.resources, schema.resources.c.id == schema.entries.c.resource_id)
        ).all()
    assert len(rows) == count
    assert all(row[0] == row[2] and row[1] == row[3] for row in rows)
