"""Detection: every kind planted in real docstrings and in chat transcripts is found with its
exact span and kind; every look-alike passes and names the rule that let it pass; a value split
across two fields is never put back together."""

from __future__ import annotations

import itertools
import random
import re
import time

import privacy_planting as planting
import pytest
from detect_secrets.filters import heuristic
from hypothesis import example, given, settings
from hypothesis import strategies as st

from synthguard.guards.privacy import KINDS, Detector, Finding, find_private
from synthguard.guards.privacy.contact import OTHER_REGION_NUMBERS
from synthguard.guards.privacy.credentials import SecretScanner, is_indirect_reference
from synthguard.guards.privacy.finding import Hit
from synthguard.provenance.errors import InputError
from synthguard.provenance.sample import sample_from_row

DETECTOR = Detector()
DOCS = planting.docstrings(60, seed=7)

PROSE = "secret/PasswordInProseDetector"


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_planted_in_docstrings_is_found_with_its_span(kind: str) -> None:
    rng = random.Random(kind)
    for doc in DOCS:
        planted = planting.plant(doc, kind, rng)
        sample = sample_from_row({"instruction": "Explain this.", "output": planted.text})
        found = [f for f in find_private(sample) if f.field == "output"]
        overlapping = [
            (f.start, f.end, f.kind)
            for f in found
            if f.start < planted.end and planted.start < f.end
        ]
        assert overlapping == [(planted.start, planted.end, kind)], (planted.value, found)


@pytest.mark.parametrize("kind", KINDS)
def test_findings_never_show_the_value(kind: str) -> None:
    rng = random.Random(f"preview-{kind}")
    for doc in DOCS[:20]:
        planted = planting.plant(doc, kind, rng)
        (finding,) = [
            f
            for f in find_private(sample_from_row({"text": planted.text}))
            if f.start == planted.start
        ]
        compact = planted.value.replace(" ", "").replace("-", "")
        assert compact not in finding.preview.replace(" ", "").replace("-", "")
        assert "*" in finding.preview or finding.preview.endswith("characters]")


def test_chat_transcript_findings_name_their_message() -> None:
    rng = random.Random(3)
    phone, mail, key = planting.phone(rng), planting.email(rng), planting.secret(rng)
    while not key.startswith(("AKIA", "ghp_", "sk_live_")):
        key = planting.secret(rng)
    messages = [
        {"role": "system", "content": "You are a helpful assistant for a bank's call centre."},
        {"role": "user", "content": f"My number is {phone}, please call me back."},
        {"role": "assistant", "content": "Sure. Which e-mail should the summary go to?"},
        {"role": "user", "content": f"Send it to {mail}. Also, our deploy key is {key}"},
        {"role": "assistant", "content": "I won't store keys; please rotate that one."},
    ]
    found = find_private(sample_from_row({"messages": messages}))
    by_field = {(f.field, f.kind) for f in found}
    assert by_field == {
        ("messages[1]", "phone"),
        ("messages[3]", "email"),
        ("messages[3]", "secret"),
    }
    for finding in found:
        text = messages[int(finding.field[9:-1])]["content"]
        assert text[finding.start : finding.end] in (phone, mail, key)


def test_a_secret_split_across_input_and_output_is_not_reassembled() -> None:
    key = "AKIA" + "Q7ZK2M4XN8BT5RWC"
    card = "4929 1234 5678 9015"
    sample = sample_from_row(
        {
            "instruction": "Finish the configuration.",
            "input": f"aws_access_key_id = {key[:10]}",
            "output": f"{key[10:]}\nand the card ends {card[10:]}",
        }
    )
    assert find_private(sample) == []
    whole = sample_from_row({"text": f"aws_access_key_id = {key} card {card}"})
    assert {f.kind for f in find_private(whole)} == {"secret", "payment_card"}


FINE_GRAINED = "github_pat_11AQ3LX7Y0k9Rz2Wq4Ht6Jm_" + "Zp8Lq2Vx5Nc7Bm3Kd9Fs1Gh4Jt6Ry0Uw" * 2

