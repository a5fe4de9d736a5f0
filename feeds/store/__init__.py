"""Store stage: articles and fetch state, persisted through SQLAlchemy Core.

The only module that knows about rows: everything in and out is a model type.
"""

from feeds.store.articles import ArticleStore, StoreError, UpsertResult
from feeds.store.lock import StoreBusyError, run_lock

__all__ = ["ArticleStore", "StoreBusyError", "StoreError", "UpsertResult", "run_lock"]
