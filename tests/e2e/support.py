"""Helpers shared by the web app's tests: settings over a test database, seeded resources, a signed-in client; for
the browser tests, the demo month served, a signed-in page, axe-core and screenshots (the browser fixture is in
conftest.py)."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import insert, select

from aggregator.db.schema import issue_items, labels, resources, subscribers
from aggregator.model import RawEntry
from aggregator.people.users import Passwords, add_user
from aggregator.settings import Settings
from tests.support.resources import NOW, source, store

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery staple"
ADMIN = "ada@example.org"
CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = ROOT / "tests" / "artifacts" / "screenshots"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
# every browser test module: `pytestmark = IN_BROWSER`
IN_BROWSER = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="Debian chromium is not installed at /usr/bin/chromium (apt-get install chromium; .ci/run installs it)",
    ),
]
XSS_TITLE = "<img src=x onerror=alert(1)>"
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def fast_passwords() -> Passwords:
    """argon2id with small parameters: the same code path, a fraction of the time."""
    return Passwords(PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1))


def web_settings(tmp_path: Path, database_url: str, **web) -> Settings:
    settings = Settings(
        data_dir=tmp_path,
        database_url=database_url,
        sources_file=ROOT / "sources.yaml",
        taxonomy_file=ROOT / "taxonomy.yaml",
        secret_key="test-secret-" + "x" * 32,
    )
    if web:
        settings = settings.model_copy(update={"web": settings.web.model_copy(update=web)})
    return settings


def add_account(engine, email: str, role: str, passwords: Passwords, name: str = "") -> int:
    with engine.begin() as conn:
        return add_user(
            conn, email, PASSWORD, role=role, name=name or email.split("@")[0].title(), now=NOW, passwords=passwords
        )


def seed_resources(engine) -> dict[str, int]:
    """Five pending resources from two sources (one of them merged), with labels; title -> id."""
    hub, nhse = source("pslhub-good-practice"), source("nhse-culture-inspiration")
    store(
        engine,
        hub,
        [
            RawEntry(
                url="https://hub.example/toolkit",
                title="Kindness toolkit",
                summary_html="<p>A <strong>toolkit</strong><script>alert(1)</script> for wards.</p>",
                published=NOW - timedelta(days=3),
            ),
            RawEntry(
                url="https://hub.example/leaders",
                title="Compassionate leadership guide",
                published=NOW - timedelta(days=2),
            ),
            RawEntry(url="https://hub.example/xss", title=XSS_TITLE, published=NOW - timedelta(days=1)),
            RawEntry(url="https://hub.example/offtopic", title="Car park charges", published=NOW),
        ],
        now=NOW,
    )
    store(
        engine,
        nhse,
        [RawEntry(url="https://nhse.example/toolkit", title="The kindness toolkit (NHSE)")],
        now=NOW + timedelta(minutes=1),
    )
    with engine.begin() as conn:
        # Normalisation now strips tags from titles; stored as if an older version had let it through, since
        # the pages must still render such a row inert.
        conn.execute(resources.update().where(resources.c.url == "https://hub.example/xss").values(title=XSS_TITLE))
        ids = dict(conn.execute(select(resources.c.title, resources.c.id)).all())
        conn.execute(
            insert(labels),
            [
                {
                    "resource_id": ids["Kindness toolkit"],
                    "kind": "theme",
                    "label_id": "kindness",
                    "confidence": 0.91,
                    "reasons": [{"signal": "phrase", "detail": "‘kindness’ in the title"}],
                    "origin": "classifier",
                },
                {
                    "resource_id": ids["Kindness toolkit"],
                    "kind": "audience",
                    "label_id": "frontline-staff",
                    "confidence": 0.62,
                    "reasons": [],
                    "origin": "classifier",
                },
                {
                    "resource_id": ids["Compassionate leadership guide"],
                    "kind": "theme",
                    "label_id": "compassionate-leadership",
                    "confidence": 0.8,
                    "reasons": [],
                    "origin": "classifier",
                },
            ],
        )
        conn.execute(resources.update().where(resources.c.id == ids["Car park charges"]).values(off_topic=True))
        from aggregator.dedupe.merge import merge_group

        merge_group(conn, [ids["Kindness toolkit"], ids["The kindness toolkit (NHSE)"]], {}, NOW)
    return ids


def token(html: str) -> str:
    match = _TOKEN.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def sign_in(client, email: str, password: str = PASSWORD, *, next_url: str | None = None):
    page = client.get("/editor/login")
    data = {"email": email, "password": password, "csrf_token": token(page.get_data(as_text=True))}
    if next_url is not None:
        data["next"] = next_url
    return client.post("/editor/login", data=data)


def post(client, path: str, data: dict | None = None, *, page: str = "/editor/", **kwargs):
    """POST a form the way a browser does: with the CSRF token from a page of the app."""
    html = client.get(page).get_data(as_text=True)
    return client.post(path, data={"csrf_token": token(html), **(data or {})}, **kwargs)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"  # axe-core, vendored with its licence


def check_axe(page, name: str, within: str | None = None) -> None:
    """axe-core's WCAG 2.x A/AA rules and best practices on the page (or the part `within` selects): no violations."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "within => axe.run(within ? {include: [within]} : document, {resultTypes: ['violations']})", within
    )
    found = [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
    ]
    assert not found, f"axe on {name}: {found}"


