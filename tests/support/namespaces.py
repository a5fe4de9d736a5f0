"""The XML namespaces the tests write and read.

`NS_X` is a namespace's name; `ATOM` is lxml's prefix for a qualified Atom name
(``root.findall(f"{ATOM}entry")``), `XML_LANG` and `XML_BASE` lxml's names of ``xml:lang`` and
``xml:base``.
"""

NS_ATOM = "http://www.w3.org/2005/Atom"
NS_ATOM03 = "http://purl.org/atom/ns#"
NS_CONTENT = "http://purl.org/rss/1.0/modules/content/"
NS_DC = "http://purl.org/dc/elements/1.1/"
NS_ITUNES = "http://www.itunes.com/dtds/podcast-1.0.dtd"
NS_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
NS_RSS090 = "http://my.netscape.com/rdf/simple/0.9/"
NS_RSS10 = "http://purl.org/rss/1.0/"
NS_XHTML = "http://www.w3.org/1999/xhtml"
NS_XML = "http://www.w3.org/XML/1998/namespace"

ATOM = f"{{{NS_ATOM}}}"
XML_LANG = f"{{{NS_XML}}}lang"
XML_BASE = f"{{{NS_XML}}}base"
