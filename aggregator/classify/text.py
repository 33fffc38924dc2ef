"""Words and phrases: tokenising text and finding the taxonomy's phrases in it, ignoring case and endings."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import regex
import snowballstemmer

from aggregator.config.taxonomy import Kind, LabelDef

# Letters and digits; hyphens and slashes split words, so "co-production" is two words on both sides.
_WORD = regex.compile(r"[\p{L}\p{N}]+")


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
    tokens: tuple[Token, ...]


class PhraseMatcher:
    """Finds the taxonomy's phrases in a text; built once per taxonomy and then used as a pure function."""

    def __init__(self, labels: Iterable[LabelDef]) -> None:
        self._stemmer = snowballstemmer.stemmer("english")
        self._stems: dict[str, str] = {}  # a cache: stemming is the slow part of classifying
        self._by_first: dict[str, list[_Phrase]] = defaultdict(list)
        for label in labels:
            for text in label.phrases:
                tokens = self.tokenize(text)
                if tokens:
                    self._by_first[tokens[0].stem].append(_Phrase(label.kind, label.id, text, tokens))

    def tokenize(self, text: str) -> tuple[Token, ...]:
        """Lower-cased words with their stems ("Schwartz Rounds" -> schwartz/schwartz, rounds/round)."""
        words = [match.group().casefold() for match in _WORD.finditer(text)]
        return tuple(Token(word, self._stem(word)) for word in words)

    def _stem(self, word: str) -> str:
        stem = self._stems.get(word)
        if stem is None:
            stem = self._stems[word] = self._stemmer.stemWord(word)
        return stem

    def find(self, text: str) -> tuple[PhraseMatch, ...]:
        """Every phrase in `text`; where phrases of one kind overlap, the longest wins (so
        "compassionate leadership" does not also count as "compassionate")."""
        tokens = self.tokenize(text)
        found: list[tuple[int, int, _Phrase]] = []
        for start, token in enumerate(tokens):
            for phrase in self._by_first.get(token.stem, ()):
                end = start + len(phrase.tokens)
                if end <= len(tokens) and all(map(_same_word, tokens[start:end], phrase.tokens)):
                    found.append((start, end, phrase))
        return tuple(PhraseMatch(p.kind, p.label_id, p.text) for p in _longest_first(found))


def _same_word(token: Token, wanted: Token) -> bool:
    # Same stem, and not shorter than the phrase's word: "rounds" finds "round" and "nursing" finds
    # "nurse", but "kind" does not find "kindness" nor "care" find "caring".
    return token.word == wanted.word or (token.stem == wanted.stem and len(token.word) >= len(wanted.word) - 1)


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
