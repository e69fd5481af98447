"""Mixed-script words: Latin words spelled with Cyrillic or Greek look-alikes, and the reverse.

"pаypal" with a Cyrillic а reads as "paypal" to a person and as an unknown token to a filter: the
classic way to slip a keyword past a blocklist or plant an invisible trigger. A word (a run of
letters, digits and combining marks) is a finding when it holds letters of two of the scripts
Latin, Cyrillic, Greek and Armenian, or plain Latin letters with the phonetic blocks' look-alikes
("ɑ", small capitals "ᴘ"), and a letter of the minority script is a look-alike of a letter of
the majority script (the single-letter entries of Unicode's confusables, UTS #39); a word whose
every letter has a Latin twin reads as Latin whatever the count ("ΙGΝΟRΕ", "соffее"). A letter's
script is read from its Unicode name, so accented letters ("naïve") and Turkish's dotless ı stay
Latin, mathematical alphanumerics count as symbols, and whole Russian or Greek words are single-
script. Greek letters are also the variables of mathematics: a Latin-Greek mix whose Greek letters
are all letters formulas use (never omicron, the lunate sigma or a capital that looks Latin)
passes when it is short ("ρgh", "hν", "Tμν"), holds a digit ("2πr") or writes a Greek letter
beside an underscore ("ρ_max"), unless it spells a common word ("ιn", "αnd"); a Cyrillic mix
never has that excuse. A phonetic mix passes in a transcription's brackets (/kɪt/), with accents
on its letters, or in a text that writes letters only phonetics and orthographies built on it
use ("ə", "ɛ", "ŋ", "ː"); an Armenian or phonetic suffix on a Latin name ("Windowsում") passes.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Final

RULE: Final = "mixed-script"

LATIN, CYRILLIC, GREEK = "Latin", "Cyrillic", "Greek"
ARMENIAN, PHONETIC = "Armenian", "Latin phonetic"

# Look-alike pairs (confusable letter, Latin letter it imitates), from UTS #39 confusables.
_CYRILLIC_PAIRS: Final = (
    "аa еe оo рp сc уy хx ѕs іi јj ԁd ԛq ԝw һh ӏl ѵv үy "
    "АA ВB ЕE КK МM НH ОO РP СC ТT ХX ІI ЈJ ЅS ҮY ԚQ ԜW ӀI"
)
_GREEK_PAIRS: Final = (
    "αa οo νv ρp υu χx ιi κk ϲc ϳj ΑA ΒB ΕE ΖZ ΗH ΙI ΚK ΜM ΝN ΟO ΡP ΤT ΥY ΧX ϹC ͿJ"
)
_ARMENIAN_PAIRS: Final = "օo սu հh ոn ցg զq"
# Latin letters of the phonetic blocks (IPA, small capitals) that imitate plain ones: a script of
# their own here, so that "ɑpple" or "ᴘaypal" mixes as "аpple" does.
_PHONETIC_PAIRS: Final = (
    "ɑa ɡg ɩi ᴀa ʙb ᴄc ᴅd ᴇe ꜰf ɢg ʜh ɪi ᴊj ᴋk ʟl ᴍm ɴn ᴏo ᴘp ʀr ꜱs ᴛt ᴜu ᴠv ᴡw ʏy ᴢz"
)
# Latin letters that imitate letters of everyday Cyrillic or Greek words (the reverse attack).
_LATIN_LIKE_CYRILLIC: Final = frozenset("aeopcyxijsABEKMHOPCTXIJSY")
_LATIN_LIKE_GREEK: Final = frozenset("aovpuxikABEZHIKMNOPTYX")


def _twins(pairs: str, reverse_only: frozenset[str] | None = None) -> dict[str, str]:
    """Look-alike -> imitated letter, from "xy" pairs; reversed (Latin -> other) for the chars
    in `reverse_only`, the first pair winning."""
    if reverse_only is None:
        return {pair[0]: pair[1] for pair in pairs.split()}
    twins: dict[str, str] = {}
    for pair in pairs.split():
        if pair[1] in reverse_only:
            twins.setdefault(pair[1], pair[0])
    return twins


_TO_LATIN: Final = _twins(
    " ".join((_CYRILLIC_PAIRS, _GREEK_PAIRS, _ARMENIAN_PAIRS, _PHONETIC_PAIRS))
)
# (majority script, borrowed letter's script) -> borrowed look-alike -> the letter it imitates.
_TWINS: Final = {
    (LATIN, CYRILLIC): _twins(_CYRILLIC_PAIRS),
    (LATIN, GREEK): _twins(_GREEK_PAIRS),
    (CYRILLIC, LATIN): _twins(_CYRILLIC_PAIRS, _LATIN_LIKE_CYRILLIC),
    (GREEK, LATIN): _twins(_GREEK_PAIRS, _LATIN_LIKE_GREEK),
    (LATIN, ARMENIAN): _twins(_ARMENIAN_PAIRS),
    (LATIN, PHONETIC): _twins(_PHONETIC_PAIRS),
}
_PHONETIC: Final = frozenset(pair[0] for pair in _PHONETIC_PAIRS.split())
_MIN_GREEK_MIX_LETTERS: Final = 4
# Greek letters that mathematics and physics write as variables beside Latin ones ("ρgh", "hν",
# "ρ_max", "αhelix"): a Latin-Greek mix borrowing only these may be a formula. Omicron, the
# lunate sigma and the capitals that look Latin name nothing in a formula: only look-alikes.
_MATH_GREEK: Final = frozenset("αβγδεζηθικλμνξπρστυφχψωΓΔΘΛΞΠΣΦΨΩ")
# Short words a formula never spells: a Greek variable "ιn" or "αnd" is a disguised word.
_COMMON_WORDS: Final = frozenset(
    re.findall(
        r"\w+",
        """a an and as at be by do for from he if in is it me my no not of on or so the to up
        us we you are but can had has her his its may our out she that this was who why will
        with cf""",
    )
)
# Around a phonetic word: an IPA transcription, /kɪt/ or [ˈæpəl], not a disguised word.
_TRANSCRIPTION_EDGES: Final = frozenset("/[]ˈˌː")
_IPA_ONLY: Final = frozenset("əɛɔʃʒθðŋæʊʌɒɜɐɾʔɲɣχʁɥœøɯɨʉːˈˌ")

_WORD: Final = re.compile(r"(?:[\w\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff])+")
_SCRIPT_NAMES: Final = {
    "LATIN": LATIN,
    "CYRILLIC": CYRILLIC,
    "GREEK": GREEK,
    "ARMENIAN": ARMENIAN,
}
_scripts: dict[str, str | None] = {}


@dataclass(frozen=True, slots=True)
class MixedWord:
    """A word mixing scripts: where, its majority script, the look-alikes it borrows, and how
    it reads with each look-alike replaced by the letter it imitates."""

    word: str
    start: int
    script: str
    look_alikes: tuple[str, ...]
    skeleton: str
    borrowed: str


_LATIN_READING: Final = str.maketrans(_TO_LATIN)


def read_as_latin(text: str) -> str:
    """`text` with every Cyrillic, Greek, Armenian or phonetic look-alike of a Latin letter read
    as that letter ("ɪɢɴᴏʀᴇ" as "ignore"): what a reader sees, for rules that read words."""
    return text.translate(_LATIN_READING)


def find_mixed_script(text: str) -> list[MixedWord]:
    """Return the words of `text` that mix Latin with Cyrillic or Greek look-alikes."""
    if text.isascii():
        return []
    found: list[MixedWord] = []
    for match in _WORD.finditer(text):
        word = match.group()
        if word.isascii():
            continue
        mixed = _mixed(word, match.start())
        if mixed is not None and not _transcribed(text, mixed, match.end()):
            found.append(mixed)
    return found


def _transcribed(text: str, mixed: MixedWord, end: int) -> bool:
    """Whether a word mixing phonetic letters is phonetics or an orthography: it stands in a
    transcription's brackets, or the text writes letters only phonetics and the orthographies
    built on it use ("ə", "ɛ", "ŋ", "ː", "ˈ"), or marks its letters with accents ("mɑ̀")."""
    if not set(mixed.borrowed) <= _PHONETIC:
        return False
    before = text[mixed.start - 1] if mixed.start else ""
    after = text[end] if end < len(text) else ""
    if before in _TRANSCRIPTION_EDGES or after in _TRANSCRIPTION_EDGES:
        return True
    if any(unicodedata.combining(c) for c in mixed.word):
        return True
    return not _IPA_ONLY.isdisjoint(text)


def describe(words: list[MixedWord]) -> dict[str, object]:
    """Summarise mixed-script words for a verdict's detail."""
    return {
        "words": [
            {
                "word": w.word,
                "position": w.start,
                "script": w.script,
                "look_alikes": list(w.look_alikes),
                "reads_as": w.skeleton,
            }
            for w in words[:16]
        ]
    }


