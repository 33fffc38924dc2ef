"""The editors' web app (review queue, issue composition, sources, audit) and the public pages, served by Flask."""

from aggregator.web.app import create_app

__all__ = ["create_app"]
