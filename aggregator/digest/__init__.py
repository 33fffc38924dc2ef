"""The monthly digest: rendering each subscriber's copy, building the messages, sending them exactly once."""

from aggregator.digest.links import Links, PersonalLinks
from aggregator.digest.render import (
    Recipient,
    RenderedDigest,
    RenderedMail,
    issue_subject,
    render_confirmation,
    render_digest,
)

__all__ = [
    "Links",
    "PersonalLinks",
    "Recipient",
    "RenderedDigest",
    "RenderedMail",
    "issue_subject",
    "render_confirmation",
    "render_digest",
]
