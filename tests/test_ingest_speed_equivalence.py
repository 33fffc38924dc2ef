"""The ingest's fast paths give exactly what the full paths they skip give (bench/ingest_bench.py measures them)."""

from __future__ import annotations

import html
import re
import sys
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import courlan
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.dialects import sqlite
from w3lib.url import canonicalize_url

from aggregator import resource_types, sanitize
from aggregator.adapters.feed import parse_feed
from aggregator.db import schema, store
from aggregator.errors import ParseError
from aggregator.events import _HAS_DATE_LABEL, has_date_label
from aggregator.model import RawEntry
from aggregator.normalize import canonicalize, is_canonical
from tests.support import resources as resources_support
from tests.test_feed_corpus import feed_inputs

FAST = settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def full_canonical(url: str) -> str:
    """canonicalize without its fast path: courlan, then w3lib."""
    return canonicalize_url(courlan.normalize_url(url.strip(), strict=False), keep_fragments=False)


def outcome(function, *args) -> tuple[str, object]:
    """What `function` gives: its value, or the type of what it raises (the libraries refuse some URLs)."""
    try:
        return "value", function(*args)
    except Exception as error:  # noqa: BLE001 - the exception is the outcome compared
        return "raises", type(error)


def mostly(usual: list[str], edges: list[str]) -> st.SearchStrategy[str]:
    """Usually a piece the fast path accepts, sometimes one at its edge, so both sides are well covered."""
    return st.sampled_from(usual * 12 + edges)


# Pieces at the edges of the fast path: case, ports, dots, empty segments, escapes, punycode, queries.
_SCHEMES = mostly(["http", "https"], ["HTTPS", "ftp", "http:", "https:/"])
_HOST_PARTS = mostly(["example", "org", "a-b", "www", "1", "a" * 63],
                     ["-a", "a-", "xn--bcher-kva", "ExAmple", "0x1f", "a" * 64, "", "_x", "é", "localhost"])
_PORTS = mostly([""], [":443", ":80", ":8443", ".", ":"])
_LEADS = mostly(["/"], ["//", "", " /", "/./", "/../"])
_PATH_PARTS = mostly(["post-1", "2024", "a~b", "a.b", "feed", "index.html", "A_Z", "a..", "-"],
                     ["", ".", "..", ".well-known", "A%41", "%7e", "a;b", "a b", "é", "a:b", "a=b", "a,b",
                      "a!b", "a+b", "a@b", "a'b", "a(b)", "a*b", "a$b", "a&amp;b"])
_TAILS = mostly([""], ["?", "#", "?a=1", "#top", "?utm_source=x", " ", "\t", "\n"])


@st.composite
def near_canonical_urls(draw) -> str:
    host = ".".join(draw(st.lists(_HOST_PARTS, min_size=1, max_size=4)))
    path = "/".join(draw(st.lists(_PATH_PARTS, max_size=5)))
    return (f"{draw(mostly([''], [' ']))}{draw(_SCHEMES)}://{host}{draw(_PORTS)}{draw(_LEADS)}{path}"
            f"{draw(_TAILS)}")


@FAST
@given(near_canonical_urls())
@example("https://partner.example.org/2024/05/post-1/")
@example("https://example.org")
@example("https://xn--bcher-kva.example/")
@example("https://example.org/a//b")
@example("https://example.org/./a")
def test_canonicalize_fast_path_equals_the_libraries(url):
    expected = outcome(full_canonical, url)
    assert outcome(canonicalize, url) == expected
    if is_canonical(url.strip()):
        assert expected == ("value", url.strip())


@FAST
@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=60))
def test_canonicalize_fast_path_on_any_text(tail):
    for url in (f"https://example.org/{tail}", f"http://{tail}", tail):
        assert outcome(canonicalize, url) == outcome(full_canonical, url)


def test_canonicalize_fast_path_on_every_corpus_link(corpus_dir, sites_dir):
    """Every entry link and guid the feed corpus yields canonicalises as the libraries do."""
    urls = set()
    for path in [*feed_inputs(corpus_dir), *sorted(sites_dir.rglob("*.xml"))]:
        try:
            entries = parse_feed(path.read_bytes(), "https://partner.example.org/feed/")
        except ParseError:
            continue
        urls.update(u for e in entries for u in (e.url, e.guid) if u)
    fast = [url for url in urls if is_canonical(url.strip())]
    assert len(fast) > 500  # the fast path is the common case, not a curiosity
    assert [url for url in urls if outcome(canonicalize, url) != outcome(full_canonical, url)] == []


