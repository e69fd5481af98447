"""Invisible and control characters: hidden text, Trojan-Source reordering, invisible triggers.

What is looked at is Unicode's Default_Ignorable_Code_Point set (every format character, category
Cf, plus the variation selectors, Hangul fillers, the combining grapheme joiner and Khmer's
inherent vowels, which Python's `unicodedata` cannot list by property) together with the control
characters (Cc, except tab, newline, carriage return and form feed) and the braille blank. Each
such character is a finding unless its context is one where Unicode gives it a visible job:

- ZWJ inside an emoji ZWJ sequence (UTS #51: an emoji, optionally with VS16 or a skin-tone
  modifier, ZWJ, an emoji: the family 👨‍👩‍👧‍👦, 🏳️‍🌈); ZWJ, ZWNJ and ZWSP between letters of
  scripts that shape or break lines with them (Arabic-script, Indic, Southeast Asian, CJK): never
  between Latin, Greek or Cyrillic letters, where they only hide;
- a single LRM, RLM or ALM in text that holds right-to-left letters (Arabic, Hebrew, ...);
  embeddings, overrides and isolates (U+202A-E, U+2066-9) are always findings: correct RTL text
  needs only the marks, and the explicit controls are how Trojan Source reorders what is shown;
- VS15/VS16 after a symbol, punctuation or digit (emoji presentation, ❤️, keycaps), VS1-VS14 after
  a symbol, digit or uncased letter (standardized variants), VS17-VS256 after a CJK ideograph
  (ideographic variation sequences); never two selectors in a row (the emoji-smuggling scheme
  hides one byte per selector after a single base: the bytes are decoded into the finding);
- tag characters only inside an emoji tag sequence (🏴 + tags + CANCEL TAG, the flags of
  England, Scotland, Wales); stray tags are ASCII in disguise and are decoded into the finding;
- a leading BOM; a soft hyphen between two letters; a Hangul filler inside a conjoining jamo
  syllable; the braille blank next to braille; CGJ before a combining mark.

Rules: `control-char`, `invisible-char`, `bidi-control`, `tag-char`, `variation-selector-abuse`,
`filler-char`. Findings are runs of adjacent flagged characters under one rule.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from typing import Final

CONTROL: Final = "control-char"
INVISIBLE: Final = "invisible-char"
BIDI: Final = "bidi-control"
TAG: Final = "tag-char"
VARIATION: Final = "variation-selector-abuse"
FILLER: Final = "filler-char"
RULES: Final = (CONTROL, INVISIBLE, BIDI, TAG, VARIATION, FILLER)

_ASCII_CONTROLS: Final = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")

_ZWSP, _ZWNJ, _ZWJ = "\u200b", "\u200c", "\u200d"
_LRM, _RLM, _ALM = "\u200e", "\u200f", "\u061c"
_BOM, _SOFT_HYPHEN, _CGJ, _MVS = "\ufeff", "\u00ad", "\u034f", "\u180e"
_VS15, _VS16 = "\ufe0e", "\ufe0f"
_KEYCAP, _BLACK_FLAG, _CANCEL_TAG = "\u20e3", "\U0001f3f4", "\U000e007f"
_BRAILLE_BLANK = "\u2800"
_CHOSEONG_FILLER, _JUNGSEONG_FILLER = "\u115f", "\u1160"

_DIRECTION_MARKS: Final = frozenset({_LRM, _RLM, _ALM})
_BIDI_CONTROLS: Final = frozenset(map(chr, [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]))
_HANGUL_FILLERS: Final = frozenset({_CHOSEONG_FILLER, _JUNGSEONG_FILLER, "\u3164", "\uffa0"})
_KHMER_INHERENT: Final = frozenset({"\u17b4", "\u17b5"})
_MONGOLIAN_SELECTORS: Final = frozenset({"\u180b", "\u180c", "\u180d", "\u180f"})
# Format characters that are visible (Prepended_Concatenation_Mark: Arabic number signs, ...).
_VISIBLE_FORMAT: Final = frozenset(
    map(chr, [*range(0x0600, 0x0606), 0x06DD, 0x070F, 0x0890, 0x0891, 0x08E2, 0x110BD, 0x110CD])
)
# Scripts written with spaces between words whose letters look alike: joiners there only hide.
_SPACED_ALPHABETS: Final = ("LATIN", "GREEK", "CYRILLIC")
_SKIN_TONES: Final = range(0x1F3FB, 0x1F400)
_TAG_RANGE: Final = range(0xE0000, 0xE0080)
_MAX_REPORTED: Final = 16
_MAX_DECODED: Final = 256


@dataclass(frozen=True, slots=True)
class Finding:
    """A run of adjacent hidden characters under one rule, where it starts, and what it hides."""

    rule: str
    start: int
    code_points: tuple[str, ...]
    decoded: str | None = None


def find_invisible(text: str) -> list[Finding]:
    """Return every run of characters in `text` that hides, reorders or smuggles content."""
    if text.isascii():
        if not _ASCII_CONTROLS.search(text):
            return []
        return [
            Finding(CONTROL, m.start(), _code_points(m.group()))
            for m in _run_pattern(_ASCII_CONTROLS.pattern).finditer(text)
        ]
    suspects = _suspects().search(text)
    if suspects is None:
        return []
    has_rtl: bool | None = None
    flagged: list[tuple[int, str]] = []
    tags_end = -1
    for match in _suspects().finditer(text, suspects.start()):
        i = match.start()
        char = text[i]
        if i < tags_end:
            continue
        if ord(char) in _TAG_RANGE:
            # A run of tags is judged once, as a whole: one look at each character.
            tags_end = i + 1
            while tags_end < len(text) and ord(text[tags_end]) in _TAG_RANGE:
                tags_end += 1
            if not _emoji_tag_sequence(text, i, tags_end):
                flagged.extend((j, TAG) for j in range(i, tags_end))
            continue
        if char in _DIRECTION_MARKS:
            if has_rtl is None:
                has_rtl = any(unicodedata.bidirectional(c) in ("R", "AL") for c in text)
            rule = _direction_mark(text, i, has_rtl)
        else:
            rule = _classify(text, i)
        if rule is not None:
            flagged.append((i, rule))
    return _runs(text, flagged)


def describe(findings: list[Finding]) -> dict[str, object]:
    """Summarise findings of one rule for a verdict's detail: where, which characters, what they
    hide."""
    points = sorted({cp for finding in findings for cp in finding.code_points})
    detail: dict[str, object] = {
        "positions": [finding.start for finding in findings[:_MAX_REPORTED]],
        "code_points": points[:_MAX_REPORTED],
    }
    hidden = [finding.decoded[:_MAX_DECODED] for finding in findings if finding.decoded]
    if hidden:
        detail["decoded"] = hidden[:_MAX_REPORTED]
    return detail


def _classify(text: str, i: int) -> str | None:
    char = text[i]
    if _is_variation_selector(char):
        return None if _legitimate_selector(text, i) else VARIATION
    if char in _BIDI_CONTROLS:
        return BIDI
    if char in _HANGUL_FILLERS or char in _KHMER_INHERENT or char == _BRAILLE_BLANK:
        return None if _legitimate_filler(text, i) else FILLER
    category = unicodedata.category(char)
    if category == "Cc":
        return CONTROL
    if char in (_ZWJ, _ZWNJ, _ZWSP, _MVS):
        return None if _legitimate_joiner(text, i) else INVISIBLE
    if char == _BOM:
        return None if i == 0 else INVISIBLE
    if char == _SOFT_HYPHEN:
        return None if _between_letters(text, i) else INVISIBLE
    if char == _CGJ:
        return None if _next_is_mark(text, i) else INVISIBLE
    if char in _VISIBLE_FORMAT:
        return None
    if "\U00013430" <= char <= "\U0001343f":
        # Egyptian hieroglyph format controls arrange the signs around them.
        return None if _previous_name_starts(text, i, "EGYPTIAN HIEROGLYPH") else INVISIBLE
    return INVISIBLE


def _direction_mark(text: str, i: int, has_rtl: bool) -> str | None:
    alone = not _is_bidi(text, i - 1) and not _is_bidi(text, i + 1)
    return None if has_rtl and alone else BIDI


def _is_bidi(text: str, i: int) -> bool:
    if not 0 <= i < len(text):
        return False
    return text[i] in _DIRECTION_MARKS or text[i] in _BIDI_CONTROLS


def _legitimate_joiner(text: str, i: int) -> bool:
    if text[i] == _ZWJ and _emoji_before(text, i) and _emoji_after(text, i):
        return True
    return _complex_script_letter(text, i - 1) and _complex_script_letter(text, i + 1)


def _emoji_before(text: str, i: int) -> bool:
    j = i - 1
    if j >= 0 and text[j] == _VS16:
        j -= 1
    if j >= 0 and ord(text[j]) in _SKIN_TONES:
        j -= 1
    if j >= 0 and text[j] == _CANCEL_TAG:
        start = j
        while start > 0 and ord(text[start - 1]) in _TAG_RANGE:
            start -= 1
        return _emoji_tag_sequence(text, start, j + 1)
    return j >= 0 and _is_emoji(text[j])


def _emoji_after(text: str, i: int) -> bool:
    return i + 1 < len(text) and _is_emoji(text[i + 1])


def _is_emoji(char: str) -> bool:
    category = unicodedata.category(char)
    # Emoji newer than this Python's Unicode tables are unassigned (Cn) to it.
    return category == "So" or (category == "Cn" and 0x1F000 <= ord(char) <= 0x1FAFF)


def _complex_script_letter(text: str, i: int) -> bool:
    if not 0 <= i < len(text):
        return False
    char = text[i]
    if char.isascii() or unicodedata.category(char)[0] not in "LM":
        return False
    return not unicodedata.name(char, "").startswith(_SPACED_ALPHABETS)


def _between_letters(text: str, i: int) -> bool:
    return 0 < i < len(text) - 1 and text[i - 1].isalpha() and text[i + 1].isalpha()


def _next_is_mark(text: str, i: int) -> bool:
    return i + 1 < len(text) and unicodedata.category(text[i + 1]).startswith("M")


def _previous_name_starts(text: str, i: int, prefix: str) -> bool:
    return i > 0 and unicodedata.name(text[i - 1], "").startswith(prefix)


def _is_variation_selector(char: str) -> bool:
    code = ord(char)
    return 0xFE00 <= code <= 0xFE0F or 0xE0100 <= code <= 0xE01EF or char in _MONGOLIAN_SELECTORS


def _legitimate_selector(text: str, i: int) -> bool:
    if i == 0 or _is_variation_selector(text[i - 1]):
        return False
    if i + 1 < len(text) and _is_variation_selector(text[i + 1]):
        return False
    char, base = text[i], text[i - 1]
    code = ord(char)
    base_category = unicodedata.category(base)
    if char in _MONGOLIAN_SELECTORS:
        return unicodedata.name(base, "").startswith("MONGOLIAN")
    if code >= 0xE0100:
        return unicodedata.name(base, "").startswith("CJK")
    if char in (_VS15, _VS16):
        return base_category[0] in "SPN" or base == "\u2139"
    # VS1-VS14: standardized variants of symbols, digits and uncased letters (CJK, Myanmar...).
    return base_category[0] in "SN" or base_category == "Lo"


def _emoji_tag_sequence(text: str, start: int, end: int) -> bool:
    """Whether the tags text[start:end] are an emoji tag sequence: 🏴, tag specs, CANCEL TAG."""
    run = text[start:end]
    return (
        start > 0
        and text[start - 1] == _BLACK_FLAG
        and len(run) >= 2
        and run[-1] == _CANCEL_TAG
        and all(0xE0020 <= ord(c) <= 0xE007E for c in run[:-1])
    )


def _legitimate_filler(text: str, i: int) -> bool:
    char = text[i]
    if char == _BRAILLE_BLANK:
        return _braille_near(text, i)
    if char == _CHOSEONG_FILLER:
        # A syllable with no initial consonant: the filler, then a vowel jamo.
        return i + 1 < len(text) and "\u1160" <= text[i + 1] <= "\u11a7"
    if char == _JUNGSEONG_FILLER:
        # A syllable with no vowel: an initial consonant (or its filler), then the filler.
        return i > 0 and "\u1100" <= text[i - 1] <= "\u115f"
    return False


def _braille_near(text: str, i: int) -> bool:
    # Blanks between braille cells are the spaces of braille text.
    return any(0 <= j < len(text) and "\u2800" <= text[j] <= "\u28ff" for j in (i - 1, i + 1))


def _runs(text: str, flagged: list[tuple[int, str]]) -> list[Finding]:
    findings: list[Finding] = []
    run: list[int] = []
    rule = ""
    for i, this_rule in flagged:
        if run and (this_rule != rule or i != run[-1] + 1):
            findings.append(_finding(text, rule, run))
            run = []
        run.append(i)
        rule = this_rule
    if run:
        findings.append(_finding(text, rule, run))
    return findings


def _finding(text: str, rule: str, run: list[int]) -> Finding:
    chars = "".join(text[i] for i in run)
    decoded = None
    if rule == TAG:
        decoded = "".join(chr(ord(c) - 0xE0000) for c in chars if 0xE0020 <= ord(c) <= 0xE007E)
    elif rule == VARIATION and len(chars) > 1:
        decoded = _smuggled_bytes(chars)
    return Finding(rule, run[0], _code_points(chars), decoded or None)


def _smuggled_bytes(selectors: str) -> str | None:
    """Decode the emoji-smuggling scheme: VS1-VS16 are bytes 0-15, VS17-VS256 bytes 16-255."""
    data = bytearray()
    for char in selectors:
        code = ord(char)
        if 0xFE00 <= code <= 0xFE0F:
            data.append(code - 0xFE00)
        elif 0xE0100 <= code <= 0xE01EF:
            data.append(code - 0xE0100 + 16)
        else:
            return None
    try:
        decoded = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return decoded if decoded.isprintable() else None


def _code_points(chars: str) -> tuple[str, ...]:
    return tuple(f"U+{ord(c):04X}" for c in chars)


@cache
def _run_pattern(char_class: str) -> re.Pattern[str]:
    return re.compile(f"(?:{char_class})+")


@cache
def _suspects() -> re.Pattern[str]:
    """One character class for every code point that may be hidden: built once, on first use,
    from Unicode's categories (Cf, Cc) and the ignorables that carry other categories."""
    codes = [
        code
        for code in (*range(0x20000), *range(0xE0000, 0xE1000))
        if unicodedata.category(chr(code)) in ("Cf", "Cc")
    ]
    codes = [code for code in codes if chr(code) not in "\t\n\r\f"]
    codes += [*range(0xFE00, 0xFE10), *range(0xE0100, 0xE01F0)]
    codes += [ord(c) for c in (*_MONGOLIAN_SELECTORS, *_HANGUL_FILLERS, *_KHMER_INHERENT)]
    codes += [ord(_CGJ), ord(_BRAILLE_BLANK)]
    return re.compile(f"[{_ranges(sorted(set(codes)))}]")


def _ranges(codes: list[int]) -> str:
    parts: list[str] = []
    start = previous = codes[0]
    for code in [*codes[1:], -1]:
        if code == previous + 1:
            previous = code
            continue
        low, high = re.escape(chr(start)), re.escape(chr(previous))
        parts.append(low if start == previous else f"{low}-{high}")
        start = previous = code
    return "".join(parts)
