"""Judge one candidate pair: exact DOI (its own or one its text states) or URL, else title similarity confirmed by
dates, authors or a passage both texts share, or titles agreeing but for whole parts (a short title's two long
texts must also share some of their wording)."""

from __future__ import annotations

from rapidfuzz import fuzz

from aggregator.dedupe.normalize import Prepared, container_of, number_tokens, surnames_of
from aggregator.dedupe.passage import has_same_core, has_same_parts, shared_passage, text_overlap, without_notes
from aggregator.dedupe.values import DedupeConfig, Match


def judge_pair(a: Prepared, b: Prepared, config: DedupeConfig) -> Match | None:
    """Return a Match when the two records name the same resource, else None."""
    ra, rb = a.record, b.record
    if ra.doi and rb.doi:
        # Two DOIs name two works: an erratum or a reply often repeats its article's title.
        return Match(ra.id, rb.id, 1.0, "doi") if ra.doi == rb.doi else None
    if a.url and a.url == b.url:
        return Match(ra.id, rb.id, 1.0, "canonical-url")
    if a.doi and a.doi == b.doi and not has_kind_conflict(a, b):
        # A DOI read from a text may be one it cites, so it only confirms titles sharing words and never
        # tells two records apart.
        shared = fuzz.token_set_ratio(a.text, b.text)
        if shared >= config.content_title_share:
            return Match(ra.id, rb.id, 1.0, f"doi in text + title {shared / 100:.2f}")
    return judge_titles(a, b, config)


def judge_titles(a: Prepared, b: Prepared, config: DedupeConfig) -> Match | None:
    """Return a Match when the titles are near-duplicates, dates and authors do not contradict it and, where
    the titles alone say too little, a close date, shared authors or a shared passage confirm it."""
    if not a.text or not b.text or has_kind_conflict(a, b) or has_number_conflict(a, b):
        return None
    if has_container_conflict(a, b, config):
        return None
    set_score = fuzz.token_set_ratio(a.text, b.text, score_cutoff=config.title_threshold)
    set_score = set_score or title_score_without_notes(a, b, config)
    if not set_score:
        return None
    near = fuzz.ratio(a.text, b.text) >= config.near_identical
    gap = date_gap_days(a, b)
    if gap is not None and gap > config.max_date_gap_days:
        return None
    authors = has_author_overlap(a, b, config)
    if authors is False and not near:
        return None
    close = gap is not None and gap <= config.close_date_days
    tokens_a, tokens_b = set(a.tokens), set(b.tokens)
    shortest = min(len(tokens_a), len(tokens_b))
    if shortest < config.min_generic_tokens:
        # "Introduction" or "Annual report" says nothing alone: the same people on the same day must.
        return match_titles(a, b, set_score, gap, authors) if near and authors and close else None
    # With nothing but the titles to go on, a title of few words names a programme every organisation has
    # its own page about ("Civility Saves Lives"), and titles must agree but for whole parts only one has
    # (a subtitle, an "(abstract)"): words added among a title's own make another work ("Beyond the snowy
    # white peaks of the NHS?").
    weak = not (authors or close) and (
        shortest < config.min_informative_tokens
        or not has_same_core(a.record.title, b.record.title, config.near_identical)
    )
    # A short title inside a long one ("Intrapleural streptokinase for empyema?") needs shared authors.
    coverage = len(tokens_a & tokens_b) / max(len(tokens_a), len(tokens_b))
    thin = coverage < config.min_coverage and not (near or authors)
    if not (weak or thin):
        # ... unless both give the same title of two parts or more ("Empathy: The Human Connection to Patient
        # Care"): a main title and its subtitle name one work, whose copies each site describes in its own words
        if (
            not (authors or close)
            and shortest <= config.short_title_tokens
            and not has_same_parts(a.record.title, b.record.title)
            and has_different_texts(a, b, config)
        ):
            return None
        return match_titles(a, b, set_score, gap, authors)
    # A passage both texts hold beyond their titles says the same document as shared authors would.
    return match_titles(a, b, set_score, gap, authors, passage=True) if has_shared_passage(a, b, config) else None


def title_score_without_notes(a: Prepared, b: Prepared, config: DedupeConfig) -> float:
    """Return the titles' token-set similarity with their bracketed notes left out (0 below the threshold,
    or when neither has a note)."""
    bare_a, bare_b = without_notes(a.record.title), without_notes(b.record.title)
    if bare_a is None and bare_b is None:
        return 0.0
    return fuzz.token_set_ratio(bare_a or a.text, bare_b or b.text, score_cutoff=config.title_threshold)


