"""OPML import (listparser) and export (lxml) of sources, for moving lists to and from feed readers."""

from __future__ import annotations

import re
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlsplit

import listparser
import yaml
from lxml import etree

from aggregator.config.sources import SourceConfig
from aggregator.errors import ConfigError
from aggregator.ingest.fetch.netguard import Resolver, is_public_address
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


@dataclass(frozen=True, slots=True)
class OpmlImport:
    """What an OPML file gives: sources.yaml entries (dicts), and the feeds refused with why."""

    sources: list[dict]
    refused: list[tuple[str, str]]  # (url, reason)


def numeric_only(host: str, port: int | None, **kwargs: Any) -> list[tuple[Any, ...]]:
    """getaddrinfo for address literals in every form a connection accepts ("2852039166", "0x7f.1"), and
    the names that are loopback by definition (RFC 6761 6.3); no DNS."""
    if host == "localhost" or host.endswith(".localhost"):
        host = "127.0.0.1"
    return socket.getaddrinfo(host, port, flags=socket.AI_NUMERICHOST, **kwargs)


def import_opml(
    data: bytes, *, existing_ids: Sequence[str] = (), resolve: Resolver = numeric_only, allow_private: bool = False
) -> OpmlImport:
    """The feeds of an OPML file as sources.yaml entries, with ids that do not clash. A feed whose host is or
    resolves (with `resolve`; by default address literals only) to a non-public address is refused, by the
    fetch guard's rule (unless `allow_private`, settings.allow_private_addresses): it could never be fetched,
    and sources.yaml should not hold it."""
    parsed = listparser.parse(data)
    if parsed.bozo and not parsed.feeds:
        raise ConfigError(
            f"not a readable OPML file: {parsed.bozo_exception}",
            hint="export the list again from the feed reader as OPML",
        )
    taken = set(existing_ids)
    imported, refused = [], []
    for feed in parsed.feeds:
        url = (feed.url or "").strip()
        if not is_http_url(url):
            refused.append((url, "not an http(s) address"))
            continue
        reason = None if allow_private else address_refusal(url, resolve)
        if reason:
            refused.append((url, reason))
            continue
        name = clean_text(feed.title) or url
        imported.append({"id": _unique_id(name, taken), "name": name, "url": url, "adapter": "feed"})
    return OpmlImport(imported, refused)


def address_refusal(url: str, resolve: Resolver = numeric_only) -> str | None:
    """Why `url`'s host may not be a source (it is or resolves to a non-public address), or None. A name that
    does not resolve now passes: the fetch guard checks the address again at every fetch."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        infos = resolve(host, parts.port or 443, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError, ValueError):
        return None
    for info in infos:
        address = str(info[4][0])
        if not is_public_address(address):
            return (
                f"{host} is the non-public address {address}"
                if address == host
                else f"{host} resolves to the non-public address {address}"
            )
    return None


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
