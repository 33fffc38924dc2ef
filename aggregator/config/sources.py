"""Loading and validating sources.yaml: a bad file is refused with its line and a fix-it hint."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from aggregator.config.cache import FileCache
from aggregator.config.source_options import (  # noqa: F401 (re-exported)
    GovukOptions,
    Hints,
    OaiOptions,
    PageSelectors,
    Selector,
    WordpressOptions,
    _Strict,
    check_http_url,
    parse_duration,
)
from aggregator.config.yamlfile import LocatedError, parse_yaml_model, unknown_key_hint
from aggregator.errors import ConfigError
from aggregator.ingest.adapters.registry import ADAPTER_NAMES

AdapterName = Literal[ADAPTER_NAMES]  # type: ignore[valid-type]  # the registry is the one list
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


_DASH = re.compile(" [\u2013\u2014] ")  # "Partner — what we read of it"
_FORMAT_NOTE = re.compile(r"\s*\((?:rss|atom|json(?: feed)?|feed|oai-pmh|api)\)\s*$", re.IGNORECASE)


def public_names(sources: Iterable[SourceConfig]) -> dict[str, str]:
    """Each source's public partner name by source id."""
    return {s.id: s.public_name for s in sources}


class SourceConfig(_Strict):
    """One partner source after `defaults:` have been merged in."""

    id: str
    name: str
    url: str
    adapter: AdapterName
    enabled: bool = True
    interval: timedelta = timedelta(days=1)
    hints: Hints = Hints()
    tags: tuple[str, ...] = Field((), description="tags added to every entry of this source")
    selectors: PageSelectors | None = None
    oai: OaiOptions | None = None
    govuk: GovukOptions | None = None
    wordpress: WordpressOptions | None = None
    title_fields: str | None = Field(
        None,
        description="a regular expression with named groups read from each "
        "entry's title: `title` replaces it, others become fields",
    )
    max_entries: int = Field(500, ge=1, le=100_000)
    homepage: str | None = None
    full_content: bool = Field(
        False,
        description="read each feed entry's full content (event details, fuller "
        "summaries); slower, so only for sources that need it",
    )
    partner: str | None = Field(
        None,
        description="the partner's public name, as subscribers see it; default: "
        "`name` up to its ' — ', without '(RSS)' and the like",
    )

    @property
    def public_name(self) -> str:
        """What subscribers see: the partner, never a source id or how we read it ("... (RSS)")."""
        if self.partner:
            return self.partner
        return _FORMAT_NOTE.sub("", _DASH.split(self.name)[0]).strip() or self.name

    _check_url = field_validator("url")(classmethod(lambda cls, v: check_http_url(v)))

    @field_validator("homepage")
    @classmethod
    def _homepage(cls, value: str | None) -> str | None:
        return check_http_url(value) if value else value

    @field_validator("title_fields")
    @classmethod
    def _title_fields(cls, value: str | None) -> str | None:
        if value is None:
            return value
        try:
            pattern = re.compile(value)
        except re.error as exc:
            raise ValueError(f"title_fields is not a valid regular expression: {exc}") from None
        if not pattern.groupindex:
            raise ValueError("title_fields needs named groups, e.g. (?P<speaker>...)")
        return value

    @field_validator("id")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not _SLUG.match(value):
            raise ValueError("ids are lower-case letters, digits and '-', e.g. nhs-england-culture")
        return value

    @field_validator("interval", mode="before")
    @classmethod
    def _interval(cls, value: Any) -> timedelta:
        return parse_duration(value)

    @model_validator(mode="after")
    def _adapter_options(self) -> SourceConfig:
        if self.adapter == "page" and self.selectors is None:
            raise ValueError("the page adapter needs `selectors:` (container, title, ...)")
        return self


