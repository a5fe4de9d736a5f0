"""`feeds run`: a long-running daemon on one asyncio event loop.

- claim (a loop of its own): start an update for every source that has come due (and is
  not in flight), a bounded batch at a time. While claims fill their room, the next claim
  follows as soon as half the batch is done, so fetch slots never wait for a tick; a claim
  that finds nothing more due waits for the next due time or the tick, whichever is first;
- publish (APScheduler job): republish the categories that changed since the last publish
  (debounced);
- reload (APScheduler job): pick up an edited config (or SIGHUP); a config that does not
  validate is logged and the daemon keeps the last good one.

The jobs never overlap themselves and coalesce after a suspend.

Due times live in the store, not in APScheduler's job store, so restarts and one-shot runs
agree. SIGTERM/SIGINT stop claiming, let in-flight updates finish within a deadline, publish
what changed, and exit 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Collection
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from feeds.config import Config, ConfigError, load_config
from feeds.early_signals import StartupSignals
from feeds.lifecycle import start_line, stop_line
from feeds.metrics import Metrics
from feeds.model import Source, SourceResult
from feeds.publish.files import sweep_temp_files
from feeds.publish.orchestrate import (
    Published,
    cache_seconds,
    publish_and_announce,
    publish_pending,
)
from feeds.sources.kinds import describe
from feeds.sources.reader import Clock
from feeds.sources.remote import make_client
from feeds.store import ArticleStore, publish_problem_count, publisher_lock
from feeds.update import decide
from feeds.update.run import Job, Updater
from feeds.workers import ParserPool

if TYPE_CHECKING:
    from feeds.server_options import ServerOptions

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DaemonSettings:
    tick: float = 5.0  # longest wait between looks for due sources
    publish_every: float = 3.0  # debounce: at most one publish per this many seconds
    reload_every: float = 2.0  # seconds between looks at the config file
    shutdown_timeout: float = 8.0  # seconds in-flight updates get after SIGTERM
    serve: ServerOptions | None = None  # also serve the output (`feeds run --serve`)
    health_max_age: timedelta = timedelta(hours=1)
    metrics_address: tuple[str, int] | None = None  # where /metrics is served, for the log


class Daemon:
    def __init__(
        self,
        config: Config,
        store: ArticleStore,
        clock: Clock,
        settings: DaemonSettings,
        metrics: Metrics | None = None,
        startup: StartupSignals | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.clock = clock
        self.settings = settings
        self.metrics = metrics
        self.startup = startup or StartupSignals()  # signals that came before run()
        self.pool = ParserPool(deadline=config.fetch.parse_deadline)
        self.in_flight: dict[str, asyncio.Task[None]] = {}
        self.local_prints: dict[str, str] = {}
        self.failing: set[str] = set()  # sources whose last update raised (logged once)
        self.config_stamp = _stamp(config.path)
        self.reload_requested = False
        self.stopping = asyncio.Event()
        self.wake = asyncio.Event()  # claim now: slots freed while more is due, reload, stop
        self.more_due = False  # the last claim filled its room: more may be due at once
        self.locals_due = 0.0  # monotonic time of the next look at local sources' files
        self.server_stop = asyncio.Event()
        self.quiet_until = 0.0  # monotonic time before which no publish starts
        self.publishing = asyncio.Lock()  # held by the publish under way
        self.output_trouble: str | None = None  # why the last publish left files unwritten

    async def run(self) -> None:
        """Run until SIGTERM or SIGINT."""
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self._stop, signum)
        loop.add_signal_handler(signal.SIGHUP, self._request_reload)
        if self.startup.reload.is_set():
            self._request_reload()
        if self.startup.stop.is_set():
            self._stop(signal.SIGTERM)
        async with make_client(self.config.fetch) as client:
            self.updater = Updater(self.config, self.store, client, self.clock, self.pool)
            self.client = client
            scheduler = AsyncIOScheduler(timezone="UTC", event_loop=loop)
            every = {"max_instances": 1, "coalesce": True, "misfire_grace_time": None}
            scheduler.add_job(
                self._publish, "interval", seconds=self.settings.publish_every, **every
            )
            scheduler.add_job(self._reload, "interval", seconds=self.settings.reload_every, **every)
            sweep_temp_files(self.config.output.dir)  # a killed run's leftovers
            scheduler.start()
            server = self._start_server()
            serve = self.settings.serve
            log.info(
                "%s",
                start_line(
                    self.config,
                    serving=(serve.host, serve.port) if serve is not None else None,
                    metrics=self.settings.metrics_address,
                ),
            )
            claiming = asyncio.create_task(self._claim_loop())
            await self.stopping.wait()
            await claiming
            # Shutting the scheduler down cancels the jobs running: a publish under way
            # (rendering in its thread) ends first, and none starts once stopping.
            async with self.publishing:
                scheduler.shutdown(wait=False)
            await self._drain()
            self.updater.writer.flush()  # write-backs of updates cancelled while queued
            self.store.release_all(self.updater.owner)
        await self._publish(final=True)
        if server is not None:
            self.server_stop.set()
            await server
        self.pool.close()
        log.info("%s", stop_line())

    def _start_server(self) -> asyncio.Task[None] | None:
        if self.settings.serve is None:
            return None
        from feeds.http_server import serve_async  # the ASGI stack only when asked
        from feeds.serve import create_app

        app = create_app(
            self.config.output.dir,
            metrics=self.metrics,
            health_max_age=self.settings.health_max_age,
            cache_seconds=cache_seconds(self.config),
        )
        return asyncio.create_task(
            serve_async(
                app,
                self.settings.serve,
                stop=self.server_stop,
                answer_at_once=app,
            )
        )

    def _stop(self, signum: int) -> None:
        if not self.stopping.is_set():
            log.info("signal %d: finishing in-flight updates, then stopping", signum)
            self.stopping.set()
            self.wake.set()

    def _request_reload(self) -> None:
        self.reload_requested = True

    async def _drain(self) -> None:
        tasks = list(self.in_flight.values())
        if not tasks:
            return
        _, pending = await asyncio.wait(tasks, timeout=self.settings.shutdown_timeout)
        for task in pending:
            task.cancel()  # store writes are synchronous: a cancel never splits one
        if pending:
            log.warning("abandoned %d update(s) still running at shutdown", len(pending))
            await asyncio.wait(pending)

    # -- jobs ----------------------------------------------------------------------------

    async def _claim_loop(self) -> None:
        """Claim until stopping; between claims, wait until `wake` or for `_claim`'s answer."""
        while not self.stopping.is_set():
            self.wake.clear()
            wait = self.settings.tick
            try:
                wait = self._claim()
            except Exception:  # the store is away (a restart, a failover): try again later
                log.exception("claiming due sources failed; will retry")
            if self.stopping.is_set():
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), wait)

    def _claim(self) -> float:
        """Claim what there is room for; the seconds to wait before the next claim unless
        slots free up first (while more is due), a reload comes or the daemon stops.

        Local sources' files are looked at once a tick, as before refills: a refill comes
        every half batch, and a large folder would be walked each time."""
        exclude: Collection[str] = self.in_flight
        if time.monotonic() < self.locals_due:
            exclude = {*self.in_flight, *(source.name for source in self.updater.local)}
        else:
            self.locals_due = time.monotonic() + self.settings.tick
        claimed = self.updater.top_up(
            self.in_flight,
            lambda job: self._update(self.updater, job),
            exclude=exclude,
            accept=lambda job: self._local_changed(job.source),
        )
        self._ticked("claim")  # also with nothing due, or no room: the loop is alive
        self.more_due = claimed is None or claimed.filled
        if self.more_due:
            return self.settings.tick  # `_update` wakes the loop once half the batch is done
        now = self.clock()
        next_due = self.store.next_due(self.updater.remote, now)
        return decide.claim_wait(self.settings.tick, now, next_due)

    def _room_for_refill(self) -> bool:
        concurrency = self.updater.config.fetch.concurrency
        return decide.claim_room(concurrency, len(self.in_flight), refill_at_half=True) > 0

    def _ticked(self, loop: str) -> None:
        if self.metrics is not None:
            self.metrics.observe_tick(loop)

    def _local_changed(self, source: Source) -> bool:
        # Kinds that are always due (local files) are re-read only when they changed.
        tell = describe(source.kind).fingerprint
        if tell is None:
            return True
        fingerprint = tell(source)
        if self.local_prints.get(source.name) == fingerprint:
            return False
        self.local_prints[source.name] = fingerprint
        return True

    async def _update(self, updater: Updater, job: Job) -> None:
        started = time.monotonic()
        try:
            result: SourceResult = await updater.update(job)
        except Exception:  # a bug for one source must not stop the others
            # Once while it lasts: a local source is tried again at every look.
            level = logging.DEBUG if job.source.name in self.failing else logging.ERROR
            log.log(level, "%s: update failed unexpectedly", job.source.name, exc_info=True)
            self.failing.add(job.source.name)
            # Nothing of it was stored (a full or locked store, say): its files are read
            # again at the next look, not only once they change.
            self.local_prints.pop(job.source.name, None)
            return
        finally:
            self.in_flight.pop(job.source.name, None)
            if self.more_due and self._room_for_refill():
                self.wake.set()
        if job.source.name in self.failing:
            self.failing.discard(job.source.name)
            log.info("%s: updated again after an unexpected failure", job.source.name)
        if self.metrics is not None:
            self.metrics.observe_update(result, time.monotonic() - started)

    async def _publish(self, *, final: bool = False) -> None:
        """Publish what any process changed; on PostgreSQL one publisher at a time.

        While sources keep arriving (a cold start of thousands), every publish finds the
        same categories changed again: after a publish that took T seconds the next waits
        PUBLISH_BACKOFF x T, so rendering never crowds out fetching and storing.
        """
        started = time.monotonic()
        if not final and (self.stopping.is_set() or self.publishing.locked()):
            return  # the final publish will do it, or one is running already (and ticks)
        if not final and started < self.quiet_until:
            self._ticked("publish")  # resting after a long publish: alive, not late
            return
        async with self.publishing:
            await self._publish_now(started)

    async def _publish_now(self, started: float) -> None:
        try:
            published = await publish_and_announce(
                self.config,
                lambda: self._publish_if_first(self.config),
                client=self.client,
                then=lambda done: self._published(done, started),
            )
        except OSError as exc:  # the output folder (full, read-only): said once, not per retry
            if str(exc) != self.output_trouble:
                log.error("publishing failed; will retry: %s", exc)
            self.output_trouble = str(exc)
            # Its categories stay marked: retried as a publish that took as long would be.
            self.quiet_until = decide.quiet_until(started, time.monotonic() - started)
            return  # no tick: a publish that keeps failing makes /healthz late
        except Exception:
            log.exception("publishing failed; will retry")
            return
        if self.output_trouble is not None:
            log.info("publishing works again")
            self.output_trouble = None
        if published is None:
            self._ticked("publish")  # another process is publishing; it will pick ours up

    def _published(self, published: Published, started: float) -> None:
        self._ticked("publish")  # nothing to publish counts too
        categories, result = published
        if not result.written and not categories:
            return
        seconds = time.monotonic() - started
        self.quiet_until = decide.quiet_until(started, seconds)
        if self.metrics is not None:
            self.metrics.observe_publish(sorted(categories) or ["*"], seconds)
        log.info(
            "published: %d file(s) written in %.2fs (%s)",
            len(result.written),
            seconds,
            _listed(sorted(categories)) or "the site",
        )

    def _publish_if_first(self, config: Config) -> Published | None:
        try:
            with publisher_lock(self.store.engine) as mine:
                return publish_pending(config, self.store, clock=self.clock) if mine else None
        finally:  # also when another process published, or files were left unwritten
            if self.metrics is not None:
                self.metrics.observe_publish_problems(publish_problem_count(self.store.engine))

    async def _reload(self) -> None:
        stamp = _stamp(self.config.path)
        if stamp == self.config_stamp and not self.reload_requested:
            return
        self.config_stamp = stamp
        self.reload_requested = False
        try:
            config = load_config(self.config.path)
        except ConfigError as exc:
            log.error("config reload failed; keeping the last good config:\n%s", exc)
            return
        except Exception:  # one the reader did not foresee: never the daemon's end
            log.exception("config reload failed; keeping the last good config")
            return
        if config.storage != self.config.storage:
            log.warning("[storage] changed: restart the daemon to use the new store")
            return
        self._apply_interval_changes(config)
        self.config = config
        self.updater = Updater(config, self.store, self.client, self.clock, self.pool)
        self.local_prints.clear()
        self.locals_due = 0.0
        log.info("config reloaded: %d source(s)", len(config.sources))
        self.wake.set()  # claim at once: added sources, sooner due times

    def _apply_interval_changes(self, config: Config) -> None:
        old = {s.name: s for s in self.config.sources}
        states = self.store.fetch_states()
        for source in config.sources:
            before = old.get(source.name)
            if before is None:
                continue
            sooner = decide.after_interval_change(before, source, states.get(source.name))
            if sooner is not None:
                self.store.save_fetch_state(sooner)


def _listed(names: list[str], most: int = 5) -> str:
    shown = ", ".join(names[:most])
    return shown + (f" and {len(names) - most} more" if len(names) > most else "")


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        info = path.stat()
    except OSError:
        return None
    return (info.st_mtime_ns, info.st_size)
