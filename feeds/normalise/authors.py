"""Authors: raw author text as feeds write it, read into `Author`s; and authors made safe.

RSS ``<author>``, ``dc:creator``, ``itunes:author``, JSON Feed and Markdown front matter
hold one text each, written in any of these forms (each read here into name and email):

- ``mail@host.online (Name)``: RSS 2.0's own form;
- ``Name <mail@host>``, ``"Last, First" <mail@host>``, ``Name (mail@host)``;
- ``mail@host`` or ``mailto:mail@host`` alone: the address is also the name;
- ``(Name)``, or a plain name (``Müller, Jörg`` stays one name: no address, no split);
- several addresses separated by commas, each in one of the forms above.

feedparser 6.0.x splits these with a pattern that stops at four-letter top-level domains
(``presse@stadt.example (Pressestelle)`` becomes ``ple (Pressestelle``), so the raw text is
read here instead. A text that fits no form is a name as written.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from feeds.model import Author
from feeds.normalise.html import clean_text, safe_url
from feeds.normalise.plaintext import plain_text

MAX_AUTHORS = 32  # per article: a credits list, not a phone book

# Longer texts are names as written: no real address is this long, and it bounds the work
# of the patterns below on hostile input.
MAX_ADDRESS_TEXT = 500

# An address that is also a valid mailto: URL as written (no "%", no characters an IRI
# refuses); letters of any script, so internationalised addresses pass.
_LOCAL = r"[\w.!#$&'*+/=?~-]+"
_LABEL = r"[\w-]+"
EMAIL = re.compile(rf"{_LOCAL}@{_LABEL}(?:\.{_LABEL})+")
_MAILTO = r"(?:mailto:)?"
# mail@host (Name), or mail@host alone.
# The name may hold one level of parentheses: "a@b.example (Ann (the) Lee)".
_EMAIL_FIRST = re.compile(
    rf"{_MAILTO}(?P<email>{EMAIL.pattern})"
    r"(?:\s*\((?P<name>[^()]*(?:\([^()]*\)[^()]*)*)\))?",
    re.I,
)
# Name <mail@host>; the name may be quoted.
_NAME_ANGLE = re.compile(rf"(?P<name>[^<>]*)<{_MAILTO}(?P<email>{EMAIL.pattern})>", re.I)
# Name (mail@host)
_NAME_PAREN = re.compile(rf"(?P<name>[^()]*)\({_MAILTO}(?P<email>{EMAIL.pattern})\)", re.I)
_PARENTHESISED = re.compile(r"\((?P<name>[^()]*)\)")


def authors_from_text(text: str) -> tuple[Author, ...]:
    """The authors one raw author text names (see the module docstring); untrusted values."""
    value = clean_text(text)
    if not value:
        return ()
    if "@" not in value or len(value) > MAX_ADDRESS_TEXT:
        match = _PARENTHESISED.fullmatch(value)
        return (Author(name=match["name"].strip() if match else value),)
    single = _address(value)
    if single is not None:
        return (single,)
    pieces = _split_list(value)
    if len(pieces) > 1:
        addresses = [_address(piece) for piece in pieces]
        if all(address is not None for address in addresses):
            return tuple(a for a in addresses if a is not None)
    return (Author(name=value),)


def clean_authors(authors: Iterable[Author]) -> tuple[Author, ...]:
    """Authors as published: names as plain text, only well-formed emails, only http(s)
    pages; an author with no name takes its email as name; duplicates dropped; at most
    `MAX_AUTHORS`."""
    result: dict[Author, None] = {}
    for author in authors:
        if len(result) == MAX_AUTHORS:
            break
        email = clean_text(author.email or "")
        email = email.removeprefix("mailto:") if email.lower().startswith("mailto:") else email
        email_or_none = email if EMAIL.fullmatch(email) else None
        uri = safe_url(author.uri)
        name = plain_text(author.name) or email_or_none
        if name:
            result[Author(name=name, email=email_or_none, uri=uri)] = None
    return tuple(result)


def _address(value: str) -> Author | None:
    """One address in one of the forms, or None."""
    if match := _EMAIL_FIRST.fullmatch(value):
        email = match["email"]
        name = (match["name"] or "").strip()
        return Author(name=name or email, email=email)
    for pattern in (_NAME_ANGLE, _NAME_PAREN):
        if match := pattern.fullmatch(value):
            email = match["email"]
            return Author(name=_unquote(match["name"].strip()) or email, email=email)
    return None


def _unquote(name: str) -> str:
    if len(name) >= 2 and name[0] == name[-1] == '"':
        return name[1:-1].replace('\\"', '"').replace("\\\\", "\\").strip()
    return name


def _split_list(value: str) -> list[str]:
    """`value` cut at commas outside quotes, parentheses and angle brackets."""
    pieces: list[str] = []
    depth = 0
    quoted = False
    start = 0
    for index, char in enumerate(value):
        if char == '"':
            quoted = not quoted
        elif quoted:
            continue
        elif char in "(<":
            depth += 1
        elif char in ")>":
            depth = max(0, depth - 1)
        elif char == "," and depth == 0:
            pieces.append(value[start:index].strip())
            start = index + 1
    pieces.append(value[start:].strip())
    return [piece for piece in pieces if piece]
