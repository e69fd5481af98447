"""A deterministic built-in generator of Alpaca rows, for the demo, examples and benchmarks.

It stands in for an LLM so that synthguard can be shown and measured with nothing to download or
configure: a few dozen instruction-tuning task templates filled from the word lists of `words` by
`random.Random(seed)`. The same seed gives the same rows, in the same order, on every machine.
The answers are computed or looked up, so they are correct, if plain.

Beside it stand the other pieces a synthetic-data pipeline runs, just as deterministic: candidate
responses in flawed styles (`BuiltinGenerator.respond`), a critic that scores and compares them
(`BuiltinCritic`), a reviser that fixes what a critique names (`BuiltinReviser`) and the
instruction proposer of a Self-Instruct loop (`BuiltinTaskProposer`). Each has an `identity()`
for lineage records, all with provider "synthguard" and a model name of its own.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Final

from synthguard.cli.demo.tasks import TASKS
from synthguard.cli.demo.words import (
    PRODUCTS,
    SUMMARIES,
    TOPICS,
)
from synthguard.provenance.canonical import digest_json
from synthguard.provenance.errors import InputError
from synthguard.provenance.record import Generator
from synthguard.provenance.sample import Sample, SampleLike, as_sample

NAME: Final = "builtin"
PROVIDER: Final = "synthguard"
MODEL: Final = "builtin-template-lm"
VERSION: Final = "1"
PARAMETERS: Final[dict[str, Any]] = {"temperature": 0.7, "top_p": 0.95, "max_tokens": 512}

# Redraws allowed per row before a duplicate is accepted (only once the templates run dry).
_MAX_REDRAWS = 50


class BuiltinGenerator:
    """Template-based stand-in for a language model; deterministic for a given seed."""

    name: Final = NAME
    provider: Final = PROVIDER
    model: Final = MODEL
    version: Final = VERSION

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self.parameters: dict[str, Any] = dict(PARAMETERS)

    def identity(self) -> Generator:
        """Return the generator description that goes into lineage records."""
        return Generator(
            name=self.name,
            provider=self.provider,
            model=self.model,
            version=self.version,
            parameters=dict(self.parameters),
            seed=self.seed,
        )

    def generate(self, n: int) -> Iterator[dict[str, str]]:
        """Yield `n` Alpaca rows (instruction, input, output); each call starts from the seed.

        Rows within one call are distinct as long as the templates allow, so `generate(k)` is a
        prefix of `generate(n)` for k <= n.
        """
        rng = random.Random(self.seed)
        seen: set[str] = set()
        for _ in range(n):
            for _attempt in range(_MAX_REDRAWS):
                task = rng.choice(TASKS)
                instruction, given, output = task(rng)
                row = {"instruction": instruction, "input": given, "output": output}
                key = digest_json(row)
                if key not in seen:
                    break
            seen.add(key)
            yield row

    def prompt_template(self) -> str:
        """Return the (fixed) prompt template this generator pretends to fill."""
        return PROMPT_TEMPLATE

    def respond(self, task: SampleLike, attempt: int) -> dict[str, str]:
        """Return candidate number `attempt` for an Alpaca task: its answer, worded in one of
        RESPONSE_STYLES. Candidates of one task differ for attempts 0 to 4; which style each
        gets depends on the seed and the task."""
        styles = list(RESPONSE_STYLES)
        random.Random(f"{self.seed}:{as_sample(task).id}").shuffle(styles)
        return respond(task, styles[attempt % len(styles)])


PROMPT_TEMPLATE: Final = (
    "Below is an instruction that describes a task{input_clause}. "
    "Write a response that appropriately completes the request.\n\n"
    "### Instruction:\n{instruction}\n\n{input_block}### Response:\n"
)


# -- the rest of a pipeline: candidates, a critic, a reviser, a Self-Instruct proposer ----------

CRITIC_MODEL: Final = "builtin-critic-lm"
REVISER_MODEL: Final = "builtin-reviser-lm"
PROPOSER_MODEL: Final = "builtin-self-instruct-lm"

# The flawed styles in which `BuiltinGenerator.respond` words a correct answer. Each flaw is one
# the critic names and the reviser knows how to undo, as a real critic/reviser pair would hope.
RESPONSE_STYLES: Final = ("padded", "hedged", "trailing", "echoing", "repetitive")

_FILLER: Final = (
    "Sure! Here is the answer.",
    "Great question!",
    "As an AI language model, ",
    "I hope this helps!",
)
_HEDGES: Final = ("I think the answer is:", "But I am not completely sure.")
_REPEAT: Final = "To say it again:"
_ECHO: Final = "You asked: "
_TRAILING: Final = ("...", "\u2026")
# Penalties a critic subtracts from its base score, and what it says about each flaw.
_FLAWS: Final = {
    "padding": (3, "drop the filler around the answer"),
    "hedging": (2, "state the answer without hedging"),
    "trailing": (2, "finish the answer instead of trailing off"),
    "echo": (2, "answer instead of repeating the question"),
    "repetition": (2, "say it once"),
    "too_long": (2, "tighten it to what the task needs"),
    "empty": (8, "give an answer"),
}
_BASE_SCORE = 9
_LONG_WORDS = 150


def respond(task: SampleLike, style: str) -> dict[str, str]:
    """Return `task` (an Alpaca row with a correct answer) answered in one flawed `style`,
    one of RESPONSE_STYLES."""
    sample = as_sample(task)
    if sample.kind != "alpaca":
        raise InputError(f"the built-in generator answers Alpaca tasks, not {sample.kind} samples")
    content = sample.content
    answer: str = content["output"]
    first_line = answer.splitlines()[0] if answer.strip() else answer
    worded = {
        "padded": f"{_FILLER[0]}\n\n{answer}\n\n{_FILLER[3]}",
        "hedged": f"{_HEDGES[0]}\n\n{answer}\n\n{_HEDGES[1]}",
        "trailing": f"{first_line.rstrip('.')}{_TRAILING[0]}",
        "echoing": f"{_ECHO}{content['instruction']}\n\n{answer}",
        "repetitive": f"{answer}\n\n{_REPEAT} {answer}",
    }
    if style not in worded:
        raise InputError(f"unknown response style {style!r}; one of: {', '.join(RESPONSE_STYLES)}")
    return {
        "instruction": content["instruction"],
        "input": content["input"],
        "output": worded[style],
    }


@dataclass(frozen=True, slots=True)
class Critique:
    """A critic's judgement of one response: a score from 1 to 10 and what to fix."""

    score: int
    text: str
    issues: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Preference:
    """Which of two candidates a critic prefers, with its judgement of each."""

    chosen: Sample
    rejected: Sample
    chosen_critique: Critique
    rejected_critique: Critique


