"""Privacy and secrets screening: personal data and credentials in samples, and redaction.

Kinds (`KINDS`): e-mail addresses, phone numbers (libphonenumber, region configurable), global
IPv4/IPv6 addresses, IBANs (mod 97), payment card numbers (IIN scheme and Luhn), US SSNs (issued
area/group/serial), identity numbers (ITINs, UK National Insurance and NHS numbers; passport,
driving licence and medical record numbers after their words), dates of birth after their
words, street addresses and post office boxes, and secrets (Yelp's detect-secrets plugins).
Look-alikes pass and are named with the rule that let them pass: reserved example domains,
documentation IP ranges, published test cards, vendors' example keys, version strings, UUIDs,
ISBNs and hex digests, public and fictional addresses.

    from synthguard.guards.privacy import PrivacyGuard, redact
    from synthguard.provenance.sample import sample_from_row

    sample = sample_from_row({"text": "Mail jane.doe@gmail.com, not ops@example.com."})
    guard = PrivacyGuard(region="US")
    verdicts = guard.check([sample])        # one failing verdict: rule "email", score 1.0
    clean = redact(sample, guard.findings_of(verdicts))
    clean.content["text"]                   # "Mail [EMAIL], not ops@example.com."

Inside: `finding` (kinds, placeholders, findings), `detect` (every detector over a sample),
`contact` (e-mail, phone), `network` (IP), `financial` (IBAN, card), `ssn` (and ITIN),
`identity` (identity numbers, dates of birth), `address` (street addresses), `credentials`
(detect-secrets), `lookalikes` (what passes and why), `redaction`, `guard`.
"""

from synthguard.guards.privacy.detect import Detector, find_private
from synthguard.guards.privacy.finding import KINDS, PLACEHOLDERS, Finding
from synthguard.guards.privacy.guard import PrivacyGuard
from synthguard.guards.privacy.redaction import redact

__all__ = [
    "KINDS",
    "PLACEHOLDERS",
    "Detector",
    "Finding",
    "PrivacyGuard",
    "find_private",
    "redact",
]