def test_date_label_letters_match_only_themselves_ignoring_case():
    """has_date_label's substring test is sound: no other character matches d, a, t, e, w, h or n."""
    letters = re.compile("[datewhn]", re.IGNORECASE)
    assert {chr(c) for c in range(sys.maxunicode + 1) if letters.fullmatch(chr(c))} == set("datewhnDATEWHN")


_LABEL_TEXT = st.lists(st.sampled_from(["Date", "date", "DATE", "when", "WHEN", "wHen", ":", " : ", "<b>", "</b>",
                                        "<strong>", "x", "update", "whence", "dāte", "ſ", "K", " ", "\n", "é", "_"]),
                       max_size=12).map("".join)


@FAST
@given(st.one_of(_LABEL_TEXT, st.text(max_size=40)))
def test_has_date_label_equals_the_label_search(html):
    assert has_date_label(html) == (_HAS_DATE_LABEL.search(html) is not None)


def every_word(text: str) -> set[str]:
    """text_words without its shortcut: every run of word characters."""
    return set(re.findall(r"\w+", text))


def split_host(url: str) -> str:
    """_ruled_host without its shortcut."""
    return urlsplit(url).hostname or ""


_CUE_TEXT = st.lists(st.one_of(
    st.sampled_from(sorted(resource_types._CUE_WORD_SET)),
    st.sampled_from(["seminar", "seminars", "meetup", "meet-up", "report", "reports_", "évaluation", "10.1000/x",
                     "join us", "case study", "we found", "register", "12:30", "3pm", " ", ".", "\n", "-", "_", "é",
                     "ſ", "K", "data", "Data", "toolkit", "tools", "1report", "report2"]),
    st.text(max_size=5)), max_size=25).map(" ".join)
_TYPE_URLS = st.one_of(st.sampled_from([
    "https://www.youtube.com/watch?v=x", "https://YouTu.be/x", "https://player.vimeo.com/1", "https://doi.org/10.1/x",
    "https://notyoutube.com/", "https://x.org/youtube.com", "https://you\ttube.com/", "https://[::1]/x", "https://[x/",
    "https://vİmeo.com/", "https://ＹouTube.com/", "https://doi.org:443/x", "", " https://doi.org/x",
    "https://www.example.org/10.1234/abc"]), near_canonical_urls(), st.text(max_size=30))


@FAST
@given(_CUE_TEXT)
@example("évaluation report… “toolkit” éreport")
def test_text_words_finds_every_cue_word(text):
    """Every cue word that is a run of word characters; in ASCII text, only those."""
    found, exact = resource_types.text_words(text), every_word(text) & resource_types._CUE_WORD_SET
    assert found >= exact
    if text.isascii():
        assert found == exact
    # Any extra word stands in the text next to a non-ASCII character.
    for word in found - exact:
        starts = [m.start() for m in re.finditer(word, text)]
        assert any(not text[i - 1:i].isascii() or not text[i + len(word):i + len(word) + 1].isascii()
                   for i in starts), word


def test_text_words_splits_ascii_text_where_the_word_pattern_does():
    # Every ASCII character between two cue words, and at either end: the byte table must split
    # exactly where runs of \w end.
    for code in range(128):
        for text in (f"report{chr(code)}data", f"{chr(code)}seminar", f"toolkit{chr(code)}"):
            assert resource_types.text_words(text) == every_word(text) & resource_types._CUE_WORD_SET, repr(text)


@FAST
@given(_CUE_TEXT, _CUE_TEXT, _TYPE_URLS)
def test_infer_type_equals_the_full_word_and_host_rules(title, summary, url):
    fast = (outcome(resource_types.infer_type, title, summary, None, url), resource_types.is_event(title, summary))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(resource_types, "text_words", every_word)
        patch.setattr(resource_types, "_ruled_host", split_host)
        assert fast == (outcome(resource_types.infer_type, title, summary, None, url),
                        resource_types.is_event(title, summary))


_ZONES = st.sampled_from([timezone.utc, timezone(timedelta(hours=1)), timezone(timedelta(hours=-5, minutes=-30)),
                          ZoneInfo("Europe/London")])
_STORED_VALUES = st.one_of(
    st.none(), st.datetimes(timezones=_ZONES), st.just({}), st.dictionaries(st.text(max_size=3), st.text(max_size=3)),
    st.tuples(st.text(max_size=4)), st.lists(st.text(max_size=4), max_size=3).map(tuple),
    st.lists(st.one_of(st.integers(0, 2), st.booleans(), st.floats(0, 2), st.text(max_size=2)), max_size=3).map(tuple))
_AMBIGUOUS = datetime(2024, 10, 27, 1, 30, tzinfo=ZoneInfo("Europe/London"))  # equal to its fold=1 twin


