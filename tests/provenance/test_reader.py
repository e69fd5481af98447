from __future__ import annotations

import json
import pickle
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from synthguard.provenance.errors import InputError
from synthguard.provenance.reader import (
    Row,
    check_input,
    count_rows,
    detect_format,
    read_chunks,
    read_samples,
)
from synthguard.provenance.sample import FieldMapping, sample_from_row

ALPACA = {"instruction": "Add 2 and 3.", "input": "", "output": "5"}
CHAT = {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Yo"}]}
TEXT = {"text": "Once upon a time."}


def _line(value: object) -> bytes:
    return json.dumps(value).encode() + b"\n"


def _write(path: Path, *lines: bytes) -> Path:
    path.write_bytes(b"".join(lines))
    return path


def test_jsonl_yields_good_rows_and_numbered_errors_for_bad_lines(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "mixed.jsonl",
        _line(ALPACA),  # 1
        b"\n",  # 2 blank
        b'{"text": "unterminated\n',  # 3
        b'{"text": "caf\xe9"}\n',  # 4 latin-1, not UTF-8
        b"[1, 2]\n",  # 5
        b"   \t\r\n",  # 6 blank
        _line(CHAT),  # 7
        _line({"instruction": "no output"}),  # 8
        json.dumps(TEXT).encode() + b"\r\n",  # 9
        json.dumps({"text": "last, no newline"}).encode(),  # 10
    )

    rows = list(read_samples(path))

    assert [row.number for row in rows] == [1, 3, 4, 5, 7, 8, 9, 10]
    by_number = {row.number: row for row in rows}
    good = [row.number for row in rows if row.sample is not None]
    assert good == [1, 7, 9, 10]
    assert by_number[1].sample == sample_from_row(ALPACA)
    assert by_number[7].sample == sample_from_row(CHAT)
    assert by_number[9].raw == TEXT
    assert by_number[3].error is not None
    assert by_number[3].error.startswith("invalid JSON: ")
    assert by_number[3].raw == '{"text": "unterminated'
    assert by_number[4].error == "line is not valid UTF-8"
    assert by_number[4].raw == '{"text": "caf\ufffd"}'
    assert by_number[5].error == "row is not a JSON object"
    assert by_number[5].raw == [1, 2]
    assert by_number[8].error == "missing field 'output'"
    assert by_number[8].raw == {"instruction": "no output"}


@pytest.mark.parametrize(("rows", "size"), [(1, 1 << 20), (3, 1 << 20), (100, 1 << 20), (100, 60)])
def test_chunks_of_lines_parse_to_the_rows_read_one_by_one(
    tmp_path: Path, rows: int, size: int
) -> None:
    """`record` reads chunks of lines here and parses them in its workers: the same rows, the
    same numbers, the same errors, whatever the cut (by rows, or by bytes at `size`)."""
    path = _write(
        tmp_path / "mixed.jsonl",
        b"\xef\xbb\xbf" + _line(ALPACA),
        b"\n",
        b'{"text": "unterminated\n',
        b'{"text": "caf\xe9"}\n',
        _line(CHAT),
        b"   \t\r\n",
        _line({"instruction": "no output"}),
        _line({"text": "x" * 200}),
        json.dumps(TEXT).encode(),
    )

    chunks = list(read_chunks(path, rows=rows, size=size))
    parsed = [row for chunk in chunks for row in pickle.loads(pickle.dumps(chunk)).parsed()]

    assert parsed == list(read_samples(path))
    assert all(0 < len(chunk) <= rows for chunk in chunks)
    # A chunk ends once it holds `size` bytes: no two lines past the cut in one chunk.
    for chunk in chunks:
        assert sum(len(line) for _, line in chunk.lines[:-1]) < size


def test_chunks_of_a_parquet_file_hold_its_parsed_rows(tmp_path: Path) -> None:
    path = _parquet(tmp_path / "rows.parquet", [{"text": f"row {i}"} for i in range(5)])

    chunks = list(read_chunks(path, rows=2, size=1))

    assert [len(chunk) for chunk in chunks] == [2, 2, 1]
    assert [row for chunk in chunks for row in chunk.parsed()] == list(read_samples(path))


def test_every_row_holds_exactly_one_of_sample_and_error(tmp_path: Path) -> None:
    path = _write(tmp_path / "a.jsonl", _line(TEXT), b"nope\n")

    for row in read_samples(path):
        assert (row.sample is None) != (row.error is None)
    with pytest.raises(ValueError, match="exactly one"):
        Row(1, {}, None, None)


def test_jsonl_reads_through_a_byte_order_mark(tmp_path: Path) -> None:
    path = _write(tmp_path / "bom.jsonl", b"\xef\xbb\xbf" + _line(TEXT))

    [row] = read_samples(path)

    assert row.sample is not None
    assert row.sample.content == TEXT


def test_lone_surrogate_escape_in_jsonl_is_a_row_error_naming_the_field(tmp_path: Path) -> None:
    path = _write(tmp_path / "s.jsonl", b'{"text": "a\\ud800b"}\n', _line(TEXT))

    bad, good = read_samples(path)

    assert bad.error == "field 'text' contains a lone surrogate (not valid UTF-8)"
    assert good.sample is not None


def test_jsonl_applies_the_field_mapping(tmp_path: Path) -> None:
    path = _write(tmp_path / "m.jsonl", _line({"prompt": "Add 2 and 3.", "response": "5"}))
    mapping = FieldMapping.parse(["instruction=prompt", "output=response"])

    [row] = read_samples(path, mapping)

    assert row.sample is not None
    assert row.sample.id == sample_from_row(ALPACA).id


def test_any_suffix_other_than_parquet_reads_as_jsonl(tmp_path: Path) -> None:
    path = _write(tmp_path / "samples.txt", _line(TEXT))

    assert detect_format(path) == "jsonl"
    assert [row.sample is not None for row in read_samples(path)] == [True]


def test_missing_file_raises_one_line_input_error_on_the_call(tmp_path: Path) -> None:
    missing = tmp_path / "nope.jsonl"

    with pytest.raises(InputError, match=r"cannot read .*nope\.jsonl") as caught:
        read_samples(missing)

    assert "\n" not in str(caught.value)


def test_plain_directory_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="is a directory"):
        read_samples(tmp_path)