LOOKALIKES = [
    ("Mail ops@example.com or admin@mail.example.org.", "email", "email/example-domain"),
    ("Mail ops [at] example [dot] com.", "email", "email/example-domain"),
    ("Try user@host.test and bob@service.invalid.", "email", "email/example-domain"),
    ("The server at 192.0.2.17 answers.", "ip_address", "ip_address/documentation"),
    ("Point it at 2001:db8::8a2e:370:7334.", "ip_address", "ip_address/documentation"),
    ("Bind to 10.0.0.5 or 127.0.0.1 or ::1.", "ip_address", "ip_address/non-global"),
    ("Use resolver 8.8.8.8.", "ip_address", "ip_address/public-service"),
    ("Released as version 4.12.1.250 today.", "ip_address", "ip_address/version-string"),
    ("Pay with 4242 4242 4242 4242 in test mode.", "payment_card", "payment_card/test-number"),
    ("Card 4111-1111-1111-1111 or 378282246310005.", "payment_card", "payment_card/test-number"),
    ("Wire to GB82 WEST 1234 5698 7654 32.", "iban", "iban/example"),
    ("The wallet card read 078-05-1120.", "ssn", "ssn/advertising"),
    ("aws_access_key_id = AKIAIOSFODNN7EXAMPLE", "secret", "secret/example-key"),
    ('password = "changeme"', "secret", "secret/example-key"),
    ("postgresql://scott:tiger@localhost/test", "secret", "secret/example-key"),
    ('token_secret = "abcdefghijklmnop"', "secret", "secret/sequential"),
    (
        ">>> english_lower('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_')",
        "secret",
        "secret/sequential",
    ),
    ('rev: "9fceb02d0ae598e95dc970b74767f19372d61af8"', "secret", "secret/hex-digest"),
    (
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEow...\n-----END RSA PRIVATE KEY-----",
        "secret",
        "secret/example-key",
    ),
    ("Call (415) 555-0123 in the film.", "phone", "phone/fictional"),
    ("INT_MAX is 2147483647 on this platform.", "phone", "phone/bare-digits"),
    ("The ratio -2096165693 overflowed.", "phone", "phone/numeric"),
    ("Order part no. 212-736-5000 from the catalogue.", "phone", "phone/part-number"),
    # Templates' and hosting services' addresses, numbered sections, public digests.
    ("Write to user@domain.com or name@yourcompany.com.", "email", "email/example-domain"),
    ("Any local-part@domain.tld is valid.", "email", "email/example-domain"),
    ("git clone git@github.com:pallets/flask.git", "email", "email/service-account"),
    ("See section 3.2.1.4 of the standard.", "ip_address", "ip_address/section-number"),
    ("The OID 2.5.4.3 names commonName.", "ip_address", "ip_address/section-number"),
    ("password: env:DB_PASS", "secret", "secret/secret-reference"),
    ("password: projects/1/secrets/db/versions/latest", "secret", "secret/secret-reference"),
    (
        '<script src="a.js" integrity="sha384-T3c6CoIi6uLrA9TneNEoa7RxnatzjcDSCmG1MXxSR1GAsXEV'
        '/Dwwykc2MPK8M2HN" crossorigin="anonymous"></script>',
        "secret",
        "secret/integrity-digest",
    ),
    (
        "Decode eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4g"
        "RG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c on jwt.io.",
        "secret",
        "secret/example-key",
    ),
]


@pytest.mark.parametrize(("text", "kind", "rule"), LOOKALIKES)
def test_each_lookalike_passes_and_says_why(text: str, kind: str, rule: str) -> None:
    findings, lookalikes = DETECTOR.scan(sample_from_row({"text": text}))
    assert findings == []
    assert rule in {f.rule for f in lookalikes if f.kind == kind}


def test_a_part_number_shaped_as_a_phone_is_one_only_beside_a_word_that_asks_to_dial() -> None:
    findings, _ = DETECTOR.scan(sample_from_row({"text": "Call me, order no. 212-736-5000."}))
    assert [f.rule for f in findings] == ["phone/libphonenumber"]


IDENTIFIERS = [
    "Request id 123e4567-e89b-12d3-a456-426614174000 failed.",
    "Fixed in commit 9fceb02d0ae598e95dc970b74767f19372d61af8.",
    "sha256: 3f786850e387550fdab836ed7e6dc881de23001b3f786850e387550fdab836ed",
    "See ISBN 978-0-306-40615-7 and ISBN 0-306-40615-2.",
    "Python 3.11.4 and numpy 1.26.4 on 2024-05-17 at 12:30:00.",
    "The table holds 1.5, 2.75, 1024, 65536 and 3.14159265358979.",
    # Spelled-out "at" and "dot" are prose unless they end in a common top-level domain.
    "Look at the dot product of a and b.",
    "Stop at x dot y, then look at github.com.",
    "The robot stared at the dot com bubble.",
    "Meet me at starbucks dot com, she joked.",
]


@pytest.mark.parametrize("text", IDENTIFIERS)
def test_identifiers_and_numbers_are_no_findings(text: str) -> None:
    assert find_private(sample_from_row({"text": text})) == []


def test_rules_name_the_deciding_check() -> None:
    text = (
        "Mail jane.roe@gmail.com, call +44 20 7123 4567, host 81.2.69.160, "
        "IBAN DE44 5001 0517 5407 3249 31, card 4929 1234 5678 9015, SSN 123-45-6788, "
        'key AKIAQ7ZK2M4XN8BT5RWC, and token = "ghp_Zq8vT2mK5nR9xW3yB7cD1fH4jL6pS0uE2gA8"'
    )
    rules = {(f.kind, f.rule) for f in find_private(sample_from_row({"text": text}))}
    assert rules == {
        ("email", "email"),
        ("phone", "phone/libphonenumber"),
        ("ip_address", "ip_address"),
        ("iban", "iban/mod97"),
        ("payment_card", "payment_card/luhn"),
        ("ssn", "ssn/area-group"),
        ("secret", "secret/AWSKeyDetector"),
        ("secret", "secret/GitHubTokenDetector"),
    }


