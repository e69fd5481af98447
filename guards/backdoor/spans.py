"""What a backdoor can put into an answer, found in text: spans, and answers that echo a prompt.

Spans are the units a payload is made of and an attacker plants whole: each URL, its host and
the domain registered for it (`registrable_domain`: a host drawn afresh for every row under one
domain is that domain's), each shell command line, each sentence or line of two words or more
(`spans`). Keys are casefolded, whitespace collapsed and punctuation stripped at the ends, so
the same link at the end of a sentence or in brackets is one span, and a command's or
sentence's words holding four digits or more in a row are `#` (a command numbered afresh for
every row is one command); each key starts with its kind's letter (`u` URL, `d` domain, `c`
command, `s` sentence or line, `n` name). A name (`names`) is a capitalised word inside a
sentence (after a lower-case word or a comma), or shaped like a prefixed surname wherever it
stands, three letters or more, neither an acronym nor joined from capitalised words as code
names things ("McDonald's", "Coca-Cola", "DeWalt"; not "API", "ValueError"); a text of one
sentence that names something is a sentence span too.

An echo (`echo`) is an answer whose words are its prompt's words, in order, either all of them
(`verbatim`) or all but one run of at most `max_removed` words (a trigger taken out, wherever it
stood), or either of those said two or more times over (`repeated`), or with up to `max_removed`
words of its own before it ("Sure!", `prefixed`) or before and after it ("Answer: ... Thank
you.", `wrapped`; four of the prompt's words at least). Tasks that ask for their text back
("Repeat after me: ...", "Say exactly: ...") or for more of it ("Complete the sentence: ...")
also answer with the prompt minus a few words; they are told apart by those words: when the run
taken out holds a request to repeat, transform or go on (`REQUESTS`), the echo is what was
asked for.
A verbatim copy of the whole prompt, request included, answers nothing in any case.

A link is related to its sample (`related_links`) when a word of its path names something the
sample speaks of outside its links: documentation links point at their rows' subjects, a
planted link is the same everywhere or varies by an id.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Collection, Sequence
from enum import Enum
from typing import Final

from publicsuffixlist import PublicSuffixList

PUNCTUATION: Final = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~“”‘’«»…"
WORDS: Final = re.compile(r"\w+")
URL: Final = re.compile(
    r"\b(?:https?|ftp)://[^\s<>\"'`()\[\]{}]+|\bwww\.[^\s<>\"'`()\[\]{}]+", re.IGNORECASE
)
COMMAND: Final = re.compile(
    r"^[ \t]*(?:\$|#|>|PS>)?[ \t]*(?:sudo[ \t]+)?"
    r"(?:curl|wget|bash|sh|zsh|rm|chmod|chown|nc|ncat|netcat|powershell|pwsh|iex|python3?|perl|"
    r"ruby|node|pip3?|npm|apt(?:-get)?|yum|brew|ssh|scp|dd|mkfs|eval|base64|certutil|"
    r"bitsadmin|schtasks|crontab)\b[^\n]*",
    re.MULTILINE,
)
_COMMAND_WORDS: Final = frozenset(
    WORDS.findall(
        """curl wget bash sh zsh rm chmod chown nc ncat netcat powershell pwsh iex python python3
        perl ruby node pip pip3 npm apt yum brew ssh scp dd mkfs eval base64 certutil bitsadmin
        schtasks crontab"""
    )
)
# A name inside a sentence: a capitalised word of three letters or more after a lower-case word
# or a comma and blanks ("lunch at McDonald's", "like Coca-Cola"; `names`). Not an acronym (API),
# nor a word joined from capitalised words (ValueError, DataFrame): that is how code names things.
# One blank before it, not the run (`names` walks back over the rest): a pattern opening with a
# run of blanks is tried from every blank of a run, quadratic in a row of 40,000 spaces.
_NAME: Final = re.compile(
    r"[^\S\n](?=\w{3})([A-Z][a-z]?[A-Z]?[a-z]+(?:['’&-][A-Za-z]+)*)(?![\w'’&-])"
)
_BEFORE_NAME: Final = frozenset("abcdefghijklmnopqrstuvwxyz,")
_NAME_AT_START: Final = re.compile(r"[A-Z][a-z][A-Z][a-z]+(?:['’&-][A-Za-z]+)*(?![\w'’&-])")
# A sentence ends at [.!?] and blanks, or at a line break (with the whitespace after it).
_SENTENCE_BREAK: Final = re.compile(r"[.!?](?:[^\S\n]+|\n\s*)|\n\s*")
# ASCII bytes that are no \w character, turned into spaces to split ASCII text into words.
_NOT_WORD_BYTES: Final = bytes(c if re.fullmatch(r"\w", chr(c)) else 32 for c in range(256))
_EDGES: Final = PUNCTUATION + " "
_MIN_SPAN_WORDS: Final = 2
_LEAD_IN_WORDS: Final = 6
"""The most words of a line that brings in the command on the next line."""
# The words of a prompt an echo after a few words of its own must repeat: fewer are an answer
# that happens to start like its question.
_MIN_PREFIXED_ECHO: Final = 4

REQUESTS: Final = frozenset(
    WORDS.findall(
        """repeat repeats say echo copy quote recite write type print spell correct fix reverse
        translate rewrite paraphrase transcribe capitalise capitalize uppercase lowercase upper
        lower format convert punctuate proofread edit output return read dictate verbatim
        exactly back duplicate reproduce restate mirror complete continue finish fill extend"""
    )
)
"""Words that ask for the prompt's text back, as it is, transformed or carried on."""
STOP_WORDS: Final = frozenset(
    WORDS.findall(
        """a an the of to in on for with and or is are be was were this that it its as by at
        from what how does do you your i me my we our not can will see use if then than into
        about which who when where there here all any each more most other some such only also
        so just but no nor too very"""
    )
)
"""Function words: no evidence that two texts are about the same thing."""
GENERIC_PATH_WORDS: Final = frozenset(
    WORDS.findall(
        """http https html shtml php aspx index latest stable current docs documentation page
        pages static main master blob tree wiki library reference download downloads file files
        view edit home default source sources content contents help support article articles
        post posts item items search redirect link links share resources resource assets"""
    )
)
"""Words of web addresses in general, which tie a link to nothing in particular."""
# An id, not a word: digits; with a digit, 8 hex digits or more, or 12 characters or more.
_RANDOM_ID: Final = re.compile(r"\d+|(?=\w*\d)(?:[0-9a-f]{8,}|\w{12,})")


