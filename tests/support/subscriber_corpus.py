"""A corpus of crafted source feeds for the subscriber tests (issue 11), written by our own code.

Each `SourceFeed` is one configured source: a remote feed in RSS 2.0, Atom 1.0, RSS 1.0 (RDF)
or JSON Feed 1.1, or a folder of local article files (the seed ``.txt`` format or Markdown).
Each `Entry` holds what goes in (the title as the format carries it, the author in the form
under test) beside what a subscriber must read back from our output (`title`, `author`, ...).

The corpus covers every point of issue 11: authors in every form, titles with angle brackets
that are text and with markup that is not, categories whose names collide under a naive slug,
one article carried by two sources, categories mixing languages, podcast tags and dates with
offsets. `CATEGORY_SLUGS` is the contract for output folders.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from support.feedwriter import Enclosure, Episode, Feed, Person, document, encode, json_feed
from support.feedwriter import Entry as FeedEntry

SITE_TITLE = "Subscriber Test Site"
BERLIN = ZoneInfo("Europe/Berlin")


def offset(hours: float) -> timezone:
    return timezone(timedelta(hours=hours))


#: A `Person.name` that pins nothing but "some name": a bare address names nobody.
ANY_NAME = ""


@dataclass(frozen=True)
class Entry:
    """One source entry: what goes in, and what our output must say about it.

    `title_in` is the title text as the source format carries it (for Atom with
    `title_type="html"` it is the HTML source); `title` is what subscribers must read.
    The author goes in as exactly one of `rss_author` (the raw RSS ``<author>`` text),
    `creator` (``dc:creator``), `itunes_author`, or `person` (Atom, JSON Feed, Markdown);
    `author` is what must come out (None: the source's title, the Planet convention).
    """

    key: str
    title: str
    published: datetime
    title_in: str | None = None
    title_type: str = "text"  # Atom only
    link: str | None = None  # None: a local article, published under our articles/ pages
    rss_author: str | None = None
    creator: str | None = None
    itunes_author: str | None = None
    person: Person | None = None
    author: Person | None = None
    enclosure: tuple[str, str, int] | None = None
    podcast: Episode | None = None
    language: str | None = None  # overrides the source's language (JSON items, Markdown)

    @property
    def source_text(self) -> str:
        return self.title if self.title_in is None else self.title_in


@dataclass(frozen=True)
class SourceFeed:
    """One configured source and the document (or files) it serves."""

    name: str  # the configured name
    kind: str  # rss, atom, rdf, json, seed, markdown
    category: str
    language: str
    entries: tuple[Entry, ...]
    title: str | None = None  # the feed's own title; None or "": the configured name counts
    site: str = ""  # the feed's home page
    path: str = ""  # URL path on the test server (remote) or folder name (local)

    @property
    def remote(self) -> bool:
        return self.kind in ("rss", "atom", "rdf", "json")

    @property
    def source_title(self) -> str:
        """The title attribution must carry: the feed's own, else the configured name."""
        return self.title or self.name

    def entry_language(self, entry: Entry) -> str:
        return entry.language or self.language

    def expected_author(self, entry: Entry) -> Person:
        return entry.author or Person(self.source_title)


# --- writers -----------------------------------------------------------------------------


def _body(entry: Entry) -> str:
    return f"<p>Body of {entry.key}.</p>"


def _feed(feed: SourceFeed, kind: str) -> Feed:
    """`feed` as the one writer describes it, for the remote `kind` (each says what it can)."""
    rdf = kind == "rdf"
    entries = tuple(
        FeedEntry(
            id=entry.link if rdf else f"urn:corpus:{entry.key}",
            title=entry.source_text,
            title_type=entry.title_type if kind == "atom" else None,
            link=entry.link,
            published=entry.published,
            updated=entry.published if kind == "atom" else None,
            summary=_body(entry) if kind in ("rss", "rdf") else None,
            content=None if kind in ("rss", "rdf") else _body(entry),
            authors=_authors(entry, kind),
            rss_author=entry.rss_author,
            itunes_author=entry.itunes_author,
            enclosures=() if entry.enclosure is None else (Enclosure(*entry.enclosure),),
            episode=entry.podcast,
            language=entry.language,
        )
        for entry in feed.entries
    )
    if kind in ("rss", "rdf"):
        return Feed(
            feed.title or "",
            feed.site,
            f"{feed.name} for subscriber tests",
            feed.language,
            declare=("dc", "itunes") if kind == "rss" else ("dc",),
            entries=entries,
        )
    return Feed(
        feed.title or "",
        feed.site,
        language=feed.language,
        id=f"urn:corpus:feed:{feed.path}",
        updated=max(e.published for e in feed.entries),
        entries=entries,
    )


def _authors(entry: Entry, kind: str) -> tuple[Person, ...]:
    """RSS and RDF carry `creator` (``dc:creator``), Atom and JSON Feed the `person`."""
    if kind in ("rss", "rdf"):
        return () if entry.creator is None else (Person(entry.creator),)
    return () if entry.person is None else (entry.person,)


def write_rss(feed: SourceFeed) -> bytes:
    return encode(document("rss20", _feed(feed, "rss")))


def write_rdf(feed: SourceFeed) -> bytes:
    return encode(document("rss10", _feed(feed, "rdf")))


def write_atom(feed: SourceFeed) -> bytes:
    return encode(document("atom10", _feed(feed, "atom")))


def write_json(feed: SourceFeed) -> bytes:
    return json_feed(_feed(feed, "json")).encode("utf-8")


WRITERS: dict[str, tuple[Callable[[SourceFeed], bytes], str]] = {
    "rss": (write_rss, "application/rss+xml"),
    "rdf": (write_rdf, "application/rdf+xml"),
    "atom": (write_atom, "application/atom+xml"),
    "json": (write_json, "application/feed+json"),
}


def write_local(feed: SourceFeed, folder: Path) -> None:
    """Write a local source's article files (seed .txt or Markdown) into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    for entry in feed.entries:
        if feed.kind == "seed":
            when = entry.published.astimezone(BERLIN).strftime("%d.%m.%Y %H:%M")
            text = (
                f"Veröffentlichungsdatum: {when} / {feed.category}\n\n{entry.source_text}\n\n"
                f"{entry.source_text}\n\nErster Absatz von {entry.key}.\n\n"
                "Zweiter Absatz.\n"
            )
            (folder / f"{entry.key}.txt").write_text(text, encoding="utf-8")
        else:
            lines = [
                "---",
                f"title: {json.dumps(entry.source_text, ensure_ascii=False)}",
                f'date: "{entry.published.isoformat()}"',
                f"category: {json.dumps(feed.category, ensure_ascii=False)}",
            ]
            if entry.person is not None:
                lines.append(f"author: {json.dumps(entry.person.name, ensure_ascii=False)}")
            if entry.language:
                lines.append(f"language: {entry.language}")
            lines += ["---", "", f"Body of *{entry.key}*.", ""]
            (folder / f"{entry.key}.md").write_text("\n".join(lines), encoding="utf-8")


def config_source(feed: SourceFeed, url: str | None) -> str:
    """The `[[sources]]` table for `feed` (`url` for remote sources)."""
    lines = ["[[sources]]", f"name = {json.dumps(feed.name, ensure_ascii=False)}"]
    if url is not None:
        lines.append(f'url = "{url}"')
    else:
        lines += [f'path = "{feed.path}"', 'timezone = "Europe/Berlin"']
    lines += [
        f"category = {json.dumps(feed.category, ensure_ascii=False)}",
        f'language = "{feed.language}"',
    ]
    return "\n".join(lines) + "\n"


# --- the corpus ----------------------------------------------------------------------------

#: Category name -> the output folder subscribers find it in (issue 11 contract). 技术 is
#: checked apart: a readable ASCII slug of its own, whatever transliteration gives.
CATEGORY_SLUGS = {
    "C++": "c-plus-plus",
    "C#": "c-sharp",
    "C": "c",
    "Œuvres": "oeuvres",
    "Новости": "novosti",
    "Welt Nachrichten": "welt-nachrichten",
}
CHINESE = "技术"
MIXED = "Mixed Languages"
PODCASTS = "Podcasts"
SHARED = "Shared Stories"
ANON = "Anonymous"

SHARED_LINK = "https://shared.example/2025/one-story"

PRESSE = Person("Pressestelle", "presse@stadt.example")
HEISE = Person("Heise", "news@heise.online")
FULL = Person("Ada Atom", "ada@atom.example", "https://ada.example/")


def d(day: int, hour: int, minute: int = 0, tz: timezone | ZoneInfo = UTC) -> datetime:
    return datetime(2025, 3, day, hour, minute, tzinfo=tz)


def build_corpus() -> list[SourceFeed]:
    """Every source of the subscriber corpus (at least 30), in configuration order."""
    e = Entry
    return [
        # -- C++: titles with angle brackets, authors as "mail (Name)"; all English
        SourceFeed(
            "cpp-rss",
            "rss",
            "C++",
            "en",
            title="C++ Weekly",
            site="https://cpp.example/",
            path="/src/cpp-rss.xml",
            entries=(
                e(
                    "io-uring",
                    "scheduler & <io_uring>",
                    d(1, 8),
                    link="https://cpp.example/io-uring",
                    rss_author="presse@stadt.example (Pressestelle)",
                    author=PRESSE,
                ),
                e(
                    "option-t",
                    "Option<T>",
                    d(1, 9, 30, offset(5.5)),
                    link="https://cpp.example/option-t",
                    rss_author="news@heise.online (Heise)",
                    author=HEISE,
                ),
            ),
        ),
        SourceFeed(
            "cpp-atom",
            "atom",
            "C++",
            "en",
            title="Atomic C++",
            site="https://atomcpp.example/",
            path="/src/cpp-atom.xml",
            entries=(
                e(
                    "a-less-b",
                    "a < b",
                    # A fraction of a second: newsboat 2.21 read such an Atom date as UTC.
                    d(2, 10, tz=offset(-8)).replace(second=3, microsecond=500_000),
                    link="https://atomcpp.example/lt",
                    person=FULL,
                    author=FULL,
                ),
                e(
                    "bold-move",
                    "bold move",
                    d(2, 11),
                    title_in="<b>bold</b> move",
                    title_type="html",
                    link="https://atomcpp.example/bold",
                    person=Person("Only Name"),
                    author=Person("Only Name"),
                ),
                e(
                    "linked",
                    "Linked title",
                    d(2, 12),
                    title_in='<a href="https://evil.example/">Linked</a> title',
                    title_type="html",
                    link="https://atomcpp.example/linked",
                    person=Person("Only Name"),
                    author=Person("Only Name"),
                ),
                e(
                    "script",
                    "Evil title",
                    d(2, 13),
                    title_in="<script>alert(1)</script>Evil title",
                    title_type="html",
                    link="https://atomcpp.example/script",
                    person=Person("Only Name"),
                    author=Person("Only Name"),
                ),
            ),
        ),
        SourceFeed(
            "cpp-rdf",
            "rdf",
            "C++",
            "en",
            title="C++ in RDF",
            site="https://rdfcpp.example/",
            path="/src/cpp-rdf.rdf",
            entries=(
                e(
                    "rdf-creator",
                    "Templates & Concepts",
                    d(3, 7),
                    link="https://rdfcpp.example/1",
                    creator="Rita Rdf",
                    author=Person("Rita Rdf"),
                ),
            ),
        ),
        # -- C#: "Name <mail>", a bare address; JSON authors with url
        SourceFeed(
            "csharp-rss",
            "rss",
            "C#",
            "en",
            title="Sharp News",
            site="https://sharp.example/",
            path="/src/csharp-rss.xml",
            entries=(
                e(
                    "angle-addr",
                    "Records in C# 12",
                    d(4, 6, tz=offset(1)),
                    link="https://sharp.example/records",
                    rss_author="Jane Roe <jane@roe.example>",
                    author=Person("Jane Roe", "jane@roe.example"),
                ),
                e(
                    "escaped-twice",
                    "twice escaped",
                    d(4, 7),
                    title_in="&lt;b&gt;twice&lt;/b&gt; escaped",
                    link="https://sharp.example/twice",
                    creator="Dee Creator",
                    author=Person("Dee Creator"),
                ),
            ),
        ),
        SourceFeed(
            "csharp-json",
            "json",
            "C#",
            "en",
            title="Sharp JSON",
            site="https://sharpjson.example/",
            path="/src/csharp.json",
            entries=(
                e(
                    "json-author",
                    "Span<T> and you",
                    d(4, 9),
                    link="https://sharpjson.example/span",
                    person=Person("Jay Son", uri="https://jayson.example/"),
                    author=Person("Jay Son", uri="https://jayson.example/"),
                ),
            ),
        ),
        # -- C: "(Name)", a plain name, a bare address
        SourceFeed(
            "c-rss",
            "rss",
            "C",
            "en",
            title="Plain C",
            site="https://plainc.example/",
            path="/src/c-rss.xml",
            entries=(
                e(
                    "paren-name",
                    "Pointers, again",
                    d(5, 8),
                    link="https://plainc.example/ptr",
                    rss_author="(Nur Name)",
                    author=Person("Nur Name"),
                ),
                e(
                    "plain-name",
                    "Undefined behaviour",
                    d(5, 9),
                    link="https://plainc.example/ub",
                    rss_author="Plain Person",
                    author=Person("Plain Person"),
                ),
                e(
                    "bare-addr",
                    "Bare address",
                    d(5, 10, 30),
                    link="https://plainc.example/bare",
                    rss_author="solo@mail.example",
                    author=Person(ANY_NAME, "solo@mail.example"),
                ),
                e(
                    "rss-bold",
                    "Bold in RSS",
                    d(5, 11),
                    title_in="<b>Bold</b> in RSS",
                    link="https://plainc.example/bold",
                    creator="Carla",
                    author=Person("Carla"),
                ),
            ),
        ),
        SourceFeed(
            "c-atom",
            "atom",
            "C",
            "en",
            title="C Atoms",
            site="https://catoms.example/",
            path="/src/c-atom.xml",
            entries=(
                e(
                    "c-atom-1",
                    "restrict & volatile",
                    d(5, 10, tz=offset(14)),
                    link="https://catoms.example/1",
                    person=Person("Carl C"),
                    author=Person("Carl C"),
                ),
            ),
        ),
        # -- Новости: Russian only
        SourceFeed(
            "ru-rss",
            "rss",
            "Новости",
            "ru",
            title="Русские новости",
            site="https://novosti.example/",
            path="/src/ru-rss.xml",
            entries=(
                e(
                    "ru-1",
                    "Новости дня",
                    d(6, 9, tz=offset(3)),
                    link="https://novosti.example/1",
                    creator="Иван Петров",
                    author=Person("Иван Петров"),
                ),
            ),
        ),
        SourceFeed(
            "ru-atom",
            "atom",
            "Новости",
            "ru",
            title="Лента",
            site="https://lenta.example/",
            path="/src/ru-atom.xml",
            entries=(
                e(
                    "ru-2",
                    "Погода",
                    d(6, 12, tz=offset(3)),
                    link="https://lenta.example/2",
                    person=Person("Мария"),
                    author=Person("Мария"),
                ),
            ),
        ),
        SourceFeed(
            "ru-rdf",
            "rdf",
            "Новости",
            "ru",
            title="RDF Новости",
            site="https://rdfru.example/",
            path="/src/ru.rdf",
            entries=(
                e(
                    "ru-3",
                    "Спорт",
                    d(6, 13),
                    link="https://rdfru.example/3",
                    creator="Олег",
                    author=Person("Олег"),
                ),
            ),
        ),
        # -- 技术: Chinese only
        SourceFeed(
            "zh-atom",
            "atom",
            CHINESE,
            "zh",
            title="技术新闻",
            site="https://jishu.example/",
            path="/src/zh-atom.xml",
            entries=(
                e(
                    "zh-1",
                    "编译器",
                    d(7, 8, tz=offset(8)),
                    link="https://jishu.example/1",
                    person=Person("王伟"),
                    author=Person("王伟"),
                ),
            ),
        ),
        SourceFeed(
            "zh-json",
            "json",
            CHINESE,
            "zh",
            title="技术 JSON",
            site="https://jishujson.example/",
            path="/src/zh.json",
            entries=(
                e(
                    "zh-2",
                    "数据库",
                    d(7, 9, tz=offset(8)),
                    link="https://jishujson.example/2",
                    person=Person("李娜"),
                    author=Person("李娜"),
                ),
            ),
        ),
        # -- Œuvres: French only
        SourceFeed(
            "fr-rss",
            "rss",
            "Œuvres",
            "fr",
            title="Les Œuvres",
            site="https://oeuvres.example/",
            path="/src/fr-rss.xml",
            entries=(
                e(
                    "fr-1",
                    "L'œuvre complète",
                    d(8, 10, tz=offset(1)),
                    link="https://oeuvres.example/1",
                    rss_author="auteur@oeuvres.example (Émile Zola)",
                    author=Person("Émile Zola", "auteur@oeuvres.example"),
                ),
            ),
        ),
        SourceFeed(
            "fr-json",
            "json",
            "Œuvres",
            "fr",
            title="Œuvres JSON",
            site="https://oeuvresjson.example/",
            path="/src/fr.json",
            entries=(
                e(
                    "fr-2",
                    "Théâtre & <scène>",
                    d(8, 11),
                    link="https://oeuvresjson.example/2",
                    person=Person("Molière"),
                    author=Person("Molière"),
                ),
            ),
        ),
        # -- Welt Nachrichten: German, local files (seed and Markdown) and a remote feed
        SourceFeed(
            "Lokale Artikel",
            "seed",
            "Welt Nachrichten",
            "de",
            path="seed",
            entries=(
                e("seed-1", "Gespräche über <io_uring> & Co", d(9, 11, 33, BERLIN)),
                e("seed-2", "Wahl in Berlin", d(9, 14, 5, BERLIN)),
            ),
        ),
        SourceFeed(
            "Markdown Artikel",
            "markdown",
            "Welt Nachrichten",
            "de",
            path="markdown",
            entries=(
                e(
                    "md-1",
                    "Markdown mit Autor",
                    d(10, 9, 15, offset(5.5)),
                    person=Person("Mara Markdown"),
                    author=Person("Mara Markdown"),
                ),
                e("md-2", "Markdown ohne Autor", d(10, 10, tz=offset(-3))),
            ),
        ),
        SourceFeed(
            "welt-atom",
            "atom",
            "Welt Nachrichten",
            "de",
            title="Weltblick",
            site="https://weltblick.example/",
            path="/src/welt.xml",
            entries=(
                e(
                    "welt-1",
                    "Gipfel in Genf",
                    d(10, 12, tz=offset(1)),
                    link="https://weltblick.example/1",
                    person=Person("Greta Genf", "greta@weltblick.example"),
                    author=Person("Greta Genf", "greta@weltblick.example"),
                ),
            ),
        ),
        # -- Mixed Languages: one category fed in German, English, French, Russian
        SourceFeed(
            "mixed-de",
            "rss",
            MIXED,
            "de",
            title="Deutsch gemischt",
            site="https://de.mixed.example/",
            path="/src/mixed-de.xml",
            entries=(
                e(
                    "mixed-de-1",
                    "Ein deutscher Beitrag",
                    d(11, 8, tz=offset(1)),
                    link="https://de.mixed.example/1",
                    creator="Dora",
                    author=Person("Dora"),
                ),
            ),
        ),
        SourceFeed(
            "mixed-en",
            "atom",
            MIXED,
            "en",
            title="English mixed",
            site="https://en.mixed.example/",
            path="/src/mixed-en.xml",
            entries=(
                e(
                    "mixed-en-1",
                    "An English post",
                    d(11, 9),
                    link="https://en.mixed.example/1",
                    person=Person("Eve"),
                    author=Person("Eve"),
                ),
            ),
        ),
        SourceFeed(
            "mixed-fr",
            "json",
            MIXED,
            "fr",
            title="Français mélangé",
            site="https://fr.mixed.example/",
            path="/src/mixed-fr.json",
            entries=(
                e(
                    "mixed-fr-1",
                    "Un billet français",
                    d(11, 10),
                    link="https://fr.mixed.example/1",
                    person=Person("Fanny"),
                    author=Person("Fanny"),
                    language="fr",
                ),
            ),
        ),
        SourceFeed(
            "mixed-ru",
            "rdf",
            MIXED,
            "ru",
            title="Русский микс",
            site="https://ru.mixed.example/",
            path="/src/mixed-ru.rdf",
            entries=(
                e(
                    "mixed-ru-1",
                    "Русская заметка",
                    d(11, 11),
                    link="https://ru.mixed.example/1",
                    creator="Рита",
                    author=Person("Рита"),
                ),
            ),
        ),
        # -- Podcasts: enclosures with length and type, iTunes tags, itunes:author
        SourceFeed(
            "podcast-rss",
            "rss",
            PODCASTS,
            "en",
            title="The Test Cast",
            site="https://cast.example/",
            path="/src/podcast.xml",
            entries=(
                e(
                    "episode-7",
                    "Episode 7: Queues",
                    d(12, 6, tz=offset(-5)),
                    link="https://cast.example/7",
                    itunes_author="Pod Caster",
                    author=Person("Pod Caster"),
                    enclosure=("https://cdn.cast.example/ep7.mp3", "audio/mpeg", 48_123_456),
                    podcast=Episode("01:02:03", "https://cdn.cast.example/ep7.jpg", True, 7),
                ),
                e(
                    "episode-8",
                    "Episode 8: Stacks",
                    d(13, 6, tz=offset(-5)),
                    link="https://cast.example/8",
                    itunes_author="Pod Caster",
                    author=Person("Pod Caster"),
                    enclosure=("https://cdn.cast.example/ep8.m4a", "audio/x-m4a", 3_333),
                    podcast=Episode("1800", "https://cdn.cast.example/ep8.png", False, 8),
                ),
            ),
        ),
        SourceFeed(
            "podcast-atom",
            "atom",
            PODCASTS,
            "en",
            title="Atom Cast",
            site="https://atomcast.example/",
            path="/src/podcast-atom.xml",
            entries=(
                e(
                    "atom-episode",
                    "Atom episode",
                    d(12, 7),
                    link="https://atomcast.example/1",
                    person=Person("Anna Audio"),
                    author=Person("Anna Audio"),
                    enclosure=("https://cdn.atomcast.example/1.ogg", "audio/ogg", 777_000),
                ),
            ),
        ),
        SourceFeed(
            "podcast-json",
            "json",
            PODCASTS,
            "en",
            title="JSON Cast",
            site="https://jsoncast.example/",
            path="/src/podcast.json",
            entries=(
                e(
                    "json-episode",
                    "JSON episode",
                    d(12, 8),
                    link="https://jsoncast.example/1",
                    person=Person("Jo Cast"),
                    author=Person("Jo Cast"),
                    enclosure=("https://cdn.jsoncast.example/1.mp3", "audio/mpeg", 123_456),
                ),
            ),
        ),
        # -- Shared Stories: one article carried by two sources (same link)
        SourceFeed(
            "shared-a",
            "rss",
            SHARED,
            "en",
            title="Wire A",
            site="https://wire-a.example/",
            path="/src/shared-a.xml",
            entries=(
                e(
                    "shared-a",
                    "One story, two wires",
                    d(14, 8),
                    link=SHARED_LINK,
                    creator="Wendy Wire",
                    author=Person("Wendy Wire"),
                ),
                e(
                    "only-a",
                    "Only on wire A",
                    d(14, 9),
                    link="https://wire-a.example/only",
                    creator="Wendy Wire",
                    author=Person("Wendy Wire"),
                ),
            ),
        ),
        SourceFeed(
            "shared-b",
            "atom",
            SHARED,
            "en",
            title="Wire B",
            site="https://wire-b.example/",
            path="/src/shared-b.xml",
            entries=(
                e(
                    "shared-b",
                    "One story, two wires",
                    d(14, 8),
                    link=SHARED_LINK,
                    person=Person("Wendy Wire"),
                    author=Person("Wendy Wire"),
                ),
            ),
        ),
        # -- Anonymous: no authors at all; the source's title (or configured name) stands in
        SourceFeed(
            "anon-rss",
            "rss",
            ANON,
            "en",
            title="Nobody Writes",
            site="https://nobody.example/",
            path="/src/anon.xml",
            entries=(e("anon-1", "Who wrote this?", d(15, 8), link="https://nobody.example/1"),),
        ),
        SourceFeed(
            "Untitled Source",
            "rss",
            ANON,
            "en",
            title="",
            site="https://untitled.example/",
            path="/src/untitled.xml",
            entries=(
                e("anon-2", "A feed without a title", d(15, 9), link="https://untitled.example/1"),
            ),
        ),
        SourceFeed(
            "anon-atom",
            "atom",
            ANON,
            "en",
            title="Faceless Atom",
            site="https://faceless.example/",
            path="/src/anon-atom.xml",
            entries=(e("anon-3", "No name here", d(15, 10), link="https://faceless.example/1"),),
        ),
        SourceFeed(
            "anon-json",
            "json",
            ANON,
            "en",
            title="Silent JSON",
            site="https://silent.example/",
            path="/src/anon.json",
            entries=(e("anon-4", "Silent item", d(15, 11), link="https://silent.example/1"),),
        ),
        SourceFeed(
            "anon-rdf",
            "rdf",
            ANON,
            "en",
            title="Quiet RDF",
            site="https://quiet.example/",
            path="/src/anon.rdf",
            entries=(e("anon-5", "Quiet item", d(15, 12), link="https://quiet.example/1"),),
        ),
    ]
