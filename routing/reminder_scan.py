"""The reminder scan: which open appeals need a reminder or an escalation now, and sending
each step exactly once.

Every appeal awaiting an answer stores when the scan next needs to look at it
(`appeal.next_reminder_at`). A tick reads only the appeals whose time has come, in
(next_reminder_at, id) order and in batches (keyset pagination over a partial index of the
appeals awaiting an answer), so its cost follows the steps due, not the number of open
appeals; a repeat tick reads nothing. For each candidate it asks the pure plan
(`routing.reminders.steps_now`) which steps are due and which have passed, given the steps
already recorded in `reminder_sent`; passed steps are recorded with `skipped` set and no
message, so they are never sent late. In the same transaction it stores the candidate's
next time (`routing.reminders.next_step_at`). routing.lifecycle sets the time to "now"
whenever the state, the department or the due date changes, so the next tick plans the
appeal again.

Step keys carry the due date they were planned for (`before-5@2026-03-02`), so an
extension starts a fresh plan for the new date and nothing planned for the old one repeats.

Exactly once, across restarts and with several schedulers at once: a step is claimed by
inserting its `(appeal_id, step_key)` row with ON CONFLICT DO NOTHING in the same
transaction that queues the message. Only the inserter that got the row back queues the
message; a concurrent scheduler's insert waits for the first transaction and then does
nothing (PostgreSQL), and SQLite has one writer at a time anyway. A crash before the
commit leaves neither the row nor the message nor the new next time, so the step is
simply done by the next tick.

Departments that asked for a digest get one message a day listing all their appeals due
soon or overdue (sorted by due date) instead of single reminders; every step it covers is
recorded as sent, so single reminders never follow. Their appeals' next times are stored
in the digest's transaction, for the same reason.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Executable, Table, bindparam, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, lazyload, sessionmaker
from sqlalchemy.sql.selectable import TextualSelect

from models import AWAITING_ANSWER, AWAITING_ANSWER_SQL, Appeal, Department, ReminderSent
from routing.deadlines import WorkCalendar
from routing.ports import Clock, NoticeSink
from routing.reminders import (
    ReminderPlan,
    ReminderStep,
    StepsNow,
    next_step_at,
    steps_now,
    within_window,
)

BATCH = 500


@dataclass(frozen=True)
class ScanResult:
    scanned: int
    sent: int
    skipped: int = 0


def stored_key(step: ReminderStep, due_date: date) -> str:
    """Steps are per due date: after an extension the plan starts again for the new date,
    while what was sent for the old date stays recorded."""
    return f"{step.key}@{due_date.isoformat()}"


def _claim_steps(
    session: Session, keys: list[tuple[int, str]], now: datetime, *, skipped: bool = False
) -> set[tuple[int, str]]:
    """Insert step rows, skipping existing ones; returns the rows this call inserted.

    One statement compiled once and executed for many rows (SQLAlchemy batches it into
    multi-row INSERT ... RETURNING), on the Core table: the ORM's bulk path rebuilt and
    recompiled a VALUES list for every batch, which was half of the scan's time."""
    if not keys:
        return set()
    table = cast(Table, ReminderSent.__table__)
    dialect = session.get_bind().dialect.name
    ins = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = (
        ins(table)
        .on_conflict_do_nothing(index_elements=["appeal_id", "step_key"])
        .returning(table.c.appeal_id, table.c.step_key)
    )
    res = session.connection().execute(
        stmt,
        [{"appeal_id": a, "step_key": k, "sent_at": now, "skipped": skipped} for a, k in keys],
    )
    return {(a, k) for a, k in res}


def _insert_sent(session: Session, appeal_id: int, key: str, now: datetime) -> bool:
    return bool(_claim_steps(session, [(appeal_id, key)], now))


@dataclass(frozen=True)
class Candidate:
    id: int
    due_date: date
    department_id: int | None
    next_at: datetime


def candidate_batch(
    session: Session, now: datetime, after: tuple[datetime, int] | None, batch: int = BATCH
) -> list[Candidate]:
    """The next `batch` appeals awaiting an answer whose next step time has come, in
    (next_reminder_at, id) order after `after`: only the columns the plan needs."""
    query = candidate_batch_query(now, after, batch, dialect=session.get_bind().dialect.name)
    return [
        Candidate(row.id, row.due_date, row.department_id, row.next_reminder_at)
        for row in session.execute(query)
    ]