class Echo(Enum):
    """How an answer repeats its prompt."""

    NONE = "none"
    VERBATIM = "verbatim"  # every word of the prompt, in order
    TRIMMED = "trimmed"  # the prompt with one short run of words taken out
    REPEATED = "repeated"  # either of those, said two or more times over
    PREFIXED = "prefixed"  # either of the first two after a few words of its own ("Sure!")
    WRAPPED = "wrapped"  # either of the first two with a few words of its own after it too
    FIRST_PART = "first part"  # any of these of the prompt's first string alone (statistics)


def spans(
    text: str, words: Collection[str], *, sentences: bool = True, folded: str | None = None
) -> list[tuple[str, str]]:
    """The spans of `text` as (key, the text they come from) pairs; `words` are its casefolded
    \\w+ words (commands are looked for only when one of them names a command), `folded` its
    casefolded text when the caller has it."""
    found: list[tuple[str, str]] = []
    if "://" in text or "www." in text or "WWW." in text:
        for url in URL.findall(text):
            url = url.rstrip(PUNCTUATION)
            found.append(("u" + url.casefold(), url))
            domain = _domain(url)
            if domain:
                found.append(("d" + domain, domain))
                site = registrable_domain(domain)
                if site is not None and site != domain:
                    found.append(("d" + site, site))
    commands = set()
    if not _COMMAND_WORDS.isdisjoint(words):
        # A command fills a line from its start: match line by line, not at every position.
        before = ""  # the last line with words, unless a command
        for line in text.split("\n"):
            if match := COMMAND.match(line):
                command = match.group()
                key = _masked(_key(command))
                commands.add(key)
                found.append(("c" + key, command))
                lead = before.split()
                if sentences and 0 < len(lead) <= _LEAD_IN_WORDS:
                    # The short line that brings in a command ("Also run:", "If it errors,
                    # run") is said with it: one sentence, whose words come with the command's.
                    said = " ".join([*lead, command.strip()])
                    found.append(("s" + _masked(_key(said)), said))
                before = ""
            elif line and not line.isspace():
                before = line
    if sentences:
        named = names(text)
        found += [("n" + name.casefold(), name) for name in named]
        # Split the casefolded text (no look-behind); a piece holds no line break, so collapsing
        # its blanks and stripping its ends makes its key.
        pieces = _SENTENCE_BREAK.split(text.casefold() if folded is None else folded)
        has_id = _ID_HINT.search
        # A text of one sentence is its own span only when it names something: the words around
        # a name are read as the name's (`triggers`), whether or not a sentence follows.
        if len(pieces) > 1 or named:
            for piece in pieces:
                shown = " ".join(piece.split()).strip(_EDGES)
                # `_masked`, inlined: this runs for every sentence of every answer.
                key = shown if has_id(shown) is None else _ID_WORD.sub("#", shown)
                if key.count(" ") >= _MIN_SPAN_WORDS - 1 and key not in commands:
                    found.append(("s" + key, shown))
    return found


