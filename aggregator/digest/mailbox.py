"""Reading the mailbox bounces, complaints and unsubscribe mail arrive in (IMAP, with the standard imaplib)."""

from __future__ import annotations

import imaplib
import logging
import ssl
from collections.abc import Callable, Iterator
from datetime import datetime

from sqlalchemy import Engine

from aggregator.digest.errors import MailError
from aggregator.digest.mailin import MailInReport, MailOutcome, apply_mail, read_mail
from aggregator.settings import MailInSettings, Settings

logger = logging.getLogger(__name__)


class MailboxError(MailError):
    """The mailbox could not be reached, refused the login, or answered an IMAP command with an error."""

    hint = (
        "check AGGREGATOR_MAILIN__HOST, PORT, SECURITY, USERNAME, PASSWORD and FOLDER; nothing was marked "
        "read, so the next run reads the same mail"
    )


class ImapMailbox:
    """One IMAP session on the configured folder: unread messages in, each marked read once it is handled."""

    def __init__(self, settings: MailInSettings) -> None:
        if not settings.host:
            raise MailboxError("no mailbox is configured", hint="set AGGREGATOR_MAILIN__HOST (and its login)")
        self._settings = settings
        self._imap: imaplib.IMAP4 | None = None

    def __enter__(self) -> ImapMailbox:
        s = self._settings
        try:
            if s.security == "tls":
                self._imap = imaplib.IMAP4_SSL(
                    s.host, s.port, ssl_context=ssl.create_default_context(), timeout=s.timeout
                )
            else:
                self._imap = imaplib.IMAP4(s.host, s.port, timeout=s.timeout)
                if s.security == "starttls":
                    self._imap.starttls(ssl.create_default_context())
            if s.username:
                self._imap.login(s.username, s.password.get_secret_value() if s.password else "")
            self._check(self._imap.select(_quoted(s.folder)), f"select {s.folder}")
        except (OSError, imaplib.IMAP4.error) as exc:
            self.close()
            raise MailboxError(f"cannot read the mailbox at {s.host}:{s.port}: {exc}") from None
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def unread(self) -> Iterator[tuple[bytes, bytes]]:
        """(uid, raw message) of every unread message, oldest first; reading does not mark it read."""
        imap = self._session()
        uids = self._check(imap.uid("SEARCH", None, "UNSEEN"), "search")[0].split()
        for uid in uids:
            data = self._check(imap.uid("FETCH", uid, "(BODY.PEEK[])"), "fetch")
            raw = next((item[1] for item in data if isinstance(item, tuple)), None)
            if raw is not None:
                yield uid, raw

    def mark_read(self, uid: bytes) -> None:
        self._check(self._session().uid("STORE", uid, "+FLAGS", "(\\Seen)"), "store")

    def close(self) -> None:
        if self._imap is not None:
            imap, self._imap = self._imap, None
            try:
                imap.logout()
            except (OSError, imaplib.IMAP4.error):
                pass

    def _session(self) -> imaplib.IMAP4:
        if self._imap is None:
            raise MailboxError("the mailbox is not open")
        return self._imap

    @staticmethod
    def _check(answer: tuple[str, list], what: str) -> list:
        status, data = answer
        if status != "OK":
            raise MailboxError(f"the mailbox refused {what}: {data!r}")
        return data


def process_mailbox(
    engine: Engine, mailbox: ImapMailbox, settings: Settings, now: Callable[[], datetime]
) -> MailInReport:
    """Read every unread message, act on it in its own transaction, then mark it read; running again (or on
    the same message twice) has no second effect."""
    secret = settings.secret()
    outcomes: list[MailOutcome] = []
    for uid, raw in mailbox.unread():
        mail = read_mail(raw, settings, secret)
        with engine.begin() as conn:
            outcome = apply_mail(conn, mail, now(), settings)
        mailbox.mark_read(uid)  # after the commit: a crash in between reads it again, and the ledger dedupes
        outcomes.append(outcome)
        logger.info("mail-in message handled", extra={"kind": outcome.kind, "count": len(outcome.subscriber_ids)})
    return MailInReport(tuple(outcomes))


def _quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'