def match_titles(
    a: Prepared, b: Prepared, set_score: float, gap: int | None, authors: bool | None, *, passage: bool = False
) -> Match:
    """Return the Match of two records judged by their titles, with the evidence that decided it."""
    reason = describe_evidence(set_score, gap, authors) + (" + passage" if passage else "")
    return Match(a.record.id, b.record.id, round(set_score / 100, 3), reason)


def has_shared_passage(a: Prepared, b: Prepared, config: DedupeConfig) -> bool:
    """Return True when both texts are long enough to judge and share `min_shared_passage` runs of words."""
    return texts_to_judge(a, b, config) and (
        shared_passage(a.record, b.record, config.passage_words) >= config.min_shared_passage
    )


def has_different_texts(a: Prepared, b: Prepared, config: DedupeConfig) -> bool:
    """Return True when both texts are long enough to judge and share less than `min_text_overlap` of their
    words beyond the titles: two organisations' own pages of one short name."""
    return texts_to_judge(a, b, config) and text_overlap(a.record, b.record) < config.min_text_overlap


def texts_to_judge(a: Prepared, b: Prepared, config: DedupeConfig) -> bool:
    """Return True when both records' texts are long enough (`min_content_chars`) to say anything."""
    return min(len(a.record.text), len(b.record.text)) >= config.min_content_chars


def has_kind_conflict(a: Prepared, b: Prepared) -> bool:
    """Return True when both records have a type and the types differ: a guide and an event of one name."""
    return bool(a.record.kind and b.record.kind and a.record.kind != b.record.kind)


def has_number_conflict(a: Prepared, b: Prepared) -> bool:
    """Return True when each title has a number the other lacks ("report 2023" vs "report 2024")."""
    numbers_a, numbers_b = number_tokens(a), number_tokens(b)
    return bool(numbers_a - numbers_b) and bool(numbers_b - numbers_a)


def date_gap_days(a: Prepared, b: Prepared) -> int | None:
    """Return the days between the two published dates, None when either is unknown."""
    da, db = a.record.published, b.record.published
    return abs((da - db).days) if da and db else None


def has_author_overlap(a: Prepared, b: Prepared, config: DedupeConfig) -> bool | None:
    """Return whether the records share enough surnames; None when either lists no authors.

    The shorter list is the denominator because databases truncate author lists ("et al.").
    """
    surnames_a, surnames_b = surnames_of(a.record), surnames_of(b.record)
    if not surnames_a or not surnames_b:
        return None
    shared = len(surnames_a & surnames_b)
    return shared / min(len(surnames_a), len(surnames_b)) >= config.min_author_overlap


def has_container_conflict(a: Prepared, b: Prepared, config: DedupeConfig) -> bool:
    """Return True when both name a journal or series and the names clearly differ.

    The same abstract in a congress supplement and the full paper in a journal share a title but are
    two publications. Abbreviations ("Dtsch Med Wochenschr") count as the same journal.
    """
    if not a.record.container or not b.record.container:
        return False
    words_a, words_b = container_of(a.record).split(), container_of(b.record).split()
    if not words_a or not words_b:
        return False
    similarity = 100 * abbreviation_coverage(words_a, words_b)
    if min(len(words_a), len(words_b)) == 1:  # "jthoraccardiovascsurg"
        similarity = max(similarity, fuzz.ratio("".join(words_a), "".join(words_b)))
    return similarity < config.container_threshold


def abbreviation_coverage(words_a: list[str], words_b: list[str]) -> float:
    """Return the share of the shorter name's words that abbreviate a word of the longer one.

    Three such words are enough whatever the share: names given with a translation
    ("Zhonghua jie he ... = Chinese journal of tuberculosis ...") share only the English part.
    """
    short, long = sorted((words_a, words_b), key=len)
    if not short:
        return 0.0
    found = sum(any(is_abbreviation(s, w) or is_abbreviation(w, s) for w in long) for s in short)
    return 1.0 if found >= 3 else found / len(short)


def is_abbreviation(short: str, word: str) -> bool:
    """Return True when `short` starts like `word` and its letters appear in `word` in order ("dtsch", "deutsche")."""
    if not short or short[0] != word[0]:
        return False
    rest = iter(word)
    return all(ch in rest for ch in short)


def describe_evidence(set_score: float, gap: int | None, authors: bool | None) -> str:
    """Return the reason shown to editors, e.g. "title 0.97 + date 3d + authors"."""
    parts = [f"title {set_score / 100:.2f}"]
    if gap is not None:
        parts.append(f"date {gap}d")
    if authors:
        parts.append("authors")
    return " + ".join(parts)
