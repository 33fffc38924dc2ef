"""OAI-PMH 2.0 adapter: ListRecords (oai_dc) responses in, RawEntry pages out, with a resumption-token harvest loop."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from lxml import etree

from aggregator.errors import ParseError
from aggregator.ingest.adapters.dublincore import (  # noqa: F401 (re-exported)
    DC,
    FILE_EXTENSIONS,
    OAI,
    OAI_DC,
    TYPE_BY_DC_TYPE,
    _parse_time,
    _text,
    dc_type_hint,
    record_entry,
)
from aggregator.ingest.adapters.xmlguard import refuse_entity_declarations
from aggregator.model import RawEntry
from aggregator.text.sanitize import clean_text

logger = logging.getLogger(__name__)


# Fix-it hints for the error codes of OAI-PMH 2.0 section 3.6; noRecordsMatch is not an error to us.
HINTS: Mapping[str, str] = {
    "badResumptionToken": "the resumption token expired or is invalid; the next run restarts the harvest without it",
    "badArgument": "check the set and from= values of this source (from= must match the repository's granularity)",
    "cannotDisseminateFormat": "the repository does not offer this metadataPrefix; use oai_dc",
    "noSetHierarchy": "the repository has no sets; remove `set` from this source in sources.yaml",
    "idDoesNotExist": "the identifier is unknown to the repository",
    "badVerb": "the URL is not an OAI-PMH endpoint for ListRecords; check the base URL (EPrints: /cgi/oai2)",
}


class OaiError(ParseError):
    """The repository answered with an OAI-PMH error (`code` is its error code, e.g. badResumptionToken)."""

    def __init__(self, code: str, message: str, *, hint: str | None = None) -> None:
        super().__init__(
            f"OAI-PMH error {code}: {message}" if message else f"OAI-PMH error {code}",
            hint=hint if hint is not None else HINTS.get(code),
        )
        self.code = code


@dataclass(frozen=True, slots=True)
class OaiPage:
    """One ListRecords response: its entries, the token for the next page and the identifiers deleted."""

    entries: tuple[RawEntry, ...]
    resumption_token: str | None  # None or "" when the list is complete
    complete_list_size: int | None
    response_date: datetime | None  # the repository's clock: the next incremental harvest's `from`
    deleted: tuple[str, ...]  # identifiers of records whose header has status="deleted"


def list_records_url(
    base_url: str,
    *,
    metadata_prefix: str = "oai_dc",
    set_spec: str | None = None,
    from_date: date | datetime | None = None,
    resumption_token: str | None = None,
) -> str:
    """The ListRecords request URL. With a resumption token the protocol allows no other argument (3.5).

    A `date` gives day granularity (YYYY-MM-DD); a `datetime` gives seconds (YYYY-MM-DDThh:mm:ssZ, in
    UTC), which only repositories announcing that granularity in Identify accept (EPrints does).
    """
    if resumption_token:
        arguments = [("verb", "ListRecords"), ("resumptionToken", resumption_token)]
    else:
        arguments = [("verb", "ListRecords"), ("metadataPrefix", metadata_prefix)]
        if set_spec:
            arguments.append(("set", set_spec))
        if from_date is not None:
            arguments.append(("from", format_datestamp(from_date)))
    parts = urlsplit(base_url)
    kept = [
        (key, value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
        if key not in {"verb", "metadataPrefix", "set", "from", "until", "resumptionToken"}
    ]
    return urlunsplit(parts._replace(query=urlencode(kept + arguments), fragment=""))


def format_datestamp(value: date | datetime) -> str:
    """An OAI-PMH UTCdatetime: YYYY-MM-DD for a date, YYYY-MM-DDThh:mm:ssZ for a datetime (naive = UTC)."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return value.isoformat()


