"""Title, author and URL normalisation for matching: accents, case, punctuation and stop words removed."""

from __future__ import annotations

import re
import string
import unicodedata
from dataclasses import dataclass

from aggregator.dedupe.values import DedupeRecord

# Words that say nothing about which resource a title names; dropping them keeps blocks on rare words.
STOP_WORDS = frozenset(
    "a an and are as at be by for from in into is it its of on or the this to vs versus via with "
    "de del des du el en et la le les los y".split()
)
_NON_WORD = re.compile(r"[\W_]+")
_STATED_DOI = re.compile(r"\b10\.\d{4,9}/[^\s\"'<>]+")
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://(www\.)?", re.IGNORECASE)
# For ASCII text the regex fold is a byte mapping: letters to lower case, digits kept, the rest to spaces.
_ASCII_FOLD = bytes(
    c if chr(c) in string.ascii_lowercase + string.digits else c + 32 if chr(c) in string.ascii_uppercase else 32
    for c in range(256)
)


@dataclass(frozen=True, slots=True)
class Prepared:
    """A record with its title reduced to the forms the matcher compares.

    Only what blocking needs for every record is computed here; authors, numbers and journal names
    are folded by the evidence functions for the few pairs that reach judging.
    """

    record: DedupeRecord
    text: str  # informative tokens joined by spaces, in title order
    sorted_text: str  # the distinct tokens sorted: a subset title is a subsequence of its superset
    tokens: tuple[int, ...]  # distinct informative tokens, as Vocabulary ids, in title order
    url: str | None  # canonical URL as normalize_url gives it
    doi: str | None  # the record's DOI, else the first DOI its text states (a landing page prints its own)


class Vocabulary(dict[str, int]):
    """Folded word -> a dense id from 1, or 0 for a stop word or a single letter; `words` maps ids back.

    Looking words up through it filters and numbers them in one dictionary access per word, and
    every title holding a word holds the same string object.
    """

    def __init__(self) -> None:
        super().__init__()
        self.words: list[str] = [""]

    def __missing__(self, word: str) -> int:
        token = len(self.words) if (len(word) > 1 or word.isdigit()) and word not in STOP_WORDS else 0
        if token:
            self.words.append(word)
        self[word] = token
        return token


def fold_words(text: str) -> list[str]:
    """Return the words of text without accents, case or punctuation (unicode dashes and quotes included)."""
    if text.isascii():  # most titles: one byte-table pass gives what fold_unicode_words would
        return text.encode("ascii").translate(_ASCII_FOLD).decode("ascii").split()
    return fold_unicode_words(text)


def fold_unicode_words(text: str) -> list[str]:
    """Return the words of any text folded: compatibility-decomposed, accents dropped, case-folded."""
    decomposed = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _NON_WORD.sub(" ", text.casefold()).split()


def fold_text(text: str) -> str:
    """Return text folded as `fold_words` does, words joined by single spaces."""
    return " ".join(fold_words(text))


def number_tokens(p: Prepared) -> frozenset[str]:
    """Return the digit-only tokens of a title: "2023" vs "2024" names a different edition."""
    return frozenset(t for t in p.text.split() if t.isdigit())


def surname_of(author: str) -> str:
    """Return the folded surname of "Surname, Given" or "Given Surname" ('' when there is none)."""
    name = author.split(",", 1)[0] if "," in author else (author.split() or [""])[-1]
    return "".join(fold_words(name))


def surnames_of(record: DedupeRecord) -> frozenset[str]:
    """Return the folded surnames of a record's authors."""
    return frozenset(s for s in map(surname_of, record.authors) if s)


def container_of(record: DedupeRecord) -> str:
    """Return the folded journal or series name without stop words ('' when unknown)."""
    return " ".join(t for t in fold_words(record.container or "") if t not in STOP_WORDS)


def stated_doi(text: str) -> str | None:
    """Return the first DOI a text states, bare and lower-case, closing punctuation left out; None without one."""
    found = _STATED_DOI.search(text) if "10." in text else None
    return found.group(0).rstrip(".,;:)]").lower() if found else None


def normalize_url(url: str | None) -> str | None:
    """Return a URL compared loosely: scheme, "www." and a trailing slash ignored; None stays None."""
    if not url:
        return None
    bare = _SCHEME.sub("", url.strip())
    host, _, rest = bare.partition("/")
    return (host.lower() + "/" + rest).rstrip("/")


def prepare_record(record: DedupeRecord, vocabulary: Vocabulary) -> Prepared:
    """Return the comparable forms of one record, its words numbered by the index's `vocabulary`."""
    tokens = tuple(filter(None, map(vocabulary.__getitem__, fold_words(record.title))))
    distinct = tuple(dict.fromkeys(tokens))
    word = vocabulary.words.__getitem__
    return Prepared(
        record,
        " ".join(map(word, tokens)),
        " ".join(sorted(map(word, distinct))),
        distinct,
        normalize_url(record.canonical_url),
        record.doi or stated_doi(record.text),
    )
