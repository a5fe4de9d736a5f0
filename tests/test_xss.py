"""XSS: every vector of `xss_vectors` through every source kind, every output file scanned.

One `feeds update` run (a subprocess on a temp config) reads:

* four remote feeds from the `feed_server` fixture, one per kind, each vector its own entry:
  RSS 2.0 with the vector as ``content:encoded`` (``rss-content``) and as ``description``
  (``rss-description``), Atom 1.0 ``content type="html"`` (``atom``), JSON Feed
  ``content_html`` (``json``); plus text-field entries (vectors in titles, authors, tags,
  summaries, enclosure types) and URL-field entries (entry links, enclosure URLs);
* two local article folders: the seed ``.txt`` format (vectors as paragraph text, ``seed``)
  and Markdown with front matter (vectors in the body, ``markdown``), with text vectors in
  titles, categories, authors, tags, summaries, languages, links and file names;
* two hostile-base feeds (``xml:base`` and channel links that are ``javascript:``) and a
  remote source that fails with a body full of markup (its error reaches the front page).

Then every file in the output folder is scanned: feeds are parsed as XML or JSON and each
entry's HTML (the decoded value of Atom ``content``, RSS ``content:encoded`` and
``description``, JSON ``content_html``) and every HTML page is parsed with lxml.html *and*
scanned as text. Every finding is attributed to the entry it came from (titles ``XSS <kind>
<name>``, or a ``xssmarker`` paragraph in the content), so each vector × kind is its own test.
"""

from __future__ import annotations

import gzip
import html
import json
import posixpath
import re
import subprocess
import sys
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import brotli
import pytest
import support.xss_vectors as xv
from lxml import etree
from lxml import html as lxml_html
from support.conformance import XML_ILLEGAL
from support.feedfactory import FeedItem, atom10, jsonfeed, rss20
from support.feeds_cli import FEEDS_ENV
from support.feedserver import FeedServer, serve
from support.namespaces import ATOM, XML_LANG

from feeds.slugs import slug_of
from feeds.store import ArticleStore

pytestmark = pytest.mark.slow

BASE_URL = "https://news.example.org/"
REMOTE_KINDS = ("rss-content", "rss-description", "atom", "json")
LOCAL_KINDS = ("seed", "markdown")
HOSTILE_KINDS = ("hostile-atom", "hostile-rss")
KINDS = REMOTE_KINDS + LOCAL_KINDS
CATEGORY = {
    "rss-content": "XSS RSS content",
    "rss-description": "XSS RSS description",
    "atom": "XSS Atom",
    "json": "XSS JSON",
    "seed": "XSS Seed",
    "markdown": "XSS Markdown",
    "hostile-atom": "XSS Hostile base",
    "hostile-rss": "XSS Hostile base",
}
SOURCE = {kind: f"xss-{kind}" for kind in (*KINDS, *HOSTILE_KINDS)}
BROKEN_SOURCE = "xss-broken-remote"
TEXT_FIELDS = {
    "rss-content": ("title", "author", "tag", "summary", "enclosure-type"),
    "rss-description": ("title", "author", "tag", "enclosure-type"),
    "atom": ("title", "author", "tag", "summary", "enclosure-type"),
    "json": ("title", "author", "tag", "summary", "enclosure-type"),
    "seed": ("title", "category"),
    "markdown": ("title", "author", "tag", "category", "summary", "language"),
}
URL_FIELDS = {kind: ("link", "enclosure-url") for kind in REMOTE_KINDS} | {"markdown": ("link",)}
# Relative URLs under a base that is itself hostile: they must resolve to http(s) or go.
HOSTILE_BASE_VECTORS = [
    ("relative-links", '<p><a href="x/y">rel</a> <img src="i.png" alt="i"></p>'),
    ("protocol-relative", '<a href="//evil.example/x">x</a>'),
    ("dot-segments", '<a href="../../javascript:alert(1)">x</a>'),
]
BROKEN_BODY = (
    b"<html><head><title><script>alert(1)</script></title></head>"
    b"<body><img src=x onerror=alert(1)><svg onload=alert(1)></body></html>"
)


def html_vectors(kind: str) -> list[tuple[str, str]]:
    """The (name, html) body vectors a kind carries; the control first."""
    vectors = [xv.CONTROL, *xv.HTML_VECTORS]
    if kind in ("json", "seed", "markdown"):
        vectors += xv.CONTROL_CHAR_VECTORS
    if kind == "markdown":
        vectors += [xv.MARKDOWN_CONTROL, *xv.MARKDOWN_VECTORS]
    if kind in REMOTE_KINDS and kind != "json":
        vectors = [(name, vector) for name, vector in vectors if xv.xml_safe(vector)]
    return vectors


# --------------------------------------------------------------------------- the checks


def words(text: str) -> frozenset[str]:
    return frozenset(text.split())


FORBIDDEN_TAGS = words(
    "script iframe object embed form input button style link meta base svg math frame "
    "frameset applet template noscript textarea select option keygen isindex marquee xmp "
    "plaintext noembed noframes image video audio source picture animate set use "
    "foreignobject param portal title head body html"
)
# Elements harmless in republished content (the set a sanitiser may keep).
SAFE_CONTENT_TAGS = words(
    "a abbr acronym area article aside b bdi bdo blockquote br caption center cite code col "
    "colgroup data dd del details dfn div dl dt em figcaption figure footer h1 h2 h3 h4 h5 "
    "h6 header hgroup hr i img ins kbd li map mark nav ol p pre q rp rt rtc ruby s samp "
    "small span strike strong sub summary sup table tbody td tfoot th thead time tr tt u "
    "ul var wbr"
)
# What our page templates themselves put into <body>, outside an article's content.
TEMPLATE_BODY_TAGS = words("h1 h2 h3 p a article section time table thead tbody tr th td footer")
SEED_TAGS = frozenset({"p"})
MARKDOWN_TEXT_TAGS = words("p em strong code pre br h1 h2 h3 h4 h5 h6 ul ol li blockquote hr")
FORBIDDEN_ATTRIBUTES = frozenset({"style", "srcdoc", "formaction"})
URL_ATTRIBUTES = words(
    "href src action background poster srcset imagesrcset cite data formaction longdesc "
    "lowsrc dynsrc ping codebase archive classid manifest icon profile"
)
ALLOWED_SCHEMES = frozenset({"http", "https", "mailto"})
# Whitespace, controls and invisible characters a browser (or a careless reader) may skip.
_INVISIBLE = re.compile(
    "[\x00-\x20\x7f-\x9f\u00a0\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e"
    "\u2000-\u200f\u2028-\u202f\u205f-\u206f\u3000\ufeff\ufff0-\ufff8]"
)
_SCHEME = re.compile(r"([a-z][a-z0-9+.\-]*):")
_OWN_RELATIVE = re.compile(
    r"(?:\.\./)*(?:[a-z0-9][a-z0-9-]*/)*[a-z0-9][a-z0-9.-]*\.(?:html|xml|json|opml)"
)
_TAG = re.compile(r"<([A-Za-z][^\s/>]*)((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>")
_ATTRIBUTE = re.compile(r"""([^\s"'>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?""")
_FORBIDDEN_OPEN = re.compile(
    r"<\s*(?:" + "|".join(sorted(FORBIDDEN_TAGS, key=len, reverse=True)) + r")(?=[\s/>]|$)",
    re.IGNORECASE,
)
_LANGUAGE = re.compile(r"^[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*$")


