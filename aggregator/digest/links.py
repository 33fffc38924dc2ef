"""The web app's addresses that mails link to, built in one place from settings.base_url."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from aggregator.people.tokens import Tokens


@dataclass(frozen=True, slots=True)
class Links:
    """URLs under the public base address; the web app serves these paths."""

    base_url: str

    def _url(self, path: str) -> str:
        return self.base_url.rstrip("/") + path

    def confirm(self, token: str) -> str:
        return self._url(f"/subscribe/confirm/{quote(token, safe='')}")

    def preferences(self, token: str) -> str:
        return self._url(f"/preferences/{quote(token, safe='')}")

    def unsubscribe(self, token: str) -> str:
        return self._url(f"/unsubscribe/{quote(token, safe='')}")

    def event_ics(self, resource_id: int) -> str:
        return self._url(f"/events/{int(resource_id)}.ics")

    def calendar_feed(self, kind: str = "all", label_id: str | None = None) -> str:
        """The subscribable calendar of upcoming events (webcal://: calendar apps subscribe, not download)."""
        path = "/feeds/events.ics" if kind == "all" else f"/feeds/{kind}/{quote(label_id or '', safe='')}.ics"
        return webcal(self._url(path))

    def archive(self, month: str) -> str:
        return self._url(f"/archive/{quote(month, safe='')}")

    def preview_issue(self, token: str) -> str:
        """A test copy's "read in your browser": the issue's page before it is sent (signed, expires)."""
        return self._url(f"/archive/preview/{quote(token, safe='')}")

    def preview_notice(self, token: str, what: str) -> str:
        """Where a test copy's unsubscribe or preferences link goes: a page saying what it does for a subscriber."""
        return self._url(f"/preview/{quote(token, safe='')}/{quote(what, safe='')}")

    def home(self) -> str:
        return self._url("/")


def webcal(url: str) -> str:
    """`url` as a webcal:// link (the scheme calendar apps register to subscribe to a calendar over http(s))."""
    return "webcal://" + url.split("://", 1)[1] if "://" in url else url


@dataclass(frozen=True, slots=True)
class PersonalLinks:
    """The two links that differ for every subscriber."""

    unsubscribe: str
    preferences: str
    mailto: str | None = None  # their own List-Unsubscribe address (digest.addresses); None: the shared one


def personal_links(links: Links, tokens: Tokens, subscriber_id: int, token_version: int) -> PersonalLinks:
    """Signed unsubscribe and preference links for one subscriber."""
    return PersonalLinks(
        unsubscribe=links.unsubscribe(tokens.make("unsubscribe", subscriber_id, token_version)),
        preferences=links.preferences(tokens.make("preferences", subscriber_id, token_version)),
    )


def preview_links(links: Links, tokens: Tokens, issue_id: int) -> tuple[PersonalLinks, str]:
    """A test copy's personal links and its "read in your browser" link: signed preview pages that work
    before the issue is sent, for nobody's subscription."""
    from aggregator.people.tokens import make_preview

    token = make_preview(tokens, issue_id)
    return (
        PersonalLinks(
            unsubscribe=links.preview_notice(token, "unsubscribe"),
            preferences=links.preview_notice(token, "preferences"),
        ),
        links.preview_issue(token),
    )


def unsubscribe_mailto(address: str) -> str:
    """The mailto: half of List-Unsubscribe (RFC 2369)."""
    return f"mailto:{address}?subject=unsubscribe"
