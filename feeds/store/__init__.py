"""Store stage: articles and fetch state, persisted through SQLAlchemy Core.

The only module that knows about rows: everything in and out is a model type.
"""

from feeds.store.articles import ArticleStore, StoreError, UpsertResult

__all__ = ["ArticleStore", "StoreError", "UpsertResult"]
