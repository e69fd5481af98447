"""A deterministic built-in generator of Alpaca rows, for the demo, examples and benchmarks.

It stands in for an LLM so that synthguard can be shown and measured with nothing to download or
configure: a few dozen instruction-tuning task templates filled from word lists by
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

from synthguard.provenance.canonical import digest_json
from synthguard.provenance.errors import InputError
from synthguard.provenance.record import Generator
from synthguard.provenance.sample import Sample, SampleLike, as_sample

Task = Callable[[random.Random], tuple[str, str, str]]

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
    topic = rng.choice(sorted(_TOPICS))
    instruction = template.format(topic=topic, product=rng.choice(_PRODUCTS))
    return {"instruction": instruction, "input": "", "output": _SUMMARIES[topic]}


def _badly_sized(rng: random.Random) -> dict[str, str]:
    if rng.random() < 0.5:
        return {
            "instruction": rng.choice(("Do it.", "Answer.", "Continue.")),
            "input": "",
            "output": "OK.",
        }
    topic = rng.choice(sorted(_TOPICS))
    rambling = " ".join(_TOPICS[topic] * 6)
    return {
        "instruction": f"Read all of this and then write a summary: {rambling}",
        "input": "",
        "output": _SUMMARIES[topic],
    }


# -- word lists ------------------------------------------------------------------------------

_TOPICS: Final = {
    "renewable energy": (
        "Solar and wind power now supply a growing share of the world's electricity.",
        "Their costs have fallen sharply over the last decade.",
        "Storage remains the main obstacle, because the sun and the wind are not always there.",
        "Grid operators are investing in batteries and long-distance transmission lines.",
    ),
    "remote work": (
        "Many companies kept remote work after the pandemic ended.",
        "Employees value the time they save by not commuting.",
        "Managers worry that collaboration and mentoring suffer at a distance.",
        "Hybrid schedules have become a common compromise.",
    ),
    "urban gardening": (
        "City residents are turning rooftops and vacant lots into vegetable gardens.",
        "The gardens provide fresh produce in neighbourhoods with few grocery stores.",
        "They also cool the surrounding streets in summer.",
        "Volunteers say the shared work builds trust between neighbours.",
    ),
    "sleep": (
        "Adults need seven to nine hours of sleep a night.",
        "Too little sleep impairs memory, mood and the immune system.",
        "Screens before bedtime delay the release of melatonin.",
        "A regular schedule is the simplest way to sleep better.",
    ),
    "electric cars": (
        "Sales of electric cars have doubled in several countries.",
        "They produce no exhaust, which improves air quality in cities.",
        "Buyers still worry about range and the availability of chargers.",
        "Battery prices are expected to keep falling.",
    ),
    "coral reefs": (
        "Coral reefs cover a tiny fraction of the ocean floor.",
        "They shelter about a quarter of all marine species.",
        "Warmer water causes corals to expel the algae they live with, a process called bleaching.",
        "Scientists are breeding heat-tolerant corals to restore damaged reefs.",
    ),
    "open-source software": (
        "Open-source software is developed in public and can be reused by anyone.",
        "Most of the internet runs on open-source servers and libraries.",
        "Many projects depend on a handful of unpaid maintainers.",
        "Companies increasingly fund the projects they rely on.",
    ),
}

_SUMMARIES: Final = {
    "renewable energy": "Cheap solar and wind power are spreading fast, and storage is the main "
    "remaining problem.",
    "remote work": "Remote work has stayed popular, and hybrid schedules balance saved commuting "
    "time against weaker collaboration.",
    "urban gardening": "Urban gardens supply fresh food, cool cities and bring neighbours "
    "together.",
    "sleep": "Adults need seven to nine hours of regular sleep, and screens at night make it "
    "worse.",
    "electric cars": "Electric car sales are rising fast, though range and charging still worry "
    "buyers.",
    "coral reefs": "Coral reefs hold a quarter of marine species and are threatened by bleaching, "
    "which scientists hope to counter with heat-tolerant corals.",
    "open-source software": "Open-source software underpins the internet but often rests on a few "
    "unpaid maintainers, whom companies are starting to fund.",
}

_PHRASES: Final = {
    "Good morning": {"French": "Bonjour", "Spanish": "Buenos días", "German": "Guten Morgen"},
    "Thank you very much": {
        "French": "Merci beaucoup",
        "Spanish": "Muchas gracias",
        "German": "Vielen Dank",
    },
    "Where is the train station?": {
        "French": "Où est la gare ?",
        "Spanish": "¿Dónde está la estación de tren?",
        "German": "Wo ist der Bahnhof?",
    },
    "I would like a coffee, please.": {
        "French": "Je voudrais un café, s'il vous plaît.",
        "Spanish": "Quisiera un café, por favor.",
        "German": "Ich hätte gern einen Kaffee, bitte.",
    },
    "How much does this cost?": {
        "French": "Combien ça coûte ?",
        "Spanish": "¿Cuánto cuesta esto?",
        "German": "Wie viel kostet das?",
    },
    "See you tomorrow": {"French": "À demain", "Spanish": "Hasta mañana", "German": "Bis morgen"},
    "The weather is nice today.": {
        "French": "Il fait beau aujourd'hui.",
        "Spanish": "Hoy hace buen tiempo.",
        "German": "Das Wetter ist heute schön.",
    },
    "I do not understand.": {
        "French": "Je ne comprends pas.",
        "Spanish": "No entiendo.",
        "German": "Ich verstehe nicht.",
    },
}

_PRODUCTS: Final = (
    "headphones",
    "blender",
    "backpack",
    "desk lamp",
    "running shoes",
    "phone case",
    "coffee grinder",
    "novel",
    "hotel stay",
    "pizza",
)
_POSITIVE: Final = (
    "works perfectly",
    "exceeded my expectations",
    "is worth every penny",
    "arrived early and well packed",
    "is the best I have owned",
    "made my mornings easier",
)
_NEGATIVE: Final = (
    "broke after a week",
    "is overpriced for what it does",
    "arrived damaged",
    "stopped working after two uses",
    "was a complete disappointment",
    "feels cheap and flimsy",
)

_FUNCTIONS: Final = (
    (
        "reverses a string",
        "reverse_string",
        'def reverse_string(text: str) -> str:\n    """Return text reversed."""\n'
        "    return text[::-1]",
    ),
    (
        "returns the factorial of a non-negative integer",
        "factorial",
        'def factorial(n: int) -> int:\n    """Return n! for n >= 0."""\n    result = 1\n'
        "    for k in range(2, n + 1):\n        result *= k\n    return result",
    ),
    (
        "checks whether a string is a palindrome, ignoring case and spaces",
        "is_palindrome",
        'def is_palindrome(text: str) -> bool:\n    """Return whether text reads the same '
        'backwards."""\n    letters = [c.lower() for c in text if not c.isspace()]\n'
        "    return letters == letters[::-1]",
    ),
    (
        "returns the sum of the even numbers in a list",
        "sum_of_evens",
        'def sum_of_evens(numbers: list[int]) -> int:\n    """Return the sum of the even '
        'numbers."""\n    return sum(n for n in numbers if n % 2 == 0)',
    ),
    (
        "counts the vowels in a string",
        "count_vowels",
        'def count_vowels(text: str) -> int:\n    """Return how many vowels text holds."""\n'
        '    return sum(1 for c in text.lower() if c in "aeiou")',
    ),
    (
        "converts a temperature from Celsius to Fahrenheit",
        "celsius_to_fahrenheit",
        'def celsius_to_fahrenheit(celsius: float) -> float:\n    """Return the temperature in '
        'degrees Fahrenheit."""\n    return celsius * 9 / 5 + 32',
    ),
    (
        "returns the n-th Fibonacci number",
        "fibonacci",
        'def fibonacci(n: int) -> int:\n    """Return the n-th Fibonacci number (fibonacci(0) '
        '== 0)."""\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n'
        "    return a",
    ),
    (
        "removes duplicate items from a list while keeping their order",
        "unique",
        'def unique(items: list[object]) -> list[object]:\n    """Return items without '
        'repeats, first occurrences kept."""\n    seen = set()\n    result = []\n'
        "    for item in items:\n        if item not in seen:\n            seen.add(item)\n"
        "            result.append(item)\n    return result",
    ),
    (
        "returns the largest number in a non-empty list without using max()",
        "largest",
        'def largest(numbers: list[float]) -> float:\n    """Return the largest number."""\n'
        "    best = numbers[0]\n    for n in numbers[1:]:\n        if n > best:\n"
        "            best = n\n    return best",
    ),
    (
        "counts how often each word occurs in a text",
        "word_counts",
        'def word_counts(text: str) -> dict[str, int]:\n    """Return a count of each '
        'lower-cased word."""\n    counts: dict[str, int] = {}\n'
        "    for word in text.lower().split():\n        counts[word] = counts.get(word, 0) + 1\n"
        "    return counts",
    ),
)
_LANGUAGES: Final = ("Python", "Python 3", "idiomatic Python")

