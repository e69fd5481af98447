"""The labelled rows the offline toxicity head is trained and calibrated on, and the disjoint rows
it is measured on, each with where it comes from.

Sources. The two published sets are not in the repository (they are others' work, under their
own licences): put them where `DATA` says before training or measuring. Copy HateCheck's
test_suite_cases.csv into benchmarks/data/hatecheck/ and ToxiGen's demonstrations/*.txt into
benchmarks/data/toxigen/ (both folders are git-ignored). The written sets are ours and are
committed.

- HateCheck (Röttger et al., 2021, "HateCheck: Functional Tests for Hate Speech Detection
  Models", ACL; CC BY 4.0; test_suite_cases.csv of github.com/paul-rottger/hatecheck-data):
  3,728 validated test cases in 29 functional tests. Split by template (a case's `templ_id`, or
  the `ref_templ_id` of the hateful case it quotes or negates) with CRC32 parity: the even
  templates calibrate, the odd ones evaluate, so no sentence pattern is on both sides.
- ToxiGen demonstrations (Hartvigsen et al., 2022, "ToxiGen", ACL; CDLA-Permissive-2.0;
  demonstrations/ of github.com/microsoft/TOXIGEN): 623 human-written implicitly hateful and
  neutral statements about 13 groups. Calibration only.
- benchmarks/data/toxicity/calibration_written.jsonl and evaluation_written.jsonl: rows written
  for synthguard to HateCheck's functional-test method, retargeted at individuals (threats,
  insults, dehumanisation) and at the look-alikes a screen must pass (neutral history of
  violence, quoted threats in news, medical and legal text, criticism, reclaimed words). Written
  as two separate sets with different wording; no row is in both. Their `clean_instruction` rows
  are instruction-tuning look-alikes ("kill the process", the antonym of "humble" is
  "arrogant", a chess capture).
- Ordinary instruction-tuning text, every row clean (`instruction_rows`): the fields of the
  demo generator's tasks (synthguard.cli.demo.tasks, the word tables of `synthguard demo`) and
  library docstrings (tests/guards/poisoning.py's real corpus: the standard library, numpy,
  SQLAlchemy, click, ...). Split by task template and by documented module with CRC32 parity,
  like HateCheck, so a template or module is on one side only.

Labels for toxicity (not HateCheck's hate/non-hate): every hateful HateCheck case is an
`identity_attack`, its two threat functions are also a `threat`; `target_indiv_nh` ("I despise
you") is abuse of an individual, an `insult`; `target_group_nh` (abuse of non-protected groups
such as "I hate waiters") is left out, neither clearly clean nor clearly an attack.
"""

from __future__ import annotations

import csv
import json
import random
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path

from synthguard.cli.demo.tasks import TASKS
from synthguard.guards.toxicity import WINDOW_WORDS

DATA = Path(__file__).resolve().parent / "data"
HATECHECK = DATA / "hatecheck" / "test_suite_cases.csv"
TOXIGEN = DATA / "toxigen"
WRITTEN = DATA / "toxicity"
TESTS_GUARDS = Path(__file__).resolve().parents[1] / "tests" / "guards"
DEMO_DRAWS = 12
"""Tasks drawn from each demo template, each field a row."""
DOCSTRINGS = 1500
"""Docstrings drawn per side (of ~8,000), the first WINDOW_WORDS words of each a row."""
LABELS = ("threat", "insult", "identity_attack")
PROFANITY_FREE_LEFT_OUT = {"profanity_h", "profanity_nh", "slur_h"}
"""HateCheck functions with a swear word or slur in every case: left out of the profanity-free
recall and false-positive figures (they are what the lexical baseline already catches)."""


@dataclass(frozen=True)
class Row:
    """One labelled text, where it comes from, and which group of rows it shares a pattern with."""

    text: str
    labels: tuple[str, ...]
    source: str
    function: str
    group: str


def _side(key: str) -> str:
    return "calibration" if zlib.crc32(key.encode()) % 2 == 0 else "evaluation"


