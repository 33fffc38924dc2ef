"""The one place a Mailer is chosen: SMTP when a host is configured, else .eml files in the outbox folder."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aggregator.digest.mail.base import Mailer, SendPolicy

if TYPE_CHECKING:
    from aggregator.settings import Settings


def make_mailer(settings: Settings, folder: str) -> Mailer:
    """The configured way out; `folder` names the outbox subfolder used when no SMTP host is set (an issue's
    month, "confirmations", "notifications")."""
    if settings.smtp.host:
        from aggregator.digest.mail.smtp import SMTPTransport

        return SMTPTransport(settings.smtp)
    from aggregator.digest.mail.outbox import OutboxTransport

    return OutboxTransport(settings.outbox_dir / folder)


def send_policy(settings: Settings) -> SendPolicy:
    """The send policy from the settings (kept under AGGREGATOR_SMTP__* so existing deployments read the same)."""
    smtp = settings.smtp
    return SendPolicy(
        rate_per_second=smtp.rate_per_second,
        sessions=smtp.connections,
        messages_per_session=smtp.messages_per_connection,
        retries=smtp.retries,
        attempt_timeout=smtp.timeout,
        hard_bounce_after=smtp.hard_bounce_after,
        park_after=smtp.park_after,
    )