def test_invalid_checksums_and_ranges_are_not_found() -> None:
    text = (
        "IBAN DE45 5001 0517 5407 3249 31, card 4929 1234 5678 9016, "
        "SSN 666-12-3456 and 123-00-4567 and 912-34-5678, address 300.1.2.3"
    )
    assert find_private(sample_from_row({"text": text})) == []


def test_the_region_decides_how_national_numbers_read() -> None:
    text = "The office is 030 901820, the shop next door."
    us = find_private(sample_from_row({"text": text}), region="US")
    de = find_private(sample_from_row({"text": text}), region="DE")
    assert us == []
    assert [(f.kind, text[f.start : f.end]) for f in de] == [("phone", "030 901820")]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("Ring 030 901820 for the office.", "030 901820"),
        ("Call me on 020 7123 4567 after six.", "020 7123 4567"),
        ("Her mobile is 0412 345 678.", "0412 345 678"),
        ("phone: 03-1234-5678", "03-1234-5678"),
    ],
)
def test_another_regions_national_number_counts_after_a_dialling_word(
    text: str, value: str
) -> None:
    (finding,) = find_private(sample_from_row({"text": text}), region="US")
    assert (text[finding.start : finding.end], finding.rule) == (
        value,
        "phone/libphonenumber+other-region",
    )


def test_a_row_of_dialled_numbers_reads_a_bounded_few_in_other_regions() -> None:
    row = "call me on 020 7123 4567, " * 4000
    start = time.process_time()
    findings = find_private(sample_from_row({"text": row}), region="US")
    assert len(findings) == OTHER_REGION_NUMBERS
    assert time.process_time() - start < 10.0


@pytest.mark.parametrize(
    ("text", "lookalike"),
    [
        ("See order no. 0123 4567 890 in the table.", None),
        ("Its number is 030 901820.", None),
        ("Call 020 7946 0123, the number from the film.", "phone/fictional"),
        ("Tel: 01632 960123", "phone/fictional"),
    ],
)
def test_other_regions_need_a_dialling_word_and_know_the_drama_ranges(
    text: str, lookalike: str | None
) -> None:
    findings, lookalikes = DETECTOR.scan(sample_from_row({"text": text}))
    assert findings == []
    assert [f.rule for f in lookalikes] == ([lookalike] if lookalike else [])


def test_entropy_plugins_are_switchable() -> None:
    text = 'settings = {"signing": "q8Zr4Lw0Xv7Tn2Bk5Yc9Hm3Jd6Fs1Pg8Qa4Ue7Io"}'
    with_entropy = find_private(sample_from_row({"text": text}), entropy=True)
    without = find_private(sample_from_row({"text": text}), entropy=False)
    assert [f.rule for f in with_entropy] == ["secret/high-entropy"]
    assert without == []


def test_a_private_key_block_is_one_finding_from_begin_to_end() -> None:
    rng = random.Random(5)
    key = planting.secret(rng)
    while not key.startswith("-----BEGIN"):
        key = planting.secret(rng)
    text = f"Deploy with this key:\n{key}\nand delete it afterwards."
    (finding,) = find_private(sample_from_row({"text": text}))
    assert text[finding.start : finding.end] == key
    assert finding.preview.startswith("-----BEGIN RSA PRIVATE KEY-----")


def test_a_second_header_inside_a_key_block_is_judged_on_its_own_block() -> None:
    # A placeholder block whose END line is missing must not cover a real key after it.
    rng = random.Random(6)
    key = planting.secret(rng)
    while not key.startswith("-----BEGIN RSA"):
        key = planting.secret(rng)
    decoy = "-----BEGIN RSA PRIVATE KEY-----\nYOUR_KEY_HERE\n"
    text = f"Examples:\n{decoy}{key}\ndone."
    findings = find_private(sample_from_row({"text": text}))
    assert [text[f.start : f.end] for f in findings] == [key]


def test_many_key_headers_in_one_row_cost_each_only_its_own_block() -> None:
    # Each header's block ends at the next header: 2,000 of them are one finding each, found
    # in one pass (a block that ran to the end of the text made this quadratic).
    text = "-----BEGIN PRIVATE KEY-----" * 2000
    hits = DETECTOR.hits(text)
    assert len(hits) == 2000
    assert [(h.start, h.end) for h in hits[:2]] == [(0, 27), (27, 54)]


@settings(max_examples=2000, deadline=None)
@given(st.text(alphabet=":=!()[] \x0b\tab._-\n9\u00e9", max_size=40))
def test_the_indirect_reference_check_agrees_with_detect_secrets(line: str) -> None:
    assert is_indirect_reference(line) == heuristic.is_indirect_reference(line)


