"""Page dates side by side with trafilatura on htmldate's 55 gold pages: the metadata adapter against trafilatura's
own metadata extraction, page by page (issue 14's target: >= 95% and no worse than trafilatura)."""

from __future__ import annotations

import json
from pathlib import Path

import trafilatura

from aggregator.ingest.adapters.metadata import extract_metadata

# Measured on ../shared/corpus/html/htmldate (55 gold dates). Floors only rise.
OURS_FLOOR = 0.95  # measured 53/55 = 0.964 (5/55 before htmldate was the fallback); trafilatura 2.3.1: 53/55
# both miss channelpartner.de (its article data says 2017-08-21; the gold 2019-04-03 is only in analytics
# script) and pbrunst.de (htmldate reads 2010-06-01; the gold is 2011-12-03)


def test_page_dates_side_by_side_with_trafilatura(corpus_dir: Path) -> None:
    folder = corpus_dir / "html/htmldate"
    gold = json.loads((folder / "expected_dates_cache.json").read_text(encoding="utf-8"))
    ours = theirs = scored = 0
    for url, case in gold.items():
        page = folder / "pages" / Path(case["file"]).name
        if not case.get("date") or not page.is_file():
            continue
        scored += 1
        body = page.read_bytes()
        published = extract_metadata(body, url).published
        found = published.date().isoformat() if published else None
        # trafilatura is given what our adapter reads: the page as text and its URL
        reference = trafilatura.extract_metadata(body.decode("utf-8", "replace"), default_url=url).date
        ours += found == case["date"]
        theirs += reference == case["date"]
        if found != case["date"]:
            print(f"  miss: {url} gold {case['date']} ours {found} trafilatura {reference}")
    print(f"\npage dates on {scored} gold pages: ours {ours}, trafilatura {theirs}")
    assert scored == 55
    assert ours / scored >= OURS_FLOOR
    assert ours >= theirs
