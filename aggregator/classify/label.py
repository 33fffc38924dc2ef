"""Labelling stored resources: the classifier's labels (with reasons) written beside editors' own."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, and_, bindparam, delete, insert, or_, select, update

from aggregator.classify.classifier import Classifier
from aggregator.classify.values import Classification, ClassifyInput, TrainingExample
from aggregator.config.sources import Hints
from aggregator.db.schema import entries, label_corrections, labels, resources

logger = logging.getLogger(__name__)
BATCH = 500


# what the classifier reads of a stored resource (with its entries' tags and sources, `_inputs`)
_READ = (
    resources.c.id,
    resources.c.title,
    resources.c.summary,
    resources.c.type,
    resources.c.type_stated,
    resources.c.url,
)


@dataclass(frozen=True, slots=True)
class LabelReport:
    """What a classification pass did."""

    classified: int
    off_topic: int


def classify_resources(
    engine: Engine, classifier: Classifier, hints: Mapping[str, Hints], now: datetime, *, everything: bool = False
) -> LabelReport:
    """Label pending resources not classified since they last changed (or every live one)."""
    query = select(*_READ)
    query = query.where(resources.c.status != "merged")
    if not everything:
        query = query.where(
            resources.c.status == "pending",
            or_(resources.c.classified_at.is_(None), resources.c.classified_at < resources.c.modified_at),
        )
    classified = off_topic = 0
    with engine.connect() as conn:
        rows = conn.execute(query.order_by(resources.c.id)).all()
    for start in range(0, len(rows), BATCH):
        batch = rows[start : start + BATCH]
        with engine.begin() as conn:
            inputs = _inputs(conn, batch, hints)
            results = classifier.classify_many([inputs[row.id] for row in batch])
            write_classifications(conn, [(row.id, result) for row, result in zip(batch, results, strict=True)], now)
            off_topic += sum(result.off_topic for result in results)
        classified += len(batch)
    logger.info("classified resources", extra={"count": classified})
    return LabelReport(classified, off_topic)


def _inputs(conn: Connection, rows: Sequence, hints: Mapping[str, Hints]) -> dict[int, ClassifyInput]:
    ids = [row.id for row in rows]
    tags: dict[int, list[str]] = defaultdict(list)
    sources: dict[int, list[str]] = defaultdict(list)
    for entry in conn.execute(
        select(entries.c.resource_id, entries.c.source_id, entries.c.tags)
        .where(entries.c.resource_id.in_(ids))
        .order_by(entries.c.id)
    ):
        tags[entry.resource_id].extend(t for t in entry.tags if t not in tags[entry.resource_id])
        sources[entry.resource_id].append(entry.source_id)
    inputs = {}
    for row in rows:
        source_ids = sources.get(row.id, [])
        merged = [hints.get(s, Hints()) for s in source_ids]
        inputs[row.id] = ClassifyInput(
            title=row.title,
            summary=row.summary,
            tags=tuple(tags.get(row.id, ())),
            source_id=source_ids[0] if source_ids else None,
            hints_audiences=tuple(dict.fromkeys(a for h in merged for a in h.audiences)),
            hints_themes=tuple(dict.fromkeys(t for h in merged for t in h.themes)),
            type_hint=row.type if row.type_stated else None,  # a guessed type: the classifier decides it
            type_guess=None if row.type_stated else row.type,
            url=row.url,
        )
    return inputs


def write_classifications(conn: Connection, results: Sequence[tuple[int, Classification]], now: datetime) -> None:
    """Replace the classifier's labels of these resources and store their certainty (as `refresh_certainty`
    would), a handful of statements per batch rather than seven per resource; editors' labels and removals stand."""
    if not results:
        return
    ids = [resource_id for resource_id, _ in results]
    conn.execute(delete(labels).where(labels.c.resource_id.in_(ids), labels.c.origin == "classifier"))
    kept: dict[int, dict[tuple[str, str], float]] = defaultdict(dict)
    for r in conn.execute(
        select(labels.c.resource_id, labels.c.kind, labels.c.label_id, labels.c.confidence).where(
            labels.c.resource_id.in_(ids)
        )
    ):
        kept[r.resource_id][(r.kind, r.label_id)] = r.confidence
    removed: dict[int, set[tuple[str, str]]] = defaultdict(set)
    for r in conn.execute(
        select(label_corrections.c.resource_id, label_corrections.c.kind, label_corrections.c.label_id).where(
            label_corrections.c.resource_id.in_(ids), label_corrections.c.action == "remove"
        )
    ):
        removed[r.resource_id].add((r.kind, r.label_id))
    rows, changes = [], []
    for resource_id, result in results:
        stands = kept.get(resource_id, {})
        added = [
            {
                "resource_id": resource_id,
                "kind": label.kind,
                "label_id": label.id,
                "confidence": round(label.confidence, 4),
                "origin": "classifier",
                "reasons": [{"signal": r.signal, "detail": r.detail} for r in label.reasons],
            }
            for label in result.labels
            if (label.kind, label.id) not in stands and (label.kind, label.id) not in removed.get(resource_id, ())
        ]
        rows += added
        confidences = [(kind, c) for (kind, _), c in stands.items()] + [(r["kind"], r["confidence"]) for r in added]
        changes.append(
            {
                "rid": resource_id,
                "off_topic": result.off_topic,
                "classified_at": now,
                "certainty": certainty_of(confidences),
                "relevance": result.relevance.detail if result.relevance else None,
                "type": result.type.value,  # the stated type as it was, or the type model's decision
            }
        )
    if rows:
        conn.execute(insert(labels), rows)
    conn.execute(
        update(resources)
        .where(resources.c.id == bindparam("rid"))
        .values(
            off_topic=bindparam("off_topic"),
            classified_at=bindparam("classified_at"),
            certainty=bindparam("certainty"),
            relevance=bindparam("relevance"),
            type=bindparam("type"),
        ),
        changes,
    )


