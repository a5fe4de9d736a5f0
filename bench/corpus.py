"""A deterministic corpus of synthetic feeds for the benchmark: RSS 2.0, Atom 1.0, RSS 1.0.

Everything is derived from one seed: the same seed and feed count give the same bytes.
Content is HTML as news sites write it (paragraphs, relative and absolute links, images,
lists, tables, entities, umlauts) plus junk a sanitiser must strip (`<script>`, `onclick`,
`javascript:` links, iframes). Bodies are built by joining pre-escaped blocks, which keeps
generation fast (about 100 MB in a few seconds).
"""

from __future__ import annotations

import math
import os
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

FORMATS = ("rss2", "atom", "rdf")
CATEGORIES = (
    "Politik",
    "Wirtschaft",
    "Technik",
    "Wissenschaft",
    "Kultur",
    "Sport",
    "Gesundheit",
    "Reisen",
    "Auto & Verkehr",
    "Bildung",
    "Umwelt",
    "Digitales",
    "Medien",
    "Lokales",
    "Meinung",
    "Finanzen",
    "Karriere",
    "Essen & Trinken",
    "Größere Städte",
    "Welt",
)
BASE_TIME = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)  # newest base entry; in the past
# Target body sizes; bodies come out a few per cent above target, so about 5-200 KB.
MIN_BYTES, MAX_BYTES = 5_000, 185_000
CHANGED_SHARE = 0.10

_ZONES = (
    UTC,
    timezone(timedelta(hours=1)),
    timezone(timedelta(hours=2)),
    timezone(timedelta(hours=-5)),
    timezone(timedelta(hours=5, minutes=30)),
)
_VOCABULARY = (
    "die der das und über für Größe Straße Bürgermeister Ärzte Öffentlichkeit Müller "
    "Zürich Köln München Gemeinderat Haushalt Entwurf Bericht Studie Forscher Tagung "
    "café naïve résumé Ökologie Übergang Fähre Brücke Bahnhof Verkehr Wärmepumpe "
    "the council budget report study researchers meeting market energy network "
    "software release update security patch vulnerability server cloud data privacy "
    "hat wurde werden soll könnte zeigt erklärt sagte meldet plant prüft fordert "
    "am im mit nach vor bei aus von zum zur einen einer neuen großen kleinen ersten"
)
_WORDS = _VOCABULARY.split()
_ENTITIES = (
    "&amp;",
    "&eacute;",
    "&nbsp;",
    "&#8220;",
    "&#8221;",
    "&euro;",
    "&hellip;",
    "&ndash;",
    "&auml;",
    "&#x1F600;",
    "&lt;3",
    "&quot;",
)


def xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def attr_escape(text: str) -> str:
    return xml_escape(text).replace('"', "&quot;")


@dataclass(frozen=True, slots=True)
class FeedSpec:
    number: int  # 1..N
    name: str  # feed-0001
    filename: str  # 0001.xml
    fmt: str  # one of FORMATS
    category: str
    entries: int
    target_bytes: int


@dataclass(frozen=True, slots=True)
class Entry:
    serial: str  # unique within the feed
    guid: str
    title: str
    link: str
    published: datetime
    author: str
    tag: str
    summary: str  # plain text
    content: str  # HTML, not yet escaped for XML


