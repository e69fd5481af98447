"""`synthguard schema` prints the JSON Schema that is committed to the repository."""

from __future__ import annotations

import json
from pathlib import Path

from cli_support import invoke

COMMITTED = Path(__file__).parents[2] / "provenance" / "schema" / "lineage-v1.schema.json"


def test_schema_equals_the_committed_file() -> None:
    result = invoke("schema")
    assert result.exit_code == 0, result.output
    assert result.stdout == COMMITTED.read_text(encoding="utf-8"), (
        "provenance/schema/lineage-v1.schema.json is stale: regenerate it with `make schema`"
    )


def test_schema_describes_records_and_key_events() -> None:
    schema = json.loads(invoke("schema").stdout)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert {"LineageRecord", "KeyEvent"} <= set(schema["$defs"])
    record = schema["$defs"]["LineageRecord"]
    assert {"event", "sample_id", "digest", "run_id", "time", "signer"} <= set(record["required"])
