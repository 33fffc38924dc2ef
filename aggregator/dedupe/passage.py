"""Title and text evidence beyond word overlap: a passage two texts share, how much of their wording two texts share
beyond their titles, a title's parts and bracketed notes."""

from __future__ import annotations

import re

from rapidfuzz import fuzz

from aggregator.dedupe.normalize import STOP_WORDS, fold_words
from aggregator.dedupe.values import DedupeRecord

# Where a title splits into parts: a colon, brackets, a question or exclamation mark, a dash or bar between
# spaces, a full stop or comma before a space ("Caring to change: how ...", "... (PubMed abstract)").
_SEGMENT_BREAK = re.compile(r"[:;()\[\]?!|\u2013\u2014]|\s-\s|[.,]\s")
_NOTE = re.compile(r"\([^()]*\)|\[[^\[\]]*\]")


def shingles_of(words: list[str], size: int) -> set[tuple[str, ...]]:
    """Return the runs of `size` consecutive words."""
    return {tuple(words[n : n + size]) for n in range(len(words) - size + 1)}


def shared_passage(a: DedupeRecord, b: DedupeRecord, size: int) -> int:
    """Return how many runs of `size` words both texts hold, runs inside either title not counted.

    Two pages of one document copy its sentences; two organisations writing about the same programme
    share its name and topic words but rarely a run of eight words beyond the title.
    """
    titles = shingles_of(fold_words(a.title), size) | shingles_of(fold_words(b.title), size)
    return len((shingles_of(fold_words(a.text), size) & shingles_of(fold_words(b.text), size)) - titles)


def text_overlap(a: DedupeRecord, b: DedupeRecord) -> float:
    """Return the Jaccard share of the informative words the two texts hold beyond both titles (1.0 when
    either holds none: nothing to tell them apart)."""
    titles = {*fold_words(a.title), *fold_words(b.title)}
    words_a = {w for w in fold_words(a.text) if is_informative(w)} - titles
    words_b = {w for w in fold_words(b.text) if is_informative(w)} - titles
    if not words_a or not words_b:
        return 1.0
    return len(words_a & words_b) / len(words_a | words_b)


def title_segments(title: str) -> list[list[str]]:
    """Return the informative words of each part of a title, parts in title order, empty parts left out."""
    parts = ([w for w in fold_words(part) if is_informative(w)] for part in _SEGMENT_BREAK.split(title))
    return [words for words in parts if words]


def has_same_parts(a: str, b: str) -> bool:
    """Return True when both titles have two parts or more (a title and its subtitle) with the same informative
    words in each (page set: 6 more pairs of one video's copies found, no pair merged wrongly)."""
    parts_a = title_segments(a)
    return len(parts_a) > 1 and parts_a == title_segments(b)


def without_notes(title: str) -> str | None:
    """Return the informative words of a title without its bracketed notes, None when it has none.

    A note in brackets says which page or format this is ("(PubMed abstract)", "(figures page)", "[PDF]",
    "(ebook)"), not which work: two notes must not outweigh the words the titles share."""
    if "(" not in title and "[" not in title:
        return None
    return " ".join(w for w in fold_words(_NOTE.sub(" ", title)) if is_informative(w))


def is_informative(word: str) -> bool:
    """Return True for a word the matcher weighs: not a stop word, not a single letter (digits count)."""
    return (len(word) > 1 or word.isdigit()) and word not in STOP_WORDS


def kept_parts_of(parts: list[list[str]], other: set[str]) -> list[list[str]]:
    """Return the parts of a title whose words mostly appear among the `other` title's words: a subtitle, a
    "(PubMed abstract)" or a site's name that only one title carries is set aside."""
    return [part for part in parts if 2 * sum(w in other for w in part) >= len(part)]


def title_core(kept: list[list[str]], other: set[str]) -> list[str]:
    """Return the first kept part (the main title) whole and the later ones' words found in `other` (the
    other title's kept words), so a reworded subtitle still agrees."""
    return kept[0] + [w for part in kept[1:] for w in part if w in other] if kept else []


def has_same_core(a: str, b: str, threshold: float) -> bool:
    """Return True when the two titles, less the parts only one of them has, name the same words
    (sorted, so reordered parts agree; rapidfuzz's ratio, so a typo does too)."""
    parts_a, parts_b = title_segments(a), title_segments(b)
    kept_a = kept_parts_of(parts_a, {w for part in parts_b for w in part})
    kept_b = kept_parts_of(parts_b, {w for part in parts_a for w in part})
    words_a, words_b = {w for part in kept_a for w in part}, {w for part in kept_b for w in part}
    core_a, core_b = sorted(set(title_core(kept_a, words_b))), sorted(set(title_core(kept_b, words_a)))
    if not core_a or not core_b:
        return False
    return fuzz.ratio(" ".join(core_a), " ".join(core_b)) >= threshold
