"""The PostgreSQL test database on 127.0.0.1 that the `pg_url` and `store` fixtures use."""

from __future__ import annotations

import time

import psycopg

PG = "host=127.0.0.1 port=5432 user=postgres dbname=test"


def wait_for_postgres(seconds: float = 60) -> None:
    """Return once the PostgreSQL on 127.0.0.1 accepts connections (after a restart)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            psycopg.connect(PG, connect_timeout=2).close()
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
