"""Rule signals: the partner's tags, the source's hints and the taxonomy's phrases, each with its reason."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from aggregator.classify.text import Normalised, PhraseMatch, PhraseMatcher
from aggregator.classify.values import ClassifyInput, Reason
from aggregator.config.taxonomy import Kind, LabelRef, Taxonomy


@dataclass(frozen=True, slots=True)
class RuleWeights:
    """How much each signal counts (0..1); several signals for one label combine as a noisy-OR."""

    partner_tag: float = 0.9
    source_hint: float = 0.3  # a prior: most of a source's resources share these labels, not all
    phrase_in_title: float = 0.6
    phrase_in_tags: float = 0.45
    phrase_in_summary: float = 0.3


@dataclass(frozen=True, slots=True)
class ReadInput:
    """A resource's texts normalised once: what both the phrase rules and the model's features read."""

    title: Normalised
    summary: Normalised
    tags: Normalised  # the partner's tags that map to no label, as text


@dataclass(frozen=True, slots=True)
class Evidence:
    """One signal for one label."""

    ref: LabelRef
    weight: float
    reason: Reason


class Rules:
    """The rule signals for a taxonomy; `collect_evidence` is pure once built."""

    def __init__(self, taxonomy: Taxonomy, weights: RuleWeights = RuleWeights()) -> None:
        self.taxonomy = taxonomy
        self.weights = weights
        self.matcher = PhraseMatcher((*taxonomy.audiences, *taxonomy.themes))
        self._made: dict[tuple[PhraseMatch, str], tuple[tuple[str, ...], Evidence]] = {}

    def read(self, item: ClassifyInput) -> ReadInput:
        """Normalise the item's texts once."""
        unmapped = " ; ".join(tag for tag in item.tags if not self.taxonomy.labels_for_tag(tag))
        normalise = self.matcher.normalise
        return ReadInput(normalise(item.title), normalise(item.summary), normalise(unmapped))

    def collect_evidence(self, item: ClassifyInput, read: ReadInput | None = None) -> tuple[Evidence, ...]:
        """Every rule signal for `item`; the same label may appear several times with different reasons."""
        read = read or self.read(item)
        return (*self._from_tags(item), *self._from_hints(item), *self._from_phrases(read))

    def _from_tags(self, item: ClassifyInput) -> Iterator[Evidence]:
        for tag in item.tags:
            for ref in self.taxonomy.labels_for_tag(tag):
                yield Evidence(ref, self.weights.partner_tag, Reason("partner-tag", f'tag "{tag}"'))

    def _from_hints(self, item: ClassifyInput) -> Iterator[Evidence]:
        source = item.source_id or "source"
        kinds: tuple[tuple[Kind, tuple[str, ...]], ...] = (
            ("audience", item.hints_audiences),
            ("theme", item.hints_themes),
        )
        for kind, ids in kinds:
            if not ids:  # most sources give no hints
                continue
            known = self.taxonomy.ids(kind)
            for label_id in ids:
                if label_id in known:  # a hint naming a label that was since removed is ignored
                    yield Evidence(
                        LabelRef(kind, label_id),
                        self.weights.source_hint,
                        Reason("source-hint", f'{source} hints {kind} "{label_id}"'),
                    )

    def _from_phrases(self, read: ReadInput) -> Iterator[Evidence]:
        seen: set[tuple[str, ...]] = set()
        fields = (
            ("title", read.title, self.weights.phrase_in_title),
            ("tags", read.tags, self.weights.phrase_in_tags),
            ("summary", read.summary, self.weights.phrase_in_summary),
        )
        for where, text, weight in fields:  # strongest place first: a phrase counts once, where it is strongest
            for match in self.matcher.find_in(text):
                key, evidence = self._phrase_evidence(match, where, weight)
                if key not in seen:
                    seen.add(key)
                    yield evidence

    def _phrase_evidence(self, match: PhraseMatch, where: str, weight: float) -> tuple[tuple[str, ...], Evidence]:
        # the same phrase in the same place is the same (immutable) evidence: made once, not per resource
        made = self._made.get((match, where))
        if made is None:
            evidence = Evidence(
                LabelRef(match.kind, match.label_id), weight, Reason("phrase", f'phrase "{match.phrase}" in {where}')
            )
            made = self._made[(match, where)] = ((match.kind, match.label_id, match.phrase.casefold()), evidence)
        return made