_CATEGORIES: Final = {
    "fruits that grow on trees": ("apples", "pears", "cherries", "plums", "oranges", "mangoes"),
    "programming languages": ("Python", "Rust", "Go", "Java", "TypeScript", "C", "Haskell"),
    "planets of the solar system": ("Mercury", "Venus", "Earth", "Mars", "Jupiter", "Saturn"),
    "renewable energy sources": ("solar", "wind", "hydropower", "geothermal", "tidal"),
    "musical instruments with strings": ("violin", "guitar", "cello", "harp", "banjo", "sitar"),
    "ways to save water at home": (
        "take shorter showers",
        "fix leaking taps",
        "run the dishwasher only when full",
        "water the garden in the evening",
        "collect rainwater",
    ),
    "habits that improve focus": (
        "turn off notifications",
        "work in short timed blocks",
        "keep a single task list",
        "take regular breaks",
        "sleep enough",
    ),
}

_CONCEPTS: Final = {
    "photosynthesis": "Photosynthesis is how plants make food: they use the energy of sunlight "
    "to turn carbon dioxide and water into glucose, releasing oxygen as a by-product.",
    "recursion": "Recursion is when a function solves a problem by calling itself on a smaller "
    "version of the same problem, until it reaches a case simple enough to answer directly.",
    "inflation": "Inflation is the general rise of prices over time, which means that each unit "
    "of money buys a little less than before.",
    "a hash function": "A hash function maps data of any size to a fixed-size value; a good one "
    "makes it practically impossible to find two inputs with the same output.",
    "compound interest": "Compound interest is interest earned on both the original amount and "
    "the interest already added, so savings grow faster the longer they stay invested.",
    "the water cycle": "In the water cycle, water evaporates, condenses into clouds, falls as "
    "rain or snow, and flows back to the sea, over and over.",
    "machine learning": "Machine learning is a way of building programs that learn patterns from "
    "examples instead of following rules written by hand.",
    "supply and demand": "Supply and demand says that prices rise when people want more of "
    "something than is available, and fall when there is more than people want.",
    "a database index": "A database index is an extra data structure, often a B-tree, that lets "
    "the database find rows by a column's value without reading the whole table.",
    "public-key cryptography": "Public-key cryptography uses a pair of keys: anyone can encrypt "
    "or verify with the public key, but only the holder of the private key can decrypt or sign.",
}
_AUDIENCES: Final = ("a ten-year-old", "a beginner", "a busy manager", "a high-school student")

