"""A source's entries normalised in a second process when a pass has many sources.

Parsing and normalising are Python under the GIL: however many fetch threads run, one process uses about
one core. With many sources to read, the entries' normalising (their event, type, plain text, canonical
URL) goes to a worker process on another core while the fetch threads parse and store; a small pass, or a
one-core machine, does it in the thread as before. Either way the same function makes the same resources.
"""

from __future__ import annotations

import copyreg
import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from types import MappingProxyType

from aggregator.config.sources import SourceConfig
from aggregator.ingest.entry_events import with_event
from aggregator.ingest.normalize import normalize_entry
from aggregator.model import RawEntry, Resource


# entries and resources hold read-only mappings (their `extra`): sent to the worker as a copy, read-only again there
def _read_only(mapping: dict) -> MappingProxyType:
    return MappingProxyType(mapping)


copyreg.pickle(MappingProxyType, lambda mapping: (_read_only, (dict(mapping),)))
POOL_FROM = 50  # sources in a pass before a worker process pays for itself (it starts in about a second)
Normaliser = Callable[[Sequence[RawEntry], SourceConfig, int], tuple[Resource, ...]]


def normalize_entries(
    entries: Sequence[RawEntry], config: SourceConfig, summary_max_chars: int
) -> tuple[Resource, ...]:
    """One source's entries as resources: each entry's own event found, then normalised (pure)."""
    return tuple(normalize_entry(with_event(e), config, summary_max_chars=summary_max_chars) for e in entries)


@contextmanager
def entry_normaliser(sources: int, *, pool_from: int = POOL_FROM) -> Iterator[Normaliser]:
    """`normalize_entries`, run in worker processes (one per spare core) when `sources` reach `pool_from`."""
    spare = (os.cpu_count() or 1) - 1
    if sources < pool_from or spare < 1:
        yield normalize_entries
        return
    # forkserver: the workers start from a clean process, not a fork of this one and its threads (spawn where
    # there is no forkserver)
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    with ProcessPoolExecutor(max_workers=min(spare, 4), mp_context=context) as pool:

        def normalise(
            entries: Sequence[RawEntry], config: SourceConfig, summary_max_chars: int
        ) -> tuple[Resource, ...]:
            if not entries:
                return ()
            return pool.submit(normalize_entries, tuple(entries), config, summary_max_chars).result()

        yield normalise
