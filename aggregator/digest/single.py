"""One-off mails outside an issue's run: an editor's "send a test" and the subscription confirmation."""

from __future__ import annotations

from datetime import datetime

from aggregator.config.taxonomy import Taxonomy
from aggregator.digest.issue import IssueContent
from aggregator.digest.links import Links, preview_links
from aggregator.digest.mail.base import Mailer
from aggregator.digest.message import build_message, envelope_sender, new_nonce, slot_links
from aggregator.digest.render import render_confirmation, render_digest
from aggregator.people.tokens import Tokens
from aggregator.settings import Settings

TEST_PREFIX = "[TEST] "


def send_test(
    content: IssueContent, address: str, transport: Mailer, settings: Settings, *, taxonomy: Taxonomy, now: datetime
) -> bytes:
    """Send the whole issue (no preferences) to `address` with a "[TEST]" subject; not recorded as a delivery.
    Its links open signed preview pages that work before the issue is sent (the issue's page; a note saying
    what the unsubscribe and preference links do for a subscriber). Returns the bytes sent."""
    nonce = new_nonce()
    preview, archive_url = preview_links(Links(settings.base_url), Tokens(settings.secret()), content.id)
    rendered = render_digest(
        content,
        recipient=None,
        settings=settings,
        taxonomy=taxonomy,
        personal=slot_links(nonce),
        archive_url=archive_url,
    )
    data = build_message(
        rendered, settings, to=address, date=now, links=preview, nonce=nonce, subject_prefix=TEST_PREFIX
    )
    _send(transport, settings, address, data)
    return data


def confirmation_message(address: str, confirm_url: str, settings: Settings, *, now: datetime) -> bytes:
    """The double opt-in mail for `address` (no list headers: it is not a list message)."""
    return build_message(
        render_confirmation(confirm_url=confirm_url, settings=settings), settings, to=address, date=now
    )


def send_confirmation(address: str, confirm_url: str, transport: Mailer, settings: Settings, *, now: datetime) -> None:
    """Build and send the confirmation mail; raises DeliveryFailure or TransportError."""
    _send(transport, settings, address, confirmation_message(address, confirm_url, settings, now=now))


def _send(transport: Mailer, settings: Settings, address: str, data: bytes) -> None:
    session = transport.open()
    try:
        session.send(envelope_sender(settings), address, data)
    finally:
        session.close()