def fold(text: str) -> str:
    return " ".join(text.split())


def url_problem(value: str) -> str | None:
    """Why a URL attribute value is unsafe, or None: it must carry http, https or mailto,
    or be a relative link of our pages to one of our own files (content from feeds is
    resolved to absolute URLs, so a relative one can only be ours)."""
    if _OWN_RELATIVE.fullmatch(value):
        return None
    cleaned = _INVISIBLE.sub("", html.unescape(value)).lower()
    match = _SCHEME.match(cleaned)
    if match is None:
        return f"URL without an allowed scheme: {value[:80]!r}"
    if match.group(1) not in ALLOWED_SCHEMES:
        return f"URL with scheme {match.group(1)!r}: {value[:80]!r}"
    return None


def attribute_problems(name: str, value: str) -> list[str]:
    lowered = name.lower().strip()
    local = lowered.rsplit(":", 1)[-1]
    problems = []
    if local.startswith("on"):
        problems.append(f"event handler attribute {name}={value[:60]!r}")
    if local in FORBIDDEN_ATTRIBUTES:
        problems.append(f"forbidden attribute {name}={value[:60]!r}")
    if local in URL_ATTRIBUTES:
        if local in ("srcset", "imagesrcset"):
            candidates = [part.split()[0] for part in value.split(",") if part.strip()]
        else:
            candidates = [value]
        problems += [f"{name}: {p}" for c in candidates if (p := url_problem(c))]
    return problems


def textual_problems(markup: str) -> list[str]:
    """A strict scan of the markup as text, independent of any parser's tree."""
    problems = [
        f"text scan: {m.group(0)!r} at {m.start()}" for m in _FORBIDDEN_OPEN.finditer(markup)
    ]
    for tag in _TAG.finditer(markup):
        for attribute in _ATTRIBUTE.finditer(tag.group(2)):
            value = next((v for v in attribute.group(2, 3, 4) if v is not None), "")
            problems += [
                f"text scan: <{tag.group(1)}> {p}"
                for p in attribute_problems(attribute.group(1), html.unescape(value))
            ]
    if "<!" in markup or "<?" in markup:
        at = min(i for i in (markup.find("<!"), markup.find("<?")) if i >= 0)
        problems.append(f"text scan: comment, CDATA or PI markup: {markup[at : at + 60]!r}")
    return problems


HEAD_TAGS = frozenset({"html", "head", "meta", "title", "link", "style"})


def head_textual_problems(markup: str) -> list[str]:
    """The text before <body>: only our own head elements, with safe attributes."""
    markup = re.sub(r"<style>[^<]*</style>", "<style></style>", markup)
    problems = []
    for tag in _TAG.finditer(markup):
        name = tag.group(1).lower()
        if name not in HEAD_TAGS:
            problems.append(f"text scan: <{name}> before the body")
        for attribute in _ATTRIBUTE.finditer(tag.group(2)):
            value = next((v for v in attribute.group(2, 3, 4) if v is not None), "")
            problems += [
                f"text scan: <{name}> {p}"
                for p in attribute_problems(attribute.group(1), html.unescape(value))
            ]
    if "<!--" in markup or "<?" in markup:
        problems.append("text scan: comment or PI before the body")
    return problems


def element_problems(element: Any, allowed: frozenset[str]) -> list[str]:
    if not isinstance(element.tag, str):  # a comment or processing instruction
        return [f"comment or PI survived: {etree.tostring(element)[:80]!r}"]
    tag = element.tag.lower()
    problems = []
    if tag in FORBIDDEN_TAGS:
        problems.append(f"forbidden element <{tag}>")
    elif tag not in allowed:
        problems.append(f"unexpected element <{tag}>")
    for name, value in element.attrib.items():
        problems += [f"<{tag}> {p}" for p in attribute_problems(name, value)]
    return problems


def parse_fragment(markup: str) -> Any:
    """An HTML fragment as lxml parses it, inside a <div> of ours."""
    return lxml_html.fragment_fromstring(markup, create_parent="div")


_fragment_cache: dict[tuple[str, frozenset[str]], tuple[str, ...]] = {}


def fragment_problems(markup: str, allowed: frozenset[str] = SAFE_CONTENT_TAGS) -> list[str]:
    """Problems of one HTML fragment from a feed (the decoded content value)."""
    key = (markup, allowed)
    if key not in _fragment_cache:
        problems = textual_problems(markup)
        if markup.strip():
            try:
                root = parse_fragment(markup)
            except (etree.ParserError, ValueError) as exc:
                problems.append(f"lxml.html cannot parse the fragment: {exc}")
            else:
                for element in root.iterdescendants():
                    problems += element_problems(element, allowed)
        _fragment_cache[key] = tuple(problems)
    return list(_fragment_cache[key])


def fragment_text(markup: str) -> str:
    try:
        return str(parse_fragment(markup).text_content()) if markup.strip() else ""
    except (etree.ParserError, ValueError):
        return ""


def fragment_tags(markup: str) -> set[str]:
    try:
        root = parse_fragment(markup) if markup.strip() else None
    except (etree.ParserError, ValueError):
        return {"(unparseable)"}
    if root is None:
        return set()
    return {str(e.tag).lower() for e in root.iterdescendants() if isinstance(e.tag, str)}


# --------------------------------------------------------------------------- attribution

_TITLE_LABEL = re.compile(r"^XSS ([a-z-]+) ([a-z0-9-]+)(?: ([a-z0-9-]+))?$")
_MARKER = re.compile(r"xssmarker ([a-z-]+) ([a-z0-9-]+) ([a-z0-9-]+)")


def marker(kind: str, field_name: str, name: str) -> str:
    return f"xssmarker {kind} {field_name} {name}"


def label_of(title: str | None, *texts: str) -> str | None:
    """The test case an output entry belongs to: from its title, else its marker text."""
    match = _TITLE_LABEL.match(fold(title or ""))
    if match:
        kind, first, second = match.groups()
        return f"{kind}:html:{first}" if second is None else f"{kind}:{first}:{second}"
    for text in (title or "", *texts):
        found = _MARKER.search(text)
        if found:
            return "{}:{}:{}".format(*found.groups())
    return None


