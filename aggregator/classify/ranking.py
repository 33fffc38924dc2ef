"""The model's labels for a batch, ranked with numpy: each label's confidence (its probability, raised by a
partner's tag), whether it reaches the label's own threshold, and each kind's labels best first."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aggregator.classify.learned import OFF_TOPIC, LearnedModel
from aggregator.classify.rules import Evidence
from aggregator.config.taxonomy import KINDS, Kind, LabelRef, Taxonomy

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True, slots=True)
class KindRanking:
    """One kind's labels for every row of a batch; `row` gives one row's as plain lists (read per resource,
    never per cell in numpy, and made as each resource is labelled: a batch's lists all alive at once are
    what the garbage collector's full passes walk)."""

    kind: Kind
    label_ids: tuple[str, ...]  # the taxonomy's order
    targets: tuple[int, ...]  # each label's column in the model's rows
    confidence: np.ndarray  # (rows, labels)
    passed: np.ndarray  # confidence >= the label's threshold
    order: np.ndarray  # each row's label positions, highest confidence first (ties in the taxonomy's order)

    def row(self, n: int) -> tuple[list[int], list[bool], list[float]]:
        """Row `n`'s label order, which labels passed, and their confidences."""
        return self.order[n].tolist(), self.passed[n].tolist(), self.confidence[n].tolist()


@dataclass(frozen=True, slots=True)
class Ranking:
    """The model's view of a batch."""

    probabilities: np.ndarray  # (rows, targets)
    kinds: tuple[KindRanking, ...]
    target: dict[LabelRef, int]  # a label's column
    off_topic: int
    off_topic_threshold: float

    def row(self, n: int) -> list[float]:
        """Row `n`'s probability of every target."""
        return self.probabilities[n].tolist()


def rank_labels(
    taxonomy: Taxonomy, model: LearnedModel, probabilities: np.ndarray, evidence: Sequence[Sequence[Evidence]]
) -> Ranking:
    """Rank every label of every row at once; a partner's own tag is the editors' word, so a tagged label's
    confidence is 1 - (1 - p)(1 - tag weight)."""
    import numpy as np

    index = {target: n for n, target in enumerate(model.targets)}
    target = {LabelRef(kind, i): index[f"{kind}:{i}"] for kind in KINDS for i in taxonomy.ids(kind)}
    tagged = np.zeros_like(probabilities)
    for row, found in enumerate(evidence):
        for e in found:
            if e.reason.signal == "partner-tag":
                column = target[e.ref]
                tagged[row, column] = max(float(tagged[row, column]), e.weight)
    confidence = 1.0 - (1.0 - probabilities) * (1.0 - tagged)
    passed = confidence >= model.thresholds
    kinds = []
    for kind in KINDS:
        ids = taxonomy.ids(kind)
        columns = [target[LabelRef(kind, i)] for i in ids]
        mine = confidence[:, columns]
        order = np.argsort(-mine, axis=1, kind="stable")  # as a stable sort by -confidence
        kinds.append(KindRanking(kind, ids, tuple(columns), mine, passed[:, columns], order))
    off = index[OFF_TOPIC]
    return Ranking(probabilities, tuple(kinds), target, off, float(model.thresholds[off]))
