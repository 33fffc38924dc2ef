"""Evaluation by site: cross-validation that never puts a site on both sides, bootstrap intervals, and any labelled file scored."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
from sklearn.model_selection import GroupKFold

from aggregator.classify.classifier import Classifier, Thresholds
from aggregator.classify.evaluate import EvalReport, score_classifications
from aggregator.classify.labelled import LabelledExample
from aggregator.classify.learned import train_model
from aggregator.classify.rules import RuleWeights
from aggregator.classify.trained import load_or_train
from aggregator.classify.values import Classification, TrainingExample
from aggregator.config.taxonomy import KINDS, Taxonomy
from aggregator.errors import ConfigError

BOOTSTRAP_ROUNDS = 1000


def site_of(example: LabelledExample) -> str:
    """The example's site; for one without, the host of its url (no "www."), else its id."""
    if example.site:
        return example.site
    host = urlsplit(example.input.url or "").hostname or example.id
    return host.removeprefix("www.")


def _host(url: str | None) -> str | None:
    host = urlsplit(url or "").hostname
    return host.removeprefix("www.") if host else None


def site_folds(examples: Sequence[LabelledExample], folds: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train, test) index arrays of each fold; every site's pages fall in one test fold (GroupKFold)."""
    sites = [site_of(e) for e in examples]
    return list(GroupKFold(n_splits=folds).split(np.arange(len(examples)), groups=sites))


def grouped_cross_validate(
    examples: Sequence[LabelledExample],
    taxonomy: Taxonomy,
    *,
    folds: int = 5,
    also_train: Sequence[LabelledExample] = (),
    thresholds: Thresholds = Thresholds(),
    weights: RuleWeights = RuleWeights(),
) -> EvalReport:
    """Rules + model, each page classified by a model trained without any page of its site (GroupKFold).

    `also_train` (the old labelled set) joins every fold's training, less any example of a tested site."""
    sites = [site_of(e) for e in examples]
    predicted: list[Classification | None] = [None] * len(examples)
    for train, test in site_folds(examples, folds):
        tested = {sites[i] for i in test}
        extra = [e.as_training() for e in also_train if site_of(e) not in tested and _host(e.input.url) not in tested]
        model = train_model([*(examples[i].as_training() for i in train), *extra], taxonomy)
        classifier = Classifier(taxonomy, model, thresholds, weights)
        for i, result in zip(test, classifier.classify_many([examples[i].input for i in test])):
            predicted[i] = result
    report = score_classifications(
        examples,
        [p for p in predicted if p is not None],
        f"rules + model ({folds}-fold cross-validated, grouped by site)",
    )
    return with_intervals(report, examples, [p for p in predicted if p is not None], taxonomy)


def evaluate_by_site(
    examples: Sequence[LabelledExample],
    taxonomy: Taxonomy,
    *,
    folds: int = 5,
    also_train: Sequence[LabelledExample] = (),
) -> tuple[EvalReport, EvalReport]:
    """Rules only, and rules + model cross-validated by site, both with intervals by site."""
    predicted = Classifier(taxonomy).classify_many([e.input for e in examples])
    rules_only = with_intervals(score_classifications(examples, predicted, "rules only"), examples, predicted, taxonomy)
    return rules_only, grouped_cross_validate(examples, taxonomy, folds=folds, also_train=also_train)


def score_file(
    examples: Sequence[LabelledExample],
    shipped: Sequence[TrainingExample],
    taxonomy: Taxonomy,
    name: str,
    *,
    cache_dir: Path | None = None,
) -> tuple[EvalReport, EvalReport, int]:
    """Rules only, and rules + a model trained on `shipped` (less any url of the scored file), on `examples`.
    The model comes from `load_or_train`, as the one `aggregator run` labels with: with nothing left out
    it is that very model.

    Returns the two reports and how many training examples were left out for sharing a url with the file."""
    scored_urls = {e.input.url for e in examples if e.input.url}
    training = [t for t in shipped if t.input.url not in scored_urls]
    model = load_or_train(training, taxonomy, cache_dir)
    reports = []
    for label, classifier in (("rules only", Classifier(taxonomy)), ("rules + model", Classifier(taxonomy, model))):
        predicted = classifier.classify_many([e.input for e in examples])
        report = score_classifications(examples, predicted, f"{label} on {name}")
        reports.append(with_intervals(report, examples, predicted, taxonomy))
    return reports[0], reports[1], len(shipped) - len(training)