def candidate_batch_query(
    now: datetime,
    after: tuple[datetime, int] | None,
    batch: int = BATCH,
    *,
    dialect: str = "postgresql",
) -> Executable:
    """Keyset pagination over the partial index `ix_appeal_awaiting_next_reminder`: each
    batch is one short index range read, whatever the table size. The state list is
    rendered as literals, not bound parameters, because SQLite matches a query to a
    partial index's WHERE only on the literal text of its terms."""
    if dialect == "sqlite":
        return _sqlite_candidate_batch_query(now, after, batch)
    awaiting = Appeal.state.in_(
        bindparam("awaiting", list(AWAITING_ANSWER), expanding=True, literal_execute=True)
    )
    query = select(Appeal.id, Appeal.due_date, Appeal.department_id, Appeal.next_reminder_at).where(
        awaiting, Appeal.next_reminder_at <= now
    )
    if after is not None:
        query = query.where(tuple_(Appeal.next_reminder_at, Appeal.id) > tuple_(*after))
    return query.order_by(Appeal.next_reminder_at, Appeal.id).limit(batch)


def _sqlite_candidate_batch_query(
    now: datetime, after: tuple[datetime, int] | None, batch: int
) -> TextualSelect:
    """The same query with `INDEXED BY`. SQLite has no statistics unless ANALYZE ran, and
    without them its planner prefers any index whose first column the state list matches
    (the console's `ix_appeal_state_closed_due`, migration 0016) and then sorts all the
    awaiting appeals for every batch. SQLAlchemy renders no table hints on SQLite, hence
    the text; the columns keep their types (dates and aware datetimes come back as such)."""
    c = cast(Table, Appeal.__table__).c
    sql = (
        "SELECT id, due_date, department_id, next_reminder_at FROM appeal"
        " INDEXED BY ix_appeal_awaiting_next_reminder"
        f" WHERE {AWAITING_ANSWER_SQL} AND next_reminder_at <= :now"
    )
    params = [bindparam("now", now, type_=c.next_reminder_at.type)]
    if after is not None:
        sql += " AND (next_reminder_at, id) > (:after_at, :after_id)"
        params += [
            bindparam("after_at", after[0], type_=c.next_reminder_at.type),
            bindparam("after_id", after[1], type_=c.id.type),
        ]
    sql += " ORDER BY next_reminder_at, id LIMIT :batch"
    params.append(bindparam("batch", batch, type_=c.id.type))
    return (
        text(sql).bindparams(*params).columns(c.id, c.due_date, c.department_id, c.next_reminder_at)
    )


def _store_next(session: Session, next_of: dict[int, datetime]) -> None:
    """One UPDATE per distinct next time (a batch has few: the time follows the due
    date), on the Core table."""
    by_time: dict[datetime, list[int]] = defaultdict(list)
    for aid, at in next_of.items():
        by_time[at].append(aid)
    table = cast(Table, Appeal.__table__)
    for at, ids in by_time.items():
        session.connection().execute(
            update(table).where(table.c.id.in_(ids)).values(next_reminder_at=at)
        )


