"""The `wordpress` adapter: posts or pages from the WordPress REST API (`/wp-json/wp/v2/...`), with `_embed`.

The REST API gives what a WordPress RSS feed leaves out: the modified date, every category and tag by
name, the featured image, and pages (which are never in a feed). Requests follow the REST API
handbook: `?_embed=1` inlines the author and terms, `per_page` is at most 100, and a category is
asked for by id, found from its slug at `/wp-json/wp/v2/categories?slug=<slug>`.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from aggregator.errors import ParseError
from aggregator.model import RawEntry
from aggregator.text.dates import parse_date
from aggregator.text.sanitize import clean_html, clean_text, html_to_text, is_http_url

MAX_PER_PAGE = 100  # the REST API's own ceiling for per_page


def api_root(url: str) -> str:
    """`https://site/<dir>/wp-json/` for any URL under a WordPress REST API (keeps `index.php/` and sub-sites)."""
    parts = urlsplit(url)
    head, marker, _ = parts.path.partition("/wp-json/")
    if not marker:
        raise ParseError(f"{url} is not a WordPress REST API address (no /wp-json/ in its path)")
    return urlunsplit((parts.scheme, parts.netloc, f"{head}/wp-json/", "", ""))


def category_lookup_url(url: str, slug: str) -> str:
    """The REST address answering with the category whose slug is `slug`."""
    return f"{api_root(url)}wp/v2/categories?{urlencode({'slug': slug})}"


def posts_url(url: str, *, category_id: int | None, max_entries: int) -> str:
    """`url` (a `/wp/v2/posts` or `/wp/v2/pages` route) with `_embed`, `per_page` and the category filter."""
    parts = urlsplit(url)
    query = {"_embed": "1", "per_page": str(min(max_entries, MAX_PER_PAGE))}
    if category_id is not None:
        query["categories"] = str(category_id)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(sorted(query.items())), ""))


def parse_category_id(body: bytes, slug: str, url: str) -> int:
    """The id of the category `slug` from a `/categories?slug=` answer; ParseError when there is none."""
    found = [item for item in _json_list(body, url) if isinstance(item, Mapping) and item.get("slug") == slug]
    if not found or not isinstance(found[0].get("id"), int):
        raise ParseError(
            f"the WordPress site at {url} has no category {slug!r}",
            hint="check the category's address on the site (/category/<slug>/) and fix `wordpress: category:`",
        )
    return int(found[0]["id"])


def parse_wp_posts(body: bytes, base_url: str, *, max_entries: int = 1000) -> list[RawEntry]:
    """Entries from a REST API answer listing posts or pages (`_embed` gives authors and terms)."""
    entries = []
    for item in _json_list(body, base_url)[:max_entries]:
        if not isinstance(item, Mapping):
            continue
        link = str(item.get("link") or "")
        title = clean_text(html_to_text(_rendered(item, "title")))
        if not title or not is_http_url(link):
            continue
        terms = [term for group in _embedded(item, "wp:term") if isinstance(group, list) for term in group]
        entries.append(
            RawEntry(
                url=link,
                title=title,
                guid=_rendered(item, "guid") or None,
                summary_html=clean_html(_rendered(item, "excerpt"), link) or None,
                content_html=clean_html(_rendered(item, "content"), link) or None,
                published=parse_date(_utc_text(item.get("date_gmt"))),
                updated=parse_date(_utc_text(item.get("modified_gmt"))),
                authors=tuple(
                    clean_text(a.get("name"))
                    for a in _embedded(item, "author")
                    if isinstance(a, Mapping) and a.get("name")
                ),
                tags=tuple(
                    dict.fromkeys(
                        clean_text(html.unescape(str(t.get("name"))))
                        for t in terms
                        if isinstance(t, Mapping) and t.get("name")
                    )
                ),
                image_url=next(
                    (
                        str(m.get("source_url"))
                        for m in _embedded(item, "wp:featuredmedia")
                        if isinstance(m, Mapping) and is_http_url(str(m.get("source_url") or ""))
                    ),
                    None,
                ),
            )
        )
    return entries


def _json_list(body: bytes, url: str) -> list[Any]:
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ParseError(
            f"not JSON from the WordPress REST API at {url}: {exc}",
            hint="the address must be a /wp-json/wp/v2/... route; open it in a browser",
        ) from None
    if isinstance(data, Mapping) and "code" in data:
        raise ParseError(
            f"the WordPress REST API at {url} answered an error: {data.get('code')}",
            hint="the site may have switched its REST API off; use its feed instead",
        )
    if not isinstance(data, list):
        raise ParseError(
            f"the WordPress REST API at {url} did not answer a list",
            hint="point the source at a collection such as /wp-json/wp/v2/posts",
        )
    return data


def _rendered(item: Mapping[str, Any], key: str) -> str:
    value = item.get(key)
    if isinstance(value, Mapping):
        value = value.get("rendered")
    return str(value) if value else ""


def _embedded(item: Mapping[str, Any], key: str) -> list[Any]:
    embedded = item.get("_embedded")
    value = embedded.get(key) if isinstance(embedded, Mapping) else None
    return value if isinstance(value, list) else []


def _utc_text(value: object) -> str | None:
    # date_gmt has no zone designator ("2020-12-10T17:00:00"): it is UTC by definition.
    return f"{value}Z" if isinstance(value, str) and value and not value.endswith("Z") else None
