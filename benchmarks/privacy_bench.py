"""Recall, false positives and throughput of the privacy guard, with two baselines in the same run.

    python benchmarks/privacy_bench.py [--planted 300] [--clean N] [--baseline-rows 1500]
        [--one-core] [--seed 0]

Planted rows: for each kind, `--planted` real docstrings (the guards' real-text corpus,
tests/guards/poisoning.py) each given one fresh, valid value of that kind in a carrier sentence
(tests/guards/privacy/privacy_planting.py), as the output of an Alpaca row. A planted row is
recalled when a finding of its kind covers the value; "exact" counts findings with exactly its
span. The same rows again with each value disguised five ways (`privacy_planting.DISGUISES`:
full-width forms, zero-width spaces or soft hyphens between its characters, its digits in
Arabic-Indic or Devanagari), recall over all kinds. Clean rows: the whole clean corpus
(12,165 rows: library documentation with its own look-alikes, licence headers, links and
install guides); a false positive is a clean row with any finding. Some of those are real: the
documentation names its authors' e-mail addresses; the table counts them all the same and lists
what was found.

Baselines, on the same rows: detect-secrets itself under `default_settings()` (every plugin,
its default filters; its IPPublicDetector counted as ip_address, everything else as secret), two
ways: its ad-hoc string scan (`scan_line` on each line, what `detect-secrets scan --string`
does, whose entropy plugins also search unquoted words) and its file scan (`scan_file` on each
string written to a .txt file, what a repository scan does); both run on `--baseline-rows`
clean rows and every planted secret and IP row, because they cost milliseconds a string. And a
naive regular-expression set, one pattern per kind with no checksum, range or look-alike logic.

Throughput: samples per second of CPU time of `PrivacyGuard.check` over the clean rows, with
and without the entropy plugins, beside the naive set and detect-secrets (on its subset). CPU
time, not wall time, because the machine is shared; `--one-core` pins the process to one core.
Quote the ratios.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cpu import add_one_core, best_seconds, pin
from detect_secrets.core.potential_secret import PotentialSecret
from detect_secrets.core.scan import scan_file, scan_line
from detect_secrets.settings import default_settings

from synthguard.guards.fields import labelled_strings
from synthguard.guards.privacy import KINDS, Detector, PrivacyGuard, detect
from synthguard.provenance.sample import Sample, sample_from_row

# The planted values and the corpus live with the tests that use them; reached the same way
# benchmarks/guards_bench.py reaches `poisoning`.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "guards" / "privacy"))
import privacy_planting as planting

Span = tuple[str, int, int, str]
"""(field, start, end, kind)"""

NAIVE = {
    "email": re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+"),
    "phone": re.compile(r"\+?\(?\d{2,4}\)?[\s.-]?\d{3,4}[\s.-]?\d{3,4}"),
    "ip_address": re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b"),
    "iban": re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b"),
    "payment_card": re.compile(r"\b(?:\d[ -]?){12,18}\d\b"),
    "bank_account": re.compile(r"(?i:account|acct)\D{0,20}(\d[\d -]{6,20}\d)"),
    "ssn": re.compile(r"\b\d{3}-\d{2}-\d{4}\b"),
    "id_number": re.compile(r"\b[A-Z]{2}\d{6}[A-D]\b|\b\d{3} \d{3} \d{4}\b|\b[A-Z]?\d{7,9}\b"),
    "date_of_birth": re.compile(r"\b\d{4}-\d\d-\d\d\b|\b\d{1,2}/\d{1,2}/\d{4}\b"),
    "crypto_wallet": re.compile(r"\b[13][1-9A-HJ-NP-Za-km-z]{25,34}\b|\b0x[0-9a-fA-F]{40}\b"),
    "secret": re.compile(
        r"AKIA[0-9A-Z]{16}|gh[pousr]_\w{36}|sk_live_\w{24}|xox[abpors]-[\w-]+|eyJ[\w-]+\.[\w-]+"
        r"|-----BEGIN [A-Z ]*PRIVATE KEY-----|(?i:password|passwd|secret|api_?key)\s*[:=]\s*\S+"
    ),
}


@dataclass(frozen=True)
class PlantedRow:
    sample: Sample
    kind: str
    start: int
    end: int


def ours(guard: PrivacyGuard) -> Callable[[Sample], list[Span]]:
    def spans(sample: Sample) -> list[Span]:
        findings, _lookalikes = guard.detector.scan(sample)
        return [(f.field, f.start, f.end, f.kind) for f in findings]

    return spans


def naive(sample: Sample) -> list[Span]:
    return [
        (field, m.start(), m.end(), kind)
        for field, text in labelled_strings(sample)
        for kind, pattern in NAIVE.items()
        for m in pattern.finditer(text)
    ]


def detect_secrets_adhoc(sample: Sample) -> list[Span]:
    """detect-secrets' ad-hoc string scan, line by line (what `detect-secrets scan --string`
    does: entropy plugins search unquoted words too)."""
    found: list[Span] = []
    for field, text in labelled_strings(sample):
        offset = 0
        for line in text.split("\n"):
            found += _spans(field, line, offset, scan_line(line))
            offset += len(line) + 1
    return found


def detect_secrets_file(folder: Path) -> Callable[[Sample], list[Span]]:
    """detect-secrets' file scan (what `detect-secrets scan` does to a repository), each string
    written to a .txt file first: quoted values only, its default filters."""

    def spans(sample: Sample) -> list[Span]:
        found: list[Span] = []
        for field, text in labelled_strings(sample):
            path = folder / "string.txt"
            path.write_text(text, encoding="utf-8")
            lines = text.split("\n")
            starts = [0]
            for line in lines:
                starts.append(starts[-1] + len(line) + 1)
            for secret in scan_file(str(path)):
                number = secret.line_number - 1
                found += _spans(field, lines[number], starts[number], [secret])
        return found

    return spans


def _spans(field: str, line: str, offset: int, secrets: Iterable[PotentialSecret]) -> list[Span]:
    found: list[Span] = []
    for secret in secrets:
        value = secret.secret_value or ""
        at = max(line.find(value), 0) if value else 0
        kind = "ip_address" if secret.type.startswith("Public IP") else "secret"
        found.append((field, offset + at, offset + at + max(len(value), 1), kind))
    return found


def planted_rows(per_kind: int, seed: int) -> list[PlantedRow]:
    rng = random.Random(seed)
    docs = planting.docstrings(per_kind * len(KINDS), seed)
    rows = []
    for i, doc in enumerate(docs):
        kind = KINDS[i % len(KINDS)]
        planted = planting.plant(doc, kind, rng)
        sample = sample_from_row({"instruction": "Explain this.", "output": planted.text})
        rows.append(PlantedRow(sample, kind, planted.start, planted.end))
    return rows


def disguised_rows(rows: Sequence[PlantedRow], how: str) -> list[PlantedRow]:
    """The planted rows with each value written `how` (`planting.DISGUISES`), where that
    changes it (a value without digits is left out under a disguise of digits)."""
    out = []
    for row in rows:
        text = row.sample.content["output"]
        planted = planting.Planted(text, row.start, row.end, row.kind, text[row.start : row.end])
        hidden = planting.disguise(planted, how)
        if hidden is not None:
            sample = sample_from_row({"instruction": "Explain this.", "output": hidden.text})
            out.append(PlantedRow(sample, row.kind, hidden.start, hidden.end))
    return out


def total_recall(method: Callable[[Sample], list[Span]], rows: Sequence[PlantedRow]) -> float:
    """The share of all the rows' planted values covered by a finding of their kind."""
    covered = 0
    for row in rows:
        covered += any(
            field == "output" and kind == row.kind and start <= row.start and row.end <= end
            for field, start, end, kind in method(row.sample)
        )
    return covered / len(rows)


