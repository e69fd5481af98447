"""The streaming screen: rows read and screened a block at a time, held on disk, with the
verdicts and counts of a funnel that runs guard after guard over the whole input."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import poisoning
import pytest
from test_distributed_screen import mixed_corpus, outputs

from synthguard.guards import screen
from synthguard.guards.errors import GuardError
from synthguard.guards.screen import BATCH, Screened, blocks_of, screen_rows
from synthguard.guards.spill import Spill
from synthguard.guards.verdict import Guard, GuardInfo, Verdict
from synthguard.provenance.reader import Row, read_samples
from synthguard.provenance.sample import Sample, sample_from_row


def whole_input_funnel(rows: list[Row], guards: Sequence[Guard]) -> list[list[Verdict]]:
    """Each row's verdicts from the funnel run guard after guard over every row at once (the
    definition the streaming screen must meet): a per-row guard gets the rows every earlier
    guard let through, a dataset-level guard every readable row, then its `finish`."""
    verdicts: list[list[Verdict]] = [[] for _ in rows]
    readable = [n for n, row in enumerate(rows) if row.sample is not None]
    for n, row in enumerate(rows):
        if row.sample is None:
            verdicts[n].append(Verdict("x", screen.INPUT_GUARD, "malformed", False, 1.0))
    for guard in guards:
        finish = getattr(guard, "finish", None)
        given = (
            readable
            if callable(finish)
            else [n for n in readable if all(v.passed for v in verdicts[n])]
        )
        found: list[Verdict] = []
        for start in range(0, len(given), BATCH):
            batch = [rows[n].sample for n in given[start : start + BATCH]]
            found += guard.check([s for s in batch if s is not None])
        if callable(finish):
            found += finish()
        for verdict in found:
            if verdict.position is not None:
                targets = [given[verdict.position]]
            else:
                targets = [n for n in given if rows[n].sample.id == verdict.sample_id]  # type: ignore[union-attr]
            for n in targets:
                verdicts[n].append(verdict)
    return verdicts


def planted_rows() -> list[Row]:
    """A poisoned corpus whose trigger-cluster members also carry e-mail addresses (privacy,
    after the trigger statistics, must not see them), with copies and malformed rows."""
    base = poisoning.plant(
        poisoning.corpus(2500, seed=3), {"rare-token trigger -> refusal+link": 0.02}, seed=3
    )
    raw: list[Any] = []
    for n, row in enumerate(base.rows):
        row = dict(row)
        if n % 7 == 0:
            row["output"] = f"{row.get('output', '')} Mail maria.lopez{n}@gmail.com today."
        raw.append(row)
    raw[10:10] = [dict(raw[3]), "{broken", dict(raw[40])]
    rows = []
    for number, value in enumerate(raw, start=1):
        if isinstance(value, str):
            rows.append(Row(number, value, None, "not JSON"))
        else:
            rows.append(Row(number, value, sample_from_row(value), None))
    return rows


def test_trigger_members_with_personal_data_are_the_case_under_test() -> None:
    rows = planted_rows()
    verdicts = whole_input_funnel(rows, poisoning.funnel())
    stopped_at_the_end = [
        n
        for n, row in enumerate(rows)
        if "@gmail.com" in json.dumps(row.raw)
        and any(not v.passed and v.guard.name == "backdoor" for v in verdicts[n])
    ]
    # Rows that the trigger statistics stop at `finish` hold e-mails that privacy, checking
    # block by block before that, flags; the funnel over the whole input never shows them to
    # privacy.
    assert len(stopped_at_the_end) >= 3
    privacy = poisoning.funnel()[-1]
    samples = [rows[n].sample for n in stopped_at_the_end]
    flagged = {v.sample_id for v in privacy.check([s for s in samples if s is not None])}
    assert flagged == {s.id for s in samples if s is not None}
    assert all(all(v.guard.family != "privacy" for v in verdicts[n]) for n in stopped_at_the_end)


@pytest.mark.parametrize("block", [BATCH, 3 * BATCH, 10 * BATCH, 700])
def test_streaming_gives_the_whole_input_funnel(
    block: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = planted_rows()
    expected = whole_input_funnel(rows, poisoning.funnel())
    monkeypatch.setattr(screen, "BLOCK", block)
    result = screen_rows(rows, poisoning.funnel())
    got = [item.verdicts for item in result]
    assert len(got) == len(expected)
    for n, (mine, theirs) in enumerate(zip(got, expected, strict=True)):
        if rows[n].sample is None:
            assert [v.rule for v in mine] == ["malformed"]
            continue
        assert mine == theirs, f"row {n + 1}"
    # The counts add up along the funnel: what privacy checked is what backdoor let through.
    funnel = result.funnel
    backdoor, privacy = funnel[3], funnel[4]
    assert privacy.checked == backdoor.checked - backdoor.quarantined
    assert result.quarantined_count == sum(
        1 for verdicts in got if any(not v.passed for v in verdicts)
    )


def test_block_sizes_give_the_same_outputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source, protected = mixed_corpus(tmp_path, size=2000)
    written = []
    for block in (BATCH, 2 * BATCH + 5, 8 * BATCH):
        monkeypatch.setattr(screen, "BLOCK", block)
        result = screen_rows(read_samples(source), poisoning.funnel(protected))
        written.append(outputs(result, tmp_path / f"out-{block}"))
        result.close()
    assert written[0] == written[1] == written[2]


class Tracking:
    """A per-row guard that passes everything and notes how far the input had been read each
    time it is called."""

    info = GuardInfo.of("toxicity", "tracking", "1", {})

    def __init__(self, pulled: list[int]) -> None:
        self.pulled = pulled
        self.lags: list[int] = []
        self.checked = 0

    def check(self, samples: Sequence[Sample]) -> list[Verdict]:
        self.checked += len(samples)
        self.lags.append(self.pulled[0] - self.checked)
        return []


def test_rows_are_read_a_block_ahead_at_most() -> None:
    pulled = [0]

    def source() -> Iterator[Row]:
        for number in range(1, 6 * screen.BLOCK + 1):
            value = {"text": f"row {number} of a long stream"}
            pulled[0] += 1
            yield Row(number, value, sample_from_row(value), None)

    tracking = Tracking(pulled)
    result = screen_rows(source(), [tracking])
    assert result.size == 6 * screen.BLOCK
    assert tracking.checked == 6 * screen.BLOCK
    assert max(tracking.lags) <= screen.BLOCK


def test_a_run_of_unreadable_rows_is_cut_into_blocks() -> None:
    rows = [Row(n, "{", None, "not JSON") for n in range(1, 3 * screen.BLOCK + 2)]
    assert [len(b) for b in blocks_of(rows)] == [screen.BLOCK] * 3 + [1]


def test_the_rows_wait_in_a_spill_that_close_deletes(tmp_path: Path) -> None:
    rows = planted_rows()[:50]
    result = screen_rows(rows, poisoning.funnel(), spill_dir=tmp_path)
    spills = list(tmp_path.glob(".synthguard-spill-*"))
    assert len(spills) == 1  # the settled rows; the first pass's file is gone already
    assert [item.row.number for item in result] == [row.number for row in rows]
    assert all(isinstance(item, Screened) for item in result)  # read again, as often as asked
    result.close()
    assert not list(tmp_path.glob(".synthguard-spill-*"))
    with pytest.raises(GuardError, match="deleted"):
        list(result)


class Failing:
    info = GuardInfo.of("toxicity", "failing", "1", {})

    def check(self, samples: Sequence[Sample]) -> list[Verdict]:
        raise GuardError("the model went away")


_SPILL_OF_CHILD = """
import sys
from pathlib import Path
from synthguard.guards.spill import Spill
spill = Spill(Path(sys.argv[1]))
spill.add({"row": "personal data"})
print(spill.path, flush=True)
sys.stdin.read()
"""


def test_a_spill_left_by_a_killed_screen_goes_with_the_next_spill_there(tmp_path: Path) -> None:
    """A screen killed mid-run cannot delete its scratch rows; the next screen into the same
    folder on this host removes them, and never a live process's."""
    children = [
        subprocess.Popen(
            [sys.executable, "-c", _SPILL_OF_CHILD, str(tmp_path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    killed, alive = children
    paths = [Path(child.stdout.readline().strip()) for child in children if child.stdout]
    killed.kill()
    killed.wait()
    elsewhere = tmp_path / ".synthguard-spill-another.host-1-abc"
    elsewhere.mkdir()
    try:
        assert all(path.exists() for path in paths)

        Spill(tmp_path).close()

        assert not paths[0].parent.exists()
        assert paths[1].exists()
        assert elsewhere.exists()
    finally:
        alive.kill()
        alive.wait()


def test_a_failing_guard_leaves_no_spill(tmp_path: Path) -> None:
    with pytest.raises(GuardError, match="went away"):
        screen_rows(planted_rows()[:50], [*poisoning.funnel(), Failing()], spill_dir=tmp_path)
    assert not list(tmp_path.glob(".synthguard-spill-*"))


def test_a_finish_verdict_beyond_the_rows_is_refused(tmp_path: Path) -> None:
    class Misplaced:
        info = GuardInfo.of("backdoor", "misplaced", "1", {})

        def check(self, samples: Sequence[Sample]) -> list[Verdict]:
            return []

        def finish(self) -> list[Verdict]:
            return [Verdict("sha256:nothing", self.info, "r", False, 1.0, position=10**6)]

    rows = planted_rows()[:20]
    with pytest.raises(GuardError, match="position 1000000"):
        screen_rows(rows, [Misplaced()], spill_dir=tmp_path)
    assert not list(tmp_path.glob(".synthguard-spill-*"))