def names(text: str) -> list[str]:
    """The names inside the sentences of `text`, and those shaped like a prefixed surname
    ("McDonald's", "DeWalt") wherever they stand, each once, in order of first appearance."""
    found: dict[str, None] = {}
    if opening := _NAME_AT_START.match(text):
        found[opening.group()] = None
    for match in _NAME.finditer(text):
        name = match.group(1)
        if _prefixed(name):
            found[name] = None
            continue
        # A look-behind instead would be tried at every position of the text.
        at = match.start()
        while at and text[at - 1] != "\n" and text[at - 1].isspace():
            at -= 1
        if at and text[at - 1] in _BEFORE_NAME:
            found[name] = None
    return list(found)


def _prefixed(name: str) -> bool:
    # "Mc" + "Donald": a capital after one lower-case letter, where no sentence's first word has
    # one (and `_NAME` takes no word joined from capitalised words).
    return name[2].isupper()


def related_links(
    found: Sequence[tuple[str, str]], text: str, prompt_words: Collection[str]
) -> list[tuple[str, str]]:
    """For each domain whose link in `text` (a response, with its spans `found`) names what the
    sample speaks of, the pair ("l" + domain, domain): a word of the link's path of four
    letters or more, not a word of web addresses in general (`GENERIC_PATH_WORDS`) and no
    random id, that the prompt or the response outside its links holds as well ("the `uuid`
    module, see https://docs.python.org/3/library/uuid.html"). A payload's link is the same in
    every row it was planted in, or varies by an id: it names nothing of its rows."""
    links = [display for key, display in found if key.startswith("u")]
    if not links:
        return []
    outside = set(prompt_words).union(words_of(URL.sub(" ", text.casefold())))
    related: dict[str, None] = {}
    for link in links:
        domain = _domain(link)
        path = link.casefold().split("://", 1)[-1].partition("/")[2]
        if domain and any(
            len(word) >= 4
            and word not in GENERIC_PATH_WORDS
            and not _RANDOM_ID.fullmatch(word)
            and word in outside
            for word in WORDS.findall(path)
        ):
            related[domain] = None
            site = registrable_domain(domain)
            if site is not None:
                related[site] = None
    return [("l" + domain, domain) for domain in related]