def recall(
    method: Callable[[Sample], list[Span]], rows: Sequence[PlantedRow]
) -> dict[str, tuple[float, float]]:
    """Per kind: the share of planted values covered by a finding of the kind, and the share
    found with exactly their span."""
    hit: Counter[str] = Counter()
    exact: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for row in rows:
        total[row.kind] += 1
        spans = [s for s in method(row.sample) if s[0] == "output" and s[3] == row.kind]
        if any(start <= row.start and row.end <= end for _f, start, end, _k in spans):
            hit[row.kind] += 1
        if any((start, end) == (row.start, row.end) for _f, start, end, _k in spans):
            exact[row.kind] += 1
    return {kind: (hit[kind] / total[kind], exact[kind] / total[kind]) for kind in total}


def false_positives(
    method: Callable[[Sample], list[Span]], samples: Iterable[Sample]
) -> tuple[int, int, Counter[str]]:
    """Clean rows with any finding, rows seen, and findings by kind."""
    flagged = seen = 0
    kinds: Counter[str] = Counter()
    for sample in samples:
        seen += 1
        spans = method(sample)
        if spans:
            flagged += 1
            kinds.update(kind for *_rest, kind in spans)
    return flagged, seen, kinds


def throughput(check: Callable[[Sequence[Sample]], object], samples: Sequence[Sample]) -> float:
    """Samples per second of CPU time (the process's own, so that other work on a shared
    machine does not count), the best of three passes in batches of 1,000."""

    def batches() -> None:
        for i in range(0, len(samples), 1000):
            check(samples[i : i + 1000])

    return len(samples) / best_seconds(batches)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--planted", type=int, default=300, help="planted rows per kind")
    parser.add_argument("--clean", type=int, default=None, help="clean rows (default: all)")
    parser.add_argument("--baseline-rows", type=int, default=1500)
    parser.add_argument("--seed", type=int, default=0)
    add_one_core(parser)
    args = parser.parse_args()
    pin(args)

    clean = [sample_from_row(row) for row in planting.corpus_rows(args.clean, args.seed)]
    planted = planted_rows(args.planted, args.seed)
    guard, plain = PrivacyGuard(), PrivacyGuard(entropy=False)
    subset = clean[: args.baseline_rows]
    print(
        f"privacy benchmark: {len(clean):,} clean real rows, {len(planted):,} planted rows "
        f"({args.planted} per kind), detect-secrets baseline on {len(subset):,} clean rows; "
        f"one core: {'yes' if args.one_core else 'no'}; load {os.getloadavg()[0]:.1f}"
    )

    secret_rows = [r for r in planted if r.kind in ("secret", "ip_address")]
    baselines: dict[str, Callable[[Sample], list[Span]]] = {}
    with tempfile.TemporaryDirectory() as folder, default_settings():
        baselines["detect-secrets ad hoc"] = detect_secrets_adhoc
        baselines["detect-secrets file"] = detect_secrets_file(Path(folder))
        measured = {
            name: (
                recall(method, secret_rows),
                false_positives(method, subset),
                throughput(lambda batch, m=method: [m(s) for s in batch], subset),
            )
            for name, method in baselines.items()
        }

    methods = {
        "synthguard": ours(guard),
        "synthguard, no entropy": ours(plain),
        "naive regex set": naive,
    }
    recalls = {name: recall(method, planted) for name, method in methods.items()}
    fps = {name: false_positives(method, clean) for name, method in methods.items()}
    for name, (got_recall, got_fp, _rate) in measured.items():
        recalls[name], fps[name] = got_recall, got_fp

    print("\nrecall on planted rows (covered / exact span)")
    names = list(recalls)
    print(f"{'kind':<14}" + "".join(f"{name:>26}" for name in names))
    for kind in KINDS:
        cells = []
        for name in names:
            got = recalls[name].get(kind)
            cells.append("n/a" if got is None else f"{got[0]:.3f} / {got[1]:.3f}")
        print(f"{kind:<14}" + "".join(f"{cell:>26}" for cell in cells))

    disguised = {how: disguised_rows(planted, how) for how in planting.DISGUISES}
    print("\nrecall on the same planted rows, each value disguised (covered; rows)")
    print(f"{'disguise':<22}" + "".join(f"{name:>26}" for name in methods))
    for how, rows in disguised.items():
        cells = [f"{total_recall(method, rows):.3f}" for method in methods.values()]
        print(f"{how:<22}" + "".join(f"{cell:>26}" for cell in cells) + f"   {len(rows):,}")

    print("\nfalse positives on clean rows (rows with any finding)")
    for name, (flagged, seen, kinds) in fps.items():
        detail = ", ".join(f"{kind} {count}" for kind, count in kinds.most_common())
        print(f"  {name:<24} {flagged:>6} / {seen:<6} = {flagged / seen:7.3%}   ({detail})")
    flagged_examples(guard, clean)

    print("\nthroughput (samples/s, best of 3)")
    rates = {
        "synthguard, no entropy": throughput(plain.check, clean),
        "synthguard, entropy": throughput(guard.check, clean),
        "naive regex set": throughput(lambda batch: [naive(s) for s in batch], clean),
        **{name: rate for name, (_recall, _fp, rate) in measured.items()},
    }
    base = rates["synthguard, no entropy"]
    for name, rate in rates.items():
        print(f"  {name:<24} {rate:>10,.0f}   ({rate / base:5.2f} x synthguard, no entropy)")
    detector_costs(clean)
    print(
        "\ntargets: recall >= 0.95 per kind; false positives <= 0.5 %; >= 10,000 samples/s on "
        "one core without the entropy plugins"
    )
    return 0


