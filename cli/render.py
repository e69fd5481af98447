"""How results read on a terminal: plain text, stable enough to grep, no colour needed.

These render the ledger's own results; a command's own result type (`record`, `demo`) is
rendered beside its command, so that this module imports no command.
"""

from __future__ import annotations

import base64
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from synthguard.ledger.home import Home, Joined
from synthguard.ledger.log import (
    Checkpoint,
    EntryView,
    KeyRow,
    Ledger,
    LineageEntry,
    LineageNode,
    VerifyReport,
    shown_url,
)


def plural(count: int, word: str, many: str | None = None) -> str:
    """`1 word`, `2 words` (or `2 many`)."""
    return f"{count} {word}" if count == 1 else f"{count} {many or word + 's'}"


def _root(checkpoint: Checkpoint) -> str:
    return base64.b64encode(checkpoint.root).decode("ascii")


def verify_summary(report: VerifyReport) -> str:
    """The lines `synthguard verify` prints on success."""
    lines = [
        f"ok: {plural(report.size, 'entry', 'entries')} verified "
        f"({plural(report.keys, 'key')}, {plural(report.checkpoints, 'checkpoint')})"
    ]
    if report.latest is not None:
        lines.append(
            f"latest checkpoint: {report.latest.size} entries, root {_root(report.latest)}"
        )
    if report.home is not None:
        lines.append(
            f"home checkpoint: the ledger extends the one this home last signed "
            f"({report.home.size} entries, root {_root(report.home)})"
        )
    if report.kept is not None:
        lines.append(
            f"kept checkpoint: the ledger extends it ({report.kept.size} entries, "
            f"root {_root(report.kept)})"
        )
    lines.extend(f"note: {note}" for note in report.notes)
    return "\n".join(lines)


def entry_table(size: int, origin: str, entries: Sequence[EntryView]) -> str:
    """The compact table of `synthguard ledger show`."""
    lines = [f"ledger {origin}: {size} entries" + (", last 20:" if size > len(entries) else ":")]
    lines.append(f"{'SEQ':>6}  {'TIME':<27}  {'EVENT':<12}  SAMPLE / KEY")
    for entry in entries:
        subject = entry.sample_id or entry.key_id
        lines.append(f"{entry.seq:>6}  {entry.time:<27}  {entry.event or '-':<12}  {subject}")
    return "\n".join(lines)


def key_table(rows: Sequence[KeyRow], active: str, held: Collection[str]) -> str:
    """The table of `synthguard keys list`: the key this home signs with is starred and is the
    only `active` one; another key the ledger lets sign `may sign`; who holds each key."""
    lines = [f"  {'KEY ID':<71}  {'STATUS':<8}  {'ADDED':>6}  {'ENDED':>6}  HELD BY"]
    for row in rows:
        mark = "*" if row.key_id == active else " "
        status = "may sign" if row.status == "active" and row.key_id != active else row.status
        ended = "-" if row.ended_seq is None else str(row.ended_seq)
        holder = "this home" if row.key_id in held else "-"
        lines.append(
            f"{mark} {row.key_id:<71}  {status:<8}  {row.added_seq:>6}  {ended:>6}  {holder}"
        )
    return "\n".join(lines)


def lineage_tree(node: LineageNode) -> str:
    """The indented ancestry tree of `synthguard lineage`: each sample, its records, its parents."""
    lines: list[str] = []

    def show(current: LineageNode, lead: str, indent: str) -> None:
        mark = ""
        if current.missing:
            mark = "  (not in the ledger)"
        elif current.repeated:
            mark = "  (shown above)"
        lines.append(f"{lead}{current.sample_id}{mark}")
        bar = "│  " if current.parents else "   "
        notes = [] if current.repeated else current.notes
        lines.extend(f"{indent}{bar}{lineage_line(entry)}" for entry in [*current.made, *notes])
        for i, parent in enumerate(current.parents):
            last = i == len(current.parents) - 1
            show(parent, indent + ("└─ " if last else "├─ "), indent + ("   " if last else "│  "))

    show(node, "", "")
    return "\n".join(lines)


def lineage_line(entry: LineageEntry) -> str:
    """One record of a lineage tree: event, who, what, depth, seq and time."""
    record = entry.record
    detail = record.detail
    parts = [f"{record.event.value:<9}"]
    if record.generator is not None:
        model = record.generator.model
        if record.generator.version:
            model += f" {record.generator.version}"
        parts.append(f"by {record.generator.name} ({model})")
    if record.event == "reviewed" and detail.get("selected"):
        parts.append(
            f"selected for review (draw {_short(detail.get('draw'))}, stratum "
            f"{detail.get('stratum')})"
        )
    elif record.event == "reviewed":
        note = f" ({detail['note']})" if detail.get("note") else ""
        parts.append(f"by {detail.get('reviewer')}: {detail.get('verdict')}{note}")
    elif record.event == "screened":
        parts.extend(_screening(detail))
    elif record.generator is None:
        parts.append(record.origin.value)
    if "score" in detail:
        parts.append(f"score {detail['score']}")
    if "chosen" in detail and "rejected" in detail:
        parts.append(f"chose {_short(detail['chosen'])} over {_short(detail['rejected'])}")
    parts.append(f"depth {record.depth}")
    parts.append(f"seq {entry.seq}")
    parts.append(record.time)
    return "  ".join(parts)


def _screening(detail: Mapping[str, Any]) -> list[str]:
    """A screening's outcome, with the rules that quarantined it; then each copy's (a later
    row of the same content, which the same record answers for)."""
    parts = [_outcome(detail)]
    copies = detail.get("copies")
    for copy in copies if isinstance(copies, list) else []:
        if isinstance(copy, Mapping):
            parts.append(f"copy at line {copy.get('line')}: {_outcome(copy)}")
    return parts


def _outcome(detail: Mapping[str, Any]) -> str:
    outcome = str(detail.get("outcome", "no outcome"))
    verdicts = detail.get("verdicts")
    rules = [
        f"{verdict.get('guard')}/{verdict.get('rule')}"
        for verdict in (verdicts if isinstance(verdicts, list) else [])
        if isinstance(verdict, Mapping) and verdict.get("passed") is False
    ]
    return f"{outcome} ({', '.join(dict.fromkeys(rules))})" if rules else outcome


def _short(sample_id: object) -> str:
    return str(sample_id)[:19]


def join_summary(home: Home, url: str, joined: Joined) -> str:
    """What `synthguard join` prints: the new key, and what a key holder must do with it."""
    trust = (
        "pinned (--root-key)"
        if joined.pinned
        else "as the database names it (no --root-key): compare it with the founding home's"
    )
    return "\n".join(
        [
            f"joined {shown_url(url)} as {home.path}",
            f"  signing key  {joined.key_id}",
            f"               {home.key_path(joined.key_id)} (encrypted, mode 0600)",
            f"  public key   {joined.public_key_file}",
            f"  genesis key  {joined.root_key}, {trust}",
            "next: on a machine holding an active key of this ledger, run",
            f"  synthguard keys add {joined.public_key_file.name}",
            "with that file copied over; until then the ledger refuses this home's records",
        ]
    )


def init_summary(home: Home, ledger: Ledger) -> str:
    """What `synthguard init` prints."""
    return "\n".join(
        [
            f"initialised {home.path}",
            f"  ledger       {shown_url(ledger.url)}",
            f"  origin       {ledger.origin}",
            f"  checkpoints  with every batch, kept every {ledger.checkpoint_interval} entries",
            f"  signing key  {ledger.key_id}",
            f"               {home.key_path(ledger.key_id)} (encrypted, mode 0600)",
        ]
    )
