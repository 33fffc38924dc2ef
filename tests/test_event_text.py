"""Events found in unlabelled text (a dated occasion, a monthly series via dateutil's rrule) and job adverts kept out."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from aggregator.ingest.event_text import find_dated_occasion, find_series, series_occurrence
from aggregator.ingest.resource_types import infer_type, is_event
from aggregator.ingest.run import with_event
from aggregator.model import RawEntry

UTC = UTC
NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        (
            "Our final seminar of 2026 is on Wednesday 16 December 2026, 4\u20135pm (UK time), online",
            datetime(2026, 12, 16, 16, 0, tzinfo=UTC),
            datetime(2026, 12, 16, 17, 0, tzinfo=UTC),
        ),
        (
            "Join the culture team on 14 January 2027, 13:00 to 14:00, to talk",
            datetime(2027, 1, 14, 13, 0, tzinfo=UTC),
            datetime(2027, 1, 14, 14, 0, tzinfo=UTC),
        ),
        (
            "The seminar is on 16 December 2026, 14:00-15:30 GMT.",
            datetime(2026, 12, 16, 14, 0, tzinfo=UTC),
            datetime(2026, 12, 16, 15, 30, tzinfo=UTC),
        ),
        (
            "A summer webinar on 10 June 2027, 14:00-15:00 (UK time)",  # BST: an hour ahead of UTC
            datetime(2027, 6, 10, 13, 0, tzinfo=UTC),
            datetime(2027, 6, 10, 14, 0, tzinfo=UTC),
        ),
        ("Closing date: 20 November 2026. The seminar is on 3 February 2027.", datetime(2027, 2, 3, tzinfo=UTC), None),
    ],
)
def test_dated_occasion(text, start, end):
    assert find_dated_occasion(text) == (start, end)


def test_a_closing_date_alone_is_no_occasion():
    assert find_dated_occasion("Closing date 30 November 2026.") is None


def test_monthly_series_next_occurrence_follows_the_uk_clock():
    rule, start, end = find_series("Conversations on the third Thursday of every month, 6-7pm", after=NOW)
    assert rule.startswith("FREQ=MONTHLY;BYDAY=+3TH")
    assert (start, end) == (datetime(2026, 12, 17, 18, 0, tzinfo=UTC), datetime(2026, 12, 17, 19, 0, tzinfo=UTC))
    # in June the same 6pm is BST (17:00 UTC); the occurrence after 18 June 2027 is July's third Thursday
    assert series_occurrence(rule, datetime(2027, 6, 1, tzinfo=UTC))[0] == datetime(2027, 6, 17, 17, 0, tzinfo=UTC)
    assert series_occurrence(rule, datetime(2027, 6, 18, tzinfo=UTC))[0] == datetime(2027, 7, 15, 17, 0, tzinfo=UTC)


def test_series_in_gmt_is_taken_at_its_word():
    rule, start, _ = find_series("the third Thursday of every month, 6-7pm GMT", after=NOW)
    assert series_occurrence(rule, datetime(2027, 6, 1, tzinfo=UTC))[0] == datetime(2027, 6, 17, 18, 0, tzinfo=UTC)


def test_feed_post_with_an_unlabelled_date_becomes_an_event():
    entry = RawEntry(
        url="https://s.example/a",
        title="Next seminar: Trauma-informed compassion, 16 December 2026",
        content_html="<p>Our final seminar of 2026 is on <strong>Wednesday 16 December 2026, "
        "4&ndash;5pm (UK time)</strong>, online via Microsoft Teams.</p>",
        published=datetime(2026, 11, 12, tzinfo=UTC),
    )
    event = with_event(entry).event
    assert event.start == datetime(2026, 12, 16, 16, 0, tzinfo=UTC)


def test_series_post_keeps_its_rule():
    entry = RawEntry(
        url="https://s.example/b",
        title="Conversation for kindness",
        content_html="<p>Join us on the third Thursday of every month, 6-7pm GMT, online.</p>",
        published=NOW,
    )
    found = with_event(entry)
    assert found.extra["recurrence"].startswith("FREQ=MONTHLY;BYDAY=+3TH")
    assert found.event.start == datetime(2026, 12, 17, 18, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("title", "body"),
    [
        (
            "Job: Research Finance Officer, School of Health Sciences",
            "<p>The School that hosts the seminar series is recruiting a Research Finance Officer. Closing date 30 November 2026.</p>",
        ),
        (
            "Vacancy: Finance and Operations Officer (part-time, 0.6 FTE)",
            "<p>We are looking for a part-time officer.</p><p>Closing date: 20 November 2026. Download the job pack.</p>",
        ),
    ],
)
def test_a_job_advert_is_not_an_event(title, body):
    entry = RawEntry(url="https://s.example/job", title=title, content_html=body, published=NOW)
    assert with_event(entry).event is None
    assert not is_event(title, body)
    assert infer_type(title, body).value == "news"
