"""Find duplicate resources in a batch or against an index, and group the matches into clusters."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from aggregator.dedupe.content import content_matches
from aggregator.dedupe.index import DedupeIndex
from aggregator.dedupe.values import DedupeConfig, DedupeRecord, Match, RecordId


def find_duplicates(records: Sequence[DedupeRecord], *, config: DedupeConfig = DedupeConfig()) -> list[Match]:
    """Return the pairs of `records` judged to be the same resource (enough pairs to link every group)."""
    matches = DedupeIndex(config).match_batch(records)
    found = {frozenset((m.a, m.b)) for m in matches}
    return matches + [m for m in content_matches(records, config) if frozenset((m.a, m.b)) not in found]


@dataclass(frozen=True, slots=True)
class NewMatches:
    """What an incremental pass found: its matches and how many candidate pairs it judged by title."""

    matches: list[Match]
    compared: int


def find_new_duplicates(
    stored: Sequence[DedupeRecord], new: Sequence[DedupeRecord], *, config: DedupeConfig = DedupeConfig()
) -> NewMatches:
    """Return the matches of `new` records with each other and with `stored` ones (already compared among
    themselves): the index is rebuilt from the stored records' titles without judging any stored pair."""
    if not new:
        return NewMatches([], 0)
    index = DedupeIndex(config)
    index.extend(stored)
    matches = index.match_batch(new)
    found = {frozenset((m.a, m.b)) for m in matches}
    by_content = content_matches([*stored, *new], config, new={r.id for r in new})
    return NewMatches(matches + [m for m in by_content if frozenset((m.a, m.b)) not in found], index.compared)


def match_new(index: DedupeIndex, new_records: Sequence[DedupeRecord]) -> list[Match]:
    """Add `new_records` to `index`; return their matches with each other and with stored records."""
    return index.match_batch(new_records)


def cluster_duplicates(
    records: Iterable[DedupeRecord | RecordId], matches: Iterable[Match]
) -> list[tuple[RecordId, ...]]:
    """Return the groups of two or more ids linked by `matches`, each in input order (union-find)."""
    order = {(r.id if isinstance(r, DedupeRecord) else r): n for n, r in enumerate(records)}
    parent = {rid: rid for rid in order}

    def find(x: RecordId) -> RecordId:
        while parent[x] != x:
            parent[x] = parent[parent[x]]  # path halving keeps the trees flat
            x = parent[x]
        return x

    for m in matches:
        ra, rb = find(m.a), find(m.b)
        if ra != rb:
            parent[max(ra, rb, key=order.__getitem__)] = min(ra, rb, key=order.__getitem__)
    groups: dict[RecordId, list[RecordId]] = {}
    for rid in order:
        groups.setdefault(find(rid), []).append(rid)
    return [tuple(g) for g in groups.values() if len(g) > 1]
