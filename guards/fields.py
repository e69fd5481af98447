"""Which strings of a sample a guard reads, and which of them are prompt and which response.

An Alpaca sample's prompt is its instruction and input, its response the output. A chat sample's
response is what its assistant turns say; every other turn (system, user, tool) is prompt. A text
sample is all response: a model trained on it learns to produce it, and it has no prompt.
"""

from __future__ import annotations

from typing import Final

from synthguard.provenance.sample import Sample

RESPONSE_ROLES: Final = frozenset({"assistant", "gpt", "model", "bot"})
"""Chat roles whose turns a model is trained to produce."""
SYSTEM_ROLES: Final = frozenset({"system", "developer"})
"""Chat roles that set a conversation up: conditioning, not a request."""


def labelled_strings(sample: Sample) -> list[tuple[str, str]]:
    """Every string of a sample with the name of the field that holds it (`messages[2]`, ...)."""
    content = sample.content
    if sample.kind == "alpaca":
        return [(name, content[name]) for name in ("instruction", "input", "output")]
    if sample.kind == "chat":
        return [
            (f"messages[{i}]", message["content"]) for i, message in enumerate(content["messages"])
        ]
    return [("text", content["text"])]


def response_strings(sample: Sample) -> list[tuple[str, str]]:
    """The strings a model is trained to produce, each with its field name."""
    content = sample.content
    if sample.kind == "alpaca":
        return [("output", content["output"])]
    if sample.kind == "chat":
        return [
            (f"messages[{i}]", message["content"])
            for i, message in enumerate(content["messages"])
            if message["role"].lower() in RESPONSE_ROLES
        ]
    return [("text", content["text"])]


def request_strings(sample: Sample) -> tuple[list[str], list[str]]:
    """A sample's prompt strings in two: (a chat's system turns, which set the scene; the
    strings its answers answer: an instruction and its input, a chat's other turns)."""
    if sample.kind != "chat":
        return [], prompt_strings(sample)
    system: list[str] = []
    asked: list[str] = []
    for message in sample.content["messages"]:
        role = message["role"].lower()
        if role not in RESPONSE_ROLES:
            (system if role in SYSTEM_ROLES else asked).append(message["content"])
    return system, asked


def prompt_strings(sample: Sample) -> list[str]:
    """The strings a model is conditioned on (empty for a text sample)."""
    content = sample.content
    if sample.kind == "alpaca":
        return [part for part in (content["instruction"], content["input"]) if part]
    if sample.kind == "chat":
        return [
            message["content"]
            for message in content["messages"]
            if message["role"].lower() not in RESPONSE_ROLES
        ]
    return []
