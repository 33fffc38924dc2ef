"""An incremental index of records, blocked on each title's rarest tokens, that new batches are matched against."""

from __future__ import annotations

import gc
import logging
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import LCSseq

from aggregator.dedupe.evidence import judge_pair
from aggregator.dedupe.model import DedupeConfig, DedupeRecord, Match, RecordId
from aggregator.dedupe.normalize import Prepared, prepare_record

logger = logging.getLogger(__name__)


class DedupeIndex:
    """Records seen so far, with the blocks and exact keys that find a new record's candidates.

    Blocking: each record is keyed on its `block_tokens` rarest title tokens and compared with every
    record holding one of its keys (so a short title finds the longer title that contains it), plus
    records with the same DOI, URL or normalised title. A record's keys are fixed when it is added,
    so the index answers as a full run would while word frequencies stay stable; rebuild it now and
    then (a full build is a few seconds per 100k records).

    The caller owns it: build it once from stored resources, then `match_batch` each run's new ones.
    """

    def __init__(self, config: DedupeConfig = DedupeConfig()) -> None:
        self.config = config
        self._prepared: list[Prepared] = []
        self._sorted_texts: list[str] = []  # by position: Prepared.sorted_text, for fast gathering
        self._position: dict[RecordId, int] = {}
        self._df: Counter[str] = Counter()
        self._intern: dict[str, str] = {}
        self._holders: defaultdict[str, list[int]] = defaultdict(list)  # token -> records with it
        self._keyed: defaultdict[str, list[int]] = defaultdict(list)  # token -> records keyed on it
        self._keys: list[list[str]] = []  # by position: the tokens each record was keyed on
        self._exact: defaultdict[str, list[int]] = defaultdict(list)  # DOI, URL, normalised title

    def __len__(self) -> int:
        return len(self._prepared)

    def add(self, record: DedupeRecord) -> None:
        """Add one record without matching it (`match_batch` matches and adds)."""
        self._add_prepared([prepare_record(record, self._intern)])

    def candidates(self, record: DedupeRecord) -> list[RecordId]:
        """Return the ids of stored records that `record` would be compared with, in index order."""
        p = prepare_record(record, self._intern)
        df = self._df.copy()
        df.update(p.tokens)
        found: set[int] = set()
        for token in self._block_keys(p, df):
            if len(self._holders.get(token, ())) < self.config.max_block_size:  # +1: the record itself
                found.update(self._holders.get(token, ()))
        for token in p.tokens:
            if len(self._holders.get(token, ())) < self.config.max_block_size:
                found.update(self._keyed.get(token, ()))
        for key in exact_keys(p):
            found.update(self._exact.get(key, ()))
        return [self._prepared[i].record.id for i in sorted(found)]

    def match_batch(self, records: Sequence[DedupeRecord]) -> list[Match]:
        """Add `records`; return their matches with each other and with the records already stored."""
        start = len(self._prepared)
        with paused_gc():
            pairs = self._add_prepared([prepare_record(r, self._intern) for r in records])
            pairs |= self._title_pairs(start)
            matches = []
            for i, j in sorted(pairs):
                match = judge_pair(self._prepared[i], self._prepared[j], self.config)
                if match is not None:
                    matches.append(match)
        logger.info("dedupe batch matched", extra={"count": len(records), "candidates": len(pairs),
                                                   "matches": len(matches)})
        return matches

    def _add_prepared(self, new: list[Prepared]) -> set[tuple[int, int]]:
        """Index `new`; return pairs linking each to the first record with the same DOI, URL or title."""
        # Frequencies first, so a batch's records are keyed on how rare their words are in the whole index.
        for p in new:
            if p.record.id in self._position:
                raise ValueError(f"record id {p.record.id!r} is already in the dedupe index")
            self._df.update(p.tokens)
        exact: set[tuple[int, int]] = set()
        prepared, keyed_of, holders_of, exact_of = self._prepared, self._keyed, self._holders, self._exact
        for p in new:
            position = len(prepared)
            self._position[p.record.id] = position
            prepared.append(p)
            self._sorted_texts.append(p.sorted_text)
            keys = self._block_keys(p, self._df)
            self._keys.append(keys)
            for token in keys:
                keyed_of[token].append(position)
            for token in p.tokens:
                holders_of[token].append(position)
            for key in exact_keys(p):
                same = exact_of[key]
                if same:
                    exact.add((same[0], position))  # a star per key links the whole group
                same.append(position)
        return exact

    def _block_keys(self, p: Prepared, df: Counter[str]) -> list[str]:
        # Ties keep title order, so keys are the same whatever order records arrive in.
        return sorted(p.tokens, key=df.__getitem__)[: self.config.block_tokens]

    def _title_pairs(self, start: int) -> set[tuple[int, int]]:
        """Return pairs (keyed record, holder of its key), one of them new, whose titles nearly contain one another.

        Small blocks' pairs are gathered and scored in one call; larger blocks are scored as matrices.
        """
        # A full run touches every keyed token; a run of a few new records only their own tokens.
        touched = self._keyed.keys() if start == 0 else {t for p in self._prepared[start:] for t in p.tokens}
        small: list[int] = []  # pairs packed as i << 32 | j: a tuple per pair would cost ~100 MB at 100k records
        pairs: set[tuple[int, int]] = set()
        skipped = 0
        for token in touched:
            keyed = self._keyed.get(token)
            if not keyed:
                continue
            holders = self._holders[token]
            if len(holders) < 2:
                continue
            if len(holders) > self.config.max_block_size:
                skipped += 1  # a common word: these records rely on their other keys
            elif len(keyed) * len(holders) <= 64:
                small.extend(k << 32 | h if k < h else h << 32 | k for k in keyed for h in holders
                             if k != h and (k >= start or h >= start))
                if len(small) > 100_000:  # score in chunks to keep the peak memory low
                    pairs |= self._similar_pairs(small)
                    small = []
            else:
                pairs.update(self._similar_in_block(keyed, holders, start))
        if skipped:
            logger.info("dedupe skipped common-word blocks", extra={"count": skipped})
        return pairs | self._similar_pairs(small)

    def _similar_pairs(self, packed: list[int]) -> set[tuple[int, int]]:
        """Return the packed pairs whose sorted titles nearly contain one another (see `_is_similar`)."""
        if not packed:
            return set()
        codes = np.unique(np.fromiter(packed, np.int64, len(packed)))
        firsts, seconds = (codes >> 32).tolist(), (codes & 0xFFFFFFFF).tolist()
        texts = self._sorted_texts
        texts_a = [texts[i] for i in firsts]
        texts_b = [texts[j] for j in seconds]
        common = process.cpdist(texts_a, texts_b, scorer=LCSseq.similarity, dtype=np.int32)
        keep = self._is_similar(common, lengths_of(texts_a), lengths_of(texts_b), np.minimum, np.maximum)
        return {(firsts[n], seconds[n]) for n in np.flatnonzero(keep).tolist()}

    def _similar_in_block(self, keyed: list[int], holders: list[int], start: int) -> list[tuple[int, int]]:
        texts_k = [self._sorted_texts[k] for k in keyed]
        texts_h = [self._sorted_texts[h] for h in holders]
        common = process.cdist(texts_k, texts_h, scorer=LCSseq.similarity, dtype=np.int32)
        keep = self._is_similar(common, lengths_of(texts_k), lengths_of(texts_h), np.minimum.outer, np.maximum.outer)
        rows, cols = np.nonzero(keep)
        return [(min(k, h), max(k, h)) for k, h in ((keyed[r], holders[c]) for r, c in zip(rows.tolist(), cols.tolist()))
                if k != h and max(k, h) >= start]

    def _is_similar(self, common, len_a, len_b, lesser, greater):  # type: ignore[no-untyped-def]
        """Keep pairs whose longest common subsequence covers most of the shorter sorted title and a fair
        part of the longer: a cheap bit-parallel stand-in (about 20 times faster than token_set_ratio)
        that keeps subset titles, reordered words and typos; judge_pair applies the real title test."""
        return ((common >= self.config.prefilter_share * lesser(len_a, len_b))
                & (common >= self.config.prefilter_long_share * greater(len_a, len_b)))


def lengths_of(texts: list[str]) -> np.ndarray:
    """Return the lengths of `texts` as an array."""
    return np.fromiter(map(len, texts), np.int32, len(texts))


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while indexing.

    Indexing 100k records allocates about a million small lists, tuples and records, none of them in
    cycles; the collector's passes over that growing heap cost about as much as the indexing itself.
    Reference counting still frees everything; the collector is restored as it was.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def exact_keys(p: Prepared) -> list[str]:
    """Return a record's exact identifiers: its DOI, canonical URL and normalised title."""
    keys = []
    if p.record.doi:
        keys.append("doi:" + p.record.doi)
    if p.url:
        keys.append("url:" + p.url)
    if p.text:
        keys.append("title:" + p.text)
    return keys