def scan(
    sessions: sessionmaker[Session],
    clock: Clock,
    plan: ReminderPlan,
    cal: WorkCalendar,
    tz: ZoneInfo,
    notifier_for: Callable[[Session], NoticeSink],
    view: Callable[[Appeal], dict[str, Any]],
    admin_email: str,
) -> ScanResult:
    now = clock.now()
    if not within_window(now, plan, cal, tz):
        return ScanResult(0, 0)
    today = now.astimezone(tz).date()
    with sessions() as session:
        digest_depts = set(session.scalars(select(Department.id).where(Department.digest)))
    scanned = sent = skipped = 0
    digests: dict[int, list[tuple[int, ReminderStep, str]]] = defaultdict(list)
    digest_next: dict[int, dict[int, datetime]] = defaultdict(dict)
    # The next time depends only on the due date (all steps up to today are done once the
    # candidate is handled), so it is worked out once per due date.
    next_for: dict[date, datetime] = {}
    steps_for: dict[tuple[date, frozenset[str]], StepsNow] = {}
    after: tuple[datetime, int] | None = None
    while True:
        with sessions.begin() as session:
            batch = candidate_batch(session, now, after)
            if not batch:
                break
            after = (batch[-1].next_at, batch[-1].id)
            scanned += len(batch)
            due_of = {c.id: c.due_date.isoformat() for c in batch}
            done: dict[int, set[str]] = defaultdict(set)
            for aid, stored in session.execute(
                select(ReminderSent.appeal_id, ReminderSent.step_key).where(
                    ReminderSent.appeal_id.in_(list(due_of))
                )
            ):
                key, _, for_due = stored.partition("@")
                if for_due == due_of[aid]:
                    done[aid].add(key)
            pending: list[tuple[Candidate, ReminderStep]] = []
            passed: list[tuple[int, str]] = []
            next_of: dict[int, datetime] = {}
            for c in batch:
                # Appeals due the same day with the same steps done (most of a busy
                # morning's) have the same answer: the plan is asked once for each.
                memo = (c.due_date, frozenset(done[c.id]))
                if memo not in steps_for:
                    steps_for[memo] = steps_now(
                        plan, due_date=c.due_date, now=now, cal=cal, tz=tz, recorded=done[c.id]
                    )
                steps = steps_for[memo]
                passed += [(c.id, stored_key(st, c.due_date)) for st in steps.skip]
                if c.due_date not in next_for:
                    next_for[c.due_date] = next_step_at(
                        plan, due_date=c.due_date, today=today, cal=cal, tz=tz
                    )
                in_digest = False
                for step in steps.send:
                    if c.department_id in digest_depts and step.kind != "escalation":
                        digests[c.department_id].append((c.id, step, stored_key(step, c.due_date)))
                        in_digest = True
                    elif c.department_id is not None:
                        pending.append((c, step))
                if in_digest:
                    assert c.department_id is not None
                    digest_next[c.department_id][c.id] = next_for[c.due_date]
                else:
                    next_of[c.id] = next_for[c.due_date]
            _store_next(session, next_of)
            # Recorded in the same transaction as the batch's messages: a skipped step is as
            # done as a sent one.
            skipped += len(_claim_steps(session, passed, now, skipped=True))
            if not pending:
                continue
            # Claim all of the batch's steps in one statement; only what we got back is ours
            # to send (another scheduler may have claimed the rest).
            claimed = _claim_steps(
                session, [(c.id, stored_key(st, c.due_date)) for c, st in pending], now
            )
            mine = [(c, st) for c, st in pending if (c.id, stored_key(st, c.due_date)) in claimed]
            if not mine:
                continue
            # The departments are put in the session first, so each appeal's department
            # comes from the identity map instead of a join repeated on every row.
            list(session.scalars(select(Department)))
            appeals = {
                a.id: a
                for a in session.scalars(
                    select(Appeal)
                    .options(lazyload(Appeal.department))
                    .where(Appeal.id.in_({c.id for c, _ in mine}))
                )
            }
            notices = notifier_for(session)
            for c, step in mine:
                _send_step(notices, appeals[c.id], step, today, view, admin_email)
                sent += 1
    if digests:
        sent += _send_digests(sessions, digests, digest_next, now, today, notifier_for, view)
    return ScanResult(scanned, sent, skipped)


def _send_step(
    notices: NoticeSink,
    appeal: Appeal,
    step: ReminderStep,
    today: date,
    view: Callable[[Appeal], dict[str, Any]],
    admin_email: str,
) -> None:
    dept = appeal.department
    if dept is None:
        return
    context = {
        **view(appeal),
        "step": {"key": step.key, "kind": step.kind, "days_left": (appeal.due_date - today).days},
    }
    if step.kind == "escalation":
        to = [a for a in (dept.head_email, admin_email) if a]
        notices.add(
            "department/escalation",
            to=to,
            context=context,
            appeal_id=appeal.id,
            reply_token_for=appeal.id,
        )
    else:
        notices.add(
            f"department/{step.kind}",
            to=[dept.email],
            context=context,
            appeal_id=appeal.id,
            reply_token_for=appeal.id,
        )


def _send_digests(
    sessions: sessionmaker[Session],
    digests: dict[int, list[tuple[int, ReminderStep, str]]],
    digest_next: dict[int, dict[int, datetime]],
    now: datetime,
    today: date,
    notifier_for: Callable[[Session], NoticeSink],
    view: Callable[[Appeal], dict[str, Any]],
) -> int:
    sent = 0
    for dept_id, items in digests.items():
        with sessions.begin() as session:
            dept = session.get(Department, dept_id)
            if dept is None:
                continue
            _store_next(session, digest_next.get(dept_id, {}))
            appeals = {
                a.id: a
                for a in session.scalars(
                    select(Appeal).where(Appeal.id.in_({aid for aid, _, _ in items}))
                )
            }
            fresh = [
                (appeals[aid], s)
                for aid, s, key in items
                if aid in appeals and _insert_sent(session, aid, key, now)
            ]
            if not fresh:
                continue
            fresh.sort(key=lambda x: (x[0].due_date, x[0].id))
            rows = [
                {**view(a)["appeal"], "days_left": (a.due_date - today).days, "step": s.kind}
                for a, s in fresh
            ]
            notifier_for(session).add(
                "department/digest",
                to=[dept.email],
                context={
                    "department": {"code": dept.code, "name": dept.name},
                    "appeals": rows,
                    "today": today.strftime("%d.%m.%Y"),
                    "instance": view(fresh[0][0])["instance"],
                },
                appeal_id=None,
            )
            sent += 1
    return sent
