"""The internet reception served by `appeals run`: a citizen submits the form over HTTP
(with a photo), the browser's receipt page shows the registration number once the worker
has registered it, the acknowledgement leaves by e-mail with the number and the status
page's link, and the link opens the status page (nothing opens without it)."""

from __future__ import annotations

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx2
from harness import Gateway, by_rcpt

from gateway.outbound.webhooks import verify

PUBLIC = "https://priymalnia.council.example"
GATEWAY_SETTINGS = {
    "reception": {"public_url": PUBLIC, "min_fill_seconds": 1},
    "webhooks": {"first_retry_seconds": 1},
}
PHOTO = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 40


def _token(html: str) -> str:
    m = re.search(r'name="form_token" value="([^"]+)"', html)
    assert m, "no form token on the page"
    return m.group(1)


def _receiver(fail: int) -> tuple[ThreadingHTTPServer, list[tuple[int, Any, bytes]]]:
    """A webhook receiver that answers 503 to the first `fail` POSTs, then 200."""
    seen: list[tuple[int, Any, bytes]] = []
    left = [fail]

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            status = 503 if left[0] > 0 else 200
            left[0] -= 1
            seen.append((status, self.headers, body))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, seen


def test_a_form_submission_is_acknowledged_with_its_number_and_status_link(
    gateway: Gateway,
) -> None:
    server, seen = _receiver(fail=1)
    out = gateway.cli("webhook", "add", f"http://127.0.0.1:{server.server_address[1]}/hook")
    secret = out.strip().splitlines()[-1]
    with httpx2.Client(base_url=gateway.console, timeout=30) as client:
        form = client.get("/reception")
        assert form.status_code == 200 and 'for="name"' in form.text
        time.sleep(1.1)  # past min_fill_seconds, as a person takes longer still
        sent = client.post(
            "/reception",
            data={
                "form_token": _token(form.text),
                "lang": "uk",
                "kind": "appeal",
                "name": "Ткачук Олена Петрівна",
                "address": "м. Луцьк, вул. Шопена, 12, кв. 7",
                "email": "olena.tkachuk@ukr.net",
                "phone": "067 555 12 34",
                "text": "Біля будинку на вул. Шопена, 12 вже місяць лежить купа будівельного "
                "сміття, діти граються поруч. Прошу прибрати.",
                "consent": "yes",
            },
            files=[("files", ("смітник.jpg", PHOTO, "image/jpeg"))],
        )
        assert sent.status_code == 303, sent.text
        receipt = sent.headers["location"]
        # The page refreshes itself until the worker has given the number.
        deadline = time.monotonic() + 30
        page = client.get(receipt).text
        while 'id="reg-no"' not in page and time.monotonic() < deadline:
            assert 'http-equiv="refresh"' in page
            time.sleep(0.2)
            page = client.get(receipt).text
        m = re.search(r'id="reg-no">([^<]+)<', page)
        assert m, page
        reg_no = m.group(1)

        letters = by_rcpt(gateway.wait_letters(2))
        ack = letters["olena.tkachuk@ukr.net"]
        assert ack.kind == "citizen/ack" and reg_no in ack.subject
        link = re.search(re.escape(PUBLIC) + r"(/status/\S+)", ack.text)
        assert link, ack.text
        forward = next(lt for rcpt, lt in letters.items() if rcpt != "olena.tkachuk@ukr.net")
        assert forward.attachments.get("смітник.jpg") == PHOTO

        # The public URL is the proxy's; the path is the gateway's own.
        status = client.get(link.group(1))
        assert status.status_code == 200
        assert reg_no in status.text and "Ткачук" not in status.text
        assert "підтвердження реєстрації" in status.text
        assert link.group(1) in page  # the receipt page links it too

    with httpx2.Client(base_url=gateway.console, timeout=30) as stranger:
        bad = link.group(1)[:-1] + ("0" if link.group(1)[-1] != "0" else "1")
        refused = stranger.get(bad)
        assert refused.status_code == 404 and reg_no not in refused.text
    row = gateway.cli("appeal", "show", reg_no)
    assert "web_form" in row
    # The sender role delivered the webhook events, the refused one again after backoff.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and sum(st == 200 for st, _, _ in seen) < 2:
        time.sleep(0.2)
    server.shutdown()
    ok = [(h, b) for st, h, b in seen if st == 200]
    assert [json.loads(b)["event"] for _, b in ok] == ["registered", "routed"]
    assert all(verify(secret, h["X-Appeal-Signature"], b) for h, b in ok)
    assert json.loads(ok[0][1])["appeal"]["reg_no"] == reg_no
    assert seen[0][0] == 503 and seen[0][1]["X-Appeal-Delivery"] == ok[0][0]["X-Appeal-Delivery"]
    # Nothing the citizen typed went into the gateway's log.
    log = gateway.log.read_text(encoding="utf-8", errors="replace")
    assert "Ткачук" not in log and "olena.tkachuk" not in log and "Шопена" not in log
