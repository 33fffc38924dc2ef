"""DKIM signing of outgoing messages (relaxed/simple), covering the List-Unsubscribe headers (RFC 8058)."""

from __future__ import annotations

from pathlib import Path

from aggregator.digest.errors import MailError
from aggregator.settings import DKIMSettings

SIGNED_HEADERS = (
    b"from",
    b"to",
    b"subject",
    b"date",
    b"message-id",
    b"list-id",
    b"list-unsubscribe",
    b"list-unsubscribe-post",
    b"mime-version",
    b"content-type",
)


class DKIMSigner:
    """Signs messages with the configured key (relaxed/simple), covering the List-Unsubscribe headers."""

    def __init__(self, domain: str, selector: str, private_key: bytes) -> None:
        self._domain, self._selector, self._key = domain.encode("ascii"), selector.encode("ascii"), private_key

    def sign(self, message: bytes) -> bytes:
        import dkim

        present = {
            line.split(b":", 1)[0].strip().lower()
            for line in message.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
            if line and line[:1] not in (b" ", b"\t")
        }
        signature = dkim.sign(
            message,
            self._selector,
            self._domain,
            self._key,
            include_headers=[h for h in SIGNED_HEADERS if h in present],
        )
        return signature + message


def load_signer(dkim_settings: DKIMSettings) -> DKIMSigner | None:
    """The signer the settings ask for, or None when DKIM is not configured."""
    if not (dkim_settings.domain and dkim_settings.selector and dkim_settings.private_key_file):
        return None
    path = Path(dkim_settings.private_key_file)
    try:
        key = path.read_bytes()
    except OSError as exc:
        raise MailError(
            f"cannot read the DKIM key {path}: {exc}",
            hint="check AGGREGATOR_DKIM__PRIVATE_KEY_FILE (a PEM RSA private key)",
        ) from None
    return DKIMSigner(dkim_settings.domain, dkim_settings.selector, key)