# --------------------------------------------------------------------------- the site


@dataclass
class Site:
    config: Path
    out: Path
    # label -> the category its entry is published in
    categories: dict[str, str] = field(default_factory=dict)
    # category name -> the label whose category vector named it
    category_names: dict[str, str] = field(default_factory=dict)
    # After the run (`read_slugs`): the store's category slugs by name, the output files
    # each label must appear in, and the label whose category vector named each folder.
    slugs: dict[str, str] = field(default_factory=dict)
    expected: dict[str, set[str]] = field(default_factory=dict)
    category_labels: dict[str, str] = field(default_factory=dict)
    # label -> the vector text (for body vectors)
    vectors: dict[str, str] = field(default_factory=dict)


def feed_files(slug: str) -> set[str]:
    return {f"{slug}/{name}" for name in ("atom.xml", "rss.xml", "feed.json", "index.html")}


def expect(site: Site, label: str, category: str) -> None:
    if label in site.categories:
        raise AssertionError(f"duplicate test label {label}")
    site.categories[label] = category


def read_slugs(site: Site) -> None:
    """Place every label in the folders the store gave its category (categories whose
    names read alike get folders of their own: `-2`, ...)."""
    store = ArticleStore.open(f"sqlite:///{site.config.parent / 'var' / 'feeds.db'}")
    try:
        site.slugs = store.category_slugs()
    finally:
        store.close()
    for label, category in site.categories.items():
        site.expected[label] = feed_files(slug_of(site.slugs, category)) | feed_files("all")
    for name, label in site.category_names.items():
        site.category_labels[slug_of(site.slugs, name)] = label


def remote_items(kind: str, site: Site) -> list[FeedItem]:
    when = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
    found: list[FeedItem] = []

    def add(label: str, **fields: Any) -> None:
        number = len(found) + 1
        published = when + timedelta(minutes=number)
        found.append(FeedItem(id=f"urn:xss:{kind}:{number}", published=published, **fields))
        expect(site, label, CATEGORY[kind])

    for name, vector in html_vectors(kind):
        label = f"{kind}:html:{name}"
        site.vectors[label] = vector
        add(
            label,
            title=f"XSS {kind} {name}",
            link=f"https://example.com/xss/{kind}/{name}",
            html=vector,
        )
    for field_name in TEXT_FIELDS[kind]:
        for name, vector in xv.TEXT_VECTORS:
            tag = f"text-{field_name}"
            fields: dict[str, Any] = {
                "title": f"XSS {kind} {tag} {name}",
                "link": f"https://example.com/xss/{kind}/{tag}/{name}",
                "html": f"<p>{marker(kind, tag, name)}</p>",
            }
            if field_name == "title":
                fields["title"] = vector
            elif field_name == "author":
                fields["authors"] = (vector, "Plain Author")
            elif field_name == "tag":
                fields["tags"] = (vector, "plain-tag")
            elif field_name == "summary":
                fields["summary"] = vector
            elif field_name == "enclosure-type":
                fields["enclosures"] = (("https://example.com/e.mp3", vector, 123),)
            add(f"{kind}:{tag}:{name}", **fields)
    for field_name in URL_FIELDS[kind]:
        for name, vector in xv.URL_VECTORS:
            tag = f"url-{field_name}"
            fields = {
                "title": f"XSS {kind} {tag} {name}",
                "link": f"https://example.com/xss/{kind}/{tag}/{name}",
                "html": f"<p>{marker(kind, tag, name)}</p>",
            }
            if field_name == "link":
                # Per kind, so that the sources' entries are not one article carried by
                # several sources (which all/ publishes once) once the vector is resolved.
                fields["link"] = f"{vector}?{kind}"
            else:
                fields["enclosures"] = ((vector, "audio/mpeg", 1),)
            add(f"{kind}:{tag}:{name}", **fields)
    return found


def remote_body(kind: str, items: list[FeedItem]) -> tuple[bytes, str]:
    language = xv.LANGUAGE_VECTOR
    if kind == "rss-content":
        return rss20(items, language=language), "application/rss+xml"
    if kind == "rss-description":
        # The vector as the item's <description>, the place RSS 2.0 itself gives HTML.
        root = etree.fromstring(rss20(items, language=language))
        for element in root.iter("{http://purl.org/rss/1.0/modules/content/}encoded"):
            element.tag = "description"
        body = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
        return body, "application/rss+xml"
    if kind == "atom":
        return atom10(items, language=language), "application/atom+xml"
    return jsonfeed(items, language=language), "application/feed+json"


def hostile_body(kind: str, site: Site) -> tuple[bytes, str]:
    items = []
    for number, (name, vector) in enumerate(HOSTILE_BASE_VECTORS, start=1):
        label = f"{kind}:html:{name}"
        site.vectors[label] = vector
        expect(site, label, CATEGORY[kind])
        items.append(
            FeedItem(
                id=f"urn:xss:{kind}:{number}",
                title=f"XSS {kind} {name}",
                link=f"https://example.com/xss/{kind}/{name}",
                html=vector,
                published=datetime(2025, 3, 2, 8, number, tzinfo=UTC),
            )
        )
    if kind == "hostile-atom":
        body = atom10(items, link="javascript:alert(1)", xml_base="javascript:alert(1)//")
        return body, "application/atom+xml"
    return rss20(items, link="javascript:alert(1)"), "application/rss+xml"


def yaml_text(value: str) -> str:
    # A JSON string is a YAML double-quoted scalar.
    return json.dumps(value, ensure_ascii=True)


def seed_file(title: str, category: str, paragraphs: list[str]) -> str:
    header = f"Veröffentlichungsdatum: 01.03.2025 09:00 / {category}"
    return "\n\n".join([header, title, title, *paragraphs]) + "\n"


def markdown_file(meta: dict[str, str | list[str]], body: str) -> str:
    lines = ["---"]
    for key, value in meta.items():
        if isinstance(value, list):
            lines.append(f"{key}: [{', '.join(yaml_text(v) for v in value)}]")
        else:
            lines.append(f"{key}: {yaml_text(value)}")
    return "\n".join([*lines, "---", "", body, ""])


