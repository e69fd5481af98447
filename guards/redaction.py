"""`screen --redact`: a sample held back only for personal data ships as a redacted revision.

The privacy guard's default action is quarantine. With redaction chosen, each sample that the
screen quarantined for personal data or secrets alone (every failed verdict is the privacy
guard's, or the ledger's hold of an earlier privacy quarantine) gets a redacted copy: every span
the guard found replaced by a typed placeholder (`[EMAIL]`), every other character as it was.
The original stays quarantined; the copy is recorded as a signed `revised` record whose parent
is the original and whose detail names each span removed (field, offsets, kind, rule: never the
value), so lineage shows that and why the sample changed. The copy is then screened itself by
the privacy guard (the placeholders must leave nothing behind) and by every per-row guard that
ran after it (toxicity, the ledger's hold): a copy that fails is quarantined like any sample.

A copy whose content equals a sample already in the screen is not screened twice: the
original's record says so. An original with no making record in the ledger cannot be revised
(a revision's depth follows its parent's): it stays quarantined, and the verdict says why.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from synthguard.guards.privacy import Finding, PrivacyGuard, redact
from synthguard.guards.quarantine import HELD_GUARD
from synthguard.guards.screen import Screened, ScreenResult, screen_rows
from synthguard.guards.spill import Spill
from synthguard.guards.verdict import Guard, Verdict
from synthguard.provenance.reader import Row
from synthguard.provenance.record import REDACTION, Generator
from synthguard.provenance.recorder import Recorder
from synthguard.provenance.sample import FieldMapping, Sample

REDACTED_RULE = "redacted"
"""The passing privacy verdict on an original whose redacted copy was made."""
NOT_REDACTED_RULE = "not-redacted"
"""The passing privacy verdict on an original that could not be revised (it stays held)."""


@dataclass(frozen=True, slots=True)
class Redaction:
    """One original, its redacted copy, and the spans that were replaced."""

    original: Sample
    copy: Sample
    findings: tuple[Finding, ...]
    line: int

    def kinds(self) -> dict[str, int]:
        """How many spans of each kind were replaced."""
        return _kinds(self.findings)

    def detail(self, guard: PrivacyGuard) -> dict[str, Any]:
        """The `revised` record's detail: what was removed, where, and by which rule."""
        return {
            REDACTION: {
                "guard": asdict(guard.info),
                "kinds": self.kinds(),
                "spans": [
                    {
                        "field": f.field,
                        "start": f.start,
                        "end": f.end,
                        "kind": f.kind,
                        "rule": f.rule,
                    }
                    for f in self.findings
                ],
            }
        }


@dataclass
class RedactionResult:
    """What redaction made: the copies, their own screen, and the originals left as they were.

    The copies and the notes wait on disk beside the screen's rows (`Spill`) until `close`."""

    redactions: Spill
    """Each `Redaction`, in the order of the originals' rows."""
    screened: ScreenResult
    guards: list[Guard]
    unrevisable: int
    notes: Spill
    """(row ordinal, [the passing verdict that original gains]), in row order: for
    `ScreenResult.annotated`."""
    kind_counts: dict[str, int]

    @property
    def made(self) -> int:
        """How many copies were made (and screened, and are signed as revisions)."""
        return self.redactions.items

    def kinds(self) -> dict[str, int]:
        """Spans replaced, by kind, over every copy."""
        return dict(sorted(self.kind_counts.items()))

    def close(self) -> None:
        """Delete the copies, the notes and the copies' screened rows (their counts stay)."""
        self.redactions.close()
        self.notes.close()
        self.screened.close()


def reviser(guard: PrivacyGuard) -> Generator:
    """The program a redaction's `revised` record names as its author."""
    return Generator(
        name="privacy-redaction",
        model="synthguard.guards.privacy",
        version=guard.info.version,
        parameters={"config_digest": guard.info.config_digest, "placeholders": "typed"},
    )