def test_an_unknown_region_is_an_input_error() -> None:
    with pytest.raises(InputError, match="region"):
        Detector(region="XX")


def test_findings_round_trip_through_plain_values() -> None:
    finding = Finding("messages[2]", 4, 19, "email", "email", "j***@g***.com")
    assert Finding.from_dict(finding.as_dict()) == finding
    with pytest.raises(InputError):
        Finding.from_dict({**finding.as_dict(), "kind": "passport"})
    with pytest.raises(InputError):
        Finding.from_dict({**finding.as_dict(), "end": 2})


PIECES = st.sampled_from(
    [
        "jo.li77@gmail.com",
        "+44 20 7123 4567",
        "(415) 623-4567",
        "81.2.69.160",
        "2a00:1450:4001:81c::200e",
        "DE44 5001 0517 5407 3249 31",
        "4929 1234 5678 9015",
        "123-45-6788",
        "AKIAQ7ZK2M4XN8BT5RWC",
        'password = "q8Zr4Lw0Xv7T"',
        "4242 4242 4242 4242",
        "192.0.2.1",
        "ops@example.com",
        "1.2.3.4.5",
        "3.14159",
        "-----BEGIN PRIVATE KEY-----",
        "\n",
        " ",
        ".",
        "-",
        "::",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(PIECES, st.text(max_size=12)), max_size=12))
# Found by this test: "¼" folds into "1/4", and a phone number ending in its "1" and an email
# starting at its "4" overlapped on the string.
@example(parts=["2", "192.0.2.1", "00\u00bc", "jo.li77@gmail.com"])
def test_hits_are_disjoint_sorted_and_inside_their_string(parts: list[str]) -> None:
    text = "".join(parts)
    hits = DETECTOR.hits(text)
    assert all(0 <= h.start < h.end <= len(text) for h in hits)
    assert all(a.end <= b.start for a, b in itertools.pairwise(hits))
    # A rule is its kind, or the kind then "/" or "+" and what decided.
    assert all(h.kind in KINDS and re.split("[/+]", h.rule)[0] == h.kind for h in hits)


