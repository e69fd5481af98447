"""alt-profanity-check: a linear SVM over TF-IDF features trained on ~200k human-labelled
comments; its model ships inside the wheel. One label, `offensive`. Lexical: on its own it misses
profanity-free threats and identity attacks, and flags quoted slurs and reclaimed words.

A lexical model reads "sh1t", "@sshole", "F.U.C.K" and "f***" as unknown words. So a text is
also scored as it reads with the usual disguises undone (`unmasked`), and its score is the
higher of the two: digits and symbols standing for letters inside a word that has letters
(1 i, 3 e, 4 a, 0 o, 5 s, 7 t, @ a, $ s, ! i; 11 is ll, as English has many a double l and
next to no double i: "bu11sh1t"), single letters spelled apart ("f u c k",
"F.U.C.K", "b*i*t*c*h"), a letter said three times or more said once ("fuuuuck"), letters in
their mathematical or full-width forms (NFKC: "𝐟𝐮𝐜𝐤") or as small capitals and other look-alikes
("ꜰᴜᴄᴋ"), and a word with letters starred out when exactly one word of a short list of
profanities fits it ("f***", "c*nt"). Numbers, code (`**kwargs`, `a*b`) and words nothing fits
read as written.
"""

from __future__ import annotations

import importlib.metadata
import re
import unicodedata
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from synthguard.guards.backdoor import read_as_latin
from synthguard.guards.model_card import ModelCard, files_digest
from synthguard.guards.toxicity.extra import import_extra

OFFLINE_THRESHOLDS: dict[str, float] = {"offensive": 0.5}
"""0.5 is the calibrated probability the library's own `predict` cuts at."""

_LEET: Final = str.maketrans("134570@$!", "ieastoasi")
# A word with a letter and a stand-in for one (not a number: a letter must be there).
_DISGUISED: Final = re.compile(r"(?<![\w@$!])(?=[\w@$!]*[a-zA-Z])(?=[\w@$!]*[013457@$!])[\w@$!]+")
# Three or more single letters, each parted from the next by the same space, dot, dash,
# underscore or star ("a b*i*t*c*h" is "a bitch").
_SPELLED_APART: Final = re.compile(r"\b[a-zA-Z]([ ._*-])[a-zA-Z](?:\1[a-zA-Z])+\b")
# A letter three times or more in a row; not w ("www.").
_REPEATED: Final = re.compile(r"([a-vx-zA-VX-Z])\1{2,}")
# A word with some letters starred or hashed out.
_STARRED: Final = re.compile(r"(?<![\w*#])[a-zA-Z][a-zA-Z*#]*[*#][a-zA-Z*#]*(?![\w*#])")
PROFANITIES: Final = tuple(
    re.findall(
        r"\w+",
        """fuck fucking fucked fucker motherfucker shit shitty bullshit bitch bitches cunt dick
        cock pussy asshole bastard whore slut wanker twat prick""",
    )
)
"""The words a starred-out word is read as, when exactly one of them fits it."""


class OfflineBackend:
    """alt-profanity-check: a linear SVM whose model ships in the package itself."""

    default_thresholds: Mapping[str, float] = OFFLINE_THRESHOLDS
    _BATCH = 4096

    def __init__(self, module: Any, card: ModelCard) -> None:
        self._module = module
        self.card = card

    @classmethod
    def load(cls) -> OfflineBackend:
        """Load the model shipped in alt-profanity-check's wheel."""
        module = import_extra("profanity_check", "the offline toxicity backend")
        data = Path(module.__file__).parent / "data"
        files = [data / "model.joblib", data / "vectorizer.joblib"]
        card = ModelCard(
            backend="alt-profanity-check",
            model=(
                "linear SVM over TF-IDF "
                f"(scikit-learn {importlib.metadata.version('scikit-learn')})"
            ),
            version=importlib.metadata.version("alt-profanity-check"),
            checkpoint="profanity_check/data/model.joblib+vectorizer.joblib",
            # The digest of the two files' bytes in that order: `cat model.joblib
            # vectorizer.joblib | sha256sum`.
            checkpoint_digest=files_digest(files),
            labels=("offensive",),
        )
        return cls(module, card)

    def predict(self, texts: Sequence[str]) -> list[dict[str, float]]:
        """Score texts, each as written and as it reads undone (`unmasked`); one label,
        `offensive`."""
        scores = self._scores(list(texts))
        # The disguised ones again, as they read undone: the higher score counts.
        undone = {i: plain for i, text in enumerate(texts) if (plain := unmasked(text)) != text}
        if undone:
            for i, score in zip(undone, self._scores(list(undone.values())), strict=True):
                scores[i] = max(scores[i], score)
        return [{"offensive": score} for score in scores]

    def _scores(self, texts: list[str]) -> list[float]:
        scores: list[float] = []
        for start in range(0, len(texts), self._BATCH):
            probabilities = self._module.predict_prob(texts[start : start + self._BATCH])
            scores.extend(float(p) for p in probabilities)
        return scores


def unmasked(text: str) -> str:
    """`text` as it reads with its disguised words undone (the module's docstring says which)."""
    if not text.isascii():
        text = read_as_latin(unicodedata.normalize("NFKC", text))
    text = _REPEATED.sub(r"\1", text)
    text = _SPELLED_APART.sub(lambda m: re.sub(r"[ ._*-]", "", m.group()), text)
    text = _DISGUISED.sub(lambda m: m.group().replace("11", "ll").translate(_LEET), text)
    return _STARRED.sub(_fill, text)


def _fill(match: re.Match[str]) -> str:
    word = match.group()
    pattern = re.compile(re.sub(r"[*#]", ".", word.lower()))
    fits = [candidate for candidate in PROFANITIES if pattern.fullmatch(candidate)]
    return fits[0] if len(fits) == 1 else word
