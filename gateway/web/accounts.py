"""Console accounts, passwords, sessions and login throttling.

Passwords are kept as argon2id hashes (argon2-cffi's defaults, RFC 9106's second
recommended option); a hash made with older parameters is replaced at the next login. A
session is a random token in an HttpOnly cookie; the database keeps its sha256 only, with
an idle and an absolute expiry. After `max_failed_logins` wrong passwords in a row an
account is throttled: for `throttle_minutes` no password is even checked, so guessing
costs an attacker the whole wait per few tries.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from gateway.settings import WebSettings
from models import WebAccount, WebSession
from routing.lifecycle import record_event

Role = Literal["admin", "clerk", "viewer"]
ROLES: tuple[Role, ...] = ("admin", "clerk", "viewer")

_HASHER = PasswordHasher()
# Checked against when the name is unknown, so an unknown name costs the same time as a
# wrong password and does not tell which names exist.
_DUMMY_HASH = _HASHER.hash(secrets.token_hex(16))


class AccountError(ValueError):
    """A request about accounts that cannot be carried out; the message says why."""


@dataclass(frozen=True)
class Who:
    """The signed-in person as the pages need them (no ORM row leaves a request)."""

    account_id: int
    username: str
    role: Role
    departments: tuple[str, ...]
    csrf: str

    @property
    def actor(self) -> str:
        """How events name the person: the console, then the account."""
        return f"web:{self.username}"

    @property
    def can_change(self) -> bool:
        return self.role in ("admin", "clerk")

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def add_user(
    sessions: sessionmaker[Session],
    username: str,
    password: str,
    role: str,
    departments: tuple[str, ...],
    *,
    now: datetime,
    actor: str = "cli",
) -> None:
    name = username.strip()
    if not name or len(name) > 120 or any(c.isspace() for c in name):
        raise AccountError("the user name must be 1-120 characters without spaces")
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}")
    if len(password) < 10:
        raise AccountError("the password must have at least 10 characters")
    if role == "clerk" and not departments:
        raise AccountError("a clerk needs at least one department (--department CODE)")
    with sessions.begin() as s:
        if s.scalars(select(WebAccount).where(WebAccount.username == name)).first():
            raise AccountError(f"user {name!r} exists already")
        s.add(
            WebAccount(
                username=name,
                password_hash=hash_password(password),
                role=role,
                departments=list(departments),
                active=True,
                failed_logins=0,
                created_at=now,
            )
        )
        record_event(s, now, "web-user-added", actor=actor, username=name, role=role)


@dataclass(frozen=True)
class LoginResult:
    token: str | None  # the new session's cookie value, or None
    problem: Literal["", "wrong", "throttled"] = ""


def log_in(
    sessions: sessionmaker[Session],
    cfg: WebSettings,
    username: str,
    password: str,
    *,
    now: datetime,
) -> LoginResult:
    with sessions.begin() as s:
        account = s.scalars(
            select(WebAccount).where(WebAccount.username == username.strip())
        ).first()
        if account is None or not account.active:
            _check(_DUMMY_HASH, password)
            return LoginResult(None, "wrong")
        if account.throttled_until is not None and account.throttled_until > now:
            record_event(s, now, "web-login-throttled", actor=f"web:{account.username}")
            return LoginResult(None, "throttled")
        if not _check(account.password_hash, password):
            account.failed_logins += 1
            throttled = account.failed_logins >= cfg.max_failed_logins
            if throttled:
                account.throttled_until = now + timedelta(minutes=cfg.throttle_minutes)
                account.failed_logins = 0
            record_event(
                s,
                now,
                "web-login-failed",
                actor=f"web:{account.username}",
                throttled=throttled,
            )
            return LoginResult(None, "throttled" if throttled else "wrong")
        if _HASHER.check_needs_rehash(account.password_hash):
            account.password_hash = hash_password(password)
        account.failed_logins = 0
        account.throttled_until = None
        account.last_login_at = now
        token = secrets.token_urlsafe(32)
        s.add(
            WebSession(
                token_sha256=_digest(token),
                account_id=account.id,
                csrf=secrets.token_urlsafe(32),
                created_at=now,
                last_seen_at=now,
                expires_at=now + timedelta(hours=cfg.max_hours),
            )
        )
        record_event(s, now, "web-login", actor=f"web:{account.username}")
        # Sessions past their time are no use to anyone: cleared at each login.
        idle = timedelta(minutes=cfg.idle_minutes)
        s.execute(
            delete(WebSession).where(
                (WebSession.expires_at < now) | (WebSession.last_seen_at < now - idle)
            )
        )
        return LoginResult(token)


def _check(hashed: str, password: str) -> bool:
    try:
        return _HASHER.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# A session's last request is written at most this often: a page view is a read, and
# writing on every one would make readers compete with the worker for SQLite's lock.
_TOUCH_EVERY = timedelta(seconds=60)


def who_is(
    reads: sessionmaker[Session],
    sessions: sessionmaker[Session],
    cfg: WebSettings,
    token: str | None,
    *,
    now: datetime,
) -> Who | None:
    """The person of a session cookie, or None when it is unknown, idle too long or past
    its absolute expiry. Read through `reads`; `sessions` writes the rare changes (the
    last request's time, an ended session removed)."""
    if not token:
        return None
    key = _digest(token)
    with reads() as s:
        row = s.get(WebSession, key)
        if row is None:
            return None
        idle_end = row.last_seen_at + timedelta(minutes=cfg.idle_minutes)
        account = s.get(WebAccount, row.account_id)
        if row.expires_at <= now or idle_end <= now or account is None or not account.active:
            who = None
        else:
            who = Who(
                account_id=account.id,
                username=account.username,
                role=account.role,  # type: ignore[arg-type]
                departments=tuple(account.departments or ()),
                csrf=row.csrf,
            )
        touch = now - row.last_seen_at >= _TOUCH_EVERY
    if who is None:
        with sessions.begin() as s:
            s.execute(delete(WebSession).where(WebSession.token_sha256 == key))
        return None
    if touch:
        with sessions.begin() as s:
            live = s.get(WebSession, key)
            if live is not None:
                live.last_seen_at = now
    return who


def log_out(sessions: sessionmaker[Session], token: str | None, *, now: datetime) -> None:
    if not token:
        return
    with sessions.begin() as s:
        row = s.get(WebSession, _digest(token))
        if row is None:
            return
        account = s.get(WebAccount, row.account_id)
        s.delete(row)
        if account is not None:
            record_event(s, now, "web-logout", actor=f"web:{account.username}")
