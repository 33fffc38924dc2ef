"""MIME messages as bytes: a per-combination template with slots for each subscriber's parts, and DKIM signing.

Building an EmailMessage costs about 2 ms; here a digest's multipart/alternative structure is built
once per distinct copy and each subscriber only fills in To, Message-ID, Date and their two links.
Both bodies are quoted-printable: a slot ends the encoded chunk before it with a soft line break
("=" CRLF, RFC 2045 6.7 rule 5), so the subscriber's value is encoded on its own and the body stays
valid whatever line it falls on. The boundary starts with "=_", which quoted-printable text can
never contain.
"""

from __future__ import annotations

import binascii
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from email.header import Header
from email.utils import format_datetime, formataddr, make_msgid, parseaddr
from enum import Enum

from markupsafe import escape

from aggregator.digest.dkim import SIGNED_HEADERS, DKIMSigner, load_signer  # noqa: F401 (re-exported)
from aggregator.digest.errors import AddressError, MailError
from aggregator.digest.links import PersonalLinks, unsubscribe_mailto
from aggregator.digest.render import RenderedMail
from aggregator.settings import Settings


class Slot(Enum):
    TO = "to"
    MESSAGE_ID = "message_id"
    DATE = "date"
    UNSUBSCRIBE_HEADER = "unsubscribe_header"
    UNSUBSCRIBE_MAILTO = "unsubscribe_mailto"
    UNSUBSCRIBE_TEXT = "unsubscribe_text"
    PREFERENCES_TEXT = "preferences_text"
    UNSUBSCRIBE_HTML = "unsubscribe_html"
    PREFERENCES_HTML = "preferences_html"


@dataclass(frozen=True, slots=True)
class PersonalParts:
    """What differs in each subscriber's message."""

    to: str
    message_id: str
    date: datetime
    links: PersonalLinks | None


@dataclass(frozen=True, slots=True)
class MessageTemplate:
    """A message as encoded byte chunks and slots; `fill` makes one subscriber's message."""

    parts: tuple[bytes | Slot, ...]
    mailto: str | None  # the mailto half of List-Unsubscribe, None for mails without list headers

    def fill(self, personal: PersonalParts) -> bytes:
        values = _slot_values(personal, self.mailto)
        return b"".join(p if isinstance(p, bytes) else values[p] for p in self.parts)


def slot_links(nonce: str) -> PersonalLinks:
    """Placeholder links to render a copy with; letters and digits only, so escaping and inlining keep them.
    The nonce is random per send, so fetched text cannot contain a placeholder."""
    return PersonalLinks(unsubscribe=f"XSLOT{nonce}UNSUBSCRIBEX", preferences=f"XSLOT{nonce}PREFERENCESX")


def new_nonce() -> str:
    return secrets.token_hex(8)


def build_template(
    rendered: RenderedMail, settings: Settings, *, nonce: str, list_headers: bool = True, subject_prefix: str = ""
) -> MessageTemplate:
    """The template of a rendered copy whose links are `slot_links(nonce)` (or plain links when none)."""
    placeholders = slot_links(nonce)
    boundary = f"=_digest_{nonce}"
    head: list[bytes | Slot] = [_header("From", _address_header(settings.mail.from_address))]
    if settings.mail.reply_to:
        head.append(_header("Reply-To", _address_header(settings.mail.reply_to)))
    head += [
        b"To: ",
        Slot.TO,
        b"\r\n",
        _subject_header(subject_prefix + rendered.subject),
        b"Date: ",
        Slot.DATE,
        b"\r\n",
        b"Message-ID: ",
        Slot.MESSAGE_ID,
        b"\r\n",
    ]
    if list_headers:
        head += [
            _header("List-Id", settings.mail.list_id),
            b"List-Unsubscribe: <",
            Slot.UNSUBSCRIBE_HEADER,
            b">,\r\n <",
            Slot.UNSUBSCRIBE_MAILTO,
            b">\r\n",
            b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n",
        ]
    head += [
        b"MIME-Version: 1.0\r\n",
        f'Content-Type: multipart/alternative; boundary="{boundary}"\r\n\r\n'.encode("ascii"),
    ]
    delimiter = f"--{boundary}\r\n".encode("ascii")
    part_head = 'Content-Type: text/{}; charset="utf-8"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n'
    parts: list[bytes | Slot] = head + [delimiter, part_head.format("plain").encode("ascii")]
    parts += _encode_body(
        rendered.text,
        {placeholders.unsubscribe: Slot.UNSUBSCRIBE_TEXT, placeholders.preferences: Slot.PREFERENCES_TEXT},
    )
    parts += [b"\r\n", delimiter, part_head.format("html").encode("ascii")]
    parts += _encode_body(
        rendered.html,
        {placeholders.unsubscribe: Slot.UNSUBSCRIBE_HTML, placeholders.preferences: Slot.PREFERENCES_HTML},
    )
    parts.append(f"\r\n--{boundary}--\r\n".encode("ascii"))
    return MessageTemplate(
        parts=tuple(_merge(parts)),
        mailto=unsubscribe_mailto(settings.mail.unsubscribe_mailto) if list_headers else None,
    )


