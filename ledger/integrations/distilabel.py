"""A distilabel step that records every row passing through it (`synthguard[distilabel]`).

    from synthguard.ledger.integrations.distilabel import RecordStep

    record = RecordStep(home=".synthguard", generator=Generator(name="gen", model="m"))
    load_data >> text_generation >> record       # rows come out with a `synthguard_id` column

It lives in the ledger package because it opens a ledger (provenance never imports one).
distilabel runs every step in a worker process of its own, so the step holds only settings
(the home, or a ledger URL, and the generator's identity). It opens the ledger and its signing
key in `load()`, in the worker, with the passphrase from `$SYNTHGUARD_PASSPHRASE` (or the
variable `passphrase_env` names), records each batch of rows as one append, and in `unload()`
commits what is left and writes a checkpoint. Each row is recorded as `generated` by
`generator`, its content read by `mapping` (map distilabel's `generation` column to `output`,
say); the row comes out with its sample id in `id_column`.
"""

# No `from __future__ import annotations`: distilabel reads `process`'s `StepInput` hint at
# run time to wire the step to the one before it.
import os
from pathlib import Path
from typing import Any

from pydantic import Field, PrivateAttr

from synthguard.ledger.home import Home
from synthguard.ledger.log import Ledger
from synthguard.provenance.errors import InputError, KeyringError
from synthguard.provenance.record import Generator, Origin
from synthguard.provenance.recorder import Recorder
from synthguard.provenance.sample import FieldMapping, as_sample

try:
    from distilabel.steps import Step, StepInput
except ImportError as exc:  # pragma: no cover - depends on what is installed
    raise ImportError(
        "the distilabel step needs distilabel: pip install 'synthguard[distilabel]'"
    ) from exc

DEFAULT_PASSPHRASE_ENV = "SYNTHGUARD_PASSPHRASE"


class RecordStep(Step):
    """Records each row as a signed `generated` lineage record and adds its sample id."""

    home: str | None = Field(default=None, description="The synthguard home (.synthguard).")
    db: str | None = Field(default=None, description="A ledger URL, instead of the home's.")
    generator: Generator = Field(description="Who generated the rows, for their records.")
    mapping: FieldMapping = Field(default_factory=FieldMapping)
    id_column: str = "synthguard_id"
    origin: Origin = Origin.SYNTHETIC
    run_id: str | None = None
    passphrase_env: str = DEFAULT_PASSPHRASE_ENV

    _ledger: Ledger | None = PrivateAttr(default=None)
    _recorder: Recorder | None = PrivateAttr(default=None)

    @property
    def inputs(self) -> dict[str, bool]:
        """The content columns, each optional: a row needs those of one sample shape."""
        mapping = self.mapping
        names = (mapping.instruction, mapping.input, mapping.output, mapping.messages)
        return {name: False for name in (*names, mapping.text)}

    @property
    def outputs(self) -> list[str]:
        """The sample id column."""
        return [self.id_column]

    def load(self) -> None:
        """Open the ledger with the home's signing key, in the process that runs the step."""
        super().load()
        passphrase = os.environ.get(self.passphrase_env)
        if passphrase is None:
            raise KeyringError(f"${self.passphrase_env} must hold the signing key's passphrase")
        home = Home.locate(Path(self.home) if self.home else None)
        self._ledger = home.open(lambda: passphrase, db=self.db)
        self._recorder = Recorder(self._ledger, run_id=self.run_id, mapping=self.mapping)

    def process(self, inputs: StepInput) -> Any:
        """Record a batch of rows (one append) and yield them with their sample ids."""
        recorder = self._recorder
        if recorder is None:
            raise InputError("RecordStep.load() must run before process()")
        rows = []
        with recorder.batch():
            for i, row in enumerate(inputs):
                content = {k: v for k, v in row.items() if k != self.id_column}
                try:
                    sample = as_sample(content, self.mapping)
                except InputError as exc:
                    raise InputError(f"row {i} of the batch: {exc}") from None
                record = recorder.generated(sample, self.generator, origin=self.origin)
                rows.append({**row, self.id_column: record.sample_id})
        yield rows

    def unload(self) -> None:
        """Commit what is left, write a checkpoint and close the ledger."""
        try:
            if self._recorder is not None:
                self._recorder.close()
            if self._ledger is not None:
                self._ledger.checkpoint()
        finally:
            if self._ledger is not None:
                self._ledger.close()
            self._recorder = self._ledger = None
            super().unload()


__all__ = ["RecordStep"]