def write_seed(folder: Path, site: Site) -> None:
    folder.mkdir()
    category = CATEGORY["seed"]
    for name, vector in html_vectors("seed"):
        label = f"seed:html:{name}"
        site.vectors[label] = vector
        expect(site, label, category)
        text = seed_file(f"XSS seed {name}", category, [vector])
        (folder / f"{name}.txt").write_text(text, encoding="utf-8")
    for name, vector in xv.TEXT_VECTORS:
        body = [marker("seed", "text-title", name)]
        expect(site, f"seed:text-title:{name}", category)
        (folder / f"text-title-{name}.txt").write_text(
            seed_file(vector, category, body), encoding="utf-8"
        )
        label = f"seed:text-category:{name}"
        expect(site, label, vector)
        site.category_names[vector] = label
        body = [marker("seed", "text-category", name)]
        text = seed_file(f"XSS seed text-category {name}", vector, body)
        (folder / f"text-category-{name}.txt").write_text(text, encoding="utf-8")
    for name, vector in xv.FILENAME_VECTORS:
        expect(site, f"seed:text-filename:{name}", category)
        text = seed_file(f"XSS seed text-filename {name}", category, ["A file named by a vector."])
        (folder / f"{vector}.txt").write_text(text, encoding="utf-8")
        # A malformed file: its error message (with its name and first line) is published.
        (folder / f"{vector} broken.txt").write_text(vector + "\n\nTitle\n\nBody\n", "utf-8")


def write_markdown(folder: Path, site: Site) -> None:
    folder.mkdir()
    category = CATEGORY["markdown"]
    base_meta: dict[str, str | list[str]] = {"date": "2025-03-01T09:00", "category": category}
    for name, vector in html_vectors("markdown"):
        label = f"markdown:html:{name}"
        site.vectors[label] = vector
        expect(site, label, category)
        meta = {"title": f"XSS markdown {name}", **base_meta}
        (folder / f"{name}.md").write_text(markdown_file(meta, vector), encoding="utf-8")
    text_fields = {
        "title": "title",
        "author": "authors",
        "tag": "tags",
        "category": "category",
        "summary": "summary",
        "language": "language",
    }
    for field_name, key in text_fields.items():
        for name, vector in [*xv.TEXT_VECTORS, ("language-tag", xv.LANGUAGE_VECTOR)]:
            if field_name != "language" and name == "language-tag":
                continue
            tag = f"text-{field_name}"
            label = f"markdown:{tag}:{name}"
            meta = {"title": f"XSS markdown {tag} {name}", **base_meta}
            value: str | list[str] = [vector, "plain"] if key in ("authors", "tags") else vector
            meta[key] = value
            if field_name == "category":
                site.category_names[vector] = label
            expect(site, label, vector if field_name == "category" else category)
            body = marker("markdown", tag, name)
            (folder / f"{tag}-{name}.md").write_text(markdown_file(meta, body), encoding="utf-8")
    for name, vector in xv.URL_VECTORS:
        label = f"markdown:url-link:{name}"
        expect(site, label, category)
        meta = {"title": f"XSS markdown url-link {name}", **base_meta, "link": vector}
        body = marker("markdown", "url-link", name)
        (folder / f"url-link-{name}.md").write_text(markdown_file(meta, body), encoding="utf-8")
    for name, vector in xv.FILENAME_VECTORS:
        expect(site, f"markdown:text-filename:{name}", category)
        meta = {"title": f"XSS markdown text-filename {name}", **base_meta}
        (folder / f"{vector}.md").write_text(markdown_file(meta, "Named by a vector."), "utf-8")
        (folder / f"{vector} broken.md").write_text(f"{vector}\n\nno front matter\n", "utf-8")


def build_site(root: Path, server: FeedServer) -> Site:
    config = root / "feeds.toml"
    site = Site(config=config, out=root / "out")
    sources = []
    for kind in REMOTE_KINDS:
        body, content_type = remote_body(kind, remote_items(kind, site))
        url = server.add(f"/{kind}", body, content_type=content_type)
        sources.append(
            f'[[sources]]\nname = "{SOURCE[kind]}"\nurl = "{url}"\ncategory = "{CATEGORY[kind]}"\n'
        )
    for kind in HOSTILE_KINDS:
        body, content_type = hostile_body(kind, site)
        url = server.add(f"/{kind}", body, content_type=content_type)
        sources.append(
            f'[[sources]]\nname = "{SOURCE[kind]}"\nurl = "{url}"\ncategory = "{CATEGORY[kind]}"\n'
        )
    url = server.add("/broken", BROKEN_BODY, content_type="text/html")
    sources.append(
        f'[[sources]]\nname = "{BROKEN_SOURCE}"\nurl = "{url}"\ncategory = "XSS Broken"\n'
    )
    write_seed(root / "seed", site)
    write_markdown(root / "markdown", site)
    for kind, folder in (("seed", "seed"), ("markdown", "markdown")):
        sources.append(
            f'[[sources]]\nname = "{SOURCE[kind]}"\npath = "{folder}"\nlanguage = "de"\n'
            'timezone = "Europe/Berlin"\n'
        )
    config.write_text(
        f'[output]\ndir = "out"\nbase_url = "{BASE_URL}"\ntitle = "XSS Site"\n'
        "max_items = 5000\narchive_size = 40\n"
        '[storage]\nurl = "sqlite:///var/feeds.db"\n' + "\n".join(sources),
        encoding="utf-8",
    )
    return site


def run_update(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "feeds", "--config", str(config), "update"],
        cwd=config.parent,
        capture_output=True,
        text=True,
        timeout=120,
        env={**FEEDS_ENV, "HOME": str(config.parent)},
    )


# --------------------------------------------------------------------------- the scan


