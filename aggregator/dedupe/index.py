"""An incremental index of records, blocked on each title's rarest tokens, that new batches are matched against."""

from __future__ import annotations

import logging
import os
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from itertools import chain

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import LCSseq

from aggregator.dedupe.evidence import judge_pair
from aggregator.dedupe.normalize import Prepared, Vocabulary, prepare_record
from aggregator.dedupe.values import DedupeConfig, DedupeRecord, Match, RecordId

logger = logging.getLogger(__name__)


class DedupeIndex:
    """Records seen so far, with the blocks and exact keys that find a new record's candidates.

    Blocking: each record is keyed on its `block_tokens` rarest title tokens and compared with every
    record holding one of its keys (so a short title finds the longer title that contains it), plus
    records with the same DOI, URL or normalised title. A record's keys are fixed when it is added,
    so the index answers as a full run would while word frequencies stay stable; rebuild it now and
    then (a full build is a few seconds per 100k records).

    Tokens are numbered, and a batch's counts, keys and groups are computed as arrays over all its
    tokens at once: at 100k records there are about a million of them.

    The caller owns it: build it once from stored resources, then `match_batch` each run's new ones.
    """

    def __init__(self, config: DedupeConfig = DedupeConfig()) -> None:
        self.config = config
        self._prepared: list[Prepared] = []
        self._position: dict[RecordId, int] = {}
        self._vocabulary = Vocabulary()
        self._df = np.zeros(0, np.int64)  # by token id: how many records hold the token
        # Token id -> positions of the records holding it / keyed on it, ascending. Arrays rather than
        # lists of ints: a million positions as Python ints would cost ~40 MB more.
        self._holders: dict[int, np.ndarray] = {}
        self._keyed: dict[int, np.ndarray] = {}
        # DOI, URL and normalised title -> the first record with it; the others with it, when there are any.
        self._first: dict[str, dict[str, int]] = {kind: {} for kind in EXACT_KINDS}
        self._others: defaultdict[tuple[str, str], list[int]] = defaultdict(list)
        self.compared = 0  # candidate pairs judged so far

    def __len__(self) -> int:
        return len(self._prepared)

    def add(self, record: DedupeRecord) -> None:
        """Add one record without matching it (`match_batch` matches and adds)."""
        self._add_prepared([prepare_record(record, self._vocabulary)])

    def extend(self, records: Sequence[DedupeRecord]) -> None:
        """Add records already compared with each other, without matching them (a later pass's stored ones)."""
        self._add_prepared([prepare_record(r, self._vocabulary) for r in records])

    def candidates(self, record: DedupeRecord) -> list[RecordId]:
        """Return the ids of stored records that `record` would be compared with, in index order."""
        p = prepare_record(record, self._vocabulary)
        holders = {token: self._holders.get(token, NO_POSITIONS) for token in p.tokens}
        # Its keys as if it were added: frequencies counting itself; ties keep title order.
        keys = sorted(p.tokens, key=lambda token: len(holders[token]))[: self.config.block_tokens]
        found: set[int] = set()
        for token in keys:
            if len(holders[token]) < self.config.max_block_size:  # +1: the record itself
                found.update(holders[token].tolist())
        for token in p.tokens:
            if len(holders[token]) < self.config.max_block_size:
                found.update(self._keyed.get(token, NO_POSITIONS).tolist())
        for kind, key in exact_keys(p):
            if key in self._first[kind]:
                found.add(self._first[kind][key])
                found.update(self._others.get((kind, key), ()))
        return [self._prepared[i].record.id for i in sorted(found)]

    def match_batch(self, records: Sequence[DedupeRecord]) -> list[Match]:
        """Add `records`; return their matches with each other and with the records already stored."""
        start = len(self._prepared)
        pairs = self._add_prepared([prepare_record(r, self._vocabulary) for r in records])
        pairs |= self._title_pairs(start)
        self.compared += len(pairs)
        matches = []
        for i, j in sorted(pairs):
            match = judge_pair(self._prepared[i], self._prepared[j], self.config)
            if match is not None:
                matches.append(match)
        logger.info(
            "dedupe batch matched", extra={"count": len(records), "candidates": len(pairs), "matches": len(matches)}
        )
        return matches

    def _add_prepared(self, new: list[Prepared]) -> set[tuple[int, int]]:
        """Index `new`; return pairs linking each to the first record with the same DOI, URL or title."""
        if not new:
            return set()
        ids = [p.record.id for p in new]
        if len(set(ids)) < len(ids) or not self._position.keys().isdisjoint(ids):
            raise ValueError(f"record id {first_repeated(ids, self._position)!r} is already in the dedupe index")
        start = len(self._prepared)
        positions = range(start, start + len(new))
        self._position.update(zip(ids, positions))
        self._prepared.extend(new)
        counts = np.fromiter(map(len, (p.tokens for p in new)), np.int64, len(new))
        tokens = np.fromiter(chain.from_iterable(p.tokens for p in new), np.int64, int(counts.sum()))
        owners = np.repeat(np.arange(start, start + len(new), dtype=np.int64), counts)
        # Frequencies first, so a batch's records are keyed on how rare their words are in the whole index.
        self._df = np.concatenate([self._df, np.zeros(len(self._vocabulary.words) - len(self._df), np.int64)])
        self._df += np.bincount(tokens, minlength=len(self._df))
        # Each record's keys: its tokens ordered by frequency (a stable sort: ties keep title order).
        order = np.lexsort((self._df[tokens], owners))
        rank = np.arange(len(tokens)) - np.repeat(np.cumsum(counts) - counts, counts)
        keys = order[rank < self.config.block_tokens]
        append_groups(self._keyed, tokens[keys], owners[keys])
        append_groups(self._holders, tokens, owners)
        return self._add_exact_keys(new, start)

    def _add_exact_keys(self, new: list[Prepared], start: int) -> set[tuple[int, int]]:
        exact: set[tuple[int, int]] = set()
        for kind, keys in zip(EXACT_KINDS, zip(*map(exact_keys_by_kind, new), strict=True), strict=True):
            first_of = self._first[kind]
            for position, key in enumerate(keys, start):
                if key:
                    first = first_of.setdefault(key, position)
                    if first != position:
                        exact.add((first, position))  # a star per key links the whole group
                        self._others[kind, key].append(position)
        return exact

    def _title_pairs(self, start: int) -> set[tuple[int, int]]:
        """Return pairs (keyed record, holder of its key), one of them new, whose titles nearly contain one another.

        Small blocks' pairs are gathered and scored in chunks; larger blocks are scored as matrices.
        rapidfuzz releases the GIL while it scores, so the chunks and blocks are shared among threads.
        """
        # A full run touches every keyed token; a run of a few new records only their own tokens.
        touched = self._keyed.keys() if start == 0 else {t for p in self._prepared[start:] for t in p.tokens}
        small, large = [SmallBlocks()], []
        skipped = 0
        for token in touched:
            keyed = self._keyed.get(token)
            if keyed is None:
                continue
            holders = self._holders[token]
            if len(holders) < 2:
                continue
            if len(holders) > self.config.max_block_size:
                skipped += 1  # a common word: these records rely on their other keys
            elif len(keyed) * len(holders) <= 64:
                if small[-1].size > 200_000:  # a chunk's pairs are made at once: this bounds the peak memory
                    small.append(SmallBlocks())
                small[-1].add(keyed, holders)
            else:
                large.append((keyed, holders))
        if skipped:
            logger.info("dedupe skipped common-word blocks", extra={"count": skipped})
        sorted_texts = [p.sorted_text for p in self._prepared]
        texts = np.array(sorted_texts, dtype=object)  # gathered by position arrays below
        lengths = lengths_of(sorted_texts)

        def score_small(blocks: SmallBlocks) -> np.ndarray:
            return self._similar_pairs(np.unique(blocks.pairs(start)), texts, lengths)

        def score_large(share: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
            return np.concatenate(
                [NO_POSITIONS, *(self._similar_in_block(k, h, start, texts, lengths) for k, h in share)]
            )

        workers = usable_cpus()
        with ThreadPoolExecutor(workers) as pool:
            found = [*pool.map(score_small, small), *pool.map(score_large, [large[n::workers] for n in range(workers)])]
        codes = np.unique(np.concatenate(found))
        return set(zip((codes >> 32).tolist(), (codes & 0xFFFFFFFF).tolist(), strict=True))

    def _similar_pairs(self, codes: np.ndarray, texts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """Return the packed pairs (first << 32 | second) whose sorted titles nearly contain one another."""
        if not codes.size:
            return codes
        firsts, seconds = codes >> 32, codes & 0xFFFFFFFF
        common = process.cpdist(texts[firsts], texts[seconds], scorer=LCSseq.similarity, dtype=np.int32)
        return codes[self._is_similar(common, lengths[firsts], lengths[seconds], np.minimum, np.maximum)]

    def _similar_in_block(
        self, keyed: np.ndarray, holders: np.ndarray, start: int, texts: np.ndarray, lengths: np.ndarray
    ) -> np.ndarray:
        """Return the packed pairs (keyed, holder) of one block, distinct and one of them new, that are similar."""
        common = process.cdist(texts[keyed], texts[holders], scorer=LCSseq.similarity, dtype=np.int32)
        rows, cols = np.nonzero(
            self._is_similar(common, lengths[keyed], lengths[holders], np.minimum.outer, np.maximum.outer)
        )
        return pack_pairs(keyed[rows], holders[cols], start)

    def _is_similar(self, common, len_a, len_b, lesser, greater):  # type: ignore[no-untyped-def]
        """Keep pairs whose longest common subsequence covers most of the shorter sorted title and a fair
        part of the longer: a cheap bit-parallel stand-in (about 20 times faster than token_set_ratio)
        that keeps subset titles, reordered words and typos; judge_pair applies the real title test."""
        return (common >= self.config.prefilter_share * lesser(len_a, len_b)) & (
            common >= self.config.prefilter_long_share * greater(len_a, len_b)
        )


class SmallBlocks:
    """Many small blocks (keyed records x holders) collected so that their pairs are made as arrays."""

    def __init__(self) -> None:
        self.keyed: list[np.ndarray] = []
        self.holders: list[np.ndarray] = []
        self.size = 0  # pairs so far

    def add(self, keyed: np.ndarray, holders: np.ndarray) -> None:
        self.keyed.append(keyed)
        self.holders.append(holders)
        self.size += len(keyed) * len(holders)

    def pairs(self, start: int) -> np.ndarray:
        """Return every (keyed, holder) pair of distinct records, one of them at `start` or later,
        packed as min << 32 | max (a tuple per pair would cost ~100 MB at 100k records)."""
        if not self.keyed:
            return NO_POSITIONS
        keyed_counts = np.fromiter(map(len, self.keyed), np.int64, len(self.keyed))
        holder_counts = np.fromiter(map(len, self.holders), np.int64, len(self.holders))
        # Each keyed record is repeated once per holder of its block...
        repeats = np.repeat(holder_counts, keyed_counts)
        firsts = np.repeat(np.concatenate(self.keyed), repeats)
        # ... and paired with its block's holders in turn.
        block_start = np.repeat(np.repeat(np.cumsum(holder_counts) - holder_counts, keyed_counts), repeats)
        offset = np.arange(len(firsts)) - np.repeat(np.cumsum(repeats) - repeats, repeats)
        seconds = np.concatenate(self.holders)[block_start + offset]
        return pack_pairs(firsts, seconds, start)


def pack_pairs(firsts: np.ndarray, seconds: np.ndarray, start: int) -> np.ndarray:
    """Return the pairs of distinct records, one of them at `start` or later, packed as min << 32 | max."""
    lower, upper = np.minimum(firsts, seconds), np.maximum(firsts, seconds)
    keep = (lower != upper) & (upper >= start)
    return lower[keep] << 32 | upper[keep]


def append_groups(groups: dict[int, np.ndarray], tokens: np.ndarray, owners: np.ndarray) -> None:
    """Append each owner to its token's positions, owners in the order given (a stable sort by token)."""
    if not len(tokens):
        return
    order = np.argsort(tokens, kind="stable")
    tokens, owners = tokens[order], owners[order]
    bounds = np.flatnonzero(np.diff(tokens)) + 1
    starts, ends = [0, *bounds.tolist()], [*bounds.tolist(), len(tokens)]
    for token, begin, end in zip(tokens[starts].tolist(), starts, ends, strict=True):
        stored = groups.get(token)
        groups[token] = owners[begin:end] if stored is None else np.concatenate((stored, owners[begin:end]))


def first_repeated(ids: list[RecordId], stored: dict[RecordId, int]) -> RecordId:
    """Return the first of `ids` already stored or earlier in `ids`."""
    seen = set(stored)
    for rid in ids:
        if rid in seen:
            return rid
        seen.add(rid)
    raise ValueError("no repeated id")


def usable_cpus() -> int:
    """Return how many CPUs this process may run on (a container's share, not the host's count)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def lengths_of(texts: list[str]) -> np.ndarray:
    """Return the lengths of `texts` as an array."""
    return np.fromiter(map(len, texts), np.int32, len(texts))


EXACT_KINDS = ("doi", "url", "title")
NO_POSITIONS = np.zeros(0, np.int64)


def exact_keys_by_kind(p: Prepared) -> tuple[str | None, str | None, str]:
    """Return a record's exact identifiers in EXACT_KINDS order: DOI (its own or its text's), canonical URL,
    normalised title."""
    return p.doi, p.url, p.text


def exact_keys(p: Prepared) -> list[tuple[str, str]]:
    """Return a record's exact identifiers that it has, with their kinds."""
    return [(kind, key) for kind, key in zip(EXACT_KINDS, exact_keys_by_kind(p), strict=True) if key]
