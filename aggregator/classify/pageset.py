"""The page-set format: real pages with gold labels and duplicate groups, one JSON object a line, checked against the taxonomy."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from aggregator.classify.labelled import LabelledExample
from aggregator.classify.values import ClassifyInput
from aggregator.config.taxonomy import Taxonomy
from aggregator.errors import ConfigError
from aggregator.model import ResourceType

_HINT = (
    "each line is one JSON object with url, site, title, text, type, audiences and themes "
    "(optional off_topic, reason, query, dup_group, name_group); see tests/eval/README.md"
)


class PageRecord(BaseModel):
    """One line of a page set, as written by a labeller."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str
    site: str
    title: str
    text: str
    type: ResourceType
    audiences: tuple[str, ...] = ()
    themes: tuple[str, ...] = ()
    off_topic: bool | None = None  # when given, it must be true exactly when there are no themes
    reason: str | None = None
    query: str | None = None
    dup_group: str | None = None  # pages of the same resource on different sites share it
    name_group: str | None = None  # different resources with (nearly) the same name share it


@dataclass(frozen=True, slots=True)
class LabelledPage:
    """A page of the set: its record and the labelled example the classifier is scored on."""

    record: PageRecord
    example: LabelledExample


def load_page_set(path: Path, taxonomy: Taxonomy) -> tuple[LabelledPage, ...]:
    """Read `path`; ConfigError (with file, line and fix) on bad JSON, unknown labels or a repeated url."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise ConfigError(
            f"no labelled set at {path}", path=str(path), hint="give the path of a JSON Lines file"
        ) from None
    pages: list[LabelledPage] = []
    seen: set[str] = set()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = PageRecord.model_validate(json.loads(line))
        except (ValueError, ValidationError) as exc:
            raise ConfigError(f"bad labelled page: {exc}", path=str(path), line=number, hint=_HINT) from None
        problem = check_record(record, taxonomy) or ("the url repeats an earlier line" if record.url in seen else None)
        if problem:
            raise ConfigError(f"{record.url}: {problem}", path=str(path), line=number, hint=_HINT)
        seen.add(record.url)
        pages.append(LabelledPage(record, to_example(record)))
    return tuple(pages)


def check_record(record: PageRecord, taxonomy: Taxonomy) -> str | None:
    """What is wrong with one record's labels, or None."""
    for kind, given in (("audience", record.audiences), ("theme", record.themes)):
        unknown = sorted(set(given) - set(taxonomy.ids(kind)))
        if unknown:
            return f"unknown {kind} ids {unknown} (taxonomy.yaml has {list(taxonomy.ids(kind))})"
        if len(set(given)) != len(given):
            return f"a {kind} id is repeated"
    if record.off_topic is not None and record.off_topic != (not record.themes):
        return "off_topic must be true exactly when there are no themes"
    if not record.themes and record.audiences:
        return "an off-topic page (no themes) has no audiences"
    if record.dup_group and record.dup_group == record.name_group:
        return "dup_group and name_group must differ"
    return None


def to_example(record: PageRecord) -> LabelledExample:
    """The classifier sees what a feed or page adapter would give: title, text and url; no hints, no tags."""
    item = ClassifyInput(title=record.title, summary=record.text, url=record.url)
    return LabelledExample(
        record.url, item, record.audiences, record.themes, record.type, not record.themes, site=record.site
    )


def examples_of(pages: Sequence[LabelledPage]) -> tuple[LabelledExample, ...]:
    return tuple(page.example for page in pages)
