"""Print the de-duplication scores on a labelled corpus: `python -m aggregator.dedupe [FOLDER]`."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from aggregator.dedupe.evaluate import evaluate_set, load_bib_set

DEFAULT = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "dedupe" / "bib-respiratory"


def main(argv: list[str]) -> int:
    """Evaluate on the folder given (default: the shared bib-respiratory corpus) and print the scores."""
    folder = Path(argv[0]) if argv else DEFAULT
    labelled = load_bib_set(folder)
    started = time.perf_counter()
    scores = evaluate_set(labelled)
    elapsed = time.perf_counter() - started
    print(f"{folder.name}: {len(labelled.records)} records, {len(labelled.gold_groups)} gold groups")
    print(f"pairs: {scores.describe()} in {elapsed:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
