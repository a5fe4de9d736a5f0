"""Store stage: articles and fetch state, persisted through SQLAlchemy Core.

The only module that knows about rows: everything in and out is a model type.
"""

from feeds.store.articles import (
    ArticleStore,
    SourceWrite,
    StaleLeaseError,
    StoreError,
    UpsertResult,
)
from feeds.store.group import GroupWriter
from feeds.store.lock import StoreBusyError, publisher_lock, run_lock

__all__ = [
    "ArticleStore",
    "GroupWriter",
    "SourceWrite",
    "StaleLeaseError",
    "StoreBusyError",
    "StoreError",
    "UpsertResult",
    "publisher_lock",
    "run_lock",
]
