"""The transparency report as GitHub-flavoured Markdown.

The same sections, answers, facts and tables as the HTML (`layout`), as headings, lists
and pipe tables; the charts' figures are in the tables. Every string is escaped so that it reads
as itself: Markdown punctuation gets a backslash, `<`, `>` and `&` become entities (so a value
can never open an HTML tag or comment), and control characters, which could end a table row,
become U+FFFD. The report's JSON follows in a trailing comment (`embed`).
"""

from __future__ import annotations

from synthguard.ledger.report.embed import markdown_data_comment
from synthguard.ledger.report.layout import (
    SUBTITLE,
    TITLE,
    Fact,
    Section,
    Table,
    document,
    headline,
)
from synthguard.ledger.report.model import TransparencyReport

_ESCAPES = {ord(c): "\\" + c for c in "\\`*_[]|~$"}
_ESCAPES.update({ord("<"): "&lt;", ord(">"): "&gt;", ord("&"): "&amp;", ord("\t"): " "})
_ESCAPES.update({c: "\ufffd" for c in (*range(0x00, 0x09), *range(0x0A, 0x20), 0x7F)})


def markdown_text(text: str) -> str:
    """`text` escaped to read as itself in Markdown, on one line."""
    return text.translate(_ESCAPES)


def markdown_facts(facts: tuple[Fact, ...]) -> list[str]:
    """Labelled figures as a bullet list."""
    return [f"- **{markdown_text(f.label)}:** {markdown_text(f.value)}" for f in facts]


def markdown_table(table: Table) -> list[str]:
    """A table as a captioned pipe table (or the caption and its empty note)."""
    caption = f"**{markdown_text(table.caption)}**"
    if not table.rows:
        return [f"{caption}: _{markdown_text(table.empty)}_"]
    align = ["---:" if numeric else "---" for numeric in table.numeric]
    return [
        caption,
        "",
        _row(table.header),
        "| " + " | ".join(align) + " |",
        *(_row(row) for row in table.rows),
    ]


def markdown_section(section: Section, level: int) -> list[str]:
    """A section and its subsections, headed at `level`."""
    lines = ["#" * level + " " + markdown_text(section.heading), ""]
    if section.answer is not None:
        lines += [f"**{markdown_text(section.answer_label)}: {section.answer}**", ""]
    for text in section.text:
        lines += [markdown_text(text), ""]
    for warning in section.warnings:
        lines += [f"> **Warning:** {markdown_text(warning)}", ""]
    if section.facts:
        lines += [*markdown_facts(section.facts), ""]
    for table in section.tables:
        lines += [*markdown_table(table), ""]
    for sub in section.subsections:
        lines += markdown_section(sub, level + 1)
    return lines


def render_markdown(report: TransparencyReport) -> str:
    """The report as Markdown (same report, same bytes)."""
    scope = report.general.stated.dataset
    lines = [
        f"# {markdown_text(TITLE)}",
        "",
        f"{markdown_text(SUBTITLE)}: {markdown_text(scope)}",
        "",
        *markdown_facts(headline(report)),
        "",
    ]
    for section in document(report):
        lines += markdown_section(section, 2)
    lines.append(markdown_data_comment(report))
    return "\n".join(lines) + "\n"


def _row(cells: tuple[str, ...]) -> str:
    return "| " + " | ".join(markdown_text(cell) for cell in cells) + " |"
