"""The monthly digest: rendering each subscriber's copy, building the messages, sending them exactly once."""

from __future__ import annotations

from aggregator.lazy import lazy_getattr

# name -> the module that defines it, imported on first use (aggregator/lazy.py)
_EXPORTS = {
    "Links": "aggregator.digest.links",
    "PersonalLinks": "aggregator.digest.links",
    "Recipient": "aggregator.digest.render",
    "RenderedDigest": "aggregator.digest.render",
    "RenderedMail": "aggregator.digest.render",
    "issue_subject": "aggregator.digest.render",
    "render_confirmation": "aggregator.digest.render",
    "render_digest": "aggregator.digest.render",
}

__all__ = sorted(_EXPORTS)
__getattr__ = lazy_getattr(globals(), _EXPORTS)
