"""Reading a response body under a byte cap (counted after decompression) and a total deadline."""

from __future__ import annotations

import logging
import zlib
from collections.abc import Callable, Iterator

import httpx

from aggregator.errors import BodyTooLargeError, DeadlineExceededError, FetchError

logger = logging.getLogger(__name__)

ACCEPT_ENCODING = "gzip, deflate"
"""The only codings we ask for, because these are the ones we inflate under a bound ourselves."""

_STEP = 64 * 1024  # most bytes one inflate call may produce


def read_body(response: httpx.Response, *, cap: int, deadline: float, clock: Callable[[], float]) -> bytes:
    """Read a streamed response's body, raising BodyTooLargeError past `cap` decoded bytes.

    httpx's own `iter_bytes` inflates each network read in one call, so 64 KiB of a gzip bomb can
    become 64 MiB in memory before a caller can count it; gzip and deflate are therefore inflated
    here from `iter_raw` with zlib's `max_length`, so no more than `cap` + 64 KiB is ever held.
    """
    url = str(response.url)
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        raise BodyTooLargeError(f"declared body of {declared} bytes is over the cap of {cap}", url=url)
    if response.is_stream_consumed:  # an in-memory transport (httpx.MockTransport) read it already
        if len(response.content) > cap:
            raise BodyTooLargeError(f"body is over the cap of {cap} bytes", url=url)
        return response.content
    parts: list[bytes] = []
    size = 0
    for part in _iter_decoded(response):
        size += len(part)
        if size > cap:
            raise BodyTooLargeError(f"body is over the cap of {cap} bytes", url=url)
        parts.append(part)
        if clock() > deadline:
            raise DeadlineExceededError("the total deadline passed while reading the body", url=url)
    return b"".join(parts)


def _iter_decoded(response: httpx.Response) -> Iterator[bytes]:
    codings = [c.strip().lower() for c in response.headers.get("content-encoding", "").split(",")]
    codings = [c for c in codings if c and c != "identity"]
    stream: Iterator[bytes] = response.iter_raw()
    # Codings are listed in the order they were applied: peel the last one first, each layer bounded,
    # so stacked codings ("gzip, gzip") cannot inflate more than _STEP at a time either.
    for coding in reversed(codings):
        if coding in ("gzip", "x-gzip"):
            stream = _inflate(stream, zlib.MAX_WBITS | 16)
        elif coding == "deflate":
            stream = _inflate(stream, zlib.MAX_WBITS, raw_fallback=True)
        else:  # br, zstd, compress...: we never ask for them and cannot bound them
            raise FetchError(
                f"the server sent a content-encoding we did not ask for: {coding}",
                url=str(response.url),
                hint="the site ignores Accept-Encoding; ask the partner to serve gzip or plain",
            )
    yield from stream


def _inflate(raw: Iterator[bytes], wbits: int, *, raw_fallback: bool = False) -> Iterator[bytes]:
    inflater = zlib.decompressobj(wbits)
    first = True
    try:
        for data in raw:
            if first and raw_fallback:
                # "deflate" is zlib-wrapped by the RFC but raw deflate on some servers.
                first = False
                try:
                    zlib.decompressobj(wbits).decompress(data[:64], 1)
                except zlib.error:
                    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
            while data and not inflater.eof:
                out = inflater.decompress(data, _STEP)
                data = inflater.unconsumed_tail
                if out:
                    yield out
        if not inflater.eof:
            tail = inflater.flush()
            if tail:
                yield tail
    except zlib.error as exc:
        raise httpx.DecodingError(f"cannot decompress the body: {exc}") from exc