def _mixed(word: str, start: int) -> MixedWord | None:
    counts = dict.fromkeys((LATIN, CYRILLIC, GREEK, ARMENIAN, PHONETIC), 0)
    letters = 0
    for char in word:
        script = _script(char)
        if script is not None:
            counts[script] += 1
            letters += 1
    present = [script for script, count in counts.items() if count]
    if len(present) < 2:
        return None
    # Ties go to Latin: the script an attacker imitates most.
    majority = max(present, key=lambda script: (counts[script], script == LATIN))
    borrowed: dict[str, str] = {}
    latin = "".join(_TO_LATIN.get(c, c) for c in word)
    if majority != LATIN and all(_script(c) in (LATIN, None) for c in latin):
        # Every letter has a Latin twin ("раy", "ΑΡΡLE", "ΙGΝΟRΕ", "соffее"): it reads as
        # Latin, whatever the count.
        majority = LATIN
        borrowed = {c: _TO_LATIN[c] for c in word if c in _TO_LATIN}
    else:
        for char in word:
            script = _script(char)
            if script is None or script == majority:
                continue
            twin = _TWINS.get((majority, script), {}).get(char)
            if twin is not None:
                borrowed[char] = twin
    if not borrowed:
        return None
    skeleton = "".join(borrowed.get(c, c) for c in word)
    if set(present) == {LATIN, GREEK} and _formula(word, letters, skeleton):
        return None
    if (ARMENIAN in present or PHONETIC in present) and not all(
        _script(c) in (LATIN, None) for c in latin
    ):
        return None  # a suffix of its own script on a Latin name ("Windowsում"): no disguise
    return MixedWord(
        word=word,
        start=start,
        script=majority,
        look_alikes=tuple(f"U+{ord(c):04X} {unicodedata.name(c, '?')}" for c in borrowed),
        skeleton=skeleton,
        borrowed="".join(borrowed),
    )


