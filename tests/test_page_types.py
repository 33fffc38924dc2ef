"""Type from what the page says it is: schema.org, og:type, citation_*, embeds, enclosures, URL sections (issue 14 item 5)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aggregator.classify.pagetypes import load_type_set
from aggregator.config.sources import SourceConfig
from aggregator.ingest.adapters.feed import parse_feed
from aggregator.ingest.adapters.metadata import extract_metadata
from aggregator.ingest.resource_types import infer_entry_type, infer_type, type_from_path
from aggregator.model import RawEntry, ResourceType

T = ResourceType
HTMLDATE_PAGES = Path(__file__).resolve().parents[1] / ".." / "shared" / "corpus" / "html" / "htmldate" / "pages"
TYPE_SET = Path(__file__).resolve().parent / "eval" / "html_types.jsonl"
SOURCE = SourceConfig(id="hub", name="Hub", url="https://hub.example.org/", adapter="feed")
LONG = "<p>" + "A long write-up of the day, with quotes and links. " * 60 + "</p>"


def page(head: str = "", body: str = "<p>Hello.</p>") -> bytes:
    return f"<!doctype html><html><head><title>A page</title>{head}</head><body>{body}</body></html>".encode()


def jsonld(node: dict) -> str:
    return f'<script type="application/ld+json">{json.dumps({"@context": "https://schema.org", **node})}</script>'


YOUTUBE = '<iframe src="https://www.youtube-nocookie.com/embed/abc123"></iframe>'
SOUNDCLOUD = '<iframe src="https://w.soundcloud.com/player/?url=https%3A//api.soundcloud.com/tracks/1"></iframe>'
RELATED = (
    "<ul>" + "".join(f'<li><a href="/e{n}">Episode {n}: a guest and a long title</a></li>' for n in range(60)) + "</ul>"
)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (page(jsonld({"@type": "ScholarlyArticle", "headline": "A trial"})), T.RESEARCH),
        (page(jsonld({"@type": "Report", "name": "Annual staff survey"})), T.REPORT),
        (page(jsonld({"@type": "Course", "name": "Kindness in practice"})), T.TOOLKIT),
        (page(jsonld({"@type": "JobPosting", "title": "Ward sister", "name": "Ward sister"})), T.NEWS),
        (
            page(
                jsonld(
                    {
                        "@graph": [
                            {"@type": "WebPage", "name": "Seminar"},
                            {
                                "@type": "EducationEvent",
                                "name": "Schwartz Rounds seminar",
                                "startDate": "2026-03-04T14:00:00Z",
                                "location": {"@type": "Place", "name": "Leeds"},
                            },
                        ]
                    }
                )
            ),
            T.EVENT,
        ),
        (page('<meta property="og:type" content="video.other">'), T.VIDEO),
        (page('<meta name="citation_title" content="X"><meta name="citation_doi" content="10.1/x">'), T.RESEARCH),
        (page('<meta name="citation_technical_report_number" content="R-12">'), T.REPORT),
        (page(body=f"<main><h1>Our film</h1>{YOUTUBE}</main>"), T.VIDEO),
        (page(jsonld({"@type": "SoftwareApplication", "name": "Rota app"})), T.TOOLKIT),
        (page(jsonld({"@type": "SoftwareSourceCode", "name": "kindness-bot"})), T.TOOLKIT),
        (page(jsonld({"@type": "LearningResource", "name": "Speaking up: module 1"})), T.TOOLKIT),
        (page(jsonld({"@type": "OpinionNewsArticle", "headline": "Why kindness matters"})), T.NEWS),
        (page(jsonld({"@type": "RadioEpisode", "name": "Episode 4"})), T.VIDEO),
        # a podcast host's player, an HTML5 player, a link to the recording's file (by its type or its name)
        (page(body=f"<main><h1>Episode 4</h1>{SOUNDCLOUD}</main>"), T.VIDEO),
        (page(body='<article><h1>Episode 4</h1><audio controls src="/e4.ogg"></audio></article>'), T.VIDEO),
        (page(body='<h1>Episode 4</h1><a href="/files/e4" type="audio/mpeg">MP3</a><p>Our guest.</p>'), T.VIDEO),
        (page(body='<h1>Episode 4</h1><a href="/files/e4.mp3?x=1">Download</a><p>Our guest.</p>'), T.VIDEO),
        # menus and related links around a recording do not make it a write-up; the write-up's own words do
        (page(body=f"<h1>Episode 4</h1>{RELATED}{SOUNDCLOUD}"), T.VIDEO),
        (page(body=f"<article><h1>The day</h1>{LONG}<a href='/e4.mp3'>MP3</a></article>"), None),
        (page(body='<h1>Minutes</h1><a href="/minutes.pdf">PDF</a><a href="/mp3-players">MP3 players</a>'), None),
        (page(body='<main><video autoplay muted loop src="/hero.mp4"></video><h1>Welcome</h1></main>'), None),
        # an embed in a long write-up, or og:type article, says nothing: text cues decide later
        (page(body=f"<article><h1>The day</h1>{LONG}{YOUTUBE}</article>"), None),
        (page('<meta property="og:type" content="article">'), None),
    ],
)
def test_the_page_says_what_it_is(body: bytes, expected: ResourceType | None) -> None:
    assert extract_metadata(body, "https://site.example/a/b").type_hint == expected


def test_the_main_entity_wins_over_a_video_it_mentions() -> None:
    body = page(jsonld({"@type": "NewsArticle", "headline": "Our new film"}), f"<main>{YOUTUBE}</main>")
    assert extract_metadata(body, "https://site.example/news/film").type_hint == T.NEWS


@pytest.mark.skipif(not HTMLDATE_PAGES.is_dir(), reason="the shared corpus is not checked out")
def test_real_pages_metadata_states_their_labelled_type_or_nothing() -> None:
    # 69 real pages of as many sites (htmldate's test pages: news, blogs, shops, home pages); whatever their
    # metadata states must be the type tests/eval/html_types.jsonl gives them, and news on the pages it skips
    labelled = {Path(r.file).name: r.type for r in load_type_set(TYPE_SET) if r.file.startswith("htmldate/")}
    wrong = {}
    for path in sorted(HTMLDATE_PAGES.glob("*.html")):
        hint = extract_metadata(path.read_bytes(), f"https://{path.stem}/").type_hint
        if hint not in (None, labelled.get(path.name, T.NEWS)):
            wrong[path.name] = hint
    assert len(labelled) >= 50
    assert wrong == {}


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://trust.example/events/schwartz-rounds-open-day", T.EVENT),
        ("https://trust.example/our-work/case-studies/kinder-rotas", T.CASE_STUDY),
        ("https://trust.example/blog/2024/05/kindness", T.NEWS),
        ("https://trust.example/podcasts/episode-4", T.VIDEO),
        ("https://trust.example/resources/toolkits/speaking-up", T.TOOLKIT),
        # a slug is not a section: only segments before the last count
        ("https://trust.example/resources/events", None),
        ("https://trust.example/news-and-events-round-up", None),
        ("http://[::1", None),
        # "/articles/" is research before an identifier or a repository's item type, not before a CMS's slug
        ("https://pmc.ncbi.nlm.nih.gov/articles/PMC8151650", T.RESEARCH),
        ("https://bmcnurs.biomedcentral.com/articles/10.1186/s12912-021-00700-0", T.RESEARCH),
        ("https://www.nature.com/articles/s41586-020-2649-2", T.RESEARCH),
        ("https://sussex.figshare.com/articles/journal_contribution/Controlled_interventions/1", T.RESEARCH),
        ("https://trust.example/articles/2023_annual_report/summary", None),
        ("https://trust.example/articles/ways-to-thank-healthcare-workers", None),
        # a year after "/articles/" starts a CMS's dated path (two labelled pages' real addresses)
        ("https://www.octanner.com/in/insights/articles/2023/1/24/ways-to-thank-healthcare-workers.html", None),
        (
            "https://www.bevanbrittan.com/insights/articles/2018/improving-learning-and-communication-between-nhs-trusts-and-bereaved-families/",
            None,
        ),
    ],
)
def test_url_sections_name_a_type(url: str, expected: ResourceType | None) -> None:
    assert type_from_path(url) == expected


def test_a_url_section_wins_over_text_cues_but_not_over_a_doi() -> None:
    assert infer_type("Staff survey report", "Findings.", url="https://a.example/news/survey") == T.NEWS
    assert infer_type("Paper", "doi:10.1136/bmj.n1", url="https://a.example/news/paper") == T.RESEARCH


def test_only_the_opening_of_a_long_page_text_gives_cues() -> None:
    text = "We opened the new garden today. " * 40 + " Download the toolkit."
    assert infer_type("A new garden", text) == T.NEWS


def test_an_audio_enclosure_makes_a_video_and_a_pdf_with_no_cue_a_report() -> None:
    feed = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><link>https://hub.example.org/</link>
    <item><title>Episode 4: Dr Ann Lee</title><link>https://hub.example.org/e4</link>
      <enclosure url="https://hub.example.org/e4.mp3" type="audio/mpeg" length="1"/></item>
    <item><title>Spring update</title><guid>urn:x</guid>
      <enclosure url="https://hub.example.org/spring.pdf" type="application/pdf" length="1"/></item>
    </channel></rss>"""
    episode, document = parse_feed(feed, "https://hub.example.org/feed")
    assert infer_entry_type(episode, SOURCE) == T.VIDEO
    assert document.extra["pdf_url"] == "https://hub.example.org/spring.pdf"
    assert infer_entry_type(document, SOURCE) == T.REPORT
    assert infer_entry_type(RawEntry(url="https://hub.example.org/a", title="Spring update"), SOURCE) == T.NEWS


