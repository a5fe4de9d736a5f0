"""A PostgreSQL that stops answering: every store call fails within a bound, and the store
works again once the server answers, without being opened again.

Real parts: the PostgreSQL on 127.0.0.1:5432 (a fresh schema), reached through a TCP proxy
on 127.0.0.1 that can stall (tests/support/tcpproxy.py).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import psycopg
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from support.postgres import PG
from support.tcpproxy import TcpProxy
from support.waiting import wait_for

from feeds.store import ArticleStore
from feeds.store.migrations import MIGRATION_KEY

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
NAMES = [f"src{i}" for i in range(3)]
LIMIT = 60  # seconds a stalled call may take here: the bound, then a connect_timeout


def outcome_within(call: Callable[[], object], seconds: float) -> BaseException | object:
    """What `call()` returned or raised, asserting it ended within `seconds`."""
    outcome: list[BaseException | object] = []

    def run() -> None:
        try:
            outcome.append(call())
        except BaseException as exc:  # the outcome under test
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"the store call still waits after {seconds}s"
    return outcome[0]


def test_a_stalled_postgresql_fails_store_calls_within_a_bound_then_they_work_again(
    pg_url: str,
) -> None:
    with TcpProxy(("127.0.0.1", 5432)) as proxy:
        # A URL's own connect_timeout is kept (the default, 10 s, would take longer here).
        url = pg_url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}") + "&connect_timeout=2"
        store = ArticleStore.open(url, answer_timeout=1)
        try:
            store.ensure_states(NAMES)
            proxy.stall()
            try:
                # Before: psycopg waited for the answer for ever, and `feeds run` (whose
                # store calls run on its event loop) with it, deaf even to SIGTERM.
                failed = outcome_within(store.fetch_states, LIMIT)
                assert isinstance(failed, OperationalError), failed
                assert "timeout" in str(failed) or "did not answer within 1s" in str(failed)

                def claim() -> object:
                    return store.claim(NAMES, "me", NOW, NOW + timedelta(minutes=5))

                assert isinstance(outcome_within(claim, LIMIT), Exception)
            finally:
                proxy.resume()
            claimed = store.claim(NAMES, "me", NOW, NOW + timedelta(minutes=5))
            assert sorted(lease.source for lease in claimed) == NAMES
        finally:
            store.close()


def test_a_statement_cut_off_names_the_bound(pg_url: str) -> None:
    with TcpProxy(("127.0.0.1", 5432)) as proxy:
        url = pg_url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
        store = ArticleStore.open(url, answer_timeout=1)
        try:
            with store.engine.connect() as conn:  # checked out (and pinged) before the stall
                proxy.stall()
                try:
                    failed = outcome_within(lambda: conn.execute(text("SELECT 1")), LIMIT)
                finally:
                    proxy.resume()
            assert isinstance(failed, OperationalError), failed
            assert "PostgreSQL did not answer within 1s" in str(failed)
            assert store.pending() == {}  # a new connection, as the pool drops the cut one
        finally:
            store.close()


def test_a_lock_held_elsewhere_fails_store_calls_and_leaves_no_backend_waiting(
    pg_url: str,
) -> None:
    application = "t_" + uuid.uuid4().hex[:12]
    store = ArticleStore.open(f"{pg_url}&application_name={application}", answer_timeout=2)
    schema = pg_url.rsplit("%3D", 1)[1]
    try:
        store.ensure_states(NAMES)
        with psycopg.connect(PG, options=f"-csearch_path={schema}") as locker:
            locker.execute("LOCK TABLE source_state IN ACCESS EXCLUSIVE MODE")
            for _attempt in range(3):  # as a daemon's ticks retry
                failed = outcome_within(store.fetch_states, LIMIT)
                assert isinstance(failed, OperationalError), failed
            # Before: each cut connection's backend went on waiting for the lock, one more
            # at every retry, for as long as the lock was held.
            waiting = locker.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE application_name = %s AND state = 'active'",
                (application,),
            ).fetchone()
            assert waiting == (0,)
            locker.rollback()
        assert len(store.fetch_states()) == len(NAMES)
    finally:
        store.close()


def test_opening_waits_for_another_process_migrating_however_long(pg_url: str) -> None:
    application = "t_" + uuid.uuid4().hex[:12]
    opened: list[BaseException | ArticleStore] = []

    def open_store() -> None:
        try:
            url = f"{pg_url}&application_name={application}"
            opened.append(ArticleStore.open(url, answer_timeout=1))
        except BaseException as exc:  # the outcome under test
            opened.append(exc)

    with psycopg.connect(PG, autocommit=True) as migrating:  # as another process upgrading
        migrating.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_KEY,))
        thread = threading.Thread(target=open_store, daemon=True)
        thread.start()

        def waits_for_the_lock() -> bool:
            found = migrating.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE application_name = %s AND wait_event_type = 'Lock'",
                (application,),
            ).fetchone()
            return found == (1,)

        assert wait_for(waits_for_the_lock)
        # Longer than the bound on an answer (1 s), and the server's share of it: before,
        # the wait was cut, so a store being upgraded for longer could not be opened, and
        # the upgrade itself was cut at every start, never to finish.
        time.sleep(3)
        migrating.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_KEY,))
    thread.join(LIMIT)
    assert len(opened) == 1 and isinstance(opened[0], ArticleStore), opened
    store = opened[0]
    try:
        store.ensure_states(NAMES)
        assert len(store.fetch_states()) == len(NAMES)
    finally:
        store.close()
