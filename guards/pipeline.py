"""The default screen: which guards run, in which order, and one call that screens a file.

Order (ARCHITECTURE.md): invisible characters and mixed scripts first, so a laced copy is
reported as the attack it is rather than as a duplicate; then exact and near duplicates (the
persisted index in the ledger home); contamination against the protected sets; the remaining
backdoor rules (injection payloads, trigger statistics); toxicity last, the costliest.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from synthguard.guards.dedup import DedupGuard, DedupIndex
from synthguard.guards.distributed import screen_rows_on
from synthguard.guards.protected_sets import ProtectedSet, resolve_protected
from synthguard.guards.quarantine import HeldGuard
from synthguard.guards.screen import (
    Screened,
    ScreenResult,
    Tally,
    record_verdicts,
    screen_rows,
    write_outputs,
)
from synthguard.guards.self_instruct import (
    FILTER_NAME,
    SIMILARITY_NAME,
    SelfInstructFilter,
    SelfInstructSimilarity,
    instruction_of,
)
from synthguard.guards.verdict import Guard, GuardInfo
from synthguard.ledger.home import Home
from synthguard.ledger.log import Ledger
from synthguard.provenance.engine import Engine
from synthguard.provenance.errors import InputError
from synthguard.provenance.reader import read_samples
from synthguard.provenance.recorder import Recorder
from synthguard.provenance.sample import FieldMapping

if TYPE_CHECKING:
    from synthguard.guards.redaction import Redaction, RedactionResult

# The other guards' modules are imported where the guard is built (`default_guards`), and
# redaction's where it runs: a screen loads only what it runs (the privacy guard's
# detect-secrets and phonenumbers, the backdoor and n-gram guards' modules; what that saves a
# `--guards dedup` screen's start, `benchmarks/import_bench.py` measures).

GUARD_NAMES = ("unicode", "dedup", "decontamination", "backdoor", "privacy", "toxicity")
"""The default screen, in funnel order."""
ALL_GUARDS = (
    "unicode",
    "self-instruct",
    "dedup",
    "semantic-dedup",
    "decontamination",
    "semantic-decontamination",
    "backdoor",
    "privacy",
    "toxicity",
)
"""Every guard `--guards` may name, in funnel order; `self-instruct` (Self-Instruct's own
filters: length, keywords, ROUGE-L > 0.7 against the pool) and the `semantic-*` guards
(sentence embeddings: paraphrases of earlier samples and of protected items; the `semantic`
extra) run only when asked for."""
UNICODE_GUARD_NAME = "unicode-characters"
"""The guard name (in verdicts) of the backdoor guard's character rules, `--guards unicode`."""
BACKDOOR_GUARD_NAME = "backdoor"
"""The guard name of the backdoor guard's injection and trigger rules, `--guards backdoor`."""

Progress = Callable[[int], None]

_OPTION_NAMES = {
    UNICODE_GUARD_NAME: "unicode",
    BACKDOOR_GUARD_NAME: "backdoor",
    FILTER_NAME: "self-instruct",
    SIMILARITY_NAME: "self-instruct",
    "semantic-dedup": "semantic-dedup",
    "semantic-decontamination": "semantic-decontamination",
}


def option_name(info: GuardInfo) -> str:
    """The name `--guards` takes for the guard `info` describes; the guards that always run
    go by their family (`input`, the reader; `quarantine`, what the ledger holds)."""
    return _OPTION_NAMES.get(info.name, info.family)