_CAPITALS: Final = {
    "France": "Paris",
    "Japan": "Tokyo",
    "Canada": "Ottawa",
    "Australia": "Canberra",
    "Brazil": "Brasília",
    "Kenya": "Nairobi",
    "Norway": "Oslo",
    "Egypt": "Cairo",
    "Mexico": "Mexico City",
    "India": "New Delhi",
    "Portugal": "Lisbon",
    "Vietnam": "Hanoi",
}

_ANTONYMS: Final = {
    "generous": "stingy",
    "ancient": "modern",
    "brave": "cowardly",
    "expand": "contract",
    "rare": "common",
    "transparent": "opaque",
    "accept": "refuse",
    "fragile": "sturdy",
    "humble": "arrogant",
    "victory": "defeat",
}
_SYNONYMS: Final = {
    "happy": ("cheerful", "content", "joyful"),
    "fast": ("quick", "rapid", "swift"),
    "difficult": ("hard", "challenging", "demanding"),
    "big": ("large", "huge", "vast"),
    "smart": ("clever", "bright", "intelligent"),
    "tired": ("weary", "exhausted", "drained"),
}

_GRAMMAR: Final = (
    ("She don't like coffee.", "She doesn't like coffee."),
    ("Me and him went to the store.", "He and I went to the store."),
    ("There is many reasons to stay.", "There are many reasons to stay."),
    ("I have went there before.", "I have gone there before."),
    ("Their going to be late.", "They're going to be late."),
    ("The team have finished it's work.", "The team has finished its work."),
    ("He runs more faster than me.", "He runs faster than I do."),
    ("Everyone should bring their own lunch, isn't it?", "Everyone should bring their own lunch."),
)

