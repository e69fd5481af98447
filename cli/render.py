"""How results read on a terminal: plain text, stable enough to grep, no colour needed."""

from __future__ import annotations

import base64
import shlex
import shutil
import sys
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

from synthguard.cli.demo import DEMO_PASSPHRASE, DemoResult
from synthguard.cli.passphrase import PASSPHRASE_ENV
from synthguard.cli.recording import RecordResult
from synthguard.ledger.home import Home
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


def _plural(count: int, word: str, plural: str | None = None) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {plural or word + 's'}"


def _root(checkpoint: Checkpoint) -> str:
    return base64.b64encode(checkpoint.root).decode("ascii")


def verify_summary(report: VerifyReport) -> str:
    """The lines `synthguard verify` prints on success."""
    lines = [
        f"ok: {_plural(report.size, 'entry', 'entries')} verified "
        f"({_plural(report.keys, 'key')}, {_plural(report.checkpoints, 'checkpoint')})"
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


def record_summary(result: RecordResult) -> str:
    """The line `synthguard record` prints on stdout."""
    total = result.total + result.skipped
    return (
        f"recorded {result.summary.recorded} of {_plural(total, 'sample')} from {result.path} "
        f"(run {result.run_id}); the ledger holds {_plural(result.size, 'entry', 'entries')}, "
        f"checkpoint at {result.checkpoint.size}"
    )


def bad_rows(result: RecordResult) -> list[str]:
    """One stderr line per listed bad row: `synthguard: FILE:LINE: reason` (or `row N` for
    tables), then how many more there were."""
    listed = result.summary.bad
    if result.unit == "line":
        lines = [f"synthguard: {result.path}:{n}: {error}" for n, error in listed]
    else:
        lines = [f"synthguard: {result.path}: row {n}: {error}" for n, error in listed]
    if result.bad > len(listed):
        more = result.bad - len(listed)
        unit = result.unit if more == 1 else f"{result.unit}s"
        lines.append(f"synthguard: {result.path}: {more:,} more bad {unit}, not listed")
    return lines


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


def program() -> str:
    """How to call synthguard from here: the plain name when it is on PATH."""
    if shutil.which("synthguard"):
        return "synthguard"
    argv0 = Path(sys.argv[0])
    return str(argv0) if argv0.name == "synthguard" else "synthguard"


def demo_summary(result: DemoResult) -> str:
    """What `synthguard demo` prints: where everything is, and what to try next."""
    prog = program()
    home = shlex.quote(str(result.home))
    kept = shlex.quote(str(result.checkpoint_path))
    secret = (
        f"the demo passphrase {DEMO_PASSPHRASE!r} (not a secret: demo only)"
        if result.demo_passphrase
        else f"${PASSPHRASE_ENV}"
    )
    report = result.report
    tries = [
        (f"{prog} ledger show", "the last entries"),
        (f"{prog} ledger show 1", "one signed record, decoded"),
        (f"{prog} ledger prove 1", "its inclusion proof"),
        (f"{prog} verify --checkpoint {kept}", "and that history before it is intact"),
        (f"{prog} keys export", "the public key: PEM and signed-note vkey"),
        (f"{prog} ledger export > ledger.jsonl", "every entry, one JSON line each"),
        (f"{prog} quarantine list", "what the guards held back, and why"),
        (
            f"{prog} release verify {shlex.quote(str(result.release.out))} "
            f"--key {shlex.quote(str(result.public_key_path))}",
            "check the release as a recipient would",
        ),
        (
            f"{prog} audit --report {shlex.quote(str(result.report_path))} "
            f"--release {shlex.quote(str(result.release.out))}",
            "recompute every figure of the report",
        ),
    ]
    # Comments line up beside the short commands; a long one gets its comment on the next line.
    width = max(len(command) for command, _ in tries if len(command) <= _SHORT_COMMAND)
    events = ", ".join(f"{event} {count}" for event, count in result.events.items())
    lines = [
        f"synthguard demo: recorded {result.samples} samples from the built-in generator "
        "(wrapped with @track) and a critic/reviser pass over a few of them, signed and "
        f"verified: {verify_summary(report).splitlines()[0].removeprefix('ok: ')}",
        "",
        f"  records      {result.recorded}: {events}",
        f"  folder       {result.directory}",
        f"  home         {result.home}  (config.json, keys/, the ledger)",
        f"  ledger       {shown_url(result.db_url)}",
        f"  signing key  {result.key_path}",
        f"               {result.key_id}",
        f"               encrypted with {secret}",
        f"  samples      {result.samples_path}  (the generated rows, JSONL)",
        f"  checkpoint   {result.checkpoint_path}  (the latest signed checkpoint, kept outside)",
        f"  screened     {result.screening.accepted_path.parent}  "
        f"({len(result.screening.result.accepted)} accepted, "
        f"{len(result.screening.result.quarantined)} quarantined, "
        f"{result.screening.recorded} signed verdicts)",
        "               quarantined by rule: "
        + ", ".join(
            f"{count.info.family}/{rule} {n}"
            for count in result.screening.result.funnel
            for rule, n in sorted(count.by_rule.items())
        ),
        "               (dedup/near: the built-in generator's own template rows, where "
        '"capital of Japan" and "capital of Norway" really are near copies)',
        f"  review       {len(result.draw.selected)} of {result.draw.frame} samples drawn "
        f"(rate {result.draw.rate:g}, seed {result.draw.seed}, stratified); "
        f"{result.reviewed_bad} judged bad by the demo's stand-in reviewer",
        f"  release      {result.release.out}  ({result.release_check.samples} samples, "
        f"manifest signed by the ledger key; verified offline against {result.public_key_path})",
        f"  report       {result.report_path}  (transparency report, EU template layout; "
        "open it in a browser)",
        "",
        "Planted attacks and the guard that caught each:",
        *(
            f"  {name:<24} {', '.join(rules) if rules else 'NOT CAUGHT'}"
            for name, rules in result.planted.items()
        ),
        "",
        "Next, try:",
        f"  export SYNTHGUARD_HOME={home}",
        *(line for command, what in tries for line in _command_lines(command, what, width)),
        *_command_lines(
            f"{prog} lineage {result.lineage_id}",
            "a revision's ancestry: chosen candidate, then its task",
            width,
        ),
    ]
    if result.demo_passphrase:
        lines.append(
            "Commands that sign (record, screen, review, release create, quarantine release, "
            "keys generate|rotate|revoke) need "
            f"{PASSPHRASE_ENV}={shlex.quote(DEMO_PASSPHRASE)}."
        )
    return "\n".join(lines)


_SHORT_COMMAND = 60


def _command_lines(command: str, what: str, width: int) -> list[str]:
    if len(command) <= width:
        return [f"  {command:<{width}}  # {what}"]
    return [f"  {command}", f"  {'':<{width}}  # {what}"]


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
