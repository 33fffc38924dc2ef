"""Duplicates by content: records whose body texts are near (TF-IDF cosine) and whose titles, types and dates agree."""

from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np
from rapidfuzz import fuzz

from aggregator.dedupe.normalize import STOP_WORDS, fold_text, fold_words
from aggregator.dedupe.values import DedupeConfig, DedupeRecord, Match, RecordId

ROWS_PER_CHUNK = 2000  # rows of the similarity product made at once: bounds its memory


def content_matches(
    records: Sequence[DedupeRecord],
    config: DedupeConfig = DedupeConfig(),
    *,
    new: Collection[RecordId] | None = None,
) -> list[Match]:
    """Return pairs whose texts have a cosine of at least `config.content_similarity`, with titles sharing
    words, the same type when both are known and dates no further apart than titles allow.

    With `new`, only pairs holding one of those ids are scored (an incremental pass); the word weights
    still come from every record's text."""
    with_text = [r for r in records if len(r.text) >= config.min_content_chars]
    rows = [n for n, r in enumerate(with_text) if new is None or r.id in new]
    if len(with_text) < 2 or not rows:
        return []
    vectors = tfidf_vectors([r.text for r in with_text], config)
    near = near_pairs(vectors, rows, config.content_similarity)
    # A pair is judged when either text is among the other's nearest: symmetric, so an incremental pass
    # judges what a full one would; the partners' own neighbours are looked up for that.
    partners = sorted({j for _, j, _ in near} - set(rows))
    nearest = top_neighbours([*near, *near_pairs(vectors, partners, config.content_similarity)], config)
    is_row = set(rows)
    matches = []
    for i, j, score in near:
        if (i > j and j in is_row) or not (j in nearest[i] or i in nearest.get(j, ())):
            continue  # each pair once: (row, later record) or (row, record that is not a row)
        first, second = sorted((i, j))
        match = judge_content(with_text[first], with_text[second], score, config)
        if match is not None:
            matches.append(match)
    return matches


def tfidf_vectors(texts: list[str], config: DedupeConfig):  # type: ignore[no-untyped-def]
    """Return the texts' TF-IDF rows (scikit-learn's TfidfVectorizer: sublinear tf, smooth idf, L2-normalised)
    over the folded words of `fold_words`, stop words out.

    Words in more than `content_max_df` of the texts, or in more than `content_max_docs` texts, are not
    weighed: they make every pair near and the product dense (a site's boilerplate, a field's vocabulary);
    rarer words decide, and the product stays at most sum(df^2) over the words kept. The analyser is the
    same byte-table fold dedupe uses everywhere, so the vectoriser runs no regular expression per text.
    """
    from scipy.sparse import csr_matrix
    from sklearn.feature_extraction.text import TfidfVectorizer

    most = min(config.content_max_df * len(texts), config.content_max_docs) if len(texts) > 50 else len(texts)
    vectorizer = TfidfVectorizer(analyzer=_content_words, sublinear_tf=True, max_df=max(int(most), 1), dtype=np.float32)
    try:
        return vectorizer.fit_transform(texts)
    except ValueError:  # no word left (empty texts, or every word too common): nothing is near anything
        return csr_matrix((len(texts), 1), dtype=np.float32)


def _content_words(text: str) -> list[str]:
    return [w for w in fold_words(text) if w not in STOP_WORDS]


def near_pairs(vectors, rows: list[int], threshold: float) -> list[tuple[int, int, float]]:  # type: ignore[no-untyped-def]
    """Return (row, other, cosine) for every other text at least `threshold` near one of `rows`."""
    found = []
    for begin in range(0, len(rows), ROWS_PER_CHUNK):
        chunk = np.array(rows[begin : begin + ROWS_PER_CHUNK])
        block = (vectors[chunk] @ vectors.T).tocoo()
        firsts = chunk[block.row]
        keep = (block.data >= threshold) & (firsts != block.col)
        found += zip(firsts[keep].tolist(), block.col[keep].tolist(), block.data[keep].tolist(), strict=True)
    return found


def top_neighbours(near: list[tuple[int, int, float]], config: DedupeConfig) -> dict[int, set[int]]:
    """Return each row's `content_neighbours` nearest others: a text near hundreds of others is a
    template, and judging every pair would cost pairs x titles. Ties go to the earlier record."""
    by_row: dict[int, list[tuple[float, int]]] = {}
    for i, j, score in near:
        by_row.setdefault(i, []).append((-score, j))
    return {i: {j for _, j in sorted(found)[: config.content_neighbours]} for i, found in by_row.items()}


def judge_content(a: DedupeRecord, b: DedupeRecord, score: float, config: DedupeConfig) -> Match | None:
    """Return a Match for two records of near texts unless their titles, types or dates say otherwise."""
    if a.kind and b.kind and a.kind != b.kind:
        return None
    if a.published and b.published and abs((a.published - b.published).days) > config.max_date_gap_days:
        return None
    title = fuzz.token_set_ratio(fold_text(a.title), fold_text(b.title))
    if title < config.content_title_share:
        return None
    return Match(a.id, b.id, round(score, 3), f"text {score:.2f} + title {title / 100:.2f}")