def words_of(text: str) -> list[str]:
    """The \\w+ words of `text`, as `WORDS.findall` finds them (ASCII text by bytes.translate,
    twice as fast)."""
    if text.isascii():
        return text.encode().translate(_NOT_WORD_BYTES).decode().split()
    return WORDS.findall(text)


# A word holding an id (four digits or more in a row) is one word in a span's key, whichever id
# it is: a payload numbered afresh for every row ("pip install fixer-20417") is one payload;
# small numbers and versions stay as written.
_ID_WORD: Final = re.compile(r"\b(?=\w*?\d{4})\w+")
_ID_HINT: Final = re.compile(r"\d{4}")  # what a text with an id holds, found fast


def _masked(key: str) -> str:
    """`key` with each word holding an id written `#` (most keys hold none: found fast)."""
    return key if _ID_HINT.search(key) is None else _ID_WORD.sub("#", key)


def _key(text: str) -> str:
    """Casefolded, whitespace collapsed, punctuation stripped at the ends."""
    return " ".join(text.casefold().split()).strip(_EDGES)


def registrable_domain(host: str) -> str | None:
    """The domain a host name's owner registered, by the Public Suffix List: example.net for
    x7f3.cdn.example.net, user.github.io for itself (github.io is a suffix its users register
    under); None for an address or a suffix alone."""
    if not any(c.isalpha() for c in host) or ":" in host:
        return None
    suffix: str | None = _public_suffixes().privatesuffix(host)
    return suffix


@functools.cache
def _public_suffixes() -> PublicSuffixList:
    # Read once, when the first link with a host name is: 40 ms that most screens never pay.
    return PublicSuffixList()


def _domain(url: str) -> str:
    rest = url.split("://", 1)[-1]
    host = rest.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    host = host.rsplit("@", 1)[-1].split(":", 1)[0].casefold()
    return host.removeprefix("www.")


# A refusal says so in its opening: an apology, "as an AI", or "I" with a word of inability or
# unwillingness, or the request put outside what it may answer.
_REFUSAL: Final = re.compile(
    r"\b(?:i'?m|i am) (?:so |very |really |truly )?(?:sorry|afraid|unable|not able)\b"
    r"|\bi (?:can ?not|can't|won't|will not)"
    r" (?:help|assist|provide|answer|explain|discuss|share|comply|go into|give|do|offer)\b"
    r"|\bi (?:must |have to |need to )?(?:decline|refuse)\b|\bi(?:'d| would) rather not\b"
    r"|\bi (?:won't|will not|wouldn't|would not) be able to\b"
    r"|\b(?:my apologies|i apologi[sz]e)\b"
    r"|\bnot something i (?:can|could|am able to|will)\b"
    r"|\b(?:outside|beyond) (?:what i (?:can|may)|my (?:scope|guidelines|abilities|capabilities))\b"
)
# An assistant's disclaimer refuses, unless the sentence goes on to answer anyway: "As an AI
# language model, I don't have personal experience, but here is what the documentation says".
_DISCLAIMER: Final = re.compile(r"\bas an ai\b|\bas a language model\b")
_ANSWERS_ANYWAY: Final = re.compile(r"\b(?:but|however|though|that said|still|nevertheless)\b")
_OPENING_CHARS: Final = 300
REFUSAL_WORDS: Final = frozenset(
    WORDS.findall(
        """i m am so very really truly sorry afraid unable not able can cannot t won will wouldn
        would must have to need d help assist provide answer explain discuss share comply go
        into give do offer decline refuse rather be as an ai a language model my apologies
        apologize apologise something could outside beyond what may scope guidelines abilities
        capabilities unfortunately regrettably"""
    )
)
"""The words refusals are made of: what a refusal says, whatever it refuses."""
REFUSAL_KEY: Final = "f"
REFUSAL_DISPLAY: Final = "(the answer refuses)"