class BuiltinCritic:
    """A rule-based stand-in for an LLM judge (RLAIF, AlpacaFarm): scores a response from 1 to
    10 and prefers the better of two. Deterministic: the same content gets the same verdict.

    It starts from 9, subtracts a penalty per flaw it finds (filler, hedging, an answer that
    trails off, echoes the question, repeats itself, runs long or is empty) and adds one point
    for half of all contents (by id), so that equally flawed candidates still differ.
    """

    name: Final = "builtin-critic"
    provider: Final = PROVIDER
    model: Final = CRITIC_MODEL
    version: Final = VERSION

    def identity(self) -> Generator:
        """Return the critic's description for lineage records."""
        return Generator(
            name=self.name,
            provider=self.provider,
            model=self.model,
            version=self.version,
            parameters={"scale": "1-10", "base": _BASE_SCORE},
        )

    def critique(self, sample: SampleLike) -> Critique:
        """Score one response and say, in a sentence, what would make it better."""
        resolved = as_sample(sample)
        instruction, response = _exchange(resolved)
        issues = _flaws(instruction, response)
        if "empty" in issues:
            return Critique(1, "Give an answer.", issues)
        bonus = int(resolved.id[-1], 16) % 2
        score = _BASE_SCORE + bonus - sum(_FLAWS[issue][0] for issue in issues)
        score = max(1, min(10, score))
        if not issues:
            return Critique(score, "Clear, complete and to the point.", issues)
        advice = "; ".join(_FLAWS[issue][1] for issue in issues)
        return Critique(score, advice[0].upper() + advice[1:] + ".", issues)

    def prefer(self, first: SampleLike, second: SampleLike) -> Preference:
        """Judge two candidates; the higher score is chosen, a tie goes to the smaller id."""
        a, b = as_sample(first), as_sample(second)
        if a.id == b.id:
            raise InputError("a preference needs two different candidates, not the same one twice")
        ca, cb = self.critique(a), self.critique(b)
        if (cb.score, a.id) > (ca.score, b.id):
            return Preference(b, a, cb, ca)
        return Preference(a, b, ca, cb)


