"""Shared pieces of the digest and sending tests: a seeded approved issue, subscribers, a real SMTP sink."""

from __future__ import annotations

import email
import email.policy
import socket
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from aiosmtpd.controller import Controller
from sqlalchemy import insert, select

from aggregator.db.schema import labels, resources, subscribers
from aggregator.digest.issue import prepare_draft
from aggregator.model import Event, RawEntry
from aggregator.review.lifecycle import change_issue_status, change_resource_status
from aggregator.settings import Settings
from tests.support.resources import NOW, source, store

SECRET = "test-secret-" + "x" * 40
HUB, NHSE = source("pslhub"), source("nhse")
TAXONOMY_FILE = Path(__file__).resolve().parents[1] / "taxonomy.yaml"


def settings_for(tmp_path: Path, **smtp) -> Settings:
    return Settings(
        data_dir=tmp_path / "var",
        secret_key=SECRET,
        taxonomy_file=TAXONOMY_FILE,
        smtp={"host": None, "rate_per_second": 100_000, "connections": 1, "retries": 2, **smtp},
    )


def seed_issue(engine, *, titles: tuple[str, ...] = (), approve: bool = True) -> int:
    """An approved issue for November 2026: two themed resources, an upcoming event, plus `titles`."""
    store(
        engine,
        HUB,
        [
            RawEntry(
                url="https://pslhub.example/a",
                title="Kindness toolkit",
                summary_html="<p>Small acts that help.</p>",
                published=NOW - timedelta(days=3),
            ),
            RawEntry(url="https://pslhub.example/b", title="Leadership guide", published=NOW - timedelta(days=2)),
            RawEntry(
                url="https://pslhub.example/c",
                title="December conversation",
                event=Event(start=NOW + timedelta(days=30)),
            ),
            *[
                RawEntry(url=f"https://pslhub.example/extra{n}", title=t, summary_html=f"<p>{n}</p>")
                for n, t in enumerate(titles)
            ],
        ],
    )
    store(engine, NHSE, [RawEntry(url="https://pslhub.example/a", title="Kindness toolkit (NHSE)")])
    from aggregator.dedupe.merge import dedupe_resources

    dedupe_resources(engine, NOW)
    with engine.begin() as conn:
        ids = dict(conn.execute(select(resources.c.title, resources.c.id)).all())
        rows = [
            ("Kindness toolkit", "theme", "kindness"),
            ("Kindness toolkit", "audience", "frontline-staff"),
            ("Leadership guide", "theme", "compassionate-leadership"),
            ("Leadership guide", "audience", "leaders"),
        ]
        rows += [(t, "theme", "kindness") for t in titles]
        conn.execute(
            insert(labels),
            [
                {
                    "resource_id": ids[t],
                    "kind": k,
                    "label_id": label,
                    "confidence": 0.9,
                    "reasons": [],
                    "origin": "classifier",
                }
                for t, k, label in rows
            ],
        )
        for rid in {ids[t] for t in ("Kindness toolkit", "Leadership guide", "December conversation", *titles)}:
            change_resource_status(conn, rid, "approved", user_id=None, now=NOW)
        issue_id = prepare_draft(conn, "2026-11", NOW)
        if approve:
            change_issue_status(conn, issue_id, "approved", user_id=None, now=NOW)
    return issue_id


PREFERENCES = [((), ()), (("leaders",), ()), ((), ("kindness",)), (("frontline-staff",), ("kindness",))]


def add_subscribers(engine, count: int, *, status: str = "active", start: int = 0) -> list[int]:
    """`count` subscribers s<n>@example.org with preferences cycling through PREFERENCES."""
    rows = [
        {
            "email": f"s{n}@example.org",
            "status": status,
            "audiences": list(PREFERENCES[n % 4][0]),
            "themes": list(PREFERENCES[n % 4][1]),
            "created_at": NOW,
            "origin": "form",
        }
        for n in range(start, start + count)
    ]
    with engine.begin() as conn:
        conn.execute(insert(subscribers), rows)
        return list(
            conn.execute(
                select(subscribers.c.id)
                .where(subscribers.c.email.in_([r["email"] for r in rows]))
                .order_by(subscribers.c.id)
            ).scalars()
        )


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> email.message.EmailMessage:
        return email.message_from_bytes(self.data, policy=email.policy.default)


@dataclass
class SinkHandler:
    """aiosmtpd handler: stores messages; can refuse addresses, drop connections, or call a hook per message."""

    messages: list[Received] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)  # address -> reply, e.g. "550 no such user"
    refuse_once: dict[str, str] = field(default_factory=dict)
    dropping: bool = False  # close every connection at MAIL FROM
    drop_after: int | None = None  # start dropping after this many messages
    on_message: Callable[[Received, int], None] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self.dropping:
            server.transport.close()
            return "421 closing"
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse_once:
            return self.refuse_once.pop(address)
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        received = Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content or envelope.content)
        with self.lock:
            self.messages.append(received)
            count = len(self.messages)
            if self.drop_after is not None and count >= self.drop_after:
                self.dropping = True
        if self.on_message is not None:
            self.on_message(received, count)
        return "250 Message accepted"

    def copies(self) -> Counter:
        return Counter(to for m in self.messages for to in m.rcpt_tos)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Sink:
    """A real SMTP server on 127.0.0.1 (aiosmtpd) for the duration of a `with` block."""

    def __init__(self, handler: SinkHandler | None = None) -> None:
        self.handler = handler or SinkHandler()
        self.port = free_port()
        self._controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> Sink:
        self._controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self._controller.stop()

    def smtp_settings(self) -> dict:
        return {"host": "127.0.0.1", "port": self.port, "security": "none"}
