"""The model used out of the box: trained from the labelled sets shipped in the package (plus editors'
corrections) on first use, cached under a key of everything it was trained from, and trained again when any of it changes."""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Sequence
from dataclasses import astuple
from importlib import resources
from pathlib import Path

from aggregator.classify.learned import LearnedModel, ModelError, model_from_bytes, model_to_bytes, train_model
from aggregator.classify.values import TrainingExample
from aggregator.config.taxonomy import Taxonomy

logger = logging.getLogger(__name__)
_DATA = resources.files("aggregator.classify") / "data"
FORMAT = "5"  # part of the key: a change to features or training gives a new key


def shipped_page_set() -> Path:
    """The real labelled pages shipped inside the package (tests/eval/real/pages.jsonl links to it)."""
    return Path(str(_DATA / "pages.jsonl"))


def shipped_labelled_set() -> Path:
    """The project's first 162 labelled resources (tests/eval/classifier/resources.jsonl links to it)."""
    return Path(str(_DATA / "resources.jsonl"))


def model_key(examples: Sequence[TrainingExample], taxonomy: Taxonomy) -> str:
    """A hash of the training examples (texts, labels, weights), the taxonomy and the training format."""
    digest = hashlib.sha256(FORMAT.encode())
    digest.update(repr((taxonomy.audiences, taxonomy.themes, sorted(taxonomy.partner_tags.items()))).encode())
    for example in examples:
        digest.update(repr(astuple(example)).encode())
    return digest.hexdigest()[:32]


def load_or_train(
    examples: Sequence[TrainingExample], taxonomy: Taxonomy, cache_dir: Path | None, *, force: bool = False
) -> LearnedModel:
    """The model for `examples` and `taxonomy`: read from `cache_dir/<key>.bin` when trained before, else
    trained (deterministically) and saved there. Without a cache dir it is trained every time."""
    if cache_dir is None:
        return train_model(examples, taxonomy)
    path = model_path(cache_dir, examples, taxonomy)
    if path.is_file() and not force:
        try:
            return model_from_bytes(path.read_bytes())
        except ModelError as exc:  # a truncated or older file: train again
            logger.warning("cached classifier model not read, training again: %s", exc, extra={"url": str(path)})
    model = train_model(examples, taxonomy)
    save_atomically(path, model_to_bytes(model))
    logger.debug("trained the classifier model", extra={"count": len(examples), "url": str(path)})
    return model


def model_path(cache_dir: Path, examples: Sequence[TrainingExample], taxonomy: Taxonomy) -> Path:
    return cache_dir / f"{model_key(examples, taxonomy)}.bin"


def save_atomically(path: Path, data: bytes) -> None:
    """Write via a temporary file and rename, so two processes training at once never leave half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)


def shipped_examples(labelled_set: Path, page_set: Path, taxonomy: Taxonomy) -> list[TrainingExample]:
    """The training examples of both shipped sets (the first 162 resources, then the real pages)."""
    from aggregator.classify.labelled import load_labelled
    from aggregator.classify.pageset import examples_of, load_page_set

    old = load_labelled(labelled_set)
    pages = examples_of(load_page_set(page_set, taxonomy))
    return [e.as_training() for e in (*old, *pages)]
