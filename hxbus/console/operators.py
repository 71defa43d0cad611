"""Operator logins: who may change something from the console (today: replay a dead letter).

An operator's password is generated, never typed into a file by hand: it lives in
``<state>/secrets/console-<name>.password`` (0600, ``runtime.secrets``), made on the
console's first start; the console prints where, never the password. A login gives a
session: a random token in an HttpOnly, SameSite=Strict cookie (never in a URL, never in
the browser's storage) and a second random token the page keeps in memory and sends in
a header with every action, so another site cannot make the browser act (CSRF). Sessions
live in memory and end after ``SESSION_S`` or at logout; a restart logs everyone out.
Five wrong passwords in a row lock the name for ``LOCKOUT_S``.
"""

from __future__ import annotations

import hmac
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from runtime.secrets import ensure_secret, secrets_dir
from schemas.errors import ConfigError

SESSION_S = 8 * 3600.0
MAX_FAILURES = 5
LOCKOUT_S = 30.0
_NAME = re.compile(r"^[a-z][a-z0-9_-]{1,31}$")


def operator_password_file(state_dir: Path, name: str) -> Path:
    return secrets_dir(state_dir) / f"console-{name}.password"


@dataclass(frozen=True, slots=True)
class Session:
    token: str
    csrf: str
    operator: str
    expires: float


class OperatorLogins:
    """The operators' passwords and their sessions."""

    def __init__(
        self,
        state_dir: Path,
        names: tuple[str, ...] = ("operator",),
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        for name in names:
            if not _NAME.match(name):
                raise ConfigError(
                    f"--operator: {name!r} must be 2–32 lower-case letters, digits, - or _"
                )
        self._passwords = {
            name: ensure_secret(operator_password_file(state_dir, name)) for name in names
        }
        self.password_files = {name: operator_password_file(state_dir, name) for name in names}
        self._sessions: dict[str, Session] = {}
        self._failures: dict[str, tuple[int, float]] = {}
        self._clock = clock
        self._lock = threading.Lock()

    def login(self, name: str, password: str) -> Session | None:
        """A new session, or None (unknown name, wrong password, or locked out)."""
        now = self._clock()
        with self._lock:
            failures, since = self._failures.get(name, (0, now))
            if failures >= MAX_FAILURES and now - since < LOCKOUT_S:
                return None
            wanted = self._passwords.get(name)
            # compare even for an unknown name, so the answer takes as long either way
            good = hmac.compare_digest(
                (wanted or secrets.token_urlsafe(24)).encode(), password.encode()
            )
            if not good or wanted is None:
                count = failures + 1 if failures < MAX_FAILURES else 1
                self._failures[name] = (count, now)
                return None
            self._failures.pop(name, None)
            session = Session(
                secrets.token_urlsafe(32), secrets.token_urlsafe(32), name, now + SESSION_S
            )
            self._sessions[session.token] = session
            return session

    def operator(self, token: str | None, csrf: str | None) -> str | None:
        """The operator of a live session whose CSRF token matches, else None."""
        if not token or not csrf:
            return None
        with self._lock:
            session = self._sessions.get(token)
            if session is None:
                return None
            if session.expires < self._clock():
                del self._sessions[token]
                return None
            if not hmac.compare_digest(session.csrf.encode(), csrf.encode()):
                return None
            return session.operator

    def session(self, token: str | None) -> Session | None:
        """The live session of a cookie (for the page to learn who is logged in)."""
        with self._lock:
            session = self._sessions.get(token or "")
            if session is None or session.expires < self._clock():
                return None
            return session

    def logout(self, token: str | None) -> None:
        with self._lock:
            self._sessions.pop(token or "", None)
