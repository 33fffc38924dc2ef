"""The classifier: relevance first ("about health and care?"), then audiences and themes, from the rule
signals and the learned model, with confidences and reasons."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aggregator.classify.features import FeatureColumns
from aggregator.classify.learned import LearnedModel
from aggregator.classify.ranking import Ranking, rank_labels
from aggregator.classify.rules import Evidence, ReadInput, Rules, RuleWeights
from aggregator.classify.typemodel import known_share, stated_type, text_cue
from aggregator.classify.values import Classification, ClassifyInput, Label, Reason
from aggregator.config.taxonomy import KINDS, Kind, LabelRef, Taxonomy
from aggregator.model import ResourceType

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix

MAX_LABELS = 3  # of each kind, as the labelling guide gives
# Rows labelled together: enough that numpy's per-call cost is spread thin, few enough that a large batch's
# normalised texts never all live at once (memory, and the garbage collector's passes over them)
CHUNK = 2000


@dataclass(frozen=True, slots=True)
class Thresholds:
    """When the rules alone give a label (without a model; with one, each label has its own learnt threshold)."""

    theme: float = 0.5
    audience: float = 0.5


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
        self._features: FeatureColumns | None = None
        self._reasons: dict[str, Reason] = {}

    def classify(self, item: ClassifyInput) -> Classification:
        """Relevance, labels and type for one resource."""
        return self.classify_many((item,))[0]

    def classify_many(self, items: Sequence[ClassifyInput]) -> list[Classification]:
        """As `classify` for a batch: each text normalised once, the rules applied once, and the model's
        features and predictions computed for a chunk of rows at once."""
        if len(items) > CHUNK:  # a chunk's normalised texts are freed before the next is read
            return [
                found
                for start in range(0, len(items), CHUNK)
                for found in self.classify_many(items[start : start + CHUNK])
            ]
        reads = [self.rules.read(item) for item in items]
        evidence = [self.rules.collect_evidence(item, read) for item, read in zip(items, reads)]
        if self.model is None or not items:
            types = self._types(items, reads, None)
            return [self._by_rules(item, found, kind) for item, found, kind in zip(items, evidence, types)]
        matrix = self._matrix(items, reads, evidence)
        ranking = rank_labels(self.taxonomy, self.model, self.model.probabilities_of(matrix), evidence)
        types = self._types(items, reads, matrix)
        return [self._by_model(i, e, n, ranking, types[n]) for n, (i, e) in enumerate(zip(items, evidence))]

    def predict(self, item: ClassifyInput) -> dict[str, float]:
        """The model's probability of every target for one resource (empty without a model)."""
        if self.model is None:
            return {}
        read = self.rules.read(item)
        matrix = self._matrix((item,), (read,), (self.rules.collect_evidence(item, read),))
        row = self.model.probabilities_of(matrix)[0]
        return {target: float(p) for target, p in zip(self.model.targets, row)}

    def _matrix(
        self, items: Sequence[ClassifyInput], reads: Sequence[ReadInput], evidence: Sequence[Sequence[Evidence]]
    ) -> csr_matrix:
        """The batch's features in one matrix (the label model's and the type model's input)."""
        assert self.model is not None
        if self._features is None:  # built on first use: numpy loads only when the model labels
            self._features = FeatureColumns(self.model.vocabulary)
        return self._features.matrix(items, reads, evidence)

    def _types(
        self, items: Sequence[ClassifyInput], reads: Sequence[ReadInput], matrix: csr_matrix | None
    ) -> list[ResourceType]:
        """Each item's type: the stated one or the one its address names (`stated_type`), else the type model's
        when it is sure and knows the words, else the text cues' (`typemodel.py`)."""
        found = [stated_type(item) for item in items]
        open_rows = [n for n, kind in enumerate(found) if kind is None]
        chosen = [text_cue(items[n]) for n in open_rows]
        types = self.model.types if self.model is not None else None
        if open_rows and types is not None and matrix is not None:
            vocabulary = self.model.vocabulary  # type: ignore[union-attr]
            known = [known_share((*reads[n].title.stems, *reads[n].summary.stems), vocabulary) for n in open_rows]
            chosen = types.predict(matrix[open_rows], [items[n] for n in open_rows], known, chosen)
        by_row = dict(zip(open_rows, chosen))
        return [kind if kind is not None else by_row[n] for n, kind in enumerate(found)]

    # --- with the model -------------------------------------------------------------------------------

    def _by_model(
        self, item: ClassifyInput, evidence: tuple[Evidence, ...], n: int, ranking: Ranking, kind_of_type: ResourceType
    ) -> Classification:
        row = ranking.row(n)
        relevance, off_topic = self._relevance(evidence, row[ranking.off_topic], ranking.off_topic_threshold)
        if off_topic:
            return Classification((), True, kind_of_type, relevance)
        by_target: dict[int, list[Evidence]] = defaultdict(list)
        for found in evidence:
            by_target[ranking.target[found.ref]].append(found)
        own = {e.ref.kind for e in evidence if e.reason.signal != "source-hint"}
        labels: list[Label] = []
        for ranked in ranking.kinds:
            order, passed, confidence = ranked.row(n)
            given = [j for j in order if passed[j]][:MAX_LABELS]
            if ranked.kind == "theme" and not given and ranked.kind not in own:
                # no theme's phrase or tag (a source's hint is a prior, not the resource's own word), and no
                # theme the model is sure of: nothing here is ours
                why = Reason("rules", "not about health and care: no theme's signal and no theme above its threshold")
                return Classification((), True, kind_of_type, why)
            # a relevant resource is about something and for someone: its best label of each kind at least
            for j in given or order[:1]:
                target = ranked.targets[j]
                found = by_target.get(target, [])
                why = self._model_reason(f"model p={row[target]:.2f}")
                labels.append(_label(ranked.kind, ranked.label_ids[j], confidence[j], found, why))
        return Classification(_ordered(labels), False, kind_of_type, relevance)

    def _relevance(self, evidence: tuple[Evidence, ...], p_off: float, threshold: float) -> tuple[Reason, bool]:
        tags = [e.reason for e in evidence if e.reason.signal == "partner-tag" and e.ref.kind == "theme"]
        if tags:  # the partner filed it under one of our themes
            return Reason("partner-tag", f"about health and care: {tags[0].detail} names a theme"), False
        if p_off >= threshold:
            return self._model_reason(f"not about health and care: relevance model p(off-topic)={p_off:.2f}"), True
        return self._model_reason(f"about health and care: relevance model p(off-topic)={p_off:.2f}"), False

    def _model_reason(self, detail: str) -> Reason:
        # a hundred or so distinct texts: one shared (immutable) Reason each rather than one per label
        reason = self._reasons.get(detail)
        if reason is None:
            reason = self._reasons[detail] = Reason("model", detail)
        return reason

    # --- rules only (a model could not be trained or read) ------------------------------------------------

    def _by_rules(
        self, item: ClassifyInput, evidence: tuple[Evidence, ...], kind_of_type: ResourceType
    ) -> Classification:
        by_label = _group(evidence)
        labels = []
        for kind in KINDS:
            threshold = self.thresholds.theme if kind == "theme" else self.thresholds.audience
            for label_id in self.taxonomy.ids(kind):
                found = by_label.get(LabelRef(kind, label_id), [])
                miss = 1.0
                for e in found:
                    miss *= 1.0 - e.weight
                if found and 1.0 - miss >= threshold:
                    labels.append(_label(kind, label_id, 1.0 - miss, found, None))
        if not any(label.kind == "theme" for label in labels):
            relevance = Reason("rules", "not about health and care: no theme's signals reached its threshold")
            return Classification((), True, kind_of_type, relevance)
        return Classification(_ordered(labels), False, kind_of_type, Reason("rules", "a theme's signals"))


def _group(evidence: Sequence[Evidence]) -> Mapping[LabelRef, list[Evidence]]:
    by_label: dict[LabelRef, list[Evidence]] = defaultdict(list)
    for found in evidence:
        by_label[found.ref].append(found)
    return by_label


def _label(kind: Kind, label_id: str, confidence: float, evidence: list[Evidence], model: Reason | None) -> Label:
    reasons = [e.reason for e in sorted(evidence, key=lambda e: -e.weight)]
    if model is not None:
        reasons.append(model)
    return Label(kind, label_id, round(confidence, 3), tuple(reasons))


def _ordered(labels: list[Label]) -> tuple[Label, ...]:
    return tuple(sorted(labels, key=lambda label: (label.kind, -label.confidence, label.id)))