def test_unknown_format_is_an_input_error(tmp_path: Path) -> None:
    path = _write(tmp_path / "a.jsonl", _line(TEXT))

    with pytest.raises(InputError, match="unknown input format 'csv'"):
        read_samples(path, fmt="csv")


def test_count_rows_of_jsonl_counts_lines(tmp_path: Path) -> None:
    ended = _write(tmp_path / "a.jsonl", _line(TEXT), _line(ALPACA), _line(CHAT))
    unended = _write(tmp_path / "b.jsonl", _line(TEXT), json.dumps(TEXT).encode())
    empty = _write(tmp_path / "c.jsonl")

    assert count_rows(ended) == 3
    assert count_rows(unended) == 2
    assert count_rows(empty) == 0
    assert count_rows(tmp_path / "missing.jsonl") is None


# Parquet


def _parquet(path: Path, rows: list[dict[str, Any]], row_group_size: int | None = None) -> Path:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    pq.write_table(pa.Table.from_pylist(rows), path, row_group_size=row_group_size)
    return path


def test_parquet_round_trip_keeps_content_ids(tmp_path: Path) -> None:
    rows: list[dict[str, Any]] = [{**ALPACA, "id": "a"}, {**CHAT, "id": "b"}, {**TEXT, "id": "c"}]
    columns = ["id", "instruction", "input", "output", "messages", "text"]
    # A table has every column in every row: the cells a row lacks are nulls.
    table = [{column: row.get(column) for column in columns} for row in rows]
    path = _parquet(tmp_path / "samples.parquet", table)

    read = list(read_samples(path))

    assert detect_format(path) == "parquet"
    assert [row.number for row in read] == [1, 2, 3]
    assert [row.error for row in read] == [None, None, None]
    assert [row.raw for row in read] == table
    # The nulls make a different row but the same content, so the same id.
    ids = [row.sample.id for row in read if row.sample]
    assert ids == [sample_from_row(row).id for row in rows]