@dataclass
class Scan:
    site: Site
    stdout: str = ""
    problems: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    seen: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    # label -> (output file, where, html) of each content fragment
    fragments: dict[str, list[tuple[str, str, str]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    # (folder, entry id) -> format -> plain-text fields as that format publishes them
    records: dict[tuple[str, str], dict[str, dict[str, Any]]] = field(
        default_factory=lambda: defaultdict(dict)
    )
    # (page, folder of its feeds or None for any, label, url, title, summary or None)
    page_rows: list[tuple[str, str | None, str, str, str, str | None]] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    fragment_count: int = 0
    # plain-text titles that would make markup if a reader took them for HTML (RSS titles)
    markup_in_text: list[tuple[str, str, str]] = field(default_factory=list)

    def __repr__(self) -> str:  # pytest prints fixtures of failing tests: keep it short
        return f"<Scan of {len(self.files)} files in {self.site.out}>"

    def add(self, label: str, rel: str, problems: list[str]) -> None:
        self.seen[label].add(rel)
        self.problems[label].extend(f"{rel}: {p}" for p in problems)

    def page_label(self, rel: str) -> str:
        folder = rel.split("/", 1)[0]
        return self.site.category_labels.get(folder, f"page:{rel}")

    def content(self, label: str, rel: str, where: str, markup: str) -> None:
        if not markup:
            return
        self.fragment_count += 1
        self.fragments[label].append((rel, where, markup))
        self.add(label, rel, [f"{where}: {p}" for p in fragment_problems(markup)])


def entry_label(rel: str, title: str | None, *htmls: str | None) -> str:
    texts = [fragment_text(h) for h in htmls if h]
    return label_of(title, *texts) or f"unattributed:{rel}:{(title or '')[:40]!r}"


def check_language(scan: Scan, rel: str, value: str | None) -> None:
    if value is not None and not _LANGUAGE.match(value):
        scan.add("language", rel, [f"language {value!r} published"])


def text_element_problems(element: Any, what: str) -> list[str]:
    if element is None:
        return []
    problems = []
    if element.get("type") not in (None, "text"):
        problems.append(f"{what} has type={element.get('type')!r}, not text")
    if len(element):
        problems.append(f"{what} has child elements")
    return problems


def scan_atom(scan: Scan, rel: str, data: bytes) -> None:
    root = etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))
    label = scan.page_label(rel)
    feed_problems = text_element_problems(root.find(f"{ATOM}title"), "feed title")
    feed_problems += text_element_problems(root.find(f"{ATOM}subtitle"), "feed subtitle")
    feed_problems += [
        p for link in root.findall(f"{ATOM}link") if (p := url_problem(link.get("href", "")))
    ]
    scan.add(label, rel, feed_problems)
    check_language(scan, rel, root.get(XML_LANG))
    folder = rel.split("/", 1)[0]
    for entry in root.iter(f"{ATOM}entry"):
        title_element = entry.find(f"{ATOM}title")
        title = title_element.text if title_element is not None else None
        summary_element = entry.find(f"{ATOM}summary")
        content = entry.find(f"{ATOM}content")
        markup = (content.text or "") if content is not None else ""
        label = entry_label(rel, title, markup)
        problems = text_element_problems(title_element, "title")
        problems += text_element_problems(summary_element, "summary")
        if content is not None and (content.get("type") != "html" or len(content)):
            problems.append(f"content type={content.get('type')!r} or child elements")
        for author in entry.findall(f"{ATOM}author"):
            problems += text_element_problems(author.find(f"{ATOM}name"), "author name")
        problems += [
            f"link: {p}"
            for link in entry.findall(f"{ATOM}link")
            if (p := url_problem(link.get("href", "")))
        ]
        scan.add(label, rel, problems)
        scan.content(label, rel, "atom content", markup)
        entry_id = entry.findtext(f"{ATOM}id") or ""
        scan.records[(folder, entry_id)][rel] = {
            "label": label,
            "title": title or "",
            "summary": None if summary_element is None else summary_element.text or "",
            "authors": [a.findtext(f"{ATOM}name") or "" for a in entry.findall(f"{ATOM}author")],
            "tags": {c.get("term") for c in entry.findall(f"{ATOM}category")},
        }


def scan_rss(scan: Scan, rel: str, data: bytes) -> None:
    content_ns = "{http://purl.org/rss/1.0/modules/content/}"
    dc = "{http://purl.org/dc/elements/1.1/}"
    root = etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))
    channel = root.find("channel")
    assert channel is not None
    feed_problems = [
        p for link in channel.iter(f"{ATOM}link") if (p := url_problem(link.get("href", "")))
    ]
    if (p := url_problem(channel.findtext("link") or "")) is not None:
        feed_problems.append(f"channel link: {p}")
    for name in ("title", "description"):
        feed_problems += text_element_problems(channel.find(name), f"channel {name}")
    scan.add(scan.page_label(rel), rel, feed_problems)
    check_language(scan, rel, channel.findtext("language"))
    folder = rel.split("/", 1)[0]
    for item in channel.iter("item"):
        title = item.findtext("title")
        description = item.findtext("description") or ""
        encoded = item.findtext(f"{content_ns}encoded") or ""
        label = entry_label(rel, title, encoded, description)
        problems = text_element_problems(item.find("title"), "title")
        for name in ("link",):
            if (p := url_problem(item.findtext(name) or "")) is not None:
                problems.append(f"item {name}: {p}")
        for enclosure in item.findall("enclosure"):
            if (p := url_problem(enclosure.get("url", ""))) is not None:
                problems.append(f"enclosure: {p}")
        for creator in item.findall(f"{dc}creator"):
            problems += text_element_problems(creator, "dc:creator")
        scan.add(label, rel, problems)
        scan.content(label, rel, "rss content:encoded", encoded)
        scan.content(label, rel, "rss description", description)
        if title and fragment_tags(title):
            scan.markup_in_text.append((label, rel, title))
        scan.records[(folder, item.findtext("guid") or "")][rel] = {
            "label": label,
            "title": title or "",
            "description": fragment_text(description),
            "authors": [c.text or "" for c in item.findall(f"{dc}creator")],
            "tags": {c.text for c in item.findall("category")},
        }


def scan_json(scan: Scan, rel: str, data: bytes) -> None:
    document = json.loads(data)
    feed_problems = [
        f"{key}: {p}"
        for key in ("home_page_url", "feed_url")
        if (p := url_problem(document.get(key) or ""))
    ]
    if not isinstance(document.get("title"), str):
        feed_problems.append("feed title is not a string")
    scan.add(scan.page_label(rel), rel, feed_problems)
    check_language(scan, rel, document.get("language"))
    folder = rel.split("/", 1)[0]
    for item in document["items"]:
        title, summary = item.get("title"), item.get("summary")
        markup = item.get("content_html") or ""
        label = entry_label(rel, title, markup)
        problems = []
        for key in ("title", "summary", "content_text"):
            if key in item and not isinstance(item[key], str):
                problems.append(f"{key} is not a string")
        for key in ("url", "external_url", "image", "banner_image"):
            if key in item and (p := url_problem(item[key])) is not None:
                problems.append(f"{key}: {p}")
        for attachment in item.get("attachments", []):
            if (p := url_problem(attachment.get("url", ""))) is not None:
                problems.append(f"attachment: {p}")
        authors = item.get("authors", [])
        if not all(isinstance(a.get("name"), str) for a in authors):
            problems.append("an author name is not a string")
        if not all(isinstance(t, str) for t in item.get("tags", [])):
            problems.append("a tag is not a string")
        check_language(scan, rel, item.get("language"))
        scan.add(label, rel, problems)
        scan.content(label, rel, "json content_html", markup)
        scan.records[(folder, item.get("id", ""))][rel] = {
            "label": label,
            "title": title or "",
            "summary": summary,
            "url": item.get("url"),
            "authors": [a.get("name") for a in authors],
            "tags": set(item.get("tags", [])),
        }


def walk(
    element: Any, label: str, allowed: frozenset[str], assign: Callable[..., Any]
) -> Iterator[tuple[Any, str, frozenset[str]]]:
    """Every element under `element` with the test case and allowed tags of its block."""
    block = assign(element)
    if block is not None:
        label, allowed = block
    yield element, label, allowed
    for child in element:
        yield from walk(child, label, allowed, assign)