def score_agreement(
    reference: Sequence[LabelledExample], other: Sequence[LabelledExample], taxonomy: Taxonomy, name: str
) -> EvalReport:
    """`other`'s labels scored against `reference`'s on the pages both label (by url), with the same figures and
    intervals as the classifier's: a second labeller's file against the shipped set says how far the labelling
    guide reproduces, the bar a model trained on it can hope to reach."""
    given = {e.input.url: e for e in other}
    shared = [e for e in reference if e.input.url in given]
    if not shared:
        raise ConfigError(
            f"{name}: no page is in both files",
            hint="agreement is measured on the pages both files label: give the same pages' urls in each",
        )
    predicted = [given[e.input.url].as_classification(name) for e in shared]
    return with_intervals(score_classifications(shared, predicted, name), shared, predicted, taxonomy)


def with_intervals(
    report: EvalReport,
    examples: Sequence[LabelledExample],
    predicted: Sequence[Classification],
    taxonomy: Taxonomy,
    *,
    rounds: int = BOOTSTRAP_ROUNDS,
    seed: int = 0,
) -> EvalReport:
    """The report with 95% intervals from a bootstrap that resamples whole sites (pages of a site move together)."""
    sites = [site_of(e) for e in examples]
    index = {s: n for n, s in enumerate(dict.fromkeys(sites))}
    site_rows = np.array([index[s] for s in sites])
    members = [np.flatnonzero(site_rows == n) for n in range(len(index))]
    matrices = {
        kind: (
            _matrix([e.audiences if kind == "audience" else e.themes for e in examples], taxonomy.ids(kind)),
            _matrix([p.ids(kind) for p in predicted], taxonomy.ids(kind)),
        )
        for kind in KINDS
    }
    gold_off = np.array([e.off_topic for e in examples])
    got_off = np.array([p.off_topic for p in predicted])
    type_right = np.array([e.type == p.type for e, p in zip(examples, predicted)])
    rng = np.random.default_rng(seed)
    samples: dict[str, list[float]] = {}
    for _ in range(rounds):
        rows = np.concatenate([members[n] for n in rng.integers(0, len(members), len(members))])
        figures = {
            "type_accuracy": float(type_right[rows].mean()),
            "off_topic_accuracy": float((gold_off[rows] == got_off[rows]).mean()),
            "off_topic_precision": _share(gold_off[rows] & got_off[rows], got_off[rows]),
            "off_topic_recall": _share(gold_off[rows] & got_off[rows], gold_off[rows]),
        }
        for kind, (gold, got) in matrices.items():
            figures.update(_set_figures(kind, taxonomy.ids(kind), gold[rows], got[rows]))
        for name, value in figures.items():
            samples.setdefault(name, []).append(value)
    intervals = {
        name: (float(np.nanpercentile(values, 2.5)), float(np.nanpercentile(values, 97.5)))
        for name, values in samples.items()
        if not np.all(np.isnan(values))
    }
    return dataclasses.replace(report, intervals=intervals)


def _matrix(label_sets: Sequence[Sequence[str]], ids: Sequence[str]) -> np.ndarray:
    return np.array([[label in set(labels) for label in ids] for labels in label_sets], dtype=bool).reshape(
        -1, len(ids)
    )


def _share(hits: np.ndarray, of: np.ndarray) -> float:
    return float(hits.sum() / of.sum()) if of.sum() else float("nan")


def _set_figures(kind: str, ids: Sequence[str], gold: np.ndarray, got: np.ndarray) -> dict[str, float]:
    tp = (gold & got).sum(axis=0)
    fp = (~gold & got).sum(axis=0)
    fn = (gold & ~got).sum(axis=0)
    bottom = 2 * tp + fp + fn
    f1 = np.divide(2 * tp, bottom, out=np.full(len(ids), np.nan), where=bottom > 0)
    micro = 2 * tp.sum() / (2 * tp.sum() + fp.sum() + fn.sum()) if bottom.sum() else float("nan")
    figures = {
        f"{kind}_micro_f1": float(micro),
        f"{kind}_macro_f1": float(np.nanmean(f1)) if np.any(bottom > 0) else float("nan"),
    }
    figures.update({f"{kind}:{label}": float(value) for label, value in zip(ids, f1)})
    return figures


def report_as_dict(report: EvalReport) -> dict[str, object]:
    """The report as JSON-ready values: figures, intervals, and every label's P/R/F1/support."""
    return {
        "name": report.name,
        "count": report.count,
        "figures": report.figures(),
        "intervals": {k: list(v) for k, v in report.intervals.items()},
        "type_confusion": [{"labelled": e.value, "given": g.value, "count": n} for e, g, n in report.type_confusion],
        "labels": {
            kind: [
                {"id": s.id, "precision": s.precision, "recall": s.recall, "f1": s.f1, "support": s.support}
                for s in scores.labels
            ]
            for kind, scores in (("audience", report.audiences), ("theme", report.themes))
        },
    }
