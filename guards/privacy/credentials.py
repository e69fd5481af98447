"""Secrets through Yelp's detect-secrets plugins, called as a library on each line.

The plugins are detect-secrets' own (cloud and SaaS keys, tokens, private key blocks, JWTs,
basic-auth URLs, keyword assignments such as `password = "..."`, and, when `entropy` is on,
high-entropy quoted strings), each asked for the values it sees in a line through
`analyze_string`; a regex detector's own expressions then give each value's span (`_spans`),
the others' values are found in the line. Nothing is verified over the network. Its
IPPublicDetector is left out: `network` judges addresses. Written here in its plugin form, for
what detect-secrets 1.5 lacks: Hugging Face tokens, OpenAI's `sk-proj-` keys, Anthropic and
Google API keys, and keyword assignments without quotes (`export DB_PASSWORD=...`) whose value
looks generated (`UnquotedKeywordDetector`).

Scanning every line with every plugin costs ~25 regular expressions per line, so each plugin
has a cheap necessary condition (`TRIGGERS`: substrings its expressions cannot match without,
the shortest whitespace-free run a match holds, and for the high-entropy plugins a quoted run of
their characters that long); only a triggered plugin runs, only on lines that meet it too (a
test compares the findings with every plugin run on every line). A high-entropy value counts
only where an assignment or an argument (`=`, `:`, `=>`, `(` or `,`) comes right before its
opening quote: the issue's "in assignment context", and what keeps quoted words in prose from
counting.

Look-alikes: the heuristic filters detect-secrets applies by default (sequential strings,
UUIDs, `{templated}` and `$referenced` values, indirect references such as `key = get_key()`
but never a quoted literal, values with no letter, id-like keys), vendors' documented example
keys and values containing a placeholder word (`lookalikes`), and, except after a secret
keyword, hex digests. A private key block is one finding, from its BEGIN line to its END line,
and a look-alike when its body is elided ("...") or a placeholder.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any, Final

from detect_secrets.filters import heuristic
from detect_secrets.plugins.artifactory import ArtifactoryDetector
from detect_secrets.plugins.aws import AWSKeyDetector
from detect_secrets.plugins.azure_storage_key import AzureStorageKeyDetector
from detect_secrets.plugins.base import BasePlugin, RegexBasedDetector
from detect_secrets.plugins.basic_auth import BasicAuthDetector
from detect_secrets.plugins.cloudant import CloudantDetector
from detect_secrets.plugins.discord import DiscordBotTokenDetector
from detect_secrets.plugins.github_token import GitHubTokenDetector
from detect_secrets.plugins.gitlab_token import GitLabTokenDetector
from detect_secrets.plugins.high_entropy_strings import (
    Base64HighEntropyString,
    HexHighEntropyString,
    HighEntropyStringsPlugin,
)
from detect_secrets.plugins.ibm_cloud_iam import IbmCloudIamDetector
from detect_secrets.plugins.ibm_cos_hmac import IbmCosHmacDetector
from detect_secrets.plugins.jwt import JwtTokenDetector
from detect_secrets.plugins.keyword import (
    CONFIG_DENYLIST_REGEX_TO_GROUP,
    DENYLIST,
    KeywordDetector,
)
from detect_secrets.plugins.mailchimp import MailchimpDetector
from detect_secrets.plugins.npm import NpmDetector
from detect_secrets.plugins.openai import OpenAIDetector
from detect_secrets.plugins.private_key import PrivateKeyDetector
from detect_secrets.plugins.pypi_token import PypiTokenDetector
from detect_secrets.plugins.sendgrid import SendGridDetector
from detect_secrets.plugins.slack import SlackDetector
from detect_secrets.plugins.softlayer import SoftlayerDetector
from detect_secrets.plugins.square_oauth import SquareOAuthDetector
from detect_secrets.plugins.stripe import StripeDetector
from detect_secrets.plugins.telegram_token import TelegramBotTokenDetector
from detect_secrets.plugins.twilio import TwilioKeyDetector

from synthguard.guards.privacy.finding import Hit, judged, mask
from synthguard.guards.privacy.lookalikes import Inert, covering, inside, is_placeholder

ENTROPY_RULES: Final = {
    "Base64HighEntropyString": "secret/high-entropy",
    "HexHighEntropyString": "secret/high-entropy-hex",
}
GENERIC_RULES: Final = frozenset(
    {
        *ENTROPY_RULES.values(),
        "secret/KeywordDetector",
        "secret/UnquotedKeywordDetector",
        "secret/PasswordInProseDetector",
        "secret/AssignedCredentialDetector",
        "secret/AuthorizationHeaderDetector",
    }
)
"""Rules that say only "something secret-shaped": where a vendor's detector finds the same
span, its rule names the finding."""
BY_PLACE_RULES: Final = frozenset(
    {"secret/AssignedCredentialDetector", "secret/AuthorizationHeaderDetector"}
)
"""Generic rules that say only "a credential stands here": where another generic rule finds
the same span, the other names the finding."""

_ASSIGNMENTS = ("key", "pwd", "pass", "token")
_QUOTES = ('"', "'", "`")
_ASSIGNERS = ("=", ":", "(", ",")


def _prefixed(*prefixes: str) -> tuple[str, ...]:
    """What an assignment expression `<prefix>(_|-|)(api|)(key|pwd|pass...)` must contain."""
    joins = ("_", "-", "api", "key", "pwd", "pass", "token")
    return tuple(prefix + join for prefix in prefixes for join in joins)


class HuggingFaceTokenDetector(RegexBasedDetector):
    """Hugging Face access tokens (`hf_` and 34 letters), which detect-secrets 1.5 lacks."""

    secret_type = "Hugging Face Token"
    denylist = (re.compile(r"(?<![A-Za-z0-9_])hf_[A-Za-z]{34}(?![A-Za-z0-9_])"),)


class OpenAIProjectKeyDetector(RegexBasedDetector):
    """OpenAI's project, service-account and admin keys (`sk-proj-...`): detect-secrets 1.5
    knows only the older `sk-...T3BlbkFJ...` form."""

    secret_type = "OpenAI Project Key"
    denylist = (re.compile(r"(?<![A-Za-z0-9_-])sk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{40,}"),)


class AnthropicKeyDetector(RegexBasedDetector):
    """Anthropic API and admin keys (`sk-ant-api03-...`)."""

    secret_type = "Anthropic Key"
    denylist = (re.compile(r"(?<![A-Za-z0-9_-])sk-ant-(?:api|admin)\d{2}-[A-Za-z0-9_-]{80,}"),)


class GoogleApiKeyDetector(RegexBasedDetector):
    """Google API keys (`AIza` and 35 characters)."""

    secret_type = "Google API Key"
    denylist = (re.compile(r"(?<![A-Za-z0-9_-])AIza[0-9A-Za-z_-]{35}(?![A-Za-z0-9_-])"),)


class NpmAccessTokenDetector(RegexBasedDetector):
    """npm access tokens (`npm_` and 36 letters and digits) wherever they stand:
    detect-secrets 1.5 reads them only in an `.npmrc` line's `_authToken=`."""

    secret_type = "npm Access Token"
    denylist = (re.compile(r"(?<![A-Za-z0-9_])npm_[A-Za-z0-9]{36}(?![A-Za-z0-9_])"),)