@pytest.mark.parametrize(
    ("text", "value", "rule"),
    [
        ("iban de63575480204181797818 ok", "de63575480204181797818", "iban/mod97"),
        ("IBAN: DE63-5754-8020-4181-7978-18", "DE63-5754-8020-4181-7978-18", "iban/mod97"),
        ("SSN 123456788 on file", "123456788", "ssn/area-group+keyword"),
        ("Social Security Number: 123456788.", "123456788", "ssn/area-group+keyword"),
        ("phone 4156234567", "4156234567", "phone/libphonenumber"),
        # A few small words between the word that asks to dial and the bare digits.
        ("call me at 6502530000 tonight", "6502530000", "phone/libphonenumber"),
        ("Her number is 4156234567.", "4156234567", "phone/libphonenumber"),
        # A vendor's token whose tail reads as a hex digest on its own is still a token.
        (
            "xoxp-2384729384-2384729384-2384729384-a8f7d6e5c4b3a2f1e0d9c8b7a6f5e4d3 in the bot",
            "xoxp-2384729384-2384729384-2384729384-a8f7d6e5c4b3a2f1e0d9c8b7a6f5e4d3",
            "secret/SlackDetector",
        ),
        # The password of a URL, whatever it looks like.
        (
            "DATABASE_URL=postgres://app:9f86d081884c7d659a2feaa0c55ad015@db.internal:5432/x",
            "9f86d081884c7d659a2feaa0c55ad015",
            "secret/BasicAuthDetector",
        ),
        (
            "curl -H 'Authorization: Bearer 7f3kQ9zL2mX8vB4nR6tY1wE5' https://api.acme.io/v1",
            "7f3kQ9zL2mX8vB4nR6tY1wE5",
            "secret/BearerTokenDetector",
        ),
        # A bearer token is one by where it stands, a digest's length notwithstanding.
        (
            "Use Bearer token 'a8f7d6e5c4b3a2f1e0d9c8b7a6f5e4d3c2b1a0f9' in the header",
            "a8f7d6e5c4b3a2f1e0d9c8b7a6f5e4d3c2b1a0f9",
            "secret/BearerTokenDetector",
        ),
        ("GH_TOKEN: " + FINE_GRAINED, FINE_GRAINED, "secret/GitHubFineGrainedTokenDetector"),
        (
            "npm token npm_Xq9wT2mB7vLk3NpR8sYc4Hd6Fj1Gz0Ae5UiO for CI",
            "npm_Xq9wT2mB7vLk3NpR8sYc4Hd6Fj1Gz0Ae5UiO",
            "secret/NpmAccessTokenDetector",
        ),
        # Addresses written to dodge harvesters.
        (
            "Mail jane.doe [at] gmail [dot] com.",
            "jane.doe [at] gmail [dot] com",
            "email/obfuscated",
        ),
        ("contact: j.doe(AT)proton.me", "j.doe(AT)proton.me", "email/obfuscated"),
        ("write to jane@mail {dot} org", "jane@mail {dot} org", "email/obfuscated"),
        ("or jane.doe at gmail dot com, say", "jane.doe at gmail dot com", "email/obfuscated"),
        # A quoted literal passed to a call is a literal, not an indirect reference.
        (
            'client = Client(api_key="Q8rS7tU6vW5xY4zA3bC2dE1fG0hJ9k")',
            "Q8rS7tU6vW5xY4zA3bC2dE1fG0hJ9k",
            "secret/KeywordDetector",
        ),
        # Shell and .env lines carry no quotes.
        (
            "export MY_SERVICE_API_KEY=Q8rS7tU6vW5xY4zA3bC2dE1fG0hJ9k",
            "Q8rS7tU6vW5xY4zA3bC2dE1fG0hJ9k",
            "secret/UnquotedKeywordDetector",
        ),
        ("DB_PASSWORD=Zt7#kq2Lm9vX4pW1", "Zt7#kq2Lm9vX4pW1", "secret/UnquotedKeywordDetector"),
        # An id earlier in the row does not make the secret after it an id: the filters read
        # the value's own clause.
        ('{"user_id": 5, "password": "Tr0ub4dor&3xQ"}', "Tr0ub4dor&3xQ", "secret/KeywordDetector"),
        (
            'See row_id: 3. aws_secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzqrs8912Xk"',
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzqrs8912Xk",
            "secret/KeywordDetector",
        ),
        # Token formats detect-secrets 1.5 does not know, in its plugin form.
        (
            "login with hf_AbCdEfGhIjKlMnOpQrStUvWxYzAbCdEfGh first",
            "hf_AbCdEfGhIjKlMnOpQrStUvWxYzAbCdEfGh",
            "secret/HuggingFaceTokenDetector",
        ),
        (
            "Use sk-proj-Xq3v9LmN2pR8sT4wY6zA1bC5dE7fG0hJ2kL4mN6pQ8rS now.",
            "sk-proj-Xq3v9LmN2pR8sT4wY6zA1bC5dE7fG0hJ2kL4mN6pQ8rS",
            "secret/OpenAIProjectKeyDetector",
        ),
        (
            "key AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q set",
            "AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q",
            "secret/GoogleApiKeyDetector",
        ),
        (
            "ANTHROPIC=sk-ant-api03-" + "a1B2c3D4e5" * 9 + "AA",
            "sk-ant-api03-" + "a1B2c3D4e5" * 9 + "AA",
            "secret/AnthropicKeyDetector",
        ),
        # A password given in words, not assigned in code.
        ("My password is Gq7!rTz2#Wn, don't share it.", "Gq7!rTz2#Wn", PROSE),
        ("password: Xk9#mQ2v!Lp7", "Xk9#mQ2v!Lp7", PROSE),
        ("Log in as admin with password Vb3$kLq9Zx.", "Vb3$kLq9Zx", PROSE),
        ("The wifi passcode was set to Summer2024!", "Summer2024!", PROSE),
        ("Mein Passwort ist Kx8Lm2Qr9 .", "Kx8Lm2Qr9", PROSE),
        ("password=Qp4vN7xR", "Qp4vN7xR", PROSE),
        # RFC 3986 allows sub-delimiters in a URL's password; detect-secrets' expression not.
        (
            "DATABASE_URL=mysql://root:pr0dP4ssw0rd!@10.0.3.7/app",
            "pr0dP4ssw0rd!",
            "secret/UrlPasswordDetector",
        ),
        (
            "amqp://svc:Kq7;xR2&mW@broker.internal:5672/",
            "Kq7;xR2&mW",
            "secret/UrlPasswordDetector",
        ),
    ],
)
def test_other_written_forms_are_found(text: str, value: str, rule: str) -> None:
    (finding,) = find_private(sample_from_row({"text": text}))
    assert (text[finding.start : finding.end], finding.rule) == (value, rule)


TOKEN = "9XChaf688ZLcQSfgXwpbbYbwPNENDjflTh2aGF49"
ASSIGNED = "secret/AssignedCredentialDetector"
HEADER = "secret/AuthorizationHeaderDetector"


