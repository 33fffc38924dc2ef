"""Score predicted duplicate pairs against gold groups, on the bib-respiratory corpus and on labelled page sets."""

from __future__ import annotations

import csv
import itertools
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Protocol

from aggregator.dedupe.engine import cluster_duplicates, find_duplicates
from aggregator.dedupe.values import DedupeConfig, DedupeRecord, RecordId
from aggregator.errors import ConfigError
from aggregator.ingest.normalize import canonicalize, normalize_doi

Pair = frozenset[RecordId]


@dataclass(frozen=True, slots=True)
class Scores:
    """Precision and recall of duplicate pairs."""

    precision: float
    recall: float
    f1: float
    tp: int
    fp: int
    fn: int

    def describe(self) -> str:
        """Return one line for people: "P 0.995 R 0.931 F1 0.962 (tp 900 fp 5 fn 67)"."""
        return f"P {self.precision:.3f} R {self.recall:.3f} F1 {self.f1:.3f} (tp {self.tp} fp {self.fp} fn {self.fn})"


@dataclass(frozen=True, slots=True)
class LabelledSet:
    """Records with the gold groups of duplicates among them."""

    records: tuple[DedupeRecord, ...]
    gold_groups: tuple[tuple[RecordId, ...], ...]


def pairs_of_groups(groups: Iterable[Sequence[RecordId]]) -> set[Pair]:
    """Return every unordered pair of ids that share a group."""
    return {frozenset(p) for g in groups for p in itertools.combinations(g, 2) if p[0] != p[1]}


def evaluate_pairs(predicted_pairs: Iterable[Iterable[RecordId]], gold_groups: Iterable[Sequence[RecordId]]) -> Scores:
    """Return precision and recall of `predicted_pairs` against all pairs within `gold_groups`."""
    predicted = {frozenset(p) for p in predicted_pairs}
    gold = pairs_of_groups(gold_groups)
    tp = len(predicted & gold)
    fp, fn = len(predicted) - tp, len(gold) - tp
    precision = tp / (tp + fp) if predicted else 1.0
    recall = tp / (tp + fn) if gold else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Scores(precision, recall, f1, tp, fp, fn)


def evaluate_set(labelled: LabelledSet, config: DedupeConfig = DedupeConfig()) -> Scores:
    """Run `find_duplicates` and score the pairs its clusters imply (merging is transitive)."""
    matches = find_duplicates(labelled.records, config=config)
    clusters = cluster_duplicates(labelled.records, matches)
    return evaluate_pairs(pairs_of_groups(clusters), labelled.gold_groups)


def load_bib_set(folder: Path) -> LabelledSet:
    """Read a bib-dedupe benchmark folder: records_pre_merged.csv and merged_record_ids.csv."""
    with open(folder / "records_pre_merged.csv", newline="", encoding="utf-8") as f:
        records = tuple(bib_row_to_record(row) for row in csv.DictReader(f))
    with open(folder / "merged_record_ids.csv", newline="", encoding="utf-8") as f:
        groups = tuple(tuple(row["merged_ids"].split(";")) for row in csv.DictReader(f))
    return LabelledSet(records, groups)


def bib_row_to_record(row: dict[str, str]) -> DedupeRecord:
    """Map one bibliographic row (ID, title, year, author "A, B and C, D", journal, doi) to a DedupeRecord."""
    year = (row.get("year") or "").strip()
    authors = tuple(a.strip() for a in (row.get("author") or "").split(" and ") if a.strip())
    return DedupeRecord(
        id=row["ID"],
        title=row.get("title") or "",
        doi=(row.get("doi") or "").strip().lower() or None,
        # Only the year is known: the same day in each year makes records of different years a year apart.
        published=date(int(year[:4]), 7, 1) if year[:4].isdigit() else None,
        authors=authors,
        container=(row.get("journal") or "").strip() or None,
    )


class PageLike(Protocol):
    """What page-set scoring reads of a labelled page (aggregator.classify.pageset.PageRecord has it)."""

    url: str
    site: str
    title: str
    type: str
    dup_group: str | None
    name_group: str | None


