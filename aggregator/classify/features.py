"""The model's features: stems and stem pairs of the normalised text, the rule signals and the source's facts, as a TF-IDF matrix built for a whole batch at once."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain, repeat
from typing import TYPE_CHECKING

from aggregator.classify.rules import Evidence, ReadInput
from aggregator.classify.values import ClassifyInput

if TYPE_CHECKING:  # numpy and scipy are imported when a model is trained or used, never at start-up
    import numpy as np
    from scipy.sparse import csr_matrix


def feature_tokens(item: ClassifyInput, read: ReadInput, evidence: Sequence[Evidence]) -> list[str]:
    """What the model reads of one resource. The title's words are marked (they say most); word pairs keep
    "patient safety" apart from "patient" and "safety"; each rule signal is a token, so the model learns how
    far to trust a phrase; the source and its hints are tokens too. (`FeatureColumns` finds the same columns
    for a whole batch without building the word tokens.)"""
    title, body = read.title.stems, read.summary.stems
    tokens = [f"t:{s}" for s in title]
    tokens += [f"t:{a} {b}" for a, b in zip(title, title[1:])]
    tokens += body
    tokens += [f"{a} {b}" for a, b in zip(body, body[1:])]
    tokens += [f"g:{s}" for s in read.tags.stems]
    tokens += signal_tokens(item, evidence)
    return tokens


def signal_tokens(item: ClassifyInput, evidence: Sequence[Evidence]) -> list[str]:
    """The rule signals, the source and its hints as tokens."""
    tokens = [f"r:{e.ref.kind}:{e.ref.id}:{e.weight}" for e in evidence]
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
        from scipy.sparse import csr_matrix

        get = self.columns.get
        rows = [[c for c in map(get, doc) if c is not None] for doc in documents]
        lengths = np.fromiter(map(len, rows), dtype=np.int64, count=len(rows))
        indptr = np.concatenate(([0], np.cumsum(lengths)))
        indices = np.fromiter((c for row in rows for c in row), dtype=np.int64, count=int(indptr[-1]))
        matrix = csr_matrix(
            (np.ones(len(indices)), indices, indptr), shape=(len(rows), len(self.columns)), dtype=np.float64
        )
        return self.weigh(matrix)

    def weigh(self, matrix: csr_matrix) -> csr_matrix:
        """Token counts (documents, columns) -> sublinear TF-IDF rows, L2-normalised."""
        import numpy as np
        from scipy.sparse import diags
        from sklearn.preprocessing import normalize

        matrix.sum_duplicates()
        np.log(matrix.data, out=matrix.data)
        matrix.data += 1.0
        matrix = matrix @ diags(self.idf)
        return normalize(matrix)


@dataclass(frozen=True, slots=True)
class TokenCounts:
    """Every document's token counts over every token the documents hold (sorted), counted once: the
    vocabulary `Vocabulary.fit` gives for some of the documents, and `transform`'s rows of any of them, are
    slices of it, so cross-validating a model walks the tokens once instead of twice a fold."""

    tokens: tuple[str, ...]
    counts: csr_matrix  # (documents, tokens), canonical: each row's columns sorted, no repeats

    @classmethod
    def of(cls, documents: Sequence[Sequence[str]]) -> TokenCounts:
        import numpy as np
        from scipy.sparse import csr_matrix

        tokens = sorted({token for doc in documents for token in doc})
        get = {token: n for n, token in enumerate(tokens)}.__getitem__
        lengths = np.fromiter(map(len, documents), dtype=np.int64, count=len(documents))
        columns = np.fromiter(map(get, chain.from_iterable(documents)), dtype=np.int64, count=int(lengths.sum()))
        rows = np.repeat(np.arange(len(documents)), lengths)
        counts = csr_matrix((np.ones(len(columns)), (rows, columns)), shape=(len(documents), len(tokens)))
        counts.sum_duplicates()
        return cls(tuple(tokens), counts)

    def vocabulary(self, rows: np.ndarray, min_df: int = 2) -> tuple[Vocabulary, np.ndarray]:
        """What `Vocabulary.fit` gives for the documents `rows`, and the columns of `counts` it keeps."""
        import numpy as np

        df = np.bincount(self.counts[rows].indices, minlength=len(self.tokens))
        kept = np.flatnonzero(df >= min_df)
        count = len(rows)
        # smoothed idf, as scikit-learn's TfidfTransformer computes it (one value at a time, as `fit` does)
        idf = np.array([np.log((1 + count) / (1 + int(df[j]))) + 1.0 for j in kept])
        return Vocabulary({self.tokens[j]: n for n, j in enumerate(kept)}, idf), kept

    def matrix(self, vocabulary: Vocabulary, kept: np.ndarray, rows: np.ndarray) -> csr_matrix:
        """`vocabulary.transform` of the documents `rows` (`kept`: the columns `vocabulary` came from)."""
        return vocabulary.weigh(self.counts[rows][:, kept])


class FeatureColumns:
    """The columns of `feature_tokens` for a whole batch, with numpy: each stem becomes a number by one dict
    lookup, and words and word pairs find their columns by array indexing and a sorted search, so no word
    token is built. Gives the same matrix as `Vocabulary.transform` of the tokens (tests/test_classify_golden.py)."""

    def __init__(self, vocabulary: Vocabulary) -> None:

        self.vocabulary = vocabulary
        parts: dict[str, list[tuple[tuple[str, ...], int]]] = {"t:": [], "g:": [], "": []}
        for token, column in vocabulary.columns.items():
            prefix = token[:2] if token[1:2] == ":" else ""
            if prefix in parts:  # stems have no ":" nor " ": "t:a b" is a title pair, "a" a summary word
                parts[prefix].append((tuple(token[len(prefix) :].split(" ")), column))
        stems = sorted({stem for grams in parts.values() for gram, _ in grams for stem in gram})
        self._ids = {stem: n for n, stem in enumerate(stems)}
        self._unknown = len(stems)  # one id for every stem no column has (and for the end of each text)
        self._parts = {prefix: _Part.of(grams, self._ids) for prefix, grams in parts.items()}

    def matrix(
        self, items: Sequence[ClassifyInput], reads: Sequence[ReadInput], evidence: Sequence[Sequence[Evidence]]
    ) -> csr_matrix:
        """The TF-IDF rows of a batch (as `Vocabulary.transform` of each resource's `feature_tokens`)."""
        import numpy as np
        from scipy.sparse import csr_matrix

        found = [
            self._columns([r.title.stems for r in reads], "t:", pairs=True),
            self._columns([r.summary.stems for r in reads], "", pairs=True),
            self._columns([r.tags.stems for r in reads], "g:", pairs=False),
        ]
        get = self.vocabulary.columns.get
        signals = [[c for c in map(get, signal_tokens(i, e)) if c is not None] for i, e in zip(items, evidence)]
        lengths = np.fromiter(map(len, signals), dtype=np.int64, count=len(signals))
        found.append((np.repeat(np.arange(len(signals)), lengths), np.fromiter(chain.from_iterable(signals), np.int64)))
        rows, columns = np.concatenate([r for r, _ in found]), np.concatenate([c for _, c in found])
        # one 1 per (row, column) found: scipy's COO to CSR conversion sums the repeats into counts and sorts each
        # row's columns (the canonical form), a sort within each row rather than one of the whole batch's cells
        shape = (len(reads), len(self.vocabulary.columns))
        matrix = csr_matrix((np.ones(len(rows)), (rows, columns)), shape=shape)
        return self.vocabulary.weigh(matrix)

    def _columns(self, texts: Sequence[Sequence[str]], prefix: str, *, pairs: bool) -> tuple[np.ndarray, np.ndarray]:
        """(row, column) of every word of `texts` that has a column, then of every word pair that has one."""
        import numpy as np

        part = self._parts[prefix]
        lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts)) + 1
        stems = chain.from_iterable(text + _END for text in map(tuple, texts))  # a pair never spans two texts
        ids = np.fromiter(map(self._ids.get, stems, repeat(self._unknown)), dtype=np.int32, count=int(lengths.sum()))
        rows = np.repeat(np.arange(len(texts), dtype=np.int32), lengths)
        words = part.words[ids]
        keep = words >= 0
        row_parts, column_parts = [rows[keep]], [words[keep]]
        if pairs:
            # each word pair's column + 1 (0: none), read from the sparse stem x stem table: a short search
            # within the first stem's row, in C
            found = part.pairs[ids[:-1], ids[1:]]  # a dense 1 x n matrix, but sparse when n is 0 (no stems)
            found = (found.toarray() if hasattr(found, "toarray") else np.asarray(found)).ravel()
            hit = np.flatnonzero(found)
            row_parts.append(rows[hit])
            column_parts.append(found[hit] - 1)
        return np.concatenate(row_parts), np.concatenate(column_parts)


_END = ("",)  # no stem is empty: the end of a text has no column


@dataclass(frozen=True, slots=True)
class _Part:
    """One part of the text's columns (title, summary or tags): stem id -> word column (or -1), and a sparse
    stem id x stem id table of the word pairs' columns + 1."""

    words: np.ndarray
    pairs: csr_matrix

    @classmethod
    def of(cls, grams: Sequence[tuple[tuple[str, ...], int]], ids: dict[str, int]) -> _Part:
        import numpy as np
        from scipy.sparse import csr_matrix

        size = len(ids) + 1
        words = np.full(size, -1, dtype=np.int32)
        first, second, columns = [], [], []
        for gram, column in grams:
            if len(gram) == 1:
                words[ids[gram[0]]] = column
            else:
                first.append(ids[gram[0]])
                second.append(ids[gram[1]])
                columns.append(column + 1)
        pairs = csr_matrix((np.array(columns, dtype=np.int32), (first, second)), shape=(size, size))
        return cls(words, pairs)