def scan_page(scan: Scan, rel: str, data: bytes) -> None:
    page_label = scan.page_label(rel)
    text = data.decode("utf-8")
    problems: list[str] = []
    body_start, body_end = text.find("<body>"), text.rfind("</body>")
    if body_start < 0 or body_end < body_start or text.count("<body") != 1:
        problems.append("no single <body>...</body>")
    else:
        problems += textual_problems(text[body_start + len("<body>") : body_end])
        problems += head_textual_problems(text[:body_start])
    document = lxml_html.document_fromstring(text)
    heads, bodies = document.findall("head"), document.findall("body")
    if document.tag != "html" or len(heads) != 1 or len(bodies) != 1:
        problems.append("not one html document with one head and one body")
        scan.add(page_label, rel, problems)
        return
    check_language(scan, rel, document.get("lang"))
    head, body = heads[0], bodies[0]
    styles = 0
    for element in head.iterdescendants():
        if not isinstance(element.tag, str):
            problems.append("comment in head")
            continue
        tag = element.tag
        for name, value in element.attrib.items():
            problems += [f"head <{tag}> {p}" for p in attribute_problems(name, value)]
        if tag == "meta":
            if set(element.attrib) not in ({"charset"}, {"name", "content"}) or (
                "name" in element.attrib and element.get("name") != "viewport"
            ):
                problems.append(f"unexpected meta {dict(element.attrib)}")
        elif tag == "link":
            if element.get("rel") != "alternate":
                problems.append(f"link rel={element.get('rel')!r} in head")
        elif tag == "style":
            styles += 1
            css = (element.text or "").lower()
            if any(word in css for word in ("url(", "@import", "expression", "binding")):
                problems.append("style in head loads or runs something")
        elif tag == "title":
            if len(element):
                problems.append("elements inside <title>")
        else:
            problems.append(f"unexpected <{tag}> in head")
    if styles > 1:
        problems.append(f"{styles} style elements in head")
    scan.add(page_label, rel, problems)

    # Local articles' own pages; a local source's page (its index.html) lists them.
    article_page = rel.startswith("articles/") and not rel.endswith("/index.html")
    folder: str | None = None if rel.startswith("articles/") else rel.split("/", 1)[0]
    is_index = rel == "index.html"

    def assign(element: Any) -> tuple[str, frozenset[str]] | None:
        parent = element.getparent()
        if not isinstance(element.tag, str) or parent is None:
            return None
        if element.tag == "article" and parent.tag in ("body", "section"):
            heading = next(iter(element.xpath("./h1|./h2|./h3")), None)
            title = heading.text_content() if heading is not None else None
            label = label_of(title, element.text_content()) or f"unattributed:{rel}"
            if article_page:
                if heading is not None and len(heading):
                    scan.add(label, rel, ["elements inside the article heading"])
                scan.page_rows.append((rel, None, label, BASE_URL + rel, title or "", None))
                return label, SAFE_CONTENT_TAGS
            link = heading.find("a") if heading is not None else None
            paragraphs = [p for p in element.findall("p") if p.get("class") != "meta"]
            summary = paragraphs[-1].text_content() if paragraphs else ""
            href = link.get("href", "") if link is not None else ""
            if _OWN_RELATIVE.fullmatch(href):
                href = BASE_URL + posixpath.normpath(posixpath.join(posixpath.dirname(rel), href))
            if not is_index:  # the front page shortens summaries
                scan.page_rows.append((rel, folder, label, href, title or "", summary))
            return label, TEMPLATE_BODY_TAGS
        if is_index and element.tag == "tr" and parent.tag == "tbody":
            return f"source:{element[0].text_content()}", TEMPLATE_BODY_TAGS
        if is_index and element.tag == "section" and parent.tag == "body":
            heading = element.find("h2")
            name = heading.text_content() if heading is not None else ""
            return scan.site.category_labels.get(
                slug_of(scan.site.slugs, name), page_label
            ), TEMPLATE_BODY_TAGS
        return None

    per_label: dict[str, list[str]] = defaultdict(list)
    for element, label, allowed in walk(body, page_label, TEMPLATE_BODY_TAGS, assign):
        if element is body:
            continue
        per_label[label] += element_problems(element, allowed)
        if article_page and element.tag == "article" and label != page_label:
            scan.fragments[label].append(
                (rel, "article page", etree.tostring(element, encoding="unicode"))
            )
    for label, found in per_label.items():
        scan.add(label, rel, found)


def scan_opml(scan: Scan, rel: str, data: bytes) -> None:
    root = etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))
    for outline in root.iter("outline"):
        label = scan.site.category_labels.get(
            slug_of(scan.site.slugs, outline.get("title", "")), f"page:{rel}"
        )
        problems = [
            f"{key}: {p}"
            for key in ("xmlUrl", "htmlUrl")
            if (p := url_problem(outline.get(key, "")))
        ]
        scan.add(label, rel, problems)


def cross_check(scan: Scan) -> None:
    """Plain-text fields are the same text in every format and on every page."""
    for (_folder, _entry_id), by_file in scan.records.items():
        json_record = next((r for f, r in by_file.items() if f.endswith(".json")), None)
        if json_record is None:
            continue
        label = json_record["label"]
        for rel, record in by_file.items():
            if record is json_record:
                continue
            if fold(record["title"]) != fold(json_record["title"]):
                scan.add(
                    label, rel, [f"title {record['title']!r} != JSON {json_record['title']!r}"]
                )
            if record["authors"] != json_record["authors"]:
                scan.add(
                    label,
                    rel,
                    [f"authors {record['authors']!r} != JSON {json_record['authors']!r}"],
                )
            if record["tags"] != json_record["tags"]:
                scan.add(label, rel, [f"tags {record['tags']!r} != JSON {json_record['tags']!r}"])
            expected_summary = json_record["summary"] or ""
            if "description" in record:
                expected_summary = json_record["summary"] or json_record["title"]
                if fold(record["description"]) != fold(expected_summary):
                    scan.add(
                        label, rel, [f"description text {record['description'][:80]!r} != JSON"]
                    )
            elif fold(record["summary"] or "") != fold(expected_summary):
                scan.add(label, rel, [f"summary {str(record['summary'])[:80]!r} != JSON"])
    by_url: dict[tuple[str | None, str], list[dict[str, Any]]] = defaultdict(list)
    for (folder, _), by_file in scan.records.items():
        for rel, record in by_file.items():
            if rel.endswith(".json"):
                by_url[(folder, record["url"])].append(record)
                by_url[(None, record["url"])].append(record)
    for page, folder, label, href, title, summary in scan.page_rows:
        candidates = by_url.get((folder, href), [])
        if not any(
            fold(c["title"]) == fold(title)
            and (summary is None or fold(c["summary"] or "") == fold(summary))
            for c in candidates
        ):
            shown = f"{title[:60]!r} / {(summary or '')[:60]!r}"
            scan.add(label, page, [f"page shows {shown}, not the feed's text"])


