"""Adding a site by its URL and re-checking a source's route: detection, samples, sources.yaml edits kept with comments."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aggregator.config.sources import SourceConfig, parse_sources
from aggregator.errors import AggregatorError, ConfigError
from aggregator.ingest.adapters.platform import Detection, Route, detect_platform, propose_selectors
from aggregator.ingest.harvest import HTML_ACCEPT, Fetcher, HarvestRequest, harvest_source
from aggregator.model import RawEntry

logger = logging.getLogger(__name__)
_SLUG_PART = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True, slots=True)
class RouteSample:
    """What one route gave when tried: its entries (the first few), or the error that stopped it."""

    route: Route
    count: int
    entries: tuple[RawEntry, ...]
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing `sources doctor` noticed about a source, and the fix."""

    source_id: str
    problem: str
    fix: str


def discover_routes(url: str, fetcher: Fetcher, *, sample_size: int = 3) -> tuple[Detection, list[RouteSample]]:
    """Fetch `url`, recognise its platform and try each route it offers, richest first."""
    page = fetcher.fetch(url, accept=HTML_ACCEPT)
    detection = detect_platform(page.body, page.url)
    return detection, [sample_route(route, fetcher, sample_size=sample_size) for route in detection.routes]


def sample_route(route: Route, fetcher: Fetcher, *, sample_size: int = 3) -> RouteSample:
    """Harvest one route as a source would be harvested; an error is kept, not raised."""
    config = source_config(route_entry(route, source_id="sample", name="sample"))
    try:
        harvest = harvest_source(HarvestRequest(source=config, url=config.url), fetcher)
    except AggregatorError as exc:
        return RouteSample(route, 0, (), str(exc))
    return RouteSample(route, len(harvest.entries), harvest.entries[:sample_size])


def route_entry(route: Route, *, source_id: str, name: str, homepage: str | None = None) -> dict[str, Any]:
    """The sources.yaml entry for `route` (plain values, in the file's usual key order)."""
    entry: dict[str, Any] = {"id": source_id, "name": name, "url": route.url}
    if homepage and homepage != route.url:
        entry["homepage"] = homepage
    entry["adapter"] = route.adapter
    for key, value in route.options.items():
        entry[key] = _plain(value)
    return entry


def source_config(entry: Mapping[str, Any]) -> SourceConfig:
    """Validate one entry as sources.yaml would (ConfigError naming the problem)."""
    return parse_sources(dump_yaml({"version": 1, "sources": [dict(entry)]}), "new entry").sources[0]


def suggest_id(detection: Detection, existing: Sequence[str]) -> str:
    """A readable, unused id from the host and the path's last segment, e.g. `yqsr-previous-seminars`."""
    parts = urlsplit(detection.url)
    host = (parts.hostname or "site").removeprefix("www.").split(".")[0]
    last = [p for p in parts.path.split("/") if p and p != "index.php"][-1:] or [""]
    base = _SLUG_PART.sub("-", f"{host}-{last[0]}".lower()).strip("-")[:50] or "source"
    candidate, n = base, 2
    while candidate in existing:
        candidate, n = f"{base}-{n}", n + 1
    return candidate


def append_source(path: Path, entry: Mapping[str, Any]) -> None:
    """Add `entry` to the `sources:` list of `path`, keeping its comments and layout (ruamel.yaml round trip).

    The new file is validated before it is written: a file that would not load is never written.
    """
    yaml = _round_trip()
    text = path.read_text(encoding="utf-8")
    data = yaml.load(text)
    existing = [s.get("id") for s in data.get("sources") or []]
    if entry["id"] in existing:
        raise ConfigError(f"a source with id {entry['id']!r} is already in {path}", hint="choose another --id")
    data["sources"].append(_plain(entry))
    out = io.StringIO()
    yaml.dump(data, out)
    new_text = out.getvalue()
    parse_sources(new_text, str(path))
    path.write_text(new_text, encoding="utf-8")


