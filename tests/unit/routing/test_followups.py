"""What a citizen's reply to a finished appeal says: a plain thank-you, a disagreement with
the decision (a complaint), or something else (the moves that re-open a returned or
not-considered appeal are in test_lifecycle.py)."""

from __future__ import annotations

import pytest

from routing.followups import disagrees, is_pure_thanks, is_status_request

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


@pytest.mark.parametrize(
    "text",
    [
        "статус",
        "Статус?",
        "Який статус мого звернення A-2026-000017?",
        "Добрий день! Підкажіть, будь ласка, статус.\nМикола Шевчук",
        "status please",
        "Каков статус моего обращения?",
        "#status",
        "Дякую.\n#статус",
    ],
)
def test_status_requests_are_recognised(text: str) -> None:
    assert is_status_request(text, "Микола Шевчук")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Статус ділянки змінили без мене, прошу перевірити рішення сесії.",
        "Дякую за відповідь",
        "Стан дороги на вул. Шопена жахливий, ями після кожного дощу.",
        "Прошу додати до звернення фото ям.",
    ],
)
def test_other_replies_are_not_status_requests(text: str) -> None:
    assert not is_status_request(text, "Микола Шевчук")