_FORMAL: Final = (
    ("Can't make it today, sorry!", "I apologise, but I will be unable to attend today."),
    ("Send me the file ASAP.", "Could you please send me the file at your earliest convenience?"),
    ("The meeting was kind of a waste.", "The meeting was not as productive as we had hoped."),
    ("We need more cash for this.", "This project will require additional funding."),
    ("Thanks a ton for the help!", "Thank you very much for your assistance."),
)

_NAMES: Final = ("Alex", "Priya", "Jordan", "Mei", "Samuel", "Fatima", "Lukas", "Ana")
_MEETINGS: Final = ("project review", "budget meeting", "design workshop", "one-to-one", "demo")
_DAYS: Final = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")

_ACTIVITIES: Final = {
    "preparing for a job interview": (
        "Research the company and the role.",
        "Prepare short stories that show your skills.",
        "Practise answers out loud.",
        "Have questions ready for the interviewer.",
    ),
    "learning a new language": (
        "Practise a little every day.",
        "Learn the most frequent words first.",
        "Listen to native speakers.",
        "Speak early, even with mistakes.",
    ),
    "running a first marathon": (
        "Follow a gradual training plan.",
        "Build up your long run slowly.",
        "Practise eating and drinking while running.",
        "Start the race slower than you think you should.",
    ),
    "writing clear documentation": (
        "Start with what the reader wants to do.",
        "Show a working example early.",
        "Keep sentences short.",
        "Keep the docs next to the code they describe.",
    ),
}

_ANIMALS: Final = {
    "dolphin": "mammal",
    "penguin": "bird",
    "crocodile": "reptile",
    "salmon": "fish",
    "bat": "mammal",
    "frog": "amphibian",
    "eagle": "bird",
    "shark": "fish",
    "tortoise": "reptile",
    "whale": "mammal",
    "salamander": "amphibian",
    "ostrich": "bird",
}

_SENTENCES: Final = (
    "The quick brown fox jumps over the lazy dog",
    "Data quality matters more than data quantity",
    "Every sample should have a signed lineage record",
    "A small test suite run often beats a large one run rarely",
    "The library opens at nine and closes at six",
    "Rain is expected in the north by the evening",
    "Good documentation saves hours of support work",
)

_TABLES: Final = (
    ("customers", "orders_count", "customer"),
    ("products", "price", "product"),
    ("employees", "salary", "employee"),
    ("invoices", "amount", "invoice"),
)

