"""The transparency report as one self-contained HTML file.

Nothing is fetched: the style sheet is inline, the charts are inline SVG, and a Content Security
Policy (`default-src 'none'`, the style sheet allowed by its hash) makes any stray reference fail
closed instead of reaching the network. There is no script to run; the report's JSON rides along
in a data block for auditors (`synthguard.ledger.report.embed`). Every string from the report is
HTML-escaped. The output is a pure function of the report, byte for byte.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from html import escape

from synthguard.ledger.report import charts
from synthguard.ledger.report.embed import html_data_block
from synthguard.ledger.report.layout import (
    SUBTITLE,
    TITLE,
    Chart,
    Fact,
    Section,
    Table,
    document,
    headline,
)
from synthguard.ledger.report.model import TransparencyReport

_CSS = """\
:root { color-scheme: light; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color: #1f2933; background: #fff; }
header, nav, main, footer { max-width: 60rem; margin: 0 auto; padding: 0 1.25rem; }
header { padding-top: 1.5rem; }
h1 { font-size: 1.7rem; margin: 0 0 .25rem; }
h2 { font-size: 1.35rem; margin: 2.25rem 0 .5rem; border-bottom: 2px solid #cbd2d9; }
h3 { font-size: 1.1rem; margin: 1.75rem 0 .5rem; }
h4 { font-size: 1rem; margin: 1.5rem 0 .5rem; }
.subtitle { margin: 0 0 1rem; color: #52606d; }
.glance { display: grid; grid-template-columns: repeat(auto-fit, minmax(11rem, 1fr)); gap: .5rem;
  margin: 1rem 0; padding: 0; }
.glance div { background: #f5f7fa; border: 1px solid #e4e7eb; border-radius: 4px;
  padding: .5rem .75rem; }
.glance dt { font-size: .8rem; color: #52606d; }
.glance dd { margin: 0; font-weight: 600; overflow-wrap: anywhere; }
nav ol { margin: .5rem 0; }
nav ol ol { display: flex; flex-wrap: wrap; gap: 0 1.5rem; padding-left: 1rem;
  list-style: none; }
.answer { font-size: 1rem; margin: .25rem 0 .75rem; }
.answer strong { display: inline-block; min-width: 2.5rem; padding: 0 .5rem; border-radius: 3px;
  text-align: center; }
.answer .yes { background: #c6f6d5; color: #22543d; }
.answer .no { background: #e4e7eb; color: #323f4b; }
.answer .na { background: #fff; color: #52606d; border: 1px solid #cbd2d9; }
dl.facts { display: grid; grid-template-columns: minmax(12rem, max-content) 1fr;
  gap: .15rem 1rem; margin: .5rem 0 1rem; }
dl.facts dt { color: #52606d; }
dl.facts dd { margin: 0; overflow-wrap: anywhere; font-variant-numeric: tabular-nums; }
table { border-collapse: collapse; margin: .5rem 0 1.25rem; min-width: 24rem; }
caption { text-align: left; font-weight: 600; padding: .25rem 0; }
th, td { border-bottom: 1px solid #e4e7eb; padding: .3rem .6rem; text-align: left;
  vertical-align: top; overflow-wrap: break-word; }
td.id { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: .85em;
  overflow-wrap: anywhere; }
.table { max-width: 100%; overflow-x: auto; }
th { background: #f5f7fa; }
.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.empty { color: #52606d; font-style: italic; }
.warning { border-left: 4px solid #c05621; background: #fffaf0; padding: .5rem .75rem; }
figure { margin: 1rem 0; }
svg.chart { display: block; max-width: 100%; height: auto; }
footer { margin-top: 3rem; padding-bottom: 2rem; color: #52606d; font-size: .85rem; }
@media print { nav { display: none; } h2 { break-after: avoid; }
  figure, table { break-inside: avoid; } }
"""

_CSP = (
    "default-src 'none'; "
    f"style-src 'sha256-{base64.b64encode(hashlib.sha256(_CSS.encode()).digest()).decode()}'; "
    "base-uri 'none'; form-action 'none'"
)

_CHARTS: dict[Chart, Callable[[TransparencyReport], str]] = {
    Chart.ORIGIN: lambda r: charts.synthetic_share_chart(r.sources.by_origin),
    Chart.GENERATORS: lambda r: charts.generator_mix_chart(r.sources.synthetic.generators),
    Chart.FUNNEL: lambda r: charts.funnel_chart(r.processing.screening.funnel),
    Chart.DEPTH: lambda r: charts.depth_histogram(r.processing.depth),
}


def render_html(report: TransparencyReport) -> str:
    """The report as a self-contained HTML page (same report, same bytes)."""
    general = report.general
    scope = general.stated.dataset
    sections = document(report)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{escape(_CSP)}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta name="generator" content="{escape(f"{general.tool} {general.tool_version}")}">',
        f"<title>{escape(TITLE)}: {escape(scope)}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        "<header>",
        f"<h1>{escape(TITLE)}</h1>",
        f'<p class="subtitle">{escape(SUBTITLE)}: {escape(scope)}</p>',
        '<dl class="glance" aria-label="Key figures">',
        *(_glance(fact) for fact in headline(report)),
        "</dl>",
        "</header>",
        '<nav aria-label="Contents">',
        "<ol>",
        *(_toc(section) for section in sections),
        "</ol>",
        "</nav>",
        "<main>",
    ]
    for section in sections:
        parts.extend(_section(section, report, level=2))
    parts += [
        "</main>",
        "<footer>",
        "<p>Computed by "
        f"{escape(general.tool)} {escape(general.tool_version)} from ledger "
        f"{escape(general.checkpoint.origin)} at {general.checkpoint.size:,} entries "
        f"(root {escape(general.checkpoint.root_hash)}). The figures are embedded below as "
        "JSON (script element synthguard-report); synthguard audit recomputes them from the "
        "ledger and compares.</p>",
        "</footer>",
        html_data_block(report),
        "</body>",
        "</html>",
    ]
    return "\n".join(parts) + "\n"


def _glance(fact: Fact) -> str:
    return f"<div><dt>{escape(fact.label)}</dt><dd>{escape(fact.value)}</dd></div>"


def _toc(section: Section) -> str:
    link = f'<a href="#{section.anchor}">{escape(section.heading)}</a>'
    # The template's numbered sections; the free parts of a section stay out of the contents.
    numbered = [sub for sub in section.subsections if sub.number]
    if not numbered:
        return f"<li>{link}</li>"
    return f"<li>{link}<ol>{''.join(_toc(sub) for sub in numbered)}</ol></li>"


def _section(section: Section, report: TransparencyReport, level: int) -> list[str]:
    tag = f"h{level}"
    parts = [
        f'<section id="{section.anchor}" aria-labelledby="{section.anchor}-h">',
        f'<{tag} id="{section.anchor}-h">{escape(section.heading)}</{tag}>',
    ]
    if section.answer is not None:
        css = {"Yes": "yes", "No": "no"}.get(section.answer, "na")
        parts.append(
            f'<p class="answer">{escape(section.answer_label)}: '
            f'<strong class="{css}">{section.answer}</strong></p>'
        )
    parts.extend(f"<p>{escape(text)}</p>" for text in section.text)
    parts.extend(
        f'<p class="warning" role="note"><strong>Warning:</strong> {escape(warning)}</p>'
        for warning in section.warnings
    )
    if section.facts:
        parts.append('<dl class="facts">')
        parts.extend(
            f"<dt>{escape(fact.label)}</dt><dd>{escape(fact.value)}</dd>" for fact in section.facts
        )
        parts.append("</dl>")
    if section.chart is not None:
        parts += ["<figure>", _CHARTS[section.chart](report), "</figure>"]
    parts.extend(_table(table) for table in section.tables)
    for sub in section.subsections:
        parts.extend(_section(sub, report, level + 1))
    parts.append("</section>")
    return parts


def _cell(tag: str, text: str, css: str, scope: str = "") -> str:
    attributes = f' class="{css}"' if css else ""
    if scope:
        attributes += f' scope="{scope}"'
    return f"<{tag}{attributes}>{escape(text)}</{tag}>"


def _css(table: Table, column: int) -> str:
    if table.numeric[column]:
        return "num"
    return "id" if table.is_identifier(column) else ""


def _table(table: Table) -> str:
    if not table.rows:
        return (
            f'<p class="empty"><strong>{escape(table.caption)}:</strong> {escape(table.empty)}</p>'
        )
    columns = range(len(table.header))
    head = "".join(
        _cell("th", name, "num" if table.numeric[i] else "", "col")
        for i, name in zip(columns, table.header, strict=True)
    )
    rows = "\n".join(
        "<tr>"
        + "".join(_cell("td", value, _css(table, i)) for i, value in zip(columns, row, strict=True))
        + "</tr>"
        for row in table.rows
    )
    return (
        f'<div class="table"><table>\n<caption>{escape(table.caption)}</caption>\n'
        f"<thead><tr>{head}</tr></thead>\n<tbody>\n{rows}\n</tbody>\n</table></div>"
    )
