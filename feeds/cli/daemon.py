"""`feeds run` and `feeds serve`: the daemon and the server, with their options."""

from __future__ import annotations

from collections.abc import Callable

import click

from feeds import early_signals
from feeds.cli.errors import Fatal
from feeds.cli.runtime import daemon_lock, load, log, open_store, run_async, utc_now
from feeds.config import parse_duration
from feeds.lifecycle import serve_start_line, stop_line
from feeds.publish.orchestrate import cache_seconds
from feeds.server_options import ServerOptions

DEFAULTS = ServerOptions()


def _server_options(command: Callable[..., None]) -> Callable[..., None]:
    """`--max-connections`, `--timeout`, `--send-timeout` and `--access-log`, for `serve` and
    `run --serve`."""
    options = (
        click.option(
            "--max-connections",
            type=click.IntRange(min=1),
            default=DEFAULTS.max_connections,
            show_default=True,
            help="Open connections served at once; more get a 503 and are closed.",
        ),
        click.option(
            "--timeout",
            type=click.FloatRange(min=0.1),
            default=DEFAULTS.timeout,
            show_default=True,
            help="Seconds a client gets to send a whole request head.",
        ),
        click.option(
            "--send-timeout",
            type=click.FloatRange(min=0.1),
            default=DEFAULTS.send_timeout,
            show_default=True,
            help="Seconds a response waits on a client that reads none of it; then the "
            "connection is dropped.",
        ),
        click.option(
            "--access-log",
            metavar="FILE",
            default=None,
            help="Log each request in the combined format to FILE ('-': standard output).",
        ),
    )
    for option in reversed(options):
        command = option(command)
    return command


def _tick(seconds: float) -> float:
    """A claim loop that never rests would starve the event loop; one that never wakes is
    an error too (NaN and infinity included)."""
    if not 0.1 <= seconds <= 86400:
        raise click.BadParameter(f"{seconds:g} is not between 0.1 and 86400 seconds")
    return seconds


@click.command()
@click.option(
    "--tick",
    type=float,
    callback=lambda _ctx, _param, value: _tick(value),
    default=5.0,
    show_default=True,
    help="Longest wait between looks for due sources (freed slots and due times come sooner).",
)
@click.option(
    "--metrics-port",
    type=int,
    default=None,
    help="Serve /metrics (Prometheus) and /healthz on this port.",
)
@click.option("--metrics-host", default="127.0.0.1", show_default=True)
@click.option("--serve", "serve_output", is_flag=True, help="Also serve the output over HTTP.")
@click.option("--host", default=DEFAULTS.host, show_default=True, help="With --serve.")
@click.option("--port", default=DEFAULTS.port, show_default=True, help="With --serve.")
@_server_options
@click.option(
    "--health-max-age",
    default="1h",
    show_default=True,
    help="/healthz fails when a daemon loop (claim, publish) has not run for this long.",
)
@click.pass_obj
def run(
    config_path: str | None,
    tick: float,
    metrics_port: int | None,
    metrics_host: str,
    serve_output: bool,
    host: str,
    port: int,
    health_max_age: str,
    max_connections: int,
    timeout: float,
    send_timeout: float,
    access_log: str | None,
) -> None:
    """Run as a daemon: update sources as they come due, republish what changed."""
    # First of all: from here a SIGHUP asks for a reload and a SIGTERM or SIGINT for a clean
    # stop, which the daemon honours once its own handlers are in place; the signals that
    # arrived since the process started were held until now (feeds/early_signals.py).
    startup = early_signals.StartupSignals()
    startup.install()
    early_signals.release()
    from feeds.daemon import Daemon, DaemonSettings  # APScheduler is needed only here
    from feeds.metrics import Metrics, MetricsServer

    config = load(config_path)
    try:
        max_age = parse_duration(health_max_age)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--health-max-age") from None
    slowest = max(tick, DaemonSettings().publish_every)
    if max_age.total_seconds() < 2 * slowest:
        raise click.BadParameter(
            f"{health_max_age} is shorter than two ticks of the slowest loop ({slowest:g}s):"
            " /healthz would fail between ticks",
            param_hint="--health-max-age",
        )
    metrics = Metrics(utc_now)
    server = None
    if metrics_port is not None:
        server = MetricsServer(metrics, metrics_host, metrics_port, max_age)
        log.info("metrics on http://%s:%d/metrics", metrics_host, server.port)
    serve_options = None
    if serve_output:
        serve_options = ServerOptions(
            host, port, max_connections, timeout, access_log=access_log, send_timeout=send_timeout
        )
    with open_store(config) as store, daemon_lock(store):
        settings = DaemonSettings(
            tick=tick,
            serve=serve_options,
            health_max_age=max_age,
            metrics_address=(metrics_host, server.port) if server is not None else None,
        )
        daemon = Daemon(config, store, utc_now, settings, metrics, startup)

        async def run_then_hold() -> None:
            await daemon.run()
            # Stopped, only exiting now: as the event loop closes it gives the signals their
            # fatal default actions back, so keep them from here on.
            early_signals.hold()

        try:
            run_async(run_then_hold())
        finally:
            if server is not None:
                server.close()


@click.command()
@click.option("--host", default=DEFAULTS.host, show_default=True)
@click.option("--port", default=DEFAULTS.port, show_default=True)
@_server_options
@click.pass_obj
def serve(
    config_path: str | None,
    host: str,
    port: int,
    max_connections: int,
    timeout: float,
    send_timeout: float,
    access_log: str | None,
) -> None:
    """Serve the output folder to feed readers: ETags, 304s, compressed variants, /healthz."""
    from feeds.serve import serve as serve_output  # the ASGI stack only when asked

    config = load(config_path)
    log.info("%s", serve_start_line(config, (host, port)))
    options = ServerOptions(
        host, port, max_connections, timeout, access_log=access_log, send_timeout=send_timeout
    )
    try:
        serve_output(config.output.dir, options, cache_seconds=cache_seconds(config))
    except OSError as exc:
        raise Fatal(f"cannot serve on {host}:{port}: {exc}") from None
    log.info("%s", stop_line("serve"))
