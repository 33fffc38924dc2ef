"""Title, author and URL normalisation for matching: accents, case, punctuation and stop words removed."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from aggregator.dedupe.model import DedupeRecord

# Words that say nothing about which resource a title names; dropping them keeps blocks on rare words.
STOP_WORDS = frozenset(
    "a an and are as at be by for from in into is it its of on or the this to vs versus via with "
    "de del des du el en et la le les los y".split()
)
_NON_WORD = re.compile(r"[\W_]+")
_NONE: frozenset[str] = frozenset()
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://(www\.)?", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Prepared:
    """A record with its title reduced to the forms the matcher compares."""

    record: DedupeRecord
    text: str  # informative tokens joined by spaces, in title order
    sorted_text: str  # the distinct tokens sorted: a subset title is a subsequence of its superset
    tokens: tuple[str, ...]  # distinct informative tokens
    numbers: frozenset[str]  # digit-only tokens: "2023" vs "2024" names a different edition
    surnames: frozenset[str]
    container: str  # folded journal or series name, '' when unknown
    url: str | None  # canonical URL as normalize_url gives it


def fold_text(text: str) -> str:
    """Return text without accents, case or punctuation (unicode dashes and quotes included)."""
    if not text.isascii():  # most titles are ASCII: skip the per-character pass for them
        decomposed = unicodedata.normalize("NFKD", text)
        text = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _NON_WORD.sub(" ", text.casefold()).strip()


def tokenize_title(title: str) -> tuple[str, ...]:
    """Return the informative tokens of a title in order: folded, stop words and single letters dropped."""
    return tuple(t for t in fold_text(title).split() if t not in STOP_WORDS and (len(t) > 1 or t.isdigit()))


def surname_of(author: str) -> str:
    """Return the folded surname of "Surname, Given" or "Given Surname" ('' when there is none)."""
    name = author.split(",", 1)[0] if "," in author else (author.split() or [""])[-1]
    return fold_text(name).replace(" ", "")


def normalize_url(url: str | None) -> str | None:
    """Return a URL compared loosely: scheme, "www." and a trailing slash ignored; None stays None."""
    if not url:
        return None
    bare = _SCHEME.sub("", url.strip())
    host, _, rest = bare.partition("/")
    return (host.lower() + "/" + rest).rstrip("/")


def prepare_record(record: DedupeRecord, intern: dict[str, str] | None = None) -> Prepared:
    """Return the comparable forms of one record; `intern` shares token strings across records."""
    tokens = tokenize_title(record.title)
    if intern is not None:
        tokens = tuple(intern.setdefault(t, t) for t in tokens)
    numbers = frozenset(t for t in tokens if t.isdigit()) or _NONE
    surnames = frozenset(s for s in (surname_of(a) for a in record.authors) if s) or _NONE
    container = " ".join(t for t in fold_text(record.container or "").split() if t not in STOP_WORDS)
    distinct = tuple(dict.fromkeys(tokens))
    return Prepared(record, " ".join(tokens), " ".join(sorted(distinct)), distinct, numbers, surnames, container,
                    normalize_url(record.canonical_url))