_ERRORS: Final = {
    "ZeroDivisionError: division by zero": "The code divided a number by zero. Check the divisor "
    "before dividing, or catch ZeroDivisionError where a zero is possible.",
    "KeyError: 'name'": "The code looked up the key 'name' in a dictionary that does not have it. "
    "Use dict.get('name') for an optional key, or make sure the key is set first.",
    "IndexError: list index out of range": "The code asked for a list position that does not "
    "exist. Check the list's length, remembering that indexes start at 0.",
    'TypeError: can only concatenate str (not "int") to str': "The code tried to join a string "
    "and a number with +. Convert the number first, e.g. str(n), or use an f-string.",
    "ModuleNotFoundError: No module named 'requests'": "The package is not installed in the "
    "Python environment that runs the code. Install it there, e.g. pip install requests.",
}

_DISHES: Final = {
    "a cup of tea": (
        "Boil fresh water.",
        "Warm the cup or pot.",
        "Add the tea and pour on the water.",
        "Steep for three to five minutes.",
        "Remove the tea and add milk or lemon if you like.",
    ),
    "scrambled eggs": (
        "Crack the eggs into a bowl and whisk them with a pinch of salt.",
        "Melt butter in a pan over low heat.",
        "Pour in the eggs and stir gently.",
        "Take the pan off the heat while the eggs are still soft.",
    ),
    "a simple salad dressing": (
        "Mix three parts olive oil with one part vinegar.",
        "Add a spoon of mustard and a little honey.",
        "Season with salt and pepper.",
        "Shake or whisk until smooth.",
    ),
}

_EMAILS: Final = (
    ("Congratulations! You have won a free cruise. Click here to claim your prize now!", "spam"),
    (
        "Hi team, the release notes for version 2.3 are attached. Please review by Friday.",
        "not spam",
    ),
    ("URGENT: your account will be closed. Verify your password at this link.", "spam"),
    ("Reminder: the dentist appointment is on Tuesday at 10:00.", "not spam"),
    ("Earn $5,000 a week from home with this one weird trick!", "spam"),
    ("Could you share the slides from yesterday's talk? Thanks, Mei", "not spam"),
)

_COMPARISONS: Final = {
    ("cats", "dogs"): "Cats are independent and need little space, while dogs are social, need "
    "daily walks and are easier to train. Both can be affectionate companions.",
    ("Python", "Java"): "Python is dynamically typed and concise, popular for scripting and data "
    "work; Java is statically typed and verbose, popular for large enterprise systems.",
    ("trains", "planes"): "Planes are faster over long distances, while trains go from city "
    "centre to city centre, emit far less carbon and let you work on the way.",
    ("tea", "coffee"): "Coffee has more caffeine and a stronger taste; tea has less caffeine, "
    "comes in many more varieties and is often drunk in larger amounts.",
}

_DEFINITIONS: Final = {
    "ephemeral": "lasting a very short time",
    "meticulous": "showing great attention to detail",
    "ubiquitous": "present or found everywhere",
    "pragmatic": "dealing with things in a practical, realistic way",
    "resilient": "able to recover quickly from difficulties",
    "ambiguous": "open to more than one interpretation",
    "candid": "truthful and straightforward",
}

_KEYWORDS: Final = {
    "renewable energy": ("solar", "wind", "storage", "batteries"),
    "remote work": ("remote work", "commuting", "collaboration", "hybrid"),
    "urban gardening": ("gardens", "produce", "rooftops", "neighbours"),
    "sleep": ("sleep", "memory", "melatonin", "schedule"),
    "electric cars": ("electric cars", "air quality", "range", "chargers"),
    "coral reefs": ("coral reefs", "marine species", "bleaching", "heat-tolerant corals"),
    "open-source software": ("open source", "libraries", "maintainers", "funding"),
}


# -- tasks -----------------------------------------------------------------------------------