VARIANT_DECODERS: dict[str, Callable[[bytes], bytes]] = {
    ".gz": gzip.decompress,
    ".br": brotli.decompress,
}
SCANNERS = {
    "atom.xml": scan_atom,
    "rss.xml": scan_rss,
    "feed.json": scan_json,
    "feeds.opml": scan_opml,
}


def scan_output(site: Site) -> Scan:
    scan = Scan(site)
    for path in sorted(p for p in site.out.rglob("*") if p.is_file()):
        rel = path.relative_to(site.out).as_posix()
        if path.name.startswith("."):
            continue
        if path.suffix in VARIANT_DECODERS:  # a precompressed variant: its file's very bytes
            plain = path.with_suffix("")
            if VARIANT_DECODERS[path.suffix](path.read_bytes()) != plain.read_bytes():
                scan.add(f"page:{rel}", rel, ["a compressed variant that is not its file"])
            continue
        scanner = SCANNERS.get(path.name)
        if scanner is None and path.suffix == ".xml" and path.parent.name == "archive":
            scanner = scan_atom
        if scanner is None and path.suffix == ".html":
            scanner = scan_page
        scan.files.append(rel)
        if scanner is None:
            scan.add(f"page:{rel}", rel, ["an output file of unknown kind"])
            continue
        try:
            scanner(scan, rel, path.read_bytes())
        except (etree.XMLSyntaxError, etree.ParserError, ValueError, UnicodeDecodeError) as exc:
            scan.add(f"page:{rel}", rel, [f"does not parse: {exc}"])
    cross_check(scan)
    return scan


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def feed_server() -> Iterator[FeedServer]:
    """The conftest fixture, held for the module: all tests here share one run."""
    yield from serve()


@pytest.fixture(scope="module")
def xss_scan(feed_server: FeedServer, tmp_path_factory: pytest.TempPathFactory) -> Scan:
    site = build_site(tmp_path_factory.mktemp("xss"), feed_server)
    result = run_update(site.config)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    read_slugs(site)
    scan = scan_output(site)
    scan.stdout = result.stdout
    return scan


# --------------------------------------------------------------------------- the tests


class KnownFindingError(AssertionError):
    """A vector that survives, as recorded in KNOWN_FINDINGS (its xfail expects only this)."""


# Vectors that survive into an output: label -> (pattern of its problems, reason). Strict:
# when the sanitiser is fixed the test passes, fails as XPASS, and the entry must go.
# None is open: `cite` URLs were the last (fixed in feeds/normalise/html.py).
KNOWN_FINDINGS: dict[str, tuple[str, str]] = {}

# Where published HTML content sits (RSS <description> carries the escaped text summary).
HTML_PLACES = frozenset(
    {"atom content", "json content_html", "rss content:encoded", "article page"}
)


def case(label: str) -> Any:
    known = KNOWN_FINDINGS.get(label)
    marks = []
    if known is not None:
        marks.append(pytest.mark.xfail(strict=True, raises=KnownFindingError, reason=known[1]))
    return pytest.param(label, id=label, marks=marks)


def assert_clean(scan: Scan, label: str) -> None:
    """The label reached every output it should, and nothing in it is unsafe.

    A known finding raises `KnownFindingError` (its xfail), but only after every *other*
    problem failed the test for real.
    """
    missing = scan.site.expected[label] - scan.seen.get(label, set())
    assert not missing, f"{label} never reached {sorted(missing)}"
    problems = scan.problems.get(label, [])
    known = KNOWN_FINDINGS.get(label)
    expected = [p for p in problems if known and re.search(known[0], p)]
    others = [p for p in problems if p not in expected]
    assert not others, f"{label}: {len(others)} problem(s):\n" + "\n".join(others[:20])
    if expected:
        raise KnownFindingError(
            f"{label}: {len(expected)} known problem(s):\n" + "\n".join(expected[:8])
        )


BODY_CASES = [case(f"{kind}:html:{name}") for kind in KINDS for name, _ in html_vectors(kind)] + [
    case(f"{kind}:html:{name}") for kind in HOSTILE_KINDS for name, _ in HOSTILE_BASE_VECTORS
]


@pytest.mark.parametrize("label", BODY_CASES)
def test_body_vector_is_neutralised(xss_scan: Scan, label: str) -> None:
    assert_clean(xss_scan, label)
    kind = label.split(":", 1)[0]
    if kind in LOCAL_KINDS:
        pages = [rel for rel in xss_scan.seen[label] if rel.startswith("articles/")]
        assert pages, f"{label}: no article page"
    vector = xss_scan.site.vectors[label]
    json_content = [h for rel, where, h in xss_scan.fragments[label] if where.startswith("json")]
    assert json_content
    if kind == "seed":
        # Paragraph text: it comes out as the same text, in <p> only.
        expected = fold(XML_ILLEGAL.sub("", vector))
        for markup in json_content:
            assert fragment_tags(markup) <= SEED_TAGS, markup[:200]
            assert fold(fragment_text(markup)) == expected
    elif kind == "markdown" and label.split(":")[2] in dict(xv.HTML_VECTORS):
        # Raw HTML in Markdown is escaped: only Markdown's own text elements, no a or img.
        for markup in json_content:
            assert fragment_tags(markup) <= MARKDOWN_TEXT_TAGS, markup[:200]


TEXT_CASES = [
    case(f"{kind}:text-{field_name}:{name}")
    for kind in KINDS
    for field_name in TEXT_FIELDS[kind]
    for name, _ in xv.TEXT_VECTORS
] + [case("markdown:text-language:language-tag")]


@pytest.mark.parametrize("label", TEXT_CASES)
def test_text_field_vector_stays_text(xss_scan: Scan, label: str) -> None:
    assert_clean(xss_scan, label)


URL_CASES = [
    case(f"{kind}:url-{field_name}:{name}")
    for kind, fields in URL_FIELDS.items()
    for field_name in fields
    for name, _ in xv.URL_VECTORS
]


@pytest.mark.parametrize("label", URL_CASES)
def test_url_field_vector_is_dropped_or_http(xss_scan: Scan, label: str) -> None:
    assert_clean(xss_scan, label)


FILENAME_CASES = [
    case(f"{kind}:text-filename:{name}") for kind in LOCAL_KINDS for name, _ in xv.FILENAME_VECTORS
]


