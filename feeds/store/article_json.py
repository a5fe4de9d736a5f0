"""The JSON shapes of an article's structured columns: `authors` and `podcast`.

- ``authors``: an array of ``{"name": ..., "email": ..., "uri": ...}`` objects, keys whose
  value is None left out. Stores written before `Author` hold plain strings: each is read
  as a name-only author, so no stored row needs rewriting.
- ``podcast``: NULL, or ``{"duration": ..., "image": ..., "explicit": ..., "episode": ...}``
  with None values left out.
"""

from __future__ import annotations

import json
from typing import Any

from feeds.model import Author, Podcast


def authors_to_json(authors: tuple[Author, ...]) -> str:
    """The `authors` column value."""
    people = [
        {
            key: value
            for key, value in (("name", a.name), ("email", a.email), ("uri", a.uri))
            if value
        }
        for a in authors
    ]
    return json.dumps(people, ensure_ascii=False)


def authors_from_json(text: str) -> tuple[Author, ...]:
    """The authors of an `authors` column value, old plain-string rows included."""
    found: list[Author] = []
    for person in json.loads(text):
        if isinstance(person, str):
            found.append(Author(name=person))
        elif isinstance(person, dict) and isinstance(person.get("name"), str):
            found.append(
                Author(
                    name=person["name"],
                    email=_str(person.get("email")),
                    uri=_str(person.get("uri")),
                )
            )
    return tuple(found)


def podcast_to_json(podcast: Podcast | None) -> str | None:
    """The `podcast` column value (None: NULL)."""
    if podcast is None:
        return None
    fields = {
        "duration": podcast.duration,
        "image": podcast.image,
        "explicit": podcast.explicit,
        "episode": podcast.episode,
    }
    return json.dumps({k: v for k, v in fields.items() if v is not None}, ensure_ascii=False)


def podcast_from_json(text: str | None) -> Podcast | None:
    """The podcast tags of a `podcast` column value."""
    if not text:
        return None
    fields = json.loads(text)
    episode = fields.get("episode")
    return Podcast(
        duration=_str(fields.get("duration")),
        image=_str(fields.get("image")),
        explicit=_str(fields.get("explicit")),
        episode=episode if isinstance(episode, int) and not isinstance(episode, bool) else None,
    )


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None
