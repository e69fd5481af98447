"""What binds a sample: licence strings and generator terms, sorted into kinds, worst kind first.

Kinds, from least to most restrictive (`RESTRICTIVENESS`):
- open: permissive licences (MIT, Apache-2.0, BSD, CC-BY, CC0, ...): any use, attribution at most;
- copyleft: share-alike (GPL, CC-BY-SA, ODbL, MPL, ...): any use, but what is shared on carries
  the same licence; it constrains redistribution, not use;
- terms-of-use: a model provider's terms or a model licence with use restrictions (OpenAI,
  Anthropic, Gemini, the Llama and Gemma licences, RAIL licences): commercial use allowed, but
  some uses are not (for instance training a competing model), which reaches further than
  share-alike, so it ranks above copyleft;
- non-commercial: no commercial use at all (CC-BY-NC-*);
- proprietary: all rights reserved; only what a private agreement grants;
- unknown: a string this table does not know, or a generator whose terms it does not know. Until
  a person has read it, it may forbid anything, so it ranks worst.

Only terms this module is sure of are listed; anything else is `unknown`, for a person to read.
Creative Commons no-derivatives licences (CC-BY-ND, without NC) are deliberately left unknown:
whether a training sample is an adaptation is a legal question, not a lookup. Matching is
case-insensitive; licence URLs of Creative Commons, SPDX, the OSI, Apache and GNU are read as the
SPDX id they name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

LicenceKind = Literal[
    "open", "copyleft", "non-commercial", "terms-of-use", "proprietary", "unknown"
]

RESTRICTIVENESS: tuple[LicenceKind, ...] = (
    "open",
    "copyleft",
    "terms-of-use",
    "non-commercial",
    "proprietary",
    "unknown",
)
"""Licence kinds from least to most restrictive."""

_RANK = {kind: rank for rank, kind in enumerate(RESTRICTIVENESS)}


@dataclass(frozen=True, slots=True)
class Licence:
    """A licence or set of terms, by the name a report shows, and its kind."""

    name: str
    kind: LicenceKind


def restrictiveness(kind: LicenceKind) -> int:
    """The rank of a kind in `RESTRICTIVENESS` (higher binds more)."""
    return _RANK[kind]


_OPEN = (
    "0BSD",
    "Apache-2.0",
    "BSD-2-Clause",
    "BSD-3-Clause",
    "BSL-1.0",
    "CC0-1.0",
    "CDLA-Permissive-1.0",
    "CDLA-Permissive-2.0",
    "ISC",
    "MIT",
    "MIT-0",
    "ODC-By-1.0",
    "PDDL-1.0",
    "PSF-2.0",
    "Unlicense",
    "Zlib",
)
_COPYLEFT = (
    "CDLA-Sharing-1.0",
    "EPL-1.0",
    "EPL-2.0",
    "EUPL-1.2",
    "MPL-2.0",
    "ODbL-1.0",
    "OSL-3.0",
)
_RAIL = (
    "OpenRAIL",
    "OpenRAIL++",
    "BigScience-OpenRAIL-M",
    "BigScience-BLOOM-RAIL-1.0",
    "BigCode-OpenRAIL-M",
    "CreativeML-OpenRAIL-M",
)
_PROPRIETARY = ("proprietary", "all rights reserved", "all-rights-reserved")

_LLAMA = {
    "2": "Llama 2 Community License",
    "3": "Llama 3 Community License",
    "3.1": "Llama 3.1 Community License",
    "3.2": "Llama 3.2 Community License",
    "3.3": "Llama 3.3 Community License",
    "4": "Llama 4 Community License",
}
_GEMMA = "Gemma Terms of Use"

_KNOWN: dict[str, Licence] = {
    **{name.lower(): Licence(name, "open") for name in _OPEN},
    **{name.lower(): Licence(name, "copyleft") for name in _COPYLEFT},
    **{name.lower(): Licence(name, "terms-of-use") for name in _RAIL},
    **{name: Licence(name, "proprietary") for name in _PROPRIETARY},
    # Hugging Face's short licence tags.
    "odc-by": Licence("ODC-By-1.0", "open"),
    "odbl": Licence("ODbL-1.0", "copyleft"),
    "pddl": Licence("PDDL-1.0", "open"),
    "gemma": Licence(_GEMMA, "terms-of-use"),
    **{f"llama{version}": Licence(name, "terms-of-use") for version, name in _LLAMA.items()},
}

# CC-BY[-NC][-SA|-ND]-<version>[-<port>]: the elements decide the kind, whatever the version.
_CC = re.compile(r"cc-by((?:-nc)?)((?:-sa|-nd)?)-(\d\.\d)((?:-[a-z]+)?)")
_GNU = re.compile(r"(a|l)?gpl-(\d\.\d)(-only|-or-later|\+)?")
_GFDL = re.compile(r"gfdl-1\.[123](-invariants|-no-invariants)?(-only|-or-later)?")
_CC_URL = re.compile(
    r"creativecommons\.org/licenses/(by(?:-nc)?(?:-sa|-nd)?)/(\d\.\d)(?:/([a-z]{2}|igo)(?:/|$))?"
)
_CC0_URL = re.compile(r"creativecommons\.org/publicdomain/zero/1\.0")
_GNU_URL = re.compile(r"gnu\.org/licenses/((?:a|l)?gpl)-(\d\.\d)")
_ID_URL = re.compile(
    r"(?:spdx\.org/licenses|opensource\.org/licen[cs]es)/([a-z0-9.+-]+?)(?:\.html)?/?$"
)
_APACHE_URL = re.compile(r"apache\.org/licenses/license-2\.0")


def classify_licence(text: str) -> Licence:
    """Name and classify a licence string (an SPDX id, a Hugging Face tag or a licence URL);
    a string it does not know comes back as itself, of kind unknown."""
    key = " ".join(text.strip().lower().split())
    known = _KNOWN.get(key) or _spdx_pattern(key) or _from_url(key)
    return known if known is not None else Licence(text.strip(), "unknown")


def _spdx_pattern(key: str) -> Licence | None:
    if match := _CC.fullmatch(key):
        nc, share, version, port = match.groups()
        name = f"CC-BY{nc.upper()}{share.upper()}-{version}{port.upper()}"
        if nc:
            return Licence(name, "non-commercial")
        if share == "-nd":
            return None
        return Licence(name, "copyleft" if share else "open")
    if match := _GNU.fullmatch(key):
        prefix, version, suffix = match.groups()
        return Licence(f"{(prefix or '').upper()}GPL-{version}{suffix or ''}", "copyleft")
    if _GFDL.fullmatch(key):
        return Licence("GFDL" + key[len("gfdl") :], "copyleft")
    return None


def _from_url(key: str) -> Licence | None:
    if match := _CC_URL.search(key):
        elements, version, port = match.groups()
        return _spdx_pattern(f"cc-{elements}-{version}" + (f"-{port}" if port else ""))
    if _CC0_URL.search(key):
        return _KNOWN["cc0-1.0"]
    if match := _GNU_URL.search(key):
        return _spdx_pattern(f"{match.group(1)}-{match.group(2)}")
    if _APACHE_URL.search(key):
        return _KNOWN["apache-2.0"]
    if match := _ID_URL.search(key):
        spdx = match.group(1)
        return _KNOWN.get(spdx) or _spdx_pattern(spdx)
    return None


# Open-weight models whose weights carry an open licence, whoever serves them.
_OPEN_WEIGHTS: tuple[tuple[re.Pattern[str], Licence], ...] = (
    (re.compile(r"(?:^|/)gpt-oss"), Licence("Apache-2.0", "open")),
    (
        re.compile(
            r"(?:^|/)(?:open-)?(?:mistral-7b|mixtral-8x7b|mixtral-8x22b|mistral-nemo|mathstral"
            r"|codestral-mamba|pixtral-12b)"
        ),
        Licence("Apache-2.0", "open"),
    ),
    (re.compile(r"(?:^|/)phi-?(?:2|3|3\.5|4)(?![0-9.])"), Licence("MIT", "open")),
    (re.compile(r"(?:^|/)gemma"), Licence(_GEMMA, "terms-of-use")),
)
_LLAMA_MODEL = re.compile(r"(?:^|[/_\s-])(?:meta-)?llama[-_ ]?(\d+(?:\.\d+)?)(?![0-9])")

# Hosted models: the provider's terms apply when it serves them. With no provider named, the
# family's own provider is assumed where its models come only as a service (OpenAI's GPT,
# Claude, Gemini); Mistral also publishes weights under other licences, so it must be named.
_HOSTED: tuple[tuple[frozenset[str], bool, re.Pattern[str], Licence], ...] = (
    (
        frozenset({"openai"}),
        True,
        # Not a bare `gpt-`: GPT-2, GPT-J and GPT-NeoX are open-weight models of others.
        re.compile(r"(?:^|/)(?:gpt-(?:3\.5|4|5)|chatgpt|o[134](?:-|$))"),
        Licence("OpenAI terms of use", "terms-of-use"),
    ),
    (
        frozenset({"anthropic"}),
        True,
        re.compile(r"(?:^|/)claude"),
        Licence("Anthropic terms of service", "terms-of-use"),
    ),
    (
        frozenset({"google", "gemini", "google-genai"}),
        True,
        re.compile(r"(?:^|/)gemini"),
        Licence("Google Gemini API terms of service", "terms-of-use"),
    ),
    (
        frozenset({"mistral", "mistralai"}),
        False,
        re.compile(r"(?:^|/)(?:open-|mistral|mixtral|codestral|ministral|pixtral|magistral)"),
        Licence("Mistral AI terms of service", "terms-of-use"),
    ),
)

BUILTIN_PROVIDER = "synthguard"
"""The provider of synthguard's own deterministic generators, whose output is unrestricted."""
_BUILTIN = Licence("synthguard built-in generator (no restriction)", "open")


def generator_terms(provider: str | None, model: str) -> Licence:
    """The licence or terms of use that bind what a generator made; kind unknown (named
    `terms of <provider>/<model>`) when this table does not know the model."""
    who = (provider or "").strip().lower()
    name = model.strip().lower()
    if who == BUILTIN_PROVIDER:
        return _BUILTIN
    for pattern, licence in _OPEN_WEIGHTS:
        if pattern.search(name):
            return licence
    if match := _LLAMA_MODEL.search(name):
        llama = _LLAMA.get(match.group(1))
        if llama is not None:
            return Licence(llama, "terms-of-use")
    for providers, when_unnamed, pattern, licence in _HOSTED:
        if (who in providers or (when_unnamed and not who)) and pattern.search(name):
            return licence
    label = f"{provider}/{model}" if provider else model
    return Licence(f"terms of {label}", "unknown")
