"""Identity numbers, bank accounts and dates of birth: each form is found with the rule that
read it; the allocation rules, check digits and calendars keep what fails them out; documented
examples, test ranges and placeholder runs pass as look-alikes; numbers without the words that
name them stay numbers."""

from __future__ import annotations

import time

import pytest

from synthguard.guards.privacy import Detector, PrivacyGuard, find_private, redact
from synthguard.guards.privacy.finding import shape_of
from synthguard.guards.privacy.identity import find_identities
from synthguard.provenance.sample import sample_from_row

DETECTOR = Detector()
BANK = "bank_account+keyword"


@pytest.mark.parametrize(
    ("text", "value", "rule"),
    [
        ("Her National Insurance number is JK 45 67 89 B.", "JK 45 67 89 B", "id_number/uk-nino"),
        ("NINO: JK456789B", "JK456789B", "id_number/uk-nino"),
        ("NHS number: 401 023 2137 is on file.", "401 023 2137", "id_number/uk-nhs+keyword"),
        ("His NHS No. 4010232137 was read out.", "4010232137", "id_number/uk-nhs+keyword"),
        ("Passport No.: X12345678, issued 2019.", "X12345678", "id_number/passport+keyword"),
        ("her passport number is 548921367", "548921367", "id_number/passport+keyword"),
        (
            "Driver's license number D1234-5678-9012 expires soon.",
            "D1234-5678-9012",
            "id_number/driving-licence+keyword",
        ),
        (
            "driving licence: MORGA753116SM9IJ",
            "MORGA753116SM9IJ",
            "id_number/driving-licence+keyword",
        ),
        ("DL# A1234567", "A1234567", "id_number/driving-licence+keyword"),
        ("MRN 00482913 admitted at noon.", "00482913", "id_number/medical-record+keyword"),
        ("Patient ID: AB-1234567", "AB-1234567", "id_number/medical-record+keyword"),
        ("medical record number 7730021", "7730021", "id_number/medical-record+keyword"),
        ("ITIN 912-78-1234 for the return", "912-78-1234", "id_number/us-itin"),
        ("her ITIN is 912781234.", "912781234", "id_number/us-itin+keyword"),
        ("Date of birth: 12/03/1984", "12/03/1984", "date_of_birth+keyword"),
        ("DOB 1984-03-12", "1984-03-12", "date_of_birth+keyword"),
        ("d.o.b. 3 March 1984", "3 March 1984", "date_of_birth+keyword"),
        ("Birth date: March 12, 1984.", "March 12, 1984", "date_of_birth+keyword"),
        ("DOB: Sept. 3, 1984", "Sept. 3, 1984", "date_of_birth+keyword"),
        ("Her birthday is 3 March 1990.", "3 March 1990", "date_of_birth+keyword"),
        ("born 12/03/1984 in Leeds", "12/03/1984", "date_of_birth+keyword"),
        ("date of birth 31.12.84", "31.12.84", "date_of_birth+keyword"),
        ("My account number is 4839201746.", "4839201746", BANK),
        ("acct # 00482913377", "00482913377", BANK),
        ("Bank account: 4839-2017-4612", "4839-2017-4612", BANK),
        ("Sort code 20-00-00, account number 73619284.", "73619284", BANK),
        ("Please deposit to checking account 391827465501.", "391827465501", BANK),
        ("a/c no. 48392017", "48392017", BANK),
        ("Wire it to routing number 026009593, account 4839201746.", "4839201746", BANK),
    ],
)
def test_each_form_is_found_with_its_rule(text: str, value: str, rule: str) -> None:
    (finding,) = find_private(sample_from_row({"text": text}))
    assert (text[finding.start : finding.end], finding.rule) == (value, rule)
    assert value.replace(" ", "") not in finding.preview


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("Fill in your NI number, e.g. AB 12 34 56 C.", "id_number/example"),
        ("The guidance shows NHS number 943 476 5919.", "id_number/example"),
        ("A test patient has NHS number 999 000 0018.", "id_number/test-range"),
        ("account number: 12345678", "bank_account/placeholder-digits"),
        ("acct 0000000000", "bank_account/placeholder-digits"),
    ],
)
def test_examples_and_test_ranges_pass_and_say_why(text: str, rule: str) -> None:
    findings, lookalikes = DETECTOR.scan(sample_from_row({"text": text}))
    assert findings == []
    assert [f.rule for f in lookalikes] == [rule]


@pytest.mark.parametrize(
    "text",
    [
        # Prefixes never allocated, letters never used, lower case (identifiers in code).
        "GB 12 34 56 A and TN123456B and QQ123456C and DA123456A",
        "ab123456c is a variable name",
        "JK 4567 89 B",  # groups spaced unevenly
        "JK123456E",  # no such suffix
        # NHS numbers whose check digit fails, or that no word names.
        "NHS number 401 023 2138",
        "Call 401 023 2137 after six.",
        # Numbers near the words but not named by them.
        "patients 12345 visited",
        "the passport office opened in 1234567",
        "Apache License, Version 2.0 12345",
        "The DL model handles 100000 rows",
        # Dates that are no days, a year alone, and how biographies write birth dates.
        "date of birth: 31/02/1984",
        "DOB 1984-13-01",
        "born in 1984 to 12 others",
        "Born on 10 December 1815, Ada Lovelace wrote the first program.",
        "adobe 12/03/1984",
        # The SSN shape in the IRS's area, outside the ITIN groups.
        "Form 912-34-5678 and 999-89-1234",
        # Accounts that are no bank's, counts, and numbers too short to be an account.
        "The account number must be 8 to 17 digits.",
        "Account 42 was closed.",
        "Your account has 12345678 bytes of storage.",
        "user account 48392017 logged in",
        "She opened a savings account in 1998 and 2004.",
        "account for 12345678 rows",
        "The AWS account 483920174612 owns the bucket.",
        "acct_id = 48392017",
        "account number 4839201",
    ],
)
def test_what_fails_the_rules_is_not_found(text: str) -> None:
    assert find_private(sample_from_row({"text": text})) == []


def test_an_nhs_number_is_an_identity_number_not_a_phone_number() -> None:
    text = "NHS number 401 023 2137, phone +44 20 7123 4567."
    kinds = [f.kind for f in find_private(sample_from_row({"text": text}), region="GB")]
    assert kinds == ["id_number", "phone"]


def test_redaction_names_the_new_kinds() -> None:
    sample = sample_from_row({"text": "DOB 1984-03-12, passport X12345678, acct 4839201746."})
    guard = PrivacyGuard()
    clean = redact(sample, guard.findings_of(guard.check([sample])))
    assert clean.content["text"] == (
        "DOB [DATE_OF_BIRTH], passport [ID_NUMBER], acct [BANK_ACCOUNT]."
    )


@pytest.mark.parametrize(
    "row",
    [
        "passport no " * 20_000,
        "date of birth: 12/" * 20_000,
        "NHS number is " * 20_000 + "401 023 2137",
        "AB 12 34 56 " * 20_000,
        "routing number 1 " * 20_000 + "account 4839201746",
        "bank account " * 20_000,
    ],
)
def test_a_hostile_row_costs_a_linear_scan(row: str) -> None:
    start = time.process_time()
    list(find_identities(row, [], shape_of(row), row.lower()))
    assert time.process_time() - start < 5.0