def _paragraph(rng: random.Random, topic: str) -> str:
    sentences = _TOPICS[topic]
    count = rng.randint(3, len(sentences))
    return " ".join(sentences[:count])


def _summarise(rng: random.Random) -> tuple[str, str, str]:
    topic = rng.choice(sorted(_TOPICS))
    verb = rng.choice(("Summarise", "Summarize", "Give a one-sentence summary of"))
    return f"{verb} the following paragraph.", _paragraph(rng, topic), _SUMMARIES[topic]


def _title(rng: random.Random) -> tuple[str, str, str]:
    topic = rng.choice(sorted(_TOPICS))
    title = topic[0].upper() + topic[1:]
    style = rng.choice(("short", "catchy", "plain"))
    answer = {"short": title, "catchy": f"{title}: What Comes Next", "plain": f"About {topic}"}
    return f"Suggest a {style} title for this text.", _paragraph(rng, topic), answer[style]


def _keywords(rng: random.Random) -> tuple[str, str, str]:
    topic = rng.choice(sorted(_KEYWORDS))
    n = rng.randint(2, 4)
    words = _KEYWORDS[topic][:n]
    return f"Extract {n} keywords from the text.", _paragraph(rng, topic), ", ".join(words)


def _translate(rng: random.Random) -> tuple[str, str, str]:
    phrase = rng.choice(sorted(_PHRASES))
    language = rng.choice(("French", "Spanish", "German"))
    if rng.random() < 0.5:
        return (
            f"Translate the following phrase into {language}.",
            phrase,
            _PHRASES[phrase][language],
        )
    return f'How do you say "{phrase}" in {language}?', "", _PHRASES[phrase][language]


def _sentiment(rng: random.Random) -> tuple[str, str, str]:
    product = rng.choice(_PRODUCTS)
    positive = rng.random() < 0.5
    clause = rng.choice(_POSITIVE if positive else _NEGATIVE)
    review = f"This {product} {clause}."
    if rng.random() < 0.4:
        extra = rng.choice(_POSITIVE if positive else _NEGATIVE)
        review += f" It also {extra}."
    label = "positive" if positive else "negative"
    instruction = rng.choice(
        (
            "Classify the sentiment of this review as positive or negative.",
            "Is the following product review positive or negative?",
            "Label the review's sentiment.",
        )
    )
    return instruction, review, label


def _function(rng: random.Random) -> tuple[str, str, str]:
    purpose, name, code = rng.choice(_FUNCTIONS)
    language = rng.choice(_LANGUAGES)
    return f"Write a {language} function `{name}` that {purpose}.", "", code


def _list_items(rng: random.Random) -> tuple[str, str, str]:
    category = rng.choice(sorted(_CATEGORIES))
    items = _CATEGORIES[category]
    n = rng.randint(3, len(items))
    chosen = rng.sample(items, n)
    lines = "\n".join(f"{i}. {item}" for i, item in enumerate(chosen, 1))
    return f"List {n} {category}.", "", lines


def _explain(rng: random.Random) -> tuple[str, str, str]:
    concept = rng.choice(sorted(_CONCEPTS))
    audience = rng.choice(_AUDIENCES)
    return f"Explain {concept} to {audience}.", "", _CONCEPTS[concept]


def _arithmetic(rng: random.Random) -> tuple[str, str, str]:
    a, b = rng.randint(2, 999), rng.randint(2, 999)
    op = rng.choice(("+", "-", "*"))
    result = {"+": a + b, "-": a - b, "*": a * b}[op]
    word = {"+": "sum", "-": "difference", "*": "product"}[op]
    if rng.random() < 0.5:
        return f"What is {a} {op} {b}?", "", str(result)
    return f"Calculate the {word} of the two numbers.", f"{a}, {b}", f"{a} {op} {b} = {result}"


