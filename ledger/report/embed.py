"""The report's exact JSON inside its renderings, and getting it back out.

HTML carries it in `<script type="application/json" id="synthguard-report">`: a data block the
browser never runs. The JSON is the report's `to_json()` with `<`, `>` and `&` written as JSON
`\\u` escapes, so no string in it can close the element or open a comment; parsing it gives the
same values. Markdown (and the dataset card) carry it base64-encoded in a trailing
`<!-- synthguard-report ... -->` comment: base64 has no `-`, so the comment cannot end early.
Renderers escape every report string, so the marker can only appear where they put it.
"""

from __future__ import annotations

import base64
import json
import textwrap

from pydantic import ValidationError

from synthguard.ledger.report.model import TransparencyReport
from synthguard.provenance.errors import InputError

HTML_OPEN = '<script type="application/json" id="synthguard-report">'
HTML_CLOSE = "</script>"
MARKDOWN_OPEN = "<!-- synthguard-report"
MARKDOWN_CLOSE = "-->"
_BASE64_LINE = 76

_HTML_UNSAFE = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"})


def html_data_block(report: TransparencyReport) -> str:
    """The `<script type="application/json">` element that carries the report in HTML."""
    return HTML_OPEN + "\n" + report.to_json().translate(_HTML_UNSAFE) + HTML_CLOSE


def markdown_data_comment(report: TransparencyReport) -> str:
    """The HTML comment that carries the report in Markdown: base64 of its JSON."""
    encoded = base64.b64encode(report.to_json().encode("utf-8")).decode("ascii")
    body = "\n".join(textwrap.wrap(encoded, _BASE64_LINE))
    return f"{MARKDOWN_OPEN}\n{body}\n{MARKDOWN_CLOSE}"


def embedded_report(text: str) -> TransparencyReport:
    """The report embedded in an HTML or Markdown rendering (or a dataset card).

    Raises InputError when there is none, more than one, or it does not parse as a report.
    """
    blocks = _between(text, HTML_OPEN, HTML_CLOSE)
    comments = _between(text, MARKDOWN_OPEN, MARKDOWN_CLOSE)
    if len(blocks) + len(comments) == 0:
        raise InputError(
            "no embedded synthguard report: expected a "
            '<script type="application/json" id="synthguard-report"> element (HTML) '
            "or a <!-- synthguard-report --> comment (Markdown)"
        )
    if len(blocks) + len(comments) > 1:
        raise InputError("more than one embedded synthguard report")
    if blocks:
        payload: str = blocks[0]
    else:
        payload = _from_base64(comments[0])
    try:
        data = json.loads(payload)
    except json.JSONDecodeError as exc:
        raise InputError(f"the embedded synthguard report is not JSON: {exc}") from None
    try:
        return TransparencyReport.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "(top level)"
        raise InputError(
            f"the embedded synthguard report is not a valid report: {where}: {first['msg']}"
            f" ({exc.error_count()} error{'s' if exc.error_count() != 1 else ''})"
        ) from None


def _between(text: str, opening: str, closing: str) -> list[str]:
    """What stands between each `opening` and the first `closing` after it, left to right.
    By `str.find`, in time linear in the text: a lazy regex retried from each of thousands of
    openings without a closing read the rest of the text from every one (a report of 700 KB
    took over 30 s to refuse)."""
    found: list[str] = []
    at = text.find(opening)
    while at != -1:
        start = at + len(opening)
        end = text.find(closing, start)
        if end == -1:
            break
        found.append(text[start:end])
        at = text.find(opening, end + len(closing))
    return found


def _from_base64(body: str) -> str:
    try:
        raw = base64.b64decode("".join(body.split()), validate=True)
        return raw.decode("utf-8")
    except ValueError as exc:  # binascii.Error, UnicodeDecodeError, or a non-ASCII body
        raise InputError(f"the embedded synthguard report is not base64 JSON: {exc}") from None
