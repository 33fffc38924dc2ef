"""The way mail leaves: a transport-neutral Mailer and SendPolicy (base.py), SMTP and the outbox folder, one factory."""

from aggregator.digest.mail.base import FailureKind, Mailer, SendPolicy, Session
from aggregator.digest.mail.factory import make_mailer, send_policy

__all__ = ["FailureKind", "Mailer", "SendPolicy", "Session", "make_mailer", "send_policy"]
