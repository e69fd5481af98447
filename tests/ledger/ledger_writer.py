"""A writer process for the crash and concurrency tests: appends batches of records to a ledger.

    python ledger_writer.py URL TAG [--count N] [--batch B] [--wait] [--pause SECONDS] [--kept DIR]

The signing key's raw 32-byte seed comes hex-encoded in SYNTHGUARD_TEST_SEED (tests only; a
real writer loads an encrypted key). Prints `started` once the ledger is open; with --wait it
then blocks until a line arrives on stdin, so that several writers start appending together.
Without --count it appends batches of random size 1..200 until it is killed; with --count it
appends N records in batches of --batch, checkpoints like a finished command and prints `done`.
Either way it sleeps --pause seconds after each batch. With --kept, it keeps the checkpoint it
signs in DIR, as a home does (writers given the same DIR are one home's processes).
Record i of a writer is about the sample `{"text": "<TAG> <i>"}` and carries `detail.i = i`.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from itertools import count
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from synthguard.ledger.log.kept import KeptCheckpoint
from synthguard.ledger.log.store import Ledger
from synthguard.provenance.canonical import digest_json
from synthguard.provenance.keys import SigningKey
from synthguard.provenance.record import Event, LineageRecord, utc_now

SEED_ENV = "SYNTHGUARD_TEST_SEED"


def _batch(tag: str, signer: str, numbers: list[int]) -> tuple[list[LineageRecord], dict]:
    records = []
    contents = {}
    for i in numbers:
        content = {"text": f"{tag} {i}"}
        sample_id = digest_json(content)
        contents[sample_id] = content
        records.append(
            LineageRecord(
                event=Event.GENERATED,
                sample_id=sample_id,
                digest=sample_id,
                run_id=tag,
                time=utc_now(),
                signer=signer,
                detail={"i": i},
            )
        )
    return records, contents


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("tag")
    parser.add_argument("--count", type=int)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--wait", action="store_true")
    parser.add_argument("--pause", type=float, default=0.0)
    parser.add_argument("--kept", type=Path)
    args = parser.parse_args()

    seed = bytes.fromhex(os.environ[SEED_ENV])
    key = SigningKey(Ed25519PrivateKey.from_private_bytes(seed))
    ledger = Ledger.open(args.url, key, KeptCheckpoint(args.kept) if args.kept else None)
    print("started", flush=True)
    if args.wait:
        sys.stdin.readline()

    if args.count is None:
        rng = random.Random()
        numbers = count()
        while True:
            size = rng.randint(1, 200)
            ledger.append(*_batch(args.tag, key.key_id, [next(numbers) for _ in range(size)]))
            time.sleep(args.pause)

    for start in range(0, args.count, args.batch):
        numbers_ = list(range(start, min(start + args.batch, args.count)))
        ledger.append(*_batch(args.tag, key.key_id, numbers_))
        time.sleep(args.pause)
    ledger.checkpoint()
    ledger.close()
    print("done", flush=True)


if __name__ == "__main__":
    main()
