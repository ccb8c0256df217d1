"""From the real `run` command: an appeal over SMTP produces the acknowledgement and the
forward within seconds, over real sockets only."""

from __future__ import annotations

import email
import smtplib
import time
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import gwtest


def test_appeal_in_ack_and_forward_out(tmp_path: Path, capture_relay: Any) -> None:
    port = gwtest.free_port()
    # A fresh install: no model yet, so the first run trains the starter model itself.
    settings = gwtest.write_settings(tmp_path, port, capture_relay.port, trained_starter=False)
    proc = gwtest.start(settings, tmp_path / "gateway.log")
    try:
        m = EmailMessage()
        m["From"] = "Петро Сидоренко <petro@example.org>"
        m["To"] = "appeals@council.example"
        m["Subject"] = "Яма на дорозі"
        m["Message-ID"] = "<e2e-1@example.org>"
        m.set_content(
            "Доброго дня. На вулиці Рівненській біля будинку 12 велика яма на проїжджій "
            "частині, машини пошкоджують колеса. Прошу відремонтувати дорожнє покриття.\n\n"
            "З повагою, Петро Сидоренко\nм. Луцьк, вул. Рівненська, 12, кв. 3"
        )
        t0 = time.monotonic()
        with smtplib.SMTP("127.0.0.1", port) as smtp:
            smtp.send_message(m)
        while time.monotonic() - t0 < 20 and len(capture_relay.snapshot()) < 2:
            time.sleep(0.05)
        elapsed = time.monotonic() - t0
        msgs = capture_relay.snapshot()
        assert len(msgs) == 2, (tmp_path / "gateway.log").read_text(errors="replace")[-2000:]
        assert elapsed < 20
        parsed = {
            m.rcpt_tos[0]: email.message_from_bytes(m.data, policy=policy.default) for m in msgs
        }
        ack = parsed.pop("petro@example.org")
        ((dept_addr, fwd),) = parsed.items()
        assert dept_addr.endswith("@council.example")
        reg_no = ack["Subject"].split("]")[0].lstrip("[")
        assert reg_no.startswith("A-")
        ack_text = ack.get_body().get_content()
        assert reg_no in ack_text and "Строк розгляду" in ack_text
        fwd_text = fwd.get_body().get_content()
        assert "Рівненській" in fwd_text and "petro@example.org" in fwd_text
        assert fwd["Reply-To"].startswith("reply+")
        assert ack["Auto-Submitted"] == "auto-replied"
        assert fwd["Auto-Submitted"] == "auto-generated"
        log = (tmp_path / "gateway.log").read_text(errors="replace")
        assert "trained the starter topic model" in log
    finally:
        proc.terminate()
        proc.wait(timeout=30)