class Corpus:
    """The feed specs for `count` feeds and the functions that write their files."""

    def __init__(self, count: int, seed: int) -> None:
        self.count = count
        self.seed = seed
        width = max(4, len(str(count)))
        rng = random.Random(f"{seed}:specs")
        self.blocks = _make_blocks(random.Random(f"{seed}:blocks"), 1500)
        # What a block adds to a body: UTF-8 bytes after XML escaping.
        self.costs = [len(xml_escape(b).encode("utf-8")) for b in self.blocks]
        self.specs: list[FeedSpec] = []
        mu, sigma = math.log(36_000), 0.75  # lognormal: median 36 KB, mean ~48 KB after clipping
        for number in range(1, count + 1):
            target = int(min(MAX_BYTES, max(MIN_BYTES, rng.lognormvariate(mu, sigma))))
            entries = max(1, min(rng.randint(3, 40), target // 1500))
            self.specs.append(
                FeedSpec(
                    number=number,
                    name=f"feed-{number:0{width}d}",
                    filename=f"{number:0{width}d}.xml",
                    fmt=FORMATS[rng.randrange(len(FORMATS))],
                    category=CATEGORIES[rng.randrange(len(CATEGORIES))],
                    entries=entries,
                    target_bytes=target,
                )
            )

    @property
    def total_entries(self) -> int:
        return sum(s.entries for s in self.specs)

    def changed_plan(self) -> dict[int, int]:
        """Which feeds change in the changed phase (number -> entries prepended)."""
        rng = random.Random(f"{self.seed}:changed")
        picked = rng.sample(range(1, self.count + 1), max(1, round(self.count * CHANGED_SHARE)))
        return {number: rng.randint(1, 3) for number in sorted(picked)}

    def write_all(self, directory: Path) -> int:
        """Write every feed into `directory`; returns the total bytes written."""
        directory.mkdir(parents=True, exist_ok=True)
        return sum(self.write(spec, directory) for spec in self.specs)

    def write(self, spec: FeedSpec, directory: Path, prepend: int = 0) -> int:
        """Write one feed atomically, with `prepend` new entries before its usual ones.

        The file's mtime is its newest entry's date, so Last-Modified is deterministic.
        """
        entries = self.entries(spec, prepend)
        body = render(spec, entries)
        path = directory / spec.filename
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(body)
        stamp = entries[0].published.timestamp() + 60
        os.utime(tmp, (stamp, stamp))
        os.replace(tmp, path)
        return len(body)

    def entries(self, spec: FeedSpec, prepend: int = 0) -> list[Entry]:
        """The feed's entries, newest first; `prepend` newer ones come from their own stream."""
        rng = random.Random(f"{self.seed}:feed:{spec.number}")
        site = f"https://www.site-{spec.number}.example"
        budget = max(300, spec.target_bytes // spec.entries - 600)  # ~600 B of metadata
        when = BASE_TIME - timedelta(minutes=rng.randint(0, 3 * 24 * 60))
        entries: list[Entry] = []
        for index in range(spec.entries):
            entries.append(self._entry(rng, spec, site, index, when, budget))
            when -= timedelta(minutes=rng.randint(5, 12 * 60))
        new_rng = random.Random(f"{self.seed}:new:{spec.number}")
        fresh = [
            self._entry(
                new_rng,
                spec,
                site,
                spec.entries + k,
                entries[0].published + timedelta(hours=k + 1),
                budget,
            )
            for k in range(prepend)
        ]
        return [*reversed(fresh), *entries]

    def _entry(
        self,
        rng: random.Random,
        spec: FeedSpec,
        site: str,
        index: int,
        when: datetime,
        budget: int,
    ) -> Entry:
        title = _sentence(rng, 4, 10).rstrip(".")
        if rng.random() < 0.2:
            title += " – Müller & Söhne <Update>"
        slug = f"{when:%Y/%m}/artikel-{spec.number}-{index}"
        lead = (
            f'<p class="lead">{xml_escape(title)} &ndash; <a href="/{slug}.html">weiterlesen'
            f'</a> &middot; <a href="{site}/{slug}.html#kommentare">Kommentare</a></p>\n'
        )
        parts = [lead]
        size = len(xml_escape(lead).encode("utf-8"))
        misses = 0
        while size < budget and misses < 8:
            pick = rng.randrange(len(self.blocks))
            if size + self.costs[pick] > budget * 1.1:  # too big: try a smaller one
                misses += 1
                continue
            parts.append(self.blocks[pick])
            size += self.costs[pick]
        return Entry(
            serial=f"{spec.number}-{index}",
            guid=f"{site}/?p={spec.number}-{index}",
            title=title,
            link=f"{site}/{slug}.html",
            published=when.astimezone(_ZONES[spec.number % len(_ZONES)]),
            author=f"{rng.choice(('Anna', 'Jörg', 'Zoë', 'Li', 'Renée'))} "
            f"{rng.choice(('Müller', 'Schäfer', 'Smith', 'Østergaard', 'Nguyễn'))}",
            tag=rng.choice(CATEGORIES),
            summary=_sentence(rng, 20, 45),
            content="".join(parts),
        )


# --- rendering ------------------------------------------------------------------------------


def rfc822(when: datetime) -> str:
    return format_datetime(when, usegmt=when.utcoffset() == timedelta(0))


def rfc3339(when: datetime) -> str:
    return when.isoformat(timespec="seconds").replace("+00:00", "Z")


def render(spec: FeedSpec, entries: list[Entry]) -> bytes:
    site = f"https://www.site-{spec.number}.example"
    title = xml_escape(f"Nachrichten {spec.number}: {spec.category}")
    if spec.fmt == "rss2":
        text = _rss2(spec, site, title, entries)
    elif spec.fmt == "atom":
        text = _atom(spec, site, title, entries)
    else:
        text = _rdf(site, title, entries)
    return text.encode("utf-8")


def _rss2(spec: FeedSpec, site: str, title: str, entries: list[Entry]) -> str:
    cdata = spec.number % 4 == 0  # some feeds put their HTML in CDATA sections
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/">\n<channel>\n'
        f"<title>{title}</title>\n<link>{site}/</link>\n"
        f"<description>Alles über {xml_escape(spec.category)}</description>\n"
        f"<language>de-DE</language>\n<lastBuildDate>{rfc822(entries[0].published)}"
        "</lastBuildDate>\n"
    ]
    for e in entries:
        content = (
            f"<![CDATA[{e.content}]]>" if cdata else xml_escape(e.content)
        )  # blocks never hold "]]>"
        out.append(
            f"<item>\n<title>{xml_escape(e.title)}</title>\n<link>{xml_escape(e.link)}</link>\n"
            f'<guid isPermaLink="false">{xml_escape(e.guid)}</guid>\n'
            f"<pubDate>{rfc822(e.published)}</pubDate>\n"
            f"<dc:creator>{xml_escape(e.author)}</dc:creator>\n"
            f"<category>{xml_escape(e.tag)}</category>\n"
            f"<description>{xml_escape(e.summary)}</description>\n"
            f"<content:encoded>{content}</content:encoded>\n</item>\n"
        )
    out.append("</channel>\n</rss>\n")
    return "".join(out)


def _atom(spec: FeedSpec, site: str, title: str, entries: list[Entry]) -> str:
    out = [
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="de">\n'
        f"<id>tag:site-{spec.number}.example,2025:feed</id>\n<title>{title}</title>\n"
        f"<updated>{rfc3339(entries[0].published)}</updated>\n"
        f'<link rel="alternate" type="text/html" href="{site}/"/>\n'
        "<author><name>Redaktion</name></author>\n"
    ]
    for i, e in enumerate(entries):
        base = f' xml:base="{site}/ressort/"' if i % 3 == 0 else ""  # relative links resolve here
        out.append(
            f"<entry{base}>\n<id>tag:site-{spec.number}.example,2025:artikel-{e.serial}</id>\n"
            f'<title type="text">{xml_escape(e.title)}</title>\n'
            f'<link rel="alternate" type="text/html" href="{attr_escape(e.link)}"/>\n'
            f"<published>{rfc3339(e.published)}</published>\n"
            f"<updated>{rfc3339(e.published)}</updated>\n"
            f"<author><name>{xml_escape(e.author)}</name></author>\n"
            f'<category term="{attr_escape(e.tag)}"/>\n'
            f'<summary type="text">{xml_escape(e.summary)}</summary>\n'
            f'<content type="html">{xml_escape(e.content)}</content>\n</entry>\n'
        )
    out.append("</feed>\n")
    return "".join(out)


def _rdf(site: str, title: str, entries: list[Entry]) -> str:
    items = "".join(f'<rdf:li rdf:resource="{attr_escape(e.link)}"/>\n' for e in entries)
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>\n<rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
        'xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/">\n'
        f'<channel rdf:about="{site}/news.rdf">\n<title>{title}</title>\n<link>{site}/</link>\n'
        f"<description>{title}</description>\n<dc:language>de</dc:language>\n"
        f"<dc:date>{rfc3339(entries[0].published)}</dc:date>\n"
        f"<items>\n<rdf:Seq>\n{items}</rdf:Seq>\n</items>\n</channel>\n"
    ]
    for e in entries:
        out.append(
            f'<item rdf:about="{attr_escape(e.link)}">\n<title>{xml_escape(e.title)}</title>\n'
            f"<link>{xml_escape(e.link)}</link>\n"
            f"<description>{xml_escape(e.summary)}</description>\n"
            f"<content:encoded>{xml_escape(e.content)}</content:encoded>\n"
            f"<dc:date>{rfc3339(e.published)}</dc:date>\n"
            f"<dc:creator>{xml_escape(e.author)}</dc:creator>\n"
            f"<dc:subject>{xml_escape(e.tag)}</dc:subject>\n</item>\n"
        )
    out.append("</rdf:RDF>\n")
    return "".join(out)


# --- HTML blocks ----------------------------------------------------------------------------


def _sentence(rng: random.Random, low: int, high: int) -> str:
    words = [rng.choice(_WORDS) for _ in range(rng.randint(low, high))]
    return " ".join(words).capitalize() + "."


def _inline(rng: random.Random) -> str:
    """A sentence with inline markup: links (relative and absolute), emphasis, entities."""
    words = [rng.choice(_WORDS) for _ in range(rng.randint(8, 22))]
    for i in range(len(words)):
        roll = rng.random()
        if roll < 0.015:
            words[i] = (
                f'<a href="/thema/{words[i].lower()}-{rng.randint(1, 999)}.html">{words[i]}</a>'
            )
        elif roll < 0.025:
            words[i] = (
                f'<a href="https://www.example.org/p?id={rng.randint(1, 9999)}&amp;ref=feed" '
                f'title="Mehr über {words[i]}">{words[i]}</a>'
            )
        elif roll < 0.035:
            words[i] = f"<strong>{words[i]}</strong>"
        elif roll < 0.045:
            words[i] = f"<em>{words[i]}</em>"
        elif roll < 0.06:
            words[i] = f"{words[i]}{rng.choice(_ENTITIES)}"
    return " ".join(words).capitalize() + "."


def _make_blocks(rng: random.Random, count: int) -> list[str]:
    """Block-level HTML fragments, about 300-2000 characters each."""
    blocks: list[str] = []
    for _ in range(count):
        roll = rng.random()
        if roll < 0.65:
            text = " ".join(_inline(rng) for _ in range(rng.randint(2, 8)))
            blocks.append(f"<p>{text}</p>\n")
        elif roll < 0.72:
            n = rng.randint(1, 40)
            src = rng.choice(
                (
                    f"../bilder/foto-{n}.jpg",
                    f"/media/{n}/gross.webp",
                    f"https://cdn.site.example/img/{n}.png",
                )
            )
            blocks.append(
                f'<figure><img src="{src}" alt="Bild: Über {rng.choice(_WORDS)}" '
                f'width="{rng.choice((640, 800, 1200))}" height="{rng.choice((360, 450, 675))}">'
                f"<figcaption>{_sentence(rng, 5, 12)} Foto: dpa</figcaption></figure>\n"
            )
        elif roll < 0.78:
            tag = rng.choice(("ul", "ol"))
            items = "".join(f"<li>{_inline(rng)}</li>" for _ in range(rng.randint(3, 7)))
            blocks.append(f"<{tag}>{items}</{tag}>\n")
        elif roll < 0.82:
            blocks.append(
                f"<h2>{_sentence(rng, 3, 7)}</h2>\n<blockquote><p>{_inline(rng)}</p></blockquote>\n"
            )
        elif roll < 0.85:
            rows = "".join(
                f"<tr><td>{rng.choice(_WORDS)}</td><td>{rng.randint(1, 10**6):,}</td>"
                f"<td>{rng.uniform(-9, 9):.1f}&nbsp;%</td></tr>"
                for _ in range(rng.randint(3, 8))
            )
            blocks.append(f"<table><tr><th>Ort</th><th>Wert</th><th>Δ</th></tr>{rows}</table>\n")
        elif roll < 0.87:
            blocks.append(
                "<pre><code>if (a &lt; b &amp;&amp; c &gt; d) {\n  "
                f"return &quot;{rng.choice(_WORDS)}&quot;;\n}}</code></pre>\n"
            )
        else:  # junk a sanitiser must strip
            blocks.append(
                rng.choice(
                    (
                        f"<script>var t={rng.randint(1, 99)};document.write('<img src=x>');"
                        "if(t<3&&t>1){track(t)}</script>\n",
                        f'<p onclick="track({rng.randint(1, 99)})" style="color:red">'
                        f"{_inline(rng)}</p>\n",
                        f'<p><a href="javascript:alert({rng.randint(1, 9)})">Gewinnspiel</a> '
                        f"{_inline(rng)}</p>\n",
                        '<iframe src="https://ads.example.net/frame?slot=3" width="300" '
                        'height="250"></iframe>\n',
                        f'<div class="ad" onmouseover="x()"><img src="/px.gif" '
                        f'onerror="steal()">{_inline(rng)}</div>\n',
                    )
                )
            )
    return blocks