def build_message(
    rendered: RenderedMail,
    settings: Settings,
    *,
    to: str,
    date: datetime,
    links: PersonalLinks | None = None,
    nonce: str | None = None,
    list_headers: bool = True,
    subject_prefix: str = "",
) -> bytes:
    """One message (a test send, a confirmation) through the same template the sending engine uses.

    With `links`, `rendered` must have been rendered with `slot_links(nonce)`; without, it has no
    personal links and gets no list headers (a confirmation is not a list message)."""
    if links is not None and nonce is None:
        raise ValueError("personal links need the nonce the copy was rendered with")
    template = build_template(
        rendered,
        settings,
        nonce=nonce or new_nonce(),
        list_headers=list_headers and links is not None,
        subject_prefix=subject_prefix,
    )
    return template.fill(PersonalParts(to=to, message_id=new_message_id(settings), date=date, links=links))


def new_message_id(settings: Settings, idstring: str | None = None) -> str:
    """A Message-ID in the From address's domain (RFC 5322 3.6.4)."""
    return make_msgid(idstring=idstring, domain=sender_domain(settings))


def sender_domain(settings: Settings) -> str:
    address = parseaddr(settings.mail.from_address)[1]
    return address.rpartition("@")[2] or "localhost"


def envelope_sender(settings: Settings) -> str:
    return parseaddr(settings.mail.from_address)[1]


def header_address(address: str) -> str:
    """`address` as it can stand in To: ASCII local part, IDNA domain, no line breaks or brackets."""
    if any(c in address for c in '\r\n<>,;"\\ ') or address.count("@") != 1:
        raise AddressError(f"cannot put {address!r} into a header")
    local, domain = address.split("@")
    if not local.isascii():
        raise AddressError(f"{address!r} needs SMTPUTF8, which the digest does not use")
    try:
        domain = domain.encode("idna").decode("ascii") if not domain.isascii() else domain
    except UnicodeError:
        raise AddressError(f"{address!r} has an invalid domain") from None
    return f"{local}@{domain}"


def _slot_values(personal: PersonalParts, mailto: str | None) -> dict[Slot, bytes]:
    values = {
        Slot.TO: header_address(personal.to).encode("ascii"),
        Slot.MESSAGE_ID: _one_line(personal.message_id).encode("ascii"),
        Slot.DATE: format_datetime(personal.date).encode("ascii"),
    }
    links = personal.links
    if links is not None:
        values[Slot.UNSUBSCRIBE_HEADER] = _one_line(links.unsubscribe).encode("ascii")
        own = unsubscribe_mailto(links.mailto) if links.mailto else mailto
        values[Slot.UNSUBSCRIBE_MAILTO] = _one_line(own or "").encode("ascii")
        values[Slot.UNSUBSCRIBE_TEXT] = _qp_value(links.unsubscribe)
        values[Slot.PREFERENCES_TEXT] = _qp_value(links.preferences)
        values[Slot.UNSUBSCRIBE_HTML] = _qp_value(str(escape(links.unsubscribe)))
        values[Slot.PREFERENCES_HTML] = _qp_value(str(escape(links.preferences)))
    return values


def _encode_body(body: str, slots: dict[str, Slot]) -> list[bytes | Slot]:
    """Quoted-printable chunks split at each placeholder; a chunk before a slot ends in a soft line break."""
    text = body.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\r\n")
    pattern = re.compile("|".join(re.escape(p) for p in slots))
    out: list[bytes | Slot] = []
    position = 0
    for match in pattern.finditer(text):
        out += [_qp(text[position : match.start()]) + b"=\r\n", slots[match.group(0)]]
        position = match.end()
    out.append(_qp(text[position:]))
    return out


def _qp(text: str) -> bytes:
    encoded = binascii.b2a_qp(text.encode("utf-8"), istext=True)
    # b2a_qp inserts bare-LF soft breaks when the chunk has no line end of its own; SMTP wants CRLF
    return encoded.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def _qp_value(value: str) -> bytes:
    return _qp(_one_line(value)) + b"=\r\n"


def _merge(parts: list[bytes | Slot]) -> list[bytes | Slot]:
    merged: list[bytes | Slot] = []
    for part in parts:
        if isinstance(part, bytes) and merged and isinstance(merged[-1], bytes):
            merged[-1] += part
        else:
            merged.append(part)
    return merged


def _one_line(value: str) -> str:
    if "\r" in value or "\n" in value:
        raise MailError(f"a line break in a header value: {value!r}")
    return value


def _header(name: str, value: str) -> bytes:
    return f"{name}: {_one_line(value)}\r\n".encode("ascii")


def _address_header(value: str) -> str:
    name, address = parseaddr(_one_line(value))
    if not address:
        raise MailError(f"not an address: {value!r}", hint="check AGGREGATOR_MAIL__FROM_ADDRESS and REPLY_TO")
    return formataddr((name, address), charset="utf-8")


def _subject_header(subject: str) -> bytes:
    subject = " ".join(subject.split())  # no line breaks, whatever the pattern held
    if subject.isascii() and "=?" not in subject and len(subject) < 900:
        return f"Subject: {subject}\r\n".encode("ascii")
    # anything a reader could decode differently is sent as encoded words we made ourselves
    return (
        b"Subject: " + Header(subject, "utf-8", header_name="Subject").encode(linesep="\r\n").encode("ascii") + b"\r\n"
    )
