"""The store's half of publish problems: what the last publish of each scope could not
render, so `feeds status` and the metrics show it after the publish has logged it.

A publish replaces the problems of every scope it rendered (a category that publishes
cleanly has its problems cleared) and leaves the other scopes' as they were; a full
publish replaces them all. Each scope keeps its first `PROBLEMS_KEPT` problems, each cut
to `MESSAGE_LIMIT` characters, and a count of the rest.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import Connection, Engine, func, select, text

from feeds.model import PublishProblem, ScopeProblems
from feeds.shorten import shorten
from feeds.store.articles import utc_text
from feeds.store.batches import chunks
from feeds.store.schema import publish_problems

PROBLEMS_KEPT = 50  # problems kept per scope; the rest are counted
MESSAGE_LIMIT = 1000  # characters of one problem's message
# Serialises the writers of the table on PostgreSQL (held to the end of the transaction):
# one publisher at a time is the rule, but a one-shot run may publish beside a daemon.
PROBLEMS_LOCK_KEY = 0x666565647370


def record_publish_problems(
    engine: Engine,
    problems: Sequence[PublishProblem],
    scopes: Collection[str],
    found: datetime,
    *,
    everything: bool = False,
) -> None:
    """Keep the `problems` a publish at `found` met in the `scopes` it rendered, in place
    of what those scopes had; the others keep theirs. With `everything` (a publish of the
    whole site) every other scope's problems go too: what it did not render is no more.
    The scopes of `problems` count as rendered."""
    by_scope: dict[str, list[str]] = {}
    for problem in problems:
        by_scope.setdefault(problem.scope, []).append(problem.message)
    rows = [
        {
            "scope": scope,
            "found_utc": utc_text(found),
            "messages": json.dumps(
                [shorten(m, MESSAGE_LIMIT) for m in messages[:PROBLEMS_KEPT]], ensure_ascii=False
            ),
            "total": len(messages),
        }
        for scope, messages in sorted(by_scope.items())
    ]
    with engine.begin() as conn:
        _lock(conn)
        if everything:
            conn.execute(publish_problems.delete())
        else:
            replaced = sorted({*scopes, *by_scope})
            for chunk in chunks(replaced):
                conn.execute(publish_problems.delete().where(publish_problems.c.scope.in_(chunk)))
        if rows:
            conn.execute(publish_problems.insert(), rows)


def _lock(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)").bindparams(key=PROBLEMS_LOCK_KEY))


def stored_publish_problems(engine: Engine) -> list[ScopeProblems]:
    """Every scope's problems as its last publish found them, by scope."""
    table = publish_problems.c
    query = select(table.scope, table.found_utc, table.messages, table.total).order_by(table.scope)
    with engine.connect() as conn:
        return [
            _scope_problems(scope, found, messages, total)
            for scope, found, messages, total in conn.execute(query)
        ]


def _scope_problems(scope: str, found: str, messages: str, total: int) -> ScopeProblems:
    kept = tuple(PublishProblem(scope, str(m)) for m in json.loads(messages))
    return ScopeProblems(
        scope=scope,
        found=datetime.fromisoformat(found),
        problems=kept,
        more=max(0, int(total) - len(kept)),
    )


def publish_problem_count(engine: Engine) -> int:
    """How many problems the last publishes found, over every scope (those not kept too)."""
    with engine.connect() as conn:
        return int(
            conn.execute(select(func.coalesce(func.sum(publish_problems.c.total), 0))).scalar_one()
        )
