"""Signed mail addresses: a VERP return path per delivery and a per-subscriber unsubscribe address, so that a
bounce or an unsubscribe request names its subscriber (and a forged one names nobody)."""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from email.utils import getaddresses

# Lower-case letters and digits only: some mail servers lower-case the local part on the way back.
_TAGGED = re.compile(
    r"^(?P<local>[^+@\s]+)\+(?P<kind>[bu])(?P<first>\d+)-(?P<second>\d+)-(?P<mac>[0-9a-f]{16})"
    r"@(?P<domain>[^@\s>]+)$",
    re.IGNORECASE,
)
MAC_LENGTH = 16  # hex characters of HMAC-SHA256: 64 bits, ample against guessing one subscriber's address


@dataclass(frozen=True, slots=True)
class MailToken:
    """Who a signed address names: a bounce of `issue_id` to `subscriber_id`, or an unsubscribe request."""

    kind: str  # bounce | unsubscribe
    subscriber_id: int
    issue_id: int | None = None
    token_version: int | None = None


def bounce_address(base: str, secret: str, issue_id: int, subscriber_id: int) -> str:
    """The envelope sender (VERP) of one delivery: bounces+b<issue>-<subscriber>-<mac>@domain."""
    return _tagged(base, secret, "b", issue_id, subscriber_id)


def unsubscribe_address(base: str, secret: str, subscriber_id: int, token_version: int) -> str:
    """A subscriber's own List-Unsubscribe mailto address: unsubscribe+u<subscriber>-<version>-<mac>@domain.
    Raising their token version (as every signed link's revocation does) retires it too."""
    return _tagged(base, secret, "u", subscriber_id, token_version)


def read_address(address: str, secret: str, bases: tuple[str, ...]) -> MailToken | None:
    """The token a signed address carries, when it is one of ours (`bases`) with a valid signature; else None."""
    match = _TAGGED.match(address.strip().strip("<>").lower())
    if match is None or f"{match['local']}@{match['domain']}" not in {b.lower() for b in bases}:
        return None
    kind, first, second = match["kind"], int(match["first"]), int(match["second"])
    if not hmac.compare_digest(match["mac"], _mac(secret, kind, first, second)):
        return None
    if kind == "b":
        return MailToken("bounce", subscriber_id=second, issue_id=first)
    return MailToken("unsubscribe", subscriber_id=first, token_version=second)


def find_token(header_values: list[str], secret: str, bases: tuple[str, ...]) -> MailToken | None:
    """The first signed address among header values (To, Delivered-To, X-Original-To, Envelope-To ...)."""
    for _, address in getaddresses(header_values):
        token = read_address(address, secret, bases)
        if token is not None:
            return token
    return None


def _tagged(base: str, secret: str, kind: str, first: int, second: int) -> str:
    local, _, domain = base.rpartition("@")
    if not local or not domain:
        raise ValueError(f"not an address: {base!r}")
    return f"{local}+{kind}{int(first)}-{int(second)}-{_mac(secret, kind, first, second)}@{domain}"


def _mac(secret: str, kind: str, first: int, second: int) -> str:
    message = f"aggregator-mail-address:{kind}:{int(first)}:{int(second)}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()[:MAC_LENGTH]
