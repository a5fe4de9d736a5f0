"""Log output: readable lines for people, or one JSON object per line for log shippers."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

_PLAIN = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# The web server's own loggers and the names their records carry in our log: operators
# filter on `feeds.*`. The one place to change when the server underneath changes.
SERVER_LOGGERS = {
    "uvicorn.error": "feeds.serve.server",
    "uvicorn.access": "feeds.serve.access",
    "uvicorn": "feeds.serve.server",
}


def our_name(logger_name: str) -> str:
    """The name a record of `logger_name` carries in our log (server loggers renamed)."""
    for prefix, name in SERVER_LOGGERS.items():
        if logger_name == prefix or logger_name.startswith(prefix + "."):
            return name
    return logger_name


class _OurNames(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.name = our_name(record.name)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message (and the traceback)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(level: int, log_format: str, *, operations: bool = False) -> None:
    """Send logs to stderr in `log_format` ("text" or "json") at `level`.

    `operations` (the daemon and the server): our own info lines (start, publish, recovery,
    stop) are shown even at the default level, other libraries' only from `level`.
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(_PLAIN))
    handler.addFilter(_OurNames())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("feeds").setLevel(min(level, logging.INFO) if operations else logging.NOTSET)
    # APScheduler logs every job run at INFO: far too chatty for a daemon with fast ticks.
    logging.getLogger("apscheduler").setLevel(max(level, logging.WARNING))
    logging.getLogger("httpx").setLevel(max(level, logging.WARNING))
