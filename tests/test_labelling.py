"""Labels on stored resources: reasons kept, off-topic flagged, editors' corrections respected and learnt from."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from aggregator.classify.classifier import Classifier
from aggregator.classify.label import classify_resources, correct_label, corrected_examples
from aggregator.config.sources import Hints
from aggregator.config.taxonomy import load_taxonomy
from aggregator.db.schema import label_corrections, labels, resources
from aggregator.model import RawEntry
from aggregator.review.queue import load_card
from tests.support.resources import NOW, source, store

ROOT = Path(__file__).resolve().parents[1]
HUB = source("pslhub")
HINTS = {"pslhub": Hints(audiences=("patient-safety",))}


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return Classifier(load_taxonomy(ROOT / "taxonomy.yaml"))


def stored_labels(engine, title: str) -> dict[tuple[str, str], tuple[str, list]]:
    with engine.connect() as conn:
        rid = conn.execute(select(resources.c.id).where(resources.c.title == title)).scalar_one()
        return {
            (r.kind, r.label_id): (r.origin, r.reasons)
            for r in conn.execute(select(labels).where(labels.c.resource_id == rid))
        }


def seed(engine):
    store(
        engine,
        HUB,
        [
            RawEntry(
                url="https://pslhub.example/1",
                title="Schwartz Rounds: reflective practice for ward teams",
                summary_html="<p>How Schwartz Rounds support staff wellbeing and reflection.</p>",
                tags=("Health and care staff",),
            ),
            RawEntry(
                url="https://pslhub.example/2",
                title="Car park closure on Saturday",
                summary_html="<p>The visitor car park will be closed for resurfacing.</p>",
            ),
        ],
    )


def test_labels_carry_reasons_and_off_topic_is_flagged(engine, classifier):
    seed(engine)
    report = classify_resources(engine, classifier, HINTS, NOW)
    assert report.classified == 2 and report.off_topic == 1
    found = stored_labels(engine, "Schwartz Rounds: reflective practice for ward teams")
    origin, reasons = found[("theme", "reflective-practice")]
    assert origin == "classifier" and any("Schwartz" in r["detail"] for r in reasons)
    assert ("audience", "frontline-staff") in found  # the partner's tag, mapped
    with engine.connect() as conn:
        flags = dict(conn.execute(select(resources.c.title, resources.c.off_topic)).all())
        why = dict(conn.execute(select(resources.c.title, resources.c.relevance)).all())
        car_park = conn.execute(select(resources.c.id).where(resources.c.title.startswith("Car park"))).scalar_one()
        card = load_card(conn, car_park)
    assert flags["Car park closure on Saturday"] is True
    # the deciding signal is kept, and the editor's card says it beside "probably off-topic"
    assert why["Car park closure on Saturday"].startswith("not about health and care")
    assert why["Schwartz Rounds: reflective practice for ward teams"]  # on topic: its deciding signal too
    assert card is not None and card.relevance == why["Car park closure on Saturday"]
    # nothing changed since: nothing to classify again
    assert classify_resources(engine, classifier, HINTS, NOW).classified == 0


def test_editor_corrections_stand_and_become_training_examples(engine, classifier):
    seed(engine)
    classify_resources(engine, classifier, HINTS, NOW)
    title = "Schwartz Rounds: reflective practice for ward teams"
    with engine.begin() as conn:
        rid = conn.execute(select(resources.c.id).where(resources.c.title == title)).scalar_one()
        correct_label(conn, rid, "theme", "reflective-practice", add=False, editor="ed", now=NOW)
        correct_label(conn, rid, "theme", "teamwork", add=True, editor="ed", now=NOW)
    classify_resources(engine, classifier, HINTS, NOW, everything=True)
    found = stored_labels(engine, title)
    assert ("theme", "reflective-practice") not in found  # the editor's removal stands
    assert found[("theme", "teamwork")][0] == "editor"
    examples = corrected_examples(engine, HINTS)
    assert len(examples) == 1
    assert "teamwork" in examples[0].themes and "reflective-practice" not in examples[0].themes
    assert examples[0].input.hints_audiences == ("patient-safety",)
    with engine.connect() as conn:
        assert len(conn.execute(select(label_corrections)).all()) == 2
