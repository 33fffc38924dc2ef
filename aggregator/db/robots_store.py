"""The robots.txt files fetched per origin, kept in the database so that a restart does not fetch them again."""

from __future__ import annotations

from sqlalchemy import Engine, delete, insert, select

from aggregator.db.schema import robots_txt
from aggregator.ingest.fetch.robots import StoredRobots


class DatabaseRobotsStore:
    """A RobotsStore over the `robots_txt` table; each call is its own short transaction (fetch threads call it)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def load_robots(self, origin: str) -> StoredRobots | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(robots_txt).where(robots_txt.c.origin == origin)).first()
        if row is None:
            return None
        return StoredRobots(row.origin, row.status, row.body, row.fetched_at, row.expires_at)

    def save_robots(self, robots: StoredRobots) -> None:
        with self._engine.begin() as conn:
            conn.execute(delete(robots_txt).where(robots_txt.c.origin == robots.origin))
            conn.execute(
                insert(robots_txt).values(
                    origin=robots.origin,
                    status=robots.status,
                    body=robots.body,
                    fetched_at=robots.fetched_at,
                    expires_at=robots.expires_at,
                )
            )
