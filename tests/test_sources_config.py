"""sources.yaml validation: good files load; bad ones are refused with the line and a fix."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from aggregator.config.sources import load_sources, parse_sources
from aggregator.errors import ConfigError

GOOD = """\
version: 1
defaults:
  interval: 1d
  hints:
    audiences: [frontline-staff]
sources:
  - id: kindness-feed
    name: Kindness in Healthcare
    url: https://example.org/feed/
    adapter: feed
    hints:
      themes: [kindness]
  - id: seminars
    name: Seminars
    url: https://example.org/previous-seminars/
    adapter: page
    interval: 7d
    selectors:
      container: article.seminar
      title: h3
      fields:
        speaker: .speaker
        slides: a.slides @href
"""


def test_good_file_loads_with_defaults_merged():
    loaded = parse_sources(GOOD)
    feed, page = loaded.sources
    assert feed.interval == timedelta(days=1)
    assert page.interval == timedelta(days=7)
    # nested mappings merge one level down: the default audiences stay beside the source's themes
    assert feed.hints.audiences == ("frontline-staff",) and feed.hints.themes == ("kindness",)
    assert page.selectors.fields["slides"].css == "a.slides" and page.selectors.fields["slides"].attr == "href"
    assert page.selectors.title.attr is None


@pytest.mark.parametrize(
    ("old", "new", "line", "fragment", "hint"),
    [
        ("url: https://example.org/feed/", "url: file:///etc/passwd", 9, "only absolute http", "https://"),
        ("url: https://example.org/feed/", "url: ftp://example.org/feed", 9, "only absolute http", "https://"),
        ("    adapter: feed\n", "    adaptor: feed\n", 10, "adaptor", "did you mean 'adapter'"),
        ("adapter: feed", "adapter: rss", 10, "adapter", "feed, page, govuk"),
        ("interval: 7d", "interval: weekly", 17, "duration", "6h, 1d or 1w"),
        ("id: seminars", "id: kindness-feed", 13, "duplicate source id", "own id"),
        ("id: seminars", "id: Seminars Page", 13, "lower-case", "see the sources.yaml reference"),
        ("      container: article.seminar\n", "", 18, "container", "add `container:`"),
        ("        speaker: .speaker", "        speaker: ' @href'", 22, "CSS part", "developer tools"),
        (
            "        speaker: .speaker",
            "        speaker: 'div[[oops'",
            22,
            "not a valid CSS selector",
            "developer tools",
        ),
    ],
)
def test_bad_file_is_refused_with_line_and_hint(old, new, line, fragment, hint):
    text = GOOD.replace(old, new, 1)
    assert text != GOOD
    with pytest.raises(ConfigError) as caught:
        parse_sources(text, "sources.yaml")
    error = caught.value
    assert error.line == line, str(error)
    assert fragment in str(error)
    assert hint in error.hint
    assert str(error).startswith(f"sources.yaml:{line}:")


def test_unknown_top_level_key_is_an_error():
    with pytest.raises(ConfigError) as caught:
        parse_sources(GOOD + "extra: 1\n")
    assert "extra" in str(caught.value) and caught.value.line == 24


def test_yaml_syntax_error_has_line():
    with pytest.raises(ConfigError) as caught:
        parse_sources("sources:\n  - id: a\n   name: b\n")
    assert caught.value.line == 3
    assert "indentation" in caught.value.hint


def test_page_adapter_requires_selectors():
    text = GOOD.replace(
        "    selectors:\n      container: article.seminar\n      title: h3\n      fields:\n"
        "        speaker: .speaker\n        slides: a.slides @href\n",
        "",
    )
    with pytest.raises(ConfigError) as caught:
        parse_sources(text)
    assert "selectors" in str(caught.value)


def test_missing_file_has_hint(tmp_path: Path):
    with pytest.raises(ConfigError) as caught:
        load_sources(tmp_path / "nope.yaml")
    assert "AGGREGATOR_SOURCES_FILE" in caught.value.hint


def test_repository_sources_file_is_valid():
    root = Path(__file__).resolve().parents[1]
    loaded = load_sources(root / "sources.yaml")
    adapters = {s.adapter for s in loaded.sources}
    assert {"feed", "page", "govuk", "oai-pmh"} <= adapters
    assert all(s.url.startswith("https://") for s in loaded.sources)


@pytest.mark.parametrize(
    "nesting",
    [
        "[" * 20_000,  # flow style
        "".join(f"{' ' * n}k{n}:\n" for n in range(3000)),  # block style, one more level per line
    ],
)
@pytest.mark.parametrize("parse, filename", [("sources", "sources.yaml"), ("taxonomy", "taxonomy.yaml")])
def test_deeply_nested_yaml_is_a_config_error_with_its_line(nesting, parse, filename):
    from aggregator.config.taxonomy import parse_taxonomy

    parser = parse_sources if parse == "sources" else parse_taxonomy
    with pytest.raises(ConfigError) as caught:
        parser(
            f"defaults:\n  schedule: daily\nsources: {nesting}\n"
            if "[" in nesting
            else f"defaults:\n  schedule: daily\nsources:\n{nesting}",
            filename,
        )
    assert "nested more than" in str(caught.value) and caught.value.line and caught.value.line >= 3


@pytest.mark.parametrize(
    ("name", "partner", "public"),
    [
        ("Patient Safety Learning hub \u2014 Kindness in healthcare (RSS)", None, "Patient Safety Learning hub"),
        ("GOV.UK \u2013 DHSC activity (Atom)", None, "GOV.UK"),
        ("The King's Fund (RSS)", None, "The King's Fund"),
        ("Point of Care Foundation", None, "Point of Care Foundation"),
        (
            "LSE Research Online \u2014 public aspects of medicine",
            "London School of Economics",
            "London School of Economics",
        ),
    ],
)
def test_public_name_is_the_partner_never_how_we_read_it(name, partner, public):
    from aggregator.config.sources import SourceConfig

    config = SourceConfig(id="x", name=name, url="https://x.example/feed", adapter="feed", partner=partner)
    assert config.public_name == public