def refresh_certainty(conn: Connection, resource_id: int) -> float:
    """Store how sure the resource's labels are: the lower of its best theme's and best audience's
    confidence (an editor's label is 1.0; a kind with no label, 0). The queue's "least sure first" reads it."""
    stored = conn.execute(select(labels.c.kind, labels.c.confidence).where(labels.c.resource_id == resource_id))
    certainty = certainty_of(stored)
    conn.execute(update(resources).where(resources.c.id == resource_id).values(certainty=certainty))
    return certainty


def certainty_of(confidences: Iterable[tuple[str, float]]) -> float:
    """The lower of the best theme's and the best audience's confidence among (kind, confidence) pairs; a kind
    with no label counts 0."""
    best = {"theme": 0.0, "audience": 0.0}
    for kind, confidence in confidences:
        if kind in best:
            best[kind] = max(best[kind], confidence)
    return round(min(best.values()), 4)


def label_resources(
    conn: Connection, resource_ids: Sequence[int], classifier: Classifier, hints: Mapping[str, Hints], now: datetime
) -> None:
    """Classify these resources now (a resource split off a merge, whose entries changed), in `conn`'s transaction."""
    rows = conn.execute(select(*_READ).where(resources.c.id.in_(list(resource_ids))).order_by(resources.c.id)).all()
    if not rows:
        return
    inputs = _inputs(conn, rows, hints)
    results = classifier.classify_many([inputs[row.id] for row in rows])
    write_classifications(conn, [(row.id, result) for row, result in zip(rows, results, strict=True)], now)


def correct_label(
    conn: Connection, resource_id: int, kind: str, label_id: str, *, add: bool, editor: str | None, now: datetime
) -> None:
    """An editor adds or removes a label: applied now and remembered for the next retraining."""
    conn.execute(
        delete(labels).where(labels.c.resource_id == resource_id, labels.c.kind == kind, labels.c.label_id == label_id)
    )
    if add:
        conn.execute(
            insert(labels).values(
                resource_id=resource_id,
                kind=kind,
                label_id=label_id,
                confidence=1.0,
                origin="editor",
                reasons=[{"signal": "editor", "detail": editor or ""}],
            )
        )
    conn.execute(
        insert(label_corrections).values(
            resource_id=resource_id,
            kind=kind,
            label_id=label_id,
            action="add" if add else "remove",
            editor=editor,
            created_at=now,
        )
    )
    refresh_certainty(conn, resource_id)


def corrected_examples(engine: Engine, hints: Mapping[str, Hints], *, weight: float = 2.0) -> list[TrainingExample]:
    """Every resource an editor corrected, with its labels as they stand now, as training examples."""
    with engine.connect() as conn:
        ids = sorted(set(conn.execute(select(label_corrections.c.resource_id)).scalars()))
        if not ids:
            return []
        rows = conn.execute(select(*_READ).where(resources.c.id.in_(ids))).all()
        inputs = _inputs(conn, rows, hints)
        current: dict[int, dict[str, list[str]]] = defaultdict(lambda: {"audience": [], "theme": []})
        for label in conn.execute(
            select(labels.c.resource_id, labels.c.kind, labels.c.label_id).where(and_(labels.c.resource_id.in_(ids)))
        ):
            current[label.resource_id][label.kind].append(label.label_id)
    return [
        TrainingExample(
            inputs[row.id], tuple(current[row.id]["audience"]), tuple(current[row.id]["theme"]), weight=weight
        )
        for row in rows
    ]
