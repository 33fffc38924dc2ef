"""The classifier's labels on the real labelled sets stay what they were (tests/golden/classify/README.md).

Regenerate with AGGREGATOR_REGEN_GOLDEN=1 and review the diff: a change here is a change editors will see."""

from __future__ import annotations

import dataclasses
import functools
import json
import os
from pathlib import Path

import pytest

from aggregator.classify.classifier import Classifier
from aggregator.classify.features import FeatureColumns, feature_tokens
from aggregator.classify.labelled import load_labelled
from aggregator.classify.learned import LearnedModel
from aggregator.classify.pageset import examples_of, load_page_set
from aggregator.classify.trained import load_or_train, shipped_examples
from aggregator.classify.values import Classification, ClassifyInput
from aggregator.config.taxonomy import Taxonomy, load_taxonomy

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden" / "classify" / "labels.jsonl"
PAGES = ROOT / "tests" / "eval" / "real" / "pages.jsonl"
OLD_SET = ROOT / "tests" / "eval" / "classifier" / "resources.jsonl"
STRIDE = 6  # every 6th resource of each set: about 280, each labelled twice


def labelled_sets(taxonomy: Taxonomy) -> dict[str, list[ClassifyInput]]:
    """Both shipped sets, and the page set as bench/classify_bench.py labels it (a type hint and a source)."""
    pages = [e.input for e in examples_of(load_page_set(PAGES, taxonomy))]
    return {
        "resources": [e.input for e in load_labelled(OLD_SET)],
        "pages": pages,
        "bench": [dataclasses.replace(p, type_hint="news", source_id=f"s{n % 50}") for n, p in enumerate(pages)],
    }


def _record(name: str, n: int, mode: str, result: Classification, p: dict[str, float]) -> dict:
    return {
        "set": name,
        "n": n,
        "mode": mode,
        "off_topic": result.off_topic,
        "type": result.type.value,
        "relevance": dataclasses.astuple(result.relevance) if result.relevance else None,
        "labels": [
            [label.kind, label.id, round(label.confidence, 6), [dataclasses.astuple(r) for r in label.reasons]]
            for label in result.labels
        ],
        "p": [round(value, 6) for value in p.values()],  # in the model's target order
    }


@functools.cache
def shipped_model() -> tuple[Taxonomy, LearnedModel]:
    """The model trained cold from both shipped sets (once per test session)."""
    taxonomy = load_taxonomy(ROOT / "taxonomy.yaml")
    return taxonomy, load_or_train(shipped_examples(OLD_SET, PAGES, taxonomy), taxonomy, None)


def labelled_records(stride: int = STRIDE) -> list[str]:
    """One JSON line for the model's thresholds, then one per (resource, rules only | rules + model)."""
    taxonomy, model = shipped_model()
    lines = [json.dumps({"thresholds": [float(t) for t in model.thresholds]})]
    for name, every in labelled_sets(taxonomy).items():
        numbered = list(enumerate(every))[::stride]
        items = [item for _, item in numbered]
        for mode, classifier in (("rules", Classifier(taxonomy)), ("model", Classifier(taxonomy, model))):
            results = classifier.classify_many(items)
            for (n, item), result in zip(numbered, results, strict=True):
                lines.append(json.dumps(_record(name, n, mode, result, classifier.predict(item)), sort_keys=True))
    return lines


@pytest.mark.slow
def test_labels_match_the_golden_file() -> None:
    lines = labelled_records()
    if os.environ.get("AGGREGATOR_REGEN_GOLDEN"):
        GOLDEN.write_text("\n".join(lines) + "\n", encoding="utf-8")
    expected = GOLDEN.read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(expected)
    for got, want in zip(lines, expected):
        assert_same(json.loads(got), json.loads(want))


def assert_same(got: dict, want: dict) -> None:
    # probabilities to 1e-6 (rounding may fall either side of a boundary); everything else exactly
    got_p, want_p = got.pop("p", []), want.pop("p", [])
    assert got == want
    assert len(got_p) == len(want_p)
    assert all(abs(a - b) <= 2e-6 for a, b in zip(got_p, want_p)), (got["set"], got["n"], got["mode"])


@pytest.mark.slow
def test_batch_features_are_the_tokens_columns() -> None:
    # the batch path finds columns without building word tokens: the same TF-IDF matrix, bit for bit
    taxonomy, model = shipped_model()
    rules = Classifier(taxonomy).rules
    items = [item for every in labelled_sets(taxonomy).values() for item in every]
    reads = [rules.read(item) for item in items]
    evidence = [rules.collect_evidence(item, read) for item, read in zip(items, reads)]
    fast = FeatureColumns(model.vocabulary).matrix(items, reads, evidence)
    slow = model.vocabulary.transform([feature_tokens(*found) for found in zip(items, reads, evidence)])
    assert fast.shape == slow.shape
    assert (fast.indptr == slow.indptr).all() and (fast.indices == slow.indices).all()
    assert (fast.data == slow.data).all()


def test_ascii_words_are_the_unicode_words() -> None:
    # text.py splits all-ASCII texts with a faster pattern: the same letters and digits, character by character
    from aggregator.classify.text import _ASCII_WORD, _WORD

    every = " ".join(chr(n) for n in range(128)).casefold()
    assert _ASCII_WORD.findall(every) == _WORD.findall(every)
    assert _ASCII_WORD.findall("co-production's 2nd_round") == _WORD.findall("co-production's 2nd_round")
