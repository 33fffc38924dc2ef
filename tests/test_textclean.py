"""What subscribers read: partner "Read more" tails dropped, tracking parameters removed (one list)."""

from __future__ import annotations

import pytest

from aggregator.text.clean import clean_summary, is_tracking_parameter, outgoing_url


@pytest.mark.parametrize(
    ("text", "cleaned"),
    [
        (
            "A chief nurse reflects on listening sessions \u2026 Read more: Why compassionate leadership starts with listening",
            "A chief nurse reflects on listening sessions\u2026",
        ),
        (
            "The car park will be closed from Monday 2 to Friday 6 November. [\u2026]",
            "The car park will be closed from Monday 2 to Friday 6 November.",
        ),
        ("We are recruiting a finance officer [...]", "We are recruiting a finance officer\u2026"),
        ("Dr Obi on compassion circles. Continue reading \u2192", "Dr Obi on compassion circles."),
        ("A short guide. (more\u2026)", "A short guide."),
        (
            "Read more about kindness in the report, which we think is good.",
            "Read more about kindness in the report, which we think is good.",
        ),  # not a tail: kept
        ("A full sentence.", "A full sentence."),
        ("", ""),
    ],
)
def test_clean_summary(text, cleaned):
    assert clean_summary(text) == cleaned


@pytest.mark.parametrize(
    ("url", "clean"),
    [
        ("https://www.eventbrite.co.uk/e/x-tickets-9?aff=oddtdtcreator", "https://www.eventbrite.co.uk/e/x-tickets-9"),
        ("https://a.example/p?id=3&utm_source=news&utm_medium=email#top", "https://a.example/p?id=3#top"),
        ("https://a.example/p?fbclid=IwAR0&gclid=x&mc_cid=1&mc_eid=2&_hsenc=p2&mkt_tok=t", "https://a.example/p"),
        ("https://a.example/p?b=1&a=2", "https://a.example/p?b=1&a=2"),  # untouched: order kept
        ("https://a.example/search?q=kindness&page=2", "https://a.example/search?q=kindness&page=2"),
    ],
)
def test_outgoing_url(url, clean):
    assert outgoing_url(url) == clean


def test_one_list_decides():
    assert is_tracking_parameter("utm_campaign") and is_tracking_parameter("FBCLID")
    assert not is_tracking_parameter("id") and not is_tracking_parameter("q")


def test_hostile_summaries_are_cleaned_in_bounded_cpu_time():
    """Thousands of markers or spaces once made the tail pattern backtrack for minutes; bounded now."""
    import resource
    import subprocess
    import sys

    script = (
        "from aggregator.text.clean import clean_summary\n"
        "for text in ['[\\u2026] ' * 5000 + 'end', ' ' * 20000 + 'x', 'Read more ' * 2000, "
        "'(more\\u2026) ' * 3000 + 'z', 'x' + ' \\t' * 30000]:\n"
        "    clean_summary(text)\n"
    )

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_CPU, (10, 10))  # CPU seconds: killed by SIGXCPU past this

    done = subprocess.run([sys.executable, "-c", script], preexec_fn=limit, capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr.decode()
