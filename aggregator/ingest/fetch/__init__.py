"""The fetch stage: polite, SSRF-guarded HTTP GETs that turn a URL into a Fetched value or a FetchError."""

from aggregator.ingest.fetch.client import Fetched, Fetcher, parse_retry_after
from aggregator.ingest.fetch.netguard import GuardedBackend, guarded_transport, is_public_address

__all__ = ["Fetched", "Fetcher", "GuardedBackend", "guarded_transport", "is_public_address", "parse_retry_after"]