def _convert_units(rng: random.Random) -> tuple[str, str, str]:
    kind = rng.choice(("km", "kg", "c", "l"))
    value = rng.randint(1, 250)
    if kind == "km":
        return f"Convert {value} kilometres to miles.", "", f"{value * 0.621371:.2f} miles"
    if kind == "kg":
        return f"Convert {value} kilograms to pounds.", "", f"{value * 2.20462:.2f} pounds"
    if kind == "c":
        return (
            f"Convert {value} degrees Celsius to Fahrenheit.",
            "",
            f"{value * 9 / 5 + 32:.1f} °F",
        )
    return f"Convert {value} litres to US gallons.", "", f"{value * 0.264172:.2f} US gallons"


def _formal(rng: random.Random) -> tuple[str, str, str]:
    casual, formal = rng.choice(_FORMAL)
    verb = rng.choice(("Rewrite", "Rephrase"))
    return f"{verb} the sentence in a more formal tone.", casual, formal


def _grammar(rng: random.Random) -> tuple[str, str, str]:
    wrong, right = rng.choice(_GRAMMAR)
    return rng.choice(("Correct the grammar.", "Fix the mistakes in this sentence.")), wrong, right


def _capital(rng: random.Random) -> tuple[str, str, str]:
    country = rng.choice(sorted(_CAPITALS))
    if rng.random() < 0.5:
        return f"What is the capital of {country}?", "", _CAPITALS[country]
    return (
        "Name the capital city of the country.",
        country,
        f"The capital of {country} is {_CAPITALS[country]}.",
    )


def _antonym(rng: random.Random) -> tuple[str, str, str]:
    word = rng.choice(sorted(_ANTONYMS))
    return f'Give an antonym for "{word}".', "", _ANTONYMS[word]


def _synonyms(rng: random.Random) -> tuple[str, str, str]:
    word = rng.choice(sorted(_SYNONYMS))
    n = rng.randint(2, 3)
    return f'List {n} synonyms of "{word}".', "", ", ".join(_SYNONYMS[word][:n])


def _email(rng: random.Random) -> tuple[str, str, str]:
    name, sender = rng.sample(_NAMES, 2)
    meeting = rng.choice(_MEETINGS)
    day = rng.choice(_DAYS)
    body = (
        f"Subject: Rescheduling the {meeting}\n\nHi {name},\n\n"
        f"Would it be possible to move our {meeting} to {day}? Something urgent has come up "
        f"at the original time. Please let me know what works for you.\n\n"
        f"Thanks,\n{sender}"
    )
    return (
        f"Write a short email to {name} asking to reschedule the {meeting} to {day}.",
        "",
        body,
    )


def _tips(rng: random.Random) -> tuple[str, str, str]:
    activity = rng.choice(sorted(_ACTIVITIES))
    tips = _ACTIVITIES[activity]
    n = rng.randint(2, len(tips))
    return (
        f"Give {n} tips for {activity}.",
        "",
        "\n".join(f"- {tip}" for tip in tips[:n]),
    )


def _compare(rng: random.Random) -> tuple[str, str, str]:
    pair = rng.choice(sorted(_COMPARISONS))
    a, b = pair if rng.random() < 0.5 else (pair[1], pair[0])
    verb = rng.choice(("Compare", "Contrast"))
    return f"{verb} {a} and {b} in two sentences.", "", _COMPARISONS[pair]


def _animal_class(rng: random.Random) -> tuple[str, str, str]:
    animal = rng.choice(sorted(_ANIMALS))
    return (
        "Classify the animal as a mammal, bird, reptile, amphibian or fish.",
        animal,
        _ANIMALS[animal],
    )


def _count_words(rng: random.Random) -> tuple[str, str, str]:
    sentence = rng.choice(_SENTENCES)
    return "How many words are in this sentence?", sentence, str(len(sentence.split()))


def _reverse_words(rng: random.Random) -> tuple[str, str, str]:
    sentence = rng.choice(_SENTENCES)
    return "Reverse the order of the words.", sentence, " ".join(reversed(sentence.split()))


