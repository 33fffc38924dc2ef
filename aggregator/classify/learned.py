"""The learned model: TF-IDF over the normalised text and the rule signals, one logistic regression per label
(and one for "off-topic"), with each label's threshold chosen on cross-validation grouped by site."""

from __future__ import annotations

import io
import pickle
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from aggregator.classify.features import TokenCounts, Vocabulary, feature_tokens
from aggregator.classify.rules import Rules
from aggregator.classify.typemodel import TypeModel, train_type_model
from aggregator.classify.values import ClassifyInput, TrainingExample
from aggregator.config.taxonomy import Taxonomy
from aggregator.errors import AggregatorError

if TYPE_CHECKING:  # numpy, scipy and scikit-learn load when a model is trained or used, never at start-up
    import numpy as np
    from scipy.sparse import csr_matrix

OFF_TOPIC = "off-topic"  # a target of its own: the relevance decision ("about health and care?")
_FORMAT = 3
_GRID = tuple(round(0.1 + 0.025 * n, 3) for n in range(33))  # thresholds tried: 0.1 .. 0.9


class ModelError(AggregatorError):
    """A saved model could not be read."""

    hint = "delete the file: the model is trained again from the labelled set on next use"


@dataclass(frozen=True, slots=True)
class LearnedModel:
    """A fitted model: its targets are "audience:<id>", "theme:<id>" and "off-topic"; plain arrays, no
    scikit-learn objects, so a saved model reads back whatever the library version."""

    targets: tuple[str, ...]
    vocabulary: Vocabulary
    weights: np.ndarray  # (features, targets)
    bias: np.ndarray  # (targets,)
    thresholds: np.ndarray  # (targets,): chosen on grouped cross-validation of the training examples
    trained_on: int
    types: TypeModel | None = None  # the type when the page does not state it (`typemodel.py`)

    def probabilities(self, documents: Sequence[Sequence[str]]) -> np.ndarray:
        """(documents, targets) probabilities for feature-token lists (`features.feature_tokens`)."""
        return self.probabilities_of(self.vocabulary.transform(documents))

    def probabilities_of(self, matrix: csr_matrix) -> np.ndarray:
        """(rows, targets) probabilities for TF-IDF rows: one sparse matrix product for the whole batch."""
        from scipy.special import expit

        return expit(matrix @ self.weights + self.bias)

    def threshold(self, target: str) -> float:
        return float(self.thresholds[self.targets.index(target)])


def targets_of(taxonomy: Taxonomy) -> tuple[str, ...]:
    return (
        *(f"audience:{i}" for i in taxonomy.ids("audience")),
        *(f"theme:{i}" for i in taxonomy.ids("theme")),
        OFF_TOPIC,
    )


def documents_of(rules: Rules, items: Sequence[ClassifyInput]) -> list[list[str]]:
    """Feature tokens of each item, its text normalised once and its rules applied once."""
    reads = [rules.read(item) for item in items]
    return [feature_tokens(i, r, rules.collect_evidence(i, r)) for i, r in zip(items, reads)]


def train_model(
    examples: Sequence[TrainingExample], taxonomy: Taxonomy, *, c: float = 16.0, folds: int = 4
) -> LearnedModel:
    """Fit one regularised logistic regression per target on `examples` (deterministic), and choose each
    target's threshold on `folds`-fold cross-validation that keeps a site's examples on one side."""
    import numpy as np

    if not examples:
        raise ValueError("no training examples")
    targets = targets_of(taxonomy)
    documents = documents_of(Rules(taxonomy), [e.input for e in examples])
    gold = np.array([[_has(e, t) for t in targets] for e in examples], dtype=int).reshape(-1, len(targets))
    weights = np.array([e.weight for e in examples], dtype=float)
    counts = TokenCounts.of(documents)
    thresholds = _choose_thresholds(counts, gold, weights, [_group(e, n) for n, e in enumerate(examples)], c, folds)
    every = np.arange(len(examples))
    vocabulary, kept = counts.vocabulary(every)
    matrix = counts.matrix(vocabulary, kept, every)
    coef, bias = _fit(matrix, gold, weights, c)
    types = train_type_model(matrix, [e.input for e in examples], [e.type for e in examples])
    return LearnedModel(targets, vocabulary, coef, bias, thresholds, len(examples), types)


def _has(example: TrainingExample, target: str) -> bool:
    if target == OFF_TOPIC:
        return not example.themes
    kind, _, label_id = target.partition(":")
    return label_id in (example.audiences if kind == "audience" else example.themes)