def _formula(word: str, letters: int, skeleton: str) -> bool:
    """Whether a Latin-Greek mix reads as mathematics: its Greek letters are all letters
    formulas use as variables, it spells no common word, and it is short ("ρgh", "hν",
    "Tμν"), holds a digit ("2πr"), or writes a Greek letter beside an underscore ("ρ_max").
    A longer word with a Greek letter in it ("pαypal", "αpple") is a disguise."""
    greek = [c for c in word if _script(c) == GREEK]
    if not set(greek) <= _MATH_GREEK or skeleton.casefold() in _COMMON_WORDS:
        return False
    if letters < _MIN_GREEK_MIX_LETTERS or any(c.isdigit() for c in word):
        return True
    return any(c in greek and "_" in word[max(0, i - 1) : i + 2] for i, c in enumerate(word))


def _script(char: str) -> str | None:
    """The script of a letter among Latin, Cyrillic and Greek; None for anything else."""
    try:
        return _scripts[char]
    except KeyError:
        pass
    script = None
    if char in _PHONETIC:
        script = PHONETIC
    elif char.isalpha():
        name = unicodedata.name(char, "")
        for prefix in ("FULLWIDTH ", "HALFWIDTH "):
            name = name.removeprefix(prefix)
        script = _SCRIPT_NAMES.get(name.split(" ", 1)[0])
    if len(_scripts) < 65536:
        _scripts[char] = script
    return script
