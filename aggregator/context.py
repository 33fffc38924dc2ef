"""The one wiring: an AppContext built once per process by the CLI, the web app and the workers, holding the
settings, the engine, the editors' files, the clock and the fetcher and mailer factories; passed down.

Cheap to import (the command line builds one before it knows the command): the settings are read on first
use, the engine is made on first use, and the heavy modules are imported only then."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from aggregator.config.sources import SourceConfig, SourcesFile
    from aggregator.config.taxonomy import Taxonomy
    from aggregator.digest.mail.base import Mailer, SendPolicy
    from aggregator.settings import Settings


def utc_now() -> datetime:
    return datetime.now(UTC)


class AppContext:
    """What every entry point shares. `settings` may be given, or a factory (default: AGGREGATOR_* read on first
    use); `engine` may be given (tests), else it is the configured database, upgraded once, on first use."""

    def __init__(
        self,
        settings: Settings | Callable[[], Settings] | None = None,
        *,
        engine: Engine | None = None,
        clock: Callable[[], datetime] = utc_now,
        make_mailer: Callable[[Settings, str], Mailer] | None = None,
        make_fetcher: Callable[..., Any] | None = None,
    ) -> None:
        # a factory (or None: AGGREGATOR_* read on first use) is called once; a Settings object is used as it is
        self._settings_factory = settings if settings is None or callable(settings) else None
        self._settings = None if settings is None or callable(settings) else settings
        self._engine = engine
        self._owns_engine = False
        self._lock = threading.Lock()
        self.clock = clock
        self._make_mailer = make_mailer
        self._make_fetcher = make_fetcher

    @classmethod
    def create(cls, settings: Settings | Callable[[], Settings] | None = None, **options: Any) -> AppContext:
        """The context of one process (the CLI's run, a web worker, a queue worker): what entry points call."""
        return cls(settings, **options)

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            if self._settings_factory is None:
                from aggregator.settings import Settings

                self._settings = Settings()
            else:
                self._settings = self._settings_factory()
        return self._settings

    @property
    def engine(self) -> Engine:
        """The configured database, made and upgraded to the newest schema once per context."""
        with self._lock:
            if self._engine is None:
                from aggregator.db.engine import open_database

                self._engine = open_database(self.settings)
                self._owns_engine = True
            return self._engine

    def taxonomy(self) -> Taxonomy:
        """taxonomy.yaml, read once and again when it changes."""
        from aggregator.config.taxonomy import read_taxonomy

        return read_taxonomy(self.settings.taxonomy_file)

    def sources_file(self) -> SourcesFile:
        """sources.yaml, read once and again when it changes."""
        from aggregator.config.sources import read_sources

        return read_sources(self.settings.sources_file)

    def sources(self) -> tuple[SourceConfig, ...]:
        return tuple(self.sources_file().sources)

    def public_source_names(self) -> dict[str, str]:
        """Partner names as subscribers see them."""
        from aggregator.config.sources import public_names

        return dict(public_names(self.sources()))

    def mailer(self, folder: str) -> Mailer:
        """The way out for mail (mail.factory: SMTP when configured, else the outbox subfolder `folder`)."""
        if self._make_mailer is not None:
            return self._make_mailer(self.settings, folder)
        from aggregator.digest.mail.factory import make_mailer

        return make_mailer(self.settings, folder)

    def send_policy(self) -> SendPolicy:
        from aggregator.digest.mail.factory import send_policy

        return send_policy(self.settings)

    def fetcher(self, **options: Any) -> Any:
        """A new HTTP fetcher (close it, or use it as a context manager); robots.txt kept in the database."""
        if self._make_fetcher is not None:
            return self._make_fetcher(self.settings, **options)
        from aggregator.db.robots_store import DatabaseRobotsStore
        from aggregator.ingest.fetch import Fetcher

        options.setdefault("robots_store", DatabaseRobotsStore(self.engine))
        return Fetcher(self.settings, **options)

    def close(self) -> None:
        """Dispose of the engine this context made (one it was given belongs to its maker)."""
        with self._lock:
            if self._engine is not None and self._owns_engine:
                self._engine.dispose()
                self._engine = None
                self._owns_engine = False
