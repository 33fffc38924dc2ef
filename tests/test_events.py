"""Events: details found in a post's text, upcoming vs past, and the .ics each gets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import icalendar
import pytest

from aggregator.ingest.events import EventListing, event_to_ics, find_event, is_upcoming

UTC = UTC
POST = """<p>Our December conversation looks at kindness.</p>
<div class="wp-block-group event-details"><p><strong>Date:</strong> Wednesday 9 December 2026<br>
<strong>Time:</strong> 12:30 to 13:30 (UK time)<br><strong>Where:</strong> Online (Zoom)</p></div>
<div class="wp-block-buttons"><a href="https://www.eventbrite.co.uk/e/x?aff=k">Register on Eventbrite</a></div>"""


def test_event_found_in_a_wordpress_post():
    event = find_event(POST)
    assert event.start == datetime(2026, 12, 9, 12, 30, tzinfo=UTC)  # GMT in December
    assert event.end == datetime(2026, 12, 9, 13, 30, tzinfo=UTC)
    assert event.online is True and event.location == "Online (Zoom)"
    assert event.registration_url == "https://www.eventbrite.co.uk/e/x?aff=k"
    assert event.timezone == "Europe/London"


@pytest.mark.parametrize(
    ("html", "start", "location"),
    [
        (
            "<p>When: 12 June 2025, 6 to 7.30pm</p><p>Venue: Guy's Hospital, London</p>",
            datetime(2025, 6, 12, 17, 0, tzinfo=UTC),
            "Guy's Hospital, London",
        ),  # BST: 18:00 local
        ("<ul><li>Date: 3 March 2026</li><li>Location: Leeds</li></ul>", datetime(2026, 3, 3, tzinfo=UTC), "Leeds"),
    ],
)
def test_labelled_lines(html, start, location):
    event = find_event(html)
    assert event.start == start and event.location == location and event.online is None


@pytest.mark.parametrize(
    "html",
    [
        None,
        "",
        "<p>A write-up of last month's conversation.</p>",
        "<p>Date: to be confirmed</p>",
        "<p>Updated on 4 May 2025</p>",
    ],
)
def test_no_event_without_a_labelled_date(html):
    assert find_event(html) is None


def test_registration_link_must_be_http():
    event = find_event('<p>Date: 3 March 2026</p><a href="javascript:alert(1)">Register</a>')
    assert event.registration_url is None


def test_upcoming_only_while_its_start_is_in_the_future():
    # issue 15: an event under way at send time cannot be joined from the mail: it is past
    start = datetime(2026, 12, 9, 12, 30, tzinfo=UTC)
    assert is_upcoming(start, None, start - timedelta(days=1))
    assert not is_upcoming(start, None, start + timedelta(minutes=30))
    assert not is_upcoming(start, start + timedelta(hours=3), start)
    assert not is_upcoming(start, None, start + timedelta(hours=2))
    assert not is_upcoming(start, start + timedelta(hours=3), start + timedelta(hours=4))
    assert not is_upcoming(None, None, start)


def test_ics_is_valid_and_carries_no_injected_lines():
    listing = EventListing(
        7,
        "Conversation for kindness\r\nATTENDEE:mailto:evil@example.com",
        "https://e.org/x",
        datetime(2026, 12, 9, 12, 30, tzinfo=UTC),
        None,
        "Europe/London",
        "Online, Zoom",
        True,
        "https://www.eventbrite.co.uk/e/x",
        "About kindness",
    )
    data = event_to_ics(listing, now=datetime(2026, 11, 1, tzinfo=UTC))
    calendar = icalendar.Calendar.from_ical(data)
    (event,) = calendar.walk("VEVENT")
    assert event.get("dtstart").dt == datetime(2026, 12, 9, 12, 30, tzinfo=UTC)
    assert event.get("dtend").dt == datetime(2026, 12, 9, 13, 30, tzinfo=UTC)
    assert str(event.get("uid")) == "resource-7@kindness-digest.invalid"
    assert "eventbrite" in str(event.get("description"))
    assert event.get("attendee") is None  # the CR/LF in the title did not start a new property
    assert b"\r\nATTENDEE" not in data
