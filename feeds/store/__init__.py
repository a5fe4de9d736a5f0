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
from feeds.store.fragments import forget_fragments, save_fragments, stored_fragments
from feeds.store.group import GroupWriter
from feeds.store.lock import StoreBusyError, publisher_lock, run_lock
from feeds.store.publish_problems import (
    publish_problem_count,
    record_publish_problems,
    stored_publish_problems,
)

__all__ = [
    "ArticleStore",
    "GroupWriter",
    "SourceWrite",
    "StaleLeaseError",
    "StoreBusyError",
    "StoreError",
    "UpsertResult",
    "forget_fragments",
    "publish_problem_count",
    "publisher_lock",
    "record_publish_problems",
    "run_lock",
    "save_fragments",
    "stored_fragments",
    "stored_publish_problems",
]
