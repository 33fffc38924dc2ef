"""The resource type when the page does not state it (aggregator/classify/typemodel.py): a stated type wins,
then what the address or tags name, then the learned type model, and the text cues only without a model."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from aggregator.classify.classifier import Classifier
from aggregator.classify.features import Vocabulary
from aggregator.classify.learned import documents_of, model_from_bytes, model_to_bytes
from aggregator.classify.rules import Rules
from aggregator.classify.trained import load_or_train, shipped_examples, shipped_labelled_set, shipped_page_set
from aggregator.classify.typemodel import (
    MIN_KNOWN,
    SURE,
    TypeModel,
    stated_type,
    text_cue,
    train_type_model,
    type_tokens,
)
from aggregator.classify.values import ClassifyInput
from aggregator.config.taxonomy import Taxonomy, load_taxonomy
from aggregator.model import ResourceType as T

ROOT = Path(__file__).resolve().parents[1]
WEBINAR = ClassifyInput(
    title="Compassionate leadership in practice",
    summary="Book your place on this webinar on 12 March 2026, 12:30-13:30, with Professor Michael West.",
    url="https://www.example.org/2026/03/compassionate-leadership-in-practice/",
)


@pytest.fixture(scope="module")
def taxonomy() -> Taxonomy:
    return load_taxonomy(ROOT / "taxonomy.yaml")


def test_a_stated_type_wins_over_everything() -> None:
    stated = ClassifyInput(title=WEBINAR.title, summary=WEBINAR.summary, url=WEBINAR.url, type_hint="report")
    assert stated_type(stated) is T.REPORT


def test_what_the_address_or_tags_name_is_taken_as_stated() -> None:
    video = ClassifyInput(title="Kindness in care", summary="", url="https://www.youtube.com/watch?v=abc")
    research = ClassifyInput(title="Burnout", summary="doi: 10.1136/bmjoq-2021-001234", url="https://x.org/a")
    section = ClassifyInput(title="Our ward", summary="", url="https://trust.nhs.uk/case-studies/our-ward/")
    tagged = ClassifyInput(title="Our ward", summary="", url="https://trust.nhs.uk/our-ward/", tags=("Toolkit",))
    assert stated_type(video) is T.VIDEO
    assert stated_type(research) is T.RESEARCH
    assert stated_type(section) is T.CASE_STUDY
    assert stated_type(tagged) is T.TOOLKIT


def test_a_news_section_is_no_statement_so_the_model_decides() -> None:
    # a blog or news section also carries case studies and guides
    blog = ClassifyInput(title="How we did it", summary="", url="https://trust.nhs.uk/news/how-we-did-it/")
    assert stated_type(blog) is None


def test_without_a_model_the_text_cues_decide(taxonomy: Taxonomy) -> None:
    assert text_cue(WEBINAR) is T.EVENT
    assert Classifier(taxonomy).classify(WEBINAR).type is T.EVENT


def test_the_model_leaves_a_page_to_its_cue_when_unsure_or_the_words_are_unknown() -> None:
    """A page in another language or field: the model knows too few of its words (or no type is likely
    enough), so its text cue stands rather than the type the model's bias favours."""
    import numpy as np
    from scipy.sparse import csr_matrix

    extra = Vocabulary({"u:elsewhere": 0}, np.ones(1))
    text = csr_matrix(np.zeros((1, 1)))
    favours_research = TypeModel(("news", "research", "report"), extra, np.zeros((2, 3)), np.array([-3.0, 2.0, -3.0]))
    below = math.log(SURE / (1 - SURE)) - 0.5  # the best type's score just under the sureness bound
    unsure = TypeModel(("news", "research", "report"), extra, np.zeros((2, 3)), np.array([-3.0, below, -3.0]))
    for known, model, want in (
        (0.9, favours_research, T.RESEARCH),
        (0.2, favours_research, T.NEWS),
        (0.9, unsure, T.NEWS),
    ):
        assert model.predict(text, [WEBINAR], [known], [T.NEWS]) == [want]
    assert MIN_KNOWN == 0.5 and SURE == 0.2


def test_type_tokens_are_the_address_words_and_the_cue_never_the_stated_type() -> None:
    stated = ClassifyInput(title=WEBINAR.title, summary=WEBINAR.summary, url=WEBINAR.url, type_hint="report")
    tokens = type_tokens(stated, text_cue(stated))
    assert "u:compassionate" in tokens and "c:event" in tokens and "c:report" not in tokens


def test_fewer_than_three_known_types_train_no_type_model(taxonomy: Taxonomy) -> None:
    items = [WEBINAR, WEBINAR, WEBINAR]
    documents = documents_of(Rules(taxonomy), items)
    text = Vocabulary.fit(documents, min_df=1).transform(documents)
    assert train_type_model(text, items, [T.EVENT, T.NEWS, None]) is None


def test_the_shipped_model_types_pages_and_reads_back_the_same(taxonomy: Taxonomy) -> None:
    examples = shipped_examples(shipped_labelled_set(), shipped_page_set(), taxonomy)
    model = load_or_train(examples, taxonomy, None)
    assert model.types is not None and set(model.types.classes) == {t.value for t in T}
    again = model_from_bytes(model_to_bytes(model))
    items = [e.input for e in examples[::25]]
    first = [c.type for c in Classifier(taxonomy, model).classify_many(items)]
    assert first == [c.type for c in Classifier(taxonomy, again).classify_many(items)]
    # deterministic: trained twice, the same weights
    assert (load_or_train(examples, taxonomy, None).types.weights == model.types.weights).all()
    # a page with no stated type is typed by the model: on its own training set it is mostly right
    pages = [e for e in examples if not e.input.type_hint]
    got = Classifier(taxonomy, model).classify_many([e.input for e in pages])
    assert sum(g.type is e.type for g, e in zip(got, pages)) / len(pages) > 0.85