@dataclass
class Screening:
    """What `screen_file` did, and where its outputs are. The results' rows wait on disk
    beside the outputs (`synthguard.guards.spill`) until `close`, or the end of a `with`."""

    result: ScreenResult
    accepted_path: Path
    quarantined_path: Path
    recorded: int
    redaction: RedactionResult | None = None
    """With `redact`: the redacted copies, their own screen, and how many originals could not
    be revised."""
    unmade: int = 0
    """Readable rows that no making record in the ledger accounts for (0 without a ledger)."""
    unread: dict[str, int] = field(default_factory=dict)
    """Per field outside the samples' content (which no guard reads), the rows holding it,
    most first."""

    def close(self) -> None:
        """Delete the rows the results read back (their counts stay)."""
        self.result.close()
        if self.redaction is not None:
            self.redaction.close()

    def __enter__(self) -> Screening:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def default_guards(
    home: Home,
    *,
    protected: Iterable[Path | str | ProtectedSet] = (),
    names: Iterable[str] = GUARD_NAMES,
    toxicity_checkpoint: Path | None = None,
    toxicity_ensemble: bool = False,
    seed_tasks: Iterable[Path] = (),
    region: str = "US",
    db: str | None = None,
    on_wait: Callable[[str], None] | None = None,
    ledger: Ledger | None = None,
) -> tuple[list[Guard], list[str]]:
    """Build the guards to run, in screen order, and one line about each that the user should
    see (which toxicity backend runs, which protected sets and seed tasks were loaded).

    `protected` takes paths and the names of shipped benchmarks (`humaneval`); `region` is the
    privacy guard's default region for phone numbers written without a country code. `db`
    (the `--db` given, if any) says where the ledger is, and with it the dedup index
    (`DedupIndex.at`); `on_wait` hears when a shared index keeps this screen waiting. With
    `ledger` (open with the home's key) the index is sealed: its signed head must check out."""
    wanted = set(names)
    unknown = wanted - set(ALL_GUARDS)
    if unknown:
        raise InputError(
            f"unknown guard(s) {', '.join(sorted(unknown))}; choose from {', '.join(ALL_GUARDS)}"
        )
    sets = [p if isinstance(p, ProtectedSet) else resolve_protected(p) for p in protected]
    guards: list[Guard] = []
    notes: list[str] = []
    if "unicode" in wanted or "backdoor" in wanted:
        from synthguard.guards.backdoor import BackdoorConfig, BackdoorGuard
    if "unicode" in wanted:
        guards.append(
            BackdoorGuard(
                BackdoorConfig(injection=False, statistics=False), name=UNICODE_GUARD_NAME
            )
        )
    if "self-instruct" in wanted:
        seeds = [instruction for path in seed_tasks for instruction in _instructions(path)]
        guards += [SelfInstructFilter(), SelfInstructSimilarity(seeds)]
        notes.append(f"self-instruct: a pool of {len(seeds)} seed instructions")
    if "dedup" in wanted:
        kept = DedupIndex.at(home, db=db, on_wait=on_wait, ledger=ledger)
        guards.append(DedupGuard(kept))
        if kept.unsigned:
            notes.append(
                f"dedup: the index{kept.where} has no signed head (an older synthguard saved "
                "it); this screen's save signs one, and from then on a change made without a "
                "key is refused"
            )
    encoder = None
    if wanted & {"semantic-dedup", "semantic-decontamination"}:
        from synthguard.guards.embedding import SentenceEncoder
        from synthguard.guards.semantic import (
            SemanticDecontaminationGuard,
            SemanticDedupGuard,
            SemanticIndex,
        )
    if "semantic-dedup" in wanted:
        encoder = SentenceEncoder.load()
        guards.append(SemanticDedupGuard(encoder))
        notes.append(f"semantic-dedup: {encoder.card.summary()}")
    reading = wanted & {"decontamination", "semantic-decontamination"}
    if reading:
        from synthguard.guards.decontamination import (
            DecontaminationGuard,
            ProtectedIndex,
            protected_items,
        )
    entries = [e for s in sets for e in protected_items(s.path, s.id_field)] if reading else []
    sources = ", ".join(str(s.path) for s in sets)
    if "decontamination" in wanted and sets:
        guards.append(DecontaminationGuard(ProtectedIndex(entries)))
        notes.append(f"decontamination: {len(entries)} protected strings from {sources}")
    elif "decontamination" in wanted:
        notes.append("decontamination: no --protected set given, skipped")
    if "semantic-decontamination" in wanted and sets:
        encoder = encoder or SentenceEncoder.load()
        index = SemanticIndex(entries, encoder)
        guards.append(SemanticDecontaminationGuard(index))
        notes.append(
            f"semantic-decontamination: {len(index.items)} protected items from {sources}; "
            f"{encoder.card.summary()}"
        )
    elif "semantic-decontamination" in wanted:
        notes.append("semantic-decontamination: no --protected set given, skipped")
    if "backdoor" in wanted:
        guards.append(
            BackdoorGuard(BackdoorConfig(characters=False, scripts=False), name=BACKDOOR_GUARD_NAME)
        )
    if "privacy" in wanted:
        from synthguard.guards.privacy import PrivacyGuard

        guards.append(PrivacyGuard(region=region))
    if "toxicity" in wanted:
        from synthguard.guards.toxicity import ToxicityGuard

        toxicity = ToxicityGuard.auto(toxicity_checkpoint, ensemble=toxicity_ensemble)
        guards.append(toxicity)
        notes.append(toxicity.backend_description)
    return guards, notes


