"""The numbers page's pure parts: month windows across a year's end, round chart tops, bar geometry; and the
per-month queries on a small database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert

from aggregator.db.schema import subscribers
from aggregator.digest.stats import month_bounds, subscribers_by_month
from aggregator.web.charts import bar_chart, nice_top

LONDON = ZoneInfo("Europe/London")


def test_month_bounds_cross_the_year_and_follow_the_zone():
    months = month_bounds(datetime(2026, 2, 10, tzinfo=UTC), LONDON, 3)
    assert [m for m, _, _ in months] == ["2025-12", "2026-01", "2026-02"]
    assert months[0][2] == months[1][1] == datetime(2026, 1, 1, tzinfo=LONDON)
    # 23:30 UTC on 31 May is already June in London (BST)
    assert month_bounds(datetime(2026, 5, 31, 23, 30, tzinfo=UTC), LONDON, 1)[0][0] == "2026-06"


@pytest.mark.parametrize(("largest", "top"), [(0, 1), (1, 1), (3, 5), (7, 10), (30, 50), (101, 200), (2000, 2000)])
def test_nice_top(largest, top):
    assert nice_top(largest) == top


def test_bars_scale_to_the_top_and_stay_narrow():
    chart = bar_chart(("a", "b"), (25, 50), width=300, height=100)
    assert [t.value for t in chart.ticks] == [0, 25, 50]
    low, high = chart.bars
    assert high.height == pytest.approx(2 * low.height) and high.y < low.y
    assert all(bar.width <= 48 for bar in bar_chart(("one",), (3,)).bars)


def test_subscribers_at_each_month_end(engine):
    june = datetime(2026, 6, 15, tzinfo=UTC)
    people = [
        (june, None),  # joined in June, still here
        (june - timedelta(days=31), june + timedelta(days=1)),  # May, left in June
        (june + timedelta(days=40), None),  # July, after the window
        (None, None),  # never confirmed
    ]
    with engine.begin() as conn:
        conn.execute(
            insert(subscribers),
            [
                {
                    "email": f"p{n}@example.org",
                    "status": "active",
                    "created_at": june - timedelta(days=60),
                    "confirmed_at": confirmed,
                    "unsubscribed_at": left,
                    "origin": "form",
                }
                for n, (confirmed, left) in enumerate(people)
            ],
        )
        series = subscribers_by_month(conn, june, LONDON, count=3)
    assert series.months == ("2026-04", "2026-05", "2026-06")
    assert series.values == (0, 1, 1)