CORPUS = HTMLDATE_PAGES.parents[2]


@pytest.mark.skipif(not CORPUS.is_dir(), reason="the shared corpus is not checked out")
def test_a_real_podcast_feed_is_all_video_by_its_enclosures() -> None:
    # Giant Bomb's podcast feed (rss-parser's test suite): 730 episodes, each with an audio/mpeg enclosure;
    # text cues alone called 140 of them video, the rest news, report, toolkit...
    body = (CORPUS / "feeds" / "rss-parser" / "input" / "giantbomb-podcast.rss").read_bytes()
    entries = parse_feed(body, "https://www.giantbomb.com/")
    assert len(entries) > 700
    assert {infer_entry_type(entry, SOURCE) for entry in entries} == {T.VIDEO}


@pytest.mark.skipif(not CORPUS.is_dir(), reason="the shared corpus is not checked out")
def test_real_event_pages_are_events_by_their_schema_org_event() -> None:
    # Songkick concert and tour-date pages (extruct's test suite): schema.org MusicEvent with a date and a venue
    pages = [p for p in sorted((CORPUS / "html" / "extruct" / "songkick").glob("*.html")) if "empty" not in p.name]
    assert len(pages) == 6
    for path in pages:
        meta = extract_metadata(path.read_bytes(), "https://www.songkick.com/concerts/1")
        assert (meta.type_hint, meta.event is not None) == (T.EVENT, True), path.name
