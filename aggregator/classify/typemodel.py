"""The resource's type when neither its page nor its platform states it: what the page or platform says
comes first (at normalising: schema.org, og:type, citation_*, an event's date, a media enclosure, a DOI; here:
a video host, a partner tag naming a type, a DOI in the text, a site section such as /events/), then a learned
model over the text and the address, and the text cues (`infer_type`) when the model is unsure or absent."""

from __future__ import annotations

import math
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
# The share of a page's words the model must know to type it: 99% of the labelled pages (English, health
# and care) know 0.73 or more, their median 0.98; the saved real pages of other languages and fields in
# tests/eval/html_types.jsonl, median 0.25, where the model's guesses were wrong 13 times in 20.
MIN_KNOWN = 0.5
# ... and the probability its best type must reach (one type against the rest): below it the text cues
# decide. On grouped cross-validation of the first 755 labelled pages 0.4 gave 0.759, none 0.751, 0.5 0.743; on
# the saved real pages 0.4 gave 0.833, none 0.818. With the model of the 4,690 pages the saved real pages give
# 0.833 for any bound from 0.1 to 0.4, and 0.2 beats 0.4 by site (0.782 against 0.771) and on parts the model
# never saw (z-ad 0.775 against 0.764, ae-ag 0.683 against 0.670); 0.1 is no better than 0.2.
SURE = 0.2
_SURE_SCORE = math.log(SURE / (1 - SURE))  # the same bound on the score (a logit)


@dataclass(frozen=True, slots=True)
class TypeModel:
    """One logistic regression per type (against the rest) over the label model's TF-IDF rows and a few
    address and cue columns of its own; plain arrays, like `LearnedModel`."""

    classes: tuple[str, ...]  # ResourceType values
    extra: Vocabulary  # the address's words ("u:events") and the text cues' type ("c:report")
    weights: np.ndarray  # (text columns + extra columns, classes)
    bias: np.ndarray  # (classes,)

    def predict(
        self,
        text: csr_matrix,
        items: Sequence[ClassifyInput],
        known: Sequence[float],
        cues: Sequence[ResourceType],
    ) -> list[ResourceType]:
        """The likeliest type of each row (`text`: the label model's rows of the same items; `cues`: the type
        their text cues give), or its cue where the model is unsure (below `SURE`) or knows less than
        `MIN_KNOWN` of the item's words (`known`, from `known_share`): a page in another language or field is
        left to the text cues, not given the type the model's bias favours."""
        import numpy as np

        scores = np.asarray(self._matrix(text, items, cues) @ self.weights + self.bias)
        best = scores.argmax(axis=1)
        sure = scores[np.arange(len(best)), best] >= _SURE_SCORE
        return [
            ResourceType(self.classes[j]) if ok and share >= MIN_KNOWN else cue
            for j, ok, share, cue in zip(best, sure, known, cues)
        ]

    def _matrix(self, text: csr_matrix, items: Sequence[ClassifyInput], cues: Sequence[ResourceType]) -> csr_matrix:
        from scipy.sparse import hstack

        extra = self.extra.transform([type_tokens(i, c) for i, c in zip(items, cues)]) * EXTRA_WEIGHT
        return hstack([text, extra], format="csr")


def known_share(words: Sequence[str], vocabulary: Vocabulary) -> float:
    """The share of `words` (a text's stems) that have a column in `vocabulary` (1.0 for no words)."""
    if not words:
        return 1.0
    return sum(map(vocabulary.columns.__contains__, words)) / len(words)


def text_cue(item: ClassifyInput) -> ResourceType:
    """The type the text cues give (`infer_type` without the stated type), as normalising found it when it
    passed it on."""
    if item.type_guess:
        return ResourceType(item.type_guess)
    return infer_type(item.title, item.summary, None, item.url, item.tags)


def type_tokens(item: ClassifyInput, cue: ResourceType) -> list[str]:
    """The address's words and the type the text cues give (never the stated type: the model learns what
    the text says, and a stated type is used as it is)."""
    try:
        path = urlsplit(item.url or "").path.lower()
    except ValueError:  # a malformed IPv6 host
        path = ""
    return [*(f"u:{w}" for w in _WORD.findall(path)[:_PATH_WORDS]), f"c:{cue.value}"]


def train_type_model(
    text: csr_matrix, items: Sequence[ClassifyInput], types: Sequence[ResourceType | None], *, c: float = 16.0
) -> TypeModel | None:
    """Fit on the rows whose type is known (deterministic); None when fewer than three types are known."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier

    known = [n for n, kind in enumerate(types) if kind is not None]
    classes = sorted({types[n].value for n in known})  # type: ignore[union-attr]
    if len(classes) < 3:  # one against the rest needs three types to give a column to each
        return None
    rows = [items[n] for n in known]
    cues = [text_cue(i) for i in rows]
    extra = Vocabulary.fit([type_tokens(i, c) for i, c in zip(rows, cues)])
    matrix = TypeModel(tuple(classes), extra, np.zeros(0), np.zeros(0))._matrix(text[known], rows, cues)
    y = np.array([types[n].value for n in known])  # type: ignore[union-attr]
    # one type against the rest, each balanced (news outnumbers case studies ten to one, and a case study
    # called news is lost to editors); liblinear's dual solver: a fraction of a second, where the multinomial
    # lbfgs fit took eight and was no more accurate on grouped cross-validation; tol 1e-3 (scikit-learn's 1e-4):
    # the same type accuracy by site on the 4,690 pages (0.7712) and on the saved real pages (0.833)
    binary = LogisticRegression(
        C=c, class_weight="balanced", solver="liblinear", dual=True, max_iter=5000, random_state=0, tol=1e-3
    )
    estimator = OneVsRestClassifier(binary)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        estimator.fit(matrix, y)
    weights = np.column_stack([e.coef_[0] for e in estimator.estimators_])
    bias = np.array([e.intercept_[0] for e in estimator.estimators_])
    return TypeModel(tuple(str(k) for k in estimator.classes_), extra, weights, bias)


def stated_type(item: ClassifyInput) -> ResourceType | None:
    """The type stated by the page or platform (the type hint), else the one its address or tags name
    (`structural_type`), else None: the type model or the text cues decide."""
    if item.type_hint:
        return ResourceType(item.type_hint)
    return structural_type(item.summary, item.url, item.tags)
