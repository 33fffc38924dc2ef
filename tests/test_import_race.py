"""Harvesting in many threads from a fresh interpreter: no module is imported for the first time inside a fetch thread."""

from __future__ import annotations

import subprocess
import sys
import textwrap

# Run in a new interpreter, so that nothing the harvest needs was imported before the threads start.
SCRIPT = textwrap.dedent('''
    import sys
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from aggregator.ingest.run import run_fetch  # what `aggregator run` has imported when its threads start
    from aggregator.ingest.harvest import HarvestRequest, harvest_source
    from aggregator.config.sources import parse_sources
    from tests.support.fakes import FakeFetched, FakeFetcher, rss

    SOURCES = parse_sources("""
    sources:
      - {id: feed, name: Feed, url: "https://a.example/feed", adapter: feed}
      - {id: found, name: Found, url: "https://b.example/", adapter: feed}
      - {id: meta, name: Meta, url: "https://c.example/item", adapter: metadata}
      - id: page
        name: Page
        url: https://d.example/list
        adapter: page
        selectors: {container: article, title: h2}
      - {id: oai, name: Oai, url: "https://e.example/oai", adapter: oai-pmh}
    """).sources
    FEED = rss([("Kindness in healthcare", "https://a.example/k")])
    META = (b"<html><head><title>Compassion</title><meta name='citation_title' content='Compassion circles'>"
            b"<meta name='citation_doi' content='10.1000/x'><script type='application/ld+json'>"
            b'{"@type": "ScholarlyArticle", "name": "Compassion circles"}</script></head><body></body></html>')
    OAI = (b'<?xml version="1.0"?><OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">'
           b"<responseDate>2026-11-01T00:00:00Z</responseDate><ListRecords><record><header>"
           b"<identifier>oai:e:1</identifier><datestamp>2026-10-01</datestamp></header><metadata>"
           b'<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" '
           b'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>Care</dc:title>'
           b"<dc:identifier>https://e.example/1</dc:identifier></oai_dc:dc></metadata></record>"
           b"</ListRecords></OAI-PMH>")
    FETCHED = {
        "https://a.example/feed": FakeFetched("https://a.example/feed", body=FEED),
        "https://b.example/": FakeFetched("https://b.example/", body=b"<html><head><link rel='alternate' "
                                          b"type='application/rss+xml' href='/feed'></head></html>"),
        "https://b.example/feed": FakeFetched("https://b.example/feed", body=FEED),
        "https://c.example/item": FakeFetched("https://c.example/item", body=META),
        "https://d.example/list": FakeFetched("https://d.example/list",
                                              body=b"<article><h2><a href='/1'>Listening</a></h2></article>"),
    }

    class Fetcher(FakeFetcher):
        def fetch(self, url, **kwargs):
            if url.startswith("https://e.example/oai"):
                return FakeFetched(url, body=OAI)
            return super().fetch(url, **kwargs)

    fetcher = Fetcher(FETCHED)
    start = threading.Barrier(40)

    def harvest(index):
        config = SOURCES[index % len(SOURCES)]
        start.wait()
        return harvest_source(HarvestRequest(source=config, url=config.url), fetcher)

    imported_before = set(sys.modules)
    with ThreadPoolExecutor(40) as pool:
        harvests = list(pool.map(harvest, range(40)))
    assert all(h.entries for h in harvests), [len(h.entries) for h in harvests]
    # Codecs are looked up by name as bodies need them; every other module must be in place already.
    late = sorted(m for m in set(sys.modules) - imported_before if not m.startswith("encodings."))
    print("imported inside fetch threads:", late)
''')


def test_harvest_in_many_threads_from_a_fresh_interpreter_imports_nothing_late():
    """Each run races 40 threads over every adapter; before the fix one run in about eight ended with
    "_DeadlockError: deadlock detected by _ModuleLock('feedparser.urls')" or a half-imported module, and
    every run imported the adapters inside the threads."""
    for _ in range(3):
        done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr[-3000:]
        assert done.stdout.strip() == "imported inside fetch threads: []"