class GitHubFineGrainedTokenDetector(RegexBasedDetector):
    """GitHub's fine-grained personal access tokens (`github_pat_...`), which detect-secrets
    1.5 lacks."""

    secret_type = "GitHub Fine-Grained Token"
    denylist = (re.compile(r"(?<![A-Za-z0-9_])github_pat_[A-Za-z0-9_]{60,}(?![A-Za-z0-9_])"),)


class ProviderTokenDetector(RegexBasedDetector):
    """Token formats of services detect-secrets 1.5 does not know, each by its documented
    prefix and length: DigitalOcean (`dop_v1_`, `doo_v1_`, `dor_v1_`), Shopify (`shpat_`,
    `shpss_`, `shpca_`, `shppa_`), Stripe test, restricted and webhook keys (`sk_test_`,
    `rk_live_`, `rk_test_`, `whsec_`), Slack app-level tokens (`xapp-`), Google OAuth access
    tokens and client secrets (`ya29.`, `GOCSPX-`), Square access tokens (`sq0atp-`, `EAAA`),
    Replicate (`r8_`), Groq (`gsk_`), and keys of the `sk-` form that OpenAI-compatible APIs
    issue (`sk-` and 32 letters and digits or more: DeepSeek, older OpenAI keys), which count
    when they look generated."""

    secret_type = "Provider Token"
    denylist = (
        re.compile(r"(?<![A-Za-z0-9_])do[opr]_v1_[a-f0-9]{64}(?![A-Za-z0-9_])"),
        re.compile(r"(?<![A-Za-z0-9_])shp(?:at|ss|ca|pa)_[a-fA-F0-9]{32}(?![A-Za-z0-9_])"),
        re.compile(r"(?<![A-Za-z0-9_])(?:sk_test|rk_live|rk_test)_[0-9A-Za-z]{24,}"),
        re.compile(r"(?<![A-Za-z0-9_])whsec_[0-9A-Za-z+/=]{32,}"),
        re.compile(r"(?<![A-Za-z0-9_-])xapp-\d-[A-Z0-9]+-\d+-[a-f0-9]{32,}"),
        re.compile(r"(?<![A-Za-z0-9_.])ya29\.[0-9A-Za-z_-]{30,}"),
        re.compile(r"(?<![A-Za-z0-9_-])GOCSPX-[0-9A-Za-z_-]{28}(?![A-Za-z0-9_-])"),
        re.compile(r"(?<![A-Za-z0-9_-])sq0atp-[0-9A-Za-z_-]{22}(?![A-Za-z0-9_-])"),
        re.compile(r"(?<![A-Za-z0-9_-])EAAA[0-9A-Za-z_-]{60}(?![A-Za-z0-9_-])"),
        re.compile(r"(?<![A-Za-z0-9_])r8_[0-9A-Za-z]{37}(?![A-Za-z0-9_])"),
        re.compile(r"(?<![A-Za-z0-9_])gsk_[0-9A-Za-z]{52}(?![A-Za-z0-9_])"),
        re.compile(r"(?<![A-Za-z0-9_-])sk-[0-9A-Za-z]{32,}(?![A-Za-z0-9_-])"),
    )

    def analyze_string(self, string: str) -> Generator[str, None, None]:
        """The tokens; an `sk-` key only when its body looks generated."""
        for value in super().analyze_string(string):
            body = value.rsplit("_", 1)[-1].rsplit("-", 1)[-1].rsplit(".", 1)[-1]
            if len(set(body)) < _MIN_DISTINCT:
                continue  # a run of one character or two: a placeholder ("dop_v1_000...")
            if not value.startswith("sk-") or _looks_generated(value[3:]):
                yield value


