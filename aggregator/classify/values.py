"""The values the classifier takes and gives: what is known of a resource in, labels with reasons out."""

from __future__ import annotations

from dataclasses import dataclass

from aggregator.config.sources import Hints
from aggregator.config.taxonomy import Kind
from aggregator.model import Resource, ResourceType


@dataclass(frozen=True, slots=True)
class ClassifyInput:
    """What the classifier may look at: the resource's text, its partner's tags and its source's hints."""

    title: str
    summary: str
    tags: tuple[str, ...] = ()
    source_id: str | None = None
    hints_audiences: tuple[str, ...] = ()
    hints_themes: tuple[str, ...] = ()
    type_hint: str | None = None  # a ResourceType value stated by the platform (GOV.UK document type, ...)
    url: str | None = None
    # the type normalising guessed from the text cues when none was stated (a stored resource's type with
    # type_stated false): the same `infer_type` result, passed on rather than computed twice
    type_guess: str | None = None


@dataclass(frozen=True, slots=True)
class Reason:
    """Why a label was given."""

    signal: str  # "partner-tag" | "source-hint" | "phrase" | "model"
    detail: str  # 'tag "Patient safety leads"', 'phrase "Schwartz rounds" in title', 'model p=0.83'


@dataclass(frozen=True, slots=True)
class Label:
    """One label given to a resource, how sure the classifier is, and why."""

    kind: Kind
    id: str
    confidence: float
    reasons: tuple[Reason, ...]


@dataclass(frozen=True, slots=True)
class Classification:
    """Every label given to a resource; an off-topic one (not about health and care) gets none, and
    `relevance` says which signal decided either way."""

    labels: tuple[Label, ...]
    off_topic: bool
    type: ResourceType
    relevance: Reason | None = None

    def ids(self, kind: Kind) -> tuple[str, ...]:
        return tuple(label.id for label in self.labels if label.kind == kind)


@dataclass(frozen=True, slots=True)
class TrainingExample:
    """A resource with the labels an editor gave it (no themes means the editor found it off-topic)."""

    input: ClassifyInput
    audiences: tuple[str, ...]
    themes: tuple[str, ...]
    weight: float = 1.0  # editors' corrections can count for more than the labelled set
    site: str | None = None  # threshold choice keeps a site's examples on one side (default: the url's host)
    type: ResourceType | None = None  # the labelled type (None: unknown, as in editors' label corrections)


def input_from_resource(resource: Resource, hints: Hints = Hints()) -> ClassifyInput:
    """What the classifier sees of a stored resource, with its source's hints from sources.yaml.

    A type its page or platform stated at normalising is passed on as the type hint; a guessed one is not,
    so the classifier decides it (as `aggregator run` labels stored resources)."""
    return ClassifyInput(
        title=resource.title,
        summary=resource.summary,
        tags=resource.tags,
        source_id=resource.source_id,
        hints_audiences=hints.audiences,
        hints_themes=hints.themes,
        type_hint=resource.type.value if resource.type_stated else None,
        type_guess=None if resource.type_stated else resource.type.value,
        url=resource.url,
    )