@FAST
@given(_STORED_VALUES, _STORED_VALUES, st.sampled_from(["authors", "tags", "extra", "published_at", "updated_at"]))
@example(_AMBIGUOUS, _AMBIGUOUS.replace(fold=1), "published_at")
@example((1,), (True,), "tags")
def test_store_shares_processing_only_between_values_that_process_alike(first, second, name):
    """Values with equal memo keys bind alike, in either table's column (same type key: same processing)."""
    dialect = sqlite.dialect()
    for table in (schema.resources, schema.entries):
        if name in table.c:
            process = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
            key = store._memo_key(first)
            if key is not store._UNSEEN and key == store._memo_key(second):
                assert outcome(process, first) == outcome(process, second)


def test_a_resource_and_its_entry_share_type_keys():
    """The values a resource and its entry both store are processed once (same memo)."""
    for name in ("authors", "tags", "published_at", "updated_at"):
        assert store._type_key(schema.resources.c[name].type) == store._type_key(schema.entries.c[name].type)


def test_memos_last_per_dialect_and_start_again_when_full():
    """Values processed in one batch are not processed again in the next (a site's tags and authors
    recur); each dialect keeps its own memos, and a full memo starts again instead of growing."""
    calls: list[object] = []

    def process(value):
        calls.append(value)
        return repr(value)

    first, other = sqlite.dialect(), sqlite.dialect()
    memo = store.lasting_memos(first).setdefault("tags", {})
    assert store._processed(process, [("care",), ("kindness",), ("care",)], memo) == ["('care',)", "('kindness',)", "('care',)"]
    assert store._processed(process, [("kindness",), None], store.lasting_memos(first)["tags"]) == ["('kindness',)", "None"]
    assert calls == [("care",), ("kindness",), None]
    assert store.lasting_memos(other) == {}
    memo.update((n, str(n)) for n in range(store._MEMO_LIMIT + 1))
    assert store._processed(process, [("care",)], memo) == ["('care',)"]  # within a batch, all are kept
    assert len(calls) == 3
    assert store.lasting_memos(first)["tags"] == {}  # the next batch starts again


def full_text(fragment: str | None) -> str:
    """html_to_text without its shortcut: nh3 drops every tag, then references are decoded."""
    if not fragment:
        return ""
    text = sanitize._TEXT_ONLY.clean(sanitize.strip_controls(fragment))
    return " ".join(sanitize.strip_controls(html.unescape(text)).split())


# Pieces of markup at the edges of plain markup: its tags and others, references the parser and
# html.unescape read differently (noncharacters, C1 controls), controls, carriage returns and quotes.
_MARKUP = st.lists(st.one_of(st.sampled_from([
    "<p>", "</p>", "<a>", "</a>", '<a href="https://x.example/?a=1&amp;b=2" rel="noopener noreferrer nofollow">',
    "<br>", "</br>", '<img src="a.jpg" alt="a>b">', '<img alt="">', "<strong>", "</em>", "<span>", "<P>", "<div>",
    "</div>", "<pre>", "<table>", "<td>", "<textarea>", "<script>", "<style>", "<!-- c -->", "<", "<a", "<p x>",
    '<a title="x\'y">', "care", "Kindness", " ", "  ", "\n", "\r", "\t", "\x0c", "\x00", "\x01", "\x7f", "\ud800",
    "&", "&amp;", "&lt;", "&gt;", "&nbsp;", "&notit;", "&ampx", "&#38;", "&#x80;", "&#x81;", "&#xFFFF;", "&#1;",
    "&#0;", "&#13;", "&#x110000;", "&NewLine;", ">", '"', "'", "\u2026", "\xa0", "\xe9", "\u2028"]),
    st.text(max_size=4)), max_size=16).map("".join)


@FAST
@given(st.one_of(_MARKUP, st.text(max_size=40)))
@example('<p>Care [\u2026]</p>\n<p>The post <a href="https://x.example/">Kind &amp; fair</a> appeared first.</p>')
def test_html_to_text_equals_dropping_tags_with_nh3(fragment):
    assert sanitize.html_to_text(fragment) == full_text(fragment)


@FAST
@given(st.one_of(_MARKUP, st.text(max_size=40)))
def test_plain_tags_found_exactly_for_plain_markup(markup):
    assert (sanitize.plain_tags(markup) is not None) == (sanitize._PLAIN_MARKUP.fullmatch(markup) is not None)


@FAST
@given(st.one_of(_MARKUP, st.text(max_size=40)))
@example("&#1;&#x7f;&#xD800;&#0;")
def test_only_numeric_references_leave_controls_after_cleaning(fragment):
    """clean_with's premise for removing controls once: nh3 makes them only from numeric references."""
    fragment = sanitize.strip_controls(fragment)
    cleaned = sanitize._CLEANER.clean(fragment)
    if "&#" not in fragment:
        assert sanitize.strip_controls(cleaned) == cleaned


