"""Rate-limit counters in the database, so that every gunicorn worker shares them (a Flask-Limiter storage)."""

from __future__ import annotations

import hashlib
import time

from limits.storage import Storage
from sqlalchemy import Engine, case, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from aggregator.db.schema import rate_limits

SCHEME = "aggregator-db"
_SWEEP_EVERY = 500  # counter writes between deletions of expired rows


class DatabaseStorage(Storage):
    """Fixed-window counters in the `rate_limits` table; one upsert per hit, atomic on SQLite and PostgreSQL.

    Selected with the storage URI "aggregator-db://" and the storage option `engine`."""

    STORAGE_SCHEME = [SCHEME]

    def __init__(
        self, uri: str | None = None, wrap_exceptions: bool = False, *, engine: Engine, **options: float | str | bool
    ) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self._engine = engine
        self._writes = 0

    @property
    def base_exceptions(self) -> type[Exception]:
        return SQLAlchemyError

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = time.time()
        dialect = sqlite if self._engine.dialect.name == "sqlite" else postgresql
        expired = rate_limits.c.expires_at <= now  # a window that ended starts again from this hit
        statement = dialect.insert(rate_limits).values(key=_stored(key), hits=amount, expires_at=now + expiry)
        statement = statement.on_conflict_do_update(
            index_elements=["key"],
            set_={
                "hits": case((expired, amount), else_=rate_limits.c.hits + amount),
                "expires_at": case((expired, now + expiry), else_=rate_limits.c.expires_at),
            },
        ).returning(rate_limits.c.hits)
        with self._engine.begin() as conn:
            hits = conn.execute(statement).scalar_one()
            self._writes += 1
            if self._writes % _SWEEP_EVERY == 0:
                conn.execute(delete(rate_limits).where(rate_limits.c.expires_at < now))
        return int(hits)

    def get(self, key: str) -> int:
        with self._engine.connect() as conn:
            hits = conn.execute(
                select(rate_limits.c.hits).where(
                    rate_limits.c.key == _stored(key), rate_limits.c.expires_at > time.time()
                )
            ).scalar()
        return int(hits or 0)

    def get_expiry(self, key: str) -> float:
        with self._engine.connect() as conn:
            expires = conn.execute(select(rate_limits.c.expires_at).where(rate_limits.c.key == _stored(key))).scalar()
        return float(expires) if expires is not None else time.time()

    def check(self) -> bool:
        try:
            with self._engine.connect() as conn:
                conn.execute(select(1))
        except SQLAlchemyError:
            return False
        return True

    def reset(self) -> int | None:
        with self._engine.begin() as conn:
            return conn.execute(delete(rate_limits)).rowcount

    def clear(self, key: str) -> None:
        with self._engine.begin() as conn:
            conn.execute(delete(rate_limits).where(rate_limits.c.key == _stored(key)))


def _stored(key: str) -> str:
    """Flask-Limiter's key (it holds the email address tried) as it fits the column."""
    if len(key) <= 200:
        return key
    return f"{key[:120]}#{hashlib.sha256(key.encode()).hexdigest()}"
