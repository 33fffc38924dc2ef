"""OAI-PMH 2.0 adapter: ListRecords (oai_dc) responses in, RawEntry pages out, with a resumption-token harvest loop."""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from dateutil.parser import isoparse
from lxml import etree

from aggregator.errors import ParseError
from aggregator.ingest.adapters.xmlguard import refuse_entity_declarations
from aggregator.model import RawEntry, ResourceType
from aggregator.text.sanitize import clean_html, clean_text, is_http_url

logger = logging.getLogger(__name__)

OAI = "{http://www.openarchives.org/OAI/2.0/}"
OAI_DC = "{http://www.openarchives.org/OAI/2.0/oai_dc/}"
DC = "{http://purl.org/dc/elements/1.1/}"

# Fix-it hints for the error codes of OAI-PMH 2.0 section 3.6; noRecordsMatch is not an error to us.
HINTS: Mapping[str, str] = {
    "badResumptionToken": "the resumption token expired or is invalid; the next run restarts the harvest without it",
    "badArgument": "check the set and from= values of this source (from= must match the repository's granularity)",
    "cannotDisseminateFormat": "the repository does not offer this metadataPrefix; use oai_dc",
    "noSetHierarchy": "the repository has no sets; remove `set` from this source in sources.yaml",
    "idDoesNotExist": "the identifier is unknown to the repository",
    "badVerb": "the URL is not an OAI-PMH endpoint for ListRecords; check the base URL (EPrints: /cgi/oai2)",
}

# dc:type values -> our ResourceType. EPrints renders its type names ("Article", "Monograph",
# "Conference or Workshop Item"); other repositories send info:eu-repo/semantics/* or DCMI types,
# which are reduced to their last word first. A conference item is the paper given at an event,
# not an event one can attend, so it is research; EPrints "Monograph" covers reports and working papers.
TYPE_BY_DC_TYPE: Mapping[str, ResourceType] = {
    **dict.fromkeys(
        (
            "article",
            "book section",
            "book",
            "thesis",
            "conference or workshop item",
            "conferenceobject",
            "conference paper",
            "bookpart",
            "doctoralthesis",
            "masterthesis",
            "dataset",
            "preprint",
            "contributiontoperiodical",
            "review",
        ),
        ResourceType.RESEARCH,
    ),
    **dict.fromkeys(
        (
            "monograph",
            "report",
            "working paper",
            "workingpaper",
            "technical report",
            "reportpart",
            "discussion paper",
            "policy briefing",
        ),
        ResourceType.REPORT,
    ),
    **dict.fromkeys(("event", "lecture"), ResourceType.EVENT),
    **dict.fromkeys(("video", "movingimage", "audio", "sound"), ResourceType.VIDEO),
    **dict.fromkeys(("teaching resource", "learning object", "other:teaching resource"), ResourceType.TOOLKIT),
    "case study": ResourceType.CASE_STUDY,
    "policy": ResourceType.POLICY,
}
# Files EPrints lists as dc:identifier (full texts); an entry links to the item page, not to these.
FILE_EXTENSIONS = (
    ".pdf",
    ".doc",
    ".docx",
    ".odt",
    ".rtf",
    ".txt",
    ".ppt",
    ".pptx",
    ".xls",
    ".xlsx",
    ".csv",
    ".zip",
    ".epub",
    ".mp3",
    ".mp4",
)
_DOI = re.compile(r"^(?:doi:\s*|https?://(?:dx\.)?doi\.org/)?(10\.\d{4,9}/\S+)$", re.IGNORECASE)
_PARAGRAPHS = re.compile(r"\n\s*\n")


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
        entry = _record_entry(record, identifier, base_url)
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


