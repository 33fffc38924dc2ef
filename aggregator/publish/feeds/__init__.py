"""The published feeds: the combined feed of approved resources and one per theme and audience, as RSS 2.0,
Atom and JSON Feed 1.1, served by the web app and built as static files."""

from __future__ import annotations

from aggregator.lazy import lazy_getattr

# name -> the module that defines it, imported on first use (aggregator/lazy.py)
_EXPORTS = {
    "BuildReport": "aggregator.publish.feeds.build",
    "build_feeds": "aggregator.publish.feeds.build",
    "ALL": "aggregator.publish.feeds.model",
    "FORMATS": "aggregator.publish.feeds.model",
    "Feed": "aggregator.publish.feeds.model",
    "FeedCategory": "aggregator.publish.feeds.model",
    "FeedEntry": "aggregator.publish.feeds.model",
    "FeedEvent": "aggregator.publish.feeds.model",
    "FeedFormat": "aggregator.publish.feeds.model",
    "FeedKey": "aggregator.publish.feeds.model",
    "FeedContext": "aggregator.publish.feeds.query",
    "load_context": "aggregator.publish.feeds.query",
    "load_feed": "aggregator.publish.feeds.query",
    "feed_version": "aggregator.publish.feeds.render",
    "render_atom": "aggregator.publish.feeds.render",
    "render_feed": "aggregator.publish.feeds.render",
    "render_json": "aggregator.publish.feeds.render",
    "render_rss": "aggregator.publish.feeds.render",
}

__all__ = sorted(_EXPORTS)
__getattr__ = lazy_getattr(globals(), _EXPORTS)
