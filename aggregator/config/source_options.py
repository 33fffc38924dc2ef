"""The parts of one source in sources.yaml: page selectors, editors' hints, per-adapter options, and the duration and URL checks."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from aggregator.model import ResourceType

_DURATION = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$")


_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def parse_duration(value: Any) -> timedelta:
    """'30m', '6h', '1d', '2w' or a number of seconds -> timedelta."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return timedelta(seconds=value)
    match = _DURATION.match(str(value))
    if not match:
        raise ValueError("write a duration such as 30m, 6h, 1d or 1w")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def check_http_url(value: str) -> str:
    """Refuse anything that is not an absolute http(s) URL (file:, ftp:, relative paths...)."""
    from aggregator.text.sanitize import is_http_url

    value = value.strip()
    if not is_http_url(value):
        raise ValueError("only absolute http:// or https:// URLs are allowed")
    return value


class Selector(_Strict):
    """A CSS selector, optionally reading an attribute: written `css` or `css @attr` in the file."""

    css: str
    attr: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, value: Any) -> Any:
        if isinstance(value, str):
            css, _, attr = value.partition(" @")
            if not css.strip():
                raise ValueError("a selector needs a CSS part, e.g. 'h3 a' or 'a.slides @href'")
            return {"css": css.strip(), "attr": attr.strip() or None}
        return value

    @field_validator("css")
    @classmethod
    def _valid_css(cls, value: str) -> str:
        import soupsieve  # imports bs4 and its parsers: only for files that have selectors

        try:
            soupsieve.compile(value)
        except soupsieve.SelectorSyntaxError as exc:
            raise ValueError(f"not a valid CSS selector: {value!r} ({str(exc).splitlines()[0]})") from None
        return value


class PageSelectors(_Strict):
    """How to find entries on a page without a feed (the `page` adapter)."""

    container: Selector = Field(description="one match per entry")
    title: Selector
    link: Selector | None = Field(None, description="default: the first link in the title, else in the container")
    date: Selector | None = None
    summary: Selector | None = None
    tags: Selector | None = None
    fields: dict[str, Selector] = Field(default_factory=dict, description="extra named fields (speaker, slides...)")
    follow_links: bool = Field(False, description="fetch each entry's page for its metadata (citation_*, JSON-LD)")


class Hints(_Strict):
    """What editors know about a source: applied as classifier signals and defaults."""

    audiences: tuple[str, ...] = ()
    themes: tuple[str, ...] = ()
    type: ResourceType | None = None


class OaiOptions(_Strict):
    metadata_prefix: str = "oai_dc"
    set: str | None = None
    item_pages: bool = Field(False, description="fetch each record's landing page for citation_* meta")


class GovukOptions(_Strict):
    paths: tuple[str, ...] = Field((), description="content paths, each read from /api/content/<path>")

    @field_validator("paths")
    @classmethod
    def _paths_absolute(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for path in value:
            if not path.startswith("/"):
                raise ValueError(f"GOV.UK paths start with '/', e.g. /government/publications/...; got {path!r}")
        return value


class WordpressOptions(_Strict):
    """The WordPress REST API route (`/wp-json/wp/v2/posts` or `/pages`): which category to read."""

    category: str | None = Field(None, description="a category slug, looked up at /wp-json/wp/v2/categories?slug=")
