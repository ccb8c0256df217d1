"""More of the mail a council gets in a day, each letter in the shape its client writes
(`clients.py`), through the running gateway, asserting on the letters that come out:

- a KOI8-U letter from The Bat!, and the citizen's Apple Mail reply to its acknowledgement;
- an Outlook desktop letter (Word HTML) with a scanned PDF, an interim answer from Outlook
  on the web, the citizen's iPhone reply to it, `#extend` from Outlook, the citizen's
  Gmail-for-Android reply to the extension notice, and the final answer S/MIME-signed with
  a PDF, relayed with the PDF byte-identical;
- an anonymous ukr.net letter, not considered, and the reply that gives name and address;
- an Outlook-on-the-web letter with a picture pasted inline (cid:), a staff `#redirect`
  from Thunderbird, and the citizen's Gmail reply to the "redirected" notice;
- a Gmail letter with a program attached, and the citizen's Thunderbird reply to the
  "not accepted" letter with a PDF instead.
"""

from __future__ import annotations

import json

from clients import (
    apple_mail_reply,
    b64,
    gmail_android_reply,
    gmail_web,
    ios_mail_reply,
    koi8u_the_bat,
    outlook_desktop,
    owa_related,
    owa_reply,
    smime_outlook_reply,
    thunderbird_reply,
    ukrnet_reply,
    ukrnet_webmail,
)
from harness import Gateway, Letter, by_rcpt

PDF = (
    b"%PDF-1.4\n%\xc7\xec\x8f\xa2\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)
SCAN = PDF.replace(b"%%EOF", b"%scanned at 300 dpi\n%%EOF")
PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000100000001008060000001ff3ff61") + bytes(
    range(200)
)
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + bytes(240)
ZHKG = "zhkg-staff@council.example"


def show(gateway: Gateway, reg_no: str) -> dict:
    return json.loads(gateway.cli("appeal", "show", reg_no))


def kinds(letters: list[Letter]) -> dict[str, Letter]:
    out = {lt.kind: lt for lt in letters}
    assert len(out) == len(letters), [(lt.rcpt, lt.kind) for lt in letters]
    return out


def test_koi8u_letter_and_an_apple_mail_reply_to_the_acknowledgement(gateway: Gateway) -> None:
    citizen = "m.hrytsiuk@ukrpost.ua"
    text = (
        "Добрий день!\n\nНа перехресті вулиць Ґонти та Єршова вже тиждень не працює "
        "світлофор, водії їздять навмання, діти переходять дорогу з ризиком.\n\n"
        "Мирослава Грицюк\nм. Луцьк, вул. Ґонти, 9, кв. 21\n"
    )
    raw = koi8u_the_bat(
        citizen, "Мирослава Грицюк", "transport@council.example", "Світлофор на Ґонти", text, 1
    )
    gateway.send(raw, citizen, ["transport@council.example"])
    out = by_rcpt(gateway.wait_letters(2))
    ack, fwd = out[citizen], out["transport-staff@council.example"]
    assert ack.kind == "citizen/ack" and fwd.kind == "department/assigned"
    # KOI8-U read as KOI8-U: ґ, є, і, ї survive.
    assert "перехресті вулиць Ґонти та Єршова" in fwd.text
    assert "Мирослава Грицюк" in fwd.text and "Світлофор на Ґонти" in fwd.subject

    gateway.send(
        apple_mail_reply(
            ack,
            citizen,
            "Мирослава Грицюк",
            "Доповнюю: світлофор не працює і вночі, минулої ночі там була аварія.",
            1,
        ),
        citizen,
        [str(ack.msg["Reply-To"])],
    )
    (followup,) = gateway.wait_letters(1)
    assert (followup.rcpt, followup.kind) == (
        "transport-staff@council.example",
        "department/followup",
    )
    assert ack.reg_no in followup.subject
    assert "минулої ночі там була аварія" in followup.text
    assert "Звернення громадян <appeals@council.example> написав" not in followup.text