class SourcesFile(_Strict):
    """The whole sources.yaml: a format version, defaults merged into every source, and the sources."""

    version: Literal[1] = 1
    defaults: dict[str, Any] = Field(default_factory=dict)
    sources: tuple[SourceConfig, ...]

    @model_validator(mode="before")
    @classmethod
    def _merge_defaults(cls, data: Any) -> Any:
        if not isinstance(data, dict) or not isinstance(data.get("sources"), list):
            return data
        defaults = data.get("defaults") or {}
        if not isinstance(defaults, dict):
            return data
        merged = []
        for source in data["sources"]:
            merged.append(merge_defaults(defaults, source) if isinstance(source, dict) else source)
        return {**data, "sources": merged}

    @model_validator(mode="after")
    def _unique_ids(self) -> SourcesFile:
        seen: set[str] = set()
        for index, source in enumerate(self.sources):
            if source.id in seen:
                raise LocatedError(
                    f"duplicate source id {source.id!r}", ("sources", index, "id"), "give every source its own id"
                )
            seen.add(source.id)
        return self

    def get(self, source_id: str) -> SourceConfig:
        for source in self.sources:
            if source.id == source_id:
                return source
        known = ", ".join(s.id for s in self.sources)
        raise ConfigError(f"no source with id {source_id!r}", hint=f"known ids: {known}")


def merge_defaults(defaults: dict[str, Any], source: dict[str, Any]) -> dict[str, Any]:
    """Source keys win; nested mappings (hints, selectors, oai...) are merged one level down."""
    merged = dict(defaults)
    for key, value in source.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


# --- loading with line numbers ---------------------------------------------------------------


def load_sources(path: Path) -> SourcesFile:
    """Read and validate `path`; raise ConfigError naming the file, the line and the fix."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            "file not found", path=str(path), hint="create sources.yaml or set AGGREGATOR_SOURCES_FILE"
        ) from None
    return parse_sources(text, str(path))


def parse_sources(text: str, filename: str = "sources.yaml") -> SourcesFile:
    """Validate sources.yaml text; errors carry the file name, line number and a hint."""
    return parse_yaml_model(
        text,
        filename,
        SourcesFile,
        hint_for=_hint_for,
        expected="start the file with `version: 1` and a `sources:` list",
    )


def _hint_for(error: Mapping[str, Any], loc: Sequence[Any]) -> str:
    kind = error.get("type", "")
    field = str(loc[-1]) if loc else ""
    if kind == "extra_forbidden":
        return unknown_key_hint(field, _fields_for(loc[:-1]))
    if kind == "missing":
        return f"add `{field}:` to this entry" + (" (or to `defaults:`)" if loc and loc[0] == "sources" else "")
    if kind == "literal_error" and field == "adapter":
        return "adapter is one of: feed, page, govuk, oai-pmh, metadata, wordpress"
    if "http" in error.get("msg", ""):
        return "use the site's public https:// address; file: and other schemes are refused"
    if "CSS" in error.get("msg", ""):
        return "write a CSS selector as in a browser's developer tools, e.g. 'article.seminar h3 a'"
    if field == "interval":
        return "write a duration such as 6h, 1d or 1w"
    return "see the sources.yaml reference in README.md"


def _fields_for(loc: Sequence[Any]) -> list[str]:
    model: type[BaseModel] = SourcesFile
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(str(part))
        if field is None:
            break
        annotation = field.annotation
        candidates = [annotation, *getattr(annotation, "__args__", ())]
        inner = next((c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None)
        if inner is None:
            args = [a for c in candidates for a in getattr(c, "__args__", ())]
            inner = next((c for c in args if isinstance(c, type) and issubclass(c, BaseModel)), None)
        if inner is None:
            break
        model = inner
    return list(model.model_fields)


_READ = FileCache(load_sources)


def read_sources(path: Path) -> SourcesFile:
    """sources.yaml as this process last read it, read again only when the file changes (one read per process
    for the pipeline's stages; the commands that edit the file use `load_sources`)."""
    return _READ.get(path)