def detector_costs(clean: Sequence[Sample]) -> None:
    """The CPU time each detector spends in a scan of the clean rows (no entropy plugins), each
    timed inside its own calls, against the whole scan's: best of three scans. (A scan with and
    one without a detector differ by less than this machine's noise for most of them.)"""
    plain = Detector(entropy=False)
    spent = dict.fromkeys(DETECTORS, 0.0)
    real = {name: getattr(detect, name) for name in DETECTORS}

    def timed(name: str) -> Callable[..., list[Any]]:
        def call(*args: Any) -> list[Any]:
            started = time.process_time()
            found = list(real[name](*args))
            spent[name] += time.process_time() - started
            return found

        return call

    best: tuple[float, dict[str, float]] = (float("inf"), {})
    for name in DETECTORS:
        setattr(detect, name, timed(name))
    try:
        for _ in range(3):
            spent.update(dict.fromkeys(DETECTORS, 0.0))
            started = time.process_time()
            for sample in clean:
                plain.scan(sample)
            whole = time.process_time() - started
            if whole < best[0]:
                best = (whole, dict(spent))
    finally:
        for name, function in real.items():
            setattr(detect, name, function)
    whole, shares = best
    print(f"\nwhat each detector spends (clean rows, no entropy plugins; whole scan {whole:.2f} s)")
    for name, seconds in shares.items():
        print(f"  {name:<18} {seconds:6.3f} s   {seconds / whole:6.1%} of the scan")


DETECTORS = (
    "find_ibans",
    "find_cards",
    "find_ssns",
    "find_identities",
    "find_addresses",
    "find_wallets",
    "find_emails",
    "find_ips",
    "find_phones",
)
"""The detectors `Detector.hits` calls by name (the secret scanner is a method, and measured
with and without its entropy plugins above)."""


def flagged_examples(guard: PrivacyGuard, clean: Sequence[Sample], limit: int = 12) -> None:
    """What the guard found in clean rows: each finding's rule and a window around it."""
    shown = 0
    print("  what synthguard found in clean rows (first few):")
    for sample in clean:
        findings, _lookalikes = guard.detector.scan(sample)
        strings = dict(labelled_strings(sample))
        for finding in findings:
            text = strings[finding.field]
            window = text[max(0, finding.start - 30) : finding.end + 10].replace("\n", " ")
            print(f"    {finding.rule:<28} {finding.preview:<24} ...{window}...")
            shown += 1
            if shown == limit:
                return


if __name__ == "__main__":
    raise SystemExit(main())