def test_outlook_scan_interim_extend_and_a_signed_final_answer(gateway: Gateway) -> None:
    citizen = "a.romaniuk@outlook.com"
    name = "Андрій Романюк"
    text = (
        "Доброго дня!\n\nПрошу перевірити стан даху будинку на вул. Гордіюк, 21: після "
        "кожного дощу протікає стеля на п'ятому поверсі. Акт обстеження від ОСББ додаю "
        "(скан).\n\nЗ повагою,\nАндрій Романюк\nм. Луцьк, вул. Гордіюк, 21, кв. 57"
    )
    raw = outlook_desktop(
        citizen,
        name,
        "zhkg@council.example",
        "Протікає дах",
        text,
        11,
        [("Акт обстеження.pdf", "application/pdf", SCAN)],
    )
    gateway.send(raw, citizen, ["zhkg@council.example"])
    out = by_rcpt(gateway.wait_letters(2))
    ack, fwd = out[citizen], out[ZHKG]
    assert "протікає стеля на п'ятому поверсі" in fwd.text
    assert "MsoNormal" not in fwd.text and "o:p" not in fwd.text
    assert fwd.attachments == {"Акт обстеження.pdf": SCAN}

    # An interim answer from Outlook on the web.
    gateway.send(
        owa_reply(fwd, ZHKG, "Ірина Мельник", "#interim\nОгляд даху призначено на 10 грудня.", 21),
        ZHKG,
        [str(fwd.msg["Reply-To"])],
    )
    got = kinds(gateway.wait_letters(2))
    interim = got["citizen/answer"]
    assert interim.rcpt == citizen and "Огляд даху призначено на 10 грудня" in interim.text
    assert "Проміжна" in interim.subject
    assert got["department/confirmed"].rcpt == ZHKG
    assert show(gateway, ack.reg_no)["state"] == "answered"

    # The citizen answers the interim answer from an iPhone: an addition for the department.
    gateway.send(
        ios_mail_reply(
            interim, citizen, name, "Дякую. Прошу врахувати, що вода тече вже й до четвертого.", 1
        ),
        citizen,
        [str(interim.msg["Reply-To"])],
    )
    (followup,) = gateway.wait_letters(1)
    assert (followup.rcpt, followup.kind) == (ZHKG, "department/followup")
    assert "вода тече вже й до четвертого" in followup.text
    assert "о 12:10 Звернення громадян" not in followup.text  # the quoted letter stays behind

    # `#extend` from Outlook desktop; the citizen asks back from Gmail on Android.
    extend = owa_reply(fwd, ZHKG, "Ірина Мельник", "#extend 15 потрібен висновок підрядника", 22)
    gateway.send(extend, ZHKG, [str(fwd.msg["Reply-To"])])
    got = kinds(gateway.wait_letters(2))
    notice = got["citizen/extended"]
    assert notice.rcpt == citizen and "потрібен висновок підрядника" in notice.text
    gateway.send(
        gmail_android_reply(notice, citizen, name, "Чому так довго? Стеля може обвалитися.", 1),
        citizen,
        [str(notice.msg["Reply-To"])],
    )
    (followup,) = gateway.wait_letters(1)
    assert (followup.rcpt, followup.kind) == (ZHKG, "department/followup")
    assert "Стеля може обвалитися" in followup.text

    # The final answer, S/MIME-signed in Outlook, with the signed decision as a PDF.
    decision = PDF.replace(b"%%EOF", b"%decision no. 1187\n%%EOF")
    gateway.send(
        smime_outlook_reply(
            fwd,
            ZHKG,
            "Ірина Мельник",
            "Дах відремонтовано 14.12.2026, рішення додаю.",
            ("Рішення_1187.pdf", "application/pdf", decision),
            1,
        ),
        ZHKG,
        [str(fwd.msg["Reply-To"])],
    )
    (answer,) = gateway.wait_letters(1)
    assert (answer.rcpt, answer.kind) == (citizen, "citizen/answer")
    assert "Дах відремонтовано 14.12.2026" in answer.text
    assert "-----Original Message-----" not in answer.text
    assert answer.attachments["Рішення_1187.pdf"] == decision
    assert show(gateway, ack.reg_no)["state"] == "closed"


def test_anonymous_ukrnet_letter_and_the_reply_that_names_the_writer(gateway: Gateway) -> None:
    citizen = "zhytel.lutska@ukr.net"
    text = (
        "Доброго дня.\n\nУ сквері біля кінотеатру «Промінь» зламані лавки і не вивозять "
        "сміття вже два тижні.\n\nМешканець"
    )
    gateway.send(
        ukrnet_webmail(citizen, "appeals@council.example", "Сквер біля «Променя»", text, 1),
        citizen,
        ["appeals@council.example"],
    )
    (letter,) = gateway.wait_letters(1)
    assert (letter.rcpt, letter.kind) == (citizen, "citizen/not_considered")
    assert show(gateway, letter.reg_no)["state"] == "not_considered"

    reply = (
        "Виправляюся: мене звати Степан Олексійович Бондарчук, проживаю за адресою "
        "м. Луцьк, вул. Кривий Вал, 34, кв. 2."
    )
    gateway.send(
        ukrnet_reply(letter, citizen, reply, 2, "Степан Бондарчук"),
        citizen,
        [str(letter.msg["Reply-To"])],
    )
    got = gateway.wait_letters(2)
    to_citizen = [lt for lt in got if lt.rcpt == citizen]
    to_dept = [lt for lt in got if lt.rcpt != citizen]
    assert len(to_citizen) == 1 and to_citizen[0].reg_no == letter.reg_no
    assert len(to_dept) == 1 and "зламані лавки" in to_dept[0].text
    assert "вул. Кривий Вал, 34" in to_dept[0].text
    assert show(gateway, letter.reg_no)["state"] == "routed"