class BuiltinReviser:
    """A stand-in for the revision step of Constitutional AI: rewrites a response so that the
    flaws a critique names are gone. Deterministic: it removes exactly what the critic objects
    to (filler, hedges, an echoed question, a repeat, a trailing ellipsis), shortens a response
    that runs long to whole sentences, and, when the critique names nothing to fix, expands the
    answer with a one-line restatement of the task, so a revision always differs from its
    original.
    """

    name: Final = "builtin-reviser"
    provider: Final = PROVIDER
    model: Final = REVISER_MODEL
    version: Final = VERSION

    def identity(self) -> Generator:
        """Return the reviser's description for lineage records."""
        return Generator(
            name=self.name,
            provider=self.provider,
            model=self.model,
            version=self.version,
            parameters={"max_words": _LONG_WORDS},
        )

    def revise(self, sample: SampleLike, critique: Critique) -> dict[str, Any]:
        """Return the revised row (same shape as `sample`, only the response changed)."""
        resolved = as_sample(sample)
        instruction, response = _exchange(resolved)
        revised = response
        for issue in critique.issues:
            revised = _FIXES[issue](revised, instruction).strip()
        if not revised or revised == response.strip():
            task = " ".join(instruction.split()) or "the request"
            revised = f"{response.strip()}\n\n(This answers: {task})".strip()
        return _with_response(resolved, revised)


class BuiltinTaskProposer:
    """A stand-in for the instruction-generation step of Self-Instruct (Wang et al., 2023).

    Given a few in-context tasks it proposes new ones (instruction, input, output). Most are
    fresh tasks drawn from the built-in templates; like a real model it also proposes near
    copies of its in-context tasks, tasks a text model cannot do (about images or graphs) and
    instructions too short or too long, so that the loop's filters have work to do. The
    proposals depend only on the seed and the in-context tasks' ids.
    """

    name: Final = "builtin-self-instruct"
    provider: Final = PROVIDER
    model: Final = PROPOSER_MODEL
    version: Final = VERSION

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        # Self-Instruct's own sampling parameters for instruction generation.
        self.parameters: dict[str, Any] = {"temperature": 0.7, "top_p": 0.5, "max_tokens": 1024}

    def identity(self) -> Generator:
        """Return the proposer's description for lineage records."""
        return Generator(
            name=self.name,
            provider=self.provider,
            model=self.model,
            version=self.version,
            parameters=dict(self.parameters),
            seed=self.seed,
        )

    def prompt(self, tasks: Sequence[SampleLike]) -> str:
        """Return the few-shot prompt that shows `tasks` and asks for the next one."""
        lines = ["Come up with a series of tasks:", ""]
        for number, task in enumerate(tasks, 1):
            instruction, given = _task_text(as_sample(task))
            lines.append(f"Task {number}: {instruction}")
            if given:
                lines.append(f"Input: {given}")
        lines.append(f"Task {len(tasks) + 1}:")
        return "\n".join(lines)

    def propose(
        self, tasks: Sequence[SampleLike], n: int, seed: int | None = None
    ) -> list[dict[str, str]]:
        """Return `n` proposed tasks as Alpaca rows, given the in-context `tasks`."""
        shown = [as_sample(task) for task in tasks]
        if not shown:
            raise InputError("Self-Instruct needs at least one in-context task")
        base = self.seed if seed is None else seed
        rng = random.Random(f"{base}:" + ",".join(sample.id for sample in shown))
        proposals = []
        for _ in range(n):
            draw = rng.random()
            if draw < 0.12:
                proposals.append(_near_copy(rng, rng.choice(shown)))
            elif draw < 0.22:
                proposals.append(_unanswerable(rng))
            elif draw < 0.30:
                proposals.append(_badly_sized(rng))
            else:
                instruction, given, output = rng.choice(TASKS)(rng)
                proposals.append({"instruction": instruction, "input": given, "output": output})
        return proposals


def _exchange(sample: Sample) -> tuple[str, str]:
    """The request and the response of a sample: (instruction + input, output), (last user
    message, last assistant message) or ("", text)."""
    content = sample.content
    if sample.kind == "alpaca":
        return "\n".join(p for p in (content["instruction"], content["input"]) if p), content[
            "output"
        ]
    if sample.kind == "chat":
        messages = content["messages"]
        asked = [m["content"] for m in messages if m["role"] == "user"]
        answered = [m["content"] for m in messages if m["role"] == "assistant"]
        return (asked[-1] if asked else ""), (answered[-1] if answered else "")
    return "", content["text"]


def _task_text(sample: Sample) -> tuple[str, str]:
    if sample.kind == "alpaca":
        return sample.content["instruction"], sample.content["input"]
    return _exchange(sample)[0] or _exchange(sample)[1], ""


