"""Scoring the classifier on the labelled set: F1 per label set, off-topic and type accuracy, worst labels."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from sklearn.model_selection import KFold

from aggregator.classify.classifier import Classifier, Thresholds
from aggregator.classify.labelled import LabelledExample
from aggregator.classify.learned import train_model
from aggregator.classify.pagetypes import format_confusion, type_confusion
from aggregator.classify.rules import RuleWeights
from aggregator.classify.values import Classification
from aggregator.config.taxonomy import Kind, Taxonomy
from aggregator.model import ResourceType


@dataclass(frozen=True, slots=True)
class LabelScore:
    """One label's precision, recall and F1, and what it is confused with."""

    id: str
    precision: float
    recall: float
    f1: float
    support: int
    missed_as: tuple[tuple[str, int], ...]  # when the label was missed, the labels given instead
    wrongly_on: tuple[tuple[str, int], ...]  # when given wrongly, the gold labels of those resources


@dataclass(frozen=True, slots=True)
class SetScore:
    micro_f1: float
    macro_f1: float
    labels: tuple[LabelScore, ...]


@dataclass(frozen=True, slots=True)
class EvalReport:
    """Scores of one way of classifying on the labelled set."""

    name: str
    count: int
    audiences: SetScore
    themes: SetScore
    off_topic_accuracy: float
    type_accuracy: float
    off_topic_precision: float = 0.0  # of the resources called off-topic, the share that are
    off_topic_recall: float = 0.0  # of the off-topic resources, the share called off-topic
    # (labelled, given, count) of every type mistake, most first (`pagetypes.type_confusion`)
    type_confusion: tuple[tuple[ResourceType, ResourceType, int], ...] = ()
    # 95% bootstrap intervals by figure name (and "theme:<id>" / "audience:<id>" for a label's F1)
    intervals: Mapping[str, tuple[float, float]] = field(default_factory=dict)

    def figures(self) -> dict[str, float]:
        """The numbers the gate pins, by the names used in the floor file."""
        return {
            "theme_micro_f1": self.themes.micro_f1,
            "theme_macro_f1": self.themes.macro_f1,
            "audience_micro_f1": self.audiences.micro_f1,
            "audience_macro_f1": self.audiences.macro_f1,
            "off_topic_accuracy": self.off_topic_accuracy,
            "type_accuracy": self.type_accuracy,
            "off_topic_precision": self.off_topic_precision,
            "off_topic_recall": self.off_topic_recall,
        }


def evaluate(classifier: Classifier, examples: Sequence[LabelledExample], name: str = "classifier") -> EvalReport:
    """Classify every example with one classifier and score the result."""
    return score_classifications(examples, classifier.classify_many([e.input for e in examples]), name)


def cross_validate(
    examples: Sequence[LabelledExample],
    taxonomy: Taxonomy,
    *,
    folds: int = 5,
    seed: int = 0,
    thresholds: Thresholds = Thresholds(),
    weights: RuleWeights = RuleWeights(),
    also_train: Sequence[LabelledExample] = (),
) -> EvalReport:
    """Rules + model, each resource classified by a model trained on the folds that do not contain it
    (and on `also_train`, as the shipped model is trained on both shipped sets)."""
    predicted: list[Classification | None] = [None] * len(examples)
    extra = [e.as_training() for e in also_train]
    for train, test in KFold(folds, shuffle=True, random_state=seed).split(np.arange(len(examples))):
        model = train_model([*(examples[i].as_training() for i in train), *extra], taxonomy)
        classifier = Classifier(taxonomy, model, thresholds, weights)
        for i, result in zip(test, classifier.classify_many([examples[i].input for i in test])):
            predicted[i] = result
    return score_classifications(
        examples, [p for p in predicted if p is not None], f"rules + model ({folds}-fold cross-validated)"
    )


def evaluate_both(
    examples: Sequence[LabelledExample],
    taxonomy: Taxonomy,
    *,
    folds: int = 5,
    thresholds: Thresholds = Thresholds(),
    weights: RuleWeights = RuleWeights(),
    also_train: Sequence[LabelledExample] = (),
) -> tuple[EvalReport, EvalReport]:
    """Rules only, and rules + model cross-validated: what `aggregator classify eval` prints."""
    rules_only = evaluate(Classifier(taxonomy, None, thresholds, weights), examples, "rules only")
    cv = cross_validate(examples, taxonomy, folds=folds, thresholds=thresholds, weights=weights, also_train=also_train)
    return rules_only, cv


