"""Text from servers and files made safe to show on a terminal or in a text log line."""

from __future__ import annotations

import re

# C0 and C1 control characters (escape sequences start with ESC or CSI), DEL, and the
# bidirectional controls, with which a text can show its words in another order than read.
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]+")


def terminal_safe(text: str) -> str:
    """`text` on one line with no control characters: error texts and names come from
    servers and config files, and neither an escape sequence nor a bidirectional control may
    reach the operator's terminal."""
    return " ".join(_CONTROLS.sub(" ", text).split())