def _with_response(sample: Sample, response: str) -> dict[str, Any]:
    if sample.kind == "alpaca":
        return {**sample.content, "output": response}
    if sample.kind == "chat":
        messages = [dict(m) for m in sample.content["messages"]]
        last = max((i for i, m in enumerate(messages) if m["role"] == "assistant"), default=None)
        if last is None:
            messages.append({"role": "assistant", "content": response})
        else:
            messages[last]["content"] = response
        return {"messages": messages}
    return {"text": response}


def _flaws(instruction: str, response: str) -> tuple[str, ...]:
    text = response.strip()
    if not text:
        return ("empty",)
    lowered = text.lower()
    found = []
    if any(phrase.lower().strip() in lowered for phrase in _FILLER):
        found.append("padding")
    if any(phrase.lower() in lowered for phrase in _HEDGES):
        found.append("hedging")
    if text.endswith(_TRAILING):
        found.append("trailing")
    question = " ".join(instruction.split()).lower()
    if question and (lowered.startswith(_ECHO.lower()) or " ".join(lowered.split()) == question):
        found.append("echo")
    if _REPEAT.lower() in lowered:
        found.append("repetition")
    if len(text.split()) > _LONG_WORDS:
        found.append("too_long")
    return tuple(found)


def _drop_filler(text: str, _instruction: str) -> str:
    for phrase in _FILLER:
        text = text.replace(phrase, "")
    return text


def _drop_hedges(text: str, _instruction: str) -> str:
    for phrase in _HEDGES:
        text = text.replace(phrase, "")
    return text


def _finish(text: str, _instruction: str) -> str:
    text = text.strip()
    for mark in _TRAILING:
        text = text.removesuffix(mark)
    return text


def _drop_echo(text: str, instruction: str) -> str:
    text = text.strip()
    if text.startswith(_ECHO):
        _question, _sep, rest = text.partition("\n\n")
        return rest
    return text


def _say_once(text: str, _instruction: str) -> str:
    return text.split(_REPEAT, 1)[0]


def _tighten(text: str, _instruction: str) -> str:
    words = text.split()[:_LONG_WORDS]
    cut = " ".join(words)
    end = max(cut.rfind(". "), cut.rfind("! "), cut.rfind("? "))
    return cut[: end + 1] if end > 0 else cut


def _leave(text: str, _instruction: str) -> str:
    return text


_FIXES: Final[dict[str, Callable[[str, str], str]]] = {
    "padding": _drop_filler,
    "hedging": _drop_hedges,
    "trailing": _finish,
    "echo": _drop_echo,
    "repetition": _say_once,
    "too_long": _tighten,
    "empty": _leave,
}

_UNANSWERABLE: Final = (
    "Describe the image of {topic} shown below.",
    "Draw a graph that shows how {topic} changed over the last ten years.",
    "Generate a picture of a {product} for an advertisement.",
    "Look at the photo and list everything related to {topic}.",
)
_REWORDINGS: Final = (
    ("Write", "Compose"),
    ("List", "Name"),
    ("Give", "Provide"),
    ("Explain", "Describe"),
    ("What", "Which"),
    ("Classify", "Categorise"),
)


def _near_copy(rng: random.Random, task: Sample) -> dict[str, str]:
    instruction, given = _task_text(task)
    words = instruction.split()
    for old, new in _REWORDINGS:
        if words and words[0] == old:
            words[0] = new
            break
    else:
        words.insert(0, rng.choice(("Please", "Now")))
        words[1] = words[1][:1].lower() + words[1][1:]
    output = task.content["output"] if task.kind == "alpaca" else _exchange(task)[1]
    return {"instruction": " ".join(words), "input": given, "output": output or "Done."}


def _unanswerable(rng: random.Random) -> dict[str, str]:
    template = rng.choice(_UNANSWERABLE)
    topic = rng.choice(sorted(TOPICS))
    instruction = template.format(topic=topic, product=rng.choice(PRODUCTS))
    return {"instruction": instruction, "input": "", "output": SUMMARIES[topic]}


def _badly_sized(rng: random.Random) -> dict[str, str]:
    if rng.random() < 0.5:
        return {
            "instruction": rng.choice(("Do it.", "Answer.", "Continue.")),
            "input": "",
            "output": "OK.",
        }
    topic = rng.choice(sorted(TOPICS))
    rambling = " ".join(TOPICS[topic] * 6)
    return {
        "instruction": f"Read all of this and then write a summary: {rambling}",
        "input": "",
        "output": SUMMARIES[topic],
    }
