"""The public archive: every sent issue as a web page (not personalised), an index of them, and their feed."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date, datetime
from html import escape
from pathlib import Path

from markupsafe import Markup
from sqlalchemy import Connection, Engine, select

from aggregator.db.schema import issues
from aggregator.digest.issue import EVENTS, OTHER, IssueContent, load_issue
from aggregator.model import IssueStatus
from aggregator.publish.feeds.calendar import event_ics, event_ids
from aggregator.publish.feeds.model import FORMATS, Feed, FeedEntry, tag_uri
from aggregator.publish.feeds.query import EMPTY_FEED_UPDATED, FeedContext, load_context, to_second
from aggregator.publish.feeds.render import render_feed
from aggregator.publish.feeds.static import TEMPLATES, page_environment, write_atomically
from aggregator.settings import Settings
from aggregator.text.clean import outgoing_url
from aggregator.text.markdown import markdown_blocks, markdown_to_paragraphs
from aggregator.text.sanitize import is_http_url

logger = logging.getLogger(__name__)
MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
FEED_LIMIT = 24  # issues in the archive's feed: two years
STYLESHEET = TEMPLATES / "archive" / "archive.css"  # a file, not inline: the web app's CSP forbids inline styles


@dataclass(frozen=True, slots=True)
class ArchivedIssue:
    """A sent issue as the archive lists it."""

    id: int
    month: str  # YYYY-MM
    sent_at: datetime
    intro: str
    feed_guid: str | None = None  # the id readers already have for it (kept by migration 0006)

    @property
    def month_name(self) -> str:
        """'November 2026'."""
        return date.fromisoformat(self.month + "-01").strftime("%B %Y")


@dataclass(frozen=True, slots=True)
class ArchiveReport:
    output_dir: Path
    issues: int
    written: int
    unchanged: int


def is_month(value: str) -> bool:
    return bool(MONTH.match(value))


def list_sent_issues(conn: Connection, *, limit: int | None = None) -> tuple[ArchivedIssue, ...]:
    """Sent issues, newest month first."""
    query = (
        select(issues.c.id, issues.c.month, issues.c.sent_at, issues.c.intro, issues.c.feed_guid)
        .where(issues.c.status == IssueStatus.SENT)
        .order_by(issues.c.month.desc())
    )
    rows = conn.execute(query.limit(limit) if limit else query).all()
    return tuple(
        ArchivedIssue(r.id, r.month, r.sent_at or EMPTY_FEED_UPDATED, r.intro or "", r.feed_guid) for r in rows
    )


def find_sent_issue(conn: Connection, month: str) -> ArchivedIssue | None:
    """The issue of `month` if it has been sent; None when there is none (drafts are not public)."""
    row = conn.execute(
        select(issues.c.id, issues.c.month, issues.c.sent_at, issues.c.intro).where(
            issues.c.month == month, issues.c.status == IssueStatus.SENT
        )
    ).one_or_none()
    return ArchivedIssue(row.id, row.month, row.sent_at or EMPTY_FEED_UPDATED, row.intro or "") if row else None


def load_archived_content(conn: Connection, issue: ArchivedIssue, context: FeedContext) -> IssueContent:
    """The issue's items as they were when it was sent ("upcoming" events as of the sending)."""
    return load_issue(conn, issue.id, issue.sent_at, context.source_names)


def section_title(section: str, context: FeedContext) -> str:
    if section == EVENTS:
        return "Upcoming events"
    if section == OTHER:
        return "More resources"
    return context.label_names.get(("theme", section), section.replace("-", " ").capitalize())


def issue_title(issue: ArchivedIssue, context: FeedContext) -> str:
    return f"{context.publisher}: {issue.month_name}"


def paragraphs(text: str) -> list[str]:
    """Editors' Markdown intro as plain-text paragraphs (a link as "text (URL)")."""
    return [" ".join(p.split()) for p in markdown_to_paragraphs(text or "") if p.strip()]


def intro_blocks(text: str) -> list[Markup]:
    """Editors' Markdown intro as cleaned HTML blocks (the same nh3 allow-list as everything fetched)."""
    return [Markup(block) for block in markdown_blocks(text or "")]


def _page_globals(context: FeedContext) -> dict:
    return {
        "publisher": context.publisher,
        "home_url": context.base_url + "/",
        "archive_url": context.base_url + "/archive/",
    }


