"""Words and phrases: text normalised once (Unicode, case, possessives, Snowball stems) and the taxonomy's phrases found in it."""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from operator import ge, itemgetter

import ahocorasick
import regex
import snowballstemmer

from aggregator.config.taxonomy import Kind, LabelDef

# Letters and digits; hyphens and slashes split words, so "co-production" is two words on both sides.
_WORD = regex.compile(r"[\p{L}\p{N}]+")
# The same words in a text whose only letters and digits are ASCII (most texts, once case-folded: the rest of
# their non-ASCII characters are punctuation such as ’ “ – •): the standard library's engine finds them in about
# half the time
_ASCII_WORD = re.compile(r"[a-z0-9]+")
_OTHER_LETTER = regex.compile(r"[^\x00-\x7f](?<=[\p{L}\p{N}])")  # a letter or digit outside ASCII
# "patient's", "patients'" and "nurses’": the possessive ending goes, so the word matches its phrase.
_POSSESSIVE = regex.compile(r"(?<=\p{L})['’](?:s\b|(?=\s|$))")
_LONGEST_FIRST = itemgetter(0, 1)  # (-length, start): a stable sort keeps the phrases of one span in order


@dataclass(frozen=True, slots=True)
class Normalised:
    """A text as the rules and the model read it: lower-cased words and their Snowball stems, in order."""

    words: tuple[str, ...]
    stems: tuple[str, ...]


_NO_WORDS = Normalised((), ())


@dataclass(frozen=True, slots=True)
class PhraseMatch:
    """A taxonomy phrase found in a text."""

    kind: Kind
    label_id: str
    phrase: str


@dataclass(frozen=True, slots=True)
class _Phrase:
    match: PhraseMatch
    # the least length of each word of a text that has the phrase's stems: the phrase's own word, or a word of
    # the same stem not shorter than it: "rounds" finds "round" and "nursing" finds "nurse", but "kind" does
    # not find "kindness" nor "care" find "caring"
    shortest: tuple[int, ...]


class PhraseMatcher:
    """Normalises texts and finds the taxonomy's phrases in them; built once per taxonomy, then a pure function
    (its stem cache only saves work)."""

    def __init__(self, labels: Iterable[LabelDef]) -> None:
        self._stemmer = snowballstemmer.stemmer("english")
        self._stems: dict[str, str] = {}  # stemming is the slow part of normalising: each word once
        by_stems: dict[tuple[str, ...], list[_Phrase]] = defaultdict(list)
        for label in labels:
            for text in label.phrases:
                norm = self.normalise(text)
                if norm.words:
                    shortest = tuple(len(word) - 1 for word in norm.words)
                    by_stems[norm.stems].append(_Phrase(PhraseMatch(label.kind, label.id, text), shortest))
        # every phrase's stems, space-delimited, in one Aho-Corasick automaton: a text's stems are joined the
        # same way and scanned once in C (every occurrence, overlapping ones too); only the hits reach Python
        self._automaton = ahocorasick.Automaton()
        for stems, phrases in by_stems.items():
            self._automaton.add_word(f" {' '.join(stems)} ", (len(stems), tuple(phrases)))
        self._automaton.make_automaton()

    def normalise(self, text: str) -> Normalised:
        """NFKC, case-folded, possessives dropped, split into words, each with its stem."""
        if not text:
            return _NO_WORDS
        folded = unicodedata.normalize("NFKC", text).casefold()
        if "'" in folded or "’" in folded:
            folded = _POSSESSIVE.sub("", folded)
        ascii_words = folded.isascii() or _OTHER_LETTER.search(folded) is None
        words = tuple((_ASCII_WORD if ascii_words else _WORD).findall(folded))
        try:  # a dict lookup per word, in C; new words are stemmed once
            stems = tuple(map(self._stems.__getitem__, words))
        except KeyError:
            stems = tuple(self._stems.get(word) or self._stem(word) for word in words)
        return Normalised(words, stems)

    def _stem(self, word: str) -> str:
        stem = self._stems[word] = self._stemmer.stemWord(word)
        return stem

    def find(self, text: str) -> tuple[PhraseMatch, ...]:
        """Every phrase in `text` (see `find_in`)."""
        return self.find_in(self.normalise(text))

    def find_in(self, norm: Normalised) -> tuple[PhraseMatch, ...]:
        """Every phrase in a normalised text; where phrases of one kind overlap, the longest wins (so
        "compassionate leadership" does not also count as "compassionate")."""
        words, stems = norm.words, norm.stems
        if not stems:
            return ()
        joined = f" {' '.join(stems)} "
        found: list[tuple[int, int, int, _Phrase]] = []
        end = counted = 0
        for last, (length, phrases) in self._automaton.iter(joined):  # hits come in the order they end
            # `last` is the closing space: the spaces before it count the words (counted on from the last hit)
            end += joined.count(" ", counted, last)
            counted = last
            start = end - length
            if length == 1:  # most hits: one word, checked without building anything
                size = len(words[start])
                for p in phrases:
                    if size >= p.shortest[0]:
                        found.append((-1, start, end, p))
            else:
                lengths = tuple(map(len, words[start:end]))
                for p in phrases:
                    if all(map(ge, lengths, p.shortest)):
                        found.append((-length, start, end, p))
        return tuple(p.match for p in _longest_first(found))


def _longest_first(found: list[tuple[int, int, int, _Phrase]]) -> list[_Phrase]:
    """The phrases of (-length, start, end, phrase) hits, longest first, without a shorter one of the same kind
    overlapping a longer one."""
    if len(found) < 2:
        return [phrase for *_, phrase in found]
    spans: set[tuple[int, int, Kind]] = set()
    covered: dict[Kind, set[int]] = defaultdict(set)  # the word positions of each kind's kept spans
    labelled: set[tuple[int, int, Kind, str]] = set()
    kept: list[_Phrase] = []
    for _, start, end, phrase in sorted(found, key=_LONGEST_FIRST):
        kind = phrase.match.kind
        # the same span may carry several labels ("just culture"); a shorter overlapping one may not (a kept
        # span never overlaps another kept one, so a span kept already needs no overlap check)
        if (start, end, kind) not in spans:
            if not covered[kind].isdisjoint(range(start, end)):
                continue
            spans.add((start, end, kind))
            covered[kind].update(range(start, end))
        # one label counts a span once ("nurses" is not also "nursing")
        if (start, end, kind, phrase.match.label_id) in labelled:
            continue
        labelled.add((start, end, kind, phrase.match.label_id))
        kept.append(phrase)
    return kept
