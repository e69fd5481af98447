"""`synthguard demo`: a whole round trip in a fresh folder, with nothing to configure.

init -> record samples from the built-in generator through the Recorder -> verify -> keep the
latest checkpoint outside the ledger. The folder is DIR (default ./synthguard-demo). A folder
that a previous demo made (it holds the `.synthguard-demo` marker) is wiped and rebuilt, so the
demo can be run again and again; any other non-empty folder is refused, never touched.

The signing key is encrypted under $SYNTHGUARD_PASSPHRASE when it is set, else under the fixed
DEMO_PASSPHRASE below, which is printed: it protects nothing and says so.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from synthguard.cli.passphrase import PASSPHRASE_ENV
from synthguard.ledger.home import DB_ENV, HOME_DIR, Home
from synthguard.ledger.verify import VerifyReport, verify_ledger
from synthguard.provenance.builtin import BuiltinGenerator
from synthguard.provenance.canonical import digest
from synthguard.provenance.errors import InputError
from synthguard.provenance.recorder import Recorder
from synthguard.provenance.sample import sample_from_row

DEFAULT_DIR = Path("synthguard-demo")
DEFAULT_SAMPLES = 300
DEMO_PASSPHRASE = "synthguard-demo-not-a-secret"
DEMO_SEED = 6962
DEMO_CHECKPOINT_INTERVAL = 100
MARKER = ".synthguard-demo"
_MARKER_TEXT = "made by `synthguard demo`; the next demo run wipes this folder\n"


@dataclass(frozen=True)
class DemoResult:
    """Where the demo put things, and what verification found."""

    directory: Path
    home: Path
    db_url: str
    key_id: str
    key_path: Path
    samples_path: Path
    checkpoint_path: Path
    demo_passphrase: bool
    recorded: int
    report: VerifyReport


def run_demo(directory: Path = DEFAULT_DIR, samples: int = DEFAULT_SAMPLES) -> DemoResult:
    """Build a demo ledger in `directory`; return where everything is."""
    if samples < 1:
        raise InputError(f"the demo needs at least 1 sample, not {samples}")
    _prepare(directory)
    passphrase = os.environ.get(PASSPHRASE_ENV) or DEMO_PASSPHRASE
    home = Home(directory / HOME_DIR)
    # The demo is always a SQLite file of its own, even when $SYNTHGUARD_DB names a server.
    db = f"sqlite:///{home.path / 'ledger.db'}" if os.environ.get(DB_ENV) else None
    generator = BuiltinGenerator(DEMO_SEED)
    rows = list(generator.generate(samples))
    samples_path = directory / "samples.jsonl"
    samples_path.write_text(
        "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8"
    )
    with home.init(passphrase, db=db, checkpoint_interval=DEMO_CHECKPOINT_INTERVAL) as ledger:
        identity = generator.identity()
        prompt = digest(generator.prompt_template().encode("utf-8"))
        with Recorder(ledger) as recorder:
            for row in rows:
                recorder.generated(sample_from_row(row), identity, prompt_digest=prompt)
        ledger.checkpoint()
        report = verify_ledger(ledger, root_key_id=home.root_key())
        checkpoint_path = directory / "checkpoint.txt"
        if report.latest is not None:
            checkpoint_path.write_text(report.latest.note, encoding="utf-8")
        return DemoResult(
            directory=directory,
            home=home.path,
            db_url=ledger.url,
            key_id=ledger.key_id,
            key_path=home.key_path(ledger.key_id),
            samples_path=samples_path,
            checkpoint_path=checkpoint_path,
            demo_passphrase=passphrase == DEMO_PASSPHRASE,
            recorded=recorder.appended,
            report=report,
        )


def _prepare(directory: Path) -> None:
    if directory.exists() and not directory.is_dir():
        raise InputError(f"{directory} is a file, not a folder for the demo")
    if directory.is_dir() and any(directory.iterdir()):
        if not (directory / MARKER).is_file():
            raise InputError(
                f"{directory} is not empty and was not made by `synthguard demo`; "
                "give an empty or new folder with --dir"
            )
        shutil.rmtree(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / MARKER).write_text(_MARKER_TEXT, encoding="utf-8")
