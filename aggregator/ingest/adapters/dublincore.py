"""One OAI-PMH record in Dublin Core (oai_dc) as a RawEntry: the item page, not its files; DOI; type from dc:type."""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from urllib.parse import urlsplit

from dateutil.parser import isoparse
from lxml import etree

from aggregator.model import RawEntry, ResourceType
from aggregator.text.sanitize import clean_html, clean_text, is_http_url

logger = logging.getLogger(__name__)


OAI = "{http://www.openarchives.org/OAI/2.0/}"


OAI_DC = "{http://www.openarchives.org/OAI/2.0/oai_dc/}"


DC = "{http://purl.org/dc/elements/1.1/}"


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


def record_entry(record: etree._Element, identifier: str, base_url: str) -> RawEntry | None:
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


def _text(element: etree._Element | None) -> str:
    return "".join(element.itertext()) if element is not None else ""
