"""The partner-site fixture server: tests/sites served on 127.0.0.1, and a transport that routes real URLs to it."""

from __future__ import annotations

import email.utils
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from urllib.parse import parse_qsl, unquote, urlsplit

import httpx
import yaml

from aggregator.settings import Settings

logger = logging.getLogger(__name__)

ROUTES_FILE = "routes.yaml"
_ROUTE_KEYS = frozenset({"path", "file", "content_type", "status", "etag", "last_modified", "query", "headers"})


@dataclass(frozen=True, slots=True)
class Route:
    """One response a fixture site gives: for a path (and maybe a query), a file with its headers."""

    path: str
    query: tuple[tuple[str, str], ...] | None  # None: any query matches
    file: Path | None
    content_type: str
    status: int = 200
    etag: str | None = None
    last_modified: str | None = None  # an HTTP date, e.g. "Tue, 04 Mar 2025 09:00:00 GMT"
    headers: Mapping[str, str] = field(default_factory=dict)

    def matches(self, path: str, query: tuple[tuple[str, str], ...]) -> bool:
        return self.path == path and (self.query is None or self.query == query)


@dataclass(frozen=True, slots=True)
class Site:
    """A partner site's fixture folder and its routes, in the order routes.yaml lists them."""

    host: str
    folder: Path
    routes: tuple[Route, ...]

    def find_route(self, path: str, query: tuple[tuple[str, str], ...]) -> Route | None:
        # Routes with an exact query win over query-insensitive ones for the same path.
        exact = [r for r in self.routes if r.query is not None and r.matches(path, query)]
        loose = [r for r in self.routes if r.query is None and r.matches(path, query)]
        return (exact or loose or [None])[0]


def normalise_query(query: str) -> tuple[tuple[str, str], ...]:
    """A query string as sorted, decoded pairs: parameter order and percent-encoding do not matter."""
    return tuple(sorted(parse_qsl(query, keep_blank_values=True)))


def load_site(folder: Path) -> Site:
    """Read `folder`/routes.yaml; a route's file must exist inside the folder.

    Each route: `path` (with `?query` to match those parameters exactly, in any order), `file`
    (relative to the folder; omit for an empty body), `content_type`, `status` (200), `etag`,
    `last_modified`, `headers` (e.g. Location), and `query: ignore` to accept any query.
    """
    data = yaml.safe_load((folder / ROUTES_FILE).read_text(encoding="utf-8")) or {}
    routes = []
    for raw in data.get("routes", []):
        unknown = set(raw) - _ROUTE_KEYS
        if unknown:
            raise ValueError(f"{folder / ROUTES_FILE}: unknown route keys {sorted(unknown)}")
        routes.append(_route_from(folder, raw))
    return Site(host=folder.name, folder=folder, routes=tuple(routes))


def _route_from(folder: Path, raw: Mapping[str, object]) -> Route:
    path, _, query = str(raw["path"]).partition("?")
    mode = str(raw.get("query", "exact" if query else "ignore"))
    if mode not in ("exact", "ignore"):
        raise ValueError(f"{folder / ROUTES_FILE}: query is 'exact' or 'ignore', got {mode!r}")
    file = folder / str(raw["file"]) if raw.get("file") else None
    if file is not None and not file.resolve().is_relative_to(folder.resolve()):
        raise ValueError(f"{folder / ROUTES_FILE}: {file} is outside the site folder")
    if file is not None and not file.is_file():
        raise ValueError(f"{folder / ROUTES_FILE}: missing file {file}")
    return Route(
        path=path,
        query=normalise_query(query) if mode == "exact" else None,
        file=file,
        content_type=str(raw.get("content_type", "text/html; charset=UTF-8")),
        status=int(raw.get("status", 200)),  # type: ignore[call-overload]
        etag=str(raw["etag"]) if raw.get("etag") else None,
        last_modified=str(raw["last_modified"]) if raw.get("last_modified") else None,
        headers={str(k): str(v) for k, v in dict(raw.get("headers") or {}).items()},  # type: ignore[call-overload]
    )


def load_sites(root: Path) -> dict[str, Site]:
    """Every host folder under `root` that has a routes.yaml, by host name."""
    return {f.name: load_site(f) for f in sorted(root.iterdir()) if (f / ROUTES_FILE).is_file()}


def sites_root() -> Path:
    """The tests/sites folder of this checkout (the fixtures are not installed with the package)."""
    root = Path(__file__).resolve().parents[2] / "tests" / "sites"
    if not root.is_dir():
        raise FileNotFoundError(f"partner-site fixtures not found at {root}; run from a source checkout")
    return root