def parse_list_records(body: bytes, base_url: str) -> OaiPage:
    """The entries, deletions and resumption token of a ListRecords (or GetRecord) response.

    noRecordsMatch gives an empty page; other OAI-PMH errors raise OaiError; anything that is not an
    OAI-PMH response raises ParseError.
    """
    root = _parse_xml(body)
    response_date = _parse_time(_text(root.find(f"{OAI}responseDate")))
    errors = [
        (element.get("code") or "unknown", clean_text("".join(element.itertext())))
        for element in root.iterchildren(f"{OAI}error")
    ]
    if errors:
        for code, message in errors:
            if code != "noRecordsMatch":
                raise OaiError(code, message)
        return OaiPage((), None, 0, response_date, ())
    container = root.find(f"{OAI}ListRecords")
    if container is None:
        container = root.find(f"{OAI}GetRecord")
    if container is None:
        verbs = [etree.QName(child).localname for child in root if isinstance(child.tag, str)]
        raise ParseError(
            f"OAI-PMH response has no ListRecords element (found {', '.join(verbs) or 'nothing'})",
            hint="the adapter harvests with verb=ListRecords; check the source's URL",
        )
    entries: list[RawEntry] = []
    deleted: list[str] = []
    for record in container.iterchildren(f"{OAI}record"):
        header = record.find(f"{OAI}header")
        identifier = clean_text(_text(header.find(f"{OAI}identifier"))) if header is not None else ""
        if header is not None and header.get("status") == "deleted":
            if identifier:
                deleted.append(identifier)
            else:
                logger.warning("deleted OAI record without an identifier skipped", extra={"url": base_url})
            continue
        entry = record_entry(record, identifier, base_url)
        if entry is not None:
            entries.append(entry)
    token_element = container.find(f"{OAI}resumptionToken")
    token = _text(token_element).strip() if token_element is not None else None
    size = _parse_count(token_element.get("completeListSize") if token_element is not None else None)
    return OaiPage(tuple(entries), token, size, response_date, tuple(deleted))


def harvest_records(
    fetch: Callable[[str], bytes],
    base_url: str,
    *,
    metadata_prefix: str = "oai_dc",
    set_spec: str | None = None,
    from_date: date | datetime | None = None,
    max_pages: int = 1000,
    max_entries: int | None = None,
) -> tuple[list[RawEntry], datetime | None]:
    """All entries of a ListRecords harvest, following resumption tokens, and the first page's responseDate.

    `fetch(url) -> bytes` does the I/O. The loop stops when the token is empty or absent, when the
    repository repeats a token (a server bug that would loop forever), after `max_pages` pages, and once
    `max_entries` are in hand; a harvest cut short returns no responseDate, so the incremental `from`
    stays where it was and nothing is skipped. OaiError from any page propagates: a harvest that cannot
    finish is retried whole by the next run.
    """
    url = list_records_url(base_url, metadata_prefix=metadata_prefix, set_spec=set_spec, from_date=from_date)
    entries: list[RawEntry] = []
    seen_tokens: set[str] = set()
    first_response_date: datetime | None = None
    deleted = 0
    for page_number in range(1, max_pages + 1):
        page = parse_list_records(fetch(url), base_url)
        if page_number == 1:
            first_response_date = page.response_date
        entries.extend(page.entries)
        deleted += len(page.deleted)
        token = page.resumption_token
        if not token:
            break
        if max_entries is not None and len(entries) >= max_entries:
            logger.warning(
                "OAI-PMH harvest stopped at the source's max_entries; raise it to harvest more per run",
                extra={"url": base_url, "count": len(entries)},
            )
            return entries[:max_entries], None
        if token in seen_tokens:
            logger.warning(
                "OAI-PMH repository repeated a resumption token; harvest stopped",
                extra={"url": base_url, "count": len(entries)},
            )
            break
        if page_number == max_pages:
            logger.warning("OAI-PMH harvest stopped at max_pages", extra={"url": base_url, "count": len(entries)})
            break
        seen_tokens.add(token)
        url = list_records_url(base_url, resumption_token=token)
    logger.info(
        "OAI-PMH harvest done (%d deleted records ignored)", deleted, extra={"url": base_url, "count": len(entries)}
    )
    return entries, first_response_date


def _parse_xml(body: bytes) -> etree._Element:
    # OAI-PMH responses are schema-validated XML with no DTD: refuse entities instead of expanding them.
    refuse_entity_declarations(body)
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        root = etree.fromstring(body, parser)
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise ParseError(f"OAI-PMH response is not well-formed XML: {exc}") from None
    if root is None or root.tag != f"{OAI}OAI-PMH":
        raise ParseError(
            "response is not OAI-PMH 2.0 (root element is not OAI-PMH)",
            hint="check that the source's URL is the repository's OAI-PMH base URL",
        )
    dtd = root.getroottree().docinfo.internalDTD
    if dtd is not None and any(True for _ in dtd.iterentities()):
        raise ParseError("OAI-PMH response declares XML entities; refused")
    return root


def _parse_count(value: str | None) -> int | None:
    try:
        return int(value) if value and value.strip().isascii() else None
    except ValueError:  # not a number, or more digits than int() accepts
        return None
