"""The gunicorn access log with the secret tokens of subscription links (confirm, preferences, unsubscribe) redacted."""

from __future__ import annotations

import re
from typing import Any

from gunicorn.glogging import Logger

# A token in these paths is the whole authority to act for a subscriber: a log line must not carry one.
_TOKEN_PATH = re.compile(r"(/(?:subscribe/confirm|preferences|unsubscribe)/)[^/?#\s\"]+")
_TOKEN_QUERY = re.compile(r"((?:^|[?&;])token=)[^&;#\s\"]+", re.IGNORECASE)
REDACTED = "[redacted]"
ACCESS_LOG_FORMAT = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" pid=%(p)s'


def redact_tokens(text: str) -> str:
    """`text` (a request line, a path, a Referer) with every subscription token replaced by [redacted]."""
    return _TOKEN_QUERY.sub(rf"\g<1>{REDACTED}", _TOKEN_PATH.sub(rf"\g<1>{REDACTED}", text))


class RedactingLogger(Logger):
    """gunicorn's logger, whose access-log fields are redacted before they are written."""

    def atoms(self, resp: Any, req: Any, environ: dict, request_time: Any) -> dict:
        atoms = super().atoms(resp, req, environ, request_time)
        return {key: redact_tokens(value) if isinstance(value, str) else value for key, value in atoms.items()}
