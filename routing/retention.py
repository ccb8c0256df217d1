"""Personal data kept no longer than needed: retention periods, and erasure on a citizen's
request.

Law of Ukraine "On Personal Data Protection" (No. 2297-VI): personal data are kept no
longer than their purpose needs (Art. 6 §8), and the person may demand their destruction
(Art. 8 §2 item 7; Art. 15 §1 item 1 and §2: destroyed when the purpose is reached or the
term has passed). Citizens' appeals are kept for the term of the council's nomenclature of
cases (the Instruction on record-keeping of citizens' appeals, CMU resolution No. 348 of
14.04.1997, sets five years for appeal files), which `personal_fields_days` reflects.

What is erased, for a finished appeal past its term (counted from `closed_at`):
- the appeal's personal fields and content: name, e-mail, postal address, phone, subject,
  text, the text fingerprint (a hash of the text) and the place the text is about;
- its attachments' bytes and file names (`attachments_days`, also from `closed_at`);
- the raw mail of its messages, their envelope sender and parsed details, and the letters
  the gateway sent about it (their bytes, subject and recipients);
- the link between the appeal and the street register's observation of its street (the
  street -> district pair stays for routing);
- an event actor that is the citizen's address becomes "citizen".
What stays is the register's statistics: kind, dates, department, the Classifier's
characteristics, the result, the counts, events (types and dates). `appeals report
quarterly` gives the same numbers before and after a purge.

Raw mail of any finished message is erased `raw_mail_days` after it arrived, whether it
became an appeal or not (bounces, discarded, answers), as before.

The blobs (raw mail, attachment bodies) live outside the database; `erase_blob` is how
this module removes one. It is called inside the transaction, before commit: if the commit
fails, the rows are found again next time and the blob is already gone (erasure errs on
the side of erasing).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from models import (
    Appeal,
    AppealEvent,
    Attachment,
    InboundMessage,
    OutboundMessage,
    StreetObservation,
)
from routing.lifecycle import CLOSED_STATES, record_event

EraseBlob = Callable[[str], object]
# Letters still queued or being sent keep their bytes until they are finished; a later
# purge erases them (the appeal is already marked erased by then).
_FINISHED_LETTERS = ("sent", "failed")


@dataclass(frozen=True)
class RetentionRules:
    """[retention]: how long each kind of personal data is kept, in days."""

    raw_mail_days: int = 1095
    attachments_days: int = 1095
    personal_fields_days: int = 1825


@dataclass
class Erased:
    """What one purge or erasure did (counts only: no personal data)."""

    appeals: int = 0
    attachments: int = 0
    inbound: int = 0
    outbound: int = 0
    kept_open: list[str] = field(default_factory=list)  # registration numbers, not erased

    def __bool__(self) -> bool:
        return bool(self.appeals or self.attachments or self.inbound or self.outbound)


def purge(
    session: Session, now: datetime, rules: RetentionRules, erase_blob: EraseBlob, limit: int = 500
) -> Erased:
    """Erase what is past its retention period (at most `limit` rows of each kind)."""
    done = Erased()
    fields_cutoff = now - timedelta(days=rules.personal_fields_days)
    appeals = session.scalars(
        select(Appeal)
        .where(
            Appeal.state.in_(CLOSED_STATES),
            Appeal.closed_at < fields_cutoff,
            Appeal.erased_at.is_(None),
        )
        .order_by(Appeal.id)
        .limit(limit)
    ).all()
    for appeal in appeals:
        _erase_appeal(session, appeal, now, erase_blob, done)
        record_event(session, now, "personal-data-erased", appeal_id=appeal.id, why="retention")

    files_cutoff = now - timedelta(days=rules.attachments_days)
    closed_long_ago = select(Appeal.id).where(
        Appeal.state.in_(CLOSED_STATES), Appeal.closed_at < files_cutoff
    )
    old_files = session.scalars(
        select(Attachment)
        .where(Attachment.erased_at.is_(None), Attachment.appeal_id.in_(closed_long_ago))
        .order_by(Attachment.id)
        .limit(limit)
    ).all()
    for att in old_files:
        _erase_attachment(session, att, now, erase_blob, done)

    # Letters of erased appeals that were still on their way when the appeal was erased.
    late_letters = session.scalars(
        select(OutboundMessage)
        .where(
            OutboundMessage.appeal_id.in_(select(Appeal.id).where(Appeal.erased_at.is_not(None))),
            OutboundMessage.state.in_(_FINISHED_LETTERS),
            OutboundMessage.first_recipient != "",
        )
        .limit(limit)
    ).all()
    for out in late_letters:
        _erase_letter(out, done)

    raw_cutoff = now - timedelta(days=rules.raw_mail_days)
    old_mail = session.scalars(
        select(InboundMessage)
        .where(
            InboundMessage.received_at < raw_cutoff,
            InboundMessage.erased_at.is_(None),
            InboundMessage.state.in_(("processed", "discarded")),
        )
        .order_by(InboundMessage.id)
        .limit(limit)
    ).all()
    for row in old_mail:
        _erase_raw(row, now, erase_blob, done)
    return done


def erase_citizen(
    session: Session, now: datetime, address: str, erase_blob: EraseBlob, actor: str = "admin"
) -> Erased:
    """A person's request to destroy their data (Law 2297-VI Art. 8 §2 item 7): every
    finished appeal from `address` is erased at once, and every message from it that
    became no appeal: processed, discarded, and held ones too (a held message waits for a
    person, but it holds her name and words as much as an appeal does). Such a row keeps
    its state and reason, for the holding pen's and the statistics' history, and can no
    longer be released to the worker. Open appeals are kept (listed in `kept_open`), and
    so are the messages that belong to them: they cannot be considered without the name
    and address (Law 393/96-ВР Art. 5), and are erased once finished, by asking again. The
    events record the request, not the address."""
    done = Erased()
    needle = address.strip().lower()
    appeals = session.scalars(
        select(Appeal)
        .where(func.lower(Appeal.citizen_email) == needle, Appeal.erased_at.is_(None))
        .order_by(Appeal.id)
    ).all()
    for appeal in appeals:
        if appeal.state not in CLOSED_STATES:
            done.kept_open.append(appeal.reg_no)
            continue
        _erase_appeal(session, appeal, now, erase_blob, done)
        record_event(
            session,
            now,
            "personal-data-erased",
            appeal_id=appeal.id,
            actor=actor,
            why="citizen-request",
        )
    kept = {a.id for a in appeals if a.state not in CLOSED_STATES}
    loose = session.scalars(
        select(InboundMessage)
        .where(
            func.lower(InboundMessage.mail_from) == needle,
            InboundMessage.erased_at.is_(None),
            InboundMessage.state.in_(("processed", "held", "discarded")),
        )
        .order_by(InboundMessage.id)
    ).all()
    for row in loose:
        if row.appeal_id is not None and row.appeal_id in kept:
            continue
        for att in session.scalars(
            select(Attachment).where(
                Attachment.inbound_id == row.id, Attachment.erased_at.is_(None)
            )
        ):
            _erase_attachment(session, att, now, erase_blob, done)
        _erase_raw(row, now, erase_blob, done)
        record_event(
            session,
            now,
            "personal-data-erased",
            inbound_id=row.id,
            actor=actor,
            why="citizen-request",
            state=row.state,
            reason=row.reason,
        )
    if done:
        record_event(session, now, "citizen-erasure", actor=actor, appeals=done.appeals)
    return done


def _erase_appeal(
    session: Session, appeal: Appeal, now: datetime, erase_blob: EraseBlob, done: Erased
) -> None:
    email = (appeal.citizen_email or "").lower()
    appeal.citizen_name = None
    appeal.citizen_email = None
    appeal.citizen_address = None
    appeal.citizen_phone = None
    appeal.subject = ""
    appeal.text = ""
    appeal.fingerprint = None
    # The contact extraction's evidence (how each value was found) stays; the place the
    # text was about goes with the text.
    flags = dict(appeal.flags or {})
    if isinstance(flags.get("contacts"), dict):
        flags["contacts"] = {k: v for k, v in flags["contacts"].items() if k != "location"}
    appeal.flags = flags
    appeal.erased_at = now
    done.appeals += 1
    # The street register learned (street, house) -> district from this appeal; the pair is
    # kept for routing, but no longer tied to the appeal and so to the person.
    session.execute(
        update(StreetObservation)
        .where(StreetObservation.appeal_id == appeal.id)
        .values(appeal_id=None)
    )
    for att in session.scalars(
        select(Attachment).where(Attachment.appeal_id == appeal.id, Attachment.erased_at.is_(None))
    ):
        _erase_attachment(session, att, now, erase_blob, done)
    for row in session.scalars(
        select(InboundMessage).where(
            or_(InboundMessage.appeal_id == appeal.id, InboundMessage.id == appeal.inbound_id),
            InboundMessage.erased_at.is_(None),
        )
    ):
        _erase_raw(row, now, erase_blob, done)
    for out in session.scalars(
        select(OutboundMessage).where(
            OutboundMessage.appeal_id == appeal.id, OutboundMessage.state.in_(_FINISHED_LETTERS)
        )
    ):
        _erase_letter(out, done)
    if email:
        for event in session.scalars(
            select(AppealEvent).where(
                AppealEvent.appeal_id == appeal.id, func.lower(AppealEvent.actor) == email
            )
        ):
            event.actor = "citizen"


def _erase_letter(out: OutboundMessage, done: Erased) -> None:
    if out.raw or out.subject or out.recipients:
        out.raw = b""
        out.subject = ""
        out.recipients = []
        out.failed_recipients = []
        out.first_recipient = ""
        done.outbound += 1


def _erase_attachment(
    session: Session, att: Attachment, now: datetime, erase_blob: EraseBlob, done: Erased
) -> None:
    # The same file may belong to another appeal (a repeat re-attaches it): its bytes go
    # only when no row that is not erased still refers to them.
    others = session.scalar(
        select(func.count(Attachment.id)).where(
            Attachment.sha256 == att.sha256, Attachment.id != att.id, Attachment.erased_at.is_(None)
        )
    )
    if not others:
        erase_blob(att.sha256)
    att.filename = "erased"
    att.original_name = None
    att.inside = None
    att.unpacked_from = None
    att.erased_at = now
    done.attachments += 1


def _erase_raw(row: InboundMessage, now: datetime, erase_blob: EraseBlob, done: Erased) -> None:
    if row.erased_at is None:
        erase_blob(row.raw_sha256)
        row.raw_pending = None  # in case the worker never got to write the file
        row.erased_at = now
        done.inbound += 1
    row.mail_from = None
    row.message_id = None
    row.detail = None
    row.info = {}