def _record_entry(record: etree._Element, identifier: str, base_url: str) -> RawEntry | None:
    """The entry for one oai_dc record, or None (logged) when it has no title or no http(s) link."""
    dc = record.find(f"{OAI}metadata/{OAI_DC}dc")
    if dc is None:
        logger.warning("OAI record without oai_dc metadata skipped: %s", identifier, extra={"url": base_url})
        return None
    values = _dc_values(dc)
    title = next(iter(values.get("title", ())), "")
    doi = next(
        (
            match
            for value in [*values.get("identifier", ()), *values.get("relation", ()), *values.get("doi", ())]
            if (match := _doi(value))
        ),
        None,
    )
    url = _item_url([*values.get("identifier", ()), *values.get("relation", ())], base_url, doi)
    if not title or not url:
        logger.warning(
            "OAI record skipped: no %s: %s",
            "title" if not title else "http(s) URL",
            identifier,
            extra={"url": base_url},
        )
        return None
    types = values.get("type", ())
    extra = {
        "publisher": "; ".join(values.get("publisher", ())),
        "language": next(iter(values.get("language", ())), ""),
        "peer_reviewed": {"PeerReviewed": "true", "NonPeerReviewed": "false"}.get(
            next((t for t in types if t in ("PeerReviewed", "NonPeerReviewed")), ""), ""
        ),
        "dc_type": next(iter(types), ""),
        "full_text_url": next((v for v in values.get("identifier", ()) if _is_file_url(v)), ""),
        "sets": "; ".join(clean_text(_text(s)) for s in record.iterfind(f"{OAI}header/{OAI}setSpec")),
    }
    return RawEntry(
        url=url,
        title=title,
        guid=identifier or None,
        summary_html=_paragraphs_html(dc.iterchildren(f"{DC}description")),
        published=next((d for d in map(_parse_time, values.get("date", ())) if d), None),
        updated=_parse_time(_text(record.find(f"{OAI}header/{OAI}datestamp"))),
        authors=values.get("creator", ()),
        tags=values.get("subject", ()),
        type_hint=next((t for t in map(dc_type_hint, types) if t), None),
        doi=doi,
        extra={key: value for key, value in extra.items() if value},
    )


def dc_type_hint(dc_type: str) -> ResourceType | None:
    """Our resource type for one dc:type value ("Article", "info:eu-repo/semantics/report", ...), or None."""
    value = clean_text(dc_type).lower()
    return TYPE_BY_DC_TYPE.get(value) or TYPE_BY_DC_TYPE.get(re.split(r"[/:]", value)[-1])


def _dc_values(dc: etree._Element) -> dict[str, tuple[str, ...]]:
    """Each Dublin Core element's values as single-line text, in document order, without repeats."""
    values: dict[str, dict[str, None]] = {}
    for element in dc.iterchildren():
        if not isinstance(element.tag, str) or not element.tag.startswith(DC):
            continue
        text = clean_text("".join(element.itertext()))
        if text:
            values.setdefault(element.tag[len(DC) :], {})[text] = None
    return {name: tuple(texts) for name, texts in values.items()}


def _item_url(candidates: Iterable[str], base_url: str, doi: str | None) -> str | None:
    """The item page: an http(s) link that is not a file or a DOI, on the repository's host when one is;
    else the DOI's resolver link; else a full-text file. EPrints puts the page first in dc:relation."""
    links = [value for value in candidates if is_http_url(value) and " " not in value]
    pages = [link for link in links if not _is_file_url(link) and not _doi(link)]
    host = urlsplit(base_url).hostname if is_http_url(base_url) else None
    same_host = [link for link in pages if urlsplit(link).hostname == host]
    if same_host or pages:
        return (same_host or pages)[0]
    if doi:
        return f"https://doi.org/{doi}"
    return links[0] if links else None


def _is_file_url(value: str) -> bool:
    return is_http_url(value) and urlsplit(value).path.lower().endswith(FILE_EXTENSIONS)


def _doi(value: str) -> str | None:
    match = _DOI.match(value.strip())
    return match.group(1).lower() if match else None


def _paragraphs_html(descriptions: Iterable[etree._Element]) -> str | None:
    """dc:description is plain text: each blank-line-separated paragraph becomes an escaped <p>."""
    paragraphs = [
        clean_text(part) for element in descriptions for part in _PARAGRAPHS.split("".join(element.itertext()))
    ]
    fragment = "".join(f"<p>{html.escape(p, quote=False)}</p>" for p in dict.fromkeys(paragraphs) if p)
    return clean_html(fragment) or None


def _parse_time(value: str | None) -> datetime | None:
    """A W3C date (2010, 2021-03, 2021-03-15) or datetime as UTC; dates become UTC midnight."""
    if not value or not value.strip():
        return None
    try:
        parsed = isoparse(value.strip())
        if parsed.tzinfo is None:
            return parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def _parse_count(value: str | None) -> int | None:
    try:
        return int(value) if value and value.strip().isascii() else None
    except ValueError:  # not a number, or more digits than int() accepts
        return None


def _text(element: etree._Element | None) -> str:
    return "".join(element.itertext()) if element is not None else ""
