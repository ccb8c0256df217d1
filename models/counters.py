"""Registration-number sequences: one counter row per (year, series), taken under a row lock
inside the same transaction as the appeal it numbers, so numbers are unique and gap-free
for committed appeals."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from models.tables import RegistrationCounter


def next_value(session: Session, year: int, series: str) -> int:
    dialect = session.get_bind().dialect.name
    ins = pg_insert if dialect == "postgresql" else sqlite_insert
    session.execute(
        ins(RegistrationCounter)
        .values(year=year, series=series, value=0)
        .on_conflict_do_nothing(index_elements=["year", "series"])
    )
    counter = session.scalars(
        select(RegistrationCounter)
        .where(RegistrationCounter.year == year, RegistrationCounter.series == series)
        .with_for_update()
    ).one()
    counter.value += 1
    session.flush()
    return counter.value