def _instructions(path: Path) -> list[str]:
    """The instructions of a seed-task file (any format the reader takes)."""
    found = []
    for row in read_samples(path):
        if row.sample is None:
            raise InputError(f"{path}:{row.number}: {row.error or 'unreadable row'}")
        instruction = instruction_of(row.sample)
        if instruction is not None:
            found.append(instruction)
    return found


def screen_file(
    path: Path,
    out_dir: Path,
    guards: list[Guard],
    recorder: Recorder,
    *,
    mapping: FieldMapping | None = None,
    fmt: str | None = None,
    progress: Progress | None = None,
    redact: bool = False,
    engine: Engine | None = None,
) -> Screening:
    """Screen every row of `path` into `out_dir`, sign the verdicts, keep the dedup index.

    Against a ledger, `HeldGuard` runs last: what the ledger holds in quarantine stays there.
    With `redact`, a sample quarantined for personal data alone also goes out as a redacted
    copy, signed as its revision (`synthguard.guards.redaction`); the copy follows its original
    in the outputs. With `engine`, the guards' costly work runs there
    (`synthguard.guards.distributed`), and everything written and signed is the same.
    """
    with ExitStack() as closing:
        for guard in guards:
            if isinstance(guard, DedupGuard):
                # A shared index stays locked from its opening until it is saved or closed:
                # a screen that fails lets the next one in.
                closing.callback(guard.index.close)
        if isinstance(recorder.ledger, Ledger):
            guards = [*guards, HeldGuard(recorder.ledger)]
        mapping = mapping or FieldMapping()
        rows = read_samples(path, mapping, fmt)
        # The rows wait beside the outputs while they are screened (`synthguard.guards.spill`).
        if engine is None:
            result = screen_rows(rows, guards, progress=progress, spill_dir=out_dir)
        else:
            result = screen_rows_on(engine, rows, guards, progress=progress, spill_dir=out_dir)
        made = Screening(result, out_dir / "accepted.jsonl", out_dir / "quarantined.jsonl", 0)
        failing = closing.enter_context(ExitStack())
        failing.callback(made.close)
        if redact:
            from synthguard.guards.redaction import record_revisions, redact_quarantined

            made.redaction = redact_quarantined(
                result, guards, recorder, mapping, progress=progress, spill_dir=out_dir
            )
        if made.redaction is not None:
            made.result = result.annotated(made.redaction.notes, out_dir)
            result.close()
        # What signing needs to know of the rows is noted as they are written out.
        tally = Tally(recorder.ledger if isinstance(recorder.ledger, Ledger) else None, mapping)
        made.accepted_path, made.quarantined_path = write_outputs(
            _with_copies(tally.watch(made.result), made.redaction), out_dir
        )
        made.unmade = tally.unmade
        made.unread = dict(tally.unread.most_common())
        made.recorded = record_verdicts(made.result, recorder, guards, tally)
        if made.redaction is not None:
            record_revisions(made.redaction, recorder)
            made.recorded += record_verdicts(
                made.redaction.screened, recorder, made.redaction.guards
            )
        recorder.flush()
        for guard in guards:
            if isinstance(guard, DedupGuard):
                # Only after the verdicts are signed: a crash before leaves the index as it was,
                # and the rerun sees these samples as new rather than as copies of themselves.
                guard.save()
        failing.pop_all()
        return made


def _with_copies(
    result: Iterable[Screened], redaction: RedactionResult | None
) -> Iterator[Screened]:
    """`result`'s rows with each redacted copy right after its original (both in row order)."""
    copies: Iterator[tuple[Redaction, Screened]] = iter(())
    if redaction is not None:
        copies = zip(redaction.redactions, redaction.screened, strict=True)
    upcoming = next(copies, None)
    for item in result:
        yield item
        if item.row.sample is None:
            continue
        while upcoming is not None and upcoming[0].line == item.row.number:
            yield upcoming[1]
            upcoming = next(copies, None)
