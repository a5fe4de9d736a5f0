"""The characters XML 1.0 cannot carry, and their removal."""

from __future__ import annotations

import re

# C0 controls but tab, newline and carriage return; lone surrogates; U+FFFE and U+FFFF. One
# in a title would make a whole feed unrenderable.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def strip_illegal_xml(text: str) -> str:
    """Remove characters that XML 1.0 cannot carry."""
    return _XML_ILLEGAL.sub("", text)
