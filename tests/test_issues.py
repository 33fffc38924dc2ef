"""The month's issue: the draft from approved resources, sections, composition, personalising, lifecycle."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import insert, select

from aggregator.db.schema import audit_log, issues, labels, resources
from aggregator.digest.issue import EVENTS, load_issue, move_item, personalise, prepare_draft, remove_item, set_intro
from aggregator.model import Event, RawEntry
from aggregator.review.lifecycle import TransitionError, change_issue_status, change_resource_status
from tests.support.resources import NOW, source, store

HUB, NHSE = source("pslhub"), source("nhse")


def seed(engine):
    store(
        engine,
        HUB,
        [
            RawEntry(url="https://pslhub.example/a", title="Kindness toolkit", published=NOW - timedelta(days=3)),
            RawEntry(url="https://pslhub.example/b", title="Leadership guide", published=NOW - timedelta(days=2)),
            RawEntry(
                url="https://pslhub.example/c",
                title="December conversation",
                event=Event(start=NOW + timedelta(days=30)),
            ),
            RawEntry(url="https://pslhub.example/d", title="Not approved"),
        ],
    )
    store(engine, NHSE, [RawEntry(url="https://pslhub.example/a", title="Kindness toolkit (NHSE)")])
    with engine.begin() as conn:
        ids = dict(conn.execute(select(resources.c.title, resources.c.id)).all())
        conn.execute(
            insert(labels),
            [
                {
                    "resource_id": ids["Kindness toolkit"],
                    "kind": "theme",
                    "label_id": "kindness",
                    "confidence": 0.9,
                    "reasons": [],
                    "origin": "classifier",
                },
                {
                    "resource_id": ids["Kindness toolkit"],
                    "kind": "audience",
                    "label_id": "frontline-staff",
                    "confidence": 0.8,
                    "reasons": [],
                    "origin": "classifier",
                },
                {
                    "resource_id": ids["Leadership guide"],
                    "kind": "theme",
                    "label_id": "compassionate-leadership",
                    "confidence": 0.7,
                    "reasons": [],
                    "origin": "classifier",
                },
                {
                    "resource_id": ids["Leadership guide"],
                    "kind": "audience",
                    "label_id": "leaders",
                    "confidence": 0.7,
                    "reasons": [],
                    "origin": "classifier",
                },
            ],
        )
        for title in ("Kindness toolkit", "Leadership guide", "December conversation"):
            change_resource_status(conn, ids[title], "approved", user_id=None, now=NOW)
    return ids


def test_draft_groups_approved_resources_and_upcoming_events(engine):
    ids = seed(engine)
    with engine.begin() as conn:
        issue_id = prepare_draft(conn, "2026-11", NOW)
        content = load_issue(conn, issue_id, NOW, {"pslhub": "PSL hub", "nhse": "NHS England"})
    sections = dict(content.sections())
    assert [i.title for i in sections["kindness"]] == ["Kindness toolkit"]
    assert [i.title for i in sections[EVENTS]] == ["December conversation"]
    assert content.sections()[-1][0] == EVENTS
    assert "Not approved" not in [i.title for i in content.items]
    assert ids["Not approved"] not in [i.resource_id for i in content.items]
    with engine.begin() as conn:  # refreshing adds nothing twice
        assert prepare_draft(conn, "2026-11", NOW) == issue_id
        assert len(load_issue(conn, issue_id, NOW).items) == 3


def test_also_listed_on_names_the_other_partners(engine):
    ids = seed(engine)
    from aggregator.dedupe.merge import dedupe_resources

    dedupe_resources(engine, NOW)
    with engine.begin() as conn:
        content = load_issue(
            conn, prepare_draft(conn, "2026-11", NOW), NOW, {"pslhub": "PSL hub", "nhse": "NHS England"}
        )
    toolkit = next(i for i in content.items if i.resource_id == ids["Kindness toolkit"])
    assert toolkit.also_listed_on == ("NHS England",)
    with engine.begin() as conn:  # issue 15: a source with no public name is not named by its id
        content = load_issue(conn, prepare_draft(conn, "2026-11", NOW), NOW, {"pslhub": "PSL hub"})
    toolkit = next(i for i in content.items if i.resource_id == ids["Kindness toolkit"])
    assert toolkit.also_listed_on == ()


def test_compose_reorder_remove_and_intro(engine):
    ids = seed(engine)
    with engine.begin() as conn:
        issue_id = prepare_draft(conn, "2026-11", NOW)
        move_item(conn, issue_id, ids["Leadership guide"], position=1)
        remove_item(conn, issue_id, ids["December conversation"])
        set_intro(conn, issue_id, "Welcome to November.", NOW)
        prepare_draft(conn, "2026-11", NOW)  # a removed resource is not put back
        content = load_issue(conn, issue_id, NOW)
        december = prepare_draft(conn, "2026-12", NOW + timedelta(days=20))
        later = load_issue(conn, december, NOW + timedelta(days=20))
    assert [i.title for i in content.items] == ["Leadership guide", "Kindness toolkit"]
    assert content.intro == "Welcome to November."
    assert [i.title for i in later.items] == ["December conversation"]  # goes into a later month


def test_personalise_filters_and_orders(engine):
    seed(engine)
    with engine.begin() as conn:
        content = load_issue(conn, prepare_draft(conn, "2026-11", NOW), NOW)
    assert personalise(content, [], []) == content
    leaders = personalise(content, ["leaders"], [])
    assert "Kindness toolkit" not in [i.title for i in leaders.items]
    assert "Leadership guide" in [i.title for i in leaders.items]
    kindness = personalise(content, [], ["kindness"])
    assert [i.title for i in kindness.items] == ["Kindness toolkit"]


def test_lifecycle_is_checked_and_audited(engine):
    ids = seed(engine)
    with engine.begin() as conn:
        issue_id = prepare_draft(conn, "2026-11", NOW)
        with pytest.raises(TransitionError):
            change_issue_status(conn, issue_id, "sent", user_id=None, now=NOW)
        change_issue_status(conn, issue_id, "approved", user_id=None, now=NOW)
        change_issue_status(conn, issue_id, "sending", user_id=None, now=NOW)
        with pytest.raises(TransitionError):
            change_issue_status(conn, issue_id, "draft", user_id=None, now=NOW)
        change_issue_status(conn, issue_id, "sent", user_id=None, now=NOW)
        with pytest.raises(TransitionError):
            change_resource_status(conn, ids["Not approved"], "merged", user_id=None, now=NOW)
        change_resource_status(conn, ids["Not approved"], "rejected", user_id=None, now=NOW, reason="off-topic")
        row = conn.execute(select(resources).where(resources.c.id == ids["Not approved"])).one()
        actions = list(conn.execute(select(audit_log.c.action).order_by(audit_log.c.id)).scalars())
        sent_at = conn.execute(select(issues.c.sent_at)).scalar_one()
    assert row.status == "rejected" and row.rejection_reason == "off-topic"
    assert actions[-4:] == ["issue-approved", "issue-sending", "issue-sent", "reject"]
    assert sent_at is not None
