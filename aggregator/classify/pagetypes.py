"""The type the pipeline gives saved HTML pages, scored against a labelled set (tests/eval/html_types.jsonl).

Each page goes the way `aggregator inspect page` takes it: the metadata adapter reads the HTML, its
metadata becomes the classifier's input (`input_of_metadata`), and the classifier gives the type. The
metadata's own type hint is scored alone too, on the pages that state one.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from pydantic import BaseModel, ConfigDict, ValidationError

from aggregator.classify.values import Classification, ClassifyInput
from aggregator.errors import ConfigError
from aggregator.model import ResourceType

if TYPE_CHECKING:
    from aggregator.ingest.adapters.metadata import PageMetadata

_HINT = (
    'one JSON object a line: {"file": path under the corpus html folder, "url": the page\'s address, '
    '"type": one of the eight types, "reason": why} (tests/eval/README.md)'
)


class TypedPageRecord(BaseModel):
    """A line of the set, as written."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    file: str
    url: str
    type: ResourceType
    reason: str


class TypeClassifier(Protocol):
    def classify(self, item: ClassifyInput) -> Classification: ...


@dataclass(frozen=True, slots=True)
class PageTypeResult:
    """One page: its labelled type, the type hint its metadata states (None: it states none) and the type given."""

    file: str
    url: str
    expected: ResourceType
    hint: ResourceType | None
    given: ResourceType


@dataclass(frozen=True, slots=True)
class PageTypeScores:
    results: tuple[PageTypeResult, ...]

    @property
    def accuracy(self) -> float:
        return _share(sum(r.given == r.expected for r in self.results), len(self.results))

    @property
    def hinted(self) -> tuple[PageTypeResult, ...]:
        return tuple(r for r in self.results if r.hint is not None)

    @property
    def hint_accuracy(self) -> float:
        return _share(sum(r.hint == r.expected for r in self.hinted), len(self.hinted))

    @property
    def misses(self) -> tuple[PageTypeResult, ...]:
        return tuple(r for r in self.results if r.given != r.expected)

    def confusion(self) -> tuple[tuple[ResourceType, ResourceType, int], ...]:
        return type_confusion((r.expected, r.given) for r in self.results)


def type_confusion(
    pairs: Iterable[tuple[ResourceType, ResourceType]],
) -> tuple[tuple[ResourceType, ResourceType, int], ...]:
    """(labelled, given, count) for every (labelled, given) pair that differs, most first."""
    counted = Counter((labelled, given) for labelled, given in pairs if labelled != given)
    return tuple((e, g, n) for (e, g), n in sorted(counted.items(), key=lambda item: (-item[1], item[0])))


def format_confusion(confusion: Sequence[tuple[ResourceType, ResourceType, int]], unit: str, most: int = 0) -> str:
    """ "confusion (labelled -> given: pages): toolkit -> news: 3, ..." (the `most` commonest when given)."""
    shown = confusion[:most] if most else confusion
    more = f", and {len(confusion) - len(shown)} more" if len(shown) < len(confusion) else ""
    return (
        f"confusion (labelled -> given: {unit}): "
        + ", ".join(f"{e.value} -> {g.value}: {n}" for e, g, n in shown)
        + more
    )


def load_type_set(path: Path) -> tuple[TypedPageRecord, ...]:
    """Read `path`; ConfigError (with file, line and fix) on bad JSON, an unknown type or a repeated file."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise ConfigError(f"no type set at {path}", path=str(path), hint=_HINT) from None
    records: list[TypedPageRecord] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = TypedPageRecord.model_validate(json.loads(line))
        except (ValueError, ValidationError) as exc:
            raise ConfigError(f"bad typed page: {exc}", path=str(path), line=number, hint=_HINT) from None
        if any(r.file == record.file for r in records):
            raise ConfigError(f"{record.file}: the file repeats an earlier line", path=str(path), line=number)
        records.append(record)
    return tuple(records)


def input_of_metadata(meta: PageMetadata, url: str) -> ClassifyInput:
    """What the classifier sees of a page the metadata adapter read (fetched from `url`)."""
    return ClassifyInput(
        title=meta.title or "",
        summary=meta.description or "",
        tags=meta.tags,
        type_hint=meta.type_hint.value if meta.type_hint else None,
        url=meta.url or url,
    )


def score_page_types(records: Sequence[TypedPageRecord], html_dir: Path, classifier: TypeClassifier) -> PageTypeScores:
    """Each saved page (its `file` under `html_dir`) read by the metadata adapter and typed by `classifier`."""
    from aggregator.ingest.adapters.metadata import extract_metadata

    results = []
    for record in records:
        path = html_dir / record.file
        if not path.is_file():
            raise ConfigError(
                f"{record.file}: no such page under {html_dir}",
                hint="give --pages the folder the set's files are under (../shared/corpus/html)",
            )
        meta = extract_metadata(path.read_bytes(), record.url)
        given = classifier.classify(input_of_metadata(meta, record.url)).type
        results.append(PageTypeResult(record.file, record.url, record.type, meta.type_hint, given))
    return PageTypeScores(tuple(results))


def scores_as_dict(scores: PageTypeScores) -> dict[str, object]:
    return {
        "pages": len(scores.results),
        "type_accuracy": round(scores.accuracy, 3),
        "hinted_pages": len(scores.hinted),
        "hint_accuracy": round(scores.hint_accuracy, 3) if scores.hinted else None,
        "confusion": [{"labelled": e.value, "given": g.value, "pages": n} for e, g, n in scores.confusion()],
        "misses": [
            {
                "file": r.file,
                "labelled": r.expected.value,
                "given": r.given.value,
                "hint": r.hint.value if r.hint else None,
            }
            for r in scores.misses
        ],
    }


def format_scores(scores: PageTypeScores) -> str:
    lines = [
        f"{len(scores.results)} pages: type accuracy {scores.accuracy:.3f}",
        f"type hint alone: {len(scores.hinted)} pages state one, "
        + (f"accuracy {scores.hint_accuracy:.3f}" if scores.hinted else "no accuracy"),
    ]
    if scores.misses:
        lines.append(format_confusion(scores.confusion(), "pages"))
        lines += [
            f"  {r.file}: labelled {r.expected.value}, given {r.given.value}"
            + (f" (hint {r.hint.value})" if r.hint else "")
            for r in scores.misses
        ]
    return "\n".join(lines)


def _share(right: int, total: int) -> float:
    return right / total if total else 0.0
