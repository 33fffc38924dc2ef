"""Signed tokens in subscribers' links (confirm, preferences, unsubscribe), made and read with itsdangerous."""

from __future__ import annotations

from dataclasses import dataclass

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from aggregator.errors import AggregatorError

# How long each kind of link works. Unsubscribe and preference links sit in old digests: a year.
MAX_AGE = {
    "confirm": 7 * 24 * 3600,
    "preferences": 366 * 24 * 3600,
    "unsubscribe": 366 * 24 * 3600,
    "preview": 60 * 24 * 3600,
}  # a test copy's links: they name an issue, not a subscriber


class TokenError(AggregatorError):
    """A link that is forged, altered, expired, or made for something else."""

    hint = "the link is not valid any more: use the link in your latest email, or subscribe again"


@dataclass(frozen=True, slots=True)
class TokenData:
    subscriber_id: int
    token_version: int  # must equal the subscriber's current version (raised to revoke old links)


class Tokens:
    """Makes and reads tokens; each purpose has its own salt, so a token for one never works for another."""

    def __init__(self, secret: str) -> None:
        self._serializers = {
            purpose: URLSafeTimedSerializer(secret, salt=f"aggregator-{purpose}") for purpose in MAX_AGE
        }

    def make(self, purpose: str, subscriber_id: int, token_version: int) -> str:
        return self._serializers[purpose].dumps([subscriber_id, token_version])

    def read(self, purpose: str, token: str) -> TokenData:
        """The subscriber a token names; raises TokenError for anything not made by `make` for `purpose`."""
        try:
            value = self._serializers[purpose].loads(token, max_age=MAX_AGE[purpose])
        except SignatureExpired:
            raise TokenError("this link has expired") from None
        except (BadSignature, KeyError, ValueError, TypeError):
            raise TokenError("this link is not valid") from None
        if (
            not isinstance(value, list)
            or len(value) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
        ):
            raise TokenError("this link is not valid")
        return TokenData(subscriber_id=value[0], token_version=value[1])


def make_preview(tokens: Tokens, issue_id: int) -> str:
    """A test copy's token: it opens the issue's preview pages (before it is sent), and nothing else."""
    return tokens.make("preview", issue_id, 0)


def read_preview(tokens: Tokens, token: str) -> int:
    """The issue a preview token names; raises TokenError for anything else."""
    return tokens.read("preview", token).subscriber_id