class _Handler(BaseHTTPRequestHandler):
    server: _FixtureHTTPServer
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 - the http.server naming
        self._answer(send_body=True)

    def do_HEAD(self) -> None:  # noqa: N802
        self._answer(send_body=False)

    def _answer(self, send_body: bool) -> None:
        host, _, rest = self.path.lstrip("/").partition("/")
        parts = urlsplit("/" + rest)
        site = self.server.sites.get(host)
        route = site.find_route(unquote(parts.path), normalise_query(parts.query)) if site else None
        if route is None:
            self._send(HTTPStatus.NOT_FOUND, b"not found\n", {"Content-Type": "text/plain"}, send_body)
            return
        validators = {"ETag": route.etag, "Last-Modified": route.last_modified}
        validators = {k: v for k, v in validators.items() if v}
        if route.status == 200 and self._is_not_modified(route):
            self._send(HTTPStatus.NOT_MODIFIED, b"", validators, send_body)
            return
        body = route.file.read_bytes() if route.file else b""
        headers = {"Content-Type": route.content_type, **validators, **route.headers}
        self._send(route.status, body, headers, send_body)

    def _is_not_modified(self, route: Route) -> bool:
        # RFC 9110 13.1.3: If-None-Match takes precedence; If-Modified-Since only when it is absent.
        if_none_match = self.headers.get("If-None-Match")
        if if_none_match is not None:
            tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
            return bool(route.etag) and (route.etag.removeprefix("W/") in tags or "*" in tags)
        since = self.headers.get("If-Modified-Since")
        if since and route.last_modified:
            try:
                return email.utils.parsedate_to_datetime(route.last_modified) <= email.utils.parsedate_to_datetime(
                    since
                )
            except (TypeError, ValueError):
                return False
        return False

    def _send(self, status: int, body: bytes, headers: Mapping[str, str], send_body: bool) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if status != HTTPStatus.NOT_MODIFIED:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if send_body and body:
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the http.server signature
        logger.debug("fixture server: " + format, *args)


class _FixtureHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, sites: dict[str, Site]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.sites = sites


class FixtureSites:
    """Serves tests/sites on 127.0.0.1: `http://127.0.0.1:PORT/<host>/<path>?<query>` per routes.yaml."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.sites = load_sites(root)
        self._server: _FixtureHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def origin(self) -> str:
        """`http://127.0.0.1:PORT`, the address to rewrite partner URLs to."""
        if self._server is None:
            raise RuntimeError("the fixture server is not running; use `with FixtureSites(root) as sites:`")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def url_for(self, url: str) -> str:
        """The local address answering for a real partner URL."""
        return rewrite_url(httpx.URL(url), self.origin)

    def transport(self, inner: httpx.BaseTransport | None = None) -> RewritingTransport:
        """A transport sending real partner URLs here (over `inner`, default a plain HTTP transport)."""
        return RewritingTransport(inner=inner or httpx.HTTPTransport(), origin=self.origin)

    def start(self) -> FixtureSites:
        if self._server is None:
            self._server = _FixtureHTTPServer(self.sites)
            # A short poll interval keeps stop() quick (serve_forever checks for shutdown between polls).
            self._thread = threading.Thread(
                target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fixture-sites", daemon=True
            )
            self._thread.start()
            logger.info("fixture sites serving", extra={"url": self.origin, "count": len(self.sites)})
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FixtureSites:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def serve_fixture_sites(root: Path) -> FixtureSites:
    """Start serving the fixture tree at `root`; stop it with `.stop()` or use it as a context manager."""
    return FixtureSites(root).start()


def rewrite_url(url: httpx.URL, origin: str) -> str:
    """`https://<host>/<path>?q` -> `<origin>/<host>/<path>?q`; URLs already on the origin are kept."""
    base = httpx.URL(origin)
    if (url.host, url.port) == (base.host, base.port):
        return str(url)
    return f"{origin.rstrip('/')}/{url.host}{url.raw_path.decode('ascii')}"


class RewritingTransport(httpx.BaseTransport):
    """Sends every request for a real partner URL to the fixture server instead, keeping method, headers and body."""

    def __init__(self, inner: httpx.BaseTransport, origin: str) -> None:
        self.inner = inner
        self.origin = origin.rstrip("/")

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        target = rewrite_url(request.url, self.origin)
        if target == str(request.url):
            return self.inner.handle_request(request)
        url = httpx.URL(target)
        # httpx only computes Host when it builds the body itself, so set it for the new address.
        headers = [("Host", url.netloc.decode("ascii"))]
        headers += [(k, v) for k, v in request.headers.multi_items() if k.lower() != "host"]
        rewritten = httpx.Request(
            request.method, url, headers=headers, stream=request.stream, extensions=request.extensions
        )
        logger.debug("rewrote request", extra={"url": str(request.url), "target": target})
        return self.inner.handle_request(rewritten)

    def close(self) -> None:
        self.inner.close()


def demo_settings(settings: Settings, root: Path) -> Settings:
    """`settings` made fit for the local fixture server: loopback allowed, short per-host delay, repo sources.yaml,
    and the repo's taxonomy.yaml unless the configured one exists (so the demo runs from any folder)."""
    sources_file = root.parents[1] / "sources.yaml"
    taxonomy_file = root.parents[1] / "taxonomy.yaml"
    keep_taxonomy = settings.taxonomy_file.is_file() or not taxonomy_file.is_file()
    return settings.model_copy(
        update={
            "allow_private_addresses": True,  # the fixture server is on 127.0.0.1
            "fetch": settings.fetch.model_copy(update={"per_host_delay": min(settings.fetch.per_host_delay, 0.1)}),
            "sources_file": sources_file if sources_file.is_file() else settings.sources_file,
            "taxonomy_file": settings.taxonomy_file if keep_taxonomy else taxonomy_file,
        }
    )


def run_demo(fetch_sources: Callable[..., None], *, root: Path | None = None, settings: Settings | None = None) -> None:
    """Serve the fixtures and call `fetch_sources(settings, None, transport=...)` with every request routed to them.

    The pipeline itself is the caller's (the CLI passes its `fetch` command's implementation).
    """
    from aggregator.ingest.fetch import guarded_transport

    root = root or sites_root()
    settings = demo_settings(settings or Settings(), root)
    with FixtureSites(root) as sites:
        transport = RewritingTransport(inner=guarded_transport(settings), origin=sites.origin)
        fetch_sources(settings, None, transport=transport)
