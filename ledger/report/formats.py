"""The formats a transparency report is written in, each with the way back to its figures.

`report --format NAME` renders with `FORMATS[NAME].render`; `audit --report FILE` finds the
file's format (`detect`), reads the report the file carries (`read`), recomputes it and renders
it again in the same format. So every format `report` writes can be audited, and a new format
is one more `register(ReportFormat(...))`, with nothing to change in the commands. A renderer
gets the report and a `RenderContext` (the ledger, the file written or audited, the release
folder the command names, if any), for a format that describes more than the figures.

Detection asks each format whether it recognises the file, the highest `precedence` first, so a
specific format can claim files that a general one would also take (a JSON-LD format before
plain JSON); a format that recognises everything (Markdown) goes last.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from synthguard.ledger.report.card import render_dataset_card
from synthguard.ledger.report.croissant import (
    embedded_croissant_report,
    is_croissant,
    render_release_croissant,
)
from synthguard.ledger.report.embed import embedded_report
from synthguard.ledger.report.html import render_html
from synthguard.ledger.report.markdown import render_markdown
from synthguard.ledger.report.model import TransparencyReport
from synthguard.provenance.errors import InputError

if TYPE_CHECKING:
    from synthguard.ledger.log import Ledger


@dataclass(frozen=True, slots=True)
class RenderContext:
    """Where a report is rendered: the ledger it was computed from, the file it is written to
    (or that is audited), and the release folder the command names, if any."""

    ledger: Ledger
    path: Path
    release_dir: Path | None = None


Renderer = Callable[[TransparencyReport, RenderContext], str]


@dataclass(frozen=True, slots=True)
class ReportFormat:
    """One format: its `--format` name, a description for help text, how a report is written
    in it, how the report a file of it carries is read back, and whether a file is of it."""

    name: str
    description: str
    render: Renderer
    read: Callable[[str], TransparencyReport]
    recognises: Callable[[Path, str], bool]
    precedence: int = 0
    describes_release: bool = False
    """It describes a release folder as well (its files, their hashes): `report --release`
    then names the folder, and `audit` needs `--release` to render it again."""


def figures_only(render: Callable[[TransparencyReport], str]) -> Renderer:
    """A renderer that needs the report alone."""
    return lambda report, _context: render(report)


FORMATS: dict[str, ReportFormat] = {}
"""Every format, in the order `--format` lists them."""


def register(fmt: ReportFormat) -> ReportFormat:
    """Add a format (ValueError if its name is taken)."""
    if fmt.name in FORMATS:
        raise ValueError(f"a report format named {fmt.name!r} is registered already")
    FORMATS[fmt.name] = fmt
    return fmt


def detect(path: Path, text: str) -> ReportFormat:
    """The format of a report file, from its text (and its name, where the text is unclear)."""
    if not text.strip():
        raise InputError(f"{path} is empty: not a report")
    for fmt in sorted(FORMATS.values(), key=lambda f: -f.precedence):
        if fmt.recognises(path, text):
            return fmt
    raise InputError(f"{path} is not a report in any known format ({', '.join(FORMATS)})")


def _start(text: str) -> str:
    # A byte order mark is no part of the text: a JSON report saved with one is still JSON
    # (and then refused as JSON, saying why), not taken for Markdown.
    return text.lstrip("\ufeff").lstrip()[:1]


def _croissant(report: TransparencyReport, context: RenderContext) -> str:
    return render_release_croissant(report, context.ledger, context.path, context.release_dir)


def _read_json(text: str) -> TransparencyReport:
    try:
        return TransparencyReport.model_validate(json.loads(text))
    except ValueError as exc:
        first = str(exc).splitlines()[0]
        raise InputError(f"not a synthguard JSON report: {first}") from exc


register(
    ReportFormat(
        name="html",
        description="one self-contained page with charts",
        render=figures_only(render_html),
        read=embedded_report,
        recognises=lambda path, text: (
            _start(text) == "<" or path.suffix.lower() in (".html", ".htm")
        ),
        precedence=10,
    )
)
register(
    ReportFormat(
        name="md",
        description="Markdown",
        render=figures_only(render_markdown),
        read=embedded_report,
        recognises=lambda _path, _text: True,
        precedence=-100,
    )
)
register(
    ReportFormat(
        name="json",
        description="the figures as JSON (schema: `synthguard schema report`)",
        render=figures_only(TransparencyReport.to_json),
        read=_read_json,
        # The text before the name: a JSON file named report.html is still JSON.
        recognises=lambda _path, text: _start(text) in ("{", "["),
        precedence=15,
    )
)
register(
    ReportFormat(
        name="card",
        description="a Hugging Face dataset card (README.md with YAML metadata)",
        render=figures_only(render_dataset_card),
        read=embedded_report,
        # YAML front matter first: a Markdown report starts with its title.
        recognises=lambda _path, text: text.startswith("---\n"),
        precedence=20,
    )
)
register(
    ReportFormat(
        name="croissant",
        description="Croissant 1.1 JSON-LD of a release, with the RAI vocabulary, for ML tools "
        "to load it (--release DIR: the release folder; write it into that folder)",
        render=_croissant,
        read=embedded_croissant_report,
        # JSON-LD, so before plain JSON.
        recognises=lambda _path, text: is_croissant(text),
        precedence=16,
        describes_release=True,
    )
)
