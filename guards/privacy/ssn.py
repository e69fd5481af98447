"""US Social Security numbers in their printed form, AAA-GG-SSSS.

The Social Security Administration never issues area 000, 666 or 900-999, group 00 or serial
0000; a number breaking any of these is no SSN. The hyphenated (or single-space) form is read
anywhere; a bare run of nine digits, far more often an order, an id or a count, only right after
"SSN" or "social security (number)" (`ssn/area-group+keyword`). The famous advertising numbers pass
as look-alikes (`lookalikes.EXAMPLE_SSNS`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Final

from synthguard.guards.privacy.finding import Hit
from synthguard.guards.privacy.lookalikes import EXAMPLE_SSNS, Inert, covering

RULE: Final = "ssn/area-group"

# Opens with a character class, not a look-behind, so that the regex engine skips ahead to
# digits; the look-behind is checked on each match.
_SSN = re.compile(r"(\d{3})([- ]?)(\d{2})\2(\d{4})(?![\w-]|\.\d)")
# Words that, just before a bare run of nine digits, make it an SSN.
_SSN_WORDS = re.compile(
    r"(?:\bssn|\bssan|social security(?: number| no\.?)?|soc\.? sec\.?(?: no\.?)?)\W{0,4}$",
    re.IGNORECASE,
)
KEYWORD_RULE: Final = "ssn/area-group+keyword"


def find_ssns(text: str, inert: Sequence[Inert]) -> Iterator[Hit]:
    """Every validly issued-looking SSN in `text`; advertising numbers as look-alikes."""
    for match in _SSN.finditer(text):
        if match.start() and (
            text[match.start() - 1].isalnum() or text[match.start() - 1] in "_.-"
        ):
            continue
        area, separator, group, serial = match.groups()
        if area in ("000", "666") or area >= "900" or group == "00" or serial == "0000":
            continue
        start, end = match.start(), match.end()
        rule = RULE
        if not separator:
            if not _SSN_WORDS.search(text, max(0, start - 28), start):
                continue
            rule = KEYWORD_RULE
        preview = f"***-**-**{serial[2:]}"
        why = covering(inert, start, end)
        if why is None and area + group + serial in EXAMPLE_SSNS:
            why = "advertising"
        if why is not None:
            yield Hit(start, end, "ssn", f"ssn/{why}", preview, True)
        else:
            yield Hit(start, end, "ssn", rule, preview)
