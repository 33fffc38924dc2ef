"""OPML import (listparser) and export (lxml) of sources, for moving lists to and from feed readers."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from email.utils import format_datetime

import listparser
import yaml
from lxml import etree

from aggregator.config.sources import SourceConfig
from aggregator.errors import ConfigError
from aggregator.text.sanitize import clean_text, is_http_url

_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def export_opml(
    configs: Sequence[SourceConfig], *, title: str = "Kindness in care: partner sources", now: datetime | None = None
) -> bytes:
    """OPML 2.0 of the sources: feeds as type="rss" outlines, other adapters as type="link"."""
    root = etree.Element("opml", version="2.0")
    head = etree.SubElement(root, "head")
    etree.SubElement(head, "title").text = title
    etree.SubElement(head, "dateCreated").text = format_datetime(now or datetime.now(UTC))
    body = etree.SubElement(root, "body")
    for config in configs:
        attrs = {"text": config.name, "title": config.name, "category": config.adapter}
        if config.adapter == "feed":
            attrs.update(type="rss", xmlUrl=config.url)
            if config.homepage:
                attrs["htmlUrl"] = config.homepage
        else:
            attrs.update(type="link", url=config.url)
        etree.SubElement(body, "outline", attrs)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def import_opml(data: bytes, *, existing_ids: Sequence[str] = ()) -> list[dict]:
    """The feeds of an OPML file as sources.yaml entries (dicts), with ids that do not clash."""
    parsed = listparser.parse(data)
    if parsed.bozo and not parsed.feeds:
        raise ConfigError(
            f"not a readable OPML file: {parsed.bozo_exception}",
            hint="export the list again from the feed reader as OPML",
        )
    taken = set(existing_ids)
    imported = []
    for feed in parsed.feeds:
        url = (feed.url or "").strip()
        if not is_http_url(url):
            continue
        name = clean_text(feed.title) or url
        imported.append({"id": _unique_id(name, taken), "name": name, "url": url, "adapter": "feed"})
    return imported


def dump_sources(entries: list[dict]) -> str:
    """YAML text of source entries, indented to sit under an existing `sources:` list."""
    text = yaml.safe_dump(entries, sort_keys=False, allow_unicode=True, default_flow_style=False)
    return "".join(f"  {line}\n" for line in text.splitlines())


def _unique_id(name: str, taken: set[str]) -> str:
    base = _NOT_SLUG.sub("-", name.casefold()).strip("-")[:50] or "source"
    candidate, number = base, 2
    while candidate in taken:
        candidate = f"{base}-{number}"
        number += 1
    taken.add(candidate)
    return candidate