@contextmanager
def serving(app) -> Iterator[str]:
    """The app served on 127.0.0.1 by werkzeug's threaded server in a daemon thread; yields its base URL."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()


def shot(page, name: str, *, full_page: bool = True) -> None:
    """A screenshot of the page in tests/artifacts/screenshots/<name>.png, for a person to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)


def signed_in(browser, base: str, *, width: int = 1280, height: int = 900):
    """A new browser context signed in as the admin, its confirm() dialogs accepted; (context, page)."""
    context = browser.new_context(viewport={"width": width, "height": height}, bypass_csp=True)  # for axe only
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(f"{base}/editor/login")
    page.get_by_label("Email address").fill(ADMIN)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/editor/")
    return context, page


@dataclass(frozen=True, slots=True)
class DemoMonth:
    settings: Settings
    engine: object
    passwords: Passwords
    sites: object  # the FixtureSites, still serving


@contextmanager
def demo_month(tmp: Path, *, smtp: dict | None = None, **web) -> Iterator[DemoMonth]:
    """A database filled by the monthly pass over the partner-site fixtures, with the admin account; the fixture
    sites keep serving until the block ends. `smtp` updates the mail settings, `web` the web app's."""
    from aggregator.cli.fetching import pass_over_sources
    from aggregator.db.engine import create_db_engine
    from aggregator.ingest.fetch import guarded_transport
    from aggregator.jobs.demo import FixtureSites, RewritingTransport, demo_settings, sites_root
    from tests.support.db import fresh_database

    with fresh_database(tmp) as url:
        settings = demo_settings(web_settings(tmp, url, **web), sites_root())
        update = {"fetch": settings.fetch.model_copy(update={"per_host_delay": 0})}
        if smtp:
            update["smtp"] = settings.smtp.model_copy(update=smtp)
        settings = settings.model_copy(update=update)
        with FixtureSites(sites_root()) as sites:
            transport = RewritingTransport(guarded_transport(settings), sites.origin)
            pass_over_sources(settings, None, monthly=True, transport=transport)
            engine = create_db_engine(url)
            passwords = fast_passwords()
            add_account(engine, ADMIN, "admin", passwords, name="Ada Admin")
            try:
                yield DemoMonth(settings, engine, passwords, sites)
            finally:
                engine.dispose()


def add_readers(engine, count: int, now: datetime) -> None:
    """`count` active subscribers reader<n>@example.org; every third chose the kindness theme, the rest everything."""
    with engine.begin() as conn:
        conn.execute(
            insert(subscribers),
            [
                {
                    "email": f"reader{n}@example.org",
                    "status": "active",
                    "audiences": [],
                    "themes": [] if n % 3 else ["kindness"],
                    "created_at": now - timedelta(days=3),
                    "confirmed_at": now - timedelta(days=3),
                    "origin": "form",
                }
                for n in range(count)
            ],
        )


def statuses(engine, ids) -> dict[int, str]:
    """Resource id -> its status, for these ids."""
    with engine.connect() as conn:
        return dict(conn.execute(select(resources.c.id, resources.c.status).where(resources.c.id.in_(ids))).all())


def layout(engine, issue_id: int) -> list[tuple[int, str]]:
    """The issue's items in their stored order, the removed ones left out: (resource id, section)."""
    with engine.connect() as conn:
        return [
            (r.resource_id, r.section)
            for r in conn.execute(
                select(issue_items.c.resource_id, issue_items.c.section)
                .where(issue_items.c.issue_id == issue_id, issue_items.c.section != "removed")
                .order_by(issue_items.c.position)
            )
        ]
