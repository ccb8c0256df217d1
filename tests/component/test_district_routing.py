"""The routing chain through the worker: the district found from the address in a
letter's signature by the council's street register, the district's own rule; no
district, the body from the text alone; nothing sure, triage. Each `routed` event says
which path decided. A district staff correct (`appeals appeal set-district`) teaches the
register a street it lacked."""

from __future__ import annotations

import json
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import gwtest
import pytest
from sqlalchemy import select

from gateway.cli import main
from models import Appeal, AppealEvent, StreetObservation
from routing.mail import Envelope

ZAL_OFFICE = {
    "code": "housing_zal",
    "name": "Житлово-комунальна служба Залізничного району",
    "email": "zhks-zal-staff@council.example",
}
STREETS = """street,kind,aliases,district,from_house,to_house,parity
Городоцька,вулиця,Городокская,Центральний,1,79,
Городоцька,вулиця,Городокская,Залізничний,80,,
Шевченка,проспект,,Центральний,,,
Північна,вулиця,,Південний,,,
"""
VAGUE = "Прошу розглянути моє звернення та надати відповідь у встановлений законом строк."
HOUSING = "Прорвало стояк опалення в підвалі нашого будинку, холодні батареї у квартирах."


def _eml(i: int, body: str, signature: str) -> bytes:
    m = EmailMessage()
    m["From"] = f"Мешканець {i} <m{i}@example.org>"
    m["To"] = "appeals@council.example"
    m["Subject"] = "Звернення"
    m.set_content(f"{body}\n\nЗ повагою,\nМешканець {i}\n{signature}".rstrip() + "\n")
    return m.as_bytes()


@pytest.fixture
def settings_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("APPEALS_TOKEN_KEY", "k")
    (tmp_path / "streets.csv").write_text(STREETS, encoding="utf-8")
    return gwtest.write_settings(
        tmp_path,
        0,
        gwtest.free_port(),
        extra_departments=(ZAL_OFFICE,),
        classifier={"train_on_first_run": True},
        routing={"street_register": str(tmp_path / "streets.csv")},
    )


def _routed(s: Any, appeal: Appeal) -> dict[str, Any]:
    event = s.scalars(
        select(AppealEvent).where(AppealEvent.appeal_id == appeal.id, AppealEvent.type == "routed")
    ).one()
    return dict(event.data)


def test_chain_records_its_path_and_learns_corrected_streets(
    settings_file: Path, tmp_path: Path, capsys: Any
) -> None:
    from gateway.app import build_app, prepare
    from gateway.settings import load_settings

    rules = tmp_path / "rules.json"
    rules.write_text(
        json.dumps(
            {
                "table": [
                    {"topic": "housing", "district": "Залізничний", "department": "housing_zal"}
                ]
            }
        ),
        encoding="utf-8",
    )
    assert main(["--settings", str(settings_file), "routing", "apply", str(rules)]) == 0
    app = build_app(load_settings(settings_file))
    prepare(app)
    worker = app.worker()
    letters = [
        (HOUSING, "79000, м. Львів, вул. Городоцька, 120, кв. 5"),  # split street, high part
        (HOUSING, "просп. Шевченка, 7"),  # a street named like Шевченківський district
        (HOUSING, "м. Київ, вул. Хрещатик, 22"),  # an address the register does not know
        (VAGUE, "м. Київ, вул. Хрещатик, 24"),  # nothing the model is sure of
        (HOUSING, "вул. Нова, 5"),  # a street the register lacks
    ]
    for i, (body, signature) in enumerate(letters):
        app.ingest().accept(
            _eml(i, body, signature),
            Envelope("smtp", f"m{i}@example.org", ("appeals@council.example",)),
        )
    while worker.run_once():
        pass
    with app.sessions() as s:
        appeals = s.scalars(select(Appeal).order_by(Appeal.id)).all()
        got = [
            (a.district, a.department.code, _routed(s, a)["path"], _routed(s, a)["district_by"])
            for a in appeals
        ]
        reg_no_new_street = appeals[4].reg_no
    assert got == [
        ("Залізничний", "housing_zal", "district", "street+house"),
        ("Центральний", "housing", "text", "street"),
        (None, "housing", "text", "none"),
        (None, "triage", "triage", "none"),
        (None, "housing", "text", "none"),
    ]

    # Staff say where вул. Нова is; the next letter from that street is routed by it.
    cli = ["--settings", str(settings_file), "appeal", "set-district"]
    assert main([*cli, reg_no_new_street, "Марс"]) == 1
    assert "unknown district" in capsys.readouterr().err
    assert main([*cli, reg_no_new_street, "Залізничний"]) == 0
    with app.sessions() as s:
        learned = s.scalars(select(StreetObservation)).one()
        assert (learned.street, learned.house, learned.district, learned.source) == (
            "Нова",
            5,
            "Залізничний",
            "corrected",
        )
    app.ingest().accept(
        _eml(9, HOUSING, "ул. Новая, д. 11"),
        Envelope("smtp", "m9@example.org", ("appeals@council.example",)),
    )
    while worker.run_once():
        pass
    with app.sessions() as s:
        last = s.scalars(select(Appeal).order_by(Appeal.id.desc())).first()
        assert last is not None
        routed = _routed(s, last)
        assert (last.district, last.department.code, routed["path"], routed["district_by"]) == (
            "Залізничний",
            "housing_zal",
            "district",
            "learned",
        )


def test_a_final_answer_confirms_the_district_for_the_register(
    make_app: Any, tmp_path: Path
) -> None:
    import email
    from email import policy

    from models import OutboundMessage

    (tmp_path / "streets.csv").write_text(STREETS, encoding="utf-8")
    app = make_app({"routing": {"street_register": str(tmp_path / "streets.csv")}})
    app.ingest().accept(
        _eml(1, HOUSING, "вул. Городоцька, 120, кв. 5"),
        Envelope("smtp", "m1@example.org", ("appeals@council.example",)),
    )
    app.worker().run_once(10)
    with app.sessions() as s:
        appeal = s.scalars(select(Appeal)).one()
        assert appeal.district == "Залізничний"
        assert s.scalars(select(StreetObservation)).all() == []  # routed is not confirmed
        fwd_row = s.scalars(
            select(OutboundMessage).where(OutboundMessage.kind.like("department/%"))
        ).one()
        fwd = email.message_from_bytes(fwd_row.raw, policy=policy.default)
        staff = fwd_row.first_recipient
    reply = EmailMessage()
    reply["From"] = f"Staff <{staff}>"
    reply["To"] = fwd["Reply-To"]
    reply["Subject"] = "Re: " + str(fwd["Subject"])
    reply["In-Reply-To"] = fwd["Message-ID"]
    reply.set_content("Стояк відремонтовано, опалення відновлено.\n\nЗ повагою,\nСлужба\n")
    app.ingest().accept(
        reply.as_bytes(policy=policy.SMTP), Envelope("smtp", staff, (str(fwd["Reply-To"]),))
    )
    app.worker().run_once(10)
    with app.sessions() as s:
        assert s.scalars(select(Appeal)).one().state == "closed"
        learned = s.scalars(select(StreetObservation)).one()
        assert (learned.street_key, learned.house, learned.district, learned.source) == (
            "городоцк",
            120,
            "Залізничний",
            "confirmed",
        )
