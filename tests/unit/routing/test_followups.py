"""What a citizen's reply to a finished appeal says: a plain thank-you, a disagreement with
the decision (a complaint), or something else; and the life-cycle moves that re-open a
returned or not-considered appeal."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from models import Appeal
from routing.followups import disagrees, is_pure_thanks
from routing.lifecycle import LifecycleError, move

NAME = "Оксана Бондар"


@pytest.mark.parametrize(
    "text",
    [
        "Дякую!",
        "дякую",
        "Щиро дякую за оперативну відповідь!",
        "Дуже дякую, все зрозуміло.\n\nЗ повагою,\nОксана Бондар",
        "Дякую, проблему вирішено.",
        "Спасибо большое за ответ!",
        "Thank you very much!\n\nSent from my iPhone",
        "Thanks!\nGet Outlook for iOS",
        "Дякую!\n\nНадіслано з iPhone",
        "Дякую\nОксана Бондар\nм. Луцьк, вул. Глушець, 3, кв. 9\n050 123 45 67",
    ],
)
def test_pure_thanks(text: str) -> None:
    assert is_pure_thanks(text, NAME, "м. Луцьк, вул. Глушець, 3, кв. 9", "050 123 45 67")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Добре.",  # no thanks at all: not a thank-you note
        "Дякую, але проблему не вирішено.",
        "Дякую за відповідь, проте дах і далі тече.",
        "Я не згодна з відповіддю, дякую.",
        "Thanks, but nobody came.",
        "Дякую! " + "Дуже дякую! " * 30,  # too long to be a mere note
    ],
)
def test_not_pure_thanks(text: str) -> None:
    assert not is_pure_thanks(text, NAME)


@pytest.mark.parametrize(
    "text",
    [
        "Я не згодна з відповіддю, ремонт потрібен зараз.",
        "Не погоджуюся з Вашим рішенням.",
        "Незгоден з відповіддю.",
        "Відповідь мене не задовольняє, прошу розглянути повторно.",
        "Мене не влаштовує така відповідь.",
        "Оскаржую цю відповідь.",
        "Це скарга на відповідь департаменту.",
        "Я не согласна с ответом.",
        "Ответ меня не устраивает.",
        "I disagree with the answer.",
        "I am not satisfied with this reply.",
    ],
)
def test_disagreement_is_a_complaint(text: str) -> None:
    assert disagrees(text)


@pytest.mark.parametrize(
    "text",
    [
        "А коли саме приїде бригада?",
        "Додаю фото даху після дощу.",
        "Дякую!",
        "Згодна, чекатиму на ремонт.",
    ],
)
def test_further_questions_are_not_complaints(text: str) -> None:
    assert not disagrees(text)


NOW = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)


def appeal(state: str) -> Appeal:
    return Appeal(
        reg_no="A-2026-000001", state=state, due_date=date(2026, 12, 23), closed_at=NOW, flags={}
    )


@pytest.mark.parametrize("state", ["returned", "not_considered"])
def test_returned_and_not_considered_appeals_can_be_reopened(state: str) -> None:
    a = appeal(state)
    move(a, "routed", NOW)
    assert a.state == "routed" and a.closed_at is None


@pytest.mark.parametrize("state", ["closed", "duplicate", "forwarded_external"])
def test_other_finished_appeals_stay_finished(state: str) -> None:
    a = appeal(state)
    with pytest.raises(LifecycleError):
        move(a, "routed", NOW)
    assert a.state == state and a.closed_at == NOW


def test_a_reopened_appeal_can_only_be_routed() -> None:
    with pytest.raises(LifecycleError):
        move(appeal("returned"), "answered", NOW)