def _require(path: Path, what: str) -> None:
    if not path.exists():
        raise SystemExit(f"{path} is missing: {what} (see benchmarks/toxicity_data.py)")


def hatecheck(split: str) -> list[Row]:
    """HateCheck's cases of the even ("calibration") or odd ("evaluation") templates."""
    _require(HATECHECK, "HateCheck's test_suite_cases.csv, github.com/paul-rottger/hatecheck-data")
    rows = []
    with HATECHECK.open(encoding="utf-8", newline="") as data:
        for case in csv.DictReader(data):
            function = case["functionality"]
            if function == "target_group_nh":
                continue
            template = case["ref_templ_id"] or case["templ_id"]
            if _side(template) != split:
                continue
            labels: tuple[str, ...] = ()
            if function.startswith("threat_"):
                labels = ("threat", "identity_attack")
            elif case["label_gold"] == "hateful":
                labels = ("identity_attack",)
            elif function == "target_indiv_nh":
                labels = ("insult",)
            rows.append(
                Row(case["test_case"].strip(), labels, "hatecheck", function, f"hc-{template}")
            )
    return rows


def toxigen() -> list[Row]:
    """ToxiGen's human-written demonstrations: hateful ones are identity attacks."""
    _require(TOXIGEN, "ToxiGen's demonstrations/*.txt, github.com/microsoft/TOXIGEN")
    rows = []
    for path in toxigen_files():
        hateful = path.name.startswith("hate_")
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                rows.append(
                    Row(
                        line.strip(),
                        ("identity_attack",) if hateful else (),
                        "toxigen",
                        "hate" if hateful else "neutral",
                        f"tg-{path.stem}",
                    )
                )
    return rows


def toxigen_files() -> list[Path]:
    """ToxiGen's demonstration files (hate_*.txt, neutral_*.txt), sorted."""
    return sorted([*TOXIGEN.glob("hate_*.txt"), *TOXIGEN.glob("neutral_*.txt")])


def written(name: str) -> list[Row]:
    """The rows of benchmarks/data/toxicity/<name>.jsonl."""
    rows = []
    lines = (WRITTEN / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines):
        row = json.loads(line)
        # Groups of ~10 consecutive rows, so cross-validation folds hold out whole runs.
        group = f"{name}-{row['functionality']}-{number // 10}"
        rows.append(Row(row["text"], tuple(row["labels"]), name, row["functionality"], group))
    return rows


def instruction_rows(split: str) -> list[Row]:
    """Clean instruction-tuning fields of the demo templates and docstring modules of `split`."""
    rows = []
    for task in TASKS:
        name = task.__name__.lstrip("_")
        if _side(name) != split:
            continue
        rng = random.Random(name)
        for _ in range(DEMO_DRAWS):
            for field in task(rng):
                if field.strip():
                    rows.append(Row(field, (), "demo", "instruction_demo", f"demo-{name}"))
    sys.path.insert(0, str(TESTS_GUARDS))
    import poisoning  # the real-text corpus of the guards' tests

    docs = [doc for doc in poisoning.docstrings() if _side(doc.module) == split]
    for doc in random.Random(split).sample(docs, min(DOCSTRINGS, len(docs))):
        text = " ".join(doc.text.split()[:WINDOW_WORDS])
        rows.append(Row(text, (), "docstrings", "instruction_docs", f"doc-{doc.module}"))
    return rows


def calibration_rows() -> list[Row]:
    """Everything the head is trained and its thresholds calibrated on (first copy of a text)."""
    rows = hatecheck("calibration") + toxigen() + written("calibration_written")
    return _unique(rows + instruction_rows("calibration"))


def evaluation_rows() -> list[Row]:
    """Everything the benchmark measures on: no text, and no HateCheck template, of calibration."""
    seen = {row.text for row in calibration_rows()}
    rows = hatecheck("evaluation") + written("evaluation_written") + instruction_rows("evaluation")
    return [row for row in _unique(rows) if row.text not in seen]


def _unique(rows: list[Row]) -> list[Row]:
    kept: dict[str, Row] = {}
    for row in rows:
        kept.setdefault(row.text, row)
    return list(kept.values())
