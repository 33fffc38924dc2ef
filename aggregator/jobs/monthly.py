"""The monthly pipeline in one pass: fetch, merge duplicates, label, refresh the draft, send what is due,
rebuild the feeds and the archive."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, or_, select

from aggregator.classify.classifier import Classifier
from aggregator.classify.label import LabelReport, classify_resources
from aggregator.config.source_options import Hints
from aggregator.config.sources import SourceConfig
from aggregator.config.taxonomy import Taxonomy, read_taxonomy
from aggregator.db.schema import issues
from aggregator.dedupe.merge import MergeReport, dedupe_resources
from aggregator.ingest.harvest import Fetcher
from aggregator.ingest.run import SourceOutcome, run_fetch, utcnow
from aggregator.model import IssueStatus
from aggregator.settings import Settings

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class MonthlyReport:
    outcomes: tuple[SourceOutcome, ...]
    merges: MergeReport
    labels: LabelReport
    draft_id: int | None = None
    sends: tuple = ()  # SendReport of each issue sent (or resumed) in this pass
    feeds: object | None = None  # feeds BuildReport
    archive: object | None = None  # archive build report


def build_classifier(
    settings: Settings,
    engine: Engine | None = None,
    hints: Mapping[str, Hints] | None = None,
    *,
    taxonomy: Taxonomy | None = None,
) -> Classifier:
    """The taxonomy's rules (default: read from settings.taxonomy_file) and the learned model, trained from
    the shipped labelled sets and (given the database) the editors' corrections on first use, then read from
    the cache until any of them changes."""
    from aggregator.classify.label import corrected_examples
    from aggregator.classify.trained import load_or_train, shipped_examples

    taxonomy = taxonomy or read_taxonomy(settings.taxonomy_file)
    training = shipped_examples(settings.labelled_set_path, settings.page_set_path, taxonomy)
    if engine is not None:
        training += corrected_examples(engine, hints or {})
    return Classifier(taxonomy, load_or_train(training, taxonomy, settings.model_dir))


def source_hints(configs: Sequence[SourceConfig]) -> dict[str, Hints]:
    return {c.id: c.hints for c in configs}


def settle_resources(
    engine: Engine, settings: Settings, configs: Sequence[SourceConfig], now: datetime
) -> tuple[MergeReport, LabelReport]:
    """After a fetch: merge what several sources list, then label what is new or changed."""
    merges = dedupe_resources(engine, now)
    hints = source_hints(configs)
    labels = classify_resources(engine, build_classifier(settings, engine, hints), hints, now)
    return merges, labels


def current_month(settings: Settings, now: datetime) -> str:
    """The month (YYYY-MM) it is now where the editors work."""
    return now.astimezone(ZoneInfo(settings.schedule.timezone)).strftime("%Y-%m")


def run_monthly(
    settings: Settings,
    configs: Sequence[SourceConfig],
    engine: Engine,
    fetcher: Fetcher,
    *,
    on_done: Callable[[SourceOutcome], None] | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> MonthlyReport:
    """One full pass on whatever the settings point at (by default the embedded SQLite, outbox and feeds folders)."""
    from aggregator.digest.issue import prepare_draft
    from aggregator.publish.archive import build_archive
    from aggregator.publish.feeds.build import build_feeds

    outcomes = run_fetch(settings, configs, engine, fetcher, on_done=on_done, clock=clock)
    merges, labels = settle_resources(engine, settings, configs, clock())
    with engine.begin() as conn:
        draft_id = prepare_draft(conn, current_month(settings, clock()), clock())
    sends = send_due_issues(engine, settings, configs, clock)
    feeds = build_feeds(engine, settings, clock())
    archive = build_archive(engine, settings, clock())
    return MonthlyReport(tuple(outcomes), merges, labels, draft_id, tuple(sends), feeds, archive)


def send_due_issues(
    engine: Engine, settings: Settings, configs: Sequence[SourceConfig], clock: Callable[[], datetime] = utcnow
) -> list:
    """Send every issue editors approved whose send time has come (no time set: now), and resume any
    send that stopped part-way, unless an editor paused it."""
    from aggregator.digest.mail.factory import make_mailer
    from aggregator.digest.send import send_issue

    now = clock()
    with engine.connect() as conn:
        due = conn.execute(
            select(issues.c.id, issues.c.month)
            .where(
                or_(
                    issues.c.status == IssueStatus.SENDING,
                    (issues.c.status == IssueStatus.APPROVED)
                    & (issues.c.send_at.is_(None) | (issues.c.send_at <= now)),
                ),
                issues.c.paused_at.is_(None),  # an editor paused it in the web app: it waits for a resume
            )
            .order_by(issues.c.month)
        ).all()
    taxonomy = read_taxonomy(settings.taxonomy_file)
    names = {c.id: c.name for c in configs}
    reports = []
    for issue in due:
        logger.info("sending issue", extra={"issue_id": issue.id, "month": issue.month})
        reports.append(
            send_issue(
                engine,
                issue.id,
                make_mailer(settings, issue.month),
                settings,
                now=clock,
                taxonomy=taxonomy,
                source_names=names,
            )
        )
    return reports
