"""Category slugs: the readable, stable name of each category's output folder.

Two steps, both pure. `readable_slug` reads one name as ASCII words; `assign_slugs` hands
out slugs to names in the order they are first seen, so that no two categories share a
folder: a name whose readable slug is taken gets the first free of `-2`, `-3`, ...
The store keeps what was handed out (feeds/store/category_slugs.py), so a category's URL
never changes when another category appears later.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Mapping

# Slugs that name output folders or paths of our own, so no category may take them.
RESERVED_SLUGS = frozenset({"all", "articles", "static", "healthz", "metrics"})

# Symbols that carry meaning in names like "C++", "C#", "F#", ".NET", "R&D", "@home": where
# one is glued to a word it is spoken as a word; free-standing ("Kunst & Kultur") it is
# punctuation and becomes a separator, as before.
SPOKEN_SYMBOLS = {"+": "plus", "#": "sharp", "&": "and", "@": "at", ".": "dot"}

MAX_SLUG = 100  # characters of a readable slug, before any `-2` suffix

_GERMAN_FOLDS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})
_CONTROL_CHARACTERS = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_EMOJI_NAME = re.compile(r":[a-z0-9_+-]+:")  # how anyascii spells an emoji: ":video_game:"
_SEPARATORS = re.compile(r"[^a-z0-9]+")
_MAX_KEY = 200  # characters of a category key kept as text; longer ones end in a digest


def category_key(name: str) -> str:
    """What makes two category names the same category: names that differ only in case,
    Unicode form, control characters or spacing are one category (one folder)."""
    words = unicodedata.normalize("NFC", name).split()  # tabs and newlines too
    key = _CONTROL_CHARACTERS.sub("", " ".join(words)).casefold()
    if len(key) > _MAX_KEY:  # bounded, so the store can index it
        key = key[:_MAX_KEY] + "#" + hashlib.sha256(key.encode("utf-8")).hexdigest()
    return key


def _spoken(symbol: str, after_word: bool, before_word: bool) -> bool:
    if symbol == "#":  # "C#", "F#"; a leading "#" marks a hashtag
        return after_word
    if symbol == ".":  # ".NET"; a dot inside "Node.js" or "2.0" separates
        return before_word and not after_word
    return after_word or before_word


def _speak_symbols(text: str, everywhere: bool) -> str:
    """Spell out the symbols of SPOKEN_SYMBOLS that are glued to a word (all, with
    `everywhere`); any other symbol is left to become a separator."""
    out: list[str] = []
    start = 0
    for run in re.finditer("[" + re.escape("".join(SPOKEN_SYMBOLS)) + "]+", text):
        out.append(text[start : run.start()])
        after_word = run.start() > 0 and text[run.start() - 1].isalnum()
        before_word = run.end() < len(text) and text[run.end()].isalnum()
        for symbol in run.group():
            spoken = everywhere or _spoken(symbol, after_word, before_word)
            out.append(f" {SPOKEN_SYMBOLS[symbol]} " if spoken else " ")
        start = run.end()
    out.append(text[start:])
    return "".join(out)


def _transliterate(text: str) -> str:
    """ASCII for every script; each Chinese character (a syllable) becomes its own word, so
    "技术" reads "ji shu", not "jishu"; emoji are dropped."""
    parts: list[str] = []
    for char in text:
        if char.isascii():
            parts.append(char)
            continue
        from anyascii import anyascii  # loaded for names beyond ASCII only (~4 ms)

        latin = anyascii(char)
        if _EMOJI_NAME.fullmatch(latin):
            parts.append(" ")
        elif unicodedata.name(char, "").startswith("CJK "):
            parts.append(f" {latin} ")
        else:
            parts.append(latin)
    return "".join(parts)


def _words(name: str, everywhere: bool) -> str:
    folded = unicodedata.normalize("NFKC", name).lower().translate(_GERMAN_FOLDS)
    latin = _transliterate(_speak_symbols(folded, everywhere)).lower()
    slug = _SEPARATORS.sub("-", latin).strip("-")
    if len(slug) > MAX_SLUG:  # cut at a word boundary where there is one
        cut = slug[: MAX_SLUG + 1].rfind("-")
        slug = slug[: cut if cut > 0 else MAX_SLUG].strip("-")
    return slug


def readable_slug(name: str) -> str:
    """The slug a category name reads as on its own: lowercase ASCII words joined by '-'.

    German folds first (ä->ae, ö->oe, ü->ue, ß->ss), symbols glued to a word spoken
    (SPOKEN_SYMBOLS), then every script transliterated (anyascii). A name of symbols only
    speaks them all; a name that still gives nothing gets `category-<hash>`. Never one of
    RESERVED_SLUGS: those get `-category` appended.
    """
    slug = _words(name, everywhere=False) or _words(name, everywhere=True)
    if not slug:
        slug = "category-" + hashlib.sha256(name.encode("utf-8")).hexdigest()[:8]
    if slug in RESERVED_SLUGS:
        slug += "-category"
    return slug


def assign_slugs(assigned: Mapping[str, str], names: Iterable[str]) -> dict[str, str]:
    """Slugs for category `names`, in the order they are first seen, given the slugs
    `assigned` so far (name -> slug). Returns `assigned` with the new names added.

    A name of the same category as an assigned one (same `category_key`) is not new. A new
    name gets its readable slug, or, when another category has it, the first free of
    `<slug>-2`, `<slug>-3`, ...; so no two categories ever share a slug, and nothing
    assigned changes.
    """
    result = dict(assigned)
    keys = {category_key(name) for name in assigned}
    taken = set(assigned.values())
    # The last suffix tried per readable slug: slugs are never given back, so a search
    # goes on from there (thousands of names that read alike cost no quadratic search).
    tried: dict[str, int] = {}
    for name in names:
        key = category_key(name)
        if key in keys:
            continue
        base = readable_slug(name)
        slug, suffix = base, tried.get(base, 1)
        if suffix > 1:
            slug = f"{base}-{suffix}"
        while slug in taken:
            suffix += 1
            slug = f"{base}-{suffix}"
        tried[base] = suffix
        result[name] = slug
        keys.add(key)
        taken.add(slug)
    return result


def slug_of(assigned: Mapping[str, str], name: str) -> str:
    """The slug of category `name`: its assigned one, else the one it would be given next."""
    found = assigned.get(name)
    if found is not None:
        return found
    key = category_key(name)
    for other, slug in assigned.items():
        if category_key(other) == key:
            return slug
    return assign_slugs(assigned, [name])[name]