def doctor_source(config: SourceConfig, fetcher: Fetcher, *, others: Sequence[SourceConfig] = ()) -> list[Finding]:
    """Re-run detection for `config` and report a richer route, a moved feed or selectors that match nothing.

    A richer route that one of `others` (the file's other sources) already reads is not reported.
    """
    if config.adapter in ("wordpress", "oai-pmh", "govuk"):  # already an API: it only has to keep working
        sample = _sample_config(config, fetcher)
        return (
            []
            if sample.error is None
            else [
                Finding(
                    config.id,
                    f"the API route fails: {sample.error}",
                    "open the site in a browser; `aggregator sources add <its page>` finds the route it offers now",
                )
            ]
        )
    page_url = config.url if config.adapter in ("page", "metadata") else (config.homepage or config.url)
    try:
        page = fetcher.fetch(page_url, accept=HTML_ACCEPT)
    except AggregatorError as exc:
        if config.adapter == "feed":
            return _check_feed(config, None, fetcher)
        return [Finding(config.id, f"cannot fetch {page_url}: {exc}", "check the address in a browser")]
    detection = detect_platform(page.body, page.url)
    findings: list[Finding] = []
    richer = (
        [
            r
            for r in detection.routes
            if r.kind in ("api", "category-feed")
            and r.rank < _current_rank(config, detection)
            and not _is_read(r, others)
        ]
        if config.adapter != "metadata"
        else []
    )
    if richer:
        best = richer[0]
        route = {
            k: v for k, v in route_entry(best, source_id=config.id, name=config.name).items() if k not in ("id", "name")
        }
        findings.append(
            Finding(
                config.id,
                f"a richer route appeared: {best.kind} ({best.why}) at {best.url}",
                "change the entry's route to:\n" + _indent(dump_yaml(route)),
            )
        )
    if config.adapter == "feed":
        findings += _check_feed(config, detection, fetcher)
    if config.adapter == "page" and config.selectors is not None:
        findings += _check_selectors(config, page.body, page.url)
    return findings


def _sample_config(config: SourceConfig, fetcher: Fetcher) -> RouteSample:
    route = Route("api", config.adapter, config.url, "current route")
    try:
        harvest = harvest_source(HarvestRequest(source=config, url=config.url), fetcher)
    except AggregatorError as exc:
        return RouteSample(route, 0, (), str(exc))
    return RouteSample(route, len(harvest.entries), ())


def _check_selectors(config: SourceConfig, body: bytes, url: str) -> list[Finding]:
    from aggregator.ingest.adapters.page import parse_page

    assert config.selectors is not None
    if parse_page(body, url, config.selectors):
        return []
    proposal = propose_selectors(body)
    fix = (
        ("use these selectors:\n" + _indent(dump_yaml({"selectors": proposal})))
        if proposal
        else "the page has no repeated structure left: ask the partner for a feed"
    )
    return [Finding(config.id, "the selectors stopped matching (no entries on the page)", fix)]


def _check_feed(config: SourceConfig, detection: Detection | None, fetcher: Fetcher) -> list[Finding]:
    announced = [r.url for r in detection.routes if r.adapter == "feed"] if detection else []
    sample = sample_route(Route("site-feed", "feed", config.url, "current feed"), fetcher, sample_size=0)
    if sample.error is None or config.url in announced:
        return []
    if announced:
        return [
            Finding(
                config.id,
                f"the feed moved: {config.url} fails ({sample.error})",
                f"set `url: {announced[0]}` (the address the site now announces)",
            )
        ]
    return [
        Finding(
            config.id,
            f"the feed fails ({sample.error}) and the site announces no other",
            "ask the partner where the feed went, or use the page route (`aggregator sources add`)",
        )
    ]


def _current_rank(config: SourceConfig, detection: Detection) -> int:
    for route in detection.routes:
        if route.adapter == config.adapter and route.url == config.url:
            return route.rank
    return {"wordpress": 0, "oai-pmh": 0, "govuk": 0, "feed": 2, "metadata": 3, "page": 4}[config.adapter]


def _is_read(route: Route, others: Sequence[SourceConfig]) -> bool:
    category = dict(route.options.get("wordpress") or {}).get("category")
    return any(
        o.adapter == route.adapter
        and o.url == route.url
        and (o.wordpress.category if o.wordpress else None) == category
        for o in others
    )


def _indent(text: str) -> str:
    return "".join(f"    {line}\n" for line in text.splitlines())


def _round_trip() -> Any:
    from ruamel.yaml import YAML

    yaml = YAML()  # round-trip mode: comments, key order and quoting are kept
    yaml.preserve_quotes = True
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096
    return yaml


def dump_yaml(data: Any) -> str:
    """`data` as YAML in sources.yaml's layout (two-space mappings, list items indented)."""
    out = io.StringIO()
    _round_trip().dump(_plain(data), out)
    return out.getvalue()


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