@dataclass(frozen=True, slots=True)
class PageSetScores:
    """Duplicate pairs on a page set, and how many of its same-name pairs (must not merge) were merged."""

    scores: Scores
    name_pairs: int
    name_pairs_merged: int
    wrong: tuple[tuple[str, str], ...]  # titles of pairs merged that are not the same resource

    def describe(self) -> str:
        return f"{self.scores.describe()}; same-name pairs merged {self.name_pairs_merged} of {self.name_pairs}"


def evaluate_pages(pages: Sequence[PageLike], config: DedupeConfig = DedupeConfig()) -> PageSetScores:
    """Score the engine on a page set: its dup_groups are the gold, its name_groups must stay apart.

    Pages are records as the pipeline would store them (title, canonical URL, a DOI the URL holds);
    as in `merging.dedupe_resources`, two pages of one site are never merged."""
    predicted, gold = page_pairs(pages, config)
    scores = evaluate_pairs(predicted, [tuple(pair) for pair in gold])
    named = pairs_of_groups(_groups(pages, "name_group")) - gold
    titles = {p.url: p.title for p in pages}
    wrong = tuple(sorted(tuple(sorted(titles[str(u)] for u in pair)) for pair in predicted - gold))
    return PageSetScores(scores, len(named), len(named & predicted), wrong)


def page_pairs(pages: Sequence[PageLike], config: DedupeConfig = DedupeConfig()) -> tuple[set[Pair], set[Pair]]:
    """Return the pairs of pages of different sites the engine merges, and those the page set's dup_groups hold."""
    records = page_records(pages)
    site = {p.url: p.site for p in pages}
    matches = [m for m in find_duplicates(records, config=config) if site[str(m.a)] != site[str(m.b)]]
    predicted = pairs_of_groups(cluster_duplicates(records, matches))
    # a group's pages of one site (a trust's news item and its training page about one film) are not a pair:
    # the guide groups the same resource on different sites, and the pipeline never merges within a site
    gold = {pair for pair in pairs_of_groups(_groups(pages, "dup_group")) if len({site[str(u)] for u in pair}) > 1}
    return {pair for pair in predicted if len({site[str(u)] for u in pair}) > 1}, gold


@dataclass(frozen=True, slots=True)
class Judgement:
    """One judge's answer on one pair of pages: the same resource or not."""

    pair: Pair
    same: bool


def load_judgements(path: Path) -> list[Judgement]:
    """Read a judge's JSON Lines file, one pair a line: {"a": url, "b": url, "same": true|false, "reason": ...};
    ConfigError with the line on a bad one."""
    judgements, seen = [], set()
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}", hint="give the path of a judged pairs file") from exc
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            pair, same = frozenset((str(row["a"]), str(row["b"]))), row["same"]
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigError(
                f"not a judged pair: {exc}",
                path=str(path),
                line=number,
                hint='write {"a": url, "b": url, "same": true}',
            ) from exc
        if not isinstance(same, bool) or len(pair) != 2 or pair in seen:
            raise ConfigError(
                "a pair needs two different urls, judged once, and 'same' true or false",
                path=str(path),
                line=number,
                hint="fix or remove the line",
            )
        seen.add(pair)
        judgements.append(Judgement(pair, same))
    return judgements


def score_judgements(judgements: Sequence[Judgement], truth: Callable[[Pair], bool]) -> Scores:
    """Precision and recall of "same" in `judgements` against `truth`, on the judged pairs only (a sample)."""
    judged = {j.pair: j.same for j in judgements}
    return evaluate_pairs(
        [pair for pair, same in judged.items() if same], [tuple(pair) for pair in judged if truth(pair)]
    )


def page_records(pages: Sequence[PageLike]) -> list[DedupeRecord]:
    """Return a page set's pages as records the pipeline would store (title, canonical URL, a DOI the URL holds)."""
    return [
        DedupeRecord(
            id=p.url,
            title=p.title,
            canonical_url=canonicalize(p.url),
            doi=normalize_doi(p.url),
            source_id=p.site,
            kind=getattr(p, "type", None),
            text=getattr(p, "text", ""),
        )
        for p in pages
    ]


def _groups(pages: Sequence[PageLike], key: str) -> list[tuple[RecordId, ...]]:
    groups: dict[str, list[RecordId]] = {}
    for page in pages:
        if getattr(page, key):
            groups.setdefault(getattr(page, key), []).append(page.url)
    return [tuple(g) for g in groups.values() if len(g) > 1]
