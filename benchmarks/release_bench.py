"""`release verify` for a large release, against its floors measured in the same run.

    python benchmarks/release_bench.py [--samples N] [--batch B] [--every K]

Builds a SQLite ledger of N generated and N screened samples (batched appends), releases them
(every Kth: the others' records are then proven by the multiproof's nodes, not bundled) and
verifies the release offline, on one process and on one per core. The bundle's bytes per
sample are shown beside the signed bytes it carries (each record's DSSE message, its payload
in the PAE frame, and signature, raw): a bundle can compress them, not drop them. Beside each
verification, in the same run and on the same release, its floor is measured just before it:
- raw Ed25519: verifying the same signatures (every bundled record's and the manifest's) over
  their precomputed PAE messages, nothing else (on one core, then split over every core):
  signature checking is the floor of verify;
- sha256: hashing every file of the release once, the floor of reading it.
Then `synthguard audit --release` against the same ledger, beside `verify_ledger` and
`verify_release` run one after the other: the audit should cost no more than the two.
The ratios are the figures that matter; absolute times move with the load on this shared
machine.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from multiprocessing import get_context
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from synthguard.ledger.audit import run_audit
from synthguard.ledger.log.store import Ledger
from synthguard.ledger.log.verify import verify_ledger
from synthguard.ledger.release.bundle import BundleReader
from synthguard.ledger.release.create import create_release
from synthguard.ledger.release.manifest import BUNDLE_FILE, MANIFEST_FILE
from synthguard.ledger.release.verify import verify_release
from synthguard.provenance.canonical import canonical_json, digest
from synthguard.provenance.dsse import pae
from synthguard.provenance.keys import SigningKey, VerifyingKey
from synthguard.provenance.record import Event, Generator, LineageRecord, utc_now

GENERATOR = Generator(
    name="bench",
    provider="synthguard",
    model="builtin-template-lm",
    version="1",
    parameters={"temperature": 0.7, "top_p": 0.95},
    seed=7,
)
GUARDS = [
    {"family": "backdoor", "name": "unicode", "version": "1", "config_digest": digest(b"u")},
    {"family": "dedup", "name": "exact", "version": "1", "config_digest": digest(b"d")},
]

Tick = Callable[[int], None]


@contextmanager
def bar(label: str, total: int) -> Iterator[Tick]:
    """A progress bar on stderr; yields the function that advances it."""
    columns = (TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task(label, total=total)
        yield lambda advance: progress.advance(task, advance)


def row(i: int) -> dict[str, str]:
    """A distinct Alpaca row."""
    return {"instruction": f"Benchmark task {i}: add {i} and 7.", "input": "", "output": str(i + 7)}


def build(ledger: Ledger, source: Path, samples: int, batch: int, every: int) -> None:
    """Append a `generated` and a `screened` record per sample in batches; write every
    `every`th row, the ones to release."""
    key_id = ledger.key_id
    with source.open("wb") as out, bar("building the ledger", 2 * samples) as tick:
        for start in range(0, samples, batch):
            records: list[LineageRecord] = []
            contents = {}
            for i in range(start, min(start + batch, samples)):
                content = row(i)
                if i % every == 0:
                    out.write(canonical_json(content) + b"\n")
                sample_id = digest(canonical_json(content))
                contents[sample_id] = content
                for event, detail in (
                    (Event.GENERATED, {}),
                    (Event.SCREENED, {"outcome": "accepted", "verdicts": [], "guards": GUARDS}),
                ):
                    records.append(
                        LineageRecord(
                            event=event,
                            sample_id=sample_id,
                            digest=sample_id,
                            generator=GENERATOR if event is Event.GENERATED else None,
                            depth=1,
                            run_id="bench",
                            time=utc_now(),
                            signer=key_id,
                            detail=detail,
                        )
                    )
            ledger.append(records, contents)
            tick(len(records))
    ledger.checkpoint()


def signed_messages(out: Path) -> list[tuple[bytes, bytes, str]]:
    """(signature, PAE message, key id) of the manifest and every bundled record."""
    found = []
    envelopes = [(out / MANIFEST_FILE).read_bytes()]
    with BundleReader(out / BUNDLE_FILE) as bundle:
        for _, line in bundle.samples():
            envelopes.extend(record.envelope for record in line.records)
    for envelope in envelopes:
        parsed = json.loads(envelope)
        message = pae(parsed["payloadType"], base64.b64decode(parsed["payload"]))
        signature = parsed["signatures"][0]
        found.append((base64.b64decode(signature["sig"]), message, signature["keyid"]))
    return found


Signed = list[tuple[bytes, bytes, str]]


def _verify_all(messages: Signed, keys: dict[str, VerifyingKey]) -> None:
    for signature, message, key_id in messages:
        if not keys[key_id].verify(signature, message):
            raise SystemExit("a signature of the release does not verify")


def raw_ed25519(messages: Signed, keys: dict[str, VerifyingKey], cores: int = 1) -> float:
    """Seconds to verify the signatures alone, split over `cores` processes."""
    if cores == 1:
        start = time.perf_counter()
        _verify_all(messages, keys)
        return time.perf_counter() - start
    parts = [messages[i::cores] for i in range(cores)]
    with ProcessPoolExecutor(cores, mp_context=get_context("fork")) as pool:
        pool.submit(int).result()  # the workers are up before the clock starts
        start = time.perf_counter()
        list(pool.map(_verify_all, parts, [keys] * cores))
        return time.perf_counter() - start


def raw_sha256(out: Path) -> float:
    """Seconds to hash every file of the release once."""
    start = time.perf_counter()
    for path in sorted(out.iterdir()):
        hasher = hashlib.sha256()
        with path.open("rb") as data:
            while chunk := data.read(1 << 20):
                hasher.update(chunk)
    return time.perf_counter() - start


def time_audit(ledger: Ledger, out: Path, key: SigningKey) -> tuple[float, float]:
    """Seconds of `run_audit` on the release, and of its two verifications run on their own."""
    start = time.perf_counter()
    verify_ledger(ledger)
    verify_release(out, trusted=[key.public])
    separately = time.perf_counter() - start
    start = time.perf_counter()
    result = run_audit(ledger, release=out, trusted=[key.public])
    audited = time.perf_counter() - start
    if not result.passed:
        raise SystemExit(f"the audit failed: {result.checks}")
    return audited, separately


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=5000, help="records per append")
    parser.add_argument("--every", type=int, default=1, help="release every Kth sample")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    key = SigningKey.generate()
    keys = {key.key_id: key.public}
    timings: list[tuple[str, float, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        ledger = Ledger.create(f"sqlite:///{folder / 'ledger.db'}", key)
        try:
            source = folder / "samples.jsonl"
            start = time.perf_counter()
            build(ledger, source, args.samples, args.batch, args.every)
            built = time.perf_counter() - start
            out = folder / "release"
            with bar("releasing (reading the ledger)", ledger.size()) as tick:
                start = time.perf_counter()
                create_release(ledger, "bench", source, out, progress=tick)
                created = time.perf_counter() - start
            audit_times = time_audit(ledger, out, key)
        finally:
            ledger.close()
        messages = signed_messages(out)
        for workers in (1, cores):
            floor = raw_ed25519(messages, keys, workers) + raw_sha256(out)
            with bar(f"verifying on {workers} process(es)", args.samples) as tick:
                start = time.perf_counter()
                report = verify_release(out, trusted=[key.public], workers=workers, progress=tick)
                timings.append((f"{workers} core(s)", time.perf_counter() - start, floor))
        size = sum(path.stat().st_size for path in out.iterdir())
        bundle = (out / BUNDLE_FILE).stat().st_size
        signed = sum(len(message) + len(signature) for signature, message, _ in messages[1:])

    print(
        f"{report.samples} samples, {report.records} bundled records, {len(messages)} "
        f"signatures, {cores} cores; release {size / 1e6:.1f} MB (bundle {bundle / 1e6:.1f} MB)"
        f"\nbundle: {bundle / report.samples:.0f} bytes per sample; the records' signed messages "
        f"and signatures, raw: {signed / report.samples:.0f} bytes per sample "
        f"(bundle / signed = {bundle / signed:.2f})"
        f"\nledger built in {built:.1f} s ({2 * args.samples / built:.0f} records/s); "
        f"release create {created:.1f} s ({report.samples / created:.0f} samples/s)\n"
    )
    head = (
        f"{'release verify on':<18} {'seconds':>8} {'samples/s':>10} {'floor s':>8} "
        f"{'floor samples/s':>15} {'verify/floor':>12}"
    )
    print(head)
    print("-" * len(head))
    for name, seconds, floor in timings:
        print(
            f"{name:<18} {seconds:>8.2f} {report.samples / seconds:>10.0f} {floor:>8.2f} "
            f"{report.samples / floor:>15.0f} {seconds / floor:>12.2f}"
        )
    print(
        "\nfloor: raw Ed25519 verification of the same signatures over precomputed messages, on"
        "\nas many processes as the verify, plus sha256 of every file; measured just before."
    )
    audited, separately = audit_times
    print(
        f"\naudit --release: {audited:.2f} s; verify_ledger then verify_release, one after the"
        f"\nother, just before: {separately:.2f} s; audit / both = {audited / separately:.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