def _group(example: TrainingExample, n: int) -> str:
    host = urlsplit(example.input.url or "").hostname
    return example.site or (host.removeprefix("www.") if host else None) or example.input.source_id or f"#{n}"


def _fit(matrix: csr_matrix, gold: np.ndarray, weights: np.ndarray, c: float) -> tuple[np.ndarray, np.ndarray]:
    """Each target's weights and bias on the TF-IDF rows `matrix`."""
    import numpy as np

    coef = np.zeros((matrix.shape[1], gold.shape[1]))
    bias = np.zeros(gold.shape[1])
    for j in range(gold.shape[1]):
        coef[:, j], bias[j] = _fit_one(matrix, gold[:, j], weights, c)
    return coef, bias


def _fit_one(matrix: csr_matrix, y: np.ndarray, weights: np.ndarray, c: float) -> tuple[np.ndarray, float]:
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    if y.min() == y.max():  # one class only: a constant (probability ~1 or ~0)
        return np.zeros(matrix.shape[1]), 10.0 if y[0] else -10.0
    # balanced: most labels are rare, and missing a label costs an editor more than an extra suggestion;
    # dual: far fewer examples than features, where the dual problem is the fast one; tol 1e-2 (scikit-learn's
    # default 1e-4, LIBLINEAR's own 0.1): 1e-3 gave the same grouped figures as 1e-4 to four decimals on the
    # 2,736 pages, and 1e-2 the same as 1e-3 on the 4,690, with the 18 fits on all of them 2.8 -> 2.0 s CPU
    # (cold training is what the first `aggregator run` waits for)
    estimator = LogisticRegression(
        C=c, class_weight="balanced", solver="liblinear", dual=True, random_state=0, max_iter=5000, tol=1e-2
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        estimator.fit(matrix, y, sample_weight=weights)
    return estimator.coef_[0], float(estimator.intercept_[0])


def _choose_thresholds(
    counts: TokenCounts,
    gold: np.ndarray,
    weights: np.ndarray,
    groups: Sequence[str],
    c: float,
    folds: int,
) -> np.ndarray:
    """Each target's threshold with the best F1 on out-of-fold probabilities (folds grouped by site)."""
    import numpy as np
    from sklearn.model_selection import GroupKFold

    if len(set(groups)) < folds:
        return np.full(gold.shape[1], 0.5)
    predicted = np.zeros(gold.shape, dtype=float)
    from scipy.special import expit

    for train, test in GroupKFold(n_splits=folds).split(gold, groups=groups):
        vocabulary, kept = counts.vocabulary(train)  # each fold's vocabulary from its own training rows
        coef, bias = _fit(counts.matrix(vocabulary, kept, train), gold[train], weights[train], c)
        predicted[test] = expit(counts.matrix(vocabulary, kept, test) @ coef + bias)
    return np.array([_best_threshold(predicted[:, j], gold[:, j]) for j in range(gold.shape[1])])


def _best_threshold(p: np.ndarray, y: np.ndarray, beta: float = 1.0) -> float:
    best, chosen = -1.0, 0.5
    positives = int(y.sum())
    b2 = beta * beta
    for t in _GRID:
        given = p >= t
        hits = int((given & (y == 1)).sum())
        f1 = (1 + b2) * hits / (int(given.sum()) + b2 * positives) if positives else 0.0  # F-beta
        if f1 > best + 1e-9:
            best, chosen = f1, t
    return chosen


# --- saving: the caller chooses where ----------------------------------------------------------------


def model_to_bytes(model: LearnedModel) -> bytes:
    """Pickle the model's arrays with its format version."""
    return pickle.dumps({"format": _FORMAT, "model": model}, protocol=pickle.HIGHEST_PROTOCOL)


def model_from_bytes(data: bytes) -> LearnedModel:
    """Read a model written by `model_to_bytes` (only ever load files this aggregator wrote: it is a pickle)."""
    try:
        saved = pickle.load(io.BytesIO(data))
    except Exception as exc:  # a truncated or foreign file
        raise ModelError(f"the saved model could not be read: {exc}") from None
    if (
        not isinstance(saved, dict)
        or saved.get("format") != _FORMAT
        or not isinstance(saved.get("model"), LearnedModel)
    ):
        raise ModelError("the saved model has an unknown format")
    return saved["model"]
