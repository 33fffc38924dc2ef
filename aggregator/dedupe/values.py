"""Values of the de-duplication stage: the record to match, the thresholds, and a judged match."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

RecordId = int | str


@dataclass(frozen=True, slots=True)
class DedupeRecord:
    """What de-duplication needs to know about one resource (built by the caller from a Resource)."""

    id: RecordId
    title: str
    canonical_url: str | None = None
    doi: str | None = None  # bare lower-case "10.xxxx/..."
    published: date | None = None
    authors: tuple[str, ...] = ()
    source_id: str | None = None
    container: str | None = None  # journal or series a publication appeared in; never the partner site
    text: str = ""  # summary or body, for matching by content
    kind: str | None = None  # resource type (guide, report, event, ...): two known, different types never match


@dataclass(frozen=True, slots=True)
class DedupeConfig:
    """Thresholds for judging two records the same resource; scores are rapidfuzz's 0-100 scale."""

    title_threshold: float = 90.0  # token-set similarity needed before other evidence is weighed
    near_identical: float = 97.0  # whole-title similarity that overrides an author mismatch
    min_author_overlap: float = 0.5  # shared surnames / shorter author list, below it authors disagree
    container_threshold: float = 75.0  # journal names less similar than this: different publications
    min_coverage: float = 0.6  # shared / larger token set, needed for a subset match without support
    min_generic_tokens: int = 3  # shorter titles are "generic" and need authors, a close date and the same words
    # Shorter titles need shared authors or a close date: "Civility Saves Lives", "Co-production toolkit" name
    # a programme every organisation has its own page about (3 -> 4: page-set pairs P 0.83 -> 0.87 at the same
    # recall, and better or equal on each third of its groups).
    min_informative_tokens: int = 4
    # Runs of this many words two texts share beyond their titles (a copied abstract or press release) count as
    # evidence like shared authors; 10 of them needed (page set: the same P/R from 8 to 30, 5 lets in two papers
    # of one team whose abstracts share phrasing).
    passage_words: int = 8
    min_shared_passage: int = 10
    # A title of few words ("Patient and Family Advisory Council", "Open Disclosure Policy") is also each
    # organisation's own page: with nothing but the titles to go on, two long texts of such a title must share
    # this share of their words beyond the title (Jaccard); copies of one page share far more, two
    # organisations' pages on one programme far less (page set: P 0.918 -> 0.952 for 2 of 259 pairs found, and
    # better precision on its first 755 and 1,373 pages alike; 0.05 changed nothing, 0.15 cost recall).
    short_title_tokens: int = 5
    min_text_overlap: float = 0.1
    max_date_gap_days: int = 180  # both dated further apart than this: different resources
    close_date_days: int = 31  # dated within this many days counts as supporting evidence
    prefilter_share: float = 0.8  # longest common subsequence / shorter sorted title, to reach judging
    prefilter_long_share: float = 0.4  # ... and / longer sorted title: a 3-word title is inside many long ones
    content_similarity: float = 0.8  # TF-IDF cosine of two texts for a match by content
    content_title_share: float = 50.0  # token-set similarity the titles of a match by content still need
    min_content_chars: int = 200  # shorter texts say too little to match on
    content_max_df: float = 0.2  # words in more of the texts than this share are not weighed (sets over 50 texts)
    content_max_docs: int = 100  # ... or in more texts than this (keeps the product sparse at 100k texts)
    content_neighbours: int = 5  # a text's nearest this-many texts at most are judged
    block_tokens: int = 3  # each record is blocked on its this-many rarest title tokens
    max_block_size: int = 400  # larger blocks hold common words only and are not compared


@dataclass(frozen=True, slots=True)
class Match:
    """Two records judged to be the same resource, with the evidence that decided it."""

    a: RecordId
    b: RecordId
    score: float  # 0-1
    reason: str  # e.g. "doi", "canonical-url", "title 0.97 + date 3d + authors"
