"""Licence strings and generator terms: their names, their kinds, and which binds most."""

from __future__ import annotations

import pytest

from synthguard.ledger.report.licences import (
    RESTRICTIVENESS,
    Licence,
    classify_licence,
    generator_terms,
    restrictiveness,
)


@pytest.mark.parametrize(
    ("text", "name", "kind"),
    [
        ("MIT", "MIT", "open"),
        ("apache-2.0", "Apache-2.0", "open"),
        ("  BSD-3-Clause ", "BSD-3-Clause", "open"),
        ("CC0-1.0", "CC0-1.0", "open"),
        ("cc-by-4.0", "CC-BY-4.0", "open"),
        ("CC-BY-3.0-DE", "CC-BY-3.0-DE", "open"),
        ("odc-by", "ODC-By-1.0", "open"),
        ("CC-BY-SA-4.0", "CC-BY-SA-4.0", "copyleft"),
        ("GPL-3.0-or-later", "GPL-3.0-or-later", "copyleft"),
        ("gpl-2.0+", "GPL-2.0+", "copyleft"),
        ("LGPL-2.1-only", "LGPL-2.1-only", "copyleft"),
        ("agpl-3.0", "AGPL-3.0", "copyleft"),
        ("GFDL-1.3-invariants-or-later", "GFDL-1.3-invariants-or-later", "copyleft"),
        ("MPL-2.0", "MPL-2.0", "copyleft"),
        ("odbl", "ODbL-1.0", "copyleft"),
        ("llama3.1", "Llama 3.1 Community License", "terms-of-use"),
        ("gemma", "Gemma Terms of Use", "terms-of-use"),
        ("bigscience-openrail-m", "BigScience-OpenRAIL-M", "terms-of-use"),
        ("CC-BY-NC-4.0", "CC-BY-NC-4.0", "non-commercial"),
        ("cc-by-nc-sa-3.0", "CC-BY-NC-SA-3.0", "non-commercial"),
        ("CC-BY-NC-ND-4.0", "CC-BY-NC-ND-4.0", "non-commercial"),
        ("Proprietary", "proprietary", "proprietary"),
        ("All  Rights Reserved", "all rights reserved", "proprietary"),
    ],
)
def test_known_licences_are_named_and_classified(text: str, name: str, kind: str) -> None:
    assert classify_licence(text) == Licence(name, kind)


@pytest.mark.parametrize(
    ("url", "name", "kind"),
    [
        (
            "https://creativecommons.org/licenses/by-nc-sa/4.0/deed.en",
            "CC-BY-NC-SA-4.0",
            "non-commercial",
        ),
        ("https://creativecommons.org/licenses/by/3.0/de/", "CC-BY-3.0-DE", "open"),
        ("http://creativecommons.org/licenses/by-sa/4.0/", "CC-BY-SA-4.0", "copyleft"),
        ("https://creativecommons.org/publicdomain/zero/1.0/", "CC0-1.0", "open"),
        ("https://www.gnu.org/licenses/gpl-3.0.html", "GPL-3.0", "copyleft"),
        ("https://www.apache.org/licenses/LICENSE-2.0", "Apache-2.0", "open"),
        ("https://opensource.org/licenses/MIT", "MIT", "open"),
        ("https://spdx.org/licenses/CC-BY-NC-4.0.html", "CC-BY-NC-4.0", "non-commercial"),
    ],
)
def test_licence_urls_are_read_as_the_id_they_name(url: str, name: str, kind: str) -> None:
    assert classify_licence(url) == Licence(name, kind)


@pytest.mark.parametrize(
    "text",
    ["CC-BY-ND-4.0", "other", "unknown", "LicenseRef-acme-2024", "see README", "GPL-9"],
)
def test_strings_outside_the_table_are_unknown_and_kept_as_written(text: str) -> None:
    assert classify_licence(text) == Licence(text, "unknown")


@pytest.mark.parametrize(
    ("provider", "model", "name", "kind"),
    [
        (
            "synthguard",
            "builtin-template-lm",
            "synthguard built-in generator (no restriction)",
            "open",
        ),
        ("openai", "gpt-4o-mini", "OpenAI terms of use", "terms-of-use"),
        (None, "gpt-4.1", "OpenAI terms of use", "terms-of-use"),
        ("openai", "o3-mini", "OpenAI terms of use", "terms-of-use"),
        ("openai", "gpt-oss-120b", "Apache-2.0", "open"),
        ("anthropic", "claude-3-5-sonnet-20241022", "Anthropic terms of service", "terms-of-use"),
        ("google", "gemini-1.5-pro", "Google Gemini API terms of service", "terms-of-use"),
        ("vllm", "google/gemma-2-9b-it", "Gemma Terms of Use", "terms-of-use"),
        (
            "meta",
            "meta-llama/Meta-Llama-3.1-8B-Instruct",
            "Llama 3.1 Community License",
            "terms-of-use",
        ),
        ("together", "meta-llama/Llama-2-7b-chat-hf", "Llama 2 Community License", "terms-of-use"),
        ("groq", "llama-3.3-70b-versatile", "Llama 3.3 Community License", "terms-of-use"),
        ("ollama", "llama3:8b", "Llama 3 Community License", "terms-of-use"),
        ("mistral", "open-mistral-nemo", "Apache-2.0", "open"),
        (None, "mistralai/Mixtral-8x7B-Instruct-v0.1", "Apache-2.0", "open"),
        ("mistral", "mistral-large-latest", "Mistral AI terms of service", "terms-of-use"),
        (None, "microsoft/Phi-3.5-mini-instruct", "MIT", "open"),
    ],
)
def test_generator_terms(provider: str | None, model: str, name: str, kind: str) -> None:
    assert generator_terms(provider, model) == Licence(name, kind)


@pytest.mark.parametrize(
    ("provider", "model"),
    [
        ("azure", "gpt-4o"),  # served by someone else: other terms
        (None, "gpt-j-6b"),  # an open-weight model of another lab, despite the name
        (None, "TinyLlama-1.1B-Chat"),
        (None, "codellama-7b"),
        (None, "mistral-large-latest"),  # self-hosted Mistral weights carry other licences
        ("acme", "acme-lm"),
    ],
)
def test_generators_outside_the_table_are_unknown(provider: str | None, model: str) -> None:
    label = f"{provider}/{model}" if provider else model
    assert generator_terms(provider, model) == Licence(f"terms of {label}", "unknown")


def test_restrictiveness_orders_the_kinds() -> None:
    assert RESTRICTIVENESS == (
        "open",
        "copyleft",
        "terms-of-use",
        "non-commercial",
        "proprietary",
        "unknown",
    )
    ranks = [restrictiveness(kind) for kind in RESTRICTIVENESS]
    assert ranks == sorted(ranks) == list(range(len(RESTRICTIVENESS)))
    assert restrictiveness("unknown") > restrictiveness("proprietary") > restrictiveness("open")
