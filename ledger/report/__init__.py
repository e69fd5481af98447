"""The transparency report: every figure computed from the ledger's signed records
(`compute`), the report's model (`model`, the Commission's template section by section), and its
renderings: HTML with charts, Markdown, JSON, the dataset card and Croissant (`formats`).

    from synthguard.ledger.report import compute_report, render_html

    report = compute_report(ledger, stated=stated_by(home))
    Path("report.html").write_text(render_html(report))
"""

from synthguard.ledger.report.compute import compute_report, policy_figures
from synthguard.ledger.report.croissant import release_of_folder
from synthguard.ledger.report.formats import FORMATS, RenderContext, detect
from synthguard.ledger.report.html import render_html
from synthguard.ledger.report.model import (
    Provider,
    Stated,
    TrainedModel,
    TransparencyReport,
    report_json_schema,
    stated_by,
)

__all__ = [
    "FORMATS",
    "Provider",
    "RenderContext",
    "Stated",
    "TrainedModel",
    "TransparencyReport",
    "compute_report",
    "detect",
    "policy_figures",
    "release_of_folder",
    "render_html",
    "report_json_schema",
    "stated_by",
]