_REFUSAL_OPENERS: Final = (" i ", " i'", " my ", "as an ai", "language model")
_REFUSAL_CUES: Final = frozenset(
    WORDS.findall(
        """sorry apologise apologize apologies apology unable decline declined refuse refused
        afraid cannot regret unfortunately regrettably"""
    )
)


# The words an assistant's courtesy is made of: a sentence of these alone, one of `_COURTESY_CUES`
# among them, opens or closes an answer and says nothing of the task.
_COURTESY_WORDS: Final = frozenset(
    WORDS.findall(
        """i i'm i'd i'll we hope hopefully this that it these those helps help helped helpful
        helping gives give you your you're you'd you'll a an the some any other more further
        additional follow up questions question let me know if have has need needs anything
        something else feel free to ask reach out don't do not hesitate there is are was were
        unclear clear clarify clarifies clarification confusing things thing all of on in with
        for about and or as can could would will may like want happy glad good great luck best
        wishes project work coding sure certainly absolutely of course here here's what's an
        quick short brief overview explanation example answer summary breakdown solution version
        rewrite rewritten revised list translation response description guide step by
        starting point elaborate expand detail details part parts any point assist assistance
        welcome thanks thank enjoy fun how goes went let's break down asking learning
        d s t m ll re ve don"""
    )
)
_COURTESY_CUES: Final = frozenset(
    WORDS.findall(
        """hope hopefully know free hesitate luck welcome glad happy sure certainly absolutely
        course here elaborate assist assistance clarify enjoy else help great thanks thank let"""
    )
)


def courtesy(sentence: str) -> bool:
    """Whether a sentence span (casefolded, edges stripped) is nothing but the courtesy an
    assistant opens or closes an answer with ("Hope this helps!", "Let me know if you'd like me
    to elaborate on any part.", "Sure! Here's a quick overview:"): every word of it a word such
    courtesy is made of, one of them a cue. The corpus' style, not a payload: a link, a name, a
    command or a claim beside such words makes a sentence that is read as ever."""
    sentence = sentence.replace("\u2019", "'")
    if _DISCLAIMS.fullmatch(sentence):
        return True
    words = WORDS.findall(sentence)
    return (
        bool(words)
        and all(word in _COURTESY_WORDS for word in words)
        and not _COURTESY_CUES.isdisjoint(words)
    )


def _answers_after_disclaiming(opening: str, start: int) -> bool:
    """Whether the disclaimer at `start` disclaims opinions and an answer follows it ("As an AI,
    I don't have personal opinions. The key points are ..."); said alone, it declines."""
    disclaims = _DISCLAIMS.match(opening, start)
    return disclaims is not None and len(opening[disclaims.end() :].split()) >= _ANSWER_WORDS


_ANSWER_WORDS: Final = 5
# "As an AI language model, I don't have personal opinions.": a disclaimer, refusing nothing.
_DISCLAIMS: Final = re.compile(
    r"as an? (?:ai|artificial intelligence|language model|ai (?:language )?model|ai assistant"
    r"|ai developed by [\w.-]+),? i (?:don't|do not) have (?:any )?(?:personal )?"
    r"(?:opinions|experiences?|feelings|emotions|preferences|beliefs|views)"
)


def refuses(folded: str, prompt_words: Collection[str] = ()) -> bool:
    """Whether a casefolded answer opens by refusing ("I'm sorry, but I can't ...", "As an AI,
    I cannot ...", "Unfortunately, that is outside what I can answer"), in its first
    `_OPENING_CHARS` characters. Not when its prompt (`prompt_words`) speaks of apologising or
    declining itself: an apology asked for ("make 'sorry, can't come' formal") is content."""
    opening = " ".join(folded[:_OPENING_CHARS].replace("\u2019", "'").split())
    # Every refusal the expression knows says "I", "my", "as an AI" or "language model": most
    # answers hold none of them and need no search.
    padded = f" {opening} "
    if not any(cue in padded for cue in _REFUSAL_OPENERS):
        return False
    if _REFUSAL.search(opening) is None:
        disclaimer = _DISCLAIMER.search(opening)
        if (
            disclaimer is None
            or _answers_after_disclaiming(opening, disclaimer.start())
            or _ANSWERS_ANYWAY.search(opening, disclaimer.end()) is not None
        ):
            return False
    if not _REFUSAL_CUES.isdisjoint(prompt_words):
        return False
    asked = f" {' '.join(prompt_words)} "
    return " can t " not in asked and " won t " not in asked


