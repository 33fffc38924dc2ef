"""What subscribers read: partner "Read more" tails dropped, tracking parameters removed (one list)."""

from __future__ import annotations

import pytest

from aggregator.textclean import clean_summary, is_tracking_parameter, outgoing_url


@pytest.mark.parametrize(("text", "cleaned"), [
    ("A chief nurse reflects on listening sessions \u2026 Read more: Why compassionate leadership starts with listening",
     "A chief nurse reflects on listening sessions\u2026"),
    ("The car park will be closed from Monday 2 to Friday 6 November. [\u2026]",
     "The car park will be closed from Monday 2 to Friday 6 November."),
    ("We are recruiting a finance officer [...]", "We are recruiting a finance officer\u2026"),
    ("Dr Obi on compassion circles. Continue reading \u2192", "Dr Obi on compassion circles."),
    ("A short guide. (more\u2026)", "A short guide."),
    ("Read more about kindness in the report, which we think is good.",
     "Read more about kindness in the report, which we think is good."),  # not a tail: kept
    ("A full sentence.", "A full sentence."),
    ("", ""),
])
def test_clean_summary(text, cleaned):
    assert clean_summary(text) == cleaned


@pytest.mark.parametrize(("url", "clean"), [
    ("https://www.eventbrite.co.uk/e/x-tickets-9?aff=oddtdtcreator", "https://www.eventbrite.co.uk/e/x-tickets-9"),
    ("https://a.example/p?id=3&utm_source=news&utm_medium=email#top", "https://a.example/p?id=3#top"),
    ("https://a.example/p?fbclid=IwAR0&gclid=x&mc_cid=1&mc_eid=2&_hsenc=p2&mkt_tok=t", "https://a.example/p"),
    ("https://a.example/p?b=1&a=2", "https://a.example/p?b=1&a=2"),  # untouched: order kept
    ("https://a.example/search?q=kindness&page=2", "https://a.example/search?q=kindness&page=2"),
])
def test_outgoing_url(url, clean):
    assert outgoing_url(url) == clean


def test_one_list_decides():
    assert is_tracking_parameter("utm_campaign") and is_tracking_parameter("FBCLID")
    assert not is_tracking_parameter("id") and not is_tracking_parameter("q")
