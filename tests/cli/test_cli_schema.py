"""`synthguard schema` prints the JSON Schema that is committed to the repository."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
from cli_support import invoke

COMMITTED = Path(__file__).parents[2] / "provenance" / "schema" / "lineage-v2.schema.json"


def test_schema_equals_the_committed_file() -> None:
    result = invoke("schema")
    assert result.exit_code == 0, result.output
    assert result.stdout == COMMITTED.read_text(encoding="utf-8"), (
        "provenance/schema/lineage-v2.schema.json is stale: regenerate it with `make schema`"
    )


def test_schema_describes_records_and_key_events() -> None:
    schema = json.loads(invoke("schema").stdout)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert {"LineageRecord", "KeyEvent"} <= set(schema["$defs"])
    record = schema["$defs"]["LineageRecord"]
    assert {"event", "sample_id", "digest", "run_id", "time", "signer"} <= set(record["required"])


REPORT_SCHEMA = (
    Path(__file__).parents[2]
    / "ledger"
    / "report"
    / "schema"
    / "transparency-report-v2.schema.json"
)


def test_report_schema_equals_the_committed_file() -> None:
    result = invoke("schema", "report")
    assert result.exit_code == 0, result.output
    assert result.stdout == REPORT_SCHEMA.read_text(encoding="utf-8"), (
        "ledger/report/schema/transparency-report-v2.schema.json is stale: regenerate it with "
        "`make schema`"
    )


def test_a_json_report_validates_against_the_report_schema(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert invoke("init", home=home, passphrase="pw").exit_code == 0
    out = tmp_path / "report.json"
    result = invoke("report", "--format", "json", "--out", out, home=home)
    assert result.exit_code == 0, result.output
    jsonschema.validate(json.loads(out.read_text()), json.loads(REPORT_SCHEMA.read_text()))
