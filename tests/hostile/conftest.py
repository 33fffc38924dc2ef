"""Shared helpers of the hostile-input tests: a source config, a stored-text check and a memory probe."""

from __future__ import annotations

import re
import resource
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from aggregator.config.sources import SourceConfig, parse_sources
from aggregator.model import Resource

MB = 1024 * 1024
# C0 controls other than \t and \n, DEL, and lone surrogates (which UTF-8 cannot encode).
_BAD_CHARS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\ud800-\udfff]")


def feed_source(source_id: str = "hostile", url: str = "https://partner.example.org/feed") -> SourceConfig:
    return parse_sources(f'sources:\n  - {{id: {source_id}, name: Hostile, url: "{url}", adapter: feed}}\n').sources[0]


def assert_storable_text(resource: Resource) -> None:
    """Every text field of `resource` is valid UTF-8 without C0 controls (\\n and \\t allowed)."""
    texts = {
        "title": resource.title,
        "summary": resource.summary,
        "summary_html": resource.summary_html,
        "url": resource.url,
        "canonical_url": resource.canonical_url,
        "key": resource.key,
        **{f"author{i}": a for i, a in enumerate(resource.authors)},
        **{f"tag{i}": t for i, t in enumerate(resource.tags)},
        **{f"extra.{k}": v for k, v in resource.extra.items()},
    }
    for name, value in texts.items():
        value.encode("utf-8")  # raises on a lone surrogate
        assert not _BAD_CHARS.search(value), (name, value)


@dataclass
class Usage:
    seconds: float = 0.0
    peak_bytes: int = 0


@contextmanager
def measured(*, trace: bool = True) -> Iterator[Usage]:
    """Processor time of this process (never wall-clock time: the suite runs on busy machines) and peak memory of the block: the peak of Python allocations (tracemalloc), or with
    trace=False (tracemalloc slows allocation-heavy parsers several times) the growth of the process's
    peak resident size, which also counts C allocations (libxml2) but only when they raise the peak."""
    usage = Usage()
    if trace:
        tracemalloc.start()
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.process_time()
    try:
        yield usage
    finally:
        usage.seconds = time.process_time() - started
        if trace:
            usage.peak_bytes = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        else:
            usage.peak_bytes = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before) * 1024


def outcome_of(call: Callable[[], object], *errors: type[BaseException]) -> object:
    """The call's result, or the exception instance when it raised one of `errors`."""
    try:
        return call()
    except errors as exc:
        return exc
