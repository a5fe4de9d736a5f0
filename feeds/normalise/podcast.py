"""A podcast episode's iTunes tags, checked before we republish them.

Only values a podcast app can use pass: a duration of ``[[H:]MM:]SS`` or seconds, an
http(s) image URL ending in ``.jpg`` or ``.png`` (Apple's rule, which feedgen enforces), an
explicit flag as ``yes``/``no``/``clean``, and an episode number. Anything else is dropped,
field by field.
"""

from __future__ import annotations

import re

from feeds.model import Podcast
from feeds.normalise.html import clean_text, safe_url

MAX_EPISODE = 1_000_000
MAX_SECONDS = 10**7  # about 115 days: no episode is longer
_DURATION = re.compile(r"(?:(?:(?P<h>[0-9]{1,4}):)?(?P<m>[0-9]{1,2}):)?(?P<s>[0-9]{1,8})")
_EXPLICIT = {
    "yes": "yes",
    "true": "yes",
    "explicit": "yes",
    "no": "no",
    "false": "no",
    "clean": "clean",
}


def clean_podcast(podcast: Podcast | None, base_url: str | None) -> Podcast | None:
    """The tags of `podcast` that are usable, the image resolved against `base_url`; None
    when none is."""
    if podcast is None:
        return None
    checked = Podcast(
        duration=_duration(podcast.duration),
        image=_image(podcast.image, base_url),
        explicit=_EXPLICIT.get(clean_text(podcast.explicit or "").lower()),
        episode=podcast.episode if podcast.episode and 0 < podcast.episode <= MAX_EPISODE else None,
    )
    return checked if checked != Podcast() else None


def _duration(value: str | None) -> str | None:
    text = clean_text(value or "")
    match = _DURATION.fullmatch(text)
    if match is None:
        return None
    hours, minutes, seconds = (int(match[name] or 0) for name in ("h", "m", "s"))
    if match["m"] is not None and seconds >= 60:
        return None  # "1:75" is no time
    if match["h"] is not None and minutes >= 60:
        return None
    if not 0 < hours * 3600 + minutes * 60 + seconds <= MAX_SECONDS:
        return None
    return text


def _image(value: str | None, base_url: str | None) -> str | None:
    url = safe_url(value, base_url)
    return url if url is not None and url.endswith((".jpg", ".png")) else None
