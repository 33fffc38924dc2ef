"""Cross-source de-duplication: match resources by DOI, canonical URL and near-duplicate title."""

from aggregator.dedupe.engine import cluster_duplicates, find_duplicates, match_new
from aggregator.dedupe.evaluate import Scores, evaluate_pairs, pairs_of_groups
from aggregator.dedupe.index import DedupeIndex
from aggregator.dedupe.values import DedupeConfig, DedupeRecord, Match, RecordId

__all__ = [
    "DedupeConfig",
    "DedupeIndex",
    "DedupeRecord",
    "Match",
    "RecordId",
    "Scores",
    "cluster_duplicates",
    "evaluate_pairs",
    "find_duplicates",
    "match_new",
    "pairs_of_groups",
]
