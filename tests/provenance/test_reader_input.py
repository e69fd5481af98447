"""Input that is not what the user thinks: gzip read as it streams, a file that is not JSONL at
all said once, an input without rows told apart from one with bad rows."""

from __future__ import annotations

import gzip
import json
import tracemalloc
from pathlib import Path

import pytest

from synthguard.provenance.errors import EmptyInputError, InputError
from synthguard.provenance.reader import SNIFF_LINES, check_input, count_rows, read_samples
from synthguard.provenance.sample import sample_from_row

ROWS = [{"text": f"Row number {i} of the file."} for i in range(5)]
JSONL = b"".join(json.dumps(row).encode() + b"\n" for row in ROWS)


def _ids(path: Path) -> list[str | None]:
    return [row.sample.id if row.sample else row.error for row in read_samples(path)]


@pytest.mark.parametrize("name", ["data.jsonl.gz", "data.json.gz", "DATA.JSONL.GZ"])
def test_gzip_by_its_name_reads_like_the_plain_file(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(gzip.compress(JSONL))

    check_input(path)
    assert _ids(path) == [sample_from_row(row).id for row in ROWS]
    assert count_rows(path) == len(ROWS)


def test_gzip_streams_rather_than_decompressing_whole(tmp_path: Path) -> None:
    # 200 MB of long blank lines compress to a few hundred KB; a reader that decompressed the
    # file whole, or held a line whole while looking at the first lines, would show it.
    path = tmp_path / "big.jsonl.gz"
    with gzip.open(path, "wb") as out:
        for _ in range(200):
            out.write(b" " * (1 << 20) + b"\n")
        out.write(JSONL)

    tracemalloc.start()
    try:
        check_input(path)
        read = _ids(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert read == [sample_from_row(row).id for row in ROWS]
    assert peak < 16 * (1 << 20)


def test_a_gz_name_on_a_plain_file_is_one_error(tmp_path: Path) -> None:
    path = tmp_path / "data.jsonl.gz"
    path.write_bytes(JSONL)

    with pytest.raises(InputError, match=r"data\.jsonl\.gz is not gzip-compressed"):
        check_input(path)
    with pytest.raises(InputError, match=r"is not gzip-compressed"):
        list(read_samples(path))


def test_a_cut_off_gzip_file_is_one_error_after_the_rows_before_the_cut(tmp_path: Path) -> None:
    path = tmp_path / "cut.jsonl.gz"
    whole = gzip.compress(JSONL * 20_000, compresslevel=1)
    path.write_bytes(whole[: len(whole) // 2])

    read: list[bool] = []

    def read_all() -> None:
        read.extend(row.sample is not None for row in read_samples(path))

    with pytest.raises(InputError, match=r"cut\.jsonl\.gz is cut off or corrupt") as caught:
        read_all()
    assert read
    assert all(read)
    assert "\n" not in str(caught.value)


def test_a_csv_file_is_one_error_after_its_first_20_lines(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_text("instruction,output\n" + "".join(f"add {i},{i}\n" for i in range(1000)))

    with pytest.raises(InputError) as caught:
        check_input(path)

    assert str(caught.value) == (
        f"{path} does not look like JSONL: the first 20 lines are not JSON objects"
    )
    assert SNIFF_LINES == 20


@pytest.mark.parametrize(
    ("content", "what"),
    [
        pytest.param(b"a,b\n1,2\n3,4\n", "none of its 3 lines is a JSON object", id="short-csv"),
        pytest.param(
            json.dumps(ROWS, indent=2).encode(),
            "none of its 17 lines is a JSON object",
            id="pretty-printed-json",
        ),
        pytest.param(b"\x00\x01\x02binary", "its only line is not a JSON object", id="binary"),
        pytest.param(
            b"PAR1" + bytes(range(11, 256)),
            "its only line is not a JSON object (it is Parquet: name it *.parquet, or pass "
            "--format parquet)",
            id="parquet",
        ),
    ],
)
def test_a_file_with_no_json_object_in_its_first_lines_is_not_jsonl(
    tmp_path: Path, content: bytes, what: str
) -> None:
    path = tmp_path / "data.jsonl"
    path.write_bytes(content)

    with pytest.raises(InputError) as caught:
        check_input(path)

    assert str(caught.value) == f"{path} does not look like JSONL: {what}"


def test_gzip_without_its_gz_name_says_so(tmp_path: Path) -> None:
    path = tmp_path / "data.jsonl"
    path.write_bytes(gzip.compress(JSONL * 100))

    with pytest.raises(InputError, match=r"does not look like JSONL") as caught:
        check_input(path)

    assert str(caught.value).endswith("(it is gzip-compressed: name it data.jsonl.gz)")


@pytest.mark.parametrize(
    "lines",
    [
        pytest.param([b"not json"] * (SNIFF_LINES - 1) + [JSONL], id="object-on-line-20"),
        pytest.param([b"\xef\xbb\xbf  ", b"", b'{"text": "a", "text": "b"}'], id="bom-blank-dup"),
        pytest.param([b'{"text": "t", "score": NaN, "n": ' + b"9" * 5000 + b"}"], id="nan-long"),
        pytest.param([b'{"text": "caf\xe9"}'], id="latin-1"),
        pytest.param([b'  {"text": "' + b"x" * 200_000 + b'"}'], id="long-line"),
        pytest.param([b" " * 200_000, b'{"text": "after a long blank line"}'], id="long-blank"),
    ],
)
def test_jsonl_with_bad_rows_is_still_jsonl(tmp_path: Path, lines: list[bytes]) -> None:
    # A row that is an object but not a good one (a repeated key, NaN, not UTF-8) is that row's
    # error, listed by number: the file is JSONL.
    path = tmp_path / "data.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")

    check_input(path)


def test_a_long_binary_line_is_judged_without_holding_it(tmp_path: Path) -> None:
    path = tmp_path / "data.jsonl"
    path.write_bytes(b"\x00" * 30_000_000)

    tracemalloc.start()
    try:
        with pytest.raises(InputError, match="its only line is not a JSON object"):
            check_input(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert peak < 4 * (1 << 20)


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("empty.jsonl", b""),
        ("blank.jsonl", b"\n  \n\t\r\n"),
        ("bom.jsonl", b"\xef\xbb\xbf\n"),
        ("empty.jsonl.gz", gzip.compress(b"")),
    ],
)
def test_an_input_without_rows_is_empty(tmp_path: Path, name: str, content: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(content)

    with pytest.raises(EmptyInputError) as caught:
        check_input(path)

    assert str(caught.value) == f"{path} is empty: it holds no rows"


def test_an_empty_parquet_file_is_empty(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    path = tmp_path / "empty.parquet"
    pq.write_table(pa.table({"text": pa.array([], pa.string())}), path)

    with pytest.raises(EmptyInputError, match="is empty"):
        check_input(path)


def test_check_input_fails_like_read_samples_on_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"cannot read .*nope\.jsonl: No such file"):
        check_input(tmp_path / "nope.jsonl")
