"""The model's features: stems and stem pairs of the normalised text, the rule signals and the source's facts, as a TF-IDF matrix built for a whole batch at once."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aggregator.classify.rules import Evidence, ReadInput
from aggregator.classify.values import ClassifyInput

if TYPE_CHECKING:  # numpy and scipy are imported when a model is trained or used, never at start-up
    import numpy as np
    from scipy.sparse import csr_matrix


def feature_tokens(item: ClassifyInput, read: ReadInput, evidence: Sequence[Evidence]) -> list[str]:
    """What the model reads of one resource. The title's words are marked (they say most); word pairs keep
    "patient safety" apart from "patient" and "safety"; each rule signal is a token, so the model learns how
    far to trust a phrase; the source and its hints are tokens too."""
    title, body = read.title.stems, read.summary.stems
    tokens = [f"t:{s}" for s in title]
    tokens += [f"t:{a} {b}" for a, b in zip(title, title[1:])]
    tokens += body
    tokens += [f"{a} {b}" for a, b in zip(body, body[1:])]
    tokens += [f"g:{s}" for s in read.tags.stems]
    tokens += [f"r:{e.ref.kind}:{e.ref.id}:{e.weight}" for e in evidence]
    if item.source_id:
        tokens.append(f"s:{item.source_id}")
    tokens += [f"h:{x}" for x in (*item.hints_audiences, *item.hints_themes)]
    return tokens


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """Token -> column, and each column's inverse document frequency (tokens seen in one document only are
    dropped: they cannot generalise)."""

    columns: dict[str, int]
    idf: np.ndarray

    @classmethod
    def fit(cls, documents: Sequence[Sequence[str]], min_df: int = 2) -> Vocabulary:
        import numpy as np

        df = Counter(token for doc in documents for token in set(doc))
        kept = sorted(token for token, n in df.items() if n >= min_df)
        count = len(documents)
        # smoothed idf, as scikit-learn's TfidfTransformer computes it
        idf = np.array([np.log((1 + count) / (1 + df[token])) + 1.0 for token in kept])
        return cls({token: n for n, token in enumerate(kept)}, idf)

    def transform(self, documents: Sequence[Sequence[str]]) -> csr_matrix:
        """Sublinear TF-IDF rows, L2-normalised; unknown tokens are skipped with a dict lookup, not an exception."""
        import numpy as np
        from scipy.sparse import csr_matrix, diags
        from sklearn.preprocessing import normalize

        get = self.columns.get
        rows = [[c for c in map(get, doc) if c is not None] for doc in documents]
        lengths = np.fromiter(map(len, rows), dtype=np.int64, count=len(rows))
        indptr = np.concatenate(([0], np.cumsum(lengths)))
        indices = np.fromiter((c for row in rows for c in row), dtype=np.int64, count=int(indptr[-1]))
        matrix = csr_matrix(
            (np.ones(len(indices)), indices, indptr), shape=(len(rows), len(self.columns)), dtype=np.float64
        )
        matrix.sum_duplicates()
        np.log(matrix.data, out=matrix.data)
        matrix.data += 1.0
        matrix = matrix @ diags(self.idf)
        return normalize(matrix)
