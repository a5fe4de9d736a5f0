"""What `feeds status` shows: one row per configured source, sources in trouble first; then
what the last publishes could not render."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from feeds.config import Config
from feeds.model import FetchOutcome, FetchState, FullTextTally, ScopeProblems, SourceKind
from feeds.shorten import shorten
from feeds.sources.kinds import describe
from feeds.terminal_text import terminal_safe


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
    due_reason: str | None = None  # why next_due is later than the interval ("ttl 60m")
    full_text: str | None = None  # "18 of 20, 2 failed: HTTP 404 Not Found (2)"

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
    config: Config,
    states: Mapping[str, FetchState],
    counts: Mapping[str, int],
    full_text: Mapping[str, FullTextTally] | None = None,
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
                due_reason=state.due_reason,
                full_text=full_text_text((full_text or {}).get(source.name)),
            )
        )
    return sorted(rows, key=lambda r: (r.trouble, -r.error_count, r.name.casefold()))


def full_text_text(tally: FullTextTally | None) -> str | None:
    """How a source's pages went: "18 of 20, 2 failed: <reason> (2)", the commonest
    reasons first; None when no page was tried."""
    if tally is None:
        return None
    text = f"{tally.tried - tally.failed} of {tally.total}"
    if tally.failed:
        ranked = sorted(tally.reasons.items(), key=lambda item: (-item[1], item[0]))
        reasons = "; ".join(f"{reason} ({count})" for reason, count in ranked[:_REASONS])
        more = "; ..." if len(ranked) > _REASONS else ""
        text += f", {tally.failed} failed: {reasons}{more}"
    return text


_REASONS = 3  # failure reasons shown per source


def age_text(when: datetime | None, now: datetime) -> str:
    """A time relative to `now` as people say it: `40 s ago`, `5 min ago`, `in 2 h`, `3 d ago`."""
    if when is None:
        return "-"
    seconds = (when - now).total_seconds()
    text = _rounded(abs(seconds))
    return f"in {text}" if seconds > 0 else f"{text} ago"


def _rounded(seconds: float) -> str:
    if seconds < 90:
        return f"{round(seconds)} s"
    if seconds < 90 * 60:
        return f"{round(seconds / 60)} min"
    if seconds < 48 * 3600:
        return f"{round(seconds / 3600)} h"
    return f"{round(seconds / 86400)} d"


def outcome_text(row: SourceStatus) -> str:
    """The last outcome with its HTTP status: `new (200)`, `failed (503)`, `never fetched`."""
    text = row.outcome or "never fetched"
    return f"{text} ({row.status})" if row.status else text


def next_due_text(row: SourceStatus, now: datetime) -> str:
    """When the source is next fetched, and why when that is later than its interval."""
    if not describe(SourceKind(row.kind)).scheduled:
        return "on change"
    if row.outcome == FetchOutcome.GONE.value:
        return "never (410 Gone)"
    text = age_text(row.retry_after or row.next_due, now)
    if row.next_due is not None and row.next_due <= now:
        text = "now" if now - row.next_due < timedelta(minutes=1) else f"due {text}"
    return f"{text} ({row.due_reason})" if row.due_reason else text


def narrow_lines(rows: list[SourceStatus], now: datetime, width: int = 80) -> list[str]:
    """The status as plain lines at most `width` wide: for pipes and narrow terminals.

    Per source: its name and category; when it was fetched, the outcome and the item count;
    when it is next due and why; then, if any, its errors or warnings, cut to the width (the
    whole text is in `feeds status --json`).
    """
    lines = [f"{len(rows)} source(s)"]
    for row in rows:
        mark = "!" if row.trouble <= 1 else " "
        lines.append(_cut(mark + " ", f"{row.name} [{row.category or 'from the files'}]", width))
        fetched = (
            f"fetched {age_text(row.last_fetch, now)}: {outcome_text(row)}, {row.items} item(s)"
        )
        lines.append(_cut("    ", fetched, width))
        lines.append(_cut("    ", f"next {next_due_text(row, now)}", width))
        if row.error_count:
            errors = f"{row.error_count} error(s): {row.last_error or '?'}"
            lines.append(_cut("    ", errors, width))
        elif row.warnings:
            lines.append(_cut("    ", f"warnings: {row.warnings}", width))
        if row.full_text:
            lines.append(_cut("    ", f"full text: {row.full_text}", width))
    return lines


PROBLEMS_HEADING = "publish problems"


def problem_count(scopes: Sequence[ScopeProblems]) -> int:
    """Every problem found, those not kept included."""
    return sum(len(s.problems) + s.more for s in scopes)


def problem_rows(scopes: Sequence[ScopeProblems], now: datetime) -> list[tuple[str, str, str]]:
    """One (scope, when found, message) per problem kept, and one that counts the rest of
    a scope's; the texts as stored (make them `terminal_safe` to show them)."""
    rows = []
    for scope in scopes:
        found = age_text(scope.found, now)
        rows += [(scope.scope, found, problem.message) for problem in scope.problems]
        if scope.more:
            rows.append((scope.scope, found, f"... and {scope.more} more"))
    return rows


def problem_lines(scopes: Sequence[ScopeProblems], now: datetime, width: int = 80) -> list[str]:
    """The publish problems as plain lines at most `width` wide: a heading, then per
    problem its scope, when the publish that found it ran, and its message, cut to the
    width (`feeds status --problems --json` has the whole text)."""
    lines = [f"{PROBLEMS_HEADING} ({problem_count(scopes)})"]
    for scope, found, message in problem_rows(scopes, now):
        lines.append(_cut("! ", f"{scope} ({found}): {message}", width))
    return lines


def problems_json(scopes: Sequence[ScopeProblems]) -> list[dict[str, Any]]:
    """The publish problems for scripts: per scope, when its last publish ran, the
    messages kept and how many more it found."""
    return [
        {
            "scope": s.scope,
            "found": s.found.isoformat(),
            "messages": [p.message for p in s.problems],
            "more": s.more,
        }
        for s in scopes
    ]


def _cut(indent: str, text: str, width: int) -> str:
    return shorten(indent + terminal_safe(text), width)