_MIN_DISTINCT = 6


class BearerTokenDetector(RegexBasedDetector):
    """The token of an HTTP `Authorization: Bearer ...` header (or "bearer token ..."), when it
    looks generated (as `UnquotedKeywordDetector` judges): a credential by where it stands,
    whatever its format."""

    secret_type = "Bearer Token"
    denylist = (
        re.compile(r"\b(?i:bearer)\s+(?:(?i:token)\s*[:=]?\s*)?['\"]?([A-Za-z0-9._~+/-]{16,}=*)"),
    )

    def analyze_string(self, string: str) -> Generator[str, None, None]:
        """The tokens after "Bearer" that look generated."""
        for value in super().analyze_string(string):
            if _looks_generated(value):
                yield value


class UrlPasswordDetector(RegexBasedDetector):
    """The password of a URL's user information when it holds one of RFC 3986's
    sub-delimiters (`!$&'()*+,;=`), which the RFC allows there and detect-secrets' expression
    refuses (`mysql://root:pr0dP4ss!@db/app`); the rest are BasicAuthDetector's."""

    secret_type = "URL Password"
    denylist = (re.compile(r"://[^\s:/?#\[\]@{}]+:([^\s:/?#\[\]@{}]+)@"),)

    def analyze_string(self, string: str) -> Generator[str, None, None]:
        """The passwords that hold a sub-delimiter."""
        for value in super().analyze_string(string):
            if any(c in value for c in _SUB_DELIMITERS):
                yield value


_SUB_DELIMITERS: Final = "!$&'()*+,;="


class PasswordInProseDetector(RegexBasedDetector):
    """A password given in words rather than assigned in code: "my password is Gq7!rTz2#Wn",
    "password: Xk9#mQ2v!Lp7", "login with password Vb3$kLq9Zx" (and `passwd`, `passphrase`,
    `passcode`, `pwd`, German, French, Spanish and Portuguese words). The value is the one token
    right after the word (and up to four words such as "is", "was set to", or a colon or an
    equals sign); it counts
    when it holds a letter and a digit or a symbol and nothing code is made of: no brackets,
    quotes or angle brackets, no path (`pwd: /home/ann`), no dotted or snake_case identifier
    (`password=settings.db_pass`), 6 to 64 characters. So "the password is case-sensitive",
    "password: str" and "password (str): ..." stay unflagged."""

    secret_type = "Password In Prose"
    denylist = (
        re.compile(
            r"(?<![\w-])(?i:password|passwd|passphrase|passcode|pwd|passwort|kennwort"
            r"|mot de passe|contrase(?:ñ|n)a|senha)(?![\w-])"
            r"(?:\s*[:=]\s*|\s+(?:(?i:is|was|will|would|should|be|has|been|now|still|set"
            r"|changed|reset|updated|to|ist|est|es|é)\s+){0,4}:?\s*)"
            r"([^\s\"'`<>()\[\]{}]{5,63}[^\s\"'`<>()\[\]{}.,;:?])"
        ),
    )

    def analyze_string(self, string: str) -> Generator[str, None, None]:
        """The values that look like passwords (see the class)."""
        for value in super().analyze_string(string):
            if _looks_like_password(value):
                yield value


class AssignedCredentialDetector(RegexBasedDetector):
    """An unquoted value assigned to a name that says it is a credential, as environment
    files, YAML, HTTP headers and query strings write them: `DB_PASSWORD=...`,
    `MYSQL_ROOT_PASSWORD: ...`, `export GITHUB_TOKEN=...`, `X-Api-Key: ...`,
    `?access_token=...` (a colon right after the name, as YAML and headers write it: prose's
    "pass :ref:`...`" is no assignment). The name is a word of letters and digits joined by `_`
    or `-` whose last part is a credential word (`token`, `secret`, `password`, `passwd`,
    `pass`, `pwd`, `passphrase`, `apikey`, or `api`/`access`/`auth`/`secret`/`private`/`client`
    + `key`), a number after it at most: so `tokenizer=`, `sort_key=`, `secret_name:` and
    `password_hash=` do not count, nor `max_tokens=1024` (no letter in its value). A value
    after a password word counts as `PasswordInProseDetector` judges one (6 characters or more,
    a letter and a digit or symbol, no path, no code name); after the others as
    `UnquotedKeywordDetector` does (`_looks_generated`: 16 characters or more, letters and
    digits, high entropy), so `token: str` and `api_key: ${API_KEY}` stay unflagged."""

    secret_type = "Assigned Credential"
    denylist = (
        re.compile(
            r"(?<![\w.-])(?:[A-Za-z0-9]+[_-])*?"
            r"(?i:(?:api|access|auth|secret|private|client)[_-]?key|apikey|token|secret"
            r"|pass(?:word|wd|phrase)?|pwd)(?:[_-]?[0-9]+)?(?::|[ \t]*=)[ \t]*"
            r"(?!['\"`])([^\s\"'`<>()\[\]{},;&#]{5,}[^\s\"'`<>()\[\]{},;&#.:])"
        ),
    )

    def analyze_string(self, string: str) -> Generator[str, None, None]:
        """The values that look like credentials for their name (see the class)."""
        for match in self.denylist[0].finditer(string):
            value = match.group(1)
            if _CALLED.match(string, match.end()):
                continue  # a call or an attribute: `private_key = Key.generate()`
            name = string[match.start() : match.start(1)]
            if _BARE_PASS.search(name) and not name.isupper():
                continue  # "render_pass=", "First pass:": `pass` names a password in capitals
            if _PASSWORD_NAME.search(match.group(), 0, match.start(1) - match.start()):
                if len(value) <= 64 and _looks_like_password(value):
                    yield value
            elif _looks_generated(value):
                yield value


