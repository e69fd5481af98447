"""US Social Security numbers and ITINs in their printed form, AAA-GG-SSSS.

The Social Security Administration never issues area 000, 666 or 900-999, group 00 or serial
0000; a number breaking any of these is no SSN. Area 900-999 is the IRS's: an Individual
Taxpayer Identification Number, for those who cannot have an SSN, has a group in 50-65, 70-88,
90-92 or 94-99 (`id_number/us-itin`, an identity number like those of `identity`). The
hyphenated (or single-space) form is read anywhere; a bare run of nine digits, far more often an
order, an id or a count, only right after "SSN" or "social security (number)"
(`ssn/area-group+keyword`), or for an ITIN after "ITIN" or "taxpayer identification number"
(`id_number/us-itin+keyword`). The famous advertising numbers pass as look-alikes
(`lookalikes.EXAMPLE_SSNS`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Final

from synthguard.guards.privacy.finding import Hit, judged
from synthguard.guards.privacy.lookalikes import EXAMPLE_SSNS, Inert, covering

RULE: Final = "ssn/area-group"

# Opens with a character class, not a look-behind, so that the regex engine skips ahead to
# digits; the look-behind is checked on each match.
_SSN = re.compile(r"(\d{3})([- ]?)(\d{2})\2(\d{4})(?![\w-]|\.\d)")
# Up to two small words between those words and the number ("her SSN is ...").
_SMALL_WORDS = r"(?:\W{1,4}(?:is|was|number|no))?(?:\W{1,4}(?:is|was))?"
# Words that, just before a bare run of nine digits, make it an SSN.
_SSN_WORDS = re.compile(
    r"(?:\bssn|\bssan|social security(?: number| no\.?)?|soc\.? sec\.?(?: no\.?)?)"
    rf"{_SMALL_WORDS}\W{{0,4}}$",
    re.IGNORECASE,
)
KEYWORD_RULE: Final = "ssn/area-group+keyword"
ITIN_RULE: Final = "id_number/us-itin"
# Words that, just before a bare run of nine digits, make it an ITIN.
_ITIN_WORDS = re.compile(
    r"(?:\bitin|taxpayer identification(?: number| no\.?)?|taxpayer id(?: number| no\.?)?)"
    rf"{_SMALL_WORDS}\W{{0,4}}$",
    re.IGNORECASE,
)
_ITIN_GROUPS: Final = frozenset(
    f"{group:02d}" for group in (*range(50, 66), *range(70, 89), 90, 91, 92, *range(94, 100))
)


def find_ssns(text: str, inert: Sequence[Inert]) -> Iterator[Hit]:
    """Every validly issued-looking SSN and ITIN in `text`; advertising numbers as
    look-alikes."""
    for match in _SSN.finditer(text):
        if match.start() and (
            text[match.start() - 1].isalnum() or text[match.start() - 1] in "_.-"
        ):
            continue
        area, separator, group, serial = match.groups()
        start, end = match.start(), match.end()
        preview = f"***-**-**{serial[2:]}"
        if area >= "900":
            if group in _ITIN_GROUPS and (
                separator or _ITIN_WORDS.search(text, max(0, start - 40), start)
            ):
                rule = ITIN_RULE if separator else ITIN_RULE + "+keyword"
                yield judged(start, end, "id_number", rule, preview, covering(inert, start, end))
            continue
        if area in ("000", "666") or group == "00" or serial == "0000":
            continue
        rule = RULE
        if not separator:
            if not _SSN_WORDS.search(text, max(0, start - 28), start):
                continue
            rule = KEYWORD_RULE
        why = covering(inert, start, end)
        if why is None and area + group + serial in EXAMPLE_SSNS:
            why = "advertising"
        yield judged(start, end, "ssn", rule, preview, why)
