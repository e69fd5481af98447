"""Disguised text: what reading it undone catches, what it flags on clean text, what it costs.

    python benchmarks/disguise_bench.py [--one-core]

Clean text: the real docstring corpus of tests/guards/poisoning.py (every prompt and answer) and
5,000 rows of the built-in generator (every field). For each reading, in this one run:
- toxicity, offline backend: alt-profanity-check as written (the baseline) against the backend
  (`OfflineBackend.predict`: the higher of as written and `unmasked`) on disguised profanity
  written here and on the clean texts; seconds for the clean texts either way;
- privacy: obfuscated e-mail addresses planted into docstrings (five written forms), found by the
  guard; `email/obfuscated` hits on the clean texts; the share of the guard's time spent looking
  for them (`may_hide_email` and the expression behind it, against `PrivacyGuard.check`);
- decontamination: a protected item's coverage in a sample that copies it with zero-width
  spaces, soft hyphens or Cyrillic look-alikes inside its words, or with every 7th word dropped
  (no 13-gram left: the in-order rule decides; benchmarks/decontamination_bench.py has more);
- echoes: how many clean rows the backdoor guard's echo reading (`spans.echo`) calls an echo of
  any kind: a trigger needs echoes far beyond the corpus' own.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from cpu import add_one_core, best_seconds, pin

from synthguard.cli.demo.models import BuiltinGenerator
from synthguard.guards.backdoor.spans import echo, words_of
from synthguard.guards.decontamination import DecontaminationGuard, ProtectedIndex, protected_items
from synthguard.guards.fields import prompt_strings, response_strings
from synthguard.guards.privacy import PrivacyGuard
from synthguard.guards.privacy.contact import find_emails, may_hide_email
from synthguard.guards.toxicity import OfflineBackend, unmasked
from synthguard.provenance.sample import sample_from_row

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "guards"))
import poisoning

DISGUISED_PROFANITY = (
    "you piece of sh1t",
    "what an @ssh0le you are",
    "F.U.C.K off and stay away",
    "f u c k you and your code",
    "go f*** yourself",
    "you dumb c*nt",
    "shut up you stupid b1tch",
    "this is bu11sh1t",
    "you are a fcking idiot",
    "what a d1ck move, you w@nker",
)
OBFUSCATED_ADDRESSES = (
    "jane.doe [at] gmail [dot] com",
    "jane.doe(at)proton.me",
    "j.smith {at} example-mail {dot} org",
    "jane@mailbox(dot)net",
    "jane.doe at gmail dot com",
)
ITEM = (
    "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in "
    "May. How many clips did Natalia sell altogether in April and May? Show your reasoning step "
    "by step before answering."
)
CYRILLIC = {"a": "\u0430", "e": "\u0435", "o": "\u043e", "p": "\u0440", "c": "\u0441"}


def clean_rows() -> list[dict[str, str]]:
    rows = [dict(row) for row in poisoning.corpus().rows]
    for row in BuiltinGenerator(0).generate(5000):
        rows.append({k: v for k, v in row.items() if isinstance(v, str) and not k.startswith("_")})
    return rows


def toxicity(texts: list[str]) -> None:
    backend = OfflineBackend.load()
    as_written = backend._scores(list(DISGUISED_PROFANITY))
    undone = [s["offensive"] for s in backend.predict(list(DISGUISED_PROFANITY))]
    clean_before = backend._scores(texts)
    clean_after = [s["offensive"] for s in backend.predict(texts)]
    base = best_seconds(lambda: backend._scores(texts))
    full = best_seconds(lambda: backend.predict(texts))
    print("\ntoxicity, offline backend (alt-profanity-check), cut 0.5")
    print(f"{'':<40}{'as written':>12}{'undone too':>12}")
    caught = (sum(s >= 0.5 for s in as_written), sum(s >= 0.5 for s in undone))
    print(
        f"{'disguised profanity caught':<40}{caught[0]:>9} / {len(as_written)}"
        f"{caught[1]:>9} / {len(undone)}"
    )
    flagged = (sum(s >= 0.5 for s in clean_before), sum(s >= 0.5 for s in clean_after))
    print(f"{'clean texts flagged':<40}{flagged[0]:>12,}{flagged[1]:>12,}   of {len(texts):,}")
    changed = sum(unmasked(t) != t for t in texts)
    print(f"{'clean texts that read otherwise undone':<40}{'':>12}{changed:>12,}")
    print(
        f"{'seconds for the clean texts (CPU)':<40}{base:>12.2f}{full:>12.2f}   "
        f"({full / base:.2f} x, {len(texts) / full:,.0f} texts/s)"
    )


def privacy(texts: list[str], rows: list[dict[str, str]]) -> None:
    rng = random.Random(0)
    docs = [row["output"] for row in poisoning.corpus(400, seed=1).rows]
    guard = PrivacyGuard()
    found: Counter[str] = Counter()
    planted: Counter[str] = Counter()
    for i, doc in enumerate(docs):
        address = OBFUSCATED_ADDRESSES[i % len(OBFUSCATED_ADDRESSES)]
        words = doc.split(" ")
        words.insert(rng.randint(0, len(words)), f"(write to {address})")
        row = {"instruction": "Explain.", "input": "", "output": " ".join(words)}
        findings = [f for v in guard.check([sample_from_row(row)]) for f in v.detail["findings"]]
        planted[address] += 1
        found[address] += any(f["rule"] == "email/obfuscated" for f in findings)
    hits = sum(hit.rule == "email/obfuscated" for text in texts for hit in find_emails(text, []))
    samples = [sample_from_row(row) for row in rows]
    samples = [s for s in samples if s is not None]
    whole = best_seconds(lambda: PrivacyGuard().check(samples))
    look = best_seconds(lambda: [list(find_emails(t, [])) for t in texts if may_hide_email(t)])
    gate = best_seconds(lambda: [may_hide_email(t) for t in texts])
    print("\nprivacy: obfuscated e-mail addresses (email/obfuscated)")
    for address in OBFUSCATED_ADDRESSES:
        print(f"  {address:<40} found in {found[address]:>4} / {planted[address]} docstrings")
    print(f"  email/obfuscated hits on {len(texts):,} clean texts: {hits}")
    print(
        f"  the look for them: {gate + look:.2f} s of the guard's {whole:.2f} s on the same "
        f"rows ({(gate + look) / whole:.1%})"
    )


def decontamination() -> None:
    rng = random.Random(1)
    disguises: dict[str, Callable[[str], str]] = {
        "as written": lambda t: t,
        "zero-width spaces in words": lambda t: "".join(
            c + ("\u200b" if c.isalpha() and rng.random() < 0.3 else "") for c in t
        ),
        "soft hyphens in words": lambda t: "".join(
            c + ("\u00ad" if c.isalpha() and rng.random() < 0.3 else "") for c in t
        ),
        "Cyrillic look-alikes": lambda t: "".join(
            CYRILLIC.get(c, c) if rng.random() < 0.5 else c for c in t
        ),
        "every 7th word dropped": lambda t: " ".join(
            w for i, w in enumerate(t.split()) if i % 7 != 3
        ),
    }
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "protected.jsonl"
        path.write_text(json.dumps({"id": "item-1", "question": ITEM}) + "\n", encoding="utf-8")
        guard = DecontaminationGuard(ProtectedIndex(protected_items(path)))
    print("\ndecontamination: a protected item copied in disguise (the deciding rule's score)")
    for name, disguise in disguises.items():
        sample = sample_from_row({"instruction": disguise(ITEM), "input": "", "output": "72"})
        verdicts = guard.check([sample])
        if not verdicts:
            print(f"  {name:<34} no shared n-gram, not in order: passes")
            continue
        [verdict] = verdicts
        outcome = "passes" if verdict.passed else "caught"
        print(
            f"  {name:<34} {verdict.rule} {verdict.score:.3f} (cut {verdict.threshold}) {outcome}"
        )


def echoes(rows: list[dict[str, str]]) -> None:
    kinds: Counter[str] = Counter()
    for row in rows:
        sample = sample_from_row(row)
        if sample is None:
            continue
        prompt = [w for part in prompt_strings(sample) for w in words_of(part.casefold())]
        answer = words_of("\n".join(t for _f, t in response_strings(sample)).casefold())
        kinds[echo(prompt, answer, 3).value] += 1
    print(f"\nechoes among {sum(kinds.values()):,} clean rows: {dict(kinds)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_one_core(parser)
    args = parser.parse_args()
    pin(args)
    rows = clean_rows()
    texts = [v for row in rows for v in row.values() if v]
    print(f"{len(rows):,} clean rows, {len(texts):,} clean texts")
    toxicity(texts)
    privacy(texts, rows)
    decontamination()
    echoes(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
