"""The resource type when the page does not state it (aggregator/classify/typemodel.py): a stated type wins,
then what the address or tags name, then the learned type model, and the text cues only without a model."""

from __future__ import annotations

from pathlib import Path

import pytest

from aggregator.classify.classifier import Classifier
from aggregator.classify.features import Vocabulary
from aggregator.classify.learned import documents_of, model_from_bytes, model_to_bytes
from aggregator.classify.rules import Rules
from aggregator.classify.trained import load_or_train, shipped_examples, shipped_labelled_set, shipped_page_set
from aggregator.classify.typemodel import decide_type, train_type_model, type_tokens
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
    assert decide_type(stated, T.EVENT) is T.REPORT


def test_what_the_address_names_comes_before_the_models_guess() -> None:
    video = ClassifyInput(title="Kindness in care", summary="", url="https://www.youtube.com/watch?v=abc")
    research = ClassifyInput(title="Burnout", summary="doi: 10.1136/bmjoq-2021-001234", url="https://x.org/a")
    section = ClassifyInput(title="Our ward", summary="", url="https://trust.nhs.uk/case-studies/our-ward/")
    assert decide_type(video, T.NEWS) is T.VIDEO
    assert decide_type(research, T.NEWS) is T.RESEARCH
    assert decide_type(section, T.NEWS) is T.CASE_STUDY


def test_a_news_section_is_no_statement_so_the_model_decides() -> None:
    # a blog or news section also carries case studies and guides
    blog = ClassifyInput(title="How we did it", summary="", url="https://trust.nhs.uk/news/how-we-did-it/")
    assert decide_type(blog, T.CASE_STUDY) is T.CASE_STUDY


def test_without_a_model_the_text_cues_decide() -> None:
    assert decide_type(WEBINAR, None) is T.EVENT


def test_type_tokens_are_the_address_words_and_the_cue_never_the_stated_type() -> None:
    stated = ClassifyInput(title=WEBINAR.title, summary=WEBINAR.summary, url=WEBINAR.url, type_hint="report")
    tokens = type_tokens(stated)
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