def render_issue_page(issue: ArchivedIssue, content: IssueContent, context: FeedContext) -> str:
    """One sent issue as a public page (pure): intro, sections, events; no subscriber links."""
    sections = [(section_title(name, context), name == EVENTS, items) for name, items in content.sections()]
    return (
        page_environment()
        .get_template("archive/issue.html")
        .render(
            **_page_globals(context),
            title=issue_title(issue, context),
            issue=issue,
            intro=intro_blocks(issue.intro),
            sections=sections,
            feed_url=context.base_url + "/archive/feed",
        )
    )


def render_archive_index(archived: tuple[ArchivedIssue, ...], context: FeedContext) -> str:
    """The list of past issues (pure), newest first."""
    return (
        page_environment()
        .get_template("archive/index.html")
        .render(
            **_page_globals(context),
            issues=archived,
            feed_url=context.base_url + "/archive/feed",
            page_url=lambda issue: issue_url(issue, context),
        )
    )


def issue_url(issue: ArchivedIssue, context: FeedContext) -> str:
    return f"{context.base_url}/archive/{issue.month}"


def archive_feed(conn: Connection, context: FeedContext) -> Feed:
    """The feed of sent issues: one entry per issue, listing its resources."""
    archived = list_sent_issues(conn, limit=FEED_LIMIT)
    entries = tuple(_issue_entry(issue, load_archived_content(conn, issue, context), context) for issue in archived)
    return Feed(
        id=tag_uri(context.tag_authority, "archive"),
        title=f"{context.publisher}: past issues",
        description="Every monthly digest, as it was sent.",
        home_url=context.base_url + "/archive/",
        url_stem=context.base_url + "/archive/feed",
        publisher=context.publisher,
        updated=max((e.updated for e in entries), default=EMPTY_FEED_UPDATED),
        entries=entries,
    )


def _issue_entry(issue: ArchivedIssue, content: IssueContent, context: FeedContext) -> FeedEntry:
    parts = [str(block) for block in intro_blocks(issue.intro)]
    for name, items in content.sections():
        parts.append(f"<h3>{escape(section_title(name, context))}</h3><ul>")
        for item in items:
            title = escape(" ".join(item.title.split()))
            parts.append(
                f'<li><a href="{escape(outgoing_url(item.url))}">{title}</a></li>'
                if is_http_url(item.url)
                else f"<li>{title}</li>"
            )
        parts.append("</ul>")
    sent = to_second(issue.sent_at)
    return FeedEntry(
        guid=issue.feed_guid or tag_uri(context.tag_authority, f"issue/{issue.month}"),
        title=issue_title(issue, context),
        url=issue_url(issue, context),
        published=sent,
        updated=sent,
        summary=" ".join(paragraphs(issue.intro)),
        summary_html="\n".join(parts),
    )


def build_archive(
    engine: Engine, settings: Settings, now: datetime, *, output: Path | None = None, context: FeedContext | None = None
) -> ArchiveReport:
    """Write the archive as static files into `output` (default settings.archive_dir): index.html,
    <YYYY-MM>/index.html per sent issue, feed.rss, feed.atom, feed.json and the stylesheet, and each approved
    event's .ics into events/ beside it (the digest's /events/<id>.ics links); atomically, only when changed."""
    context = context or load_context(settings)
    out = output or settings.archive_dir
    files: dict[Path, bytes] = {}
    with engine.connect() as conn:
        archived = list_sent_issues(conn)
        for issue in archived:
            content = load_archived_content(conn, issue, context)
            files[out / issue.month / "index.html"] = render_issue_page(issue, content, context).encode("utf-8")
        feed = archive_feed(conn, context)
        # the digest's "Add to your calendar" links, for a site served from these files
        events_out = (output.parent if output else settings.data_dir) / "events"
        for resource_id in event_ids(conn):
            body = event_ics(conn, resource_id, now, context)
            if body is not None:
                files[events_out / f"{resource_id}.ics"] = body
    files[out / "index.html"] = render_archive_index(archived, context).encode("utf-8")
    files[out / STYLESHEET.name] = STYLESHEET.read_bytes()
    for fmt, spec in FORMATS.items():
        files[out / f"feed.{spec.extension}"] = render_feed(feed, fmt)
    written = sum(write_atomically(path, data) for path, data in files.items())
    logger.info("archive built", extra={"count": len(archived), "written": written, "path": str(out)})
    return ArchiveReport(out, len(archived), written, len(files) - written)
