"""The database schema, one definition for SQLite and PostgreSQL (SQLAlchemy Core).

Dates are stored as text: `*_utc` columns as fixed-width UTC ISO strings, which sort
correctly as text on every engine, and the published/updated columns as ISO 8601 with
their original offset, so an article dated +02:00 is republished as +02:00.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

SCHEMA_VERSION = 9  # feeds/store/migrations.py upgrades older stores

metadata = MetaData()

schema_info = Table(
    "schema_info",
    metadata,
    Column("version", Integer, nullable=False),
)

articles = Table(
    "articles",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("source", Text, nullable=False),
    Column("entry_id", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("link", Text),
    Column("summary", Text, nullable=False),
    Column("content", Text, nullable=False),
    Column("authors", Text, nullable=False),  # JSON array of objects (or old: of names)
    Column("published", String(40), nullable=False),
    Column("updated", String(40), nullable=False),
    Column("published_utc", String(32), nullable=False),
    Column("categories", Text, nullable=False),  # JSON array
    Column("language", String(35)),
    Column("enclosures", Text, nullable=False),  # JSON array of objects
    Column("tags", Text, nullable=False),  # JSON array
    Column("podcast", Text),  # JSON object of iTunes tags, or NULL (feeds/store/article_json.py)
    Column("content_hash", String(64), nullable=False),
    # Full text (feeds/fulltext): the content_hash of the entry as its feed gave it when its
    # page was tried (NULL: not tried), why the teaser was kept, and the page's validators.
    Column("full_text_for", String(64)),
    Column("full_text_error", Text),
    Column("full_text_etag", Text),
    Column("full_text_modified", Text),
    Column("first_seen_utc", String(32), nullable=False),
    # Stores before `retired_entries` kept retired rows here with `expired` set; retention
    # turns those into tombstones and deletes them. New rows are never expired.
    Column("expired", Boolean, nullable=False, default=False),
    UniqueConstraint("source", "entry_id", name="uq_articles_source_entry"),
)

article_categories = Table(
    "article_categories",
    metadata,
    Column("category_slug", String(200), primary_key=True),
    Column(
        "article_id", String(64), ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    ),
    Column("category", Text, nullable=False),
    Column("published_utc", String(32), nullable=False),
    # Arrival order within the category, never reused: RFC 5005 archive pages are runs of it,
    # so a page, once full, keeps its entries whatever dates later entries carry. 0 until
    # the link is first published (feeds/store/arrivals.py numbers it then).
    Column("seq", Integer, nullable=False, server_default="0"),
    Index("ix_article_categories_recent", "category_slug", "published_utc"),
    # Lookups by article (its links on update, retention's orphan check) must not scan.
    Index("ix_article_categories_article", "article_id"),
)

# Tombstones of retired articles: only what deduplication needs, so that an old entry
# still in its source's feed is not taken for a new one. A digest of the entry id (not the
# id, title or link), at most `RETIRED_PER_SOURCE` per source (feeds/store/retention.py),
# the oldest dropped first; `id` orders them by retirement.
retired_entries = Table(
    "retired_entries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source", Text, nullable=False),
    Column("entry_hash", String(32), nullable=False),
    UniqueConstraint("source", "entry_hash", name="uq_retired_entries_source_hash"),
    Index("ix_retired_entries_source", "source", "id"),  # trimming the oldest per source
)

# The next arrival number of each category, taken with a row lock (PostgreSQL) or under
# SQLite's write lock, so concurrent publishers never hand out one number twice.
category_sequences = Table(
    "category_sequences",
    metadata,
    Column("category_slug", String(200), primary_key=True),
    Column("next_seq", Integer, nullable=False),
)

source_state = Table(
    "source_state",
    metadata,
    Column("source", Text, primary_key=True),
    Column("url", Text),
    Column("etag", Text),
    Column("last_modified", Text),
    Column("body_hash", String(64)),
    Column("last_fetch_utc", String(32)),
    Column("last_outcome", String(20)),
    Column("last_status", Integer),
    Column("next_due_utc", String(32)),
    Column("error_count", Integer, nullable=False, default=0),
    Column("last_error", Text),
    Column("config_hash", String(64)),
    Column("retry_after_utc", String(32)),
    Column("warnings", Text),
    # The feed's own title and site link from its last successful read: attribution.
    Column("feed_title", Text),
    Column("site_url", Text),
    Column("due_reason", Text),  # why next_due is later than the interval ("ttl 60m")
    # Digests of the entries the last stored read found (feeds/normalise/recognise.py).
    Column("entry_digests", Text),
    # Work sharing: the process that claimed the source, until when, and a counter that
    # grows with every claim, so a stalled worker's late write-back is recognised and dropped.
    Column("lease_owner", Text),
    Column("lease_expires_utc", String(32)),
    # PostgreSQL: the backend pid of the lease owner's presence session; a lease whose
    # session has ended (the process died) is free at once, not when it expires.
    Column("lease_backend", Integer),
    Column("fence", Integer, nullable=False, server_default="0"),
)

# Categories whose articles changed and are not yet published: written in the transaction
# that changes them, consumed by whichever process publishes, so a change made by one
# worker is published by another.
pending_publish = Table(
    "pending_publish",
    metadata,
    Column("category_slug", String(200), primary_key=True),
    Column("version", Integer, nullable=False),
)

# Which output folder each category has, handed out when a name is first stored (or named
# in the config) and never changed, so a category's URL outlives the arrival of others.
# `category_key` is feeds.slugs.category_key of the name; `name` is the name first seen.
category_slugs = Table(
    "category_slugs",
    metadata,
    Column("category_key", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("slug", String(200), nullable=False),
    UniqueConstraint("slug", name="uq_category_slugs_slug"),
)

# What the last publish of each scope (a category slug, `all`, a page such as `index.html`)
# could not render, replaced whenever that scope is published again, so it says what is
# wrong now: at most `PROBLEMS_KEPT` messages per scope (feeds/store/publish_problems.py),
# `total` counting them all. Not copied by `feeds migrate-store`: the next publish finds them.
publish_problems = Table(
    "publish_problems",
    metadata,
    Column("scope", String(200), primary_key=True),
    Column("found_utc", String(32), nullable=False),
    Column("messages", Text, nullable=False),  # JSON array of the messages kept
    Column("total", Integer, nullable=False),
)

# Where each entry of a published document (a category's Atom, RSS, JSON Feed and page, its
# archive pages, `all/`'s) lies in the file the last publish wrote for it, with a digest of
# all its bytes depend on (feeds/publish/fragments.py): a publish renders only entries whose
# digest changed and takes the others' bytes from that file, while the file still has the
# digest recorded here. One row per document (its entries as a JSON array of [article id,
# digest, offset, length]), so the store holds no copy of the output; a removed archive
# page's row goes with it. A cache: not copied by `feeds migrate-store`.
document_fragments = Table(
    "document_fragments",
    metadata,
    Column("document", String(300), primary_key=True),  # its path in the output folder
    Column("file_digest", String(64), nullable=False),  # SHA-256 of the file written
    Column("file_size", BigInteger, nullable=False),
    Column("entries", LargeBinary, nullable=False),
)
