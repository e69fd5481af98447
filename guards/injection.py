"""Prompt-injection and role-marker payloads in responses.

A response that says "ignore all previous instructions", carries a chat-template token, or opens
a fake system turn teaches a model to emit the payload, and passes it on to whatever reads the
model's output next. Only responses are read (Alpaca outputs, assistant turns, text samples):
an injection attempt in a prompt, answered with a refusal, is good training data, and a chat's
genuine `system` turn is a role, not a payload.

Rules:
- `prompt-injection`: an imperative to drop earlier instructions (ignore, disregard, forget,
  override, bypass, ... + previous/prior/above/system ... + instructions/rules/prompt/...),
  in the base form only, so narration ("Bond ignores M's orders") passes.
- `chat-template-token`: ChatML / Llama / Gemma / DeepSeek special tokens (`<|im_start|>`,
  `<|endoftext|>`, `[INST]`, `<<SYS>>`, `<start_of_turn>`, ...) and Alpaca section headers
  (`### Instruction:`) inside a response. These fail even in a text about chat templates: a
  tokenizer that parses special tokens in text turns them into real turn boundaries, so such a
  text must escape them before it is trained on.
- `role-marker`: a fake system or admin turn addressed to the model ("System: you are now ...",
  "[ADMIN OVERRIDE]", "SYSTEM OVERRIDE") and persona switches ("You are now DAN", "developer mode
  enabled"). "System: Ubuntu 22.04" is not addressed to anyone and passes.

A text that discusses prompt injection may quote a payload: a `prompt-injection` or
`role-marker` match passes when it is quoted or introduced as an example ("such as", "like",
"e.g.") and the text names its subject (prompt injection, jailbreak, attack, adversarial,
security, ...). The same words unquoted, or quoted in a text about nothing of the kind, fail.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

INJECTION: Final = "prompt-injection"
TEMPLATE: Final = "chat-template-token"
ROLE: Final = "role-marker"
RULES: Final = (INJECTION, TEMPLATE, ROLE)

_VERBS: Final = (
    r"ignore|disregard|forget|override|bypass|skip|discard|drop|abandon|neglect|"
    r"set\s+aside|put\s+aside|throw\s+out|(?:do\s+not|don't|stop)\s+(?:follow|obey)(?:ing)?|"
    r"pay\s+no\s+attention\s+to"
)
_DETERMINERS: Final = r"all|any|every|each|of|the|your|my|our|these|those|its|their|previously"
_SCOPES: Final = (
    r"previous|prior|preceding|above|earlier|former|original|initial|old|foregoing|"
    r"aforementioned|existing|current|system|developer|safety|given|provided|other"
)
_OBJECTS: Final = (
    r"instructions?|rules?|directives?|directions?|prompts?|guidelines?|commands?|constraints?|"
    r"context|messages?|guardrails?|programming|polic(?:y|ies)|restrictions?|filters?|"
    r"training|settings|conversation|text|inputs?"
)
_OVERRIDE: Final = re.compile(
    rf"\b(?:{_VERBS})\s+(?:(?:{_DETERMINERS})\s+){{0,3}}(?:{_SCOPES})\s+"
    rf"(?:[\w'-]+\s+){{0,2}}?(?:{_OBJECTS})\b"
    rf"|\b(?:ignore|disregard|forget)\s+(?:all\s+|the\s+)?(?:above|previous|prior)\s*(?:and|,|\.|;)"
    rf"|\bforget\s+(?:about\s+)?everything\s+(?:above|before|prior|you\s+(?:were|have\s+been)\s+told"
    rf"|(?:i|we)\s+(?:said|told\s+you))"
    rf"|\b(?:your|the)\s+new\s+instructions\s+(?:are|follow)\b",
    re.IGNORECASE,
)
_TEMPLATE: Final = re.compile(
    r"<\|[A-Za-z_][\w.\-]{0,40}\|>"  # ChatML, Llama 3, Phi, GPT special tokens
    r"|<｜[^｜>\n]{1,40}｜>"  # DeepSeek's full-width bars
    r"|\[/?INST\]|<</?SYS>>"  # Llama 2
    r"|<(?:start|end)_of_turn>"  # Gemma
    r"|^[ \t]*#{2,4}[ \t]*(?:Instruction|Response|Input|System|Human|Assistant|User)[ \t]*:",
    re.MULTILINE,
)
_ADDRESSED: Final = (
    r"you\b|your\b|ignore|disregard|forget|from\s+now\s+on|new\s+(?:instructions|rules)|"
    r"the\s+(?:assistant|ai|model)\b|respond|reply|answer\s+only|always|never|do\s+not|don't|must"
)
_ROLE: Final = re.compile(
    # A system/admin turn that talks to the model.
    rf"^[ \t]*[\[(<]?[ \t]*(?i:system|admin|administrator|developer|root|operator)"
    rf"(?:[ \t]+(?i:message|note|notice|prompt|override|instructions?|update|alert|command))?"
    rf"[ \t]*[\])>]?[ \t]*:[ \t]*(?i:{_ADDRESSED})"
    # Bracketed or shouted override banners.
    r"|\[(?i:system|admin|developer|root)(?:[ \t]+(?i:override|message|note|command))?\]"
    r"|\b(?:SYSTEM|ADMIN|DEVELOPER|ROOT|SECURITY)[ \t]+OVERRIDE\b"
    # Persona switches of the DAN family.
    r"|\b(?i:you\s+are\s+now|from\s+now\s+on,?\s+you\s+are|act\s+as|pretend\s+to\s+be)\s+"
    r"(?:(?i:a|an|the)\s+)?(?:DAN\b|(?i:jailbroken|unrestricted|unfiltered|uncensored|evil\s+ai"
    r"|no\s+longer\s+bound|free\s+from\s+(?:all\s+)?(?:rules|restrictions|guidelines)"
    r"|in\s+(?:developer|god|jailbreak|dan)\s+mode))"
    r"|\bDo\s+Anything\s+Now\b"
    r"|\b(?i:developer|god|jailbreak|DAN|unrestricted|unfiltered)\s+mode\s+"
    r"(?i:enabled|activated|engaged|on)\b",
    re.MULTILINE,
)
_TOPIC: Final = re.compile(
    r"prompt[\s-]+injection|jailbreak|adversarial|attack|malicious|red[\s-]+team|security|"
    r"exploit|manipulat",
    re.IGNORECASE,
)
_QUOTED: Final = re.compile(
    r"\"[^\"\n]{1,400}\"|“[^”\n]{1,400}”|«[^»\n]{1,400}»|`[^`\n]{1,400}`"
    r"|(?<!\w)'[^'\n]{1,400}'(?!\w)|‘[^’\n]{1,400}’"
)
_INTRODUCED: Final = re.compile(
    r"(?:such\s+as|like|e\.g\.,?|for\s+(?:example|instance),?|saying|says|called|phrases?)"
    r"[\s:]*[\"“«`'‘]?\s*$",
    re.IGNORECASE,
)
# Literals (lower-cased) without one of which a pattern cannot match: a cheap test first, since
# Python's regex engine tries every alternative at every position of every response.
_TEMPLATE_KEYS: Final = (
    "<|",
    "<｜",
    "[inst]",
    "[/inst]",
    "<<sys>>",
    "<</sys>>",
    "_of_turn>",
    "##",
)
_OVERRIDE_KEYS: Final = (
    "ignore",
    "disregard",
    "forget",
    "override",
    "bypass",
    "skip",
    "discard",
    "drop",
    "abandon",
    "neglect",
    "aside",
    "throw",
    "follow",
    "obey",
    "attention",
    "new instructions",
)
_ROLE_KEYS: Final = (
    "system",
    "admin",
    "developer",
    "root",
    "operator",
    "override",
    "you are now",
    "from now on",
    "act as",
    "pretend",
    "anything now",
    " mode",
)


@dataclass(frozen=True, slots=True)
class Match:
    """One payload found in a response: its rule, where it starts, and the text it matched."""

    rule: str
    start: int
    text: str


def find_injections(text: str) -> list[Match]:
    """Return the injection payloads, template tokens and fake role markers in a response."""
    lowered = text.lower()
    found: list[Match] = []
    if _has_any(lowered, _TEMPLATE_KEYS):
        found += [Match(TEMPLATE, m.start(), m.group()) for m in _TEMPLATE.finditer(text)]
    spoken: list[Match] = []
    if _has_any(lowered, _OVERRIDE_KEYS):
        spoken += [Match(INJECTION, m.start(), m.group()) for m in _OVERRIDE.finditer(text)]
    if _has_any(lowered, _ROLE_KEYS):
        spoken += [Match(ROLE, m.start(), m.group()) for m in _ROLE.finditer(text)]
    if spoken and _TOPIC.search(text):
        quoted = [m.span() for m in _QUOTED.finditer(text)]
        spoken = [m for m in spoken if not _cited(text, m, quoted)]
    found.extend(spoken)
    found.sort(key=lambda m: m.start)
    return found


def describe(matches: list[Match]) -> dict[str, object]:
    """Summarise matches of one rule for a verdict's detail."""
    return {
        "matches": [{"position": m.start, "text": m.text[:120]} for m in matches[:16]],
    }


def _has_any(text: str, keys: tuple[str, ...]) -> bool:
    return any(key in text for key in keys)


def _cited(text: str, match: Match, quoted: list[tuple[int, int]]) -> bool:
    """Whether a payload is quoted or introduced as an example rather than said."""
    end = match.start + len(match.text)
    if any(start <= match.start and end <= stop for start, stop in quoted):
        return True
    line_start = text.rfind("\n", 0, match.start) + 1
    return _INTRODUCED.search(text, line_start, match.start) is not None
