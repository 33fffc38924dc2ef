"""Cross-source de-duplication: match resources by DOI, canonical URL and near-duplicate title."""

from __future__ import annotations

from importlib import import_module

# name -> the module that defines it, imported on first use: importing one submodule (or the package)
# does not import every other, so a command loads only what it calls
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


def __getattr__(name: str) -> object:
    try:
        module = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value
