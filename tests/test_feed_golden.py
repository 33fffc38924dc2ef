"""What the feed adapter reads from every corpus and fixture feed, against digests recorded before a change."""

from __future__ import annotations

import builtins
import io
import json
import urllib.request

import pytest

from aggregator.ingest.adapters.feed import parse_feed
from tests.golden.feed_adapter import record

pytestmark = pytest.mark.corpus


def test_every_feed_reads_as_recorded(corpus_dir) -> None:
    expected = json.loads(record.DIGESTS.read_text())
    actual = record.digests()
    changed = sorted(name for name in expected if name in actual and actual[name] != expected[name])
    assert not changed, (
        f"{len(changed)} feeds read differently: {changed[:10]} (see tests/golden/feed_adapter/README.md)"
    )
    assert set(actual) == set(expected), "feeds added or removed: regenerate the digests"


@pytest.mark.parametrize(
    "body",
    [b"/etc/passwd", b"/dev/zero", b"file:///etc/hostname", b"http://127.0.0.1:9/feed", b"~/.netrc", b"C:\\\\boot.ini"],
)
def test_feedparser_opens_nothing_a_body_names(monkeypatch, body: bytes) -> None:
    opened: list[object] = []

    def refuse(*args, **kwargs):
        opened.append(args[0] if args else kwargs)
        raise AssertionError(f"the parser opened {args[0] if args else kwargs!r}")

    monkeypatch.setattr(builtins, "open", refuse)
    monkeypatch.setattr(io, "open", refuse)
    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    monkeypatch.setattr(urllib.request.OpenerDirector, "open", refuse)
    try:
        entries = parse_feed(body, "https://partner.example.org/feed/")
    except Exception as error:  # noqa: BLE001 - any refusal is fine; opening is not
        assert not isinstance(error, AssertionError), error
    else:
        assert entries == []
    assert opened == []


def test_a_lone_surrogate_reference_drops_that_character_and_keeps_the_feed() -> None:
    body = (
        b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>c</title>'
        b"<item><title>Kind&#xD800;ness</title><link>https://p.example.org/1</link>"
        b"<description>a &#xD800; b</description></item>"
        b"<item><title>Second</title><link>https://p.example.org/2</link></item></channel></rss>"
    )
    entries = parse_feed(body, "https://p.example.org/")
    assert [e.title for e in entries] == ["Kindness", "Second"]
    for entry in entries:
        (entry.title + (entry.summary_html or "")).encode("utf-8")
