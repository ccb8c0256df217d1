"""Letters to staff, rendered from the shipped templates: a refused command is explained in
the letter's language (never half in English), every command has its confirmation, and
forwards and help letters list the department codes `#redirect` takes; every letter to a
citizen opens with the one greeting `routing.views` gives, and a relayed answer that
greets the citizen itself gets no second one."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from gateway.outbound.notify import Renderer
from routing.attachments import AttachmentLimits
from routing.deadlines import DeadlineRules, ExtensionRefused, WorkCalendar, extend
from routing.greeting import greetings

REPO = Path(__file__).resolve().parents[3]
RENDER = Renderer([REPO / "templates"])
CYRILLIC = re.compile("[\u0400-\u04ff]")
DEPARTMENTS = [
    {"code": "housing", "name": "Департамент житлово-комунального господарства"},
    {"code": "public-info", "name": "Відділ доступу до публічної інформації"},
]


def context(kind: str = "appeal", **extra: Any) -> dict[str, Any]:
    return {
        "instance": {"name": "Міська рада", "name_en": "City Council", "admin_email": "a@x.ua"},
        "appeal": {
            "reg_no": "A-2026-000007" if kind == "appeal" else "I-2026-000007",
            "kind": kind,
            "urgent": False,
            "received": "06.11.2026 10:00",
            "receipt_date": "06.11.2026",
            "due_date": "21.12.2026",
            "due_at": None,
            "subject": "Subject",
            "text": "Text",
            "topic": None,
            "citizen_name": "",
            "greeting": greetings(""),
            "citizen_email": "c@x.ua",
            "citizen_address": "",
            "citizen_phone": "",
            "priority": 0,
            "privileged_category": None,
            "extended_days": 0,
            "followup_of": "",
            "complaint": False,
            "reopened_from": "",
            "bulk_mail": None,
        },
        "department": {"code": "housing", "name": "Housing", "email": "h@x.ua", "triage": False},
        "departments": DEPARTMENTS,
        **extra,
    }


def refusal(kind: str, days: int, **kw: Any) -> dict[str, Any]:
    """The help letter's `problem` for an `#extend` the law refuses, as routing.answers
    builds it."""
    cal = WorkCalendar(DeadlineRules())
    receipt = date(2026, 11, 6)  # day 30 is a Sunday: the due date was moved to Monday
    due = kw.pop("due", date(2026, 12, 7))
    with pytest.raises(ExtensionRefused) as exc:
        extend(kind, receipt, due, days, cal, requested_on=kw.pop("on", receipt), **kw)  # type: ignore[arg-type]
    return {"code": f"extend-{exc.value.code}", **exc.value.params}


def problem_line(body: str) -> str:
    return body.split("\n", 1)[0]


@pytest.mark.parametrize(
    ("kind", "problem", "uk", "en"),
    [
        pytest.param(
            "appeal",
            lambda: refusal("appeal", 16),
            "загальний строк від дня надходження становив би 46 днів, а ст. 20 Закону України "
            "«Про звернення громадян» дозволяє не більше 45 днів; можна продовжити ще "
            "щонайбільше на 15 днів",
            "the term would be 46 days from receipt",
            id="30-day-appeal-extend-16",
        ),
        pytest.param(
            "appeal",
            lambda: refusal("appeal", 1, term_so_far=45, due=date(2026, 12, 21)),
            "дозволяє не більше 45 днів; строк уже продовжено до граничного",
            "the term is already at its limit",
            id="already-at-45",
        ),
        pytest.param(
            "appeal",
            lambda: refusal("appeal", 5, on=date(2026, 12, 8)),
            "строк розгляду вже минув (07.12.2026), продовжити його неможливо",
            "the term has already expired (07.12.2026)",
            id="expired",
        ),
        pytest.param(
            "info_request",
            lambda: refusal("info_request", 16, due=date(2026, 11, 13)),
            "становив би 21 робочий день, а ч. 4 ст. 20 Закону України «Про доступ до "
            "публічної інформації» дозволяє не більше 20 робочих днів",
            "the term would be 21 working days from receipt",
            id="request-past-20-working-days",
        ),
        pytest.param(
            "info_request",
            lambda: refusal(
                "info_request", 5, due=date(2026, 11, 27), on=date(2026, 11, 16), term_so_far=10
            ),
            "протягом перших 5 робочих днів (до 13.11.2026",
            "within the first 5 working days (by 13.11.2026",
            id="request-notice-too-late",
        ),
        pytest.param(
            "info_request",
            lambda: refusal("info_request", 2, due=date(2026, 11, 8), urgent=True),
            "строк 48 годин",
            "a 48-hour term",
            id="urgent-request",
        ),
        pytest.param(
            "appeal",
            lambda: {"code": "unknown-command", "command": "escalate"},
            "невідома команда #escalate",
            "unknown command #escalate",
            id="unknown-command",
        ),
        pytest.param(
            "appeal",
            lambda: {"code": "unknown-department", "department": "roads"},
            "невідомий код підрозділу «roads»",
            'unknown department code "roads"',
            id="unknown-department",
        ),
        pytest.param(
            "info_request",
            lambda: {"code": "command-for-appeals", "command": "external"},
            "передайте розпоряднику: #holder",
            "with #holder <address> <reason>",
            id="external-on-a-request",
        ),
        pytest.param(
            "appeal",
            lambda: {"code": "command-for-requests", "command": "holder"},
            "пересилається командою #external",
            "with #external <address> <reason>",
            id="holder-on-an-appeal",
        ),
        pytest.param(
            "appeal",
            lambda: {"code": "characteristic-format", "command": "type"},
            "після #type має бути: скарга, пропозиція, заява; жодної зміни не внесено",
            "#type takes: complaint, proposal, application; nothing was changed",
            id="bad-correction",
        ),
    ],
)
def test_refused_command_explained_in_the_letters_language(
    kind: str, problem: Any, uk: str, en: str
) -> None:
    p = problem()
    _, body_uk = RENDER.render("department/command_help", "uk", context(kind, problem=p))
    line = problem_line(body_uk)
    assert uk in line
    # Nothing in English: Latin letters only in commands and their placeholders.
    assert not re.search(r"[A-Za-z]", re.sub(r"#\w+|<[^>]*>|«[a-z]+»|[AI]-2026-\d+", "", line)), (
        line
    )
    _, body_en = RENDER.render("department/command_help", "en", context(kind, problem=p))
    assert en in problem_line(body_en)
    assert not CYRILLIC.search(
        body_en.replace(DEPARTMENTS[0]["name"], "").replace(DEPARTMENTS[1]["name"], "")
    ), body_en
    # The help letter lists the commands of the item's kind and the department codes.
    assert ("  #holder <адреса> <причина>" in body_uk) == (kind == "info_request")
    assert ("  #external <адреса> <причина>" in body_uk) == (kind == "appeal")
    assert "Коди підрозділів для #redirect:" in body_uk
    assert "public-info    Відділ доступу до публічної інформації" in body_uk


@pytest.mark.parametrize(
    ("kind", "confirmed", "uk", "en"),
    [
        pytest.param("appeal", {"command": "interim"}, "Проміжну відповідь", "interim answer"),
        pytest.param(
            "appeal",
            {"command": "extend", "term": 45, "reason": "обстеження"},
            "Загальний строк: 45 днів від дня надходження (06.11.2026)",
            "Term in total: 45 days from receipt",
        ),
        pytest.param(
            "info_request",
            {"command": "extend", "term": 20, "reason": "великий обсяг"},
            "Загальний строк: 20 робочих днів від дня надходження",
            "Term in total: 20 working days from receipt",
        ),
        pytest.param("appeal", {"command": "redirect"}, "передано на розгляд: Housing", "Housing"),
        pytest.param(
            "appeal",
            {"command": "external", "address": "body@x.ua", "reason": "обленерго"},
            "переслано за належністю: body@x.ua",
            "forwarded to the competent body: body@x.ua",
        ),
        pytest.param(
            "info_request",
            {
                "command": "holder",
                "address": "holder@x.ua",
                "reason": "у них",
                "forward_by": "13.11.2026",
                "late": False,
            },
            "передано розпоряднику інформації: holder@x.ua",
            "passed to the holder of the information",
        ),
        pytest.param(
            "appeal",
            {
                "command": "type, #category",
                "changes": [
                    {
                        "field": "type",
                        "field_uk": "вид звернення",
                        "value": "complaint",
                        "value_uk": "скарга",
                    },
                    {
                        "field": "category",
                        "field_uk": "категорія автора",
                        "value": "combat_veteran",
                        "value_uk": "учасник бойових дій",
                    },
                ],
            },
            "вид звернення: скарга\n  категорія автора: учасник бойових дій",
            "type: complaint\n  category: combat_veteran",
            id="corrections",
        ),
    ],
)
def test_every_command_has_a_confirmation(
    kind: str, confirmed: dict[str, Any], uk: str, en: str
) -> None:
    subject, body = RENDER.render("department/confirmed", "uk", context(kind, confirmed=confirmed))
    assert f"#{confirmed['command']} виконано" in subject
    assert uk in body
    subject_en, body_en = RENDER.render(
        "department/confirmed", "en", context(kind, confirmed=confirmed)
    )
    assert f"#{confirmed['command']} carried out" in subject_en and en in body_en
    assert not CYRILLIC.search(body_en.replace(confirmed.get("reason", ""), ""))


def test_triage_forward_asks_for_the_responsible_department() -> None:
    ctx = context()
    ctx["department"] = {**ctx["department"], "triage": True}
    subject, body = RENDER.render("department/assigned", "uk", ctx)
    assert "визначте відповідальний підрозділ: #redirect <код>" in body
    assert subject.startswith("[A-2026-000007] Сортування")
    assert "housing        Департамент житлово-комунального господарства" in body
    _, plain = RENDER.render("department/assigned", "uk", context())
    assert "визначте відповідальний підрозділ" not in plain
    assert "Коди підрозділів для #redirect:" in plain


def test_request_letters_speak_of_a_request_under_its_own_law() -> None:
    ctx = context("info_request")
    subject, ack = RENDER.render("citizen/info_ack", "uk", ctx)
    assert subject.endswith("Ваш запит на інформацію зареєстровано")
    assert "Закону України «Про доступ до публічної інформації»" in ack.replace("\n", " ")
    assert "Щоб доповнити запит" in ack and "5 робочих днів" in ack
    _, fwd = RENDER.render("department/info_assigned", "uk", ctx)
    assert "#holder" in fwd and "#external" not in fwd and "45" not in fwd
    assert "20 робочих днів" in fwd and "звернення" not in fwd
    for name in ("citizen/info_ack", "citizen/info_extended", "citizen/info_passed"):
        _, body = RENDER.render(
            name,
            "uk",
            {**ctx, "extension": {"reason": "r"}, "holder": {"address": "h@x.ua", "reason": "r"}},
        )
        assert "звернення" not in body.lower(), name
    _, answer = RENDER.render(
        "citizen/info_answer",
        "uk",
        {**ctx, "answer": {"text": "Текст", "final": True, "greeted": False}},
    )
    assert "запит на інформацію" in answer and "ст. 23" in answer


@pytest.mark.parametrize("language", ["uk", "en"])
def test_the_status_letter_tells_state_term_and_history_in_plain_words(language: str) -> None:
    # A citizen's letter (`citizen/status`), in the same shape of context as staff letters.
    status = {
        "state": "answered",
        "result": None,
        "events": [
            {"at": "06.11.2026", "type": "registered", "final": False, "new_due": ""},
            {"at": "10.11.2026", "type": "redirected", "final": False, "new_due": ""},
            {"at": "12.11.2026", "type": "answer-relayed", "final": False, "new_due": ""},
            {"at": "20.11.2026", "type": "extended", "final": False, "new_due": "21.12.2026"},
        ],
    }
    subject, body = RENDER.render("citizen/status", language, context(status=status))
    assert "A-2026-000007" in subject
    expected = {
        "uk": (
            "надано проміжну відповідь, розгляд триває",
            "Розглядає:           Housing",
            "Строк розгляду:      до 21.12.2026",
            "10.11.2026  передано на розгляд іншому підрозділу",
            "12.11.2026  надіслано проміжну відповідь",
            "20.11.2026  строк розгляду продовжено до 21.12.2026",
        ),
        "en": (
            "an interim answer was given; consideration goes on",
            "Handled by:      Housing",
            "Due by:          21.12.2026",
            "10.11.2026  passed to another department",
            "12.11.2026  an interim answer was sent",
            "20.11.2026  the term was extended to 21.12.2026",
        ),
    }[language]
    for line in expected:
        assert line in body, body
    if language == "en":
        assert not CYRILLIC.search(body)


CITIZEN_LETTERS = sorted(
    p.name.removesuffix(".txt.j2") for p in (REPO / "templates" / "uk" / "citizen").glob("*.txt.j2")
)
EXTRA: dict[str, Any] = {
    "answer": {
        "text": "Ремонт двору включено до плану на травень.",
        "final": True,
        "greeted": False,
    },
    "extension": {"reason": "потрібна перевірка на місці"},
    "holder": {"address": "holder@oda.example", "reason": "не володіємо"},
    "external": {"address": "body@oda.example", "reason": "не наша компетенція"},
    "refused": [],
    "limits": AttachmentLimits().as_view(),
    "followup": False,
    "missing": [("адресу", "address")],
    "why": "anonymous",
    "original": {"reg_no": "A-2026-000001"},
    "again": False,
    "status": {"state": "routed", "result": None, "events": []},
}


def _citizen(name: str, kind: str = "appeal") -> dict[str, Any]:
    ctx = context(kind, **EXTRA)
    ctx["appeal"] = {**ctx["appeal"], "citizen_name": name, "greeting": greetings(name)}
    return ctx


@pytest.mark.parametrize("letter", CITIZEN_LETTERS)
@pytest.mark.parametrize(
    ("name", "uk", "en"),
    [
        ("Коваленко Марія Іванівна", "Шановна Маріє Іванівно!", "Dear Ms Коваленко,"),
        ("Олександр Петрович Шевченко", "Шановний Олександре Петровичу!", "Dear Mr Шевченко,"),
        ("Мария Ивановна", "Добрий день!", "Dear Мария Ивановна,"),
    ],
)
def test_every_citizen_letter_opens_with_the_greeting(
    letter: str, name: str, uk: str, en: str
) -> None:
    kind = "info_request" if letter.startswith("info_") else "appeal"
    ctx = _citizen(name, kind)
    for language, expected in (("uk", uk), ("en", en)):
        _, body = RENDER.render(f"citizen/{letter}", language, ctx)
        lines = [ln for ln in body.splitlines() if not ln.startswith("{")]
        assert lines[0] == expected, (letter, language, body[:200])
        assert lines[1] == "" and lines[2] != "", (letter, language, body[:200])
        assert "Шановний(а)" not in body
        # The name is declined, never repeated in the nominative in Ukrainian.
        assert language == "en" or name not in lines[0]


@pytest.mark.parametrize("letter", ["answer", "info_answer"])
def test_relayed_answer_with_its_own_greeting_has_one(letter: str) -> None:
    kind = "info_request" if letter.startswith("info_") else "appeal"
    own = "Доброго дня, Маріє Іванівно!\n\nРемонт двору включено до плану на травень."
    ctx = _citizen("Коваленко Марія Іванівна", kind)
    ctx["answer"] = {"text": own, "final": True, "greeted": True}
    _, body = RENDER.render(f"citizen/{letter}", "uk", ctx)
    assert "Шановна Маріє Іванівно!" not in body
    assert body.count("Маріє Іванівно") == 1
    assert body.index("Надсилаємо відповідь") < body.index("Доброго дня, Маріє Іванівно!")
    ctx["answer"] = {**ctx["answer"], "greeted": False, "text": "Ремонт буде у травні."}
    _, plain = RENDER.render(f"citizen/{letter}", "uk", ctx)
    assert plain.startswith("Шановна Маріє Іванівно!\n\nНадсилаємо відповідь")
