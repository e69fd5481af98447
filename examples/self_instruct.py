"""A Self-Instruct loop (Wang et al., 2023) whose every sample gets a signed lineage record.

seed tasks (human) -> a prompt showing k tasks from the pool -> the model proposes new tasks
-> filter (length, a keyword blacklist, the first character, ROUGE-L overlap with the pool:
`synthguard.guards.self_instruct`, the rules the screen's self-instruct guards apply) -> the
pool grows.

The model is synthguard's built-in proposer (deterministic, offline); wrapping a real model
is the same one decorator. The seed tasks are `imported` (origin human, depth 0). Each proposal
is `generated` with the tasks shown in its prompt as parents, so a task proposed from
machine-made tasks is synthetic-of-synthetic and its depth is one more than theirs.

    python examples/self_instruct.py                 # a temporary ledger, removed at the end
    python examples/self_instruct.py --home ./si     # keep it: synthguard --home ./si lineage ID
"""

from __future__ import annotations

import argparse
import random
import sys
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from example_ledger import open_ledger

from synthguard.cli.demo.models import BuiltinTaskProposer
from synthguard.guards.self_instruct import (
    ROUGE_RULE,
    ROUGE_THRESHOLD,
    InstructionPool,
    filter_problems,
)
from synthguard.ledger.log.verify import verify_ledger
from synthguard.provenance import Recorder, track
from synthguard.provenance.canonical import digest_json
from synthguard.provenance.errors import SynthguardError
from synthguard.provenance.record import Source
from synthguard.provenance.sample import Sample, sample_from_row

# A handful of human-written seed tasks, in the spirit of Self-Instruct's 175.
SEED_TASKS: list[dict[str, str]] = [
    {
        "instruction": "Suggest three names for a bakery that specialises in sourdough bread.",
        "input": "",
        "output": "1. The Rising Loaf\n2. Wild Yeast Bakehouse\n3. Crust & Crumb",
    },
    {
        "instruction": "Is the following statement a fact or an opinion?",
        "input": "Tokyo is the best city in the world to visit.",
        "output": "Opinion.",
    },
    {
        "instruction": "Rewrite the sentence so that it uses the active voice.",
        "input": "The report was written by the committee.",
        "output": "The committee wrote the report.",
    },
    {
        "instruction": "Give a short definition of a prime number that a child can understand.",
        "input": "",
        "output": "A prime number is a number bigger than 1 that you can only divide evenly "
        "by 1 and by itself, like 2, 3, 5 and 7.",
    },
    {
        "instruction": "Find the odd one out and explain why.",
        "input": "apple, banana, carrot, cherry",
        "output": "Carrot: it is a vegetable, and the others are fruits.",
    },
    {
        "instruction": "Turn the list of ingredients into a shopping list grouped by aisle.",
        "input": "milk, apples, rice, cheese, spinach, pasta",
        "output": "Dairy: milk, cheese\nProduce: apples, spinach\nDry goods: rice, pasta",
    },
    {
        "instruction": "Write a polite reply declining an invitation to a meeting on Friday.",
        "input": "",
        "output": "Thank you for the invitation. Unfortunately I am not available on Friday, "
        "but I would be glad to join another time.",
    },
    {
        "instruction": "How many minutes are there in a week?",
        "input": "",
        "output": "There are 10,080 minutes in a week (7 x 24 x 60).",
    },
]
SEED_SOURCE = "synthguard:examples/self_instruct.py#SEED_TASKS"


def rejection(instruction: str, pool: InstructionPool) -> str | None:
    """Why Self-Instruct's filters drop a proposed instruction (the first rule it fails, named
    as the screen's `self-instruct` guards name it, less the prefix), or None to keep it."""
    problems = filter_problems(instruction)
    if problems:
        return problems[0].rule.removeprefix("self-instruct-")
    score, _similar = pool.most_similar(instruction)
    if score > ROUGE_THRESHOLD:
        return ROUGE_RULE.removeprefix("self-instruct-")
    return None


