"""The published feeds: the combined feed of approved resources and one per theme and audience, as RSS 2.0,
Atom and JSON Feed 1.1, served by the web app and built as static files."""

from aggregator.publish.feeds.build import BuildReport, build_feeds
from aggregator.publish.feeds.model import ALL, FORMATS, Feed, FeedCategory, FeedEntry, FeedEvent, FeedFormat, FeedKey
from aggregator.publish.feeds.query import FeedContext, load_context, load_feed, newest_decision
from aggregator.publish.feeds.render import feed_version, render_atom, render_feed, render_json, render_rss

__all__ = [
    "ALL",
    "FORMATS",
    "BuildReport",
    "Feed",
    "FeedCategory",
    "FeedContext",
    "FeedEntry",
    "FeedEvent",
    "FeedFormat",
    "FeedKey",
    "build_feeds",
    "feed_version",
    "load_context",
    "load_feed",
    "newest_decision",
    "render_atom",
    "render_feed",
    "render_json",
    "render_rss",
]
