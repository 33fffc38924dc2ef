"""The learned model: TF-IDF word and character n-grams, one logistic regression per label, trained on editors' labels."""

from __future__ import annotations

import io
import pickle
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from aggregator.classify.values import ClassifyInput, TrainingExample
from aggregator.config.taxonomy import Taxonomy
from aggregator.errors import AggregatorError

# scikit-learn, numpy and scipy take about a second to import: they are imported when a model is trained,
# read or used, so that a command that labels nothing never loads them
if TYPE_CHECKING:
    import numpy as np
    from scipy.sparse import spmatrix
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import FeatureUnion

OFF_TOPIC = "off-topic"  # a target of its own: what editors rejected as off-topic looks alike
_FORMAT = 1


class ModelError(AggregatorError):
    """A saved model could not be read."""

    hint = "run `aggregator classify retrain` to train the model again"


@dataclass(frozen=True, slots=True)
class LearnedModel:
    """A fitted model: its targets are "audience:<id>", "theme:<id>" and "off-topic"."""

    features: FeatureUnion
    targets: tuple[str, ...]
    estimators: tuple[LogisticRegression | float, ...]  # a float when training had only one class
    trained_on: int

    def predict(self, item: ClassifyInput) -> Mapping[str, float]:
        """The probability of every target for one resource."""
        return self.predict_many((item,))[0]

    def predict_many(self, items: Sequence[ClassifyInput]) -> list[dict[str, float]]:
        matrix = self.features.transform([text_for_model(item) for item in items])
        columns = [_probability(estimator, matrix) for estimator in self.estimators]
        return [{t: float(col[row]) for t, col in zip(self.targets, columns)} for row in range(len(items))]


def text_for_model(item: ClassifyInput) -> str:
    """The text the model reads: the title twice (it says most), summary, tags, and source facts as tokens."""
    facts = [f"zzsource{_token(item.source_id)}"] if item.source_id else []
    facts += [f"zzhint{_token(x)}" for x in (*item.hints_audiences, *item.hints_themes)]
    return "\n".join([item.title, item.title, item.summary, " ; ".join(item.tags), " ".join(facts)])


def train_model(examples: Sequence[TrainingExample], taxonomy: Taxonomy, *, c: float = 4.0) -> LearnedModel:
    """Fit one regularised logistic regression per label of `taxonomy` (plus off-topic) on `examples`."""
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import FeatureUnion

    if not examples:
        raise ValueError("no training examples")
    features = FeatureUnion(
        [
            (
                "words",
                TfidfVectorizer(
                    ngram_range=(1, 2),
                    sublinear_tf=True,
                    min_df=1,
                    stop_words="english",
                    token_pattern=r"(?u)\b[^\W\d_][\w-]+\b",
                ),
            ),
            (
                "chars",
                TfidfVectorizer(
                    analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True, min_df=2, max_features=40_000
                ),
            ),
        ]
    )
    matrix = features.fit_transform([text_for_model(e.input) for e in examples])
    weights = np.array([e.weight for e in examples], dtype=float)
    targets = (
        *(f"audience:{i}" for i in taxonomy.ids("audience")),
        *(f"theme:{i}" for i in taxonomy.ids("theme")),
        OFF_TOPIC,
    )
    estimators = tuple(_fit_one(matrix, _column(examples, target), weights, c) for target in targets)
    return LearnedModel(features, targets, estimators, len(examples))


def _column(examples: Sequence[TrainingExample], target: str) -> np.ndarray:
    import numpy as np

    def has(example: TrainingExample) -> bool:
        if target == OFF_TOPIC:
            return not example.themes
        kind, _, label_id = target.partition(":")
        return label_id in (example.audiences if kind == "audience" else example.themes)

    return np.array([has(e) for e in examples], dtype=int)


def _fit_one(matrix: spmatrix, y: np.ndarray, weights: np.ndarray, c: float) -> LogisticRegression | float:
    from sklearn.linear_model import LogisticRegression

    if y.min() == y.max():
        return float(y[0])
    # balanced: most labels are rare, and missing a label costs an editor more than an extra suggestion
    estimator = LogisticRegression(C=c, class_weight="balanced", solver="liblinear", max_iter=2000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        estimator.fit(matrix, y, sample_weight=weights)
    return estimator


def _probability(estimator: LogisticRegression | float, matrix: spmatrix) -> np.ndarray:
    import numpy as np

    if isinstance(estimator, float):
        return np.full(matrix.shape[0], estimator)
    return estimator.predict_proba(matrix)[:, 1]


def _token(value: str) -> str:
    return "".join(ch for ch in value.lower() if ch.isalnum())


# --- saving: the caller chooses where ----------------------------------------------------------------


def model_to_bytes(model: LearnedModel) -> bytes:
    """Pickle the model with the format and scikit-learn versions it needs to be read back."""
    import sklearn

    return pickle.dumps({"format": _FORMAT, "sklearn": sklearn.__version__, "model": model})


def model_from_bytes(data: bytes) -> LearnedModel:
    """Read a model written by `model_to_bytes` (only ever load files this aggregator wrote: it is a pickle)."""
    import sklearn

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
    if saved.get("sklearn") != sklearn.__version__:
        raise ModelError(f"the model was saved with scikit-learn {saved.get('sklearn')}, this is {sklearn.__version__}")
    return saved["model"]


def save_model(model: LearnedModel, path: Path) -> None:
    path.write_bytes(model_to_bytes(model))


def load_model(path: Path) -> LearnedModel:
    try:
        return model_from_bytes(path.read_bytes())
    except FileNotFoundError:
        raise ModelError(f"no saved model at {path}") from None