def run(
    recorder: Recorder, *, steps: int, per_step: int, in_context: int, seed: int
) -> dict[str, Any]:
    """Run the loop; return the pool (samples), the depth of each, and what was rejected why."""
    proposer = BuiltinTaskProposer(seed)
    rng = random.Random(seed)
    source = Source(uri=SEED_SOURCE, digest=digest_json(SEED_TASKS), license="Apache-2.0")

    # One decorator is all the model call needs: every task it yields is recorded before the
    # loop sees it, with the model's identity, the prompt's digest, the seed and the parents.
    @track(recorder, generator=proposer.identity())
    def propose(
        tasks: list[Sample], *, prompt: str, parents: list[str], seed: int
    ) -> Iterator[dict[str, str]]:
        yield from proposer.propose(tasks, per_step, seed)

    seeds = [sample_from_row(row) for row in SEED_TASKS]
    depth: dict[str, int] = {}
    for sample in seeds:
        depth[sample.id] = recorder.imported(sample, sources=[source]).depth
    machine: list[Sample] = []
    pool = InstructionPool(sample.content["instruction"] for sample in seeds)
    rejected: Counter[str] = Counter()
    proposed = 0
    for step in range(steps):
        # As in the paper, most of the prompt is human tasks and some is machine-made.
        from_machine = min(len(machine), in_context // 3)
        shown = rng.sample(seeds, in_context - from_machine) + rng.sample(machine, from_machine)
        for row in propose(
            shown,
            prompt=proposer.prompt(shown),
            parents=[task.id for task in shown],
            seed=seed * 1_000 + step,
        ):
            proposed += 1
            why = rejection(row["instruction"], pool)
            if why is not None:
                rejected[why] += 1
                continue
            sample = sample_from_row(row)
            depth[sample.id] = 1 + max(depth[task.id] for task in shown)
            machine.append(sample)
            pool.add(row["instruction"])
    return {
        "seeds": seeds,
        "machine": machine,
        "depth": depth,
        "proposed": proposed,
        "rejected": rejected,
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Run the example end to end on a fresh ledger and verify it; return an exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, help="a synthguard home to use (made if missing)")
    parser.add_argument("--db", help="a ledger URL (sqlite:///PATH or postgresql://...)")
    parser.add_argument("--steps", type=int, default=12, help="prompts sent to the model")
    parser.add_argument("--per-step", type=int, default=8, help="tasks proposed per prompt")
    parser.add_argument("--in-context", type=int, default=6, help="tasks shown per prompt")
    parser.add_argument("--seed", type=int, default=2023)
    args = parser.parse_args(argv)
    try:
        with ExitStack() as stack:
            ledger, root_key, kept = open_ledger(stack, args.home, args.db)
            with Recorder(ledger) as recorder:
                result = run(
                    recorder,
                    steps=args.steps,
                    per_step=args.per_step,
                    in_context=args.in_context,
                    seed=args.seed,
                )
            ledger.checkpoint()
            report = verify_ledger(ledger, root_key_id=root_key)
            print_summary(result, recorder.run_id, kept, report.size)
    except SynthguardError as exc:
        print(f"self_instruct: {exc}", file=sys.stderr)
        return exc.exit_code
    return 0


def print_summary(result: dict[str, Any], run_id: str, kept: str | None, entries: int) -> None:
    """Say what the loop recorded."""
    machine: list[Sample] = result["machine"]
    depths = Counter(result["depth"][sample.id] for sample in machine)
    rejected: Counter[str] = result["rejected"]
    deepest = max(machine, key=lambda sample: result["depth"][sample.id], default=None)
    print(f"Self-Instruct run {run_id}")
    print(f"  imported   {len(result['seeds'])} human seed tasks (depth 0)")
    print(f"  generated  {result['proposed']} proposals, each with its in-context tasks as parents")
    reasons = ", ".join(f"{n} {why}" for why, n in rejected.most_common()) or "none"
    print(f"  kept       {len(machine)}; rejected {sum(rejected.values())} ({reasons})")
    print("  pool depth " + ", ".join(f"{d}: {n}" for d, n in sorted(depths.items())))
    example_id = None
    if deepest is not None:
        example_id = deepest.id
        print(f"  deepest    {deepest.content['instruction'][:60]!r}, {deepest.id}")
    print(f"verify: ok, {entries} entries")
    if kept is None:
        print("(a temporary ledger, removed now: pass --home DIR to keep one)")
    elif example_id is not None:
        print(f"try: synthguard {kept} lineage {example_id}")


if __name__ == "__main__":
    sys.exit(main())