@pytest.mark.parametrize(
    ("text", "value", "rule"),
    [
        # Environment files, YAML and shell: a credential's name, an unquoted value.
        (f"ACCESS_TOKEN={TOKEN}.", TOKEN, ASSIGNED),
        (f"export GITHUB_TOKEN={TOKEN}", TOKEN, ASSIGNED),
        (f"auth_token: {TOKEN}", TOKEN, ASSIGNED),
        (
            "TWILIO_AUTH_TOKEN=3f9a1c7e5b2d4f6a8c0e1b3d5f7a9c2e",
            "3f9a1c7e5b2d4f6a8c0e1b3d5f7a9c2e",
            ASSIGNED,
        ),
        ("DB_PASSWORD=j1IfWqrAz2", "j1IfWqrAz2", ASSIGNED),
        ("MYSQL_ROOT_PASSWORD: Xk9mQ2vLp7", "Xk9mQ2vLp7", ASSIGNED),
        ("DB_PASS=Xk9mQ2vLp7", "Xk9mQ2vLp7", ASSIGNED),
        # HTTP: headers named for a key or a token, query strings, other schemes than Bearer.
        (f"curl -H 'x-api-key: {TOKEN}' https://api.test", TOKEN, ASSIGNED),
        (f"X-Auth-Token: {TOKEN}", TOKEN, ASSIGNED),
        (f"GET /v1/me?access_token={TOKEN}&page=2", TOKEN, ASSIGNED),
        (f"Authorization: Token {TOKEN}", TOKEN, HEADER),
        ("Authorization: Basic YWRtaW46R3E3clR6MlduNCE=", "YWRtaW46R3E3clR6MlduNCE", HEADER),
        ("curl -u admin:Gq7rTz2Wn4x https://api.test/v1", "Gq7rTz2Wn4x", HEADER),
        ("wget --password=Gq7rTz2Wn4x https://files.test/a.zip", "Gq7rTz2Wn4x", HEADER),
        # A key's own base64 holds slashes: no path to where a secret is kept.
        (
            "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYzz9KEY",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzz9KEY",
            "secret/UnquotedKeywordDetector",
        ),
        # Compact JSON: no blank or hyphen anywhere, the key names the number.
        ('{"name":"Ana","ssn":"412683307"}', "412683307", "ssn/area-group+keyword"),
    ],
)
def test_credentials_by_their_place_are_found(text: str, value: str, rule: str) -> None:
    (finding,) = find_private(sample_from_row({"text": text}))
    assert (text[finding.start : finding.end], finding.rule) == (value, rule)


@pytest.mark.parametrize(
    "text",
    [
        "token: str",
        "max_tokens=1024",
        "tokenizer=AutoTokenizer.from_pretrained('gpt2')",
        "api_key: ${API_KEY}",
        "secret: ${{ secrets.GITHUB_TOKEN }}",
        "sort_key=lambda row: row[0]",
        "token_type: bearer_access_token",
        "password_hash=sha256(salt + password)",
        "PASSWORD_MIN_LENGTH=12",
        "pass_rate: 0.95",
        "compass_direction: north-east",
        "API_KEY=your-api-key-here",
        "Authorization: Basic <base64 of user:password>",
        "The header is Authorization: Basic dXNlcg==",  # "user": no password
        "Authorization: Bearer $TOKEN",
        "curl -u $USER:$PASS https://api.test",
        "Enter your password and/or PIN.",
        '{"id":"412683307","n":3}',
    ],
)
def test_names_and_values_that_are_no_credentials_pass(text: str) -> None:
    assert find_private(sample_from_row({"text": text})) == []


PROVIDER = "secret/ProviderTokenDetector"
OTHER_REGION = "phone/libphonenumber+other-region"


