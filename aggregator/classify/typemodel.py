"""The resource's type when neither its page nor its platform states it: what the page or platform says
comes first (at normalising: schema.org, og:type, citation_*, an event's date, a media enclosure, a DOI; here:
a video host, a partner tag naming a type, a DOI in the text, a site section such as /events/), then a learned
model over the text and the address, and the text cues (`infer_type`) only when no model could be trained."""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from aggregator.classify.features import Vocabulary
from aggregator.classify.values import ClassifyInput
from aggregator.ingest.resource_types import infer_type, structural_type
from aggregator.model import ResourceType

if TYPE_CHECKING:  # numpy and scipy load when a model is trained or used
    import numpy as np
    from scipy.sparse import csr_matrix

_WORD = re.compile(r"[a-z]+")
_PATH_WORDS = 12  # an address's first words name its section; the rest is the page's slug
# The address and cue columns form a block of their own (its rows L2-normalised apart from the text's):
# how much it counts beside the text. Chosen on cross-validation grouped by site (0.25-0.5 within 0.015 of
# each other; 1.0 and 2.0 worse by 0.03 and 0.08: the address alone then decides too often).
EXTRA_WEIGHT = 0.35


@dataclass(frozen=True, slots=True)
class TypeModel:
    """A multinomial logistic regression over the label model's TF-IDF rows and a few address and cue
    columns of its own; plain arrays, like `LearnedModel`."""

    classes: tuple[str, ...]  # ResourceType values
    extra: Vocabulary  # the address's words ("u:events") and the text cues' type ("c:report")
    weights: np.ndarray  # (text columns + extra columns, classes)
    bias: np.ndarray  # (classes,)

    def predict(self, text: csr_matrix, items: Sequence[ClassifyInput]) -> list[ResourceType]:
        """The likeliest type of each row (`text`: the label model's rows of the same items)."""
        scores = self._matrix(text, items) @ self.weights + self.bias
        return [ResourceType(self.classes[j]) for j in scores.argmax(axis=1)]

    def _matrix(self, text: csr_matrix, items: Sequence[ClassifyInput]) -> csr_matrix:
        from scipy.sparse import hstack

        extra = self.extra.transform([type_tokens(i) for i in items]) * EXTRA_WEIGHT
        return hstack([text, extra], format="csr")


def type_tokens(item: ClassifyInput) -> list[str]:
    """The address's words and the type the text cues give (never the stated type: the model learns what
    the text says, and a stated type is used as it is)."""
    try:
        path = urlsplit(item.url or "").path.lower()
    except ValueError:  # a malformed IPv6 host
        path = ""
    words = [f"u:{w}" for w in _WORD.findall(path)[:_PATH_WORDS]]
    cue = infer_type(item.title, item.summary, None, item.url, item.tags)
    return [*words, f"c:{cue.value}"]


def train_type_model(
    text: csr_matrix, items: Sequence[ClassifyInput], types: Sequence[ResourceType | None], *, c: float = 16.0
) -> TypeModel | None:
    """Fit on the rows whose type is known (deterministic); None when fewer than two types are known."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier

    known = [n for n, kind in enumerate(types) if kind is not None]
    classes = sorted({types[n].value for n in known})  # type: ignore[union-attr]
    if len(classes) < 3:  # one against the rest needs three types to give a column to each
        return None
    rows = [items[n] for n in known]
    extra = Vocabulary.fit([type_tokens(i) for i in rows])
    matrix = TypeModel(tuple(classes), extra, np.zeros(0), np.zeros(0))._matrix(text[known], rows)
    y = np.array([types[n].value for n in known])  # type: ignore[union-attr]
    # one type against the rest, each balanced (news outnumbers case studies ten to one, and a case study
    # called news is lost to editors); liblinear's dual solver: a fraction of a second, where the multinomial
    # lbfgs fit took eight and was no more accurate on grouped cross-validation
    binary = LogisticRegression(
        C=c, class_weight="balanced", solver="liblinear", dual=True, max_iter=5000, random_state=0
    )
    estimator = OneVsRestClassifier(binary)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        estimator.fit(matrix, y)
    weights = np.column_stack([e.coef_[0] for e in estimator.estimators_])
    bias = np.array([e.intercept_[0] for e in estimator.estimators_])
    return TypeModel(tuple(str(k) for k in estimator.classes_), extra, weights, bias)


def decide_type(item: ClassifyInput, guess: ResourceType | None) -> ResourceType:
    """The stated type; else what the address or tags name; else the model's `guess`; else the text cues."""
    if item.type_hint:
        return ResourceType(item.type_hint)
    named = structural_type(item.summary, item.url, item.tags)
    if named is not None:
        return named
    return guess if guess is not None else infer_type(item.title, item.summary, None, item.url, item.tags)
