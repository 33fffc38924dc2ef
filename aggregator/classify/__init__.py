"""Labelling resources by audience and theme, with reasons, and inferring their type."""

from aggregator.classify.classifier import Classifier, Thresholds
from aggregator.classify.labelled import LabelledExample, load_labelled
from aggregator.classify.learned import (
    LearnedModel,
    ModelError,
    model_from_bytes,
    model_to_bytes,
    train_model,
)
from aggregator.classify.rules import RuleWeights
from aggregator.classify.values import (
    Classification,
    ClassifyInput,
    Label,
    Reason,
    TrainingExample,
    input_from_resource,
)
from aggregator.ingest.resource_types import infer_entry_type, infer_type, is_event

__all__ = [
    "Classification",
    "Classifier",
    "ClassifyInput",
    "EvalReport",
    "Label",
    "LabelledExample",
    "LearnedModel",
    "ModelError",
    "Reason",
    "RuleWeights",
    "Thresholds",
    "TrainingExample",
    "cross_validate",
    "evaluate",
    "evaluate_both",
    "format_report",
    "infer_entry_type",
    "infer_type",
    "input_from_resource",
    "is_event",
    "load_labelled",
    "model_from_bytes",
    "model_to_bytes",
    "train_model",
]


_EVALUATION = {"EvalReport", "cross_validate", "evaluate", "evaluate_both", "format_report"}


def __getattr__(name: str) -> object:
    # scoring needs numpy and scikit-learn: imported when asked for, never by `import aggregator.classify`
    if name in _EVALUATION:
        from aggregator.classify import evaluate

        return getattr(evaluate, name)
    raise AttributeError(name)