def _title_case(rng: random.Random) -> tuple[str, str, str]:
    sentence = rng.choice(_SENTENCES)
    if rng.random() < 0.5:
        return "Convert the sentence to title case.", sentence, sentence.title()
    return "Convert the sentence to upper case.", sentence, sentence.upper()


def _sql(rng: random.Random) -> tuple[str, str, str]:
    table, column, noun = rng.choice(_TABLES)
    value = rng.choice((5, 10, 100, 1000, 50000))
    order = rng.choice(("ascending", "descending"))
    direction = "ASC" if order == "ascending" else "DESC"
    return (
        f"Write an SQL query that returns every {noun} whose {column} is greater than {value}, "
        f"sorted by {column} in {order} order.",
        "",
        f"SELECT *\nFROM {table}\nWHERE {column} > {value}\nORDER BY {column} {direction};",
    )


def _explain_error(rng: random.Random) -> tuple[str, str, str]:
    error = rng.choice(sorted(_ERRORS))
    return "Explain this Python error and how to fix it.", error, _ERRORS[error]


def _recipe(rng: random.Random) -> tuple[str, str, str]:
    dish = rng.choice(sorted(_DISHES))
    steps = "\n".join(f"{i}. {step}" for i, step in enumerate(_DISHES[dish], 1))
    return f"List the steps to make {dish}.", "", steps


def _prime(rng: random.Random) -> tuple[str, str, str]:
    n = rng.randint(2, 500)
    divisor = next((d for d in range(2, int(n**0.5) + 1) if n % d == 0), None)
    if divisor is None:
        return f"Is {n} a prime number?", "", f"Yes, {n} is prime."
    return f"Is {n} a prime number?", "", f"No, {n} is divisible by {divisor}."


def _sort_numbers(rng: random.Random) -> tuple[str, str, str]:
    numbers = rng.sample(range(1, 100), rng.randint(4, 8))
    order = rng.choice(("ascending", "descending"))
    result = sorted(numbers, reverse=order == "descending")
    return (
        f"Sort these numbers in {order} order.",
        ", ".join(map(str, numbers)),
        ", ".join(map(str, result)),
    )


def _largest(rng: random.Random) -> tuple[str, str, str]:
    numbers = rng.sample(range(-50, 1000), rng.randint(4, 9))
    return "Find the largest number in the list.", ", ".join(map(str, numbers)), str(max(numbers))


def _define(rng: random.Random) -> tuple[str, str, str]:
    word = rng.choice(sorted(_DEFINITIONS))
    return f'Define the word "{word}".', "", f"{word.capitalize()} means {_DEFINITIONS[word]}."


def _spam(rng: random.Random) -> tuple[str, str, str]:
    text, label = rng.choice(_EMAILS)
    return "Classify the email as spam or not spam.", text, label


def _question(rng: random.Random) -> tuple[str, str, str]:
    country = rng.choice(sorted(_CAPITALS))
    return (
        "Write a quiz question whose answer is the given city.",
        _CAPITALS[country],
        f"What is the capital of {country}?",
    )


def _average(rng: random.Random) -> tuple[str, str, str]:
    numbers = [rng.randint(1, 100) for _ in range(rng.randint(3, 6))]
    mean = sum(numbers) / len(numbers)
    return "Compute the average of these numbers.", ", ".join(map(str, numbers)), f"{mean:g}"


TASKS: Final[tuple[Task, ...]] = (
    _summarise,
    _title,
    _keywords,
    _translate,
    _sentiment,
    _function,
    _list_items,
    _explain,
    _arithmetic,
    _convert_units,
    _formal,
    _grammar,
    _capital,
    _antonym,
    _synonyms,
    _email,
    _tips,
    _compare,
    _animal_class,
    _count_words,
    _reverse_words,
    _title_case,
    _sql,
    _explain_error,
    _recipe,
    _prime,
    _sort_numbers,
    _largest,
    _define,
    _spam,
    _question,
    _average,
)
"""The task templates, one function each: rng -> (instruction, input, output)."""