def test_html_to_text_of_every_sanitised_summary(corpus_dir, sites_dir):
    """Every summary and content the feed adapter sanitises, over the corpus and the sites, gives the same
    text by the shortcut as through nh3; most of them take the shortcut."""
    fragments = []
    for path in [*feed_inputs(corpus_dir), *sorted(sites_dir.rglob("*.xml"))]:
        result = outcome(parse_feed, path.read_bytes(), "https://partner.example.org/feed/")
        if result[0] == "value":
            fragments += [f for entry in result[1] for f in (entry.summary_html, entry.content_html) if f]
    shortcut = [f for f in fragments if "&#" not in f and sanitize.plain_tags(f) is not None]
    assert len(shortcut) > len(fragments) / 2 > 500
    assert [f for f in fragments if sanitize.html_to_text(f) != full_text(f)] == []


def folded_line(value: str | None) -> str:
    """clean_text without its shortcut."""
    return " ".join(sanitize.strip_controls(value).split()) if value else ""


_LINES = st.lists(st.one_of(st.sampled_from([" ", "  ", "\t", "\n", "\r", "\x00", "\x07", "\x0b", "\x1c", "\x1f",
                                             "\x7f", "\x85", "\xa0", "\u2003", "\u2028", "\u3000", "\ud800", "\u200b",
                                             "\ufeff", "a", "care", "é"]),
                            st.text(max_size=4)), max_size=10).map("".join)


@FAST
@given(st.one_of(_LINES, st.text()))
@example("")
def test_clean_text_equals_folding_every_value(value):
    assert sanitize.clean_text(value) == folded_line(value)
    if sanitize.is_clean_line(value):
        assert folded_line(value) == value


@FAST
@given(st.one_of(_LINES, st.text()))
@example("Care [\u2026]\nThe post appeared first.")
def test_folding_line_breaks_equals_splitting_at_every_space(value):
    assert sanitize._fold_space(value) == " ".join(value.split())


def test_printable_means_only_the_space_splits():
    """is_clean_line's premise, over every character: str.split splits a printable string only at spaces."""
    assert [c for c in map(chr, range(sys.maxunicode + 1)) if c.isprintable() and c.isspace()] == [" "]


def test_reading_without_content_changes_nothing_else(corpus_dir, sites_dir):
    """with_content=False (content:encoded read only when it stands in for a missing description) gives
    the same entries as with_content=True, content aside, for every feed of the corpus and the sites."""
    def read(body: bytes, with_content: bool) -> list:
        return parse_feed(body, "https://partner.example.org/feed/", with_content=with_content)

    for path in [*feed_inputs(corpus_dir), *sorted(sites_dir.rglob("*.xml"))]:
        body = path.read_bytes()
        full, light = outcome(read, body, True), outcome(read, body, False)
        if full[0] == "raises":
            assert light == full, path
        else:
            assert light[1] == [replace(entry, content_html=None) for entry in full[1]], path


@pytest.mark.parametrize("limit", [128, 100, 7])
def test_insert_chunks_cover_every_row_in_few_statements(limit):
    """Every row inserted once, in at most two statements beyond full ones, with few distinct sizes."""
    sizes_seen = set()
    for count in range(1, 400):
        sizes, remaining = [], count
        while remaining:
            sizes.append(store._chunk_size(remaining, limit))
            remaining -= sizes[-1]
        assert sum(sizes) == count and all(0 < size <= limit for size in sizes)
        assert len(sizes) <= count // limit + 2
        sizes_seen.update(sizes)
    assert len(sizes_seen) <= limit // 16 + 16


@pytest.mark.parametrize("count", [1, 15, 16, 17, 50, 129, 300])
def test_every_entry_points_at_its_own_resource(engine, count):
    """Ids returned by the chunked INSERT ... RETURNING reach the right entries, whatever the batch size."""
    config = resources_support.source("chunks")
    resources_support.store(engine, config, [
        RawEntry(url=f"https://chunks.example/{n}/", title=f"Entry {n}", published=resources_support.NOW)
        for n in range(count)])
    with engine.connect() as conn:
        rows = conn.execute(select(schema.entries.c.canonical_url, schema.entries.c.title,
                                   schema.resources.c.canonical_url, schema.resources.c.title)
                            .join(schema.resources, schema.resources.c.id == schema.entries.c.resource_id)).all()
    assert len(rows) == count
    assert all(row[0] == row[2] and row[1] == row[3] for row in rows)
