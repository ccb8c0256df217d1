"""List and bulk mail through the real pipeline (SQLite, manual clock): registered or held,
never discarded, never answered automatically (RFC 3834 §2); campaign letters from many
signers become one mass appeal. Mail is read back from the outbox rows."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from gateway.clock import ManualClock
from models import Appeal, AppealEvent, InboundMessage, OutboundMessage
from routing.mail import Envelope

CAMPAIGN_TEXT = (
    "Шановні депутати міської ради!\n\n"
    "Прошу не допустити вирубки дерев у сквері на вулиці Лесі Українки. Сквер є місцем "
    "відпочинку мешканців мікрорайону, а дерева висаджені понад сорок років тому.\n"
)


def campaign_letter(n: int, name: str, email: str, *, address: bool = True) -> bytes:
    """One signer's letter as a petition site sends it: its own no-reply From, the signer
    in Reply-To, bulk and unsubscribe headers."""
    sign = f"З повагою,\n{name}\n" + (
        f"Адреса: м. Луцьк, вул. Лесі Українки, {n}\n" if address else ""
    )
    return (
        f"From: {name} via Збережемо сквер <noreply@petition.example>\n"
        f"Reply-To: {name} <{email}>\n"
        "To: appeals@council.example\n"
        "Subject: Збережіть сквер на Лесі Українки\n"
        f"Message-ID: <sign-{n}.7f3a@petition.example>\n"
        "Precedence: bulk\n"
        "List-Unsubscribe: <https://petition.example/unsubscribe/7f3a>, "
        "<mailto:unsubscribe@petition.example>\n"
        "MIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=utf-8\n"
        "Content-Transfer-Encoding: 8bit\n\n"
        f"{CAMPAIGN_TEXT}\n{sign}"
    ).encode()


@pytest.fixture
def bulk(make_app: Any) -> Any:
    app = make_app(clock=ManualClock(datetime(2026, 11, 23, 8, 0, tzinfo=UTC)))

    class Env:
        def __init__(self) -> None:
            self.app = app

        def deliver(self, data: bytes, mail_from: str = "bounce-7f3a@petition.example") -> int:
            res = app.ingest().accept(
                data, Envelope("smtp", mail_from, ("appeals@council.example",))
            )
            app.worker().run_once(50)
            return res.inbound_id

        def inbound(self, inbound_id: int) -> InboundMessage:
            with app.sessions() as s:
                row = s.get(InboundMessage, inbound_id)
                assert row is not None
                return row

        def appeals(self) -> list[Appeal]:
            with app.sessions() as s:
                return list(s.scalars(select(Appeal).order_by(Appeal.id)))

        def kinds(self) -> list[str]:
            with app.sessions() as s:
                return list(s.scalars(select(OutboundMessage.kind).order_by(OutboundMessage.id)))

        def outbox(self, kind: str) -> list[OutboundMessage]:
            with app.sessions() as s:
                return list(s.scalars(select(OutboundMessage).where(OutboundMessage.kind == kind)))

        def events(self, type_: str) -> list[AppealEvent]:
            with app.sessions() as s:
                return list(s.scalars(select(AppealEvent).where(AppealEvent.type == type_)))

    return Env()


def test_campaign_letter_is_registered_for_the_signer_and_not_acknowledged(bulk: Any) -> None:
    iid = bulk.deliver(campaign_letter(1, "Оксана Гнатюк", "oksana.hn@ukr.net"))
    row = bulk.inbound(iid)
    assert (row.state, row.reason) == ("processed", "registered")
    (appeal,) = bulk.appeals()
    assert appeal.citizen_email == "oksana.hn@ukr.net"
    assert appeal.state == "routed"
    assert appeal.flags["bulk_mail"] == "precedence:bulk+list-unsubscribe"
    # The department gets it, the signer gets nothing automatic.
    assert bulk.kinds() == ["department/assigned"]
    (fwd,) = bulk.outbox("department/assigned")
    body = fwd.raw.decode("utf-8", "replace")
    assert "=D1=81=D0=BF=D0=B8=D1=81=D0=BE=D0=BA" in body  # "список" (QP): the bulk note
    (withheld,) = bulk.events("citizen-letter-withheld")
    assert withheld.appeal_id == appeal.id
    assert withheld.data == {
        "letter": "citizen/ack",
        "why": "bulk-mail",
        "evidence": "precedence:bulk+list-unsubscribe",
    }
    (screened,) = [e for e in bulk.events("screened") if e.inbound_id == iid]
    assert screened.data["hits"] == ["bulk-mail", "accept"]


def test_campaign_from_five_signers_is_one_mass_appeal(bulk: Any) -> None:
    signers = [
        ("Оксана Гнатюк", "oksana.hn@ukr.net"),
        ("Ігор Мельник", "igor.melnyk@gmail.com"),
        ("Марія Савчук", "m.savchuk@i.ua"),
        ("Петро Іваненко", "petro.iv@meta.ua"),
        ("Олена Коваль", "olena.koval@ukr.net"),
        ("Андрій Бойко", "boiko.a@gmail.com"),
    ]
    ids = [bulk.deliver(campaign_letter(n, *s)) for n, s in enumerate(signers, start=1)]
    assert all(bulk.inbound(i).state == "processed" for i in ids)
    appeals = bulk.appeals()
    assert [a.citizen_email for a in appeals] == [s[1] for s in signers]
    groups = {a.mass_group for a in appeals}
    assert len(groups) == 1 and None not in groups
    assert [a.repeat_status for a in appeals[-2:]] == ["mass", "mass"]
    assert bulk.events("mass-appeal")
    # Not one automatic letter to any signer; each withheld acknowledgement is recorded.
    assert not [k for k in bulk.kinds() if k.startswith("citizen/")]
    assert len(bulk.events("citizen-letter-withheld")) == len(signers)
    # The department got the first letters, not a copy per member once it was a group.
    assert len(bulk.outbox("department/assigned")) == 4


def test_incomplete_bulk_letter_is_returned_without_an_automatic_letter(bulk: Any) -> None:
    bulk.deliver(campaign_letter(1, "Оксана Гнатюк", "oksana.hn@ukr.net", address=False))
    (appeal,) = bulk.appeals()
    assert appeal.state == "returned"
    assert bulk.kinds() == []
    (withheld,) = bulk.events("citizen-letter-withheld")
    assert withheld.data["letter"] == "citizen/returned"


def google_groups_letter(rewritten: bool) -> bytes:
    sender = (
        "'Оксана Гнатюк' via Громада Луцька <hromada-lutsk@googlegroups.com>"
        if rewritten
        else "Оксана Гнатюк <oksana.hn@example.com>"
    )
    return (
        f"From: {sender}\n"
        "To: hromada-lutsk@googlegroups.com\n"
        "Cc: appeals@council.example\n"
        "Subject: Яма на перехресті Конякіна і Соборності\n"
        "Message-ID: <CAF3kq=x1@mail.example.com>\n"
        "Reply-To: hromada-lutsk@googlegroups.com\n"
        "X-Original-Sender: oksana.hn@example.com\n"
        "X-Original-From: Оксана Гнатюк <oksana.hn@example.com>\n"
        "Mailing-list: list hromada-lutsk@googlegroups.com; contact "
        "hromada-lutsk+owners@googlegroups.com\n"
        "Precedence: list\n"
        "List-ID: <hromada-lutsk.googlegroups.com>\n"
        "List-Post: <https://groups.google.com/group/hromada-lutsk/post>, "
        "<mailto:hromada-lutsk@googlegroups.com>\n"
        "List-Unsubscribe: <mailto:googlegroups-manage+1+unsubscribe@googlegroups.com>\n"
        "MIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=UTF-8\n"
        "Content-Transfer-Encoding: 8bit\n\n"
        "Добрий день!\n\nНа перехресті вулиць Конякіна і Соборності вже місяць глибока яма, "
        "вчора там пошкодив колесо автобус. Прошу відремонтувати покриття.\n\n"
        "Оксана Гнатюк\nм. Луцьк, вул. Конякіна, 7, кв. 12\n"
    ).encode()


@pytest.mark.parametrize("rewritten", [False, True], ids=["from-kept", "from-rewritten"])
def test_letter_via_a_list_belongs_to_its_author_not_the_list(bulk: Any, rewritten: bool) -> None:
    iid = bulk.deliver(
        google_groups_letter(rewritten), mail_from="hromada-lutsk+bncBC@googlegroups.com"
    )
    assert bulk.inbound(iid).state == "processed"
    (appeal,) = bulk.appeals()
    assert appeal.citizen_email == "oksana.hn@example.com"
    assert appeal.flags["bulk_mail"].startswith("precedence:list+list-id")
    assert bulk.kinds() == ["department/assigned"]


def test_newsletter_is_held_with_a_reason_not_discarded(bulk: Any) -> None:
    raw = (
        "From: Міські новини <news@lists.example.org>\n"
        "To: news@lists.example.org\n"
        "Subject: [новини] Тижневий дайджест\n"
        "Message-ID: <digest-48@lists.example.org>\n"
        "List-Id: Міські новини <news.lists.example.org>\n"
        "List-Unsubscribe: <mailto:news-leave@lists.example.org>\n"
        "Precedence: list\n"
        "MIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=utf-8\n"
        "Content-Transfer-Encoding: 8bit\n\n"
        "Новини тижня: ремонт доріг, графік вивезення сміття.\n"
    ).encode()
    iid = bulk.deliver(raw, mail_from="news-bounces@lists.example.org")
    row = bulk.inbound(iid)
    assert (row.state, row.reason) == ("held", "bulk-no-author")
    assert bulk.appeals() == [] and bulk.kinds() == []
    (held,) = bulk.events("bulk-mail-held")
    assert held.data == {"evidence": "precedence:list+list-id+list-unsubscribe"}


def test_real_auto_reply_through_a_list_is_still_an_auto_reply(bulk: Any) -> None:
    raw = (
        "From: Оксана Гнатюк <oksana.hn@example.com>\n"
        "To: appeals@council.example\n"
        "Subject: Автоматична відповідь: Громада\n"
        "Message-ID: <oof-1@example.com>\n"
        "Auto-Submitted: auto-replied\n"
        "List-Id: <hromada-lutsk.googlegroups.com>\n"
        "Precedence: bulk\n"
        "MIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=utf-8\n\n"
        "Я у відпустці до 1 грудня.\n"
    ).encode()
    iid = bulk.deliver(raw, mail_from="oksana.hn@example.com")
    row = bulk.inbound(iid)
    assert (row.state, row.role) == ("discarded", "autoreply")
    assert bulk.appeals() == []
