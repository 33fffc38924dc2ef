"""The quality gate before an issue is approved: dead and login-walled links, repeats, images without alt text."""

from __future__ import annotations

import re
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from html.parser import HTMLParser
from typing import Protocol
from urllib.parse import urlsplit

from sqlalchemy import Connection, select

from aggregator.config.taxonomy import Taxonomy
from aggregator.db.schema import issue_items, issues
from aggregator.digest.issue import REMOVED, load_issue
from aggregator.digest.render import render_digest
from aggregator.errors import (
    BlockedAddressError,
    DeadlineExceededError,
    FetchError,
    HTTPStatusError,
    RobotsDisallowedError,
)
from aggregator.model import IssueStatus
from aggregator.settings import Settings

REPEAT_WINDOW = 3  # issues
_LOGIN_PATH = re.compile(
    r"(^|[/._-])(log-?in|sign-?in|sso|auth(enticate)?|cas|idp|saml|account/login)([/._?-]|$)", re.IGNORECASE
)
# A fetch that never reached the site (aggregator.ingest.fetch words these errors so): no verdict on the link.
_UNREACHED = re.compile(
    r"cannot resolve|has no IPv4 or IPv6 address|timed out|Temporary failure in name resolution", re.IGNORECASE
)
_PASSWORD_FIELD = re.compile(rb"<input[^>]+type\s*=\s*[\"']?password", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class LinkResult:
    url: str
    verdict: str  # ok | dead | login | unchecked
    detail: str = ""


class LinkChecker(Protocol):
    def check(self, url: str) -> LinkResult: ...


@dataclass(frozen=True, slots=True)
class QualityProblem:
    kind: str  # dead-link | login-link | unchecked-link | repeat | missing-alt
    resource_id: int | None
    title: str
    detail: str


@dataclass(frozen=True, slots=True)
class QualityReport:
    issue_id: int
    problems: tuple[QualityProblem, ...]
    links_checked: int

    @property
    def unchecked(self) -> tuple[QualityProblem, ...]:
        """The links the gate could not check: it cannot say they work."""
        return tuple(p for p in self.problems if p.kind == "unchecked-link")

    @property
    def ok(self) -> bool:
        """No problem at all: a link that could not be checked is not a pass (see `passes`)."""
        return not self.problems

    def passes(self, *, accept_unchecked: bool = False) -> bool:
        """True when nothing must be fixed; links not checked pass only when an editor accepts them."""
        return all(accept_unchecked and p.kind == "unchecked-link" for p in self.problems)


def check_issue(
    conn: Connection,
    issue_id: int,
    checker: LinkChecker,
    now: datetime,
    *,
    settings: Settings,
    taxonomy: Taxonomy,
    workers: int = 8,
) -> QualityReport:
    """Check every link of the issue's resources, repeats of the last 3 sent issues, and alt text."""
    content = load_issue(conn, issue_id, now)
    owners: dict[str, list[tuple[int, str]]] = {}
    for item in content.items:
        for url in (item.url, item.image_url, item.event.registration_url if item.event else None):
            if url:
                owners.setdefault(url, []).append((item.resource_id, item.title))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(checker.check, owners))
    problems: list[QualityProblem] = []
    for result in results:
        if result.verdict != "ok":
            for resource_id, title in owners[result.url]:
                detail = (
                    f"{result.url}: not checked ({result.detail or 'no reason given'})"
                    if result.verdict == "unchecked"
                    else f"{result.url}: {result.detail}".strip(": ")
                )
                problems.append(QualityProblem(f"{result.verdict}-link", resource_id, title, detail))
    repeated = _recently_sent(conn, issue_id, content.month)
    problems += [
        QualityProblem("repeat", i.resource_id, i.title, f"already sent in {repeated[i.resource_id]}")
        for i in content.items
        if i.resource_id in repeated
    ]
    html = render_digest(content, recipient=None, settings=settings, taxonomy=taxonomy).html
    problems += [
        QualityProblem("missing-alt", None, "", f"image {src} has no alt text") for src in images_without_alt(html)
    ]
    if not content.items:
        problems.append(QualityProblem("empty", None, "", "the issue has no resources: add approved resources"))
    return QualityReport(issue_id=issue_id, problems=tuple(problems), links_checked=len(results))


def images_without_alt(html: str) -> list[str]:
    """The src of every <img> whose alt is missing or blank."""
    finder = _ImageFinder()
    finder.feed(html)
    finder.close()
    return finder.missing


class _ImageFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.missing: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img":
            values = dict(attrs)
            if not (values.get("alt") or "").strip():
                self.missing.append(values.get("src") or "(no src)")


def _recently_sent(conn: Connection, issue_id: int, month: str) -> dict[int, str]:
    recent = conn.execute(
        select(issues.c.id, issues.c.month)
        .where(
            issues.c.id != issue_id,
            issues.c.status.in_((IssueStatus.SENDING, IssueStatus.SENT)),
            issues.c.month < month,
        )
        .order_by(issues.c.month.desc())
        .limit(REPEAT_WINDOW)
    ).all()
    months = {row.id: row.month for row in recent}
    if not months:
        return {}
    found: dict[int, str] = {}
    for row in conn.execute(
        select(issue_items.c.resource_id, issue_items.c.issue_id).where(
            issue_items.c.issue_id.in_(months), issue_items.c.section != REMOVED
        )
    ):
        found.setdefault(row.resource_id, months[row.issue_id])
    return found


def is_login_url(url: str) -> bool:
    parts = urlsplit(url)
    return bool(_LOGIN_PATH.search(parts.path) or re.search(r"(return|redirect)_?(url|to)=", parts.query, re.I))


class FetcherLinkChecker:
    """Production checker over aggregator.ingest.fetch.Fetcher (guarded, polite GET following redirects by hand).

    The Fetcher only does GET, so there is no HEAD first; its body cap keeps a big page cheap."""

    def __init__(self, fetcher) -> None:
        self._fetcher = fetcher

    def check(self, url: str) -> LinkResult:
        try:
            fetched = self._fetcher.fetch(url)
        except RobotsDisallowedError:
            return LinkResult(url, "unchecked", "robots.txt does not let us check it")
        except BlockedAddressError as exc:  # a private address, or a name that does not resolve (offline)
            return LinkResult(url, "unchecked", exc.message)
        except DeadlineExceededError:
            return LinkResult(url, "unchecked", "the site did not answer in time")
        except HTTPStatusError as exc:
            return LinkResult(url, "login" if exc.status in (401, 403) else "dead", f"HTTP {exc.status}")
        except FetchError as exc:
            if _UNREACHED.search(exc.message):  # no answer at all (offline, DNS down): says nothing of the link
                return LinkResult(url, "unchecked", exc.message)
            return LinkResult(url, "dead", exc.message)
        return classify_final(url, fetched.url, fetched.body)


def classify_final(url: str, final_url: str, body: bytes = b"") -> LinkResult:
    """A link that answered: login-walled when it ended on a login page, else ok."""
    if final_url != url and is_login_url(final_url):
        return LinkResult(url, "login", f"redirects to a login page {final_url}")
    if _PASSWORD_FIELD.search(body[:200_000]):
        return LinkResult(url, "login", "the page asks for a password")
    return LinkResult(url, "ok")


def summarize(problems: Iterable[QualityProblem]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for problem in problems:
        counts[problem.kind] = counts.get(problem.kind, 0) + 1
    return counts
