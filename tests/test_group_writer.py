"""Group commit: concurrent updates' write-backs share transactions, on real stores."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import event
from test_store import article

from feeds.model import FetchState
from feeds.store import ArticleStore, GroupWriter, SourceWrite, UpsertResult
from feeds.store.schema import source_state

NOW = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
T = TypeVar("T")


def count_commits(store: ArticleStore) -> list[int]:
    commits: list[int] = []
    event.listen(store.engine, "commit", lambda _conn: commits.append(1))
    return commits


def write_of(source: str, entry: str) -> SourceWrite:
    return SourceWrite(
        source, NOW, [article(entry, source=source)], FetchState(source, etag=f'"{entry}"')
    )


async def holding(writer: GroupWriter, work: Callable[[], Awaitable[T]]) -> T:
    """Run `work` as an update holding a fetch slot does (see Updater.update), after a
    fetch that yields to the event loop once."""
    writer.holding += 1
    try:
        await asyncio.sleep(0)
        return await work()
    finally:
        writer.holding -= 1
        writer.flush_if_ready()


def test_updates_running_together_share_one_transaction(store: ArticleStore) -> None:
    writer = GroupWriter(store, size=16)
    commits = count_commits(store)

    async def run() -> list[UpsertResult | None]:
        writes = [write_of(f"s{n}", f"e{n}") for n in range(5)]
        return await asyncio.gather(*(holding(writer, lambda w=w: writer.write(w)) for w in writes))

    results = asyncio.run(run())
    assert [r.new if r else None for r in results] == [1] * 5
    assert len(commits) == 1
    assert store.article_count() == 5
    assert store.fetch_state("s3") == FetchState("s3", etag='"e3"')


def test_a_full_group_is_written_without_waiting(store: ArticleStore) -> None:
    writer = GroupWriter(store, size=2)
    commits = count_commits(store)

    async def run() -> None:
        writer.holding = 10  # others are still fetching: only a full group goes out
        first = asyncio.ensure_future(writer.write(write_of("a", "1")))
        await asyncio.sleep(0)
        assert not first.done() and store.article_count() == 0
        await writer.write(write_of("b", "2"))
        assert store.article_count() == 2  # both written, the first without another wait
        assert (await first) == UpsertResult(
            1, 0, 0, frozenset({"technik"}), linked=frozenset({"1"})
        )

    asyncio.run(run())
    assert len(commits) == 1 and store.article_count() == 2


def test_a_write_waits_for_updates_still_working_then_goes_with_them(
    store: ArticleStore,
) -> None:
    writer = GroupWriter(store)
    commits = count_commits(store)
    order: list[str] = []

    async def slow() -> UpsertResult | None:
        await asyncio.sleep(0.05)  # still fetching when the fast one is ready
        order.append("slow ready")
        return await writer.write(write_of("slow", "2"))

    async def fast() -> UpsertResult | None:
        order.append("fast ready")
        result = await writer.write(write_of("fast", "1"))
        order.append("fast written")
        return result

    async def run() -> None:
        await asyncio.gather(holding(writer, fast), holding(writer, slow))

    asyncio.run(run())
    assert order == ["fast ready", "slow ready", "fast written"]
    assert len(commits) == 1 and store.article_count() == 2


def test_a_stale_lease_refuses_only_its_own_write(store: ArticleStore) -> None:
    store.ensure_states(["a", "b"])
    until = NOW + timedelta(minutes=5)
    leases = {lease.source: lease for lease in store.claim(["a", "b"], "w1", NOW, until)}
    later = NOW + timedelta(minutes=6)
    store.claim(["b"], "w2", later, later + timedelta(minutes=5))  # b's lease was lost
    writer = GroupWriter(store)

    async def run() -> list[UpsertResult | None]:
        writes = [replace(write_of(name, name), lease=leases[name]) for name in ("a", "b")]
        return await asyncio.gather(*(holding(writer, lambda w=w: writer.write(w)) for w in writes))

    kept, refused = asyncio.run(run())
    assert kept is not None and kept.new == 1 and refused is None
    assert [a.source for a in store.recent_articles(None, 10)] == ["a"]
    state_b = store.fetch_state("b")
    assert state_b is not None and state_b.etag is None  # w2's claim stands, untouched


def test_a_failing_write_fails_alone_and_the_rest_of_its_group_is_written(
    store: ArticleStore,
) -> None:
    writer = GroupWriter(store)
    bad_article = replace(article("bad", source="bad"), title=None)  # cannot be hashed
    bad: Any = SourceWrite("bad", NOW, [bad_article], FetchState("bad"))

    async def run() -> list[UpsertResult | BaseException | None]:
        writes = [write_of("a", "1"), bad, write_of("c", "3")]
        jobs = (holding(writer, lambda w=w: writer.write(w)) for w in writes)
        return await asyncio.gather(*jobs, return_exceptions=True)

    first, failed, last = asyncio.run(run())
    assert isinstance(failed, AttributeError)
    assert isinstance(first, UpsertResult) and isinstance(last, UpsertResult)
    assert sorted(a.source for a in store.recent_articles(None, 10)) == ["a", "c"]
    assert store.fetch_state("bad") is None


def test_unchanged_sources_states_go_in_one_statement_and_a_stale_one_is_told_apart(
    store: ArticleStore,
) -> None:
    names = [f"s{n}" for n in range(5)]
    store.ensure_states(names)
    until = NOW + timedelta(minutes=5)
    leases = {lease.source: lease for lease in store.claim(names, "w1", NOW, until)}
    later = NOW + timedelta(minutes=6)
    store.claim(["s2"], "w2", later, later + timedelta(minutes=5))  # s2's lease was lost
    saves = [
        SourceWrite(name, state=FetchState(name, etag=f'"{name}"'), lease=leases[name])
        for name in names
    ]

    results = store.write(saves)

    assert [r is not None for r in results] == [True, True, False, True, True]
    for name in names:
        state = store.fetch_state(name)
        assert state is not None
        assert state.etag == (None if name == "s2" else f'"{name}"'), name
    # The written ones are released: claimable again at once (force), s2 stays w2's.
    again = store.claim(names, "w3", later, later + timedelta(minutes=5), force=True)
    assert sorted(lease.source for lease in again) == ["s0", "s1", "s3", "s4"]


def test_groups_written_at_once_by_two_workers_never_deadlock_on_postgresql(
    pg_url: str,
) -> None:
    # Each group touches categories in the opposite order to the other worker's groups:
    # shared rows (category counters, publish marks) must still be taken in one order.
    stores = [ArticleStore.open(pg_url) for _ in range(2)]
    categories = [f"Kategorie {n}" for n in range(6)]

    def group(worker: int, round_: int) -> list[SourceWrite]:
        order = categories if worker == 0 else categories[::-1]
        return [
            SourceWrite(
                f"w{worker}-{n}",
                NOW,
                [article(f"r{round_}", source=f"w{worker}-{n}", category=name)],
                FetchState(f"w{worker}-{n}"),
            )
            for n, name in enumerate(order)
        ]

    def work(worker: int) -> int:
        return sum(len(stores[worker].write(group(worker, r))) for r in range(30))

    try:
        with ThreadPoolExecutor(2) as pool:
            assert list(pool.map(work, [0, 1])) == [180, 180]
        assert stores[0].article_count() == 360
    finally:
        for opened in stores:
            opened.close()


def test_a_source_written_twice_in_one_group_sees_its_first_write(store: ArticleStore) -> None:
    first = article("1", source="s")
    results = store.write(
        [SourceWrite("s", NOW, [first]), SourceWrite("s", NOW, [first, article("2", source="s")])]
    )
    assert [(r.new, r.unchanged) if r else None for r in results] == [(1, 0), (1, 1)]
    assert store.article_count() == 2


def test_retired_entries_stay_retired_when_written_with_new_sources(store: ArticleStore) -> None:
    minute = timedelta(minutes=1)
    old = [article(f"o{n}", source="old", published=NOW + n * minute) for n in range(3)]
    store.upsert_articles("old", old, NOW)
    assert store.expire_beyond(1) == 2  # o0 and o1 are tombstones now
    results = store.write(
        [
            SourceWrite("new", NOW, [article("n1", source="new")]),
            SourceWrite("old", NOW, old),
            SourceWrite("newer", NOW, [article("n2", source="newer")]),
        ]
    )
    assert [(r.new, r.unchanged) if r else None for r in results] == [(1, 0), (0, 3), (1, 0)]
    assert sorted(a.entry_id for a in store.recent_articles(None, 10)) == ["n1", "n2", "o2"]


def stored_rows(store: ArticleStore) -> dict[str, list[tuple[Any, ...]]]:
    """Every row the write path stores, in a fixed order (category links without their
    arrival numbers, which a group numbers across its sources)."""
    queries = {
        "articles": "select * from articles order by id",
        "links": "select category_slug, article_id, category, published_utc"
        " from article_categories order by category_slug, article_id",
        # which backend holds a lease is PostgreSQL's own
        "states": "select "
        + ", ".join(c.name for c in source_state.c if c.name != "lease_backend")
        + " from source_state order by source",
        "pending": "select category_slug from pending_publish order by category_slug",
    }
    with store.engine.connect() as conn:
        return {
            name: [tuple(row) for row in conn.exec_driver_sql(sql)] for name, sql in queries.items()
        }


def test_a_group_stores_the_same_rows_as_its_writes_one_by_one(
    store: ArticleStore, tmp_path: Any
) -> None:
    alone = ArticleStore.open(f"sqlite:///{tmp_path / 'alone.db'}")
    names = ["new", "known", "leased", "stale"]
    kept = article("k1", source="known", category="Alt")
    first = [
        SourceWrite("known", NOW, [kept, article("k2", source="known")], FetchState("known")),
        SourceWrite("leased", NOW, [article("l1", source="leased")], FetchState("leased")),
    ]
    later = NOW + timedelta(minutes=1)

    def second(leases: dict[str, Any]) -> list[SourceWrite]:
        return [
            SourceWrite("new", later, [article(f"n{n}", source="new") for n in range(3)]),
            # k1 unchanged, k2 changed (its category too), k3 new
            SourceWrite(
                "known",
                later,
                [
                    kept,
                    replace(article("k2", source="known", category="Neu"), title="Changed"),
                    article("k3", source="known"),
                ],
                FetchState("known", etag='"2"'),
            ),
            SourceWrite(
                "leased",
                later,
                [article("l1", source="leased"), article("l2", source="leased")],
                FetchState("leased", etag='"l"'),
                leases["leased"],
            ),
            SourceWrite(
                "stale",
                later,
                [article("s1", source="stale")],
                FetchState("stale"),
                leases["stale"],
            ),
            SourceWrite("state-only", state=FetchState("state-only", etag='"s"')),
        ]

    try:
        results = []
        for target, grouped in ((store, True), (alone, False)):
            target.ensure_states(names)
            target.write(first)
            until = NOW + timedelta(minutes=5)
            leases = {lease.source: lease for lease in target.claim(names, "w1", NOW, until)}
            late = until + timedelta(minutes=1)
            target.claim(["stale"], "w2", late, late + timedelta(minutes=5))  # lost
            writes = second(leases)
            if grouped:
                results.append(target.write(writes))
            else:
                results.append([target.write([w])[0] for w in writes])
        assert results[0] == results[1]
        assert [(r.new, r.updated, r.unchanged) if r else None for r in results[0]] == [
            (3, 0, 0),
            (1, 1, 1),
            (1, 0, 1),
            None,
            (0, 0, 0),
        ]
        assert stored_rows(store) == stored_rows(alone)
    finally:
        alone.close()


def test_writing_all_at_once_fills_each_transaction_and_a_failing_write_fails_alone(
    store: ArticleStore,
) -> None:
    """The end of a run (`GroupWriter.write_all`): 35 write-backs in transactions of 16,
    16 and 3, and one that fails gets its own exception while the rest are written."""
    writer = GroupWriter(store, size=16)
    commits = count_commits(store)
    writes = [write_of(f"s{n}", f"e{n}") for n in range(35)]
    results = asyncio.run(writer.write_all(writes))
    assert [r.new if isinstance(r, UpsertResult) else r for r in results] == [1] * 35
    assert len(commits) == 3 and store.article_count() == 35

    bad: Any = SourceWrite("bad", NOW, [replace(article("bad", source="bad"), title=None)])
    mixed = [write_of("a", "a1"), bad, write_of("c", "c1")]
    first, failed, last = asyncio.run(writer.write_all(mixed))
    assert isinstance(failed, AttributeError)
    assert isinstance(first, UpsertResult) and isinstance(last, UpsertResult)
    assert store.fetch_state("bad") is None and store.fetch_state("c") is not None
    assert asyncio.run(writer.write_all([])) == []
