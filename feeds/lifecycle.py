"""The start and stop lines that `feeds run` and `feeds serve` log at the default level.

They tell an operator reading the journal what is running, on which config and store, and
where it listens; pure functions of values, so they are tested without starting anything.
"""

from __future__ import annotations

from feeds import __version__
from feeds.config import Config
from feeds.masking import masked_url

__all__ = ["masked_url", "serve_start_line", "start_line", "stop_line"]


def _http(address: tuple[str, int]) -> str:
    host, port = address
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def start_line(
    config: Config,
    *,
    serving: tuple[str, int] | None = None,
    metrics: tuple[str, int] | None = None,
) -> str:
    """The daemon's start line: version, config file, store, sources, served URL, metrics."""
    parts = [
        f"config {config.path}",
        f"store {masked_url(config.storage.url)}",
        f"{len(config.sources)} source(s)",
        f"serving {_http(serving)}" if serving is not None else "not serving (no --serve)",
        f"metrics on port {metrics[1]}" if metrics is not None else "no metrics port",
    ]
    return f"daemon started: feeds {__version__}, " + ", ".join(parts)


def serve_start_line(config: Config, address: tuple[str, int]) -> str:
    """`feeds serve`'s start line: version, config file, the folder and the URL served."""
    return (
        f"serve started: feeds {__version__}, config {config.path}, "
        f"output {config.output.dir}, serving {_http(address)}"
    )


def stop_line(what: str = "daemon") -> str:
    """The last line a clean stop logs (`what`: "daemon", or "serve" for `feeds serve`)."""
    return f"{what} stopped: feeds {__version__}"