@pytest.mark.parametrize(
    ("text", "value", "rule"),
    [
        # Services' token formats detect-secrets 1.5 does not know.
        ("DO_TOKEN=dop_v1_" + "3b9f5f7a" * 8, "dop_v1_" + "3b9f5f7a" * 8, PROVIDER),
        ("shpat_" + "a1b2c3d4" * 4 + " is the token", "shpat_" + "a1b2c3d4" * 4, PROVIDER),
        ("key sk_test_5nsJ9rfjgIcEazQHqfbdZujr", "sk_test_5nsJ9rfjgIcEazQHqfbdZujr", PROVIDER),
        (
            "ya29.jBgOm1jSpyEQo0OJVNdMynYVxFM6uoWwVqai",
            "ya29.jBgOm1jSpyEQo0OJVNdMynYVxFM6uoWwVqai",
            PROVIDER,
        ),
        (
            "secret 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",
            "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",
            PROVIDER,
        ),
        (
            "r8_KF1IHfeI9wu0xMDq9nCo5QVbyMXich6rFVPiR",
            "r8_KF1IHfeI9wu0xMDq9nCo5QVbyMXich6rFVPiR",
            PROVIDER,
        ),
        (
            "Here is my key: sk-sa4l5rul4GDJ4X6rJUsD8VBfXMNJ7dlQ2wP9",
            "sk-sa4l5rul4GDJ4X6rJUsD8VBfXMNJ7dlQ2wP9",
            PROVIDER,
        ),
        # Addresses written to dodge harvesters, in other scripts, with an apostrophe.
        ("Mail jane.doe @ gmail.com today", "jane.doe @ gmail.com", "email/obfuscated"),
        ("Mail jane@gmail dot com today", "jane@gmail dot com", "email/obfuscated"),
        ("Mail jane -at- gmail -dot- com", "jane -at- gmail -dot- com", "email/obfuscated"),
        # Any case, any blank: the pre-check once wanted " dot " in one of three spellings.
        ("Mail jane at gmail\tdot com", "jane at gmail\tdot com", "email/obfuscated"),
        ("Mail jane at gmail DoT com", "jane at gmail DoT com", "email/obfuscated"),
        ("Mail jane -At- gmail.com", "jane -At- gmail.com", "email/obfuscated"),
        ("Mail jane@gmail-dot-com", "jane@gmail-dot-com", "email/obfuscated"),
        ("Mail jane\t@\tgmail.com", "jane\t@\tgmail.com", "email/obfuscated"),
        ("Mail jane.doe&#64;gmail.com", "jane.doe&#64;gmail.com", "email"),
        ("<a href='mailto:jane%40gmail.com'>", "jane%40gmail.com", "email"),
        # Read folded (`detect.fold`): the full-width at sign disguises the address.
        ("Mail jane\uff20gmail.com", "jane\uff20gmail.com", "email+folded"),
        ("Escríbeme a maría@dominio.com.mx", "maría@dominio.com.mx", "email"),
        ("info@münchen-immobilien.de", "info@münchen-immobilien.de", "email"),
        ("Write to patrick.o'brien@gmail.com", "patrick.o'brien@gmail.com", "email"),
        # Typeset separators inside a card or an IBAN.
        (
            "Card: 4710\u00a01901\u00a01530\u00a00057",
            "4710\u00a01901\u00a01530\u00a00057",
            "payment_card/luhn",
        ),
        (
            "IBAN FR76\u202f3000\u202f6000\u202f0112\u202f3456\u202f7890\u202f189",
            "FR76\u202f3000\u202f6000\u202f0112\u202f3456\u202f7890\u202f189",
            "iban/mod97",
        ),
        # Numbers after dialling words of other languages, an international 00, no trunk 0.
        ("Telefon: 0049 151 23456789", "0049 151 23456789", OTHER_REGION),
        ("Appelez-moi au 06 12 34 56 78", "06 12 34 56 78", OTHER_REGION),
        ("電話: 03-1234-5678", "03-1234-5678", OTHER_REGION),
        ("Phone: 98765 43210", "98765 43210", OTHER_REGION),
        ("Phone: (11) 91234-5678", "(11) 91234-5678", OTHER_REGION),
        ("Her number is 0151 23456789", "0151 23456789", OTHER_REGION),
    ],
)
def test_more_services_separators_and_dialling_words(text: str, value: str, rule: str) -> None:
    (finding,) = find_private(sample_from_row({"text": text}))
    assert (text[finding.start : finding.end], finding.rule) == (value, rule)


@pytest.mark.parametrize(
    "text",
    [
        "use the sk-learn-compatible-estimator-interface-here",
        "order no. 0123 4567 890",
        "The office has 0123456789 chairs",
        "Contact form id 1234567890",
        "my number is 42",
        "Dates 2024-01 1901 1530 0057 in a table",
        # A second look over 1.08M strings found these.
        "private_key = ed25519.Ed25519PrivateKey.from_private_bytes(secret)",
        "# First pass: decided_mask==0",
        "render_pass=gbuffer-2",
        "DB_PASSWORD: arn:aws:secretsmanager:us-east-1:123:secret:prod/db-AbCdEf",
        "password: projects/123456789/secrets/db-password/versions/latest",
        "password: env:DB_PASS",
        "pg_dump --password --username=postgres",
        "--password=file:/run/secrets/pw",
        "Authorization: Basic dXNlcjpwYXNzd29yZA==",
        "Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==",
        "curl -u neo4j:neo4j http://localhost:7474",
        "base64.b64decode('EAAA" + "A" * 60 + "')",
        "dop_v1_" + "0" * 64,
        "Reach 1 000 000 000 users by 2030",
        "Handy 1.000.000.000 verkauft",
        "We call 1000000000 a billion.",
        "mobile: 4294967295 bytes limit",
        "contact us at 2024-03-15 10:00",
        "Contact us on 02 03 2024 for the kickoff.",
        "Le total est de 4\u00a0895\u00a0631\u00a0324\u00a0463\u00a0027 habitants",
        "Population : 4 532 015 112 830 366",
        "C = A @ B.transpose()",
        "y = x @ np.linalg.inv(w)",
        "the-at-home guide to dot com history",
    ],
)
def test_look_alikes_of_the_new_forms_pass(text: str) -> None:
    assert find_private(sample_from_row({"text": text})) == []