def redact_quarantined(
    result: ScreenResult,
    guards: Sequence[Guard],
    recorder: Recorder,
    mapping: FieldMapping,
    *,
    progress: Callable[[int], None] | None = None,
    spill_dir: Path | None = None,
) -> RedactionResult | None:
    """Make, screen and prepare the redacted copies of `result`'s privacy-only quarantines.

    Returns None when no privacy guard ran. Each original's row gains a passing verdict that
    says what became of it (the copy's id, or why there is none): `RedactionResult.notes`,
    for `ScreenResult.annotated`. Memory holds a block of originals at a time and the copies'
    ids; the copies and notes go to disk, as the screen's rows do."""
    privacy = next((g for g in guards if isinstance(g, PrivacyGuard)), None)
    if privacy is None:
        return None
    made, notes, redactions = Spill(spill_dir), Spill(spill_dir), Spill(spill_dir)
    try:
        unrevisable = 0
        wanted: set[str] = set()
        for block in _held_blocks(result, privacy):
            # One look-up for a block's depths, not one query each.
            recorder.prefetch_depths(_sample(item).id for _, item, _ in block)
            for ordinal, item, findings in block:
                original = _sample(item)
                if recorder.depth_of(original.id) is None:
                    unrevisable += 1
                    why = (
                        "no making record in the ledger: a revision needs its parent recorded "
                        "(synthguard record)"
                    )
                    note = _note(privacy, original.id, NOT_REDACTED_RULE, {"why": why})
                    made.add((ordinal, None, note))
                    continue
                copy = redact(original, findings, mapping)
                wanted.add(copy.id)
                redaction = Redaction(original, copy, tuple(findings), item.row.number)
                made.add((ordinal, redaction, None))
        made.seal()
        # A copy whose content is already a sample of the screen is not screened again.
        seen = {
            item.row.sample.id
            for item in result
            if item.row.sample is not None and item.row.sample.id in wanted
        }
        kinds: Counter[str] = Counter()
        for ordinal, redaction, unrevised in made:
            if redaction is None:
                notes.add((ordinal, [unrevised]))
                continue
            detail: dict[str, Any] = {"redacted_as": redaction.copy.id, "kinds": redaction.kinds()}
            if redaction.copy.id in seen:
                detail["copy_of"] = "a sample already in this screen"
            else:
                seen.add(redaction.copy.id)
                redactions.add(redaction)
                kinds.update(redaction.kinds())
            notes.add((ordinal, [_note(privacy, redaction.original.id, REDACTED_RULE, detail)]))
        notes.seal()
        redactions.seal()
        later = _after(guards, privacy)
        copies = (Row(r.line, r.copy.row, r.copy, None) for r in redactions)
        screened = screen_rows(copies, later, progress=progress, spill_dir=spill_dir)
    except BaseException:
        notes.close()
        redactions.close()
        raise
    finally:
        made.close()
    return RedactionResult(redactions, screened, later, unrevisable, notes, dict(kinds))


HELD_BLOCK = 4096
"""Originals redacted together: one depth look-up each."""


def _held_blocks(
    result: ScreenResult, privacy: PrivacyGuard
) -> Iterator[list[tuple[int, Screened, list[Finding]]]]:
    """The rows held for personal data alone, with their findings, in blocks, in row order."""
    block: list[tuple[int, Screened, list[Finding]]] = []
    for ordinal, item in enumerate(result):
        findings = _only_private(item, privacy)
        if findings:
            block.append((ordinal, item, findings))
            if len(block) == HELD_BLOCK:
                yield block
                block = []
    if block:
        yield block


def record_revisions(redacted: RedactionResult, recorder: Recorder) -> int:
    """Sign one `revised` record per copy (parent: the original); return how many."""
    privacy = next(g for g in redacted.guards if isinstance(g, PrivacyGuard))
    author = reviser(privacy)
    with recorder.batch():  # committed a batch at a time, not one per copy
        for redaction in redacted.redactions:
            recorder.revised(
                redaction.copy, redaction.original.id, author, detail=redaction.detail(privacy)
            )
    return redacted.made


def _only_private(item: Screened, privacy: PrivacyGuard) -> list[Finding] | None:
    """The privacy findings of a row quarantined for them alone, else None."""
    failed = [v for v in item.verdicts if not v.passed]
    if not failed or item.row.sample is None:
        return None
    own = [v for v in failed if v.guard == privacy.info]
    held = [v for v in failed if v.guard == HELD_GUARD]
    if len(own) + len(held) != len(failed):
        return None
    if any(not _held_for_privacy(v) for v in held):
        return None
    findings = privacy.findings_of(own)
    if not findings:
        # Held from an earlier screen: this screen's privacy guard did not see the row (the
        # funnel stops at the first failure), so look again.
        findings = privacy.findings_of(privacy.check([item.row.sample]))
    return findings or None


def _sample(item: Screened) -> Sample:
    sample = item.row.sample
    assert sample is not None, "only readable rows are quarantined for personal data"
    return sample


def _held_for_privacy(verdict: Verdict) -> bool:
    rules = verdict.detail.get("rules", [])
    return bool(rules) and all(str(rule).startswith("privacy/") for rule in rules)


def _after(guards: Sequence[Guard], privacy: PrivacyGuard) -> list[Guard]:
    """The privacy guard and the per-row guards after it: what screens a copy."""
    start = list(guards).index(privacy)
    return [privacy] + [g for g in guards[start + 1 :] if not callable(getattr(g, "finish", None))]


def _kinds(findings: Sequence[Finding]) -> dict[str, int]:
    return dict(sorted(Counter(f.kind for f in findings).items()))


def _note(guard: PrivacyGuard, sample_id: str, rule: str, detail: dict[str, Any]) -> Verdict:
    return Verdict(sample_id, guard.info, rule, passed=True, score=0.0, detail=detail)
