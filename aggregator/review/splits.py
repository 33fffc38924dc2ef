"""Splitting a wrong merge: both resources apart, both labelled, linked both ways, audited, and a word when the other is in an issue."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select

from aggregator.classify.classifier import Classifier
from aggregator.classify.label import label_resources
from aggregator.config.sources import Hints
from aggregator.db.schema import issue_items, issues, merges, resources
from aggregator.dedupe.merge import split_merge
from aggregator.digest.issue import REMOVED
from aggregator.model import IssueStatus, ResourceStatus
from aggregator.review.lifecycle import record_audit


@dataclass(frozen=True, slots=True)
class SplitOutcome:
    """What a split did: the resource that is separate again, the one it was merged into, and the month of an
    unsent issue that already carries the kept one (approving the other too would put both halves in it)."""

    restored_id: int
    restored_title: str
    kept_id: int
    kept_title: str
    kept_in_issue: str | None


def split_resources(
    conn: Connection,
    merge_id: int,
    *,
    user_id: int | None,
    editor: str | None,
    now: datetime,
    classifier: Classifier,
    hints: Mapping[str, Hints],
) -> SplitOutcome:
    """Split merge `merge_id` (MergeError when it is unknown or split already) and label the split-off
    resource now, and the kept one too while it is still pending (its entries changed)."""
    restored = split_merge(conn, merge_id, editor=editor, now=now)
    kept = conn.execute(select(merges.c.kept_id).where(merges.c.id == merge_id)).scalar_one()
    record_audit(
        conn,
        user_id=user_id,
        action="split",
        subject_type="resource",
        subject_id=restored,
        now=now,
        detail={"merge": merge_id, "kept": kept},
    )
    rows = {
        r.id: r
        for r in conn.execute(
            select(resources.c.id, resources.c.title, resources.c.status).where(resources.c.id.in_([restored, kept]))
        )
    }
    label_resources(
        conn, [restored] + ([kept] if rows[kept].status == ResourceStatus.PENDING else []), classifier, hints, now
    )
    month = conn.execute(
        select(issues.c.month)
        .join(issue_items, issue_items.c.issue_id == issues.c.id)
        .where(issue_items.c.resource_id == kept, issue_items.c.section != REMOVED, issues.c.status != IssueStatus.SENT)
        .order_by(issues.c.month.desc())
        .limit(1)
    ).scalar_one_or_none()
    return SplitOutcome(restored, rows[restored].title, kept, rows[kept].title, month)


@dataclass(frozen=True, slots=True)
class SplitPair:
    """Two resources an editor split apart that are both in one issue: readers may see the same thing twice."""

    kept_id: int
    kept_title: str
    split_id: int
    split_title: str


def split_pairs_in_issue(conn: Connection, issue_id: int) -> list[SplitPair]:
    """Every split merge whose two halves are both (still) in the issue."""
    present = set(
        conn.execute(
            select(issue_items.c.resource_id).where(
                issue_items.c.issue_id == issue_id, issue_items.c.section != REMOVED
            )
        ).scalars()
    )
    if not present:
        return []
    kept, absorbed = resources.alias("kept"), resources.alias("absorbed")
    rows = conn.execute(
        select(merges.c.kept_id, merges.c.absorbed_id, kept.c.title.label("kt"), absorbed.c.title.label("at"))
        .join(kept, kept.c.id == merges.c.kept_id)
        .join(absorbed, absorbed.c.id == merges.c.absorbed_id)
        .where(merges.c.split_at.is_not(None), merges.c.kept_id.in_(present), merges.c.absorbed_id.in_(present))
        .order_by(merges.c.id)
    )
    return [SplitPair(r.kept_id, r.kt, r.absorbed_id, r.at) for r in rows]