# A value that says where a secret is kept: `arn:aws:secretsmanager:...`, `env:DB_PASS`,
# `file:/run/secrets/pw`, `vault:...`, `!vault`, `${...}`.
_SECRET_REFERENCE = re.compile(
    r"(?:arn|env|file|vault|secret|secrets|ref|op|gcp|azure|aws|ssm|k8s|sops|awskms|pass)[:+]"
    r"|!\w|\$",
    re.IGNORECASE,
)


_CALLED = re.compile(r"\(|\.\w")


_BARE_PASS = re.compile(r"(?i:(?<![a-z])pass)(?:[_-]?[0-9]+)?(?::|[ \t]*=)")
_PASSWORD_NAME = re.compile(r"(?i:pass(?:word|wd|phrase)?|pwd)(?:[_-]?[0-9]+)?(?::|[ \t]*=)[ \t]*$")


class AuthorizationHeaderDetector(RegexBasedDetector):
    """The credentials of an HTTP `Authorization` header of any scheme but Bearer (which
    `BearerTokenDetector` reads): `Authorization: Basic <base64 of user:password>` counts when
    it decodes to a user and a password, `Authorization: Token ...` (and any other scheme, or
    none) when its value looks generated; and a password given to curl or wget on the command
    line (`curl -u admin:...`, `--user`, `--password=`), judged as a password in prose is."""

    secret_type = "Authorization Header"
    denylist = (
        re.compile(
            r"\b(?i:authorization)['\"]?\s*[:=]\s*['\"]?(?!(?i:bearer)\b)"
            r"(?:((?i:basic))\s+([A-Za-z0-9+/]{4,}={0,2})|(?:[A-Za-z-]+\s+)?([A-Za-z0-9._~+/-]{16,}=*))"
        ),
        re.compile(
            r"(?:^|\s)(?:-u|--user|--http-user|--proxy-user)(?:\s+|=)['\"]?(?:[^\s:'\"]+):"
            r"([^\s'\"]+)|(?:^|\s)--(?:http-|ftp-)?password(?:\s+|=)['\"]?(?!-)([^\s'\"]+)"
        ),
    )

    def analyze_string(self, string: str) -> Generator[str, None, None]:
        """The header's credential or the command line's password (see the class)."""
        for match in self.denylist[0].finditer(string):
            basic, encoded, token = match.group(1, 2, 3)
            if basic and _basic_credentials(encoded):
                yield encoded
            elif token and _looks_generated(token):
                yield token
        for match in self.denylist[1].finditer(string):
            password = match.group(1) or match.group(2)
            user = (
                match.group().split(":", 1)[0].split()[-1].lstrip("'\"=") if match.group(1) else ""
            )
            if (
                _looks_like_password(password)
                and 6 <= len(password) <= 64
                and password != user  # a product's documented default login: neo4j:neo4j
            ):
                yield password


