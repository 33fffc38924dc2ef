"""The monthly pipeline in one pass: fetch every source, merge duplicates, label what is new."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import Engine

from aggregator.classify.classifier import Classifier
from aggregator.classify.model import ModelError, load_model
from aggregator.harvest import Fetcher
from aggregator.labelling import LabelReport, classify_resources
from aggregator.merging import MergeReport, dedupe_resources
from aggregator.pipeline import SourceOutcome, run_fetch, utcnow
from aggregator.settings import Settings
from aggregator.sources import Hints, SourceConfig
from aggregator.taxonomy import load_taxonomy

import logging

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class MonthlyReport:
    outcomes: tuple[SourceOutcome, ...]
    merges: MergeReport
    labels: LabelReport


def build_classifier(settings: Settings) -> Classifier:
    """The taxonomy's rules, plus the learned model when `aggregator classify retrain` has saved one."""
    taxonomy = load_taxonomy(settings.taxonomy_file)
    model = None
    if settings.model_path.is_file():
        try:
            model = load_model(settings.model_path)
        except ModelError as exc:  # e.g. saved by another scikit-learn: rules still work
            logger.warning("classifier model not used: %s", exc)
    return Classifier(taxonomy, model)


def source_hints(configs: Sequence[SourceConfig]) -> dict[str, Hints]:
    return {c.id: c.hints for c in configs}


def run_monthly(settings: Settings, configs: Sequence[SourceConfig], engine: Engine, fetcher: Fetcher, *,
                on_done: Callable[[SourceOutcome], None] | None = None) -> MonthlyReport:
    """Fetch, de-duplicate and classify (feeds and the digest come in the delivery stage)."""
    outcomes = run_fetch(settings, configs, engine, fetcher, on_done=on_done)
    merges = dedupe_resources(engine, utcnow())
    labels = classify_resources(engine, build_classifier(settings), source_hints(configs), utcnow())
    return MonthlyReport(tuple(outcomes), merges, labels)
