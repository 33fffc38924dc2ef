"""In-memory fakes for unit tests: a fetcher that serves canned responses or raises canned errors."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class FakeFetched:
    url: str
    status: int = 200
    body: bytes = b""
    content_type: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    permanent_redirect: str | None = None

    @property
    def not_modified(self) -> bool:
        return self.status == 304


@dataclass
class FakeFetcher:
    """Answers fetch(url) from `responses` (a FakeFetched, or an exception to raise); records calls."""

    responses: dict[str, FakeFetched | Exception] = field(default_factory=dict)
    calls: list[tuple[str, str | None]] = field(default_factory=list)

    def fetch(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None, accept: str | None = None
    ) -> FakeFetched:
        self.calls.append((url, etag))
        answer = self.responses.get(url)
        if answer is None:
            from aggregator.errors import HTTPStatusError

            raise HTTPStatusError(f"404 Not Found at {url}", url=url, status=404)
        if isinstance(answer, Exception):
            raise answer
        if etag and answer.etag == etag:
            return FakeFetched(url=answer.url, status=304, etag=etag)
        return answer


def rss(items: list[tuple[str, str]], *, title: str = "Feed") -> bytes:
    """A small RSS 2.0 document with (title, link) items, guids equal to links."""
    body = "".join(
        f"<item><title>{t}</title><link>{link}</link><guid>{link}</guid>"
        f"<description>&lt;p&gt;About {t}&lt;/p&gt;</description></item>"
        for t, link in items
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>{title}</title>{body}</channel></rss>'.encode()
