"""Keeping secrets out of text: URLs with their passwords masked, secret values that print
as `***`, and the scrubbing of known secret values from text a server or library wrote."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

MASK = "***"
MIN_SCRUBBED = 4  # shorter values are not secrets worth the name, and would mangle text
_QUERY_PASSWORD = re.compile(r"([?&]password=)[^&#]*", re.IGNORECASE)


def masked_url(url: str) -> str:
    """`url` with any password replaced by `***` (store URLs end up in logs): the one in
    the user info, and a `password=` query parameter (libpq takes one there too). The rest
    is kept as written (`sqlite:////abs/path` stays as it is)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return _QUERY_PASSWORD.sub(r"\1***", url)
    # The user info ends at the last "@" before the query: a password may hold "/" or "@".
    query_at = min((i for i in (rest.find("?"), rest.find("#")) if i >= 0), default=len(rest))
    at = rest.rfind("@", 0, query_at)
    user_info = rest[:at] if at >= 0 else ""
    if ":" in user_info:
        rest = f"{user_info.split(':', 1)[0]}:***{rest[at:]}"
    return f"{scheme}://" + _QUERY_PASSWORD.sub(r"\1***", rest)


@dataclass(frozen=True, slots=True)
class Secret:
    """A secret read for the config (a password, a token): prints as `***`, and says where
    it came from (`$NAME` or `file PATH`) so a check can name it without showing it."""

    value: str = field(repr=False)
    origin: str

    def __str__(self) -> str:
        return MASK

    def __repr__(self) -> str:
        return f"Secret({MASK} from {self.origin})"


def scrub(text: str, secrets: Iterable[str]) -> str:
    """`text` with every occurrence of each secret value (of `MIN_SCRUBBED` characters or
    more) replaced by `***`: for text we pass on but did not write (errors, reasons)."""
    for secret in sorted(set(secrets), key=len, reverse=True):
        if len(secret) >= MIN_SCRUBBED:
            text = text.replace(secret, MASK)
    return text
