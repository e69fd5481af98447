"""A generator / critic / reviser chain (RLAIF, Constitutional AI) with every step recorded.

For each task the generator drafts two candidate answers; a critic scores both and prefers
one (a preference pair, as AlpacaFarm and RLAIF collect them); a reviser rewrites the chosen
answer to fix what the critique names; the critic scores the revision again.

Recorded: each candidate `generated` (depth 1); each judgement `critiqued` (its score, its
critique, and the chosen/rejected pair); each revision `revised` with the original as its
parent (depth 2). The three models are synthguard's built-in ones (deterministic, offline).

    python examples/critic_loop.py                  # a temporary ledger, removed at the end
    python examples/critic_loop.py --home ./cl      # keep it: synthguard --home ./cl lineage ID
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from statistics import mean

from example_ledger import open_ledger

from synthguard.cli.demo.models import BuiltinCritic, BuiltinGenerator, BuiltinReviser
from synthguard.ledger.log.verify import verify_ledger
from synthguard.provenance import Recorder, track
from synthguard.provenance.errors import SynthguardError
from synthguard.provenance.sample import sample_from_row


@dataclass
class ChainResult:
    """What the chain did, for the summary."""

    events: Counter[str] = field(default_factory=Counter)
    chosen_scores: list[int] = field(default_factory=list)
    revised_scores: list[int] = field(default_factory=list)
    revisions: list[tuple[str, str]] = field(default_factory=list)  # (original id, revision id)


def run(recorder: Recorder, *, tasks: int, seed: int) -> ChainResult:
    """Draft, judge and revise answers to `tasks` built-in tasks; return what happened."""
    generator, critic, reviser = BuiltinGenerator(seed), BuiltinCritic(), BuiltinReviser()
    critic_id, reviser_id = critic.identity(), reviser.identity()
    result = ChainResult()

    # A batch function (list in, list out): one record per answer, one append per batch.
    # `attempt` is a generation parameter, picked from the call's keyword arguments.
    @track(recorder, generator=generator.identity(), params=("attempt",), batch=True)
    def draft(batch: list[dict[str, str]], *, attempt: int, prompt: str) -> list[dict[str, str]]:
        return [generator.respond(task, attempt) for task in batch]

    todo = list(generator.generate(tasks))
    template = generator.prompt_template()
    first = draft(todo, attempt=0, prompt=template)
    second = draft(todo, attempt=1, prompt=template)
    result.events["generated"] += len(first) + len(second)

    for a, b in zip(first, second, strict=True):
        pair = critic.prefer(a, b)
        for sample, judged in (
            (pair.chosen, pair.chosen_critique),
            (pair.rejected, pair.rejected_critique),
        ):
            recorder.critiqued(
                sample,
                critic_id,
                score=judged.score,
                critique=judged.text,
                chosen=pair.chosen,
                rejected=pair.rejected,
            )
            result.events["critiqued"] += 1
        result.chosen_scores.append(pair.chosen_critique.score)
        if not pair.chosen_critique.issues:
            result.revised_scores.append(pair.chosen_critique.score)
            continue
        revision = sample_from_row(reviser.revise(pair.chosen, pair.chosen_critique))
        record = recorder.revised(
            revision, pair.chosen, reviser_id, critique=pair.chosen_critique.text
        )
        result.events["revised"] += 1
        again = critic.critique(revision)
        recorder.critiqued(revision, critic_id, score=again.score, critique=again.text)
        result.events["critiqued"] += 1
        result.revised_scores.append(again.score)
        result.revisions.append((pair.chosen.id, record.sample_id))
    return result


def main(argv: Sequence[str] | None = None) -> int:
    """Run the example end to end on a fresh ledger and verify it; return an exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, help="a synthguard home to use (made if missing)")
    parser.add_argument("--db", help="a ledger URL (sqlite:///PATH or postgresql://...)")
    parser.add_argument("--tasks", type=int, default=24, help="tasks to answer")
    parser.add_argument("--seed", type=int, default=2022)
    args = parser.parse_args(argv)
    try:
        with ExitStack() as stack:
            ledger, root_key, kept = open_ledger(stack, args.home, args.db)
            with Recorder(ledger) as recorder:
                result = run(recorder, tasks=args.tasks, seed=args.seed)
            ledger.checkpoint()
            report = verify_ledger(ledger, root_key_id=root_key)
            print_summary(result, recorder.run_id, kept, report.size)
    except SynthguardError as exc:
        print(f"critic_loop: {exc}", file=sys.stderr)
        return exc.exit_code
    return 0


def print_summary(result: ChainResult, run_id: str, kept: str | None, entries: int) -> None:
    """Say what the chain recorded."""
    counts = ", ".join(f"{event} {n}" for event, n in result.events.items())
    print(f"critic loop run {run_id}")
    print(f"  recorded   {counts}")
    print(
        f"  scores     chosen candidates {mean(result.chosen_scores):.1f} -> "
        f"after revision {mean(result.revised_scores):.1f} (critic, 1-10)"
    )
    example_id = None
    if result.revisions:
        original, example_id = result.revisions[0]
        print(f"  a revision {example_id}")
        print(f"    of       {original}")
    print(f"verify: ok, {entries} entries")
    if kept is None:
        print("(a temporary ledger, removed now: pass --home DIR to keep one)")
    elif example_id is not None:
        print(f"try: synthguard {kept} lineage {example_id}")


if __name__ == "__main__":
    sys.exit(main())
