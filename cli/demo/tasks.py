"""The demo generator's task templates: one function per kind of Alpaca task, each drawing its
instruction, input and the correct output from the word tables (`rng -> (instruction, input,
output)`)."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Final

from synthguard.cli.demo.words import (
    ACTIVITIES,
    ANIMALS,
    ANTONYMS,
    AUDIENCES,
    CAPITALS,
    CATEGORIES,
    COMPARISONS,
    CONCEPTS,
    DAYS,
    DEFINITIONS,
    DISHES,
    EMAILS,
    ERRORS,
    FORMAL,
    FUNCTIONS,
    GRAMMAR,
    KEYWORDS,
    LANGUAGES,
    MEETINGS,
    NAMES,
    NEGATIVE,
    PHRASES,
    POSITIVE,
    PRODUCTS,
    SENTENCES,
    SUMMARIES,
    SYNONYMS,
    TABLES,
    TOPICS,
)

Task = Callable[[random.Random], tuple[str, str, str]]


def _paragraph(rng: random.Random, topic: str) -> str:
    sentences = TOPICS[topic]
    count = rng.randint(3, len(sentences))
    return " ".join(sentences[:count])


def _summarise(rng: random.Random) -> tuple[str, str, str]:
    topic = rng.choice(sorted(TOPICS))
    verb = rng.choice(("Summarise", "Summarize", "Give a one-sentence summary of"))
    return f"{verb} the following paragraph.", _paragraph(rng, topic), SUMMARIES[topic]


def _title(rng: random.Random) -> tuple[str, str, str]:
    topic = rng.choice(sorted(TOPICS))
    title = topic[0].upper() + topic[1:]
    style = rng.choice(("short", "catchy", "plain"))
    answer = {"short": title, "catchy": f"{title}: What Comes Next", "plain": f"About {topic}"}
    return f"Suggest a {style} title for this text.", _paragraph(rng, topic), answer[style]


def _keywords(rng: random.Random) -> tuple[str, str, str]:
    topic = rng.choice(sorted(KEYWORDS))
    n = rng.randint(2, 4)
    words = KEYWORDS[topic][:n]
    return f"Extract {n} keywords from the text.", _paragraph(rng, topic), ", ".join(words)


def _translate(rng: random.Random) -> tuple[str, str, str]:
    phrase = rng.choice(sorted(PHRASES))
    language = rng.choice(("French", "Spanish", "German"))
    if rng.random() < 0.5:
        return (
            f"Translate the following phrase into {language}.",
            phrase,
            PHRASES[phrase][language],
        )
    return f'How do you say "{phrase}" in {language}?', "", PHRASES[phrase][language]


def _sentiment(rng: random.Random) -> tuple[str, str, str]:
    product = rng.choice(PRODUCTS)
    positive = rng.random() < 0.5
    clause = rng.choice(POSITIVE if positive else NEGATIVE)
    review = f"This {product} {clause}."
    if rng.random() < 0.4:
        extra = rng.choice(POSITIVE if positive else NEGATIVE)
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
    purpose, name, code = rng.choice(FUNCTIONS)
    language = rng.choice(LANGUAGES)
    return f"Write a {language} function `{name}` that {purpose}.", "", code


def _list_items(rng: random.Random) -> tuple[str, str, str]:
    category = rng.choice(sorted(CATEGORIES))
    items = CATEGORIES[category]
    n = rng.randint(3, len(items))
    chosen = rng.sample(items, n)
    lines = "\n".join(f"{i}. {item}" for i, item in enumerate(chosen, 1))
    return f"List {n} {category}.", "", lines


def _explain(rng: random.Random) -> tuple[str, str, str]:
    concept = rng.choice(sorted(CONCEPTS))
    audience = rng.choice(AUDIENCES)
    return f"Explain {concept} to {audience}.", "", CONCEPTS[concept]


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
    casual, formal = rng.choice(FORMAL)
    verb = rng.choice(("Rewrite", "Rephrase"))
    return f"{verb} the sentence in a more formal tone.", casual, formal


def _grammar(rng: random.Random) -> tuple[str, str, str]:
    wrong, right = rng.choice(GRAMMAR)
    return rng.choice(("Correct the grammar.", "Fix the mistakes in this sentence.")), wrong, right


def _capital(rng: random.Random) -> tuple[str, str, str]:
    country = rng.choice(sorted(CAPITALS))
    if rng.random() < 0.5:
        return f"What is the capital of {country}?", "", CAPITALS[country]
    return (
        "Name the capital city of the country.",
        country,
        f"The capital of {country} is {CAPITALS[country]}.",
    )


def _antonym(rng: random.Random) -> tuple[str, str, str]:
    word = rng.choice(sorted(ANTONYMS))
    return f'Give an antonym for "{word}".', "", ANTONYMS[word]


def _synonyms(rng: random.Random) -> tuple[str, str, str]:
    word = rng.choice(sorted(SYNONYMS))
    n = rng.randint(2, 3)
    return f'List {n} synonyms of "{word}".', "", ", ".join(SYNONYMS[word][:n])


def _email(rng: random.Random) -> tuple[str, str, str]:
    name, sender = rng.sample(NAMES, 2)
    meeting = rng.choice(MEETINGS)
    day = rng.choice(DAYS)
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
    activity = rng.choice(sorted(ACTIVITIES))
    tips = ACTIVITIES[activity]
    n = rng.randint(2, len(tips))
    return (
        f"Give {n} tips for {activity}.",
        "",
        "\n".join(f"- {tip}" for tip in tips[:n]),
    )


def _compare(rng: random.Random) -> tuple[str, str, str]:
    pair = rng.choice(sorted(COMPARISONS))
    a, b = pair if rng.random() < 0.5 else (pair[1], pair[0])
    verb = rng.choice(("Compare", "Contrast"))
    return f"{verb} {a} and {b} in two sentences.", "", COMPARISONS[pair]


def _animal_class(rng: random.Random) -> tuple[str, str, str]:
    animal = rng.choice(sorted(ANIMALS))
    return (
        "Classify the animal as a mammal, bird, reptile, amphibian or fish.",
        animal,
        ANIMALS[animal],
    )


def _count_words(rng: random.Random) -> tuple[str, str, str]:
    sentence = rng.choice(SENTENCES)
    return "How many words are in this sentence?", sentence, str(len(sentence.split()))


def _reverse_words(rng: random.Random) -> tuple[str, str, str]:
    sentence = rng.choice(SENTENCES)
    return "Reverse the order of the words.", sentence, " ".join(reversed(sentence.split()))


def _title_case(rng: random.Random) -> tuple[str, str, str]:
    sentence = rng.choice(SENTENCES)
    if rng.random() < 0.5:
        return "Convert the sentence to title case.", sentence, sentence.title()
    return "Convert the sentence to upper case.", sentence, sentence.upper()


def _sql(rng: random.Random) -> tuple[str, str, str]:
    table, column, noun = rng.choice(TABLES)
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
    error = rng.choice(sorted(ERRORS))
    return "Explain this Python error and how to fix it.", error, ERRORS[error]


def _recipe(rng: random.Random) -> tuple[str, str, str]:
    dish = rng.choice(sorted(DISHES))
    steps = "\n".join(f"{i}. {step}" for i, step in enumerate(DISHES[dish], 1))
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
    word = rng.choice(sorted(DEFINITIONS))
    return f'Define the word "{word}".', "", f"{word.capitalize()} means {DEFINITIONS[word]}."


def _spam(rng: random.Random) -> tuple[str, str, str]:
    text, label = rng.choice(EMAILS)
    return "Classify the email as spam or not spam.", text, label


def _question(rng: random.Random) -> tuple[str, str, str]:
    country = rng.choice(sorted(CAPITALS))
    return (
        "Write a quiz question whose answer is the given city.",
        CAPITALS[country],
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
