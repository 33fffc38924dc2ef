"""Benchmark labelling in batch: resources per second for the rules, the model and both, on real texts.

The shipped page set (4,690 real pages) is repeated to about 20,000 resources, none with a stated type, so the
type model types every one, each with the type normalising guessed from its text as the run path passes it
(the costlier case; `--stated` gives each a stated type instead). Prints the cold training time (CPU seconds), then the medians of several runs
of (CPU seconds, so a loaded machine counts less): rules only (normalise + phrases), the model (normalise + features + predictions), and the whole classifier, each
beside a baseline timed in the same process (lower-casing and splitting every text) so the figure reads as a
ratio to this machine's speed. Exits 1 when the whole classifier labels fewer than 5,000 resources/s.

    .venv/bin/python bench/classify_bench.py [--resources 20000] [--runs 3]
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import time
from pathlib import Path

from aggregator.classify.classifier import Classifier
from aggregator.classify.features import FeatureColumns
from aggregator.classify.pageset import examples_of, load_page_set
from aggregator.classify.trained import load_or_train, shipped_examples, shipped_labelled_set, shipped_page_set
from aggregator.classify.typemodel import text_cue
from aggregator.config.taxonomy import load_taxonomy

ROOT = Path(__file__).resolve().parents[1]
TARGET = 5000.0  # resources/s for the whole classifier


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--resources", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--stated", action="store_true", help="give every resource a stated type (the type model then never runs)"
    )
    args = parser.parse_args()
    taxonomy = load_taxonomy(ROOT / "taxonomy.yaml")
    start = time.process_time()
    model = load_or_train(shipped_examples(shipped_labelled_set(), shipped_page_set(), taxonomy), taxonomy, None)
    print(f"training (cold, both shipped sets): {time.process_time() - start:.2f} s CPU")
    pages = [e.input for e in examples_of(load_page_set(shipped_page_set(), taxonomy))]
    items = [
        dataclasses.replace(pages[n % len(pages)], type_hint="news" if args.stated else None, source_id=f"s{n % 50}")
        for n in range(args.resources)
    ]
    if not args.stated:  # as the run path passes the type normalising guessed from the text cues
        items = [dataclasses.replace(item, type_guess=text_cue(item).value) for item in items]

    def baseline() -> None:
        for item in items:
            f"{item.title} {item.summary}".lower().split()

    def rules_only() -> None:
        fresh = Classifier(taxonomy)  # a new stem cache each run: nothing carried over between runs
        for item in items:
            fresh.rules.collect_evidence(item, fresh.rules.read(item))

    def model_only() -> None:
        fresh = Classifier(taxonomy, model)
        reads = [fresh.rules.read(item) for item in items]
        model.probabilities_of(FeatureColumns(model.vocabulary).matrix(items, reads, [()] * len(items)))

    def both() -> None:
        Classifier(taxonomy, model).classify_many(items)

    rates = {}
    for name, run in (("baseline", baseline), ("rules", rules_only), ("model", model_only), ("both", both)):
        seconds = []
        for _ in range(args.runs):
            start = time.process_time()
            run()
            seconds.append(time.process_time() - start)
        rates[name] = len(items) / statistics.median(seconds)
    for name, rate in rates.items():
        print(f"{name:>9}: {rate:>9,.0f} resources/s   ({rate / rates['baseline']:.3f} x baseline)")
    print(f"target: classifier >= {TARGET:,.0f} resources/s (the machine may be loaded: medians of {args.runs} runs)")
    return 0 if rates["both"] >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
