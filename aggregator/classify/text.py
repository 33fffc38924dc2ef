"""Words and phrases: text normalised once (Unicode, case, possessives, Snowball stems) and the taxonomy's phrases found in it."""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import regex
import snowballstemmer

from aggregator.config.taxonomy import Kind, LabelDef

# Letters and digits; hyphens and slashes split words, so "co-production" is two words on both sides.
_WORD = regex.compile(r"[\p{L}\p{N}]+")
# "patient's", "patients'" and "nurses’": the possessive ending goes, so the word matches its phrase.
_POSSESSIVE = regex.compile(r"(?<=\p{L})['’](?:s\b|(?=\s|$))")


@dataclass(frozen=True, slots=True)
class Normalised:
    """A text as the rules and the model read it: lower-cased words and their Snowball stems, in order."""

    words: tuple[str, ...]
    stems: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Token:
    """One word of a text: as written (lower-cased) and its Snowball stem."""

    word: str
    stem: str


@dataclass(frozen=True, slots=True)
class PhraseMatch:
    """A taxonomy phrase found in a text."""

    kind: Kind
    label_id: str
    phrase: str


@dataclass(frozen=True, slots=True)
class _Phrase:
    kind: Kind
    label_id: str
    text: str
    words: tuple[str, ...]
    stems: tuple[str, ...]


class PhraseMatcher:
    """Normalises texts and finds the taxonomy's phrases in them; built once per taxonomy, then a pure function
    (its stem cache only saves work)."""

    def __init__(self, labels: Iterable[LabelDef]) -> None:
        self._stemmer = snowballstemmer.stemmer("english")
        self._stems: dict[str, str] = {}  # stemming is the slow part of normalising: each word once
        self._by_stems: dict[tuple[str, ...], list[_Phrase]] = defaultdict(list)
        for label in labels:
            for text in label.phrases:
                norm = self.normalise(text)
                if norm.words:
                    self._by_stems[norm.stems].append(_Phrase(label.kind, label.id, text, norm.words, norm.stems))
        # the phrases' stem sequences by length: a text's n-grams are intersected with them as sets, so
        # the per-word work happens in C and only the few hits are checked in Python
        self._keys: dict[int, frozenset[tuple[str, ...]]] = {
            n: frozenset(k for k in self._by_stems if len(k) == n) for n in {len(k) for k in self._by_stems}
        }

    def normalise(self, text: str) -> Normalised:
        """NFKC, case-folded, possessives dropped, split into words, each with its stem."""
        folded = _POSSESSIVE.sub("", unicodedata.normalize("NFKC", text).casefold())
        words = _WORD.findall(folded)
        cache = self._stems
        stems = [cache.get(word) or self._stem(word) for word in words]
        return Normalised(tuple(words), tuple(stems))

    def _stem(self, word: str) -> str:
        stem = self._stems[word] = self._stemmer.stemWord(word)
        return stem

    def tokenize(self, text: str) -> tuple[Token, ...]:
        """Lower-cased words with their stems ("Schwartz Rounds" -> schwartz/schwartz, rounds/round)."""
        norm = self.normalise(text)
        return tuple(Token(w, s) for w, s in zip(norm.words, norm.stems))

    def find(self, text: str) -> tuple[PhraseMatch, ...]:
        """Every phrase in `text` (see `find_in`)."""
        return self.find_in(self.normalise(text))

    def find_in(self, norm: Normalised) -> tuple[PhraseMatch, ...]:
        """Every phrase in a normalised text; where phrases of one kind overlap, the longest wins (so
        "compassionate leadership" does not also count as "compassionate")."""
        words, stems = norm.words, norm.stems
        found: list[tuple[int, int, _Phrase]] = []
        for length, keys in self._keys.items():
            grams = list(zip(*(stems[k:] for k in range(length))))
            for gram in keys.intersection(grams):
                start = -1
                for _ in range(grams.count(gram)):
                    start = grams.index(gram, start + 1)
                    for phrase in self._by_stems[gram]:
                        if all(
                            _same_word(words[start + k], stems[start + k], w, s)
                            for k, (w, s) in enumerate(zip(phrase.words, phrase.stems))
                        ):
                            found.append((start, start + length, phrase))
        return tuple(PhraseMatch(p.kind, p.label_id, p.text) for p in _longest_first(found))


def _same_word(word: str, stem: str, wanted_word: str, wanted_stem: str) -> bool:
    # Same stem, and not shorter than the phrase's word: "rounds" finds "round" and "nursing" finds
    # "nurse", but "kind" does not find "kindness" nor "care" find "caring".
    return word == wanted_word or (stem == wanted_stem and len(word) >= len(wanted_word) - 1)


def _longest_first(found: list[tuple[int, int, _Phrase]]) -> list[_Phrase]:
    taken: dict[Kind, list[tuple[int, int]]] = defaultdict(list)
    labelled: set[tuple[int, int, Kind, str]] = set()
    kept: list[_Phrase] = []
    for start, end, phrase in sorted(found, key=lambda f: (f[0] - f[1], f[0])):
        spans = taken[phrase.kind]
        # the same span may carry several labels ("just culture"); a shorter overlapping one may not,
        # and one label counts a span once ("nurses" is not also "nursing")
        if any(s < end and start < e and (s, e) != (start, end) for s, e in spans):
            continue
        if (start, end, phrase.kind, phrase.label_id) in labelled:
            continue
        labelled.add((start, end, phrase.kind, phrase.label_id))
        spans.append((start, end))
        kept.append(phrase)
    return kept
