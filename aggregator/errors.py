"""The one exception hierarchy of the aggregator; every error carries a fix-it hint for the person who sees it."""

from __future__ import annotations


class AggregatorError(Exception):
    """Base of every error the aggregator raises on purpose."""

    hint: str = ""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if hint is not None:
            self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class ConfigError(AggregatorError):
    """A configuration file (sources.yaml, the taxonomy) or a setting is invalid."""

    def __init__(
        self, message: str, *, path: str | None = None, line: int | None = None, hint: str | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.path = path
        self.line = line

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}: " if self.path and self.line else (f"{self.path}: " if self.path else "")
        tail = f"\n  fix: {self.hint}" if self.hint else ""
        return f"{where}{self.message}{tail}"


class FetchError(AggregatorError):
    """Fetching a URL failed; `url` is the URL that was being fetched."""

    hint = "check that the source's URL opens in a browser; the run goes on with the other sources"

    def __init__(self, message: str, *, url: str = "", hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.url = url


class BlockedAddressError(FetchError):
    """The host resolved to a private, loopback, link-local or otherwise non-public address."""

    hint = "sources must be public web sites; set AGGREGATOR_ALLOW_PRIVATE_ADDRESSES=true only for local testing"


class BlockedSchemeError(FetchError):
    """A URL or redirect pointed at a scheme other than http(s)."""

    hint = "only http:// and https:// URLs can be fetched"


class RobotsDisallowedError(FetchError):
    """The site's robots.txt does not allow our user agent to fetch this URL."""

    hint = "the site asks robots not to fetch this page; ask the partner to allow it or remove the source"


class BodyTooLargeError(FetchError):
    """The (decompressed) response body went over the configured cap."""

    hint = "raise AGGREGATOR_FETCH__MAX_BODY_BYTES if this source is legitimately that large"


class NetworkError(FetchError):
    """The host could not be reached; `cause` names how (DNS failure, connection refused, TLS error, timeout...)."""

    hint = "the site, or this machine's network, could not be reached; the source is tried again later"

    def __init__(self, message: str, *, url: str = "", cause: str, hint: str | None = None) -> None:
        super().__init__(message, url=url, hint=hint)
        self.cause = cause


class DeadlineExceededError(NetworkError):
    """The whole request (connect, headers and body) took longer than the total deadline."""

    hint = "the site is very slow or stalled; it will be tried again at the next run"

    def __init__(self, message: str, *, url: str = "", hint: str | None = None) -> None:
        super().__init__(message, url=url, cause="timeout", hint=hint)


class TooManyRedirectsError(FetchError):
    """More redirect hops than allowed, or a redirect loop."""

    hint = "the site redirects in a loop; open the URL in a browser and use the final address"


class HTTPStatusError(FetchError):
    """The server answered with an error status."""

    def __init__(self, message: str, *, url: str = "", status: int, hint: str | None = None) -> None:
        super().__init__(message, url=url, hint=hint)
        self.status = status


class RateLimitedError(HTTPStatusError):
    """429 or 503: the server asks us to come back later (`retry_after` seconds, when it said)."""

    hint = "the site asked us to slow down; the source is paused until the time it gave"

    def __init__(self, message: str, *, url: str = "", status: int, retry_after: float | None) -> None:
        super().__init__(message, url=url, status=status)
        self.retry_after = retry_after


class GoneError(HTTPStatusError):
    """410 Gone: the resource was removed on purpose; the source gets disabled."""

    hint = "the partner removed this address; find its new address and update sources.yaml"


class ParseError(AggregatorError):
    """Bytes could not be turned into entries by an adapter (the documented parse failure)."""

    hint = "the source did not return the format its adapter expects; check the adapter and URL in sources.yaml"


class StoreError(AggregatorError):
    """The database could not be read or written."""

    hint = "check AGGREGATOR_DATABASE_URL and run `aggregator db upgrade`"
