"""Labelling resources by audience and theme, with reasons, and inferring their type."""

from __future__ import annotations

from aggregator.lazy import lazy_getattr

# name -> the module that defines it, imported on first use (aggregator/lazy.py)
_EXPORTS = {
    "Classifier": "aggregator.classify.classifier",
    "Thresholds": "aggregator.classify.classifier",
    "EvalReport": "aggregator.classify.evaluate",
    "cross_validate": "aggregator.classify.evaluate",
    "evaluate": "aggregator.classify.evaluate",
    "evaluate_both": "aggregator.classify.evaluate",
    "format_report": "aggregator.classify.evaluate",
    "LabelledExample": "aggregator.classify.labelled",
    "load_labelled": "aggregator.classify.labelled",
    "LearnedModel": "aggregator.classify.learned",
    "ModelError": "aggregator.classify.learned",
    "model_from_bytes": "aggregator.classify.learned",
    "model_to_bytes": "aggregator.classify.learned",
    "train_model": "aggregator.classify.learned",
    "RuleWeights": "aggregator.classify.rules",
    "Classification": "aggregator.classify.values",
    "ClassifyInput": "aggregator.classify.values",
    "Label": "aggregator.classify.values",
    "Reason": "aggregator.classify.values",
    "TrainingExample": "aggregator.classify.values",
    "input_from_resource": "aggregator.classify.values",
    "infer_entry_type": "aggregator.ingest.resource_types",
    "infer_type": "aggregator.ingest.resource_types",
    "is_event": "aggregator.ingest.resource_types",
}

__all__ = sorted(_EXPORTS)
__getattr__ = lazy_getattr(globals(), _EXPORTS)
