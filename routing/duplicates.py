"""Primary, duplicate, repeated and mass appeals (the Classifier of citizens' appeals,
Cabinet of Ministers resolution No. 858, distinguishes them; Law 393/96-ВР Art. 8 on
repeated appeals).

- duplicate (дублетне): the same citizen sends the same text again while the first is
  open: linked to the first, not considered twice;
- repeated (повторне): the same citizen on the same issue after a final answer: flagged,
  and handled per the `screening.repeated_policy` setting;
- mass (масове): many citizens send the same text: grouped, so the department answers
  the group once and the answer goes to every member.
The text fingerprint ignores case, punctuation, digits and white space, and is taken over
the appeal without its signature block, so that a campaign's copies signed by different
people still match.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

import saferegex
from models import Appeal
from routing.lifecycle import ANSWERED_FINALLY

# Python's [\W\d_]: anything but a letter (RE2 spells the letters out).
_NOT_LETTERS = saferegex.compile(r"[^\p{L}\p{Nl}\p{No}]+")


def fingerprint(text: str) -> str:
    norm = _NOT_LETTERS.sub(" ", text.lower()).strip()
    return hashlib.sha256(norm.encode()).hexdigest()


@dataclass(frozen=True)
class RepeatVerdict:
    status: str  # primary | duplicate | repeated | mass
    related_id: int | None = None
    mass_group: str | None = None
    mass_size: int = 1
    mass_leader_id: int | None = None


def classify(
    session: Session,
    *,
    citizen_email: str | None,
    fp: str,
    now: datetime,
    window_days: int,
    mass_threshold: int,
) -> RepeatVerdict:
    since = now - timedelta(days=window_days)
    if citizen_email:
        same = session.scalars(
            select(Appeal)
            .where(
                Appeal.citizen_email == citizen_email,
                Appeal.fingerprint == fp,
                Appeal.received_at >= since,
            )
            .order_by(Appeal.id)
        ).first()
        if same is not None:
            if same.state in ANSWERED_FINALLY:
                return RepeatVerdict("repeated", same.id)
            return RepeatVerdict("duplicate", same.id)
    others = session.execute(
        select(func.count(func.distinct(Appeal.citizen_email)), func.min(Appeal.id)).where(
            Appeal.fingerprint == fp,
            Appeal.received_at >= since,
            Appeal.citizen_email.is_distinct_from(citizen_email),
        )
    ).one()
    distinct_senders, leader = int(others[0] or 0), others[1]
    if distinct_senders + 1 >= mass_threshold:
        return RepeatVerdict(
            "mass",
            leader,
            mass_group=fp[:32],
            mass_size=distinct_senders + 1,
            mass_leader_id=leader,
        )
    return RepeatVerdict("primary")