def score_classifications(
    examples: Sequence[LabelledExample], predicted: Sequence[Classification], name: str
) -> EvalReport:
    """Score classifications against the examples' gold labels (same order)."""
    if len(examples) != len(predicted):
        raise ValueError("one classification per example")
    pairs = list(zip(examples, predicted))
    return EvalReport(
        name=name,
        count=len(pairs),
        audiences=_score_set("audience", [(set(e.audiences), set(p.ids("audience"))) for e, p in pairs]),
        themes=_score_set("theme", [(set(e.themes), set(p.ids("theme"))) for e, p in pairs]),
        off_topic_accuracy=_mean([e.off_topic == p.off_topic for e, p in pairs]),
        type_accuracy=_mean([e.type == p.type for e, p in pairs]),
        type_confusion=type_confusion((e.type, p.type) for e, p in pairs),
        off_topic_precision=_ratio(
            sum(e.off_topic and p.off_topic for e, p in pairs), sum(p.off_topic for _, p in pairs)
        ),
        off_topic_recall=_ratio(sum(e.off_topic and p.off_topic for e, p in pairs), sum(e.off_topic for e, _ in pairs)),
    )


def _score_set(kind: Kind, pairs: list[tuple[set[str], set[str]]]) -> SetScore:
    ids = sorted({label for gold, got in pairs for label in gold | got})
    scores = [_score_label(label, pairs) for label in ids]
    tp = sum(len(gold & got) for gold, got in pairs)
    fp = sum(len(got - gold) for gold, got in pairs)
    fn = sum(len(gold - got) for gold, got in pairs)
    return SetScore(_f1(tp, fp, fn), _mean([s.f1 for s in scores]), tuple(scores))


def _score_label(label: str, pairs: list[tuple[set[str], set[str]]]) -> LabelScore:
    tp = sum(label in gold and label in got for gold, got in pairs)
    fp = sum(label not in gold and label in got for gold, got in pairs)
    fn = sum(label in gold and label not in got for gold, got in pairs)
    missed_as = Counter(other for gold, got in pairs if label in gold and label not in got for other in got - gold)
    wrongly_on = Counter(
        other for gold, got in pairs if label in got and label not in gold for other in gold or {"(off-topic)"}
    )
    return LabelScore(
        label,
        _ratio(tp, tp + fp),
        _ratio(tp, tp + fn),
        _f1(tp, fp, fn),
        tp + fn,
        tuple(missed_as.most_common(3)),
        tuple(wrongly_on.most_common(3)),
    )


def _f1(tp: int, fp: int, fn: int) -> float:
    return _ratio(2 * tp, 2 * tp + fp + fn)


def _ratio(top: int, bottom: int) -> float:
    return top / bottom if bottom else 0.0


def _mean(values: Sequence[float | bool]) -> float:
    return float(sum(values)) / len(values) if values else 0.0


def format_report(report: EvalReport, worst: int = 3) -> str:
    """A plain-text report: the figures, every label's P/R/F1, and what the worst labels are confused with."""

    def shown(name: str, value: float) -> str:
        low, high = report.intervals.get(name, (None, None))
        return f"{value:.3f}" + (f" [{low:.3f}, {high:.3f}]" if low is not None else "")

    lines = [
        f"{report.name}: {report.count} resources",
        f"  relevance (about health and care?): off-topic accuracy "
        f"{shown('off_topic_accuracy', report.off_topic_accuracy)}   "
        f"precision {shown('off_topic_precision', report.off_topic_precision)}   "
        f"recall {shown('off_topic_recall', report.off_topic_recall)}",
        f"  type accuracy {shown('type_accuracy', report.type_accuracy)}",
    ]
    if report.type_confusion:
        lines.append(f"    {format_confusion(report.type_confusion, 'resources', most=8)}")
    for title, scores in (("audiences", report.audiences), ("themes", report.themes)):
        key = title[:-1]
        lines.append(
            f"  {title}: micro F1 {shown(f'{key}_micro_f1', scores.micro_f1)}   "
            f"macro F1 {shown(f'{key}_macro_f1', scores.macro_f1)}"
        )
        lines.append(f"    {'label':<26}{'P':>7}{'R':>7}{'F1':>7}{'n':>5}  F1 95% interval")
        for s in sorted(scores.labels, key=lambda s: s.f1):
            low, high = report.intervals.get(f"{key}:{s.id}", (None, None))
            interval = f"  [{low:.2f}, {high:.2f}]" if low is not None else ""
            lines.append(f"    {s.id:<26}{s.precision:>7.2f}{s.recall:>7.2f}{s.f1:>7.2f}{s.support:>5}{interval}")
        for s in sorted(scores.labels, key=lambda s: s.f1)[:worst]:
            lines.append(
                f"    worst: {s.id}: missed, given instead {_pairs(s.missed_as)}; "
                f"given wrongly, on resources labelled {_pairs(s.wrongly_on)}"
            )
    return "\n".join(lines)


def _pairs(counted: tuple[tuple[str, int], ...]) -> str:
    return ", ".join(f"{label} ({n})" for label, n in counted) or "-"
