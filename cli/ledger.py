"""`synthguard ledger`: read the ledger, and keep its tree again in a home that lost its kept
checkpoint (`rekeep`). All output goes to stdout, so it can be piped.

The readers check no signatures: they show what the ledger claims, in forms a third party can
check offline (`synthguard verify`, or any RFC 6962 and DSSE verifier). What an entry says is
read from its signed payload, and stored content is shown only when its records sign it.
`rekeep` verifies the whole ledger before it keeps anything.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from synthguard.cli import render
from synthguard.cli.context import App, pass_app
from synthguard.cli.errors import PROG
from synthguard.cli.progress import progress_bar
from synthguard.cli.terminal import echo
from synthguard.ledger.log import (
    Checkpoint,
    EntryView,
    KeptCheckpoint,
    Ledger,
    Tree,
    records_for,
    verify_ledger,
)
from synthguard.provenance.canonical import digest_json
from synthguard.provenance.errors import InputError, VerificationError
from synthguard.provenance.named_file import read_named_text

RECENT = 20


_MAX_SEQ = 2**63 - 1
"""The largest position a database integer holds."""


@click.group(short_help="Show, export and prove entries; checkpoints.")
def ledger() -> None:
    """Show, export and prove ledger entries; print the latest checkpoint; keep it again."""


@ledger.command()
@click.argument("seq", type=click.IntRange(min=0, max=_MAX_SEQ), required=False)
@pass_app
def show(app: App, seq: int | None) -> None:
    """Show entry SEQ decoded as JSON, or without SEQ the last 20 entries and the size."""
    with app.open_ledger() as handle:
        if seq is not None:
            described = describe_entry(handle, seq)
            echo(json.dumps(described, indent=2, ensure_ascii=False))
            if "content_problem" in described:
                echo(f"{PROG}: warning: {described['content_problem']}", err=True)
            return
        size, entries = recent_entries(handle, RECENT)
        echo(render.entry_table(size, handle.origin, entries))


@ledger.command()
@pass_app
def export(app: App) -> None:
    """Stream every entry as JSON lines: seq, leaf (base64), leaf_hash (hex), envelope.

    `leaf` is the exact bytes hashed into the tree, `<seq>\\n<envelope>`; the leaf hash is
    SHA-256(0x00 || leaf).
    """
    with app.open_ledger() as handle:
        for line in export_lines(handle):
            echo(line)


@ledger.command()
@click.argument("seq", type=click.IntRange(min=0, max=_MAX_SEQ))
@pass_app
def prove(app: App, seq: int) -> None:
    """Print the inclusion proof of entry SEQ against the latest checkpoint, as JSON.

    Fields: index, tree_size, root (base64), leaf_hash (hex), audit_path (hex, bottom up, RFC
    9162), checkpoint (the signed note).
    """
    with app.open_ledger() as handle:
        echo(json.dumps(inclusion_proof(handle, seq), indent=2))


@ledger.command()
@pass_app
def checkpoint(app: App) -> None:
    """Print the latest signed checkpoint verbatim (keep it to use with `verify --checkpoint`)."""
    with app.open_ledger() as handle:
        echo(latest_checkpoint(handle).note, nl=False)


@ledger.command()
@click.option(
    "--checkpoint",
    "kept_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A checkpoint this home signed, kept elsewhere (`synthguard ledger checkpoint > FILE`): "
    "the ledger must extend it.",
)
@click.option(
    "--trust-database",
    is_flag=True,
    help="No such checkpoint: take the database's tree as it is (a rollback made before now "
    "goes unseen).",
)
@pass_app
def rekeep(app: App, kept_file: Path | None, trust_database: bool) -> None:
    """Keep the ledger's tree again as the checkpoint this home last signed.

    For a home whose kept checkpoint files (checkpoint.a.json, checkpoint.b.json,
    checkpoint.note) were lost: without them it refuses to sign and `verify` fails, since
    removing them is how a rolled-back database would otherwise pass. The whole ledger is
    verified first, against --checkpoint FILE, or with --trust-database as it is.
    """
    if (kept_file is None) == (not trust_database):
        raise click.UsageError("give --checkpoint FILE or --trust-database (one of them)")
    note = read_named_text(kept_file, "checkpoint", as_saved=True) if kept_file else None
    with app.open_ledger() as handle:
        kept, handle.kept = handle.kept, None  # what this replaces is not checked against
        replaced = _kept_size(kept)
        with progress_bar(handle.size, "verifying") as tick:
            verify_ledger(handle, kept_checkpoint=note, root_key_id=app.root_key(), progress=tick)
        handle.kept = kept
        signed = handle.rekeep()
    if signed is None:
        raise InputError("the ledger is empty: there is no tree to keep")
    was = f" (it kept one of {replaced} entries before)" if replaced is not None else ""
    echo(f"kept the ledger's checkpoint of {signed.size} entries as this home's{was}")


def _kept_size(kept: KeptCheckpoint | None) -> int | None:
    """The size of the tree a home keeps now, if its files read whole."""
    try:
        tree = kept.load(None) if kept is not None else None
    except (InputError, VerificationError):
        return None
    return tree.size if tree is not None else None


# -- read-only views: entries, the export stream, proofs -------------------------------------


def describe_entry(ledger: Ledger, seq: int) -> dict[str, Any]:
    """Return one entry as JSON: what its signed payload says, and the stored content when it
    is what the sample's records sign (else null, with `content_problem` saying why)."""
    entry = ledger.entry(seq)
    if entry is None:
        raise InputError(f"no entry {seq}: the ledger holds entries 0 to {ledger.size() - 1}")
    try:
        payload: Any = json.loads(base64.b64decode(json.loads(entry.envelope)["payload"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise VerificationError(f"entry {seq}: the envelope cannot be decoded", seq=seq) from exc
    body: dict[str, Any] = payload if isinstance(payload, dict) else {}
    event, sample_id = body.get("event", body.get("action")), body.get("sample_id")
    if (event, sample_id, body.get("time")) != (entry.event, entry.sample_id, entry.time):
        raise VerificationError(
            f"entry {seq}: its index columns differ from its signed payload (the database was "
            "edited; run `synthguard verify`)",
            seq=seq,
        )
    described: dict[str, Any] = {
        "seq": entry.seq,
        "time": body.get("time"),
        "key": entry.key_id,
        "type": entry.payload_type,
        "event": event,
        "sample": sample_id,
        "leaf_hash": entry.leaf_hash.hex(),
        "payload": payload,
        "content": None,
    }
    content = ledger.sample(sample_id) if isinstance(sample_id, str) else None
    if content is not None and isinstance(sample_id, str):
        signed = {found.record.digest for found in records_for(ledger, sample_id)}
        if digest_json(content) in signed:
            described["content"] = content
        else:
            described["content_problem"] = (
                "the stored content is not what this sample's records sign: it was changed in "
                "the database (run `synthguard verify`)"
            )
    return described


def recent_entries(ledger: Ledger, count: int) -> tuple[int, list[EntryView]]:
    """Return the ledger size and its last `count` entries, oldest first."""
    size = ledger.size()
    return size, list(ledger.entries(max(size - count, 0)))


def export_lines(ledger: Ledger) -> Iterator[str]:
    """Yield one JSON line per entry: seq, leaf (base64 of the exact leaf bytes), hash, envelope.

    `leaf` is `b"<seq>\\n" + envelope`; `leaf_hash` = SHA-256(0x00 || leaf) is what the tree holds.
    """
    for entry in ledger.entries():
        try:
            envelope = json.loads(entry.envelope)
        except (ValueError, RecursionError) as exc:
            raise VerificationError(
                f"entry {entry.seq}: the envelope cannot be decoded (the database was changed; "
                "run `synthguard verify`)",
                seq=entry.seq,
            ) from exc
        yield json.dumps(
            {
                "seq": entry.seq,
                "leaf": base64.b64encode(entry.leaf).decode("ascii"),
                "leaf_hash": entry.leaf_hash.hex(),
                "envelope": envelope,
            },
            separators=(",", ":"),
            ensure_ascii=False,
        )


def latest_checkpoint(ledger: Ledger) -> Checkpoint:
    """Return the ledger's latest checkpoint, or raise when it has none."""
    checkpoint = ledger.latest_checkpoint()
    if checkpoint is None:
        raise InputError("the ledger has no checkpoint yet")
    return checkpoint


def inclusion_proof(ledger: Ledger, seq: int) -> dict[str, Any]:
    """Return the RFC 9162 inclusion proof of entry `seq` against the latest checkpoint."""
    checkpoint = latest_checkpoint(ledger)
    if not 0 <= seq < checkpoint.size:
        raise InputError(
            f"entry {seq} is not covered by the latest checkpoint, which covers entries "
            f"0 to {checkpoint.size - 1}"
        )
    leaves = [entry.leaf_hash for entry in ledger.entries(0, checkpoint.size)]
    if len(leaves) != checkpoint.size:
        raise VerificationError(
            f"the latest checkpoint covers {checkpoint.size} entries but the ledger holds "
            f"{len(leaves)} of them (run `synthguard verify`)"
        )
    tree = Tree(leaves)
    if tree.root() != checkpoint.root:
        raise VerificationError(
            "the ledger's entries do not have the root of its latest checkpoint "
            "(run `synthguard verify`)"
        )
    return {
        "index": seq,
        "tree_size": checkpoint.size,
        "root": base64.b64encode(checkpoint.root).decode("ascii"),
        "leaf_hash": leaves[seq].hex(),
        "audit_path": [node.hex() for node in tree.inclusion_proof(seq, checkpoint.size)],
        "checkpoint": checkpoint.note,
    }
