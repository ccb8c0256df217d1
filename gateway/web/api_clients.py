"""The REST API's client systems: bearer tokens with scopes, stored hashed.

A token is 32 random bytes (url-safe base64) shown once when it is made
(`appeals api-token add NAME --scopes ...`); the table keeps its sha256 only. A plain
hash, not argon2 as for passwords: the token is random with 256 bits of entropy, so
there is nothing to guess slowly, and every API request checks one.

Scopes:
- submit: hand in appeals (POST /api/v1/appeals) and follow the submissions;
- read: appeals and their events, without personal data;
- personal: with `read`, the citizen's name, contacts and the text too;
- answer: record the result of consideration of an answered appeal.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from models import ApiClient

SCOPES = ("submit", "read", "personal", "answer")
PREFIX = "agw_"  # lets secret scanners and people recognise a leaked token


class ApiClientError(ValueError):
    """A client that cannot be added or changed; the message says why."""


@dataclass(frozen=True)
class Caller:
    name: str
    scopes: frozenset[str]


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def add_client(
    sessions: sessionmaker[Session], name: str, scopes: tuple[str, ...], *, now: datetime
) -> str:
    """Make a client and return its token (the only time it is seen)."""
    name = name.strip()
    if not name or len(name) > 120:
        raise ApiClientError("a name of 1 to 120 characters")
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown or not scopes:
        raise ApiClientError(f"scopes must be some of {', '.join(SCOPES)}")
    token = PREFIX + secrets.token_urlsafe(32)
    with sessions.begin() as s:
        if s.scalar(select(ApiClient.id).where(ApiClient.name == name)) is not None:
            raise ApiClientError(f"a client {name!r} exists already")
        s.add(
            ApiClient(
                name=name,
                token_sha256=_hash(token),
                scopes=sorted(set(scopes)),
                active=True,
                created_at=now,
            )
        )
    return token


def revoke_client(sessions: sessionmaker[Session], name: str) -> bool:
    with sessions.begin() as s:
        row = s.scalars(select(ApiClient).where(ApiClient.name == name)).first()
        if row is None:
            return False
        row.active = False
        return True


def list_clients(sessions: sessionmaker[Session]) -> list[dict[str, object]]:
    with sessions() as s:
        return [
            {
                "name": c.name,
                "scopes": list(c.scopes),
                "active": c.active,
                "created_at": c.created_at.isoformat(),
                "last_used_at": c.last_used_at.isoformat() if c.last_used_at else None,
            }
            for c in s.scalars(select(ApiClient).order_by(ApiClient.name))
        ]


def authenticate(sessions: sessionmaker[Session], token: str, *, now: datetime) -> Caller | None:
    """The caller a bearer token names, or None (unknown, revoked or malformed)."""
    if not token.startswith(PREFIX) or len(token) > 100:
        return None
    digest = _hash(token)
    with sessions.begin() as s:
        row = s.scalars(select(ApiClient).where(ApiClient.token_sha256 == digest)).first()
        # The lookup is by hash; the comparison again in constant time all the same.
        if row is None or not row.active or not hmac.compare_digest(row.token_sha256, digest):
            return None
        if row.last_used_at is None or (now - row.last_used_at).total_seconds() > 60:
            row.last_used_at = now  # at most once a minute: no write per request
        return Caller(row.name, frozenset(row.scopes))