def _basic_credentials(encoded: str) -> bool:
    """Whether a Basic header's value decodes to `user:password` with a password."""
    try:
        decoded = base64.b64decode(encoded, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return False
    _user, colon, password = decoded.partition(":")
    # RFC 7617's own example ("Aladdin:open sesame") and "user:password" are illustrations.
    if password.casefold() in ("open sesame", "password") or is_placeholder(password):
        return False
    return bool(colon and password and password.isprintable())


_CODE_NAME = re.compile(
    r"[A-Za-z_]\w*(?:\.\w+)+|[a-z][a-z0-9]*(?:_[a-z0-9]+)+|[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+"
)


_WORDS_OR_WORDS = re.compile(r"[^\W\d_]+(?:/[^\W\d_]+)+")


def _looks_like_password(value: str) -> bool:
    if not any(c.isalpha() for c in value):
        return False
    if not any(c.isdigit() or (not c.isalnum() and c not in "-_.") for c in value):
        return False
    if value[0] in "/~\\$%" or value.startswith(("./", "../")) or "://" in value:
        return False
    if _WORDS_OR_WORDS.fullmatch(value):
        return False  # "password and/or PIN", "read/write"
    return _CODE_NAME.fullmatch(value) is None


class UnquotedKeywordDetector(KeywordDetector):
    """detect-secrets' keyword plugin read as it reads config files (`api_key: value`,
    `DB_PASSWORD=value`, unquoted), keeping only values that look generated: one token of
    `UNQUOTED_MIN_LENGTH` characters or more, letters and digits, Shannon entropy over
    `UNQUOTED_MIN_ENTROPY` bits per character. Without a file type the plugin reads quoted values
    only, and a leaked `export OPENAI_API_KEY=sk-...` line has none; prose such as "password:
    the one you chose" or a signature's "api_key: str" stays unflagged."""

    def analyze_string(
        self, string: str, denylist_regex_to_group: dict[re.Pattern[Any], int] | None = None
    ) -> Generator[str, None, None]:
        """The unquoted values assigned to a secret's keyword that look generated (always by
        the config-file expressions: `denylist_regex_to_group` is there for the signature)."""
        for value in super().analyze_string(string, CONFIG_DENYLIST_REGEX_TO_GROUP):
            if _looks_generated(value):
                yield value


UNQUOTED_MIN_LENGTH: Final = 16
UNQUOTED_MIN_ENTROPY: Final = 3.5


def _looks_generated(value: str) -> bool:
    if len(value) < UNQUOTED_MIN_LENGTH or any(c.isspace() for c in value):
        return False
    if not (any(c.isdigit() for c in value) and any(c.isalpha() for c in value)):
        return False
    counts = [value.count(c) for c in set(value)]
    entropy = -sum(n / len(value) * math.log2(n / len(value)) for n in counts)
    return entropy > UNQUOTED_MIN_ENTROPY


@dataclass(frozen=True, slots=True)
class Trigger:
    """A necessary condition for a plugin to match a line: a whitespace-free run of at least
    `shortest` characters (the shortest match its expressions allow), one of `words` (in lower
    case when `lowered`), one of `also` when given, a match of `pattern` when given, and, in an
    ASCII line, a match of `ascii_lowered` in its lower case when given."""

    words: tuple[str, ...]
    shortest: int = 0
    lowered: bool = False
    also: tuple[str, ...] = ()
    pattern: re.Pattern[str] | None = None
    ascii_lowered: re.Pattern[str] | None = None

    def fires(self, text: str, lowered: str) -> bool:
        """Whether the plugin could match in `text` (`lowered` is `text.lower()`)."""
        haystack = lowered if self.lowered else text
        for word in self.words:
            if word in haystack:
                break
        else:
            return False
        if self.also:
            for word in self.also:
                if word in text:
                    break
            else:
                return False
        if self.pattern is not None and self.pattern.search(text) is None:
            return False
        return (
            self.ascii_lowered is None
            or not text.isascii()
            or self.ascii_lowered.search(lowered) is not None
        )


def _quoted_run(plugin: HighEntropyStringsPlugin, shortest: int) -> re.Pattern[str]:
    """What a high-entropy plugin's value needs: `shortest` or more of its characters between
    two like quotes (its own expression with a length), where a quote alone fires in most
    lines of prose and code."""
    charset = re.escape(plugin.charset)
    return re.compile(rf"(['\"])[{charset}]{{{shortest},}}\1")


# Every expression of the keyword plugins (quoted and config-file) holds one of detect-secrets'
# keywords (`api_?key`, `password`, `secret`, ...), most of them case-insensitively: one search
# for those instead of five expressions on each line that holds "key" or "pass". Its keywords
# are in lower case, and in an ASCII string a case-insensitive match is one in the lower case;
# elsewhere (a dotless i or a long s matches `i` or `s` case-insensitively) it is not asked.
_DENYLISTED: Final = re.compile("|".join(DENYLIST))


TRIGGERS: Final[dict[type[BasePlugin], Trigger]] = {
    ArtifactoryDetector: Trigger(("AKC", "AP"), 11),
    AWSKeyDetector: Trigger(("a3t", "abia", "acca", "akia", "asia", "aws"), 20, True),
    AzureStorageKeyDetector: Trigger(("AccountKey=",), 99),
    BasicAuthDetector: Trigger(("://",), 7, also=("@",)),
    CloudantDetector: Trigger(_prefixed("cl", "clou"), 24, True),
    DiscordBotTokenDetector: Trigger((".",), 59),
    GitHubTokenDetector: Trigger(("ghp_", "gho_", "ghu_", "ghs_", "ghr_"), 40),
    GitLabTokenDetector: Trigger(
        (
            *("glpat-", "gldt-", "glft-", "glsoat-", "glrt-", "GR1348941"),
            *("glcbt-", "glimt-", "glptt-", "glagent-", "gloas-"),
        ),
        25,
    ),
    IbmCloudIamDetector: Trigger(_ASSIGNMENTS, 44, True),
    IbmCosHmacDetector: Trigger(("secret",), 48, True),
    # The plugin keeps formally valid tokens only: a JSON header, at least '{"a":1}' encoded.
    JwtTokenDetector: Trigger(("eyJ",), 12),
    # Without a file type the keyword plugin reads only quoted values.
    KeywordDetector: Trigger(
        ("key", "pass", "pwd", "secret", "contrase"), 0, True, _QUOTES, ascii_lowered=_DENYLISTED
    ),
    UnquotedKeywordDetector: Trigger(
        ("key", "pass", "pwd", "secret", "contrase"),
        UNQUOTED_MIN_LENGTH,
        True,
        ("=", ":"),
        ascii_lowered=_DENYLISTED,
    ),
    MailchimpDetector: Trigger(("-us",), 36),
    NpmDetector: Trigger(("_authToken",), 16),
    OpenAIDetector: Trigger(("T3BlbkFJ",), 51),
    PrivateKeyDetector: Trigger(("PRIVATE KEY", "PuTTY-User-Key-File-2")),
    PypiTokenDetector: Trigger(("pypi-",), 90),
    SendGridDetector: Trigger(("SG.",), 69),
    SlackDetector: Trigger(("xox", "hooks.slack.com"), 8),
    SoftlayerDetector: Trigger(_prefixed("sl", "softlayer"), 64, True),
    SquareOAuthDetector: Trigger(("sq0csp-",), 50),
    StripeDetector: Trigger(("k_live_",), 32),
    TelegramBotTokenDetector: Trigger((":",), 44),
    TwilioKeyDetector: Trigger(("AC", "SK"), 34),
    # Vendors' token formats written here as detect-secrets plugins, for what 1.5 lacks.
    HuggingFaceTokenDetector: Trigger(("hf_",), 37),
    OpenAIProjectKeyDetector: Trigger(("sk-proj-", "sk-svcacct-", "sk-admin-"), 48),
    AnthropicKeyDetector: Trigger(("sk-ant-",), 93),
    GoogleApiKeyDetector: Trigger(("AIza",), 39),
    NpmAccessTokenDetector: Trigger(("npm_",), 40),
    GitHubFineGrainedTokenDetector: Trigger(("github_pat_",), 71),
    ProviderTokenDetector: Trigger(
        (
            *("dop_v1_", "doo_v1_", "dor_v1_", "shpat_", "shpss_", "shpca_", "shppa_"),
            *("sk_test_", "rk_live_", "rk_test_", "whsec_", "xapp-", "ya29.", "GOCSPX-"),
            *("sq0atp-", "EAAA", "r8_", "gsk_", "sk-"),
        ),
        28,
    ),
    BearerTokenDetector: Trigger(("bearer",), 16, True),
    AssignedCredentialDetector: Trigger(
        ("key", "token", "secret", "pass", "pwd"), 7, True, ("=", ":")
    ),
    AuthorizationHeaderDetector: Trigger(
        ("authorization", "-u", "--user", "password", "-user"), 6, True
    ),
    UrlPasswordDetector: Trigger(("://",), 7, also=("@",)),
    PasswordInProseDetector: Trigger(("pass", "pwd", "kennwort", "contrase", "senha"), 6, True),
    # Shannon entropy is at most log2(length): 4.5 bits needs 23 characters, 3.0 needs 9.
    Base64HighEntropyString: Trigger(
        _QUOTES, 23, also=_ASSIGNERS, pattern=_quoted_run(Base64HighEntropyString(), 23)
    ),
    HexHighEntropyString: Trigger(
        _QUOTES, 9, also=_ASSIGNERS, pattern=_quoted_run(HexHighEntropyString(), 9)
    ),
}
"""Every plugin the guard runs, with its necessary condition."""

# detect-secrets' default heuristic filters, by the name a look-alike's rule carries.
FILTERS: Final[tuple[tuple[str, Callable[[str, str, BasePlugin], bool]], ...]] = (
    ("sequential", lambda secret, _line, _plugin: is_sequential(secret)),
    ("uuid", lambda secret, _line, _plugin: heuristic.is_potential_uuid(secret)),
    ("templated", lambda secret, _line, _plugin: heuristic.is_templated_secret(secret)),
    ("dollar-reference", lambda s, _line, _plugin: heuristic.is_prefixed_with_dollar_sign(s)),
    ("indirect-reference", lambda _secret, line, _plugin: is_indirect_reference(line)),
    ("no-letter", lambda secret, _line, _plugin: heuristic.is_not_alphanumeric_string(secret)),
    ("id-string", heuristic.is_likely_id_string),
    ("secret-reference", lambda secret, _line, plugin: refers_to_store(secret, plugin)),
)


def is_sequential(value: str) -> bool:
    """detect-secrets' sequential strings, and any string made almost wholly of runs of
    consecutive characters: an alphabet written out ("ABC...XYZabc...xyz0123456789_" in a
    docstring about case conversion), which its fixed list of alphabets misses by one character."""
    if heuristic.is_sequential_string(value):
        return True
    in_runs, run = 0, 1
    for before, char in pairwise(value):
        if ord(char) == ord(before) + 1:
            run += 1
            continue
        in_runs += run if run >= _SEQUENTIAL_RUN else 0
        run = 1
    in_runs += run if run >= _SEQUENTIAL_RUN else 0
    return in_runs >= _SEQUENTIAL_SHARE * len(value)


_SEQUENTIAL_RUN = 6
_SEQUENTIAL_SHARE = 0.85
"""A string is an alphabet written out when runs of 6 consecutive characters or more make 85 %
of it; in a random one (62 characters) a given place starts such a run once in 62^5, 10^9."""


def refers_to_store(value: str, plugin: BasePlugin) -> bool:
    """Whether a value says where a secret is kept rather than being it: a reference with a
    scheme (`_SECRET_REFERENCE`: `arn:...`, `env:DB_PASS`, `file:/run/secrets/pw`), or, where
    a plugin reads any value beside a secret's name, a path of two separators or more
    (`projects/1/secrets/db/versions/latest`) two of whose parts are lower-case words: a key's
    own base64 holds slashes too (`wJalrXUtnFEMI/K7MDENG/bPxRfiCY...`)."""
    if _SECRET_REFERENCE.match(value):
        return True
    by_name = KeywordDetector | PasswordInProseDetector | AssignedCredentialDetector
    if not isinstance(plugin, by_name) or value.count("/") < 2:
        return False
    return sum(_PATH_WORD.fullmatch(part) is not None for part in value.split("/")) >= 2


_PATH_WORD = re.compile(r"[a-z][a-z_-]{2,}")


# detect-secrets' indirect-reference expression opens with `([^\v=!:]*)\s*`, which a search
# retries from every position of the line: quadratic in it (0.8 ms for a clause of 270
# characters, paid for every secret-shaped value a row holds). That group may match nothing, so
# it decides nothing: the line holds a match exactly when an assignment or comparison character
# is followed by a word and an opening bracket, and a closing bracket follows on the same
# stretch of the line (its `[^\v]*` stops at a vertical tab). A test pins the two to agree.
_REFERENCE_OPENS = re.compile(r"[:=!]\s*[\w.-]+[\[(]")
_REFERENCE_LINE_MAX = 1000  # detect-secrets' own bound: longer lines are no function calls


def is_indirect_reference(line: str) -> bool:
    """`heuristic.is_indirect_reference(line)`, in time linear in the line."""
    if len(line) > _REFERENCE_LINE_MAX:
        return False
    searched = 0
    for opened in _REFERENCE_OPENS.finditer(line):
        if opened.end() < searched:
            continue  # in a stretch already found to hold no closing bracket
        stretch = line.find("\v", opened.end())
        stretch = len(line) if stretch < 0 else stretch
        if any(line.find(bracket, opened.end(), stretch) >= 0 for bracket in "])"):
            return True
        searched = stretch
    return False


_ASSIGNED = re.compile(r"(?:[=:(,]|=>)\s*[\[{]?\s*[bru]?$")
_ASSIGNER_WINDOW = 32
# What ends the clause a value belongs to, looking back from it: the filters that read the
# text before a value (`_id` before it, an indirect reference) read that clause, not the whole
# line, where one `"user_id": 5` early in a JSON row would pass every secret after it.
_CLAUSE_ENDS = (",", ";", "{", "\n", ". ")
_CLAUSE_WINDOW = 256
_DELIMITERS = frozenset(" \t\"'`=:/@,;")
_TOKEN_TAIL = re.compile(r"[A-Za-z0-9_\-.+/=]*")
_PEM_BEGIN = re.compile(r"-----BEGIN ([A-Z0-9 ]*)-----")


class SecretScanner:
    """detect-secrets' plugins, with or without the entropy ones, ready to scan strings."""

    def __init__(self, *, entropy: bool = True) -> None:
        # Shortest match first: a string's longest run cuts the list short.
        self.plugins: tuple[tuple[BasePlugin, Trigger], ...] = tuple(
            sorted(
                (
                    (plugin_class(), trigger)
                    for plugin_class, trigger in TRIGGERS.items()
                    if entropy or not issubclass(plugin_class, HighEntropyStringsPlugin)
                ),
                key=lambda pair: pair[1].shortest,
            )
        )

    def names(self) -> list[str]:
        """The plugins' class names, as the guard's configuration records them."""
        return [type(plugin).__name__ for plugin, _trigger in self.plugins]

    def find(
        self,
        text: str,
        inert: Sequence[Inert],
        *,
        lowered: str | None = None,
        longest: int | None = None,
    ) -> Iterator[Hit]:
        """Every secret value in `text`; filtered and example values as look-alikes.
        `lowered` (the text in lower case) and `longest` (its longest run without whitespace)
        are computed here unless the caller has them."""
        if lowered is None:
            lowered = text.lower()
        if longest is None:
            longest = max(map(len, text.split()), default=0)
        chosen: list[tuple[BasePlugin, Trigger]] = []
        for plugin, trigger in self.plugins:
            if trigger.shortest > longest:
                break
            # `Trigger.fires`, inlined: this loop runs for every string of every sample.
            haystack = lowered if trigger.lowered else text
            for word in trigger.words:
                if word in haystack:
                    break
            else:
                continue
            if (
                not trigger.also and trigger.pattern is None and trigger.ascii_lowered is None
            ) or trigger.fires(text, lowered):
                chosen.append((plugin, trigger))
        if not chosen:
            return
        offset = 0
        for line in text.split("\n"):
            # The text's condition again, per line: most lines hold no run as long as a token.
            line_longest = max(map(len, line.split()), default=0)
            lowered_line = line.lower()
            for plugin, trigger in chosen:
                if trigger.shortest > line_longest:
                    break  # `chosen` keeps the plugins' order: shortest match first
                if trigger.fires(line, lowered_line):
                    yield from self._line_hits(plugin, text, line, offset, inert)
            offset += len(line) + 1

    def _line_hits(
        self, plugin: BasePlugin, text: str, line: str, offset: int, inert: Sequence[Inert]
    ) -> Iterator[Hit]:
        name = type(plugin).__name__
        rule = ENTROPY_RULES.get(name, f"secret/{name}")
        for start, end in _spans(plugin, line):
            value = line[start:end]
            begin, stop = offset + start, offset + end
            if isinstance(plugin, PrivateKeyDetector):
                begin, stop = _key_block(text, begin, stop)
                value = text[begin:stop]
            quoted = start > 0 and line[start - 1] in _QUOTES
            clause = line[_clause_start(line, start) : end]
            why = _lookalike(plugin, value, clause, begin, stop, inert, quoted=quoted)
            preview = _preview(plugin, text[begin:stop])
            yield judged(begin, stop, "secret", rule, preview, why)


def _spans(plugin: BasePlugin, line: str) -> Iterator[tuple[int, int]]:
    """Where in `line` the plugin sees secrets.

    A regex detector's expressions are run here rather than through `analyze_string`, which
    yields a capture group's text (GitHubTokenDetector's group is only the `ghp` prefix): a
    group is the secret when it does not open the match and holds at least four characters
    (AWS's `aws...key = "<40 characters>"`), else the whole match is, less the delimiters the
    expressions include on either side.
    """
    if isinstance(plugin, RegexBasedDetector):
        # The plugin's own judgement stays: JwtTokenDetector keeps formally valid tokens only.
        accepted = set(plugin.analyze_string(line))
        if not accepted:
            return  # no match below can hold an accepted value
        for pattern in plugin.denylist:
            for match in pattern.finditer(line):
                start, end = match.span()
                groups = [i for i in range(1, (pattern.groups or 0) + 1) if match.group(i)]
                if not accepted.intersection(match.group(i) for i in [0, *groups]):
                    continue
                if groups:
                    best = max(groups, key=lambda i: match.end(i) - match.start(i))
                    if match.start(best) > start and match.end(best) - match.start(best) >= 4:
                        start, end = match.span(best)
                while start < end and line[start] in _DELIMITERS:
                    start += 1
                while end > start and line[end - 1] in _DELIMITERS:
                    end -= 1
                if isinstance(plugin, JwtTokenDetector):
                    # Its expression ends lazily, before the signature: the token runs on.
                    tail = _TOKEN_TAIL.match(line, end)
                    end = tail.end() if tail else end
                    while line[end - 1] == ".":  # a sentence's full stop, not the token's
                        end -= 1
                if start < end:
                    yield start, end
        return
    for value in set(plugin.analyze_string(line)):
        if not value:
            continue
        entropic = isinstance(plugin, HighEntropyStringsPlugin)
        if isinstance(plugin, HighEntropyStringsPlugin) and not _high_entropy(plugin, value):
            continue
        for start in _occurrences(line, value):
            # The assigner sits right before the opening quote: look at a few characters, not
            # the whole line before every value (quadratic on a long one-line JSON row).
            before = max(0, start - 1)
            if entropic and not _ASSIGNED.search(line, max(0, before - _ASSIGNER_WINDOW), before):
                continue
            yield start, start + len(value)


def _high_entropy(plugin: HighEntropyStringsPlugin, value: str) -> bool:
    # Shannon entropy is at most log2(len): shorter values cannot reach the limit.
    if math.log2(len(value)) <= plugin.entropy_limit:
        return False
    return bool(plugin.calculate_shannon_entropy(value) > plugin.entropy_limit)


def _occurrences(line: str, value: str) -> Iterator[int]:
    start = line.find(value)
    while start >= 0:
        yield start
        start = line.find(value, start + len(value))


def _lookalike(
    plugin: BasePlugin,
    value: str,
    clause: str,
    begin: int,
    end: int,
    inert: Sequence[Inert],
    *,
    quoted: bool,
) -> str | None:
    if is_placeholder(value):
        return "example-key"
    if _SRI_DIGEST.fullmatch(value):
        return "integrity-digest"
    for name, applies in FILTERS:
        # A quoted value is a literal: `Client(api_key="...")` is no indirect reference.
        if quoted and name == "indirect-reference":
            continue
        if applies(value, clause, plugin):
            return name
    if isinstance(
        plugin,
        KeywordDetector
        | BasicAuthDetector
        | UrlPasswordDetector
        | BearerTokenDetector
        | PasswordInProseDetector
        | AssignedCredentialDetector
        | AuthorizationHeaderDetector,
    ):
        # A value assigned to a secret's name, the password of a URL or given in words, or a
        # bearer token: a credential by where it stands, whatever it looks like.
        return None
    if isinstance(plugin, RegexBasedDetector):
        # A vendor's format matched: an identifier only when one holds the whole match.
        return inside(inert, begin, end)
    return covering(inert, begin, end)


# A subresource integrity value (W3C SRI; npm's lockfiles write the same): a digest of a public
# file, named by its hash function, in every CDN snippet.
_SRI_DIGEST = re.compile(r"sha(?:256|384|512)-[A-Za-z0-9+/]{43,86}={0,2}")


def _clause_start(line: str, start: int) -> int:
    """Where the clause holding the value at `start` begins: after the last clause end before
    it, at most `_CLAUSE_WINDOW` characters back."""
    floor = max(0, start - _CLAUSE_WINDOW)
    return max(floor, *(line.rfind(mark, floor, start) + 1 for mark in _CLAUSE_ENDS))


def _key_block(text: str, begin: int, end: int) -> tuple[int, int]:
    """The whole PEM block around a private key header: BEGIN line to END line, or, when the
    END line is missing, to the end of the paragraph or of the text. A block holds no second
    BEGIN line: one ends where the next begins (so that each header is judged on its own
    block, and a text of many headers costs each only its own block)."""
    header = _PEM_BEGIN.match(text, max(0, begin - len("-----")))
    if header is None or header.start() > begin:
        return begin, end
    following = _PEM_BEGIN.search(text, header.end())
    limit = len(text) if following is None else following.start()
    footer = f"-----END {header.group(1)}-----"
    stop = text.find(footer, header.end(), limit)
    if stop >= 0:
        return header.start(), stop + len(footer)
    blank = text.find("\n\n", header.end(), limit)
    if blank >= 0:
        return header.start(), blank
    while limit > header.end() and text[limit - 1].isspace():
        limit -= 1
    return header.start(), limit


def _preview(plugin: BasePlugin, value: str) -> str:
    if isinstance(plugin, PrivateKeyDetector):
        header = _PEM_BEGIN.match(value)
        return f"{header.group()} [{len(value)} characters]" if header else mask(value, 0, 0)
    return mask(value, 4, 4)
