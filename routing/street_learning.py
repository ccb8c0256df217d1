"""The street register learned from history: every appeal whose district staff confirmed
or corrected adds its (street, house) -> district pair.

- confirmed: the department the appeal was routed to gave the final answer, so the district
  it was routed by held (`routing.answers` calls `confirm`);
- corrected: a person set the district (`appeals appeal set-district`, `correct`).

Only the street's register name, kind and house number are kept (never the flat or the
citizen's name). The resolver asks for the streets a letter mentions (`observations`) when
the council's register does not know them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Appeal, StreetObservation
from routing.lifecycle import record_event
from routing.streets import Observation, parse_address, street_key


def _learn(
    session: Session, appeal: Appeal, district: str, source: str, now: datetime
) -> StreetObservation | None:
    found = parse_address(appeal.citizen_address or "") if appeal.citizen_address else None
    if found is None:
        found = parse_address(appeal.text or "")
    if found is None:
        return None
    row = session.scalar(select(StreetObservation).where(StreetObservation.appeal_id == appeal.id))
    if row is None:
        row = StreetObservation(appeal_id=appeal.id)
        session.add(row)
    row.street_key = street_key(found.name)[:200]
    row.kind = found.kinds[0]
    row.street = found.name[:200]
    row.house = found.house
    row.district = district[:120]
    row.source = source
    row.observed_at = now
    session.flush()
    return row


def confirm(session: Session, appeal: Appeal, now: datetime) -> None:
    """The appeal's district held: its department answered it finally."""
    if appeal.district:
        _learn(session, appeal, appeal.district, "confirmed", now)


def correct(session: Session, appeal: Appeal, district: str, *, actor: str, now: datetime) -> bool:
    """A person says which district the appeal's address is in. Returns whether an
    address was found to learn from (the district is set on the appeal either way)."""
    record_event(
        session,
        now,
        "district-set",
        appeal_id=appeal.id,
        actor=actor,
        previous=appeal.district,
        district=district,
    )
    appeal.district = district
    return _learn(session, appeal, district, "corrected", now) is not None


def observations(session: Session, keys: Iterable[str]) -> list[Observation]:
    """The learned pairs for the given folded street keys."""
    wanted = sorted(set(keys))
    if not wanted:
        return []
    rows = session.execute(
        select(
            StreetObservation.kind,
            StreetObservation.street,
            StreetObservation.house,
            StreetObservation.district,
        ).where(StreetObservation.street_key.in_(wanted))
    ).all()
    return [Observation(kind, street, house, district) for kind, street, house, district in rows]