def test_parquet_rows_are_numbered_across_batches(tmp_path: Path) -> None:
    rows = [{"text": f"sample {i}" if i != 1500 else ""} for i in range(2500)]
    path = _parquet(tmp_path / "many.parquet", rows, row_group_size=700)

    read = list(read_samples(path))

    assert [row.number for row in read] == list(range(1, 2501))
    assert [row.number for row in read if row.error] == [1501]
    assert read[1500].error == "field 'text' is empty"
    assert count_rows(path) == 2500


def test_parquet_cells_json_cannot_hold_become_strings(tmp_path: Path) -> None:
    when = datetime(2024, 5, 1, 12, 30, tzinfo=UTC)
    path = _parquet(tmp_path / "t.parquet", [{"text": "x", "at": when}])

    [row] = read_samples(path)

    assert row.sample is not None
    assert row.sample.row["at"] == when.isoformat()


def test_format_can_be_forced(tmp_path: Path) -> None:
    path = _parquet(tmp_path / "samples.bin", [TEXT])

    [row] = read_samples(path, fmt="parquet")

    assert row.sample is not None
    assert row.sample.content == TEXT


def test_corrupt_parquet_is_an_input_error(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    path = _write(tmp_path / "broken.parquet", b"not parquet at all")

    with pytest.raises(InputError, match="not a readable Parquet file"):
        read_samples(path)
    assert count_rows(path) is None


def test_parquet_with_a_repeated_column_name_is_refused_whole(tmp_path: Path) -> None:
    # As rows, the two `output` cells would become one key: one value dropped unsaid.
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    path = tmp_path / "dup.parquet"
    columns = [pa.array(["a"]), pa.array(["b"]), pa.array(["c"])]
    pq.write_table(pa.Table.from_arrays(columns, names=["instruction", "output", "output"]), path)

    for read in (lambda: list(read_samples(path)), lambda: check_input(path)):
        with pytest.raises(InputError, match="more than one column named 'output'"):
            read()


def test_parquet_without_pyarrow_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write(tmp_path / "a.parquet", b"")
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)

    with pytest.raises(InputError) as caught:
        read_samples(path)

    assert str(caught.value) == (
        "reading Parquet needs the parquet extra: pip install 'synthguard[parquet]'"
    )


# Hugging Face datasets


def test_hf_dataset_folder_is_read_row_by_row(tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets", reason="the hf extra (datasets) is not installed")
    rows = [{"prompt": f"Q{i}", "response": f"A{i}" if i != 2 else ""} for i in range(5)]
    folder = tmp_path / "ds"
    datasets.Dataset.from_list(rows).save_to_disk(str(folder))
    mapping = FieldMapping.parse(["instruction=prompt", "output=response"])

    read = list(read_samples(folder, mapping))

    assert detect_format(folder) == "hf"
    assert [row.number for row in read] == [1, 2, 3, 4, 5]
    assert read[2].error == "field 'response' is empty"
    assert read[0].sample == sample_from_row(rows[0], mapping)
    assert count_rows(folder) == 5


def test_hf_dataset_dict_folder_asks_for_one_split(tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets", reason="the hf extra (datasets) is not installed")
    split = datasets.Dataset.from_list([TEXT])
    datasets.DatasetDict({"train": split, "test": split}).save_to_disk(str(tmp_path / "dd"))

    with pytest.raises(InputError, match=r"several splits \(train, test\)"):
        read_samples(tmp_path / "dd")


def test_hf_without_datasets_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "state.json").write_text("{}")
    monkeypatch.setitem(sys.modules, "datasets", None)

    with pytest.raises(InputError) as caught:
        read_samples(tmp_path)

    assert str(caught.value) == (
        "reading a Hugging Face dataset needs the hf extra: pip install 'synthguard[hf]'"
    )
