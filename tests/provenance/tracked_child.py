"""A tracked generator that runs until it is killed, for the crash tests.

    python tracked_child.py URL MODE

The signing key's raw 32-byte seed comes hex-encoded in SYNTHGUARD_TEST_SEED (tests only). Prints
`started` once the ledger is open, then the id of every sample the tracked generator hands back,
one line each, flushed at once: a line on stdout means the caller had that sample.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from itertools import count

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from synthguard.ledger.log.store import Ledger
from synthguard.provenance import Recorder, sample_from_row, track
from synthguard.provenance.keys import SigningKey

SEED_ENV = "SYNTHGUARD_TEST_SEED"
BATCH_SIZE = 32


def main() -> None:
    url, mode = sys.argv[1], sys.argv[2]
    key = SigningKey(Ed25519PrivateKey.from_private_bytes(bytes.fromhex(os.environ[SEED_ENV])))
    ledger = Ledger.open(url, key)
    recorder = Recorder(ledger, mode=mode, batch_size=BATCH_SIZE, flush_interval=0.05)  # type: ignore[arg-type]

    @track(recorder, name="self-instruct", model="tiny-lm", params=("temperature",))
    def stream(temperature: float = 0.7) -> Iterator[dict[str, str]]:
        for i in count():
            yield {"instruction": f"Task {i}", "output": f"Answer {i}"}

    print("started", flush=True)
    for row in stream():
        print(sample_from_row(row).id, flush=True)


if __name__ == "__main__":
    main()
