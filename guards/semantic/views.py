"""Views of a text for semantic matching: the text whole, its prose, and its lead sentence.

A coding problem's prompt embeds mostly as its code: a `def` line, type names, doctests. A user
who restates the task in plain words ("write a function that checks whether any two numbers in
a list are closer than a threshold") lands far from that vector and near the prompt's prose.
So a text is also read as:

- `prose`: the natural language alone. The last docstring when the text holds one (a problem
  states its task in the docstring of the function to write; helpers come first), else the
  text; fenced code blocks, code lines, and everything from the first example on (`>>>`, "For
  example", "Input:", `f(x) == y`) dropped; lines joined into one paragraph.
- `lead`: the first sentence of the prose, the task in one line (where an instruction dataset's
  short prompts sit).

A view that says no more than a larger one (the same text) is left out by the caller.
"""

from __future__ import annotations

import re

_DOCSTRING = re.compile(r'("""|\'\'\')(.*?)\1', re.DOTALL)
_FENCE = re.compile(r"```.*?(?:```|\Z)", re.DOTALL)
_EXAMPLE = re.compile(
    r"^\s*(>>>|for examples?\b|examples?\b|example \d|e\.g\.:?\s*$|input:|output:|"
    r"\w+\(.*\)\s*(==|=>|➞|->|==>|returns\b|should\b|is\b))",
    re.IGNORECASE,
)
_CODE = re.compile(
    r"^\s*(def |class |import |from \S+ import |return\b|@\w|#|if .*:$|for .*:$|while .*:$|"
    r"else:|elif |try:|except\b|assert\b|print\(|[\w.\[\]]+\s*[-+*/]?=[^=]|[^A-Za-z]*$)"
)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'(])")


def prose_of(text: str) -> str:
    """The natural-language part of a text, as one paragraph ("" when it has none)."""
    strings = _DOCSTRING.findall(text)
    body = strings[-1][1] if strings else text
    body = _FENCE.sub("\n", body)
    kept: list[str] = []
    for line in body.splitlines():
        if _EXAMPLE.match(line):
            break
        stripped = line.strip()
        if stripped and not _CODE.match(stripped):
            kept.append(stripped)
    return " ".join(kept)


def lead_of(prose: str) -> str:
    """The first sentence of a paragraph (the whole paragraph when it is one sentence)."""
    return _SENTENCE_END.split(prose.strip(), maxsplit=1)[0]