def test_inline_picture_a_redirect_and_a_reply_to_the_redirected_notice(gateway: Gateway) -> None:
    citizen = "olha.tkachenko@council-friends.org"
    text = (
        "Добрий день!\n\nНа зупинці «Центральний ринок» зламаний навіс, фото нижче. "
        "Люди стоять під дощем.\n\nОльга Ткаченко\nм. Луцьк, вул. Ярощука, 6, кв. 12"
    )
    gateway.send(
        owa_related(
            citizen, "Ольга Ткаченко", "zhkg@council.example", "Навіс на зупинці", text, PNG, 1
        ),
        citizen,
        ["zhkg@council.example"],
    )
    out = by_rcpt(gateway.wait_letters(2))
    ack, fwd = out[citizen], out[ZHKG]
    assert "зламаний навіс" in fwd.text
    assert list(fwd.attachments.values()) == [PNG]  # the pasted picture goes with it

    gateway.send(
        thunderbird_reply(fwd, ZHKG, "Департамент ЖКГ", "#redirect transport зупинки", 1),
        ZHKG,
        [str(fwd.msg["Reply-To"])],
    )
    got = gateway.wait_letters(3)
    by = {(lt.rcpt, lt.kind) for lt in got}
    assert (citizen, "citizen/redirected") in by
    assert ("transport-staff@council.example", "department/reassigned") in by
    moved = next(lt for lt in got if lt.kind == "department/reassigned")
    assert list(moved.attachments.values()) == [PNG]
    redirected = next(lt for lt in got if lt.kind == "citizen/redirected")

    gateway.send(
        gmail_web(
            citizen,
            "Ольга Ткаченко",
            str(redirected.msg["Reply-To"]),
            "Re: " + redirected.subject,
            "Дякую, чекаю. Навіс уже зовсім упав, тепер там небезпечно стояти.",
            "CAGk2x9WzQ1",
        ).replace(
            "MIME-Version: 1.0\n",
            f"MIME-Version: 1.0\nIn-Reply-To: {redirected.msg['Message-ID']}\n",
            1,
        ),
        citizen,
        [str(redirected.msg["Reply-To"])],
    )
    (followup,) = gateway.wait_letters(1)
    assert (followup.rcpt, followup.kind) == (
        "transport-staff@council.example",
        "department/followup",
    )
    assert "Навіс уже зовсім упав" in followup.text
    assert ack.reg_no in followup.subject


def test_a_program_is_refused_and_the_reply_with_a_pdf_is_forwarded(gateway: Gateway) -> None:
    citizen = "yurii.savchuk@gmail.com"
    text = (
        "Добрий день!\n\nУ дворі нашого будинку на вул. Стрілецькій, 8 вже місяць стоїть "
        "розбита машина без номерів. Фото в архіві.\n\nЮрій Савчук\nм. Луцьк, "
        "вул. Стрілецька, 8, кв. 4"
    )
    gateway.send(
        gmail_web(
            citizen,
            "Юрій Савчук",
            "appeals@council.example",
            "Покинуте авто у дворі",
            text,
            "CAJp4rS8nV2",
            [("фото.exe", "application/octet-stream", EXE)],
        ),
        citizen,
        ["appeals@council.example"],
    )
    got = gateway.wait_letters(3)
    mine = kinds([lt for lt in got if lt.rcpt == citizen])
    fwd = next(lt for lt in got if lt.rcpt != citizen)
    refused = mine["citizen/attachments_refused"]
    assert "фото.exe" in refused.text and "citizen/ack" in mine
    assert fwd.attachments == {}  # the program is not forwarded ...
    assert "фото.exe" in fwd.text  # ... and the department is told so

    reply = thunderbird_reply(
        refused, citizen, "Юрій Савчук", "Надсилаю фото як PDF, вибачте.", 3
    ).replace(
        "Content-Type: text/plain; charset=UTF-8; format=flowed\nContent-Transfer-Encoding: 8bit\n",
        'Content-Type: multipart/mixed; boundary="------------b0Unda7y"\n\n'
        "--------------b0Unda7y\n"
        "Content-Type: text/plain; charset=UTF-8; format=flowed\n"
        "Content-Transfer-Encoding: 8bit\n",
        1,
    ) + (
        '\n--------------b0Unda7y\nContent-Type: application/pdf; name="foto.pdf"\n'
        'Content-Disposition: attachment; filename="foto.pdf"\n'
        "Content-Transfer-Encoding: base64\n\n" + b64(SCAN) + "\n\n--------------b0Unda7y--\n"
    )
    gateway.send(reply, citizen, [str(refused.msg["Reply-To"])])
    (followup,) = gateway.wait_letters(1)
    assert followup.kind == "department/followup" and followup.rcpt == fwd.rcpt
    assert followup.attachments == {"foto.pdf": SCAN}
    assert "Надсилаю фото як PDF" in followup.text