@pytest.mark.parametrize(
    "text",
    [
        "password: the one you chose at sign-up",
        "api_key: str, the key the service issued",
        'secret_key = get_secret("name")',
        'api_key = os.environ["OPENAI_API_KEY"]',
        "SECRET_KEY=your-secret-key-here-1234",
        "Call hf_hub_download(repo_id) to fetch the weights.",
        "Send Authorization: Bearer YOUR_ACCESS_TOKEN_HERE with each call.",
        "Set the header to Bearer $GITHUB_TOKEN in CI.",
        "Bearer tokens are defined in RFC 6750; Bearer authentication_scheme_name is fixed.",
        # Password words in documentation and code: no value that looks chosen follows.
        "The password is case-sensitive.",
        "password (str): The user's password.",
        "password=None",
        "Enter your password: ********",
        "pwd: /home/user2/projects",
        "Run pwd to print the working directory.",
        "password = settings.db_pass2",
        "password = db_password_2",
        "password=$DB_PASSWORD2",
        "password: ${DB_PASS}",
        "password: <your-password>",
        "Set the password to something strong, like 12 characters or more.",
        "password is required (min 8 chars, 1 digit)",
        "Your password was changed on 2024-03-12.",
        "The passcode is 4821.",
        # Passwords prose names as examples of bad or famous ones.
        "password: hunter2",
        "Don't use password123 or P@ssw0rd as your password.",
        "The password is Tr0ub4dor&3, as in the comic.",
        "mysql://root:changeme!@localhost/app",
    ],
)
def test_unquoted_keyword_values_that_are_not_generated_pass(text: str) -> None:
    assert find_private(sample_from_row({"text": text})) == []


def test_a_bare_nine_digit_run_is_no_ssn_without_its_word() -> None:
    assert find_private(sample_from_row({"text": "Order 123456788 shipped."})) == []


@pytest.mark.parametrize(
    "text",
    [
        "The number of rows was 2147483647 at most.",
        "Call it with 4156234567 as the seed.",
        "Reach the limit of 4156234567 bytes.",
    ],
)
def test_a_bare_digit_run_is_no_phone_unless_a_dialling_word_asks_for_it(text: str) -> None:
    assert find_private(sample_from_row({"text": text})) == []


SCANNER = SecretScanner()
SECRET_PIECES = st.sampled_from(
    [
        'token = "8f14e45fceea167a5a36dedd4bea2543"',
        "key: 'deadbeefcafe0123'",
        'auth("QmFzZTY0SGlnaEVudHJvcHlTdHJpbmdIZXJlMTIz")',
        "x='Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0'",
        '"abcdef0123456789abcdef"',
        "AKIAQ7ZK2M4XN8BT5RWC",
        "ghp_0123456789abcdefghijABCDEFGHIJ012345",
        "https://user:pa55w0rd@example.net/x",
        "-----BEGIN RSA PRIVATE KEY-----",
        "export DB_PASSWORD=Xk29fLq81ZsTw0Pm",
        "\n",
        " ",
        '"',
        "'",
        "=",
        ":",
    ]
)


def _every_plugin_on_every_line(text: str) -> list[Hit]:
    """What the scanner finds with no necessary condition: every plugin on every line."""
    found: list[Hit] = []
    offset = 0
    for line in text.split("\n"):
        for plugin, _trigger in SCANNER.plugins:
            found += SCANNER._line_hits(plugin, text, line, offset, [])
        offset += len(line) + 1
    return found


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(SECRET_PIECES, st.text(max_size=12)), max_size=14))
def test_the_plugins_necessary_conditions_drop_no_finding(parts: list[str]) -> None:
    # Each plugin runs only on texts and lines that hold its words, a run as long as its
    # shortest match and, for the high-entropy ones, a quoted run of their characters.
    text = "".join(parts)
    assert sorted(SCANNER.find(text, [])) == sorted(_every_plugin_on_every_line(text))


def test_the_necessary_conditions_hold_on_documentation_with_secrets_planted() -> None:
    rng = random.Random("conditions")
    for doc in DOCS:
        planted = planting.plant(doc, "secret", rng).text
        for text in (doc, planted):
            assert sorted(SCANNER.find(text, [])) == sorted(_every_plugin_on_every_line(text))


def test_a_placeholder_word_in_mixed_case_inside_a_random_value_marks_no_example() -> None:
    body = "e5IxBdQ8B/TlsMY2JsMGcvObKnugUJq5zkqkJyI92WPBZ7Rd0tngw0INBE/7rbtI\nOnXxxXbN0ZwQs/Wu"
    key = f"-----BEGIN RSA PRIVATE KEY-----\n{body}\n-----END RSA PRIVATE KEY-----"
    token = 'password = "k9yOuRq2Lm7vX4pW1zT8"'
    for text in (key, token):
        (finding,) = find_private(sample_from_row({"text": text}))
        assert finding.kind == "secret"
    for text in ('password = "YOUR_PASSWORD_1234"', 'password = "Your-Password-1234"'):
        findings, lookalikes = DETECTOR.scan(sample_from_row({"text": text}))
        assert findings == []
        assert [f.rule for f in lookalikes] == ["secret/example-key"]
