"""What the command line writes: text with the characters a terminal would act on written as
escapes.

A ledger, a release or an input file is not the user's to trust, and its text reaches the
terminal in lineage trees, entry tables, summaries and error lines: a generator name holding
ESC sequences could recolour, move or erase what is shown (an `ok` line over a failure), and
bidirectional controls could reorder it (Trojan Source, CVE-2021-42574). Every line the CLI
writes passes `printable`, which writes C0 controls (line feed and tab excepted), DEL, C1
controls, the bidirectional marks, embeddings, overrides and isolates, and lone surrogates (input
that was no UTF-8) as `\\uXXXX`. Inside JSON output that is the JSON escape of the same
character, so nothing is lost; elsewhere it is shown, not obeyed.
"""

from __future__ import annotations

import re
import sys

import click

PROG = "synthguard"
"""The name the command line writes its lines as."""
INTERRUPTED = 130
"""The exit status of a command stopped by Ctrl-C (128 + SIGINT, as a shell reports it)."""

_ACTIVE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)


def printable(text: str) -> str:
    """The text with every character a terminal would act on, or could not encode, escaped."""
    return _ACTIVE.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def echo(message: str = "", *, err: bool = False, nl: bool = True) -> None:
    """`click.echo` of `printable(message)`: the one way the CLI writes text."""
    click.echo(printable(message), err=err, nl=nl)


def interrupted() -> SystemExit:
    """Say that Ctrl-C stopped the command; the exit to raise, status 130."""
    sys.stderr.write(f"{PROG}: interrupted\n")
    return SystemExit(INTERRUPTED)
