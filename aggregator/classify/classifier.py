"""The classifier: rule signals and the learned model combined into labels with confidences and reasons."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from aggregator.classify.learned import OFF_TOPIC, LearnedModel
from aggregator.classify.rules import Evidence, Rules, RuleWeights
from aggregator.classify.values import Classification, ClassifyInput, Label, Reason
from aggregator.config.taxonomy import KINDS, Kind, LabelRef, Taxonomy
from aggregator.ingest.resource_types import infer_type


@dataclass(frozen=True, slots=True)
class Thresholds:
    """When a label is given, and when the model's opinion is shown or trusted."""

    theme: float = 0.5
    audience: float = 0.5
    model_reason: float = 0.25  # the model's probability is listed as a reason from here up
    off_topic: float = 0.5  # the model's off-topic probability that overrides rule signals other than tags


class Classifier:
    """Labels resources; pure once built (the taxonomy and the model are values passed in)."""

    def __init__(
        self,
        taxonomy: Taxonomy,
        model: LearnedModel | None = None,
        thresholds: Thresholds = Thresholds(),
        weights: RuleWeights = RuleWeights(),
    ) -> None:
        self.taxonomy = taxonomy
        self.model = model
        self.thresholds = thresholds
        self.rules = Rules(taxonomy, weights)

    def classify(self, item: ClassifyInput) -> Classification:
        """Labels, off-topic flag and type for one resource."""
        return self.classify_many((item,))[0]

    def classify_many(self, items: Sequence[ClassifyInput]) -> list[Classification]:
        """As `classify`, with the model run once for the whole batch."""
        predictions: list[Mapping[str, float]] = (
            list(self.model.predict_many(items)) if self.model and items else [{} for _ in items]
        )
        return [self._combine(item, self.rules.collect_evidence(item), p) for item, p in zip(items, predictions)]

    def _combine(
        self, item: ClassifyInput, evidence: tuple[Evidence, ...], predicted: Mapping[str, float]
    ) -> Classification:
        by_label: dict[LabelRef, list[Evidence]] = defaultdict(list)
        for found in evidence:
            by_label[found.ref].append(found)
        labels = [
            label
            for kind in KINDS
            for label_id in self.taxonomy.ids(kind)
            if (label := self._label(kind, label_id, by_label.get(LabelRef(kind, label_id), []), predicted))
        ]
        themes = [label for label in labels if label.kind == "theme"]
        off_topic = not themes or self._model_says_off_topic(themes, predicted)
        kept = () if off_topic else tuple(sorted(labels, key=lambda label: (label.kind, -label.confidence, label.id)))
        kind = infer_type(item.title, item.summary, item.type_hint, item.url, item.tags)
        return Classification(kept, off_topic, kind)

    def _label(
        self, kind: Kind, label_id: str, evidence: list[Evidence], predicted: Mapping[str, float]
    ) -> Label | None:
        miss = 1.0
        for found in evidence:
            miss *= 1.0 - found.weight
        reasons = [found.reason for found in sorted(evidence, key=lambda e: -e.weight)]
        p = predicted.get(f"{kind}:{label_id}")
        if p is not None:
            miss *= 1.0 - p
            if p >= self.thresholds.model_reason:
                reasons.append(Reason("model", f"model p={p:.2f}"))
        confidence = 1.0 - miss
        threshold = self.thresholds.theme if kind == "theme" else self.thresholds.audience
        if confidence < threshold:
            return None
        return Label(kind, label_id, round(confidence, 3), tuple(reasons))

    def _model_says_off_topic(self, themes: list[Label], predicted: Mapping[str, float]) -> bool:
        # the model learnt what editors rejected; a partner's own theme tag still wins over it
        tagged = any(r.signal == "partner-tag" for label in themes for r in label.reasons)
        return not tagged and predicted.get(OFF_TOPIC, 0.0) >= self.thresholds.off_topic
