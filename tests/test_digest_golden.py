"""Golden tests of the digest's HTML and plain text (tests/golden/digest/<case>: input.json, README, expected).

Regenerate with AGGREGATOR_REGEN_GOLDEN=1 and review the diff."""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path

import pytest

from aggregator.config.taxonomy import load_taxonomy
from aggregator.digest.issue import EventInfo, IssueContent, IssueItem
from aggregator.digest.links import PersonalLinks
from aggregator.digest.quality import images_without_alt
from aggregator.digest.render import Recipient, render_digest
from aggregator.ingest.event_text import series_occurrence
from aggregator.ingest.events import is_upcoming
from aggregator.settings import Settings

GOLDEN = Path(__file__).resolve().parent / "golden" / "digest"
ROOT = Path(__file__).resolve().parents[1]
CASES = sorted(p.name for p in GOLDEN.iterdir() if (p / "input.json").exists())


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def load_case(name: str) -> tuple[IssueContent, Recipient | None, PersonalLinks]:
    data = json.loads((GOLDEN / name / "input.json").read_text(encoding="utf-8"))
    now = datetime.fromisoformat(data["now"])  # the fixed send time: which events are still to come
    items = []
    for raw in data["issue"]["items"]:
        event = raw["event"]
        info = None
        if event:
            start, end, rule = _when(event["start"]), _when(event["end"]), event.get("recurrence")
            if rule:
                start, end = series_occurrence(rule, now)
            info = EventInfo(
                start,
                end,
                event["location"],
                event["online"],
                event["registration_url"],
                is_upcoming(start, end, now),
                rule,
            )
        items.append(
            IssueItem(
                resource_id=raw["resource_id"],
                section=raw["section"],
                position=raw["position"],
                title=raw["title"],
                url=raw["url"],
                summary=raw["summary"],
                type=raw["type"],
                published=_when(raw["published"]),
                image_url=raw["image_url"],
                event=info,
                also_listed_on=tuple(raw["also_listed_on"]),
                themes=tuple(raw["themes"]),
                audiences=tuple(raw["audiences"]),
                featured=raw["featured"],
            )
        )
    issue = data["issue"]
    content = IssueContent(issue["id"], issue["month"], issue["status"], issue["intro"], tuple(items))
    chosen = data["recipient"]
    recipient = (
        Recipient(1, "reader@example.org", tuple(chosen["audiences"]), tuple(chosen["themes"])) if chosen else None
    )
    return content, recipient, PersonalLinks(**data["links"])


def render_case(name: str):
    content, recipient, links = load_case(name)
    settings = Settings(base_url="https://digest.example", secret_key="golden", taxonomy_file=ROOT / "taxonomy.yaml")
    return render_digest(
        content, recipient=recipient, settings=settings, taxonomy=load_taxonomy(ROOT / "taxonomy.yaml"), personal=links
    )


@pytest.mark.parametrize("case", CASES)
def test_golden(case):
    rendered = render_case(case)
    folder = GOLDEN / case
    if os.environ.get("AGGREGATOR_REGEN_GOLDEN"):
        (folder / "expected.html").write_text(rendered.html, encoding="utf-8")
        (folder / "expected.txt").write_text(rendered.text, encoding="utf-8")
    assert rendered.html == (folder / "expected.html").read_text(encoding="utf-8")
    assert rendered.text == (folder / "expected.txt").read_text(encoding="utf-8")
    assert (folder / "README.md").exists()


def test_golden_cases_cover_the_required_kinds():
    assert {"full-issue", "subscriber-preferences", "hostile-text"} <= set(CASES)


@pytest.mark.parametrize("case", CASES)
def test_every_copy_has_visible_unsubscribe_and_preferences_links_and_alt_text(case):
    rendered = render_case(case)
    for body in (rendered.html, rendered.text):
        assert "https://digest.example/unsubscribe/TOKEN-U" in body
        assert "https://digest.example/preferences/TOKEN-P" in body
    assert images_without_alt(rendered.html) == []
    assert 'style="' in rendered.html  # CSS inlined
    assert "prefers-color-scheme: dark" in rendered.html  # kept in <style> for clients that support it
    assert "<table" in rendered.html and "<!--[if mso]>" in rendered.html


def test_hostile_text_is_shown_as_text_and_never_as_markup():
    rendered = render_case("hostile-text")
    html, text = rendered.html, rendered.text
    assert "<script" not in html and "<svg" not in html and "<img src=x" not in html and "<b>" not in html
    assert "&lt;script&gt;" in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "javascript:" not in html and "data:text" not in html and "javascript:" not in text
    assert "\r" not in html and "\x00" not in html and "\x00" not in text
    assert "<script>alert('title')</script> Kindness toolkit" in text  # plain text shows it as written
    assert "=?utf-8?q?Hi=0ABcc:_x@example.com?=" in text
    assert rendered.subject == "Kindness in care digest: November 2026"


def test_preferences_filter_the_copy():
    full, chosen = render_case("full-issue"), render_case("subscriber-preferences")
    assert "Kindness in healthcare: a toolkit for teams" in full.text
    assert "Kindness in healthcare: a toolkit for teams" not in chosen.text
    assert "Compassionate leadership: what boards can do" in chosen.text
    assert "the audiences and themes you chose" in chosen.text