@pytest.mark.parametrize("label", FILENAME_CASES)
def test_file_name_vector_stays_text(xss_scan: Scan, label: str) -> None:
    assert_clean(xss_scan, label)


@pytest.mark.parametrize("kind", [*REMOTE_KINDS, "markdown"])
def test_control_content_survives(xss_scan: Scan, kind: str) -> None:
    """Legitimate HTML keeps its link and image: the sanitiser does not just delete."""
    name = xv.MARKDOWN_CONTROL[0] if kind == "markdown" else xv.CONTROL[0]
    label = f"{kind}:html:{name}"
    assert_clean(xss_scan, label)
    fragments = [(rel, h) for rel, where, h in xss_scan.fragments[label] if where in HTML_PLACES]
    assert len(fragments) >= 6
    for rel, markup in fragments:
        root = parse_fragment(markup)
        links = root.xpath(".//a[@href='https://example.com/']")
        images = root.xpath(".//img[@src='https://example.com/i.png'][@alt='i']")
        assert links and images, f"{rel}: {markup}"
        assert "Hello" in root.text_content() and "link" in links[0].text_content()
        assert set(links[0].get("rel", "").split()) >= {"noopener", "noreferrer"}, rel


def test_seed_control_is_text(xss_scan: Scan) -> None:
    label = f"seed:html:{xv.CONTROL[0]}"
    assert_clean(xss_scan, label)
    fragments = [(rel, h) for rel, where, h in xss_scan.fragments[label] if where in HTML_PLACES]
    assert len(fragments) >= 7
    for rel, markup in fragments:
        assert '<a href="https://example.com/">link</a>' in fragment_text(markup), rel
        assert fragment_tags(markup) <= {"p", "article", "h1", "time"}, rel


def test_hostile_base_resolves_relative_urls_to_http(xss_scan: Scan) -> None:
    for kind in HOSTILE_KINDS:
        label = f"{kind}:html:relative-links"
        for rel, where, markup in xss_scan.fragments[label]:
            if where not in HTML_PLACES:
                continue
            root = parse_fragment(markup)
            hrefs = [a.get("href") for a in root.iter("a")] + [
                i.get("src") for i in root.iter("img")
            ]
            assert hrefs and all(h.startswith(("http://", "https://")) for h in hrefs), (
                rel,
                markup,
            )


@pytest.mark.parametrize(
    "kind",
    [pytest.param(kind) for kind in ("rss-content", "atom", "json")],
)
def test_control_character_references_do_not_break_publishing(
    feed_server: FeedServer, tmp_path: Path, kind: str
) -> None:
    """A run of its own per kind: such an entry once stopped all publishing."""
    when = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)
    items = [FeedItem(id="ok", title="XSS ok", link="https://example.com/ok", html="<p>ok</p>")]
    items += [
        FeedItem(
            id=name,
            title=f"XSS {kind} {name}",
            link=f"https://example.com/{name}",
            html=vector,
            published=when,
        )
        for name, vector in xv.CONTROL_REFERENCE_VECTORS
    ]
    body, content_type = remote_body(kind, items)
    url = feed_server.add(f"/control-references-{kind}", body, content_type=content_type)
    config = tmp_path / "feeds.toml"
    config.write_text(
        f'[output]\ndir = "out"\nbase_url = "{BASE_URL}"\n'
        '[storage]\nurl = "sqlite:///var/feeds.db"\n'
        f'[[sources]]\nname = "s"\nurl = "{url}"\ncategory = "XSS refs"\n',
        encoding="utf-8",
    )
    result = run_update(config)
    if result.returncode == 1 and "must be XML compatible" in result.stderr:
        raise KnownFindingError(result.stderr[-400:])
    assert result.returncode == 0, result.stdout + result.stderr
    for slug in ("xss-refs", "all"):
        folder = tmp_path / "out" / slug
        atom = etree.fromstring((folder / "atom.xml").read_bytes())
        contents = [e.text or "" for e in atom.iter(f"{ATOM}content")]
        document = json.loads((folder / "feed.json").read_bytes())
        contents += [item["content_html"] for item in document["items"]]
        assert len(contents) == 2 * len(items)
        for markup in contents:
            assert not XML_ILLEGAL.search(markup), repr(markup)
            assert not fragment_problems(markup), markup
        text = " ".join(fragment_text(m) for m in contents)
        assert "before" in text and "after" in text


def test_language_vectors_never_published(xss_scan: Scan) -> None:
    assert not xss_scan.problems.get("language"), xss_scan.problems.get("language")


def test_source_errors_on_the_front_page_are_text(xss_scan: Scan) -> None:
    for name in (BROKEN_SOURCE, SOURCE["seed"], SOURCE["markdown"]):
        label = f"source:{name}"
        assert "index.html" in xss_scan.seen[label], label
        assert not xss_scan.problems.get(label), xss_scan.problems.get(label)
    assert f"failed  {BROKEN_SOURCE}" in xss_scan.stdout


def test_every_output_file_parses_and_is_clean_outside_entries(xss_scan: Scan) -> None:
    names = {rel.rsplit("/", 1)[-1] for rel in xss_scan.files}
    assert {"index.html", "atom.xml", "rss.xml", "feed.json", "feeds.opml"} <= names
    assert any("/archive/" in rel for rel in xss_scan.files)
    assert any(rel.startswith("articles/") for rel in xss_scan.files)
    leftovers = {
        label: problems
        for label, problems in xss_scan.problems.items()
        if problems and (label.startswith(("page:", "unattributed:")))
    }
    assert not leftovers, json.dumps(leftovers, indent=1)[:4000]
    unattributed = [label for label in xss_scan.seen if label.startswith("unattributed:")]
    assert not unattributed, unattributed[:10]
    for slug, label in xss_scan.site.category_labels.items():
        assert not xss_scan.problems.get(label), (slug, xss_scan.problems[label][:5])


def test_counts(xss_scan: Scan) -> None:
    """The size of the run, printed for the record (pytest -s)."""
    body_vectors = {label.split(":")[2] for label in xss_scan.site.vectors}
    kinds = {label.split(":")[0] for label in xss_scan.site.vectors}
    entries = len(xss_scan.site.expected)
    rss_titles = len(xss_scan.markup_in_text)
    print(
        f"\nXSS run: {len(body_vectors)} body vectors, {len(xv.TEXT_VECTORS)} text vectors, "
        f"{len(xv.URL_VECTORS)} URL vectors, {len(xv.FILENAME_VECTORS)} file-name vectors; "
        f"{len(kinds)} source kinds; {entries} entries; {len(xss_scan.files)} output files; "
        f"{xss_scan.fragment_count} HTML fragments scanned; "
        f"{rss_titles} RSS titles that hold markup-looking text"
    )
    assert len(body_vectors) >= 60
    assert len(xss_scan.files) >= 50
