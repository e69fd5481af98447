"""Inline SVG charts of the transparency report: pure functions from figures to SVG text.

Each chart is one `<svg role="img">` with a `<title>` and a `<desc>` that state its figures in
words (screen readers announce those), visible text labels on every bar, and no script, style
sheet, font or image of its own, so it can sit inside a self-contained HTML file. Output is
deterministic: coordinates are written with at most two decimals and items keep the report's
order. Every label is escaped; labels longer than fit are shortened on screen, and the full text
stays in the bar's own `<title>`.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from html import escape

from synthguard.ledger.report.layout import (
    count,
    generator_label,
    guard_label,
    percent,
    plural,
)
from synthguard.ledger.report.model import Count, DepthBin, GeneratorCount, GuardFunnel

WIDTH = 640
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"
INK = "#1f2933"
MUTED = "#52606d"
KEPT = "#2b6cb0"
QUARANTINED = "#c05621"
ORIGIN_COLOURS = {"synthetic": "#6b46c1", "hybrid": "#b7791f", "human": "#2f855a"}
OTHER_COLOUR = "#718096"
MIN_BAR = 2.0
"""Smallest width of a non-zero bar, so that one sample in a million still shows."""

_ROW = 30
_BAR = 18


def _n(value: float) -> str:
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _advance(char: str) -> float:
    # A generous estimate of a glyph's width at 12 px (DejaVu Sans, a wide fallback, measured in
    # Chromium): no font metrics without a browser, so labels are fitted to this estimate.
    if unicodedata.combining(char):
        return 0.0
    if unicodedata.east_asian_width(char) in ("W", "F"):
        return 14.0
    if char in "mwMW@%&":
        return 12.5
    return 9.5 if char.isupper() else 7.5


def _estimate(text: str) -> float:
    return sum(map(_advance, text))


def _fit(label: str, budget: float) -> str:
    """`label`, shortened with an ellipsis to fit `budget` pixels (by estimate)."""
    if _estimate(label) <= budget:
        return label
    used = _advance("…")
    for end, char in enumerate(label):
        used += _advance(char)
        if used > budget:
            return label[:end] + "…"
    return label


def _scaled(value: int, largest: int, span: float) -> float:
    if value <= 0 or largest <= 0:
        return 0.0
    return max(MIN_BAR, span * value / largest)


def _text(x: float, y: float, text: str, *, anchor: str = "start", fill: str = INK) -> str:
    return (
        f'<text x="{_n(x)}" y="{_n(y)}" text-anchor="{anchor}" fill="{fill}">{escape(text)}</text>'
    )


def _rect(x: float, y: float, width: float, height: float, fill: str, title: str) -> str:
    return (
        f'<rect class="bar" x="{_n(x)}" y="{_n(y)}" width="{_n(width)}" '
        f'height="{_n(height)}" fill="{fill}"><title>{escape(title)}</title></rect>'
    )


def _svg(chart_id: str, title: str, desc: str, height: float, body: Sequence[str]) -> str:
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{chart_id}" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" '
        f'viewBox="0 0 {WIDTH} {_n(height)}" width="{WIDTH}" height="{_n(height)}" '
        f'font-family="{escape(FONT)}" font-size="12">'
        f'<title id="{chart_id}-title">{escape(title)}</title>'
        f'<desc id="{chart_id}-desc">{escape(desc)}</desc>'
    )
    return head + "".join(body) + "</svg>"


def _legend(y: float, items: Sequence[tuple[str, str]]) -> list[str]:
    parts: list[str] = []
    x = 0.0
    for label, colour in items:
        parts.append(f'<rect x="{_n(x)}" y="{_n(y - 10)}" width="12" height="12" fill="{colour}"/>')
        parts.append(_text(x + 17, y, label))
        x += 17 + 7.5 * len(label) + 18
    return parts


def _empty(chart_id: str, title: str, message: str) -> str:
    return _svg(chart_id, title, message, 40, [_text(WIDTH / 2, 24, message, anchor="middle")])


def funnel_chart(funnel: Sequence[GuardFunnel]) -> str:
    """The screening funnel: one centred bar per guard, as wide as the samples it checked,
    split into those it kept and those it quarantined, with the counts written beneath."""
    chart_id = "chart-funnel"
    title = "Screening funnel per guard"
    if not funnel:
        return _empty(chart_id, title, "No screening recorded.")
    label_width, row_height = 190.0, 46
    span = WIDTH - label_width
    largest = max(step.checked for step in funnel)
    body = _legend(14, [("kept", KEPT), ("quarantined", QUARANTINED)])
    lines: list[str] = []
    for row, step in enumerate(funnel):
        label = guard_label(step)
        summary = f"{count(step.checked)} in, {count(step.kept)} kept, "
        summary += f"{count(step.quarantined)} quarantined"
        lines.append(f"{label}: {summary}")
        top = 28 + row * row_height
        width = _scaled(step.checked, largest, span)
        left = label_width + (span - width) / 2
        quarantined = _scaled(step.quarantined, step.checked, width)
        kept = width - quarantined if step.kept else 0.0
        body.append(_text(label_width - 10, top + 13, _fit(label, label_width - 14), anchor="end"))
        if kept > 0:
            body.append(_rect(left, top, kept, _BAR, KEPT, f"{label}: {count(step.kept)} kept"))
        if quarantined > 0:
            body.append(
                _rect(
                    left + kept,
                    top,
                    quarantined,
                    _BAR,
                    QUARANTINED,
                    f"{label}: {count(step.quarantined)} quarantined",
                )
            )
        body.append(_text(label_width + span / 2, top + 33, summary, anchor="middle", fill=MUTED))
    height = 28 + len(funnel) * row_height
    return _svg(chart_id, title, "; ".join(lines) + ".", height, body)


def generator_mix_chart(generators: Sequence[GeneratorCount]) -> str:
    """The generator mix: one bar per generator model, its share of the synthetic samples."""
    chart_id = "chart-generators"
    title = "Synthetic samples by generator model"
    if not generators:
        return _empty(chart_id, title, "No synthetic samples.")
    label_width = 250.0
    figures = [f"{percent(g.share)} ({plural(g.samples, 'sample')})" for g in generators]
    # The bars leave room for the longest figure written after them.
    span = WIDTH - label_width - max(_estimate(figure) for figure in figures) - 10
    largest = max(g.samples for g in generators)
    body: list[str] = []
    lines: list[str] = []
    for row, (g, figure) in enumerate(zip(generators, figures, strict=True)):
        label = generator_label(g.provider, g.model, g.version)
        lines.append(f"{label}: {figure}")
        top = 4 + row * _ROW
        body.append(_text(label_width - 8, top + 13, _fit(label, label_width - 12), anchor="end"))
        width = _scaled(g.samples, largest, span)
        if width > 0:
            body.append(_rect(label_width, top, width, _BAR, KEPT, f"{label}: {figure}"))
        body.append(_text(label_width + width + 6, top + 13, figure, fill=MUTED))
    height = 8 + len(generators) * _ROW
    return _svg(chart_id, title, "; ".join(lines) + ".", height, body)


def synthetic_share_chart(by_origin: Sequence[Count]) -> str:
    """Synthetic, hybrid and human samples as one bar split by their shares."""
    chart_id = "chart-origin"
    title = "Samples by origin: synthetic, hybrid, human"
    if not any(c.samples for c in by_origin):
        return _empty(chart_id, title, "No samples.")
    body: list[str] = []
    lines: list[str] = []
    widths = [max(MIN_BAR, WIDTH * c.share / 100) if c.samples else 0.0 for c in by_origin]
    # Widened slivers must not push the bar past the edge.
    fit = min(1.0, WIDTH / sum(widths))
    x = 0.0
    for row, (c, full) in enumerate(zip(by_origin, widths, strict=True)):
        colour = ORIGIN_COLOURS.get(c.key, OTHER_COLOUR)
        figure = f"{c.key}: {percent(c.share)} ({plural(c.samples, 'sample')})"
        lines.append(figure)
        width = full * fit
        if width > 0:
            body.append(_rect(x, 0, width, 28, colour, figure))
            x += width
        body.extend(_legend(52 + row * 20, [(_fit(figure, WIDTH - 20), colour)]))
    height = 40 + len(by_origin) * 20
    return _svg(chart_id, title, "; ".join(lines) + ".", height, body)


def depth_histogram(depth: Sequence[DepthBin]) -> str:
    """Samples by generation depth: one column per depth, 0 (human-written) on the left."""
    chart_id = "chart-depth"
    title = "Samples by lineage depth"
    if not depth:
        return _empty(chart_id, title, "No samples.")
    bins = sorted(depth, key=lambda b: b.depth)
    plot_top, plot_height, axis = 18.0, 150.0, 48.0
    slot = (WIDTH - axis) / len(bins)
    bar = max(MIN_BAR, min(60.0, slot * 0.7))
    largest = max(b.samples for b in bins)
    baseline = plot_top + plot_height
    body = [
        f'<line x1="{_n(axis)}" y1="{_n(baseline)}" x2="{WIDTH}" y2="{_n(baseline)}" '
        f'stroke="{MUTED}"/>',
        _text(axis - 6, baseline + 16, "depth", anchor="end", fill=MUTED),
    ]
    lines: list[str] = []
    for i, b in enumerate(bins):
        figure = f"depth {b.depth}: {plural(b.samples, 'sample')} ({percent(b.share)})"
        lines.append(figure)
        centre = axis + slot * i + slot / 2
        height = _scaled(b.samples, largest, plot_height)
        if height > 0:
            body.append(_rect(centre - bar / 2, baseline - height, bar, height, KEPT, figure))
        body.append(_text(centre, baseline - height - 4, count(b.samples), anchor="middle"))
        body.append(_text(centre, baseline + 16, str(b.depth), anchor="middle", fill=MUTED))
    return _svg(chart_id, title, "; ".join(lines) + ".", baseline + 24, body)
