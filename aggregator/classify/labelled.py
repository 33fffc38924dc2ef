"""The labelled set: resources with the labels an editor gave them, read from JSON Lines for evaluation and training."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from aggregator.classify.values import Classification, ClassifyInput, Label, Reason, TrainingExample
from aggregator.config.sources import Hints
from aggregator.errors import ConfigError
from aggregator.model import ResourceType


@dataclass(frozen=True, slots=True)
class LabelledExample:
    """One resource of the labelled set and its gold labels."""

    id: str
    input: ClassifyInput
    audiences: tuple[str, ...]
    themes: tuple[str, ...]
    type: ResourceType
    off_topic: bool
    site: str | None = None  # what grouped cross-validation keeps on one side: a page set's site, else the source

    def as_training(self, weight: float = 1.0) -> TrainingExample:
        return TrainingExample(self.input, self.audiences, self.themes, weight, self.site, self.type)

    def as_classification(self, by: str) -> Classification:
        """The labels as if a classifier had given them, each with the reason `by` (a labeller's file), so a
        second labeller can be scored against the set the way the classifier is."""
        reason = (Reason("labeller", by),)
        labels = [Label("audience", i, 1.0, reason) for i in self.audiences]
        labels += [Label("theme", i, 1.0, reason) for i in self.themes]
        return Classification(tuple(labels), self.off_topic, self.type)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Gold(_Strict):
    audiences: tuple[str, ...] = ()
    themes: tuple[str, ...] = ()
    type: ResourceType
    off_topic: bool


class _Record(_Strict):
    id: str
    source: str
    title: str
    summary: str
    tags: tuple[str, ...] = ()
    url: str | None = None
    type_hint: ResourceType | None = None
    gold: _Gold
    note: str | None = None


def load_labelled(path: Path, hints: Mapping[str, Hints] | None = None) -> tuple[LabelledExample, ...]:
    """Read `path` (one JSON object a line); `hints` are the sources' hints as sources.yaml gives them
    (by default the `sources.json` beside the file)."""
    if hints is None:
        hints = load_source_hints(path.with_name("sources.json"))
    examples = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = _Record.model_validate(json.loads(line))
        except (ValueError, ValidationError) as exc:
            raise ConfigError(
                f"bad labelled resource: {exc}",
                path=str(path),
                line=number,
                hint="each line is one JSON object with id, source, title, summary and gold",
            ) from None
        if record.gold.off_topic != (not record.gold.themes):
            raise ConfigError(
                f"{record.id}: off_topic must be true exactly when there are no themes",
                path=str(path),
                line=number,
                hint="give an on-topic resource at least one theme",
            )
        examples.append(_to_example(record, hints.get(record.source, Hints())))
    return tuple(examples)


def load_source_hints(path: Path) -> dict[str, Hints]:
    """The per-source hints of the labelled set (the same shape as `hints:` in sources.yaml)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return {source: Hints.model_validate(value) for source, value in data.items()}
    except FileNotFoundError:
        return {}
    except (ValueError, ValidationError) as exc:
        raise ConfigError(f"bad source hints: {exc}", path=str(path), hint="map each source id to its hints") from None


def _to_example(record: _Record, hints: Hints) -> LabelledExample:
    type_hint = record.type_hint or hints.type
    item = ClassifyInput(
        title=record.title,
        summary=record.summary,
        tags=record.tags,
        source_id=record.source,
        hints_audiences=hints.audiences,
        hints_themes=hints.themes,
        type_hint=type_hint.value if type_hint else None,
        url=record.url,
    )
    gold = record.gold
    return LabelledExample(record.id, item, gold.audiences, gold.themes, gold.type, gold.off_topic, site=record.source)
