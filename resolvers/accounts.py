"""Rules for account fields shared by registration, password changes and the CLI.

Emails are stored as typed (trimmed, NFKC-normalised) and compared by `email_key`: NFKC,
then case-folded. Passwords are NFKC-normalised by `auth.passwords` before hashing.
"""

from __future__ import annotations

import asyncio
import unicodedata

from confusable_homoglyphs import categories
from email_validator import EmailNotValidError, validate_email
from zxcvbn import zxcvbn

from auth.passwords import MAX_LENGTH, MIN_LENGTH, normalize_password
from domain.codes import ErrorCode
from domain.errors import Problem
from resolvers.input_rules import NAME

MAX_NAME_LENGTH = NAME.max_length
MAX_EMAIL_LENGTH = 254  # RFC 5321's limit on a forward path, less its angle brackets

# How many guesses zxcvbn must estimate for a new password, as a power of ten: 10^7, between
# its score 2 (10^6, "protection from unthrottled online attacks") and 3 (10^8, which no
# 8-character password reaches, so it would quietly raise the minimum length to 9). Sign-ins
# are throttled and hashes are Argon2id, so 10^7 is out of reach online and costly offline.
MIN_GUESSES_LOG10 = 7
# zxcvbn's matching grows faster than linearly with length; a prefix this long is already
# far beyond any guessable password, so only it is scored (about 50 ms at worst).
SCORED_PREFIX = 100
# Words that make a password guessable for this service in particular.
_SERVICE_WORDS = ("orderly",)

# Unicode categories that have no business in an address: controls, format characters
# (zero-width joiners, soft hyphen, bidi controls), separators, private use, unassigned.
_INVISIBLE = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp"})
# Scripts that are written together: Japanese mixes kana and kanji, Korean hangul and hanja.
_SCRIPTS_WRITTEN_TOGETHER = (
    frozenset({"HAN", "HIRAGANA", "KATAKANA"}),
    frozenset({"HAN", "HANGUL"}),
    frozenset({"HAN", "BOPOMOFO"}),
)
_NEUTRAL_SCRIPTS = frozenset({"COMMON"})


def normalize_email(email: str) -> str:
    """The address as stored and shown: trimmed and NFKC-normalised, its case kept."""
    return unicodedata.normalize("NFKC", email.strip())


def email_key(email: str) -> str:
    """The form in which addresses are compared (unique, looked up, searched).

    NFKC, then case-folded, then NFKC again (folding can undo the normal form), as
    Unicode's NFKC_Casefold does: `ＫARL@Example.com`, `\u212aarl@example.com` (KELVIN SIGN)
    and `karl@example.com` are one address.
    """
    return unicodedata.normalize("NFKC", normalize_email(email).casefold())


def _invalid(message: str, field: tuple[str, ...]) -> list[Problem]:
    return [Problem(ErrorCode.INVALID_INPUT, message, field)]


def _mixes_scripts(part: str) -> bool:
    scripts = {categories.alias(char) for char in part} - _NEUTRAL_SCRIPTS
    if len(scripts) <= 1:
        return False
    return not any(scripts <= allowed for allowed in _SCRIPTS_WRITTEN_TOGETHER)


def _has_loose_combining_mark(text: str) -> bool:
    """A combining accent left over after NFKC, i.e. one that does not form a letter of its
    own (`a` + U+0335 looks like a struck `a`); marks that belong to a script's own letters
    (Devanagari vowel signs, say) are that script's, not INHERITED."""
    return any(
        unicodedata.category(char) in ("Mn", "Me") and categories.alias(char) == "INHERITED"
        for char in text
    )


def email_problems(email: str, field: tuple[str, ...] = ("email",)) -> list[Problem]:
    """Problems with a new address as typed (empty when it is acceptable).

    Syntax is email-validator's (no quoted local parts, no IP literals, no trailing dot,
    no special-use domains); on top of it, after NFKC: no invisible or control characters,
    no loose combining accents, and no part (the local part, each domain label) mixing
    scripts, such as a Cyrillic `а` among Latin letters.
    """
    raw = email.strip()
    if not 3 <= len(raw) <= MAX_EMAIL_LENGTH:
        return _invalid(f"Email must be 3 to {MAX_EMAIL_LENGTH} characters.", field)
    normalized = normalize_email(raw)
    if any(unicodedata.category(char) in _INVISIBLE for char in raw + normalized):
        return _invalid("Email must not contain invisible, control or space characters.", field)
    if len(normalized) > MAX_EMAIL_LENGTH:
        return _invalid(f"Email must be 3 to {MAX_EMAIL_LENGTH} characters.", field)
    try:
        validate_email(normalized, check_deliverability=False, strict=True)
    except EmailNotValidError as error:
        return _invalid(f"Enter a valid email address: {error}", field)
    if _has_loose_combining_mark(normalized):
        return _invalid("Email must not contain combining accents on their own.", field)
    local, _, domain = normalized.rpartition("@")
    if any(_mixes_scripts(part) for part in (local, *domain.split("."))):
        return _invalid(
            "Email must not mix writing systems (such as Latin and Cyrillic letters) "
            "within its name or within one part of its domain.",
            field,
        )
    return []


def name_problems(name: str, field: tuple[str, ...] = ("name",)) -> list[Problem]:
    """Problems with a display name (empty when it is acceptable): `input_rules.NAME`, at
    most 200 characters, not blank, no NUL. It is stored trimmed."""
    if not NAME.accepts(name):
        message = f"Name must be 1 to {MAX_NAME_LENGTH} characters, not all blank, without NUL."
        return [Problem(ErrorCode.INVALID_INPUT, message, field)]
    return []


def _weak(message: str, field: tuple[str, ...]) -> list[Problem]:
    return [Problem(ErrorCode.WEAK_PASSWORD, message, field)]


def _guessability(password: str, personal: list[str]) -> list[str]:
    """zxcvbn's verdict on a password: empty when strong enough, else advice to show."""
    prefix = password[:SCORED_PREFIX]
    result = zxcvbn(prefix, user_inputs=personal, max_length=SCORED_PREFIX)
    if result["guesses_log10"] >= MIN_GUESSES_LOG10:
        return []
    feedback = result["feedback"]
    advice = [feedback["warning"], *feedback["suggestions"]]
    return [str(line) for line in advice if line]


async def password_problems(
    password: str,
    *,
    email: str,
    name: str,
    current: str | None = None,
    field: tuple[str, ...] = ("password",),
) -> list[Problem]:
    """Problems with a new password (empty when it is acceptable).

    Checked on its NFKC form, the one that is hashed: 8 to 128 characters, not the user's
    email or name, not `current` (the password it replaces), and not easily guessed
    (zxcvbn estimates at least 10^`MIN_GUESSES_LOG10` guesses; run in a worker thread).
    """
    normalized = normalize_password(password)
    if not MIN_LENGTH <= len(normalized) <= MAX_LENGTH:
        return _weak(f"Password must be {MIN_LENGTH} to {MAX_LENGTH} characters.", field)
    lowered = normalized.strip().casefold()
    if lowered in (email_key(email), normalize_password(name).strip().casefold()):
        return _weak("Password must not be your email or name.", field)
    if current is not None and normalized == normalize_password(current):
        return _weak("The new password must differ from the current one.", field)
    personal = [email_key(email), *email_key(email).split("@"), name, *name.split()]
    advice = await asyncio.to_thread(_guessability, normalized, [*personal, *_SERVICE_WORDS])
    if advice:
        return _weak(" ".join(["This password is too easy to guess.", *advice]), field)
    return []