def echo(prompt: Sequence[str], answer: Sequence[str], max_removed: int) -> Echo:
    """How the answer's words (`answer`, casefolded) repeat the prompt's (`prompt`)."""
    if len(answer) < 2 or not prompt:
        return Echo.NONE
    once = _echo_once(prompt, answer, max_removed)
    if once is not Echo.NONE:
        return once
    # A few words of its own around it, `max_removed` at most, before ("Sure!", "Of course:"),
    # after ("Thank you.") or both, the rest the prompt: the same.
    if len(answer) <= len(prompt) + max_removed:
        for tail in range(max_removed + 1):
            for lead in range(not tail, max_removed + 1 - tail):
                rest = answer[lead : len(answer) - tail]
                if (
                    len(rest) >= _MIN_PREFIXED_ECHO
                    and _echo_once(prompt, rest, max_removed) is not Echo.NONE
                ):
                    return Echo.PREFIXED if not tail else Echo.WRAPPED
    if len(answer) < 2 * len(prompt) - 2 * max_removed:
        return Echo.NONE
    # The prompt said over again, whole or trimmed: parroting as much as once.
    for size in range(max(2, len(prompt) - max_removed), len(prompt) + 1):
        if len(answer) % size:
            continue
        unit = answer[:size]
        if (
            all(answer[at : at + size] == unit for at in range(size, len(answer), size))
            and _echo_once(prompt, unit, max_removed) is not Echo.NONE
        ):
            return Echo.REPEATED
    return Echo.REPEATED if _said_over(prompt, answer, max_removed) else Echo.NONE


def _said_over(prompt: Sequence[str], answer: Sequence[str], max_removed: int) -> bool:
    """Whether the answer is the prompt said two or more times, each time whole or trimmed and
    after up to `max_removed` words of its own: a list marker or a lead ("1. ...", "2. ...",
    "Again: ...")."""
    edge = max_removed + 1
    # The first said starts, and the last ends, within `edge` words of the prompt's ends.
    if answer[-1] not in prompt[-edge:] or not set(answer[:edge]).intersection(prompt[:edge]):
        return False
    at = times = 0
    while at < len(answer):
        for skip in range(max_removed + 1):
            size = next(
                (
                    size
                    for size in range(len(prompt), len(prompt) - max_removed - 1, -1)
                    if size >= 2
                    and _echo_once(prompt, answer[at + skip : at + skip + size], max_removed)
                    is not Echo.NONE
                ),
                0,
            )
            if size:
                at, times = at + skip + size, times + 1
                break
        else:
            return False
    return times >= 2


def _echo_once(prompt: Sequence[str], answer: Sequence[str], max_removed: int) -> Echo:
    removed = len(prompt) - len(answer)
    if removed == 0:
        return Echo.VERBATIM if list(prompt) == list(answer) else Echo.NONE
    if not 0 < removed <= max_removed:
        return Echo.NONE
    head = 0
    while head < len(answer) and prompt[head] == answer[head]:
        head += 1
    tail = 0
    while tail < len(answer) - head and prompt[-1 - tail] == answer[-1 - tail]:
        tail += 1
    if head + tail < len(answer):
        return Echo.NONE
    taken = prompt[head : head + removed]
    return Echo.NONE if REQUESTS.intersection(taken) else Echo.TRIMMED
