"""Cross-source de-duplication: match resources by DOI, canonical URL and near-duplicate title."""

from __future__ import annotations

from aggregator.lazy import lazy_getattr

# name -> the module that defines it, imported on first use (aggregator/lazy.py)
_EXPORTS = {
    "cluster_duplicates": "aggregator.dedupe.engine",
    "find_duplicates": "aggregator.dedupe.engine",
    "match_new": "aggregator.dedupe.engine",
    "Scores": "aggregator.dedupe.evaluate",
    "evaluate_pairs": "aggregator.dedupe.evaluate",
    "pairs_of_groups": "aggregator.dedupe.evaluate",
    "DedupeIndex": "aggregator.dedupe.index",
    "DedupeConfig": "aggregator.dedupe.values",
    "DedupeRecord": "aggregator.dedupe.values",
    "Match": "aggregator.dedupe.values",
    "RecordId": "aggregator.dedupe.values",
}

__all__ = sorted(_EXPORTS)
__getattr__ = lazy_getattr(globals(), _EXPORTS)
