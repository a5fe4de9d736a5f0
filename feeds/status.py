"""What `feeds status` shows: one row per configured source, sources in trouble first."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from feeds.config import Config
from feeds.model import FetchOutcome, FetchState


@dataclass(frozen=True, slots=True)
class SourceStatus:
    name: str
    category: str | None
    kind: str
    url: str | None  # the URL in use (after permanent redirects)
    last_fetch: datetime | None
    outcome: str | None
    status: int | None
    items: int
    error_count: int
    last_error: str | None
    warnings: str | None
    next_due: datetime | None
    retry_after: datetime | None

    @property
    def trouble(self) -> int:
        """Sort rank: gone first, then failing (most failures first), then never fetched."""
        if self.outcome == FetchOutcome.GONE.value:
            return 0
        if self.error_count:
            return 1
        return 2 if self.last_fetch is None else 3

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("last_fetch", "next_due", "retry_after"):
            value = data[key]
            data[key] = value.isoformat() if value is not None else None
        return data


def source_statuses(
    config: Config, states: Mapping[str, FetchState], counts: Mapping[str, int]
) -> list[SourceStatus]:
    rows = []
    for source in config.sources:
        state = states.get(source.name) or FetchState(source=source.name)
        rows.append(
            SourceStatus(
                name=source.name,
                category=source.category,
                kind=source.kind.value,
                url=state.url or source.url,
                last_fetch=state.last_fetch,
                outcome=state.last_outcome.value if state.last_outcome else None,
                status=state.last_status,
                items=counts.get(source.name, 0),
                error_count=state.error_count,
                last_error=state.last_error,
                warnings=state.warnings,
                next_due=state.next_due,
                retry_after=state.retry_after,
            )
        )
    return sorted(rows, key=lambda r: (r.trouble, -r.error_count, r.name.casefold()))
