"""The span store: runs of spans kept in SQLite or PostgreSQL.

Open one with :class:`Store` (or :func:`open_store`); a plain path is a SQLite
file. Its schema is kept by Alembic migrations that run when it is opened.
"""

from __future__ import annotations

import os

import sqlalchemy as sa

from perfkit.store.store import RunInfo, SourceFile, Store, is_retryable
from perfkit.store.writer import InsertCounts, SpanWriter

__all__ = [
    "InsertCounts",
    "RunInfo",
    "SourceFile",
    "SpanWriter",
    "Store",
    "is_retryable",
    "open_store",
]


def open_store(db: Store | str | os.PathLike[str] | sa.URL = "perfkit.db") -> Store:
    """The store at ``db``: a Store passes through, a path or URL is opened.

    Raises:
        StoreError: the database cannot be reached, created or migrated.
    """
    return db if isinstance(db, Store) else Store(db)
